"""What each task type of a job does, one attempt at a time: check the plan still holds, upload a photo,
create or update the listing.

:func:`execute_task` is what :func:`product_images.publish.tasks.run_job` calls for a task it has
claimed, inside the attempt's transaction; it returns the task's ``result`` or raises
:class:`AttemptFailed`, retried or not by the orchestrator as ``retryable`` says.

What the product is *now* decides, not what it was when the job was planned:

- an upload reads its photo's row ``FOR SHARE`` (kept until the attempt's transaction ends, so
  the app cannot flag, delete or move that photo while it is sent) and sends it only when the
  row still belongs to the product, with the planned URL, and is not the label;
- the listing task takes a transaction-scoped advisory lock on (tenant, product, marketplace),
  reads the listing the product has there now (:func:`~product_images.publish.plans.current_listing`),
  locks the product's photo rows ``FOR SHARE`` and checks they are still the plan's, in order, no
  label among them; it updates the current listing (creates one when there is none, or when the
  marketplace answers 404 to the update), or refuses when a job planned later listed the product.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from product_images.app.marketplaces import NoPublishablePhotoError
from product_images.app.payloads import product_payload
from product_images.app.service import ProductImageError
from product_images.publish.client import MarketplaceClient, MarketplaceError, MarketplaceResponse
from product_images.publish.plans import current_listing, idempotency_key
from product_images.publish.task_leases import tasks_table

if TYPE_CHECKING:
    from product_images.publish.tasks import TaskRow

__all__ = ["AttemptFailed", "execute_task"]

_AGAIN = "publish the product again as a new job"


class AttemptFailed(Exception):
    """One attempt of a task failed (internal to the orchestrator): retried when ``retryable``.

    Its message becomes the task's ``error_message``.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def execute_task(
    conn: psycopg.Connection, tenant: str, task: TaskRow, client: MarketplaceClient, results: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Run one attempt of ``task``; returns its result (a JSON object; NULs are dropped when it is stored).

    Args:
        conn: the orchestrator's connection, **inside a transaction** (the attempt's: the row
            locks and the listing's advisory lock last until it ends).
        tenant: the tenant schema.
        task: the claimed task (``task_type`` one of validate, upload_image, create_listing,
            update_listing).
        client: the job's marketplace.
        results: the results of the job's earlier tasks, by position: a listing gets the
            ``photo_id`` of each, in position order.

    Raises:
        AttemptFailed: the marketplace refused or failed (retryable as it says); the product's
            photos changed since the plan (the photo is deleted, moved to another URL or product,
            or flagged as the label; the listing's photos differ), the job was superseded, or the
            task type is unknown (not retryable); a photo row or the listing's lock is held by
            another transaction (retryable).
        psycopg.Error: the database failed.
    """
    try:
        if task.task_type == "validate":
            return _validate(conn, tenant, task.payload)
        if task.task_type == "upload_image":
            return _upload(conn, tenant, task, client)
        if task.task_type in ("create_listing", "update_listing"):
            return _list(conn, tenant, task, client, results)
    except MarketplaceError as error:
        raise AttemptFailed(str(error), retryable=error.retryable) from error
    except psycopg.errors.LockNotAvailable as error:
        raise AttemptFailed(
            f"product {task.payload['product_id']}'s photos are being changed by another transaction "
            "(a row lock held longer than lock_timeout): retried",
            retryable=True,
        ) from error
    raise AttemptFailed(
        f"unknown task_type {task.task_type!r}: this worker runs validate, upload_image, create_listing, "
        "update_listing",
        retryable=False,
    )


def _response(response: MarketplaceResponse) -> dict[str, Any]:
    """The task's result from a marketplace answer: its body, attempts, replayed (NULs are dropped when it is
    stored, :func:`~product_images.publish.task_leases.finish_task`; an id holding one is refused here)."""
    for key in ("photo_id", "listing_id"):
        if "\0" in str(response.body.get(key, "")):
            raise AttemptFailed(f"the marketplace's {key} {response.body[key]!r} has a NUL character", retryable=False)
    return {**response.body, "http_attempts": response.attempts, "replayed": response.replayed}


def _upload(conn: psycopg.Connection, tenant: str, task: TaskRow, client: MarketplaceClient) -> dict[str, Any]:
    """Upload the task's photo if its row (locked FOR SHARE) is still the product's, same URL, and no row of the
    product with that URL (locked FOR SHARE too) is the label: a label URL is never published, whichever row carries
    it (the rule of :func:`~product_images.app.marketplaces.select_photos`)."""
    payload = task.payload
    rows = conn.execute(
        sql.SQL("select id, is_label from {} where product_id = %s and url = %s order by id for share").format(
            sql.Identifier(tenant, "product_images")
        ),
        (payload["product_id"], payload["url"]),
    ).fetchall()
    photo = f"photo {payload['image_id']} ({payload['url']}) of product {payload['product_id']}"
    if not any(row[0] == payload["image_id"] for row in rows):
        raise AttemptFailed(
            f"{photo} was deleted or changed since the job was planned: it is not uploaded; {_AGAIN}", retryable=False
        )
    if any(row[1] for row in rows):
        raise AttemptFailed(f"{photo} is flagged as the label now: it is not uploaded; {_AGAIN}", retryable=False)
    return _response(client.upload_photo(payload["url"], idempotency_key=task.idempotency_key or ""))


def _key(task: TaskRow, task_type: str) -> str:
    """The idempotency key of the listing request ``task_type`` sends: the task's own when it is the planned one,
    else the same derivation (job, position) with the type actually sent."""
    if task_type == task.task_type and task.idempotency_key:
        return task.idempotency_key
    return idempotency_key(task.job_id, task.position or 0, task_type)


def _list(
    conn: psycopg.Connection, tenant: str, task: TaskRow, client: MarketplaceClient, results: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Create or update the product's listing, one job at a time per (tenant, product, marketplace)."""
    payload = task.payload
    product, marketplace = payload["product_id"], payload["marketplace"]
    _lock_listing(conn, tenant, product, marketplace)
    listed = current_listing(conn, tenant, product, marketplace)
    if listed is not None and listed.job_id != task.job_id and listed.planned_at > task.created_at:
        raise AttemptFailed(
            f"job {task.job_id} is superseded: job {listed.job_id}, planned later, listed product {product} on "
            f"{marketplace} as {listed.listing_id}: this job's listing was not sent; "
            "publish the product again to update it",
            retryable=False,
        )
    photo_ids = [results[position]["photo_id"] for position in sorted(results) if "photo_id" in results[position]]
    repeated = sorted(photo_id for photo_id, seen in Counter(map(str, photo_ids)).items() if seen > 1)
    if repeated:
        raise AttemptFailed(
            f"the marketplace answered photo id {', '.join(repeated)} for more than one upload of this job: "
            f"the listing was not sent; {_AGAIN}",
            retryable=False,
        )
    listing = {**payload["listing"], "images": _images_now(conn, tenant, task), "photo_ids": photo_ids}
    if listed is None:
        return _response(client.create_listing(listing, idempotency_key=_key(task, "create_listing")))
    try:
        return _response(
            client.update_listing(listed.listing_id, listing, idempotency_key=_key(task, "update_listing"))
        )
    except MarketplaceError as error:
        if error.status != 404:
            raise
    created = _response(client.create_listing(listing, idempotency_key=_key(task, "create_listing")))
    return {**created, "replaced_listing_id": listed.listing_id}


def _lock_listing(conn: psycopg.Connection, tenant: str, product_id: int, marketplace: str) -> None:
    """Take the transaction's advisory lock on the product's listing there, or raise a retryable AttemptFailed."""
    row = conn.execute(
        "select pg_try_advisory_xact_lock(hashtextextended('product_images:publish:listing:' || %s, 0))",
        (f"{tenant}/{product_id}/{marketplace}",),
    ).fetchone()
    if not (row and row[0]):
        raise AttemptFailed(
            f"another job is creating or updating the listing of product {product_id} on {marketplace} "
            "right now: retried",
            retryable=True,
        )


def _photos_now(
    conn: psycopg.Connection, tenant: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[int, str]], Any]:
    """The product's marketplace image payload, its kept photos (id, URL) in order, and the selection, now."""
    try:
        images, selection = product_payload(conn, tenant, payload["product_id"], payload["marketplace"])
    except (ProductImageError, NoPublishablePhotoError) as error:
        raise AttemptFailed(f"the product can no longer be published: {error}", retryable=False) from error
    return images, [(image.id, image.url) for image in selection.kept], selection


def _images_now(conn: psycopg.Connection, tenant: str, task: TaskRow) -> dict[str, Any]:
    """The listing's image part from the photos now, locked FOR SHARE; AttemptFailed unless they are the uploads'."""
    product = task.payload["product_id"]
    conn.execute(
        sql.SQL("select 1 from {} where product_id = %s for share").format(sql.Identifier(tenant, "product_images")),
        (product,),
    )
    planned = [
        (int(row[0]), row[1])
        for row in conn.execute(
            sql.SQL(
                "select payload ->> 'image_id', payload ->> 'url' from {} "
                "where job_id = %s and task_type = 'upload_image' order by position"
            ).format(tasks_table(tenant)),
            (task.job_id,),
        )
    ]
    images, now, _ = _photos_now(conn, tenant, task.payload)
    if now != planned:
        raise AttemptFailed(
            f"the product's photos changed since the job was planned ({len(planned)} planned, {len(now)} now, "
            f"or another order): the listing was not sent; {_AGAIN}",
            retryable=False,
        )
    return images


def _validate(conn: psycopg.Connection, tenant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The product's photos now must be the plan's, in the same order (else the plan is stale)."""
    planned = [(photo["image_id"], photo["url"]) for photo in payload["photos"]]
    _, now, selection = _photos_now(conn, tenant, payload)
    if now != planned:
        raise AttemptFailed(
            f"the product's photos changed since the job was planned ({len(planned)} planned, {len(now)} now, "
            f"or another order): {_AGAIN}",
            retryable=False,
        )
    return {"photos": len(now), "dropped": dict(Counter(dropped.reason.value for dropped in selection.dropped))}
