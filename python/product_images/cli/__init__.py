"""The ``product-images`` command: argument parsing only; the work is in the library.

One module per command group (migrate, publish, metadata, labels, overrides, checkpoint);
what they share is in ``_common``.
"""

from __future__ import annotations

import click

from product_images.cli.checkpoint import checkpoint
from product_images.cli.labels import labels, review_page_options, serve_review_page
from product_images.cli.metadata import metadata
from product_images.cli.migrate import migrate
from product_images.cli.overrides import overrides
from product_images.cli.publish import payload, publish

__all__ = ["main", "review_page_options", "serve_review_page"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="product-images")
def main() -> None:
    """Move product photos from products.images (JSONB) to product_images tables, safely.

    Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    """


for command in (migrate, payload, publish, metadata, labels, overrides, checkpoint):
    main.add_command(command)
