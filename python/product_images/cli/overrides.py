"""``product-images overrides diff``: the review list against what dbt seed loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from product_images.cli._common import fail


@click.group()
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
        fail(2, str(error))
    try:
        with connect() as conn:
            loaded = loaded_overrides(conn, dbt_schema())
    except psycopg.Error as error:
        fail(2, f"cannot read the loaded seed at {describe_target()}: {str(error).strip()}")
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
