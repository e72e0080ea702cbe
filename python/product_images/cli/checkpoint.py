"""``product-images checkpoint``: the Great Expectations checkpoints of gx/."""

from __future__ import annotations

import sys

import click
import psycopg
from rich.console import Console

from product_images.cli._common import fail, parse_dbt_vars


@click.group()
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
@click.option(
    "--tenants-per-batch",
    type=click.IntRange(1),
    default=25,
    show_default=True,
    help="Tenants validated together; a batch that fails is validated again tenant by tenant.",
)
@click.option(
    "--vars",
    "dbt_vars",
    default=None,
    help="dbt vars over dbt_project.yml's, as given to dbt run --vars (the label rule's must be the run's; "
    "tenant_schema_regex and extra_tenant_schemas choose the tenants), e.g. '{label_min_images: 3}'.",
)
@click.option(
    "--keep-results",
    "keep_results_days",
    type=click.FloatRange(min=0),
    default=None,
    help="Remove the validation results GX keeps (gx/uncommitted) from runs older than this many days, with "
    "their Data Docs pages (default: keep all, as GX does; each run adds a result per batch and suite).",
)
def checkpoint_run(
    name: str,
    tenants: tuple[str, ...],
    data_docs: str,
    mime_type_mostly: float,
    dimensions_mostly: float,
    file_size_mostly: float,
    tenants_per_batch: int,
    dbt_vars: str | None,
    keep_results_days: float | None,
) -> None:
    """Run checkpoint NAME (default product_images_migration) over every tenant, in batches.

    Prints one line per expectation, the failures per tenant and product, and the
    path of Data Docs' index.html. Exit 0 when everything passed, 1 when an
    expectation failed, 2 on a configuration, connection or database error (an
    expectation's query that could not run included).
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
            tenants_per_batch=tenants_per_batch,
            dbt_vars=parse_dbt_vars(dbt_vars),
            keep_results_days=keep_results_days,
        )
    except CheckpointConfigError as error:
        fail(2, str(error))
    except psycopg.Error as error:  # a query of the checks failed: not a failed expectation (exit 1)
        fail(2, f"the checkpoint's query failed, nothing was validated to the end: {type(error).__name__}: {error}")
    print_report(console, report)
    sys.exit(2 if report.tenants_errored else 0 if report.success else 1)
