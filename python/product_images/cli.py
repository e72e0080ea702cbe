"""The ``product-images`` command: argument parsing only; the work is in the library."""

from __future__ import annotations

import sys

import click
from rich.console import Console


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
    from .demo import run_demo

    sys.exit(run_demo(Console(width=None if sys.stdout.isatty() else 120)))


if __name__ == "__main__":
    main()
