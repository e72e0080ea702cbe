"""What a checkpoint run found: per expectation, the tenants it passed and failed in, and the offending rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CheckpointReport", "ExpectationOutcome", "Failure"]


@dataclass(frozen=True)
class Failure:
    """One offending row: which tenant and product, and what is wrong (as the expectation's query says)."""

    tenant_schema: str
    product_id: int | None
    problem: str


@dataclass
class ExpectationOutcome:
    """One expectation over all tenants: how many tenants it passed in, and the failures.

    ``tenants_errored`` are the tenants where its query could not run (a lock or statement
    timeout, a table dropped meanwhile): nothing was validated there, which is not a failed
    expectation (the command exits 2, not 1); ``failures`` then holds the database's message.
    """

    suite: str
    check: str
    description: str
    tenants_passed: int = 0
    tenants_failed: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    unexpected_total: int = 0
    tenants_errored: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """True when it passed in every tenant."""
        return not self.tenants_failed and not self.tenants_errored


@dataclass
class CheckpointReport:
    """The outcome of ``run_checkpoint``.

    Attributes:
        checkpoint: the checkpoint's name.
        tenants: the tenant schemas validated, in order.
        outcomes: one :class:`ExpectationOutcome` per expectation, in suite order.
        data_docs_index: path of Data Docs' ``index.html``, or None when not built.
        seconds: wall time of the whole run.
        results_pruned: validation results removed for being older than ``keep_results_days``.
    """

    checkpoint: str
    tenants: list[str]
    outcomes: list[ExpectationOutcome]
    data_docs_index: Path | None
    seconds: float
    results_pruned: int = 0

    @property
    def success(self) -> bool:
        """True when every expectation passed in every tenant."""
        return all(outcome.success for outcome in self.outcomes)

    @property
    def tenants_errored(self) -> list[str]:
        """The tenants where an expectation's query could not run, sorted: not validated to the end."""
        return sorted({tenant for outcome in self.outcomes for tenant in outcome.tenants_errored})
