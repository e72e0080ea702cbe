"""``make demo``: the main job, end to end, on the embedded PostgreSQL and the demo data."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from product_images.connection import connect, dbt_schema, describe_target
from product_images.demo.data import load_demo_data
from product_images.demo.labels import label_figures, render_label_table, run_demo_detection
from product_images.embedded import use_embedded_postgres_unless_configured
from product_images.migration.dbt_runner import DbtResult, run_dbt
from product_images.migration.report import TenantReport, tenant_reports
from product_images.project import project_dir


def run_demo(
    console: Console,
    data_dir: Path | None = None,
    *,
    size: str = "full",
    detect_concurrency: int = 2,
    leave_objects: bool = False,
) -> int:
    """The main job on the demo data, end to end, printing each step.

    Uses the database the libpq variables name, or starts the embedded PostgreSQL
    in ``data_dir`` when ``PGHOST`` is unset. Steps: load the demo data (once); ``dbt seed``
    and ``dbt run --select product_images`` (the legacy rule decides the labels) and a
    per-tenant table; then, with the demo's bucket running (moto's S3 with a clothing photo per
    URL, unless ``AWS_ENDPOINT_URL_S3`` is set: ``demo.storage.running_demo_storage``), the image
    metadata backfill and ``product-images labels detect``; ``dbt run`` again, which applies
    the evidence, and ``dbt test``; the rule's and the evidence's figures side by side; the
    Great Expectations checkpoint ``product_images_migration`` over every tenant; publishing
    (``demo.publishing.run_demo_publishing``: ``marketplace_tasks`` in public and every tenant,
    its tenant-wide migration, three products published to a local stand-in marketplace);
    last, the command that opens the label review page.

    Args:
        console: where to print.
        data_dir: the embedded PostgreSQL's data directory (default ``.pgdata/`` in the checkout).
        size: the demo data's size, ``"full"`` (3,282 products, ``make demo``) or ``"small"``
            (329 products, for the tests).
        detect_concurrency: ``labels detect --concurrency`` (worker processes).
        leave_objects: leave the demo bucket's objects in moto (memory and temporary files, freed when
            the process ends) instead of deleting them: saves about a minute on the full demo; for a
            process that ends after the demo (the CLI), not for one that goes on using moto.

    Returns:
        The process exit code: 0 when every step passed, else the failing dbt step's code,
        or the backfill's or the detection's (1: could not run, 2: bad storage configuration),
        or 1 when the checkpoint or the publishing failed.

    Raises:
        product_images.demo.data.DemoDataError: ``size`` is not ``"full"`` or ``"small"``, or the
            database holds other demo data (another size, or the older demo).
    """
    schema = _start_and_load(console, data_dir or project_dir() / ".pgdata", size)
    dbt = _DbtSteps(console)
    if code := dbt.run((["seed"], None), (["run", "--select", "product_images"], None)):
        return code
    waiting = _print_tenants_and_rule(console, schema)
    if code := _probe_and_detect(console, waiting, detect_concurrency=detect_concurrency, leave_objects=leave_objects):
        return code
    if code := dbt.run((["run", "--select", "product_images"], "run (evidence)"), (["test"], None)):
        return code
    with connect() as conn:
        figures = label_figures(conn, schema)
    console.print(render_label_table(figures))
    console.print("dbt: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in dbt.timings.items()))
    if not _checkpoint_passes(console):
        return 1
    return _publish_and_point_to_review(console)


def _start_and_load(console: Console, data_dir: Path, size: str) -> str:
    """Start (or name) the database and load the demo data once; the dbt schema."""
    mode = use_embedded_postgres_unless_configured(data_dir)
    console.print(f"[bold]PostgreSQL[/bold]: {mode} ({describe_target()})")
    schema = dbt_schema()
    with connect() as conn:
        loaded = load_demo_data(conn, size=size)
    console.print("demo data: " + ("loaded" if loaded else "already there, unchanged") + f" ({size})")
    return schema


@dataclass
class _DbtSteps:
    """The demo's dbt commands, run in order: each one's time (by name), a failure printed with its exit code."""

    console: Console
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *steps: tuple[list[str], str | None]) -> int:
        """Run each (dbt arguments, name for the timings) until one fails; 0, or the failing one's exit code."""
        for args, name in steps:
            started = time.perf_counter()
            result: DbtResult = run_dbt(list(args))
            self.timings[name or " ".join(args)] = time.perf_counter() - started
            if not result.success:
                self.console.print(f"[red]dbt {' '.join(args)} failed[/red] (exit {result.exit_code})")
            code = 0 if result.success else result.exit_code
            if code:
                return code
        return 0


def _print_tenants_and_rule(console: Console, schema: str) -> int:
    """Print the per-tenant table and the legacy rule's figures; the photos the backfill or detection waits for."""
    from product_images.demo.storage import photos_waiting

    with connect() as conn:
        reports = tenant_reports(conn, schema)
        rule = label_figures(conn, schema).rule
        waiting = photos_waiting(conn)
    console.print(render_tenant_table(reports))
    console.print(
        f"label rule vs demo.label_truth: {rule.labels:,} labels, {rule.true_labels:,} real price tags "
        f"(precision {rule.precision:.1%}); {rule.found_price_tags:,} of {rule.price_tags:,} "
        f"price tags found (recall {rule.recall:.1%}). Now the evidence from the photos.",
        highlight=False,
    )
    return waiting


def _probe_and_detect(console: Console, waiting: int, *, detect_concurrency: int, leave_objects: bool) -> int:
    """With the demo's bucket running: the metadata backfill, then the label detection twice; 0 or the exit code."""
    from product_images.demo.storage import run_demo_backfill, running_demo_storage

    # The bucket: image metadata (one range GET a photo), then the evidence of each photo.
    if waiting == 0 and not os.environ.get("AWS_ENDPOINT_URL_S3"):
        console.print("metadata backfill and labels detect: every photo is probed and scored already")
        return 0
    with running_demo_storage(console, delete_objects=not leave_objects):
        if code := run_demo_backfill(console):
            return code
        code, _ = run_demo_detection(console, concurrency=detect_concurrency)
        if code:
            return code
        # Again: each shop's profile is now learned from its confirmed tags (the evidence above the
        # detector's high bar), and every photo is rescored from its stored evidence, without a download.
        code, _ = run_demo_detection(console, concurrency=detect_concurrency)
    return code


def _checkpoint_passes(console: Console) -> bool:
    """The independent witness: the Great Expectations checkpoint over every tenant, its report printed."""
    from product_images.checks.checkpoints import run_checkpoint
    from product_images.checks.report import print_report

    # The demo's storage holds broken objects on purpose (empty, missing, not an
    # image): the metadata suite tolerates 1% of probed rows, as `mostly` allows.
    report = run_checkpoint(
        expectation_parameters={"mime_type_mostly": 0.99, "dimensions_mostly": 0.99, "file_size_mostly": 0.99}
    )
    print_report(console, report)
    return bool(report.success)


def _publish_and_point_to_review(console: Console) -> int:
    """Publishing (marketplace_tasks migrated tenant-wide, three products on a stand-in), then the review command."""
    from product_images.demo.publishing import run_demo_publishing

    published = run_demo_publishing(console)
    console.print(
        f"Review the doubtful labels from their photos (keys 1-9, 0, Enter): [bold]{review_command()}[/bold], "
        "then open http://127.0.0.1:8765/",
        highlight=False,
    )
    return published


def review_command() -> str:
    """The command that opens the label review page on the demo, e.g. ``.venv/bin/product-images-demo review``.

    Names this interpreter's ``product-images-demo`` script relative to the current directory when it
    is inside it (``make demo`` runs from the checkout), else by its absolute path, else the bare name.
    """
    import sys

    script = Path(sys.executable).parent / "product-images-demo"
    if not script.exists():
        return "product-images-demo review"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    return f"{shown} review"


def render_tenant_table(reports: list[TenantReport]) -> Table:
    """A rich table: one row per tenant and a total row."""
    table = Table(title="product_images per tenant")
    for column in (
        "tenant",
        "status",
        "products",
        "JSONB elements",
        "rows loaded",
        "rejects",
        "labels",
        "accounted for",
        "seconds",
    ):
        table.add_column(column, justify="left" if column in ("tenant", "status") else "right")
    for report in reports:
        table.add_row(
            report.tenant_schema,
            report.status or "-",
            f"{report.products:,}",
            f"{report.jsonb_elements:,}",
            f"{report.rows_loaded:,}",
            f"{report.rejects:,}",
            f"{report.labels:,}",
            "yes" if report.accounted_for else "[red]NO[/red]",
            f"{report.seconds:.2f}" if report.seconds is not None else "-",
        )
    table.add_row(
        "total",
        "",
        *(
            f"{sum(getattr(r, name) for r in reports):,}"
            for name in ("products", "jsonb_elements", "rows_loaded", "rejects", "labels")
        ),
        "yes" if all(r.accounted_for for r in reports) else "[red]NO[/red]",
        f"{sum(r.seconds or 0 for r in reports):.2f}",
        end_section=True,
    )
    return table
