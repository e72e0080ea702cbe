"""``product-images metadata backfill``: image metadata from object storage."""

from __future__ import annotations

import click

from product_images.cli._common import (
    claim_options,
    connect_or_fail,
    fail,
    print_summary,
    storage_or_fail,
    tenants_option,
)


@click.group()
def metadata() -> None:
    """Image metadata (real format, file size, pixel size, EXIF orientation) read from object storage."""


@metadata.command("backfill")
@tenants_option("do")
@claim_options(
    verb="probe",
    unit="rows",
    limit_note="",
    concurrency=(512, 32, "Objects probed at once (threads and HTTP connections)."),
    batch_size=(100_000, 500),
    lease_seconds=300.0,
    lease_envvar="PRODUCT_IMAGES_LEASE_SECONDS",
    retry_help="Also redo rows whose metadata_error is set (unmapped included).",
)
def metadata_backfill(
    tenants: tuple[str, ...],
    limit: int | None,
    concurrency: int,
    batch_size: int,
    lease_seconds: float,
    dry_run: bool,
    retry_failed: bool,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Probe every image not probed yet and store its mime type, file size, width, height, EXIF orientation.

    Storage: AWS_ENDPOINT_URL_S3 (R2: https://<account>.r2.cloudflarestorage.com),
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; URL mapping: IMAGE_URL_PREFIX + IMAGE_BUCKET
    (+ IMAGE_KEY_PREFIX), or IMAGE_URL_MAP_FILE. Database: the PG* variables.
    Several workers may run at once. A --dry-run makes no request and needs no AWS
    credentials. Exit 0 when the run completed (failed objects are recorded in
    metadata_error; rows another transaction held locked are left for a later run), 1
    when it could not run (database errors), 2 on a configuration error: a bad option or
    variable, no AWS credentials, or, once the run started, a bucket that does not exist,
    credentials the store rejects or that expired, an endpoint no connection can be made
    to (check AWS_ENDPOINT_URL_S3), or a store answering HTTP 5xx to 5 objects in a row
    (retry later); the run stops, its claims released, nothing of the batch written.
    """
    from product_images.metadata.backfill import BackfillConfigurationError, BackfillError, backfill

    mapping, client = storage_or_fail(concurrency, mapping_only=dry_run)
    conn = connect_or_fail(autocommit=True)
    try:
        with conn:
            summary = backfill(
                conn,
                client,
                mapping,
                tenants=list(tenants) or None,
                limit=limit,
                batch_size=batch_size,
                concurrency=concurrency,
                lease_seconds=lease_seconds,
                retry_failed=retry_failed,
                dry_run=dry_run,
                progress=progress,
            )
    except (ValueError, BackfillConfigurationError) as error:
        fail(2, str(error))
    except BackfillError as error:
        fail(1, str(error))
    print_summary(summary, as_json)
