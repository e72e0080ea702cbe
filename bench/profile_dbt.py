"""Where the dbt first load spends its time inside one tenant's plpgsql block.

dbt logs every statement it sends (``logs/dbt.log`` of the project copy); this
module takes the block dbt really ran for a tenant, adds
``raise notice 'pi_step <n> <clock_timestamp()>'`` after every statement of its
body, and runs it again in a transaction that drops the tenant's tables first and
is rolled back at the end (nothing changes). The gaps between two notices are the
seconds each statement took. ``EXPLAIN ANALYZE`` of the model's ``SELECT`` and of
the baseline's for the same tenant show where the insert itself goes.

No extension is needed (the embedded server has neither pg_stat_statements nor
auto_explain).
"""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

_BLOCK = re.compile(r"do \$product_images_sync\$.*?\n\$product_images_sync\$", re.DOTALL)
_NOTICE = re.compile(r"^pi_step (\d+) (.+)$")
_THREE_PART = re.compile(r'"[^"]*"\.("[^"]*"\."[^"]*")')
_INVOCATION = re.compile(r"'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'")


def find_block(dbt_log: Path, tenant: str, *, mode_hint: str = "create table") -> str | None:
    """The first plpgsql block dbt ran for ``tenant`` whose first-load branch ran (in ``dbt.log``), else None.

    Every block holds both branches (first load and incremental), and blocks differ
    only by tenant, invocation id and run start time, so any of the tenant's blocks
    will do.
    """
    marker = f"'product_images:' || '{tenant}'"
    for path in log_files(dbt_log):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _BLOCK.finditer(text):
            block = match.group(0)
            if marker in block and mode_hint in block:
                return block
    return None


def log_files(dbt_log: Path) -> list[Path]:
    """``dbt.log`` and the files dbt rotated it to (``dbt.log.1``, … at 10 MB each), newest first."""
    rotated = sorted(
        dbt_log.parent.glob(dbt_log.name + ".*"),
        key=lambda path: int(path.suffix[1:]) if path.suffix[1:].isdigit() else 0,
    )
    return [path for path in [dbt_log, *rotated] if path.is_file()]


def instrument(block: str) -> tuple[str, dict[int, str]]:
    """Add a timing notice after every statement of the block's body.

    Also drops the database from 3-part names (``"db"."schema"."table"``) and gives
    the block a new invocation id, so it can run again in any database.

    Returns:
        The instrumented block and ``{step number: first line of the statement it ends}``.
    """
    block = _THREE_PART.sub(r"\1", block)
    block = _INVOCATION.sub(f"'profile-{uuid.uuid4()}'", block)
    lines = block.split("\n")
    out: list[str] = []
    labels: dict[int, str] = {}
    in_body = False
    in_declare = False  # a nested block's declarations: no statements there
    statement_start: str | None = None
    step = 0
    for line in lines:
        out.append(line)
        stripped = line.strip()
        if not in_body:
            in_body = stripped == "begin"
            continue
        if stripped == "declare" or in_declare:
            in_declare = stripped != "begin"
            continue
        control = stripped in ("begin", "else") or (stripped.startswith("if ") and stripped.endswith("then"))
        if statement_start is None and stripped and not stripped.startswith("--") and not control:
            statement_start = stripped
        if stripped.endswith(";") and not stripped.startswith("--"):
            step += 1
            labels[step] = statement_start or stripped
            statement_start = None
            out.append(f"raise notice 'pi_step % %', {step}, clock_timestamp();")
    return "\n".join(out), labels


def _label(text: str, step: int) -> str:
    """A short, tenant-free name for a statement (``insert into product_images``...)."""
    if step == 1:
        return "block start (plpgsql compile) + advisory lock"
    text = re.sub(r'"[^"]*"\.', "", text)  # drop schema qualifiers
    text = re.sub(r"'user_[0-9]+'", "'<tenant>'", text)
    text = text.replace('"', "")
    words = text.split()
    return " ".join(words[:4]).rstrip("(;")


def profile_tenant(
    conn: psycopg.Connection, block: str, tenant: str, *, first_load: bool = True, prepare: sql.Composable | None = None
) -> dict[str, float]:
    """Run the instrumented block for ``tenant`` in a rolled-back transaction.

    With ``first_load`` the tenant's tables are dropped first (in that transaction),
    so the first-load branch runs; else the block runs on the tables as they are
    (the incremental branch: on unchanged data, the idempotent rerun). ``prepare``
    runs first in the same transaction (e.g. an update of some products' JSONB).

    Returns:
        ``{statement name: seconds}`` (same-named statements summed), plus ``"total"``.
    """
    instrumented, labels = instrument(block)
    notices: list[tuple[int, str]] = []

    def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
        match = _NOTICE.match(diagnostic.message_primary or "")
        if match:
            notices.append((int(match.group(1)), match.group(2)))

    conn.add_notice_handler(collect)
    try:
        with conn.transaction(force_rollback=True):
            for table in ("product_images", "product_images_rejects", "product_images_sync") if first_load else ():
                conn.execute(sql.SQL("drop table if exists {} cascade").format(sql.Identifier(tenant, table)))
            if prepare is not None:
                conn.execute(prepare)
            start = conn.execute("select clock_timestamp()").fetchone()[0]  # type: ignore[index]
            conn.execute(instrumented)
    finally:
        conn.remove_notice_handler(collect)
    # The notices' timestamps are text in the session's DateStyle: let the server subtract them.
    stamps = [start] + [
        conn.execute("select %s::timestamptz", (stamp,)).fetchone()[0]
        for _, stamp in notices  # type: ignore[index]
    ]
    seconds: dict[str, float] = {}
    for (step, _), before, after in zip(notices, stamps, stamps[1:], strict=False):
        name = _label(labels.get(step, "?"), step)
        seconds[name] = seconds.get(name, 0.0) + (after - before).total_seconds()
    seconds["total"] = (stamps[-1] - stamps[0]).total_seconds()
    return seconds


def profile_tenants(
    conn: psycopg.Connection,
    dbt_log: Path,
    tenants: Iterable[str],
    *,
    first_load: bool = True,
    prepare: Callable[[str], sql.Composable] | None = None,
) -> dict[str, Any]:
    """:func:`profile_tenant` over ``tenants``: the mean seconds per statement, slowest first.

    Returns:
        ``{"tenants": [...], "mean_seconds_per_statement": {name: s}, "share": {name: fraction}}``,
        or ``{"error": ...}`` when no block could be found in the log.
    """
    runs: list[dict[str, float]] = []
    profiled: list[str] = []
    for tenant in tenants:
        block = find_block(dbt_log, tenant)
        if block is None:
            continue
        runs.append(
            profile_tenant(conn, block, tenant, first_load=first_load, prepare=prepare(tenant) if prepare else None)
        )
        profiled.append(tenant)
    if not runs:
        return {"error": f"no first-load block found in {dbt_log}"}
    names = {name for run in runs for name in run}
    means = {name: statistics.fmean(run.get(name, 0.0) for run in runs) for name in names}
    total = means.pop("total")
    ordered = dict(
        sorted(((name, round(value, 4)) for name, value in means.items() if value >= 0.0005), key=lambda item: -item[1])
    )
    return {
        "tenants": profiled,
        "mean_total_seconds": round(total, 4),
        "mean_seconds_per_statement": ordered,
        "share": {name: round(value / total, 3) for name, value in ordered.items()} if total else {},
    }


def explain_select(conn: psycopg.Connection, select_sql: str, *, repeat: int = 3) -> dict[str, float]:
    """Best of ``repeat`` ``EXPLAIN (ANALYZE)`` runs of a ``SELECT``: ``{"execution_ms", "planning_ms"}``."""
    best: dict[str, float] | None = None
    for _ in range(repeat):
        plan = conn.execute("explain (analyze, format json) " + select_sql).fetchone()[0][0]  # type: ignore[index]
        result = {"execution_ms": round(plan["Execution Time"], 2), "planning_ms": round(plan["Planning Time"], 2)}
        if best is None or result["execution_ms"] < best["execution_ms"]:
            best = result
    assert best is not None
    return best


def compiled_model_select(project: Path, tenant: str, template: str = "template_tenant") -> str:
    """The model's compiled SQL (``target/compiled``) for ``tenant``, runnable as a plain ``SELECT``.

    dbt compiles the source ``legacy.products`` against the template schema ``template``
    (var ``tenant_template_schema``), which the materialization swaps for each tenant's own
    table at run time: so is it swapped here, or the plan would read the empty template.
    """
    compiled = next((project / "target" / "compiled").rglob("product_images.sql")).read_text(encoding="utf-8")
    select = _THREE_PART.sub(r"\1", compiled.replace("__tenant_schema__", tenant))
    source = f'"{template}"."products"'
    if source not in select:
        raise ValueError(f"the compiled model reads no {source}: has the source changed?")
    return select.replace(source, f'"{tenant}"."products"')


def timed(conn: psycopg.Connection, statement: str) -> float:
    """Seconds one statement takes (client side)."""
    started = time.perf_counter()
    conn.execute(statement)
    return time.perf_counter() - started
