"""The publishing part of ``make demo``: marketplace_tasks, its migration, three jobs on a stand-in marketplace.

:func:`run_demo_publishing` runs after the migration of the photos (it needs the
``product_images`` tables and, for eBay's size rule, the probed metadata):

1. creates ``marketplace_tasks`` in the back end's shape in ``public`` and in
   every demo tenant (:func:`~product_images.publish.backend.create_marketplace_tasks_table`);
2. runs ``dbt run-operation marketplace_tasks_position`` and
   ``dbt run-operation marketplace_tasks_orchestration`` and prints what each did
   per schema (a second ``make demo`` prints "already there" everywhere);
3. starts the stand-in marketplace on 127.0.0.1 and publishes three products of
   ``user_1`` that have a price-tag label: one on Vinted as it should go; one on
   eBay whose second upload gets two 503 answers (the task fails once and is
   retried); one on Vinted whose second upload keeps failing until the job
   stops, then is resumed once the marketplace is back (the uploads that
   succeeded are not redone).
"""

from __future__ import annotations

from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from product_images.connection import connect, dbt_schema
from product_images.demo.data import EMPTY_TENANTS, TENANT_PRODUCTS
from product_images.migration.dbt_runner import run_dbt
from product_images.publish.backend import create_marketplace_tasks_table
from product_images.publish.client import HttpMarketplaceClient
from product_images.publish.plans import PublishError, PublishPlan, build_plan
from product_images.publish.standin import StandInMarketplace
from product_images.publish.tasks import JobOutcome, create_job, format_tasks, run_job

__all__ = ["DEMO_TENANT", "SCHEMA_CHANGES", "run_demo_publishing"]

DEMO_TENANT = "user_1"
"""The tenant whose products the demo publishes."""

SCHEMA_CHANGES = ("marketplace_tasks_position", "marketplace_tasks_orchestration")
"""The run-operations the demo runs, in order."""


def _change_report(conn: psycopg.Connection, operation: str) -> dict[str, str]:
    """{schema: outcome} of a change's latest start in the operations log ("already there" once completed)."""
    rows = conn.execute(
        f"""
        select tenant_schema, status, message, rows_affected from "{dbt_schema()}".product_images_operations
        where operation = %(op)s and invocation_id = (
            select invocation_id from "{dbt_schema()}".product_images_operations where operation = %(op)s
            order by finished_at desc limit 1)
        order by started_at
        """,
        {"op": operation + ":start"},
    ).fetchall()
    words = {"error": "FAILED", "would_do": "would add"}
    report = {}
    for schema, status, message, affected in rows:
        if status == "skipped":
            report[schema] = "skipped" if (message or "").startswith("no table") else "already there"
        else:
            report[schema] = words.get(status, "added" if affected else "already there")
    return report


def _demo_products(conn: psycopg.Connection, count: int) -> list[int]:
    """Products of DEMO_TENANT with a label and 3 to 6 other photos that eBay accepts at least two of."""
    candidates = [
        row[0]
        for row in conn.execute(
            f"""
        select product_id from "{DEMO_TENANT}".product_images
        group by product_id
        having bool_or(is_label) and count(*) filter (where not is_label) between 3 and 6
        order by product_id
        limit 50
        """
        ).fetchall()
    ]
    chosen = []
    for product_id in candidates:
        try:
            if len(build_plan(conn, DEMO_TENANT, product_id, "ebay").photo_urls) >= 2:
                chosen.append(product_id)
        except PublishError:
            continue
        if len(chosen) == count:
            break
    return chosen


def _print_job(console: Console, title: str, outcome: JobOutcome) -> None:
    console.print(f"[bold]{title}[/bold]", highlight=False, soft_wrap=True)
    for line in format_tasks(outcome.tasks):
        console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
    console.print("  " + outcome.summary(), markup=False, highlight=False, soft_wrap=True)


def run_demo_publishing(console: Console) -> int:
    """Create marketplace_tasks, migrate it tenant-wide, publish three demo products to the stand-in.

    Uses the database the libpq variables name (the demo's). Prints the
    migration's per-schema outcome, each job's task table and the stand-in's
    counts. Returns 0 when the migration succeeded everywhere, every job ended
    SUCCESS (the third after its resume), no label was sent and no photo was
    uploaded twice; else 1.
    """
    tenants = sorted({*TENANT_PRODUCTS, *EMPTY_TENANTS})
    with connect(autocommit=True) as conn:
        for schema in ("public", *tenants):
            create_marketplace_tasks_table(conn, schema)
        # The stand-in starts empty on every run: earlier demo jobs (and their listings) are forgotten.
        conn.execute(f'delete from "{DEMO_TENANT}".marketplace_tasks')
    if code := _migrate_tenant_wide(console):
        return code
    with connect(autocommit=True, application_name="product-images demo") as conn, StandInMarketplace() as market:
        products = _demo_products(conn, 3)
        if len(products) < 3:
            console.print(f"[red]publishing: found only {len(products)} demo products to publish[/red]")
            return 1
        console.print(
            f"stand-in marketplace at {market.url}: publishing {DEMO_TENANT} products " + ", ".join(map(str, products)),
            highlight=False,
        )
        runs: list[tuple[int, str, dict[str, Any], str]] = [
            (products[0], "vinted", {}, "as it should go"),
            (products[1], "ebay", {"fail": 2}, "its 2nd upload answered 503 twice: the task fails once, is retried"),
            (products[2], "vinted", {"fail": 100}, "its 2nd upload keeps failing: the job stops there"),
        ]
        ok = True
        plans = []
        for product_id, marketplace, scenario, story in runs:
            plan, outcome = _publish(console, conn, market, product_id, marketplace, scenario, story)
            plans.append(plan)
            ok = ok and outcome.success
        ok = _report_stand_in(console, conn, market, products, plans) and ok
    return 0 if ok else 1


def _migrate_tenant_wide(console: Console) -> int:
    """Run the SCHEMA_CHANGES with dbt and print what each did per schema; dbt's exit code (or 1) when one failed."""
    reports: dict[str, dict[str, str]] = {}
    for operation in SCHEMA_CHANGES:
        result = run_dbt(["run-operation", operation])
        with connect() as conn:
            reports[operation] = _change_report(conn, operation)
        if not result.success:
            console.print(f"[red]dbt run-operation {operation} failed[/red] (exit {result.exit_code})")
            return result.exit_code or 1
    table = Table(title="marketplace_tasks, tenant-wide (dbt run-operation ...)")
    table.add_column("schema")
    for operation in SCHEMA_CHANGES:
        table.add_column(operation)
    for schema in reports[SCHEMA_CHANGES[0]]:
        table.add_row(schema, *(reports[operation].get(schema, "-") for operation in SCHEMA_CHANGES))
    console.print(table)
    return 0


def _publish(
    console: Console,
    conn: psycopg.Connection,
    market: StandInMarketplace,
    product_id: int,
    marketplace: str,
    scenario: dict[str, Any],
    story: str,
) -> tuple[PublishPlan, JobOutcome]:
    """Publish one product with the stand-in failing as ``scenario`` says, resumed when the job stopped."""
    plan = build_plan(conn, DEMO_TENANT, product_id, marketplace)
    create_job(conn, plan)
    if scenario.get("fail"):
        market.fail("upload", status=503, times=scenario["fail"], after=1)
    with HttpMarketplaceClient(market.url, marketplace, max_attempts=2, backoff=0.05, timeout=5.0) as client:
        outcome = run_job(conn, DEMO_TENANT, plan.job_id, client, max_attempts=2, retry_wait=0.2)
    market.clear()
    dropped = ", ".join(f"{d.reason.value} {d.image.url}" for d in plan.selection.dropped)
    _print_job(
        console,
        f"{marketplace}, product {product_id} ({len(plan.photo_urls)} photos; left out: {dropped or 'none'}): {story}",
        outcome,
    )
    if scenario.get("fail", 0) > 2:
        with HttpMarketplaceClient(market.url, marketplace, backoff=0.05, timeout=5.0) as client:
            outcome = run_job(conn, DEMO_TENANT, plan.job_id, client, retry_wait=0.2)
        _print_job(
            console,
            f"the marketplace is back: product-images publish resume --tenant {DEMO_TENANT} --job {plan.job_id}",
            outcome,
        )
    return plan, outcome


def _report_stand_in(
    console: Console,
    conn: psycopg.Connection,
    market: StandInMarketplace,
    products: list[int],
    plans: list[PublishPlan],
) -> bool:
    """Print what the stand-in received; True when no photo went twice, no label went, order held, 3 listings."""
    labels = {
        row[0]
        for row in conn.execute(
            f'select url from "{DEMO_TENANT}".product_images where is_label and product_id = any(%s)', (products,)
        )
    }
    uploaded = market.uploads_per_url()
    twice = sorted(url for url, count in uploaded.items() if count > 1)
    sent_labels = sorted(labels & set(uploaded))
    in_order = all(
        [u.url for u in market.uploads if u.url in set(plan.photo_urls)] == plan.photo_urls for plan in plans
    )
    console.print(
        f"stand-in: {len(market.uploads)} uploads carried out for {len(uploaded)} photos "
        f"({sum(market.received.values())} requests with {len(market.received)} idempotency keys); "
        f"photos uploaded twice: {len(twice)}; labels sent: {len(sent_labels)} of {len(labels)}; "
        f"each product's photos in position order: {'yes' if in_order else 'NO'}; "
        f"listings: {len(market.listings)}",
        highlight=False,
        soft_wrap=True,
    )
    return not twice and not sent_labels and in_order and len(market.listings) == 3
