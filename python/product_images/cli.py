"""The ``product-images`` command: argument parsing only; the work is in the library."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from product_images.app.marketplaces import MARKETPLACE_RULES


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="product-images")
def main() -> None:
    """Move product photos from products.images (JSONB) to product_images tables, safely.

    Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    """


@main.command()
def demo() -> None:
    """Load the demo data set, run the migration and its tests, print a per-tenant table.

    Starts an embedded PostgreSQL in .pgdata/ unless PGHOST is set.
    """
    from product_images.demo.command import run_demo

    sys.exit(run_demo(Console(width=None if sys.stdout.isatty() else 120)))


@main.command()
@click.option("--tenant", required=True, help="Tenant schema, e.g. user_1.")
@click.option("--product", "product_id", required=True, type=int, help="Product id in <tenant>.products.")
@click.option(
    "--marketplace",
    required=True,
    type=click.Choice(sorted(MARKETPLACE_RULES)),
    help="Marketplace whose photo rules apply.",
)
def payload(tenant: str, product_id: int, marketplace: str) -> None:
    """Print the image part of a product's marketplace payload as JSON.

    Stdout: the JSON payload (eBay: {"product": {"imageUrls": [...]}}, Vinted:
    {"photos": [{"url", "position"}, ...]}). Stderr: one line per image left
    out, with its reason. Exit 1 when no photo is publishable or the tenant or
    product does not exist.
    """
    import json

    import psycopg

    from product_images.app.marketplaces import NoPublishablePhotoError
    from product_images.app.payloads import describe_dropped, product_payload
    from product_images.app.service import ProductImageError
    from product_images.connection import connect, describe_target

    try:
        with connect() as conn:
            body, selection = product_payload(conn, tenant, product_id, marketplace)
    except NoPublishablePhotoError as error:
        for line in describe_dropped(error.selection):
            click.echo(line, err=True)
        raise click.ClickException(str(error)) from None
    except ProductImageError as error:
        raise click.ClickException(str(error)) from None
    except psycopg.OperationalError as error:
        raise click.ClickException(f"cannot connect to {describe_target()}: {error}") from None
    for line in describe_dropped(selection):
        click.echo(line, err=True)
    click.echo(json.dumps(body, indent=2))


@main.group()
def metadata() -> None:
    """Image metadata (real format, file size, pixel size, EXIF orientation) read from object storage."""


@metadata.command("backfill")
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="SCHEMA",
    help="Tenant schema to do (repeatable). Default: every tenant with a product_images table.",
)
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Probe at most this many rows in all.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=512),
    default=32,
    show_default=True,
    help="Objects probed at once (threads and HTTP connections).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=100_000),
    default=500,
    show_default=True,
    help="Rows claimed, probed and written together.",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    envvar="PRODUCT_IMAGES_LEASE_SECONDS",
    help="How long a batch's claim lasts; a killed worker's rows wait this long for another worker.",
)
@click.option("--dry-run", is_flag=True, help="Count the rows that would be probed; change nothing.")
@click.option("--retry-failed", is_flag=True, help="Also redo rows whose metadata_error is set (unmapped included).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr. Default: when stderr is a terminal."
)
@click.pass_context
def metadata_backfill(
    ctx: click.Context,
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
    Several workers may run at once. Exit 0 when the run completed (failed objects are
    recorded in metadata_error), 1 when it could not run, 2 on a configuration error.
    """
    import json

    import boto3
    import psycopg
    from botocore.exceptions import BotoCoreError

    from product_images.connection import connect, describe_target
    from product_images.metadata.backfill import BackfillError, backfill
    from product_images.metadata.storage import UrlMapping, s3_client

    def fail(code: int, message: str) -> None:
        click.echo(f"Error: {message}", err=True)
        ctx.exit(code)

    try:
        mapping = UrlMapping.from_env()
        client = s3_client(max_pool_connections=concurrency)
        credentials = boto3.session.Session().get_credentials()
        if credentials is None:
            raise ValueError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            )
    except ValueError as error:
        fail(2, str(error))
    except BotoCoreError as error:  # partial credentials, unknown AWS_PROFILE...
        fail(2, f"AWS configuration: {error}")

    try:
        conn = connect(autocommit=True)
    except psycopg.OperationalError as error:
        fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")
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
    except ValueError as error:
        fail(2, str(error))
    except BackfillError as error:
        fail(1, str(error))
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        for line in summary.lines():
            click.echo(line)


@main.group()
def overrides() -> None:
    """The review list seeds/label_overrides.csv and the seed dbt loaded from it."""


@overrides.command("diff")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The review list (default: seeds/label_overrides.csv of the dbt project).",
)
def overrides_diff(path: Path | None) -> None:
    """List the rows added, removed or changed in the file since the last `dbt seed`.

    Exit 0 when the file is what is loaded, 1 when they differ (run `dbt seed`),
    2 when the file cannot be read or the database cannot be reached.
    """
    import psycopg

    from product_images.connection import connect, dbt_schema, describe_target
    from product_images.labels.overrides import (
        OverridesFileError,
        diff_overrides,
        loaded_overrides,
        read_overrides_file,
    )
    from product_images.project import project_dir

    path = path or project_dir() / "seeds" / "label_overrides.csv"
    try:
        file_rows = read_overrides_file(path)
    except (OSError, OverridesFileError) as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    try:
        with connect() as conn:
            loaded = loaded_overrides(conn, dbt_schema())
    except psycopg.Error as error:
        click.echo(f"Error: cannot read the loaded seed at {describe_target()}: {str(error).strip()}", err=True)
        sys.exit(2)
    diff = diff_overrides(file_rows, loaded)
    for line in diff.lines():
        click.echo(line)
    if diff.same:
        click.echo(
            f"{path}: {len(file_rows)} row(s), the same as loaded" + ("" if loaded is not None else " (never seeded)")
        )
        sys.exit(0)
    click.echo(
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed: run `dbt seed`", err=True
    )
    sys.exit(1)


@main.group()
def labels() -> None:
    """Which photo is the price tag: review the doubtful products."""


@labels.command("review")
@click.option("--tenant", default=None, metavar="SCHEMA", help="Only this tenant's products.")
@click.option(
    "--queue",
    "queue_kind",
    type=click.Choice(["doubtful", "all", "rule"]),
    default="doubtful",
    show_default=True,
    help="doubtful: the detector's queue (the rule's candidates, with a notice, until the detector has run); "
    "rule: products with 2+ photos labelled by the rule; all: every product with a photo.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but 127.0.0.1 makes the page reachable from elsewhere.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port (0: any free).")
@click.option(
    "--apply",
    is_flag=True,
    help="When the session ends, run `dbt seed && dbt run --select product_images` for the decisions.",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The review list (default: seeds/label_overrides.csv of the dbt project).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where thumbnails are cached (default: target/review-thumbnails of the checkout).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="The demo: its embedded PostgreSQL (unless PGHOST is set) and its pictures in a local S3 "
    "(unless AWS_ENDPOINT_URL_S3 is set).",
)
def labels_review(
    tenant: str | None,
    queue_kind: str,
    host: str,
    port: int,
    apply: bool,
    path: Path | None,
    cache_dir: Path | None,
    demo: bool,
) -> None:
    """Start the label review page, a local web app, and print its URL.

    One product at a time (or a grid): every photo as a thumbnail, the current
    decision and where it comes from. Keys: 1-9 pick the price-tag photo, 0 no
    price tag, Enter confirm and go on, Backspace back, u undo. Each decision is
    written to seeds/label_overrides.csv before the page moves on. Ctrl-C or the
    page's Finish button ends the session. Storage: as for `metadata backfill`
    (AWS_ENDPOINT_URL_S3, IMAGE_URL_PREFIX + IMAGE_BUCKET or IMAGE_URL_MAP_FILE).
    Exit 0; 1 when --apply's dbt commands failed; 2 when the page could not start.
    """
    from typing import cast

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:  # the `review` extra is not installed
        click.echo(f"Error: {error}: install the review page with pip install -e '.[review]'", err=True)
        sys.exit(2)

    from product_images.labels.review.queue import QueueKind
    from product_images.labels.review.server import serve_review

    sys.exit(
        serve_review(
            queue=cast(QueueKind, queue_kind),
            tenant=tenant,
            host=host,
            port=port,
            apply=apply,
            overrides_path=path,
            cache_dir=cache_dir,
            demo=demo,
        )
    )


@main.group()
def checkpoint() -> None:
    """Great Expectations checkpoints of gx/ (GX 1.x has no command line of its own)."""


@checkpoint.command("list")
def checkpoint_list() -> None:
    """List the checkpoints and the validation definitions each runs."""
    from product_images.checks.checkpoints import list_checkpoints

    for name, definitions in list_checkpoints():
        click.echo(f"{name}: {', '.join(definitions)}")


@checkpoint.command("run")
@click.argument("name", required=False, default="product_images_migration")
@click.option("--tenant", "tenants", multiple=True, help="Validate only this tenant schema (repeatable).")
@click.option(
    "--data-docs",
    type=click.Choice(["all", "failed", "none"]),
    default="all",
    show_default=True,
    help="Which validation results get a Data Docs page (rendering is slow at thousands of tenants).",
)
@click.option(
    "--mime-type-mostly",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fraction of probed images whose mime_type must be an allowed image type.",
)
@click.option(
    "--dimensions-mostly",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fraction of probed images whose width and height must be > 0.",
)
@click.option(
    "--file-size-mostly",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fraction of probed images whose file_size must be > 0.",
)
def checkpoint_run(
    name: str,
    tenants: tuple[str, ...],
    data_docs: str,
    mime_type_mostly: float,
    dimensions_mostly: float,
    file_size_mostly: float,
) -> None:
    """Run checkpoint NAME (default product_images_migration) once per tenant.

    Prints one line per expectation, the failures per tenant and product, and the
    path of Data Docs' index.html. Exit 0 when everything passed, 1 when an
    expectation failed, 2 on a configuration or connection error.
    """
    from product_images.checks.checkpoints import CheckpointConfigError, run_checkpoint
    from product_images.checks.report import print_report

    console = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    try:
        report = run_checkpoint(
            name,
            tenants=list(tenants) or None,
            data_docs=data_docs,
            expectation_parameters={
                "mime_type_mostly": mime_type_mostly,
                "dimensions_mostly": dimensions_mostly,
                "file_size_mostly": file_size_mostly,
            },
            progress=lambda tenant: console.print(f"validating {tenant}", style="dim") if console.is_terminal else None,
        )
    except CheckpointConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    print_report(console, report)
    sys.exit(0 if report.success else 1)


if __name__ == "__main__":
    main()
