"""What each task type of a job does, one attempt at a time: check the plan still holds, upload a photo,
create or update the listing.

:func:`execute_task` is what :func:`product_images.publish.tasks.run_job` calls for a task it has
claimed; it opens the attempt's transactions with the ``transaction`` it is given, records SUCCESS
with ``record`` inside the last one, and returns the task's ``result``, or raises
:class:`AttemptFailed`, retried or not by the orchestrator as ``retryable`` says.

What the product is *now* decides, not what it was when the job was planned:

- an upload holds no lock while the marketplace works: it reads its photo's rows ``FOR SHARE`` in a
  short transaction and sends the photo only when its row still belongs to the product, with the
  planned URL, and no row of the product with that URL is the label; once the marketplace answered,
  a second transaction reads them again ``FOR SHARE`` and records SUCCESS only when they still show
  what was uploaded (compare and set); a photo changed meanwhile fails the task for good, as a photo
  changed before the upload does (its upload on the marketplace is left unused);
- the listing task takes a transaction-scoped advisory lock on (tenant, product, marketplace),
  reads the listing the product has there now (:func:`~product_images.publish.plans.current_listing`),
  locks the product's photo rows ``FOR SHARE`` and checks they are still the plan's, in order, no
  label among them; it updates the current listing (creates one when there is none, or when the
  marketplace answers 404 to the update), or refuses when a job planned later listed the product.
  Its transaction (and so the locks) lasts across the HTTP call.

A listing whose creation's answer was lost (a timeout, a 5xx after the request went out, a worker
killed while it waited) exists on the marketplace but in no task's result. Every listing therefore
carries the product's reference (:func:`~product_images.publish.plans.listing_reference`), and before
it creates a listing, a listing task whose product has such an attempt of unknown outcome
(:func:`_outcome_unknown`) looks the reference up
(:meth:`~product_images.publish.client.MarketplaceClient.find_listing`) and updates the listing it
finds instead of creating a second one. This relies on the marketplace keeping the reference with
the listing and answering the lookup once the create is done (eBay: the SKU of the Inventory API;
Vinted: assumed of the gateway in front of it, as Vinted has no public API).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from product_images.app.marketplaces import NoPublishablePhotoError
from product_images.app.payloads import product_payload
from product_images.app.service import ProductImageError
from product_images.publish.client import MarketplaceClient, MarketplaceError, MarketplaceResponse
from product_images.publish.plans import current_listing, idempotency_key, listing_reference
from product_images.publish.task_leases import tasks_table

if TYPE_CHECKING:
    from product_images.publish.tasks import TaskRow

__all__ = ["AttemptFailed", "Record", "Transaction", "execute_task"]

Transaction = Callable[[], AbstractContextManager[object]]
"""Opens one of the attempt's transactions (its statements wait at most ``lock_timeout`` for a lock)."""

Record = Callable[[dict[str, Any]], dict[str, Any]]
"""Records the task SUCCESS with a result (inside an open transaction) and returns the result as stored."""

_AGAIN = "publish the product again as a new job"


class AttemptFailed(Exception):
    """One attempt of a task failed (internal to the orchestrator): retried when ``retryable``.

    Its message becomes the task's ``error_message``.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def execute_task(
    conn: psycopg.Connection,
    tenant: str,
    task: TaskRow,
    client: MarketplaceClient,
    results: dict[int, dict[str, Any]],
    *,
    transaction: Transaction,
    record: Record,
) -> dict[str, Any]:
    """Run one attempt of ``task``; returns its result as ``record`` stored it (NULs dropped).

    Args:
        conn: the orchestrator's **autocommit** connection, in no transaction.
        tenant: the tenant schema.
        task: the claimed task (``task_type`` one of validate, upload_image, create_listing,
            update_listing).
        client: the job's marketplace.
        results: the results of the job's earlier tasks, by position: a listing gets the
            ``photo_id`` of each, in position order.
        transaction: opens one of the attempt's transactions. validate and the listing task run
            in one (their row locks and the listing's advisory lock last until it ends, across the
            HTTP call); an upload runs its check in one, its HTTP call in none, and its check again
            and its SUCCESS in another.
        record: records SUCCESS with the result; called inside the attempt's last transaction.

    Raises:
        AttemptFailed: the marketplace refused or failed (retryable as it says); the product's
            photos changed since the plan or while its photo was uploaded (the photo is deleted,
            moved to another URL or product, or flagged as the label; the listing's photos differ),
            the job was superseded, or the task type is unknown (not retryable); a photo row or the
            listing's lock is held by another transaction (retryable).
        psycopg.Error: the database failed. Whatever ``record`` raises (the lease lost, the task's row locked).
    """
    try:
        if task.task_type == "upload_image":
            return _upload(conn, tenant, task, client, transaction, record)
        if task.task_type in ("validate", "create_listing", "update_listing"):
            with transaction():
                if task.task_type == "validate":
                    return record(_validate(conn, tenant, task.payload))
                return record(_list(conn, tenant, task, client, results))
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


def _upload(
    conn: psycopg.Connection,
    tenant: str,
    task: TaskRow,
    client: MarketplaceClient,
    transaction: Transaction,
    record: Record,
) -> dict[str, Any]:
    """Upload the task's photo if it may be (:func:`_check_photo`), no lock held during the HTTP call; record
    SUCCESS only if the photo's rows, read again, still show what was uploaded."""
    with transaction():
        _check_photo(conn, tenant, task.payload, None)
    answer = _response(client.upload_photo(task.payload["url"], idempotency_key=task.idempotency_key or ""))
    with transaction():
        _check_photo(conn, tenant, task.payload, str(answer.get("photo_id")))
        return record(answer)


def _check_photo(conn: psycopg.Connection, tenant: str, payload: dict[str, Any], uploaded: str | None) -> None:
    """Raise a permanent AttemptFailed unless the photo's row (locked FOR SHARE until the transaction ends) is
    still the product's with the planned URL, and no row of the product with that URL (locked too) is the label: a
    label URL is never published, whichever row carries it (the rule of
    :func:`~product_images.app.marketplaces.select_photos`). ``uploaded``: the marketplace's photo id when the
    photo was sent already (the message then says it changed while it was uploaded and its upload is not used)."""
    rows = conn.execute(
        sql.SQL("select id, is_label from {} where product_id = %s and url = %s order by id for share").format(
            sql.Identifier(tenant, "product_images")
        ),
        (payload["product_id"], payload["url"]),
    ).fetchall()
    photo = f"photo {payload['image_id']} ({payload['url']}) of product {payload['product_id']}"
    if uploaded is None:
        changed, flagged = "was deleted or changed since the job was planned", "is flagged as the label now"
        outcome = "it is not uploaded"
    else:
        changed = "was deleted or changed while it was uploaded"
        flagged = "was flagged as the label while it was uploaded"
        outcome = f"its upload ({uploaded}) is not used"
    if not any(row[0] == payload["image_id"] for row in rows):
        raise AttemptFailed(f"{photo} {changed}: {outcome}; {_AGAIN}", retryable=False)
    if any(row[1] for row in rows):
        raise AttemptFailed(f"{photo} {flagged}: {outcome}; {_AGAIN}", retryable=False)


def _key(task: TaskRow, task_type: str) -> str:
    """The idempotency key of the listing request ``task_type`` sends: the task's own when it is the planned one,
    else the same derivation (job, position) with the type actually sent."""
    if task_type == task.task_type and task.idempotency_key:
        return task.idempotency_key
    return idempotency_key(task.job_id, task.position or 0, task_type)


def _list(
    conn: psycopg.Connection, tenant: str, task: TaskRow, client: MarketplaceClient, results: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Create or update the product's listing, one job at a time per (tenant, product, marketplace); a listing an
    attempt of unknown outcome may have made is looked up by the product's reference first (:func:`_create`)."""
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
    reference = listing_reference(tenant, product, marketplace)
    unknown = _outcome_unknown(conn, tenant, task)

    def not_listed() -> str:
        found = _find(client, task, reference) if unknown else []
        if not found:
            return f"the listing was not sent; {_AGAIN}"
        return (
            f"listing {found[0]} on {marketplace}, made by an earlier attempt whose answer was lost (found by the "
            f"product's reference), was not updated; publish the product again as a new job: it updates {found[0]}"
        )

    images = _images_now(conn, tenant, task, not_listed)
    listing = {**payload["listing"], "reference": reference, "images": images, "photo_ids": photo_ids}
    if listed is None:
        return _create(client, task, listing, unknown)
    try:
        return _response(
            client.update_listing(listed.listing_id, listing, idempotency_key=_key(task, "update_listing"))
        )
    except MarketplaceError as error:
        if error.status != 404:
            raise
    return {**_create(client, task, listing, unknown), "replaced_listing_id": listed.listing_id}


def _outcome_unknown(conn: psycopg.Connection, tenant: str, task: TaskRow) -> bool:
    """Whether a listing task of the product there (this one included) was attempted since the product's latest
    successful listing task without ending SUCCESS: FAILED (a timeout, a 5xx: the create may have been carried
    out), or PROCESSING by a worker that died; this task counts when its attempt before this one did not succeed.
    Such an attempt may have created a listing that no task's result names. Reads ``<tenant>.marketplace_tasks``."""
    same = (
        "task_type in ('create_listing', 'update_listing') "
        "and payload ->> 'product_id' = %(product)s and payload ->> 'marketplace' = %(marketplace)s"
    )
    row = conn.execute(
        sql.SQL(
            "select exists (select 1 from {table} as other where " + same + " and status <> 'SUCCESS' "
            "and attempts > case when id = %(me)s then 1 else 0 end "
            "and started_at > coalesce((select max(completed_at) from {table} where " + same + " "
            "and status = 'SUCCESS'), '-infinity'))"
        ).format(table=tasks_table(tenant)),
        {"product": str(task.payload["product_id"]), "marketplace": task.payload["marketplace"], "me": task.id},
    ).fetchone()
    return bool(row and row[0])


def _find(client: MarketplaceClient, task: TaskRow, reference: str) -> list[str]:
    """The ids of the live listings carrying ``reference`` on the marketplace, oldest first (the marketplace's
    order). Raises AttemptFailed (retryable as the error says) when the lookup fails: nothing is created then."""
    try:
        response = client.find_listing(reference)
    except MarketplaceError as error:
        raise AttemptFailed(
            f"an earlier attempt to list product {task.payload['product_id']} may have created a listing whose answer "
            f"was lost, and looking it up by the product's reference {reference} failed: {error}; nothing was sent",
            retryable=error.retryable,
        ) from error
    listings = response.body.get("listings") or []
    return [str(item["listing_id"]) for item in listings if isinstance(item, dict) and item.get("listing_id")]


def _create(client: MarketplaceClient, task: TaskRow, listing: dict[str, Any], unknown: bool) -> dict[str, Any]:
    """Create the listing; when an attempt of unknown outcome may have made one (``unknown``), look the listing's
    ``reference`` up first and update the oldest listing found instead (result: ``found_by_reference``, the
    reference). That update's key is the same derivation with the type ``update_found_listing`` and the listing id."""
    for listing_id in _find(client, task, listing["reference"])[:1] if unknown else []:
        key = idempotency_key(task.job_id, task.position or 0, "update_found_listing", url=listing_id)
        try:
            updated = _response(client.update_listing(listing_id, listing, idempotency_key=key))
        except MarketplaceError as error:
            if error.status != 404:  # ended since the lookup: created anew below
                raise
        else:
            return {**updated, "found_by_reference": listing["reference"]}
    return _response(client.create_listing(listing, idempotency_key=_key(task, "create_listing")))


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


def _images_now(conn: psycopg.Connection, tenant: str, task: TaskRow, not_listed: Callable[[], str]) -> dict[str, Any]:
    """The listing's image part from the photos now, locked FOR SHARE; a permanent AttemptFailed unless they are
    the uploads' (its message ends with what ``not_listed()`` says of the listing)."""
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
            f"or another order): {not_listed()}",
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
