"""Printing a checkpoint run for a person: one line per expectation, then the culprits."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape

from product_images.checks.outcomes import CheckpointReport, ExpectationOutcome


def print_report(console: Console, report: CheckpointReport) -> None:
    """Print ``report``: a line per expectation (PASS/FAIL, in how many tenants it passed), the failures
    grouped by tenant (product and problem, as the expectation's query names them),
    and the path of Data Docs' ``index.html``."""
    tenants = len(report.tenants)
    for outcome in report.outcomes:
        console.print(_outcome_line(outcome, tenants))

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
    if report.tenants_errored:
        console.print(
            f"[red]not validated to the end[/red] in {len(report.tenants_errored)} tenant(s), a query of the checks "
            f"failed (above): {', '.join(report.tenants_errored)}"
        )
    if report.results_pruned:
        console.print(f"{report.results_pruned} validation result(s) older than --keep-results removed (and pages)")
    if report.data_docs_index:
        console.print(f"Data Docs: {report.data_docs_index}")


def _outcome_line(outcome: ExpectationOutcome, tenants: int) -> str:
    """One expectation's line (rich markup): PASS, FAIL or ERROR (its query could not run), where, what it checks."""
    verdict = "[red]ERROR[/red]" if outcome.tenants_errored else "[red]FAIL[/red]"
    line = f"{verdict if not outcome.success else '[green]PASS[/green]'} {outcome.suite}.{outcome.check}: "
    line += f"passed in {outcome.tenants_passed} of {tenants} tenant(s)"
    if outcome.tenants_failed:
        line += f", {outcome.unexpected_total} unexpected in {', '.join(outcome.tenants_failed)}"
    if outcome.tenants_errored:
        line += f", could not run in {', '.join(outcome.tenants_errored)}"
    return line + f" [dim]- {escape(outcome.description)}[/dim]"
