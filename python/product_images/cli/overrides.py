"""``product-images overrides diff``: the review list against what dbt seed loaded."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from product_images.cli._common import fail

if TYPE_CHECKING:
    from product_images.labels.overrides import OverridesDiff


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
    """List the rows added, removed or changed in the file since the last `dbt seed`, and the rows that match no image.

    A row matches no image when its tenant has no product_images table, its product no
    photo, or no photo of the product has exactly its URL (e.g. another case): `dbt run`
    ignores such a row without a word. Exit 0 when the file is what is loaded and every
    row matches an image, 1 when the file and the loaded seed differ (run `dbt seed`),
    its rows or only its text (line endings, a BOM, quoting: dbt run compares the text
    and refuses it too), 2 when the file cannot be read or the database cannot be reached, 3 when the file is
    what is loaded but some rows match no image.
    """
    import psycopg

    from product_images.connection import connect, dbt_schema, describe_target
    from product_images.labels.overrides import (
        OverridesFileError,
        diff_overrides,
        loaded_file_checksum,
        loaded_overrides,
        read_overrides_file,
        seed_file_checksum,
        unmatched_overrides,
    )
    from product_images.project import project_dir

    path = path or project_dir() / "seeds" / "label_overrides.csv"
    try:
        file_rows = read_overrides_file(path)
        file_checksum = seed_file_checksum(path)
    except (OSError, UnicodeDecodeError, OverridesFileError) as error:
        fail(2, str(error))
    try:
        with connect() as conn:
            loaded = loaded_overrides(conn, dbt_schema())
            loaded_checksum = loaded_file_checksum(conn, dbt_schema())
            unmatched = unmatched_overrides(conn, file_rows)
    except psycopg.Error as error:
        fail(2, f"cannot read the loaded seed at {describe_target()}: {str(error).strip()}")
    diff = diff_overrides(file_rows, loaded)
    text_changed = diff.same and None not in (file_checksum, loaded_checksum) and file_checksum != loaded_checksum
    for line in diff.lines() + [row.line() for row in unmatched]:
        click.echo(line)
    message, code = _verdict(path, diff, text_changed, len(unmatched), len(file_rows), loaded is not None)
    click.echo(message, err=code != 0)
    sys.exit(code)


def _verdict(
    path: Path, diff: OverridesDiff, text_changed: bool, unmatched: int, rows: int, seeded: bool
) -> tuple[str, int]:
    """The last line of ``overrides diff`` and its exit code (see the command's docstring)."""
    if not diff.same:
        return f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed: run `dbt seed`", 1
    if text_changed:
        return (
            f"{path}: its rows are the ones loaded, but its text changed since the last `dbt seed` (line endings, "
            "a BOM, quoting or the rows' order): dbt run compares the text and refuses the file; run `dbt seed`",
            1,
        )
    if unmatched:
        return (
            f"{unmatched} row(s) of {path} match no image: dbt run ignores them; "
            "correct the tenant, product id or URL (exactly as in the JSONB), or delete the row",
            3,
        )
    return f"{path}: {rows} row(s), the same as loaded" + ("" if seeded else " (never seeded)"), 0
