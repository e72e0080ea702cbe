"""``product-images-demo``: the demo's commands.

The production command line (``product-images``) knows nothing of the demo; the demo
adds its own: ``run`` (what ``make demo`` runs) and ``review`` (the review page on the
demo's database and pictures, with the options of ``product-images labels review``).
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from product_images.cli import review_page_options, serve_review_page


@click.group()
def main() -> None:
    """The demo: a clothing reseller's shop on an embedded PostgreSQL and moto's S3.

    Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; with no
    PGHOST, an embedded PostgreSQL in .pgdata/ of the checkout.
    """


@main.command("run")
@click.option(
    "--size",
    type=click.Choice(["full", "small"]),
    default="full",
    show_default=True,
    help="The demo data: full (3,282 products, 611 price tags) or small (329 products, 60 tags).",
)
@click.option(
    "--detect-concurrency",
    type=click.IntRange(min=1, max=64),
    default=2,
    show_default=True,
    help="Worker processes of the label detection.",
)
@click.option(
    "--app",
    "app_name",
    type=click.Choice(["products", "studio"]),
    default="products",
    show_default=True,
    help="products: the main job (product photos, labels, checks, publishing); studio: the expand/contract "
    "worked example, a second app's tables renamed and extended while its old and new versions run.",
)
def run(size: str, detect_concurrency: int, app_name: str) -> None:
    """Load the demo data set, run the migration, the metadata backfill, the label detection and the checks.

    Prints a per-tenant table and the legacy rule's and the evidence's figures side by side.
    Starts an embedded PostgreSQL in .pgdata/ unless PGHOST is set, and moto's S3 with a
    clothing photo per image URL unless AWS_ENDPOINT_URL_S3 is set.
    """
    from product_images.demo.command import run_demo
    from product_images.demo.data import DemoDataError

    console = Console(width=None if sys.stdout.isatty() else 120)
    if app_name == "studio":
        from product_images.demo.studio.command import run_studio_demo

        sys.exit(run_studio_demo(console))
    try:
        code = run_demo(console, size=size, detect_concurrency=detect_concurrency, leave_objects=True)
    except DemoDataError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    sys.exit(code)


@main.command("review")
@review_page_options
def review(**options: Any) -> None:
    """Start the label review page on the demo and print its URL.

    The demo's embedded PostgreSQL (unless PGHOST is set) and, unless AWS_ENDPOINT_URL_S3 is
    set, the queue's pictures drawn again into moto's S3. Otherwise as
    `product-images labels review`.
    """
    from product_images.demo.review import demo_environment

    serve_review_page(demo_environment, **options)
