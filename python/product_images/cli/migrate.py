"""``product-images migrate``: the migration in shards at once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from product_images.cli._common import connect_or_fail, fail, parse_dbt_vars


@click.command()
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="dbt processes, each migrating one shard of the tenants (a hash of the schema name).",
)
@click.option(
    "--vars",
    "dbt_vars",
    default=None,
    help="More dbt vars for every shard, a YAML or JSON mapping as dbt's --vars, e.g. '{lock_timeout: 2s}'.",
)
@click.option(
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The dbt project (default: the checkout this command runs from).",
)
def migrate(jobs: int, dbt_vars: str | None, project_dir: Path | None) -> None:
    """Run the migration (dbt run --select product_images) in JOBS shards at once and print one summary.

    Exit code: 0 when every shard succeeded; 1 when a tenant failed (the others are
    committed); 2 when dbt could not run, a shard was killed (its tenants not run are
    named), or another migrate runs on this database; 130 (SIGINT, Ctrl-C) or 143
    (SIGTERM) when stopped: the shards get SIGINT, 30 s to stop (then SIGKILL), and
    the summary counts what was committed. Each shard's output:
    target/shards/<run id>/<i>/dbt.out.
    """
    from product_images.migration.shards import MigrateBusyError, run_shards

    parsed = parse_dbt_vars(dbt_vars)
    conn = connect_or_fail(autocommit=True, application_name="product-images migrate")
    try:
        outcome = run_shards(jobs, conn, dbt_vars=parsed, project_dir=project_dir)
    except (ValueError, MigrateBusyError) as error:
        fail(2, str(error))
    finally:
        conn.close()
    click.echo(outcome.summary())
    sys.exit(outcome.exit_code)
