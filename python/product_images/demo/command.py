"""``make demo``: the main job, end to end, on the embedded PostgreSQL and the demo data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from product_images.connection import connect, dbt_schema, describe_target
from product_images.demo.data import load_demo_data
from product_images.demo.embedded import use_embedded_postgres_unless_configured
from product_images.migration.dbt_runner import DbtResult, run_dbt
from product_images.migration.report import TenantReport, tenant_reports
from product_images.project import project_dir


@dataclass(frozen=True)
class LabelPrecision:
    """How well the label rule finds the demo's real price tags (``demo.label_truth``).

    Attributes:
        labels: images flagged ``is_label``.
        true_labels: of those, the ones that are a real price tag.
        price_tags: real price tags in the data (611 in the demo).
        found_price_tags: real price tags flagged ``is_label``.
    """

    labels: int
    true_labels: int
    price_tags: int
    found_price_tags: int

    @property
    def precision(self) -> float:
        """true_labels / labels (1.0 when nothing is flagged)."""
        return self.true_labels / self.labels if self.labels else 1.0

    @property
    def recall(self) -> float:
        """found_price_tags / price_tags (1.0 when there are none)."""
        return self.found_price_tags / self.price_tags if self.price_tags else 1.0


def label_precision(conn, schema: str) -> LabelPrecision:
    """Compare the flags in the ``product_images`` union view with ``demo.label_truth``.

    Raises:
        psycopg.errors.UndefinedTable: the demo data or the model is missing.
    """
    row = conn.execute(
        f"""
        select
            count(*) filter (where images.is_label),
            count(*) filter (where images.is_label and truth.label_url is not null),
            (select count(*) from demo.label_truth),
            count(*) filter (where images.is_label and truth.label_url is not null)
        from "{schema}".product_images as images
        left join demo.label_truth as truth
            on truth.tenant_schema = images.tenant_schema
            and truth.product_id = images.product_id
            and truth.label_url = images.url
        """
    ).fetchone()
    return LabelPrecision(*row)


def run_demo(console: Console, data_dir: Path | None = None) -> int:
    """Load the demo data (once), then ``dbt seed``, ``dbt run --select product_images``, ``dbt test``.

    Uses the database the libpq variables name, or starts the embedded PostgreSQL
    in ``data_dir`` when ``PGHOST`` is unset. Prints each step and a per-tenant table.

    Then the image metadata backfill (``demo_storage.run_demo_backfill``): moto's S3 with a
    picture per URL unless ``AWS_ENDPOINT_URL_S3`` is set, every tenant probed; then the
    Great Expectations checkpoint ``product_images_migration`` over every tenant; then publishing
    (``publish.demo.run_demo_publishing``): ``marketplace_tasks`` in public and every tenant, its
    tenant-wide migration, three products published to a local stand-in marketplace.

    Returns:
        The process exit code: 0 when every step passed, else the failing dbt step's code,
        or the backfill's (1: could not run, 2: bad storage configuration), or 1 when
        the checkpoint or the publishing failed.
    """
    data_dir = data_dir or project_dir() / ".pgdata"
    mode = use_embedded_postgres_unless_configured(data_dir)
    console.print(f"[bold]PostgreSQL[/bold]: {mode} ({describe_target()})")
    schema = dbt_schema()
    with connect() as conn:
        loaded = load_demo_data(conn)
    console.print("demo data: " + ("loaded" if loaded else "already there, unchanged"))

    timings: dict[str, float] = {}
    for args in (["seed"], ["run", "--select", "product_images"], ["test"]):
        started = time.perf_counter()
        result: DbtResult = run_dbt(args)
        timings[" ".join(args)] = time.perf_counter() - started
        if not result.success:
            console.print(f"[red]dbt {' '.join(args)} failed[/red] (exit {result.exit_code})")
            return result.exit_code

    with connect() as conn:
        reports = tenant_reports(conn, schema)
        precision = label_precision(conn, schema)
    console.print(render_tenant_table(reports))
    console.print(
        f"label rule vs demo.label_truth: {precision.labels} labels, {precision.true_labels} real price tags "
        f"(precision {precision.precision:.1%}); {precision.found_price_tags} of {precision.price_tags} price tags "
        "found "
        f"(recall {precision.recall:.1%}). Review the rest in seeds/label_overrides.csv."
    )
    console.print("dbt: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))

    # Image metadata: moto's S3 with a picture per URL (unless AWS_ENDPOINT_URL_S3 is set), then the backfill.
    from product_images.demo.storage import run_demo_backfill

    backfill_code = run_demo_backfill(console)
    if backfill_code != 0:
        return backfill_code

    # The independent witness: the Great Expectations checkpoint, every tenant.
    from product_images.checks.checkpoints import run_checkpoint
    from product_images.checks.report import print_report

    # The demo's storage holds broken objects on purpose (empty, missing, not an
    # image): the metadata suite tolerates 1% of probed rows, as `mostly` allows.
    report = run_checkpoint(
        expectation_parameters={"mime_type_mostly": 0.99, "dimensions_mostly": 0.99, "file_size_mostly": 0.99}
    )
    print_report(console, report)
    if not report.success:
        return 1

    # Publishing: marketplace_tasks migrated tenant-wide, three products published to a stand-in marketplace.
    from product_images.publish.demo import run_demo_publishing

    published = run_demo_publishing(console)
    console.print(
        f"Review the doubtful labels from their photos (keys 1-9, 0, Enter): [bold]{review_command()}[/bold], "
        "then open http://127.0.0.1:8765/",
        highlight=False,
    )
    return published


def review_command() -> str:
    """The command that opens the label review page on the demo, e.g. ``.venv/bin/product-images labels review --demo``.

    Names this interpreter's ``product-images`` script relative to the current directory when it is
    inside it (``make demo`` runs from the checkout), else by its absolute path, else the bare name.
    """
    import sys

    script = Path(sys.executable).parent / "product-images"
    if not script.exists():
        return "product-images labels review --demo"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    return f"{shown} labels review --demo"


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
