"""``product-images migrate --jobs N``: the model's tenants in N shards, one ``dbt run`` process each.

Each process runs ``dbt run --select product_images --vars '{tenant_shards: N, tenant_shard: i}'``
(shard 0 with the views built on the model, the others the model alone)
(``macros/tenants/tenant_shards.sql``: a tenant's shard is a hash of its schema name,
so the shards never overlap and together cover every tenant), with its own target
and log folders (``target/shards/<run id>/<i>/``) so that neither the processes nor two
commands overwrite each other's files. The same vars on several machines split the
tenants the same way; the tenant's advisory lock keeps two processes off one tenant
whatever the vars. The union views are built by each shard at its end, one shard at a
time: the last one sees every tenant.

One command at a time per database and dbt schema: the command holds a session advisory
lock while its shards run (:class:`MigrateBusyError` names the holder). The summary counts
the run log rows of its own shards only: each shard's dbt ``invocation_id``, read from its
own log file. SIGINT and SIGTERM are forwarded to the shards as SIGINT (dbt's graceful
stop: it cancels its queries and exits), the shards are waited for (bounded, then killed),
and the outcome says which signal stopped the command. A command killed outright (SIGKILL: no
handler runs) has its shards sent SIGINT by the kernel on Linux (prctl(2) PR_SET_PDEATHSIG, see
``child_processes.py``); on other systems they run on to their end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import psycopg
from psycopg import sql

from product_images.connection import create_schema_if_missing, dbt_schema
from product_images.migration.child_processes import parent_death_signal
from product_images.migration.dbt_runner import ensure_profiles_dir
from product_images.migration.tenants import DEFAULT_TENANT_REGEX
from product_images.project import project_dir as find_project_dir

#: How many tenant names a summary line lists before "… N more".
NAMES_SHOWN = 10
#: Seconds the shards have to stop after the command is stopped before they are killed.
STOP_GRACE_SECONDS = 30.0
#: Command folders (``target/shards/<run id>/``: each shard's dbt output, logs and artifacts, megabytes at
#: hundreds of tenants) kept in a checkout: a command removes the oldest beyond this number before it starts.
KEPT_COMMAND_FOLDERS = 20
#: A command folder's name: its UTC start time, then 6 hex digits (names sort by time).
_COMMAND_FOLDER = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


class MigrateBusyError(RuntimeError):
    """Another ``product-images migrate`` holds the command's lock on this database and dbt schema."""


@dataclass
class ShardRun:
    """One shard's process.

    Attributes:
        shard: its index, 0..jobs-1.
        exit_code: the process's return code: 0 success, 1 a tenant failed, 2 dbt could not run,
            negative: killed by that signal (``-9``: SIGKILL).
        seconds: wall seconds from the command's start to this process's exit.
        log_path: its output, ``target/shards/<run id>/<shard>/dbt.out``.
        invocation_id: its dbt invocation id (the run log's ``invocation_id``), None when dbt never started.
        not_run: the shard's tenants without a run log row from this process (filled when it did not succeed).

    A shard the command never started (stopped first) has exit code 0, no invocation and every tenant not run.
    """

    shard: int
    exit_code: int
    seconds: float
    log_path: Path
    invocation_id: str | None = None
    not_run: list[str] = field(default_factory=list)

    def describe_exit(self) -> str:
        """``exited 2``, ``interrupted (SIGINT)`` or ``killed by SIGKILL`` (a negative return code is the signal
        that ended it)."""
        if self.exit_code == -signal.SIGINT:
            return "interrupted (SIGINT)"
        if self.exit_code < 0:
            try:
                return f"killed by {signal.Signals(-self.exit_code).name}"
            except ValueError:
                return f"killed by signal {-self.exit_code}"
        return f"exited {self.exit_code}"


@dataclass
class ShardsOutcome:
    """Every shard's process and the run log rows they wrote: tenants by status, images inserted, rejects.

    Attributes:
        jobs: the number of shards (processes).
        shards: each shard's process, by index.
        seconds: wall time from the first start to the last exit.
        tenants: ``{status: count}`` over the run log rows of these shards (``success``, ``skipped``, ``error``).
        images_inserted: rows inserted into the tenants' ``product_images``.
        failed_tenants: ``[(tenant_schema, message)]`` of the tenants that failed.
        output_dir: this command's folder, ``target/shards/<run id>``, one sub-folder per shard.
        stopped_by: the signal (``signal.SIGINT``, ``signal.SIGTERM``) that stopped the command, or None.
    """

    jobs: int
    shards: list[ShardRun]
    seconds: float
    tenants: dict[str, int] = field(default_factory=dict)
    images_inserted: int = 0
    failed_tenants: list[tuple[str, str]] = field(default_factory=list)
    output_dir: Path | None = None
    stopped_by: int | None = None

    @property
    def exit_code(self) -> int:
        """128 + the signal when the command was stopped (130 SIGINT, 143 SIGTERM); else 2 when a shard
        ended otherwise than with 0 or 1 (killed by a signal, or dbt could not run); else the highest of
        the shards' (0 every shard succeeded, 1 a tenant failed)."""
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        codes = [run.exit_code for run in self.shards]
        if any(code not in (0, 1) for code in codes):
            return 2
        return max(codes, default=0)

    def summary(self) -> str:
        """The first line, e.g. ``2 shard(s) in 12.3 s: 200 success tenant(s), 1,000,000 images inserted; exit 0``,
        then a line for each failed tenant (the first 10), each shard that did not succeed, the tenants
        of a shard that have no run log row of this command, the signal that stopped it, and the output folder."""
        statuses = ", ".join(f"{count:,} {status}" for status, count in sorted(self.tenants.items()))
        line = (
            f"{self.jobs} shard(s) in {self.seconds:.1f} s: "
            f"{statuses + ' tenant(s)' if statuses else 'no tenant run'}, "
            f"{self.images_inserted:,} images inserted; exit {self.exit_code}"
        )
        if self.stopped_by is not None:
            line += (
                f"\n  stopped by {signal.Signals(self.stopped_by).name}: the shards were interrupted; the tenants "
                "counted above are committed, run the command again for the others"
            )
        for tenant, message in self.failed_tenants[:NAMES_SHOWN]:
            line += f"\n  {tenant} FAILED: {message}"
        for run in self.shards:
            if run.exit_code:
                line += f"\n  shard {run.shard} {run.describe_exit()}: see {run.log_path}"
            if run.not_run:
                line += f"\n  {len(run.not_run):,} tenant(s) of shard {run.shard} not run: {_names(run.not_run)}"
        if self.output_dir is not None:
            line += f"\n  shard output: {self.output_dir}/<i>/dbt.out"
        return line


def _names(names: list[str]) -> str:
    """``a, b, c`` or, over :data:`NAMES_SHOWN` names, the first ones and ``… N more``."""
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f", … {len(names) - NAMES_SHOWN:,} more" if len(names) > NAMES_SHOWN else "")


def run_shards(
    jobs: int,
    conn: psycopg.Connection,
    *,
    dbt_vars: dict[str, Any] | None = None,
    project_dir: Path | None = None,
    stop_grace_seconds: float = STOP_GRACE_SECONDS,
) -> ShardsOutcome:
    """Run the model in ``jobs`` shards at once, one ``dbt run`` process each, and gather one outcome.

    Holds the command's session advisory lock on ``conn`` while the shards run. Called from the main
    thread, it handles SIGINT and SIGTERM meanwhile: the shards get SIGINT, have ``stop_grace_seconds``
    to exit (a second signal: at once) and are then killed (SIGKILL); the outcome's ``stopped_by`` is set.

    Args:
        jobs: the number of shards and processes, 1..64 (1: one ``dbt run`` over every tenant).
        conn: a connection to the database (the command's lock; reads the run log after the runs).
        dbt_vars: more dbt vars for every shard (``tenant_shards``/``tenant_shard`` are set here).
        project_dir: the dbt project (default: the checkout).
        stop_grace_seconds: seconds the shards have to stop once the command is stopped.

    Returns:
        A :class:`ShardsOutcome`; each shard's dbt output is in ``target/shards/<run id>/<i>/dbt.out``.

    Raises:
        ValueError: ``jobs`` is not within 1..64, or ``dbt_vars`` sets ``tenant_shards`` or ``tenant_shard``.
        MigrateBusyError: another ``product-images migrate`` runs on this database and dbt schema.
        OSError: a shard could not be started (those started are stopped first).
    """
    if not 1 <= jobs <= 64:
        raise ValueError(f"jobs must be within 1..64, got {jobs}")
    extra = dict(dbt_vars or {})
    if {"tenant_shards", "tenant_shard"} & set(extra):
        raise ValueError("dbt_vars: tenant_shards and tenant_shard are set by --jobs, leave them out")
    project = project_dir or find_project_dir()
    profiles = ensure_profiles_dir(project)
    _take_command_lock(conn)
    try:
        if jobs > 1:
            _create_dbt_schema(conn)
        output_dir = _new_output_dir(project / "target" / "shards")
        dbt = Path(sys.executable).parent / "dbt"
        started = time.perf_counter()
        with _Supervisor(stop_grace_seconds) as supervisor:
            runs = supervisor.run(lambda shard: _start_shard(dbt, project, profiles, output_dir, jobs, shard, extra),
                                  jobs, started)  # fmt: skip
        outcome = ShardsOutcome(
            jobs=jobs, shards=runs, seconds=time.perf_counter() - started, output_dir=output_dir,
            stopped_by=supervisor.stopped_by,
        )  # fmt: skip
        for run in runs:
            run.invocation_id = _invocation_id(run.log_path.parent)
        _read_run_log(conn, outcome)
        _find_tenants_not_run(conn, outcome, {**_project_vars(project), **extra})
    finally:
        _release_command_lock(conn)
    return outcome


def _new_output_dir(root: Path) -> Path:
    """The folder of this command's shards, ``<root>/<UTC time>-<6 hex digits>`` (not created here); the oldest
    command folders in ``root`` are removed first, so that with this one :data:`KEPT_COMMAND_FOLDERS` remain.

    Only folders named as this function names them are counted or removed (their names sort by time); a
    folder that cannot be removed is left. Raises nothing for a ``root`` that does not exist yet."""
    if root.is_dir():
        previous = sorted(path for path in root.iterdir() if path.is_dir() and _COMMAND_FOLDER.fullmatch(path.name))
        for old in previous[: max(0, len(previous) - (KEPT_COMMAND_FOLDERS - 1))]:
            shutil.rmtree(old, ignore_errors=True)
    return root / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _create_dbt_schema(conn: psycopg.Connection) -> None:
    """Create dbt's target schema, committed, before the shards start.

    dbt creates it before any model runs; shards started together on a fresh database would race
    on it ("duplicate key value violates unique constraint pg_namespace_nspname_index").
    """
    create_schema_if_missing(conn, dbt_schema())
    if not conn.autocommit:
        conn.commit()


def _lock_key() -> tuple[sql.Composable, tuple[str, ...]]:
    """The command lock's bigint key as SQL, and its parameter: one lock per dbt schema."""
    return sql.SQL("hashtextextended('product_images:migrate_command:' || %s, 0)"), (dbt_schema(),)


def _take_command_lock(conn: psycopg.Connection) -> None:
    """Take the command's session advisory lock, or raise :class:`MigrateBusyError` naming its holder."""
    key, params = _lock_key()
    row = conn.execute(sql.SQL("select pg_catalog.pg_try_advisory_lock({})").format(key), params).fetchone()
    if not conn.autocommit:
        conn.commit()
    if row and row[0]:
        return
    holder = conn.execute(
        sql.SQL(
            "select locks.pid, activity.usename, activity.application_name, "
            "to_char(activity.backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', "
            "host(activity.client_addr) "
            "from pg_catalog.pg_locks as locks left join pg_catalog.pg_stat_activity as activity using (pid) "
            "where locks.locktype = 'advisory' and locks.granted and locks.objsubid = 1 "
            "and locks.database = (select oid from pg_catalog.pg_database where datname = current_database()) "
            "and locks.classid = (({key} >> 32) & 4294967295)::oid and locks.objid = ({key} & 4294967295)::oid"
        ).format(key=key),
        params * 2,
    ).fetchone()
    if not conn.autocommit:
        conn.commit()
    who = "a command that has just finished"
    if holder:
        pid, role, application, since, client = holder
        who = f"backend pid {pid}" + "".join(
            f", {label} {value}"
            for label, value in (("role", role), ("application", repr(application)), ("since", since),
                                 ("client", client))
            if value
        )  # fmt: skip
    raise MigrateBusyError(
        f"another product-images migrate is running on this database ({who}) for dbt schema {dbt_schema()}; "
        "nothing was started: wait for it to finish, or stop it (pg_terminate_backend does not stop its dbt shards)"
    )


def _release_command_lock(conn: psycopg.Connection) -> None:
    """Release the command's session advisory lock (a closed connection has released it already)."""
    if conn.closed:
        return
    key, params = _lock_key()
    conn.execute(sql.SQL("select pg_catalog.pg_advisory_unlock({})").format(key), params)
    if not conn.autocommit:
        conn.commit()


_Started = tuple[int, subprocess.Popen[bytes], TextIO, Path]


class _Supervisor:
    """Starts the shards, waits for them, and while it does turns SIGINT and SIGTERM into a bounded stop.

    Used as a context manager: the signal handlers are installed on entry (main thread only) and the
    previous ones restored on exit.
    """

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.stopped_by: int | None = None
        self.processes: list[_Started] = []
        self._interrupted: set[int] = set()
        self._kill_at: float | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Supervisor:
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        for _, process, output, _ in self.processes:  # only left running when starting or waiting raised
            if process.poll() is None:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            output.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """First signal: SIGINT to every shard, a deadline to exit; a second one: kill them now."""
        if self.stopped_by is not None:
            self._kill_at = time.monotonic()
            return
        self.stopped_by = signum
        self._kill_at = time.monotonic() + self.grace_seconds
        self._interrupt_all()

    def _interrupt_all(self) -> None:
        for shard, process, _, _ in self.processes:
            if shard not in self._interrupted:
                self._interrupted.add(shard)
                _signal_group(process, signal.SIGINT)

    def run(self, start: Callable[[int], _Started], jobs: int, started: float) -> list[ShardRun]:
        """Start shards 0..jobs-1 with ``start(shard)`` unless stopped meanwhile, then wait for each.

        Returns:
            One :class:`ShardRun` per shard, by index, each with the seconds from ``started``
            (``time.perf_counter()``) to its own exit.
        """
        for shard in range(jobs):
            if self.stopped_by is not None:
                break
            self.processes.append(start(shard))
        runs: dict[int, ShardRun] = {}
        while len(runs) < len(self.processes):
            self._enforce_stop()
            self._reap(runs, started)
            if len(runs) < len(self.processes):
                time.sleep(0.05)
        # Shards not started because the command was stopped first: no process, nothing to report but their tenants.
        never_started = [ShardRun(shard, 0, 0.0, Path(os.devnull)) for shard in range(len(self.processes), jobs)]
        return [runs[shard] for shard, *_ in self.processes] + never_started

    def _enforce_stop(self) -> None:
        """Once stopped: SIGINT to a shard started after the signal came; SIGKILL to all past the deadline."""
        if self.stopped_by is not None:
            self._interrupt_all()
        if self._kill_at is not None and time.monotonic() >= self._kill_at:
            for _, process, _, _ in self.processes:
                if process.poll() is None:
                    _signal_group(process, signal.SIGKILL)

    def _reap(self, runs: dict[int, ShardRun], started: float) -> None:
        """Add to ``runs`` every shard that has exited since the last look, its output file closed."""
        for shard, process, output, log_path in self.processes:
            if shard not in runs and (code := process.poll()) is not None:
                output.close()
                runs[shard] = ShardRun(shard, code, time.perf_counter() - started, log_path)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to a shard's process group (dbt and anything it started); ignore one already gone."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _start_shard(
    dbt: Path, project: Path, profiles: Path, output_dir: Path, jobs: int, shard: int, extra: dict[str, Any]
) -> _Started:
    """Start one shard's ``dbt run`` in a process group of its own (a terminal's Ctrl-C reaches the command
    only, which forwards it once), output in ``<output_dir>/<shard>/``: (shard, process, open output, log path).

    On Linux the shard gets SIGINT, as when the command is stopped, the moment the thread that started it dies,
    even by SIGKILL (:func:`~product_images.migration.child_processes.parent_death_signal`, prctl(2)
    PR_SET_PDEATHSIG): that thread is the one that waits for it in :func:`run_shards`. Elsewhere a shard of a
    killed command runs on to its end. Raises OSError, or subprocess.SubprocessError when the setting failed.
    """
    folder = output_dir / str(shard)
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
        # The log file's header names the invocation id (_invocation_id), whatever DBT_LOG_* say.
        "--log-format-file", "debug", "--log-level-file", "debug",
    ]  # fmt: skip
    output = log_path.open("w", encoding="utf-8")
    try:
        process = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, process_group=0,
            preexec_fn=parent_death_signal(signal.SIGINT),  # the command starts no thread of its own
        )  # fmt: skip
    except BaseException:
        output.close()
        raise
    return shard, process, output, log_path


_LOG_HEADER = re.compile(r"^=+ [0-9:.]+ \| ([0-9a-f-]{36}) =+$", re.MULTILINE)


def _invocation_id(folder: Path) -> str | None:
    """A shard's dbt invocation id: from the header of ``<folder>/logs/dbt.log`` (written when dbt starts),
    else from ``<folder>/target/run_results.json`` (written when it ends); None when neither has it."""
    try:
        with (folder / "logs" / "dbt.log").open(encoding="utf-8", errors="replace") as log:
            if match := _LOG_HEADER.search(log.read(65536)):
                return match.group(1)
    except FileNotFoundError:
        pass
    try:
        results = json.loads((folder / "target" / "run_results.json").read_text(encoding="utf-8"))
        found = results.get("metadata", {}).get("invocation_id")
        return found if isinstance(found, str) else None
    except (FileNotFoundError, ValueError):
        return None


def _runs_table(conn: psycopg.Connection) -> sql.Identifier | None:
    """The run log table, or None when no run has created it yet."""
    table = sql.Identifier(dbt_schema(), "product_images_runs")
    exists = conn.execute("select to_regclass(%s)", (table.as_string(conn),)).fetchone()
    return table if exists and exists[0] is not None else None


def _read_run_log(conn: psycopg.Connection, outcome: ShardsOutcome) -> None:
    """Fill ``outcome`` from the run log rows of its shards' dbt invocations (none: nothing to count)."""
    table = _runs_table(conn)
    invocations = [run.invocation_id for run in outcome.shards if run.invocation_id]
    if table is None or not invocations:
        return
    rows = conn.execute(
        sql.SQL(
            "select tenant_schema, status, coalesce(images_inserted, 0), coalesce(message, '') from {} "
            "where invocation_id = any(%s) order by tenant_schema"
        ).format(table),
        (invocations,),
    ).fetchall()
    for tenant, status, inserted, message in rows:
        outcome.tenants[status] = outcome.tenants.get(status, 0) + 1
        outcome.images_inserted += int(inserted)
        if status == "error":
            outcome.failed_tenants.append((tenant, message))


def _project_vars(project: Path) -> dict[str, Any]:
    """``<project>/dbt_project.yml``'s ``vars:`` (empty when it has none or cannot be read)."""
    import yaml

    try:
        document = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    found = document.get("vars") if isinstance(document, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def _find_tenants_not_run(conn: psycopg.Connection, outcome: ShardsOutcome, dbt_vars: dict[str, Any]) -> None:
    """For every shard that did not succeed, list its tenants with no run log row from its own invocation.

    The tenants are found as ``macros/tenants/discover_tenants.sql`` finds them (var ``tenant_schema_regex``,
    var ``extra_tenant_schemas``) and split as ``macros/tenants/tenant_shards.sql`` splits them: a tenant
    made while the shard ran may be listed although the shard never saw it.
    """
    regex = dbt_vars.get("tenant_schema_regex")
    extra = dbt_vars.get("extra_tenant_schemas", [])
    extra = [extra] if isinstance(extra, str) else list(extra or [])
    table = _runs_table(conn)
    for run in outcome.shards:
        if run.exit_code == 0 and outcome.stopped_by is None:
            continue
        ran: sql.Composable = sql.SQL("false")
        if table is not None and run.invocation_id:
            ran = sql.SQL(
                "exists (select 1 from {} as runs where runs.invocation_id = %(invocation)s "
                "and runs.tenant_schema = namespaces.nspname)"
            ).format(table)
        rows = conn.execute(
            sql.SQL(
                "select nspname from pg_catalog.pg_namespace as namespaces "
                "where (nspname ~ %(regex)s or nspname = any(%(extra)s::text[])) "
                "and mod(abs(hashtextextended(nspname, 0)), %(shards)s) = %(shard)s and not {} "
                'order by nspname collate "C"'
            ).format(ran),
            {
                "regex": regex if isinstance(regex, str) and regex else DEFAULT_TENANT_REGEX,
                "extra": [str(name) for name in extra],
                "shards": outcome.jobs,
                "shard": run.shard,
                "invocation": run.invocation_id,
            },
        ).fetchall()
        run.not_run = [row[0] for row in rows]
