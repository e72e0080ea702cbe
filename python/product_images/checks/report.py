"""Printing a checkpoint run for a person: one line per expectation, then the culprits."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape

from product_images.checks.checkpoints import CheckpointReport


def print_report(console: Console, report: CheckpointReport) -> None:
    """Print ``report``: a line per expectation (PASS/FAIL, in how many tenants it passed), the failures
    grouped by tenant (product and problem, as the expectation's query names them),
    and the path of Data Docs' ``index.html``."""
    tenants = len(report.tenants)
    for outcome in report.outcomes:
        verdict = "[green]PASS[/green]" if outcome.success else "[red]FAIL[/red]"
        line = f"{verdict} {outcome.suite}.{outcome.check}: passed in {outcome.tenants_passed} of {tenants} tenant(s)"
        if not outcome.success:
            line += f", {outcome.unexpected_total} unexpected in {', '.join(outcome.tenants_failed)}"
        console.print(line + f" [dim]- {escape(outcome.description)}[/dim]")

    by_tenant: dict[str, list[str]] = defaultdict(list)
    for outcome in report.outcomes:
        for failure in outcome.failures:
            product = f"product {failure.product_id}" if failure.product_id is not None else "tenant"
            by_tenant[failure.tenant_schema].append(f"{product}: {outcome.check}: {failure.problem}")
    if by_tenant:
        console.print("\n[bold]Failures by tenant[/bold]")
        for tenant in sorted(by_tenant):
            console.print(f"[bold]{tenant}[/bold]")
            for line in by_tenant[tenant]:
                console.print(f"  {escape(line)}")

    failed = {tenant for outcome in report.outcomes for tenant in outcome.tenants_failed}
    verdict = f"passed on {tenants}" if report.success else f"FAILED on {len(failed)} of {tenants}"
    console.print(f"\ncheckpoint {report.checkpoint} {verdict} tenant(s) in {report.seconds:.1f} s")
    if report.results_pruned:
        console.print(f"{report.results_pruned} validation result(s) older than --keep-results removed (and pages)")
    if report.data_docs_index:
        console.print(f"Data Docs: {report.data_docs_index}")
