"""Publish plans: the ordered task list that publishes one stored product on one marketplace.

:func:`build_plan` reads the product through
:func:`product_images.app.payloads.product_payload` (so the photos are the
selection the payload filters make: product photos only, never a label, by
position, without duplicates, within the marketplace's limits of
:data:`~product_images.app.marketplaces.MARKETPLACE_RULES`) and returns a
:class:`PublishPlan` of tasks, each with its ``position`` in the job:

====================  ==========================  =====================================================
position              task_type                   description
====================  ==========================  =====================================================
0                     ``validate``                ``Validate product 42 for vinted (3 photos)``
1 … n                 ``upload_image``            ``Upload image 1/3`` … ``Upload image 3/3``
n + 1                 ``create_listing``          ``Create listing`` (``Update listing l-7`` when an
                      or ``update_listing``       earlier job of this product listed it there)
====================  ==========================  =====================================================

The listing task's type is the plan's guess: when it runs, it updates the listing the product
has then, or creates one (:mod:`~product_images.publish.task_actions`).

Each task has a payload (what it needs to run, JSON) and an idempotency key
derived from the job, the task and the photo (:func:`idempotency_key`), so that
however often a task is tried, the marketplace acts on it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from product_images.app.marketplaces import MARKETPLACE_RULES, NoPublishablePhotoError, PhotoSelection
from product_images.app.payloads import describe_dropped, payload_urls, product_payload
from product_images.app.service import UnknownProductError, UnknownTenantError
from product_images.migration.tenants import discover_tenants
from product_images.publish.backend import ORCHESTRATION_COLUMNS, POSITION_COLUMNS, missing_columns

__all__ = [
    "IDEMPOTENCY_NAMESPACE",
    "TASK_TYPES",
    "BadPublishInput",
    "BadRunOption",
    "CurrentListing",
    "NothingToPublishError",
    "PlannedTask",
    "PublishError",
    "PublishPlan",
    "SchemaNotReadyError",
    "build_plan",
    "check_tenant",
    "current_listing",
    "idempotency_key",
    "listing_reference",
]

TASK_TYPES = ("validate", "upload_image", "create_listing", "update_listing")
"""The task types a plan holds and :func:`product_images.publish.tasks.run_job` runs."""

IDEMPOTENCY_NAMESPACE = uuid.UUID("5d0f1f4e-8a53-4c1b-9a55-2f7a7c1e0b15")
"""The UUID-5 namespace of this project's idempotency keys (fixed: keys must not change between versions)."""


class PublishError(Exception):
    """Base class of the errors of :mod:`product_images.publish`."""


class BadPublishInput(PublishError, ValueError):
    """An argument names nothing that exists or is not allowed (the CLI's exit 2).

    Attributes: ``argument`` (e.g. ``"tenant"``), ``value`` (what was given) and
    ``allowed`` (the allowed values, or a sentence saying what was not found).
    The message names all three.
    """

    def __init__(self, argument: str, value: Any, allowed: str) -> None:
        self.argument = argument
        self.value = value
        self.allowed = allowed
        super().__init__(f"unknown {argument} {value!r}: {allowed}")


class BadRunOption(BadPublishInput):
    """An option of running a job is out of its range (the CLI's exit 2, like every :class:`BadPublishInput`).

    Raised by :func:`~product_images.publish.tasks.run_job` and
    :class:`~product_images.publish.client.HttpMarketplaceClient` before anything is sent or claimed
    (a NaN or infinite number of seconds would otherwise reach PostgreSQL's ``make_interval`` or httpx's
    timeouts). The message is ``"<argument> must be <allowed>; got <value>"``.
    """

    def __init__(self, argument: str, value: Any, allowed: str) -> None:
        super().__init__(argument, value, allowed)
        self.args = (f"{argument} must be {allowed}; got {value!r}",)


class SchemaNotReadyError(PublishError):
    """The tenant's ``marketplace_tasks`` lacks columns a run-operation adds (the CLI's exit 2).

    The message names the columns and the ``dbt run-operation`` that adds them.
    """


class NothingToPublishError(PublishError):
    """No photo of the product may be published on the marketplace (the CLI's exit 2).

    ``selection`` holds the :class:`~product_images.app.marketplaces.PhotoSelection`
    with every drop reason; :func:`~product_images.app.payloads.describe_dropped` lists them.
    """

    def __init__(self, tenant: str, product_id: int, marketplace: str, selection: PhotoSelection) -> None:
        self.selection = selection
        super().__init__(
            f"product {product_id} of {tenant} has no photo {marketplace} accepts: "
            + "; ".join(describe_dropped(selection))
        )


@dataclass(frozen=True)
class PlannedTask:
    """One task of a plan: a future row of ``marketplace_tasks`` (status ``PENDING``).

    Attributes:
        position: 0-based order in the job.
        task_type: one of :data:`TASK_TYPES`.
        description: the task's name as the back end shows it, e.g. ``"Upload image 2/5"``.
        payload: JSON-able dict; always has ``product_id`` and ``marketplace``;
            ``upload_image`` adds ``image_id``, ``url``, ``image_position`` (the
            photo's position in product_images), ``index`` and ``count`` (1-based k of n).
        idempotency_key: sent with the task's request (see :func:`idempotency_key`).
    """

    position: int
    task_type: str
    description: str
    payload: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True)
class PublishPlan:
    """The ordered tasks publishing ``product_id`` of ``tenant`` on ``marketplace`` as job ``job_id``.

    ``selection`` is the photo selection behind the uploads (kept photos in
    order, dropped ones with reasons); ``listing_id`` is the listing an earlier
    job of this product created there (then the last task updates it), else None.
    """

    job_id: uuid.UUID
    tenant: str
    product_id: int
    marketplace: str
    tasks: tuple[PlannedTask, ...]
    selection: PhotoSelection
    listing_id: str | None = None
    dropped: tuple[str, ...] = field(default=())

    @property
    def photo_urls(self) -> list[str]:
        """The URLs uploaded, in upload order."""
        return [task.payload["url"] for task in self.tasks if task.task_type == "upload_image"]

    def lines(self) -> list[str]:
        """The plan as text: one line per task (``  2  upload_image  Upload image 2/3  https://...``),
        then one per photo left out with its reason."""
        lines = [
            f"plan of job {self.job_id}: {self.tenant} product {self.product_id} on {self.marketplace}, "
            f"{len(self.tasks)} tasks"
        ]
        for task in self.tasks:
            detail = task.payload.get("url", "")
            lines.append(f"  {task.position:>3}  {task.task_type:<15} {task.description:<32} {detail}".rstrip())
        lines += [f"  {line}" for line in self.dropped]
        return lines


def idempotency_key(
    job_id: uuid.UUID, position: int, task_type: str, image_id: int | None = None, url: str | None = None
) -> str:
    """The idempotency key of a task: a UUID-5 of the job, the task (position, type) and the photo (id, URL).

    Input: the job's UUID, the task's position and type, the photo's image id and
    URL for an upload (None otherwise). Output: a 36-character UUID string, the
    same for the same inputs on every machine and every version (namespace
    :data:`IDEMPOTENCY_NAMESPACE`). Another job of the same product gets other
    keys: publishing a product again is a new publication.
    """
    name = f"{job_id}/{position}/{task_type}/{'' if image_id is None else image_id}/{url or ''}"
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, name))


def listing_reference(tenant: str, product_id: int, marketplace: str) -> str:
    """The seller's reference of a product's listing on a marketplace, sent in every listing's body.

    Input: the tenant schema, the product id, the marketplace. Output: 32 lowercase hex characters (a
    UUID-5 of the three in :data:`IDEMPOTENCY_NAMESPACE`), the same for every job of that product there, on
    every machine and version; within eBay's SKU (at most 50 letters and digits). It is what a listing whose
    creation's answer was lost is found by again
    (:meth:`~product_images.publish.client.MarketplaceClient.find_listing`).
    """
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"listing/{tenant}/{product_id}/{marketplace}").hex


def check_tenant(conn: psycopg.Connection, tenant: str) -> None:
    """Raise unless ``tenant`` is a tenant whose ``marketplace_tasks`` has the columns publishing needs.

    Raises:
        BadPublishInput: ``tenant`` is not a tenant schema with a ``marketplace_tasks``
            table (the message lists those that are).
        SchemaNotReadyError: its ``marketplace_tasks`` lacks ``position`` (run
            ``dbt run-operation marketplace_tasks_position``) or this project's columns
            (``dbt run-operation marketplace_tasks_orchestration``).
    """
    tenants = discover_tenants(conn, require_table="marketplace_tasks")
    if tenant not in tenants:
        raise BadPublishInput(
            "tenant",
            tenant,
            "tenants with a marketplace_tasks table: " + (", ".join(tenants) if tenants else "none"),
        )
    for columns, operation in (
        (POSITION_COLUMNS, "marketplace_tasks_position"),
        (ORCHESTRATION_COLUMNS, "marketplace_tasks_orchestration"),
    ):
        missing = missing_columns(conn, tenant, columns)
        if missing:
            raise SchemaNotReadyError(
                f"{tenant}.marketplace_tasks has no column {', '.join(missing)}: "
                f"run `dbt run-operation {operation}` first"
            )


def _product_fields(conn: psycopg.Connection, tenant: str, product_id: int) -> dict[str, Any]:
    """The product's row without its legacy images (title, price... whatever the app has), JSON-able."""
    row = conn.execute(
        sql.SQL("select to_jsonb(products) - 'images' from {} as products where id = %s").format(
            sql.Identifier(tenant, "products")
        ),
        (product_id,),
    ).fetchone()
    return dict(row[0]) if row else {}


@dataclass(frozen=True)
class CurrentListing:
    """The listing a product has on a marketplace: the latest successful create/update listing task's answer.

    Attributes: ``listing_id`` (the marketplace's id), ``job_id`` (the job that made or updated it) and
    ``planned_at`` (that job's ``created_at``).
    """

    listing_id: str
    job_id: uuid.UUID
    planned_at: Any


def current_listing(conn: psycopg.Connection, tenant: str, product_id: int, marketplace: str) -> CurrentListing | None:
    """The listing ``product_id`` of ``tenant`` has on ``marketplace`` now, or None when no job listed it.

    Input: a connection, the tenant, the product id, the marketplace. Output: the
    :class:`CurrentListing` of the latest (by ``completed_at``) ``SUCCESS`` create or update
    listing task of that product there, read from ``<tenant>.marketplace_tasks``.
    Raises psycopg.Error when the database fails.
    """
    row = conn.execute(
        sql.SQL(
            "select result ->> 'listing_id', job_id, created_at from {} "
            "where task_type in ('create_listing', 'update_listing') "
            "and status = 'SUCCESS' and payload ->> 'product_id' = %s and payload ->> 'marketplace' = %s "
            "and result ? 'listing_id' order by completed_at desc, id desc limit 1"
        ).format(sql.Identifier(tenant, "marketplace_tasks")),
        (str(product_id), marketplace),
    ).fetchone()
    return CurrentListing(row[0], row[1], row[2]) if row else None


def _listed_before(conn: psycopg.Connection, tenant: str, product_id: int, marketplace: str) -> str | None:
    """The listing id the latest successful create/update listing task of this product there returned, or None."""
    listing = current_listing(conn, tenant, product_id, marketplace)
    return listing.listing_id if listing else None


def build_plan(
    conn: psycopg.Connection, tenant: str, product_id: int, marketplace: str, *, job_id: uuid.UUID | None = None
) -> PublishPlan:
    """Plan the publication of a stored product on a marketplace (reads only).

    Args:
        conn: a psycopg connection to the app's database.
        tenant: the tenant schema, e.g. ``"user_1"``.
        product_id: the product's id in ``<tenant>.products``.
        marketplace: a key of :data:`~product_images.app.marketplaces.MARKETPLACE_RULES`
            (``"ebay"`` or ``"vinted"``).
        job_id: the job's UUID (default: a new random one).

    Returns:
        A :class:`PublishPlan`: validate, one upload per kept photo in position
        order (never a label), then create (or update) the listing, positions 0..n+1.

    Raises:
        BadPublishInput: unknown marketplace (the allowed ones listed), tenant
            (the tenants listed) or product (``argument == "product"``).
        SchemaNotReadyError: the tenant's marketplace_tasks is not migrated.
        NothingToPublishError: no photo of the product passes the marketplace's rules.
        LabelInPayloadError: a label reached the payload (a bug; nothing is planned).
    """
    if marketplace not in MARKETPLACE_RULES:
        raise BadPublishInput("marketplace", marketplace, "allowed: " + ", ".join(sorted(MARKETPLACE_RULES)))
    check_tenant(conn, tenant)
    try:
        payload, selection = product_payload(conn, tenant, product_id, marketplace)
    except UnknownTenantError as error:
        raise BadPublishInput("tenant", tenant, str(error)) from error
    except UnknownProductError as error:
        raise BadPublishInput("product", product_id, f"no product of that id in {tenant}.products") from error
    except NoPublishablePhotoError as error:
        raise NothingToPublishError(tenant, product_id, marketplace, error.selection) from error
    job_id = job_id or uuid.uuid4()
    urls = payload_urls(payload, marketplace)
    kept = {image.url: image for image in selection.kept}
    photos = [kept[url] for url in urls]
    common = {"product_id": product_id, "marketplace": marketplace}
    listing_id = _listed_before(conn, tenant, product_id, marketplace)
    fields = _product_fields(conn, tenant, product_id)
    listing: Mapping[str, Any] = {
        "title": fields.get("title"),
        "price": fields.get("price"),
        "images": payload,  # the marketplace's image part, as the payload builders make it
    }
    tasks = [
        _validate_task(job_id, common, photos, selection),
        *_upload_tasks(job_id, common, photos),
        _listing_task(job_id, common, len(photos) + 1, listing, listing_id),
    ]
    return PublishPlan(
        job_id, tenant, product_id, marketplace, tuple(tasks), selection, listing_id, tuple(describe_dropped(selection))
    )


def _validate_task(job_id: uuid.UUID, common: dict[str, Any], photos: list[Any], selection: Any) -> PlannedTask:
    """Task 0: validate the product for the marketplace, with the photos kept and the ones dropped (and why)."""
    count = len(photos)
    photos_said = f"{count} photo{'s' if count != 1 else ''}"
    return PlannedTask(
        0,
        "validate",
        f"Validate product {common['product_id']} for {common['marketplace']} ({photos_said})",
        {
            **common,
            "photos": [{"image_id": p.id, "url": p.url, "position": p.position} for p in photos],
            "dropped": [
                {"image_id": d.image.id, "url": d.image.url, "reason": d.reason.value} for d in selection.dropped
            ],
        },
        idempotency_key(job_id, 0, "validate"),
    )


def _upload_tasks(job_id: uuid.UUID, common: dict[str, Any], photos: list[Any]) -> list[PlannedTask]:
    """Tasks 1..n: one upload per kept photo, in position order."""
    count = len(photos)
    return [
        PlannedTask(
            index,
            "upload_image",
            f"Upload image {index}/{count}",
            {
                **common,
                "image_id": image.id,
                "url": image.url,
                "image_position": image.position,
                "index": index,
                "count": count,
            },
            idempotency_key(job_id, index, "upload_image", image.id, image.url),
        )
        for index, image in enumerate(photos, start=1)
    ]


def _listing_task(
    job_id: uuid.UUID, common: dict[str, Any], position: int, listing: Mapping[str, Any], listing_id: Any
) -> PlannedTask:
    """The last task: create the listing, or update the one a previous job created."""
    task_type = "update_listing" if listing_id else "create_listing"
    return PlannedTask(
        position,
        task_type,
        f"Update listing {listing_id}" if listing_id else "Create listing",
        {**common, "listing": dict(listing), **({"listing_id": listing_id} if listing_id else {})},
        idempotency_key(job_id, position, task_type),
    )
