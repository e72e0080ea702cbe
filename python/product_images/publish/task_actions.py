"""What each task type of a job does, one attempt at a time: check the plan still holds, upload a photo,
create or update the listing.

:func:`execute_task` is what :func:`product_images.publish.tasks.run_job` calls for a task it has
claimed; it returns the task's ``result`` or raises :class:`AttemptFailed`, retried or not by the
orchestrator as ``retryable`` says.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import psycopg

from product_images.app.marketplaces import NoPublishablePhotoError
from product_images.app.payloads import product_payload
from product_images.app.service import ProductImageError
from product_images.publish.client import MarketplaceClient, MarketplaceError, MarketplaceResponse

if TYPE_CHECKING:
    from product_images.publish.tasks import TaskRow

__all__ = ["AttemptFailed", "execute_task"]


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
    """Run one attempt of ``task``; returns its result (a JSON object).

    Args:
        conn: the orchestrator's connection (``validate`` reads the product through it).
        tenant: the tenant schema.
        task: the claimed task (``task_type`` one of validate, upload_image, create_listing,
            update_listing).
        client: the job's marketplace.
        results: the results of the job's earlier tasks, by position: a listing gets the
            ``photo_id`` of each, in position order.

    Raises:
        AttemptFailed: the marketplace refused or failed (retryable as it says), the plan is
            stale, or the task type is unknown (not retryable).
    """
    payload = task.payload
    key = task.idempotency_key or ""
    try:
        if task.task_type == "validate":
            return _validate(conn, tenant, payload)
        if task.task_type == "upload_image":
            return _response(client.upload_photo(payload["url"], idempotency_key=key))
        if task.task_type in ("create_listing", "update_listing"):
            photo_ids = [
                results[position]["photo_id"] for position in sorted(results) if "photo_id" in results[position]
            ]
            listing = {**payload["listing"], "photo_ids": photo_ids}
            if task.task_type == "create_listing":
                return _response(client.create_listing(listing, idempotency_key=key))
            return _response(client.update_listing(payload["listing_id"], listing, idempotency_key=key))
    except MarketplaceError as error:
        raise AttemptFailed(str(error), retryable=error.retryable) from error
    raise AttemptFailed(
        f"unknown task_type {task.task_type!r}: this worker runs validate, upload_image, create_listing, "
        "update_listing",
        retryable=False,
    )


def _response(response: MarketplaceResponse) -> dict[str, Any]:
    return {**response.body, "http_attempts": response.attempts, "replayed": response.replayed}


def _validate(conn: psycopg.Connection, tenant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The product's photos now must be the plan's, in the same order (else the plan is stale)."""
    planned = [(photo["image_id"], photo["url"]) for photo in payload["photos"]]
    try:
        _, selection = product_payload(conn, tenant, payload["product_id"], payload["marketplace"])
    except (ProductImageError, NoPublishablePhotoError) as error:
        raise AttemptFailed(f"the product can no longer be published: {error}", retryable=False) from error
    now = [(image.id, image.url) for image in selection.kept]
    if now != planned:
        raise AttemptFailed(
            f"the product's photos changed since the job was planned ({len(planned)} planned, {len(now)} now, "
            "or another order): publish the product again as a new job",
            retryable=False,
        )
    return {"photos": len(now), "dropped": dict(Counter(dropped.reason.value for dropped in selection.dropped))}
