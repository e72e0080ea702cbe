"""How long the checkpoint's validation results are kept (``checkpoint run --keep-results DAYS``).

GX keeps every validation result of every run in its validation results store
(``gx/uncommitted/validations``), and Data Docs' index lists them all: a checkpoint
run every day over 200 tenants (8 batches × 3 suites, the detail suite only where a
batch fails) adds 24 results a day, and rebuilding the index took 9.5 s of a run once
1,262 were kept. Pruning goes
through GX's own store (``list_keys``, ``remove_key``); each pruned result's page on
a filesystem Data Docs site goes with it, so the index links to no missing page.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["prune_validation_results"]


def prune_validation_results(
    context: Any, older_than: timedelta, *, now: datetime | None = None, keep: Collection[Any] = ()
) -> int:
    """Remove every validation result whose run started more than ``older_than`` before ``now``.

    Args:
        context: a GX file data context (``gx.get_context(mode="file", ...)``).
        older_than: the age past which a result goes (a run's ``run_time``; one without is kept).
        now: the time ages are measured from (default: the current time, UTC).
        keep: result identifiers kept whatever their age (the run being reported on).

    Returns:
        How many validation results were removed (their Data Docs pages with them).

    Raises:
        ValueError: ``older_than`` is negative.
    """
    if older_than < timedelta(0):
        raise ValueError(f"older_than must not be negative; got {older_than}")
    cutoff = (now or datetime.now(UTC)) - older_than
    store = context.validation_results_store
    sites = _filesystem_sites(context)
    removed = 0
    for key in store.list_keys():
        run_time = key.run_id.run_time
        if run_time is None:
            continue
        if run_time.tzinfo is None:
            run_time = run_time.replace(tzinfo=UTC)
        if run_time >= cutoff or key in keep:
            continue
        store.remove_key(key)
        *folders, name = key.to_tuple()
        for site in sites:
            (site.joinpath("validations", *folders) / f"{name}.html").unlink(missing_ok=True)
        removed += 1
    return removed


def _filesystem_sites(context: Any) -> list[Path]:
    """The base folders of the context's Data Docs sites kept on the filesystem (others are left alone)."""
    root = Path(context.root_directory)
    folders = []
    for site in (context.variables.data_docs_sites or {}).values():
        backend = site.get("store_backend") or {}
        if backend.get("class_name") == "TupleFilesystemStoreBackend" and backend.get("base_directory"):
            folders.append(root / backend["base_directory"])
    return folders
