"""``product-images migrate --jobs N``: the model's tenants in N shards, one ``dbt run`` process each.

Each process runs ``dbt run --select product_images --vars '{tenant_shards: N, tenant_shard: i}'``
(shard 0 with the views built on the model, the others the model alone)
(``macros/tenants/tenant_shards.sql``: a tenant's shard is a hash of its schema name,
so the shards never overlap and together cover every tenant), with its own target
and log folders so that the processes do not overwrite each other's files. The
same vars on several machines split the tenants the same way; the tenant's
advisory lock keeps two processes off one tenant whatever the vars. The union
views are built by each shard at its end, one shard at a time: the last one sees
every tenant.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import psycopg

from product_images.connection import create_schema_if_missing, dbt_schema
from product_images.migration.dbt_runner import ensure_profiles_dir
from product_images.project import project_dir as find_project_dir


@dataclass
class ShardRun:
    """One shard's process: its index, exit code (0 success, 1 a tenant failed, 2 dbt could not run),
    wall seconds and output file."""

    shard: int
    exit_code: int
    seconds: float
    log_path: Path


@dataclass
class ShardsOutcome:
    """Every shard's process and the run log rows they wrote: tenants by status, images inserted, rejects.

    Attributes:
        jobs: the number of shards (processes).
        shards: each shard's process, by index.
        seconds: wall time from the first start to the last exit.
        tenants: ``{status: count}`` over the run log rows of these runs (``success``, ``skipped``, ``error``).
        images_inserted: rows inserted into the tenants' ``product_images``.
        failed_tenants: ``[(tenant_schema, message)]`` of the tenants that failed.
    """

    jobs: int
    shards: list[ShardRun]
    seconds: float
    tenants: dict[str, int] = field(default_factory=dict)
    images_inserted: int = 0
    failed_tenants: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every shard succeeded, else the highest of the shards' exit codes."""
        return max((run.exit_code for run in self.shards), default=0)

    def summary(self) -> str:
        """One line, e.g. ``2 shard(s) in 12.3 s: 200 tenant(s) success, 1,000,000 images inserted; exit 0``."""
        statuses = ", ".join(f"{count:,} {status}" for status, count in sorted(self.tenants.items())) or "no tenant"
        line = (
            f"{self.jobs} shard(s) in {self.seconds:.1f} s: {statuses} tenant(s), "
            f"{self.images_inserted:,} images inserted; exit {self.exit_code}"
        )
        for tenant, message in self.failed_tenants[:10]:
            line += f"\n  {tenant} FAILED: {message}"
        for run in self.shards:
            if run.exit_code:
                line += f"\n  shard {run.shard} exited {run.exit_code}: see {run.log_path}"
        return line


def run_shards(
    jobs: int,
    conn: psycopg.Connection,
    *,
    dbt_vars: dict[str, Any] | None = None,
    project_dir: Path | None = None,
) -> ShardsOutcome:
    """Run the model in ``jobs`` shards at once, one ``dbt run`` process each, and gather one outcome.

    Args:
        jobs: the number of shards and processes, 1..64 (1: one ``dbt run`` over every tenant).
        conn: a connection to the database (reads the run log after the runs).
        dbt_vars: more dbt vars for every shard (``tenant_shards``/``tenant_shard`` are set here).
        project_dir: the dbt project (default: the checkout).

    Returns:
        A :class:`ShardsOutcome`; each shard's dbt output is in ``target/shards/<i>/dbt.out``.

    Raises:
        ValueError: ``jobs`` is not within 1..64, or ``dbt_vars`` sets ``tenant_shards`` or ``tenant_shard``.
    """
    if not 1 <= jobs <= 64:
        raise ValueError(f"jobs must be within 1..64, got {jobs}")
    extra = dict(dbt_vars or {})
    if {"tenant_shards", "tenant_shard"} & set(extra):
        raise ValueError("dbt_vars: tenant_shards and tenant_shard are set by --jobs, leave them out")
    project = project_dir or find_project_dir()
    profiles = ensure_profiles_dir(project)
    if jobs > 1:
        _create_dbt_schema(conn)
    dbt = Path(sys.executable).parent / "dbt"
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    processes = _start_shards(dbt, project, profiles, jobs, extra)
    runs = _wait_for_shards(processes, started)
    outcome = ShardsOutcome(jobs=jobs, shards=runs, seconds=time.perf_counter() - started)
    _read_run_log(conn, outcome, started_at)
    return outcome


def _create_dbt_schema(conn: psycopg.Connection) -> None:
    """Create dbt's target schema, committed, before the shards start.

    dbt creates it before any model runs; shards started together on a fresh database would race
    on it ("duplicate key value violates unique constraint pg_namespace_nspname_index").
    """
    create_schema_if_missing(conn, dbt_schema())
    if not conn.autocommit:
        conn.commit()


_Started = tuple[int, subprocess.Popen[bytes], TextIO, Path]


def _start_shards(dbt: Path, project: Path, profiles: Path, jobs: int, extra: dict[str, Any]) -> list[_Started]:
    """Start every shard; when one cannot start (``OSError``), stop those already started and re-raise."""
    started: list[_Started] = []
    try:
        for shard in range(jobs):
            started.append(_start_shard(dbt, project, profiles, jobs, shard, extra))
    except BaseException:
        for _, process, output, _ in started:
            process.terminate()
            process.wait()
            output.close()
        raise
    return started


def _wait_for_shards(processes: list[_Started], started: float, poll_seconds: float = 0.05) -> list[ShardRun]:
    """Wait for every shard; each :class:`ShardRun` has the seconds from ``started`` to its own exit."""
    runs: dict[int, ShardRun] = {}
    while len(runs) < len(processes):
        for shard, process, output, log_path in processes:
            if shard not in runs and (code := process.poll()) is not None:
                output.close()
                runs[shard] = ShardRun(shard, code, time.perf_counter() - started, log_path)
        if len(runs) < len(processes):
            time.sleep(poll_seconds)
    return [runs[shard] for shard, *_ in processes]


def _start_shard(dbt: Path, project: Path, profiles: Path, jobs: int, shard: int, extra: dict[str, Any]) -> _Started:
    """Start one shard's ``dbt run``, output in ``target/shards/<shard>/``: (shard, process, open output, log path)."""
    folder = project / "target" / "shards" / str(shard)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "dbt.out"
    shard_vars = {**extra, "tenant_shards": jobs, "tenant_shard": shard}
    # Shard 0 runs what `dbt run --select product_images` runs (the views on the model too);
    # the others only the model, so that no two processes create the same view at once.
    select = "product_images" if shard == 0 else "product_images.product_images"
    args = [
        str(dbt), "run", "--select", select, "--vars", json.dumps(shard_vars),
        "--project-dir", str(project), "--profiles-dir", str(profiles),
        "--target-path", str(folder / "target"), "--log-path", str(folder / "logs"),
    ]  # fmt: skip
    output = log_path.open("w", encoding="utf-8")
    try:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
    except BaseException:
        output.close()
        raise
    return shard, process, output, log_path


def _read_run_log(conn: psycopg.Connection, outcome: ShardsOutcome, since: datetime) -> None:
    """Fill ``outcome`` from the run log rows of the runs that started at or after ``since``."""
    table = psycopg.sql.Identifier(dbt_schema(), "product_images_runs")
    exists = conn.execute("select to_regclass(%s)", (table.as_string(conn),)).fetchone()
    if not exists or exists[0] is None:
        return
    rows = conn.execute(
        psycopg.sql.SQL(
            "select tenant_schema, status, coalesce(images_inserted, 0), coalesce(message, '') from {} "
            "where started_at >= %s order by tenant_schema"
        ).format(table),
        (since,),
    ).fetchall()
    for tenant, status, inserted, message in rows:
        outcome.tenants[status] = outcome.tenants.get(status, 0) + 1
        outcome.images_inserted += int(inserted)
        if status == "error":
            outcome.failed_tenants.append((tenant, message))
