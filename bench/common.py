"""What every benchmark shares: the machine description, result files, the
PostgreSQL server and its databases, a private copy of the dbt project, and
running a child process while measuring its wall time and peak memory."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from product_images.connection import connect
from product_images.embedded import start_embedded_postgres
from product_images.project import project_dir

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PROJECT_PARTS = ("dbt_project.yml", "profiles.example.yml", "models", "macros", "tests", "seeds", "gx")
"""What a private copy of the dbt project needs (as the tests copy it, plus the profile example
`product-images migrate` reads)."""
VENV_BIN = Path(sys.executable).parent
"""The virtualenv's bin folder (``dbt`` and ``product-images`` live there)."""

_SETTINGS = (
    "max_locks_per_transaction",
    "max_connections",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "synchronous_commit",
    "fsync",
)
_PACKAGES = (
    "dbt-core",
    "dbt-postgres",
    "psycopg",
    "pgserver",
    "great-expectations",
    "moto",
    "boto3",
    "pillow",
    "imagesize",
)


def machine_info() -> dict[str, Any]:
    """The machine and software a result was measured on.

    Returns:
        ``cores`` (logical CPUs), ``memory_bytes`` (physical RAM), ``load_average_1m``
        (at call time: other work on the machine skews timings), ``date`` (UTC, ISO 8601),
        ``platform``, ``python``, ``versions`` (package → version) and, when a server is
        reachable through the libpq variables, ``postgresql`` (its ``server_version``).
    """
    import psutil

    versions: dict[str, str] = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }
    if os.environ.get("PGHOST"):
        try:
            with connect(dbname="postgres") as conn:
                row = conn.execute("show server_version").fetchone()
                info["postgresql"] = row[0] if row else None
                info["postgresql_settings"] = dict(
                    conn.execute(
                        "select name, setting || coalesce(' ' || unit, '') from pg_settings where name = any(%s)",
                        (list(_SETTINGS),),
                    ).fetchall()
                )
        except psycopg.Error:
            info["postgresql"] = None
    return info


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (``machine`` added) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "machine": machine_info(), **payload}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def ensure_postgres(*, keep: bool = False) -> str:
    """Point this process's libpq variables at a server: ``$PGHOST``'s, or a fresh embedded one.

    The embedded server's data lives in a new folder under the system temporary
    directory (its parents must be traversable by the server's own user) and is
    deleted when this process exits, unless ``keep`` (then the server keeps running:
    ``PGHOST`` names its folder; stop it with ``pg_ctl -D <folder> stop``).

    Returns:
        ``"external"`` or ``"embedded"``.
    """
    if os.environ.get("PGHOST"):
        return "external"
    data_dir = Path(tempfile.mkdtemp(prefix="product-images-bench-pg-"))
    if keep:
        os.environ.update(start_embedded_postgres(data_dir, keep_running=True))
    else:
        os.environ.update(start_embedded_postgres(data_dir, delete_at_exit=True))
    os.environ.pop("PGPASSWORD", None)
    return "embedded"


def create_database(name: str, *, template: str | None = None) -> None:
    """Create database ``name`` (dropping an older one of that name), empty or as a copy of ``template``.

    A copy uses ``strategy = file_copy`` (PostgreSQL >= 15: copies the files after a
    checkpoint instead of WAL-logging every page). ``template`` must have no other
    connection open.
    """
    drop_database(name)
    with connect(autocommit=True, dbname="postgres") as admin:
        if template is None:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            return
        version = admin.info.server_version
        strategy = sql.SQL(" strategy = file_copy") if version >= 150000 else sql.SQL("")
        admin.execute(
            sql.SQL("create database {} template {}{}").format(sql.Identifier(name), sql.Identifier(template), strategy)
        )


def drop_database(name: str) -> None:
    """Drop database ``name`` if it exists, closing its connections."""
    with connect(autocommit=True, dbname="postgres") as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def project_copy(destination: Path) -> Path:
    """A private copy of the dbt project in ``destination`` (its own target/, logs/, gx/uncommitted/).

    Returns:
        The copy's root; its profile is in ``<root>/target/profiles/profiles.yml``
        (``profiles.example.yml``: it reads the libpq variables).
    """
    destination.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = project_dir() / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=shutil.ignore_patterns("uncommitted", "target", "logs"))
        else:
            shutil.copyfile(source, destination / part)
    (destination / "gx" / "uncommitted").mkdir(exist_ok=True)
    source_config = project_dir() / "gx" / "uncommitted" / "config_variables.yml"
    if source_config.is_file():
        shutil.copyfile(source_config, destination / "gx" / "uncommitted" / "config_variables.yml")
    profiles = destination / "target" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_dir() / "profiles.example.yml", profiles / "profiles.yml")
    return destination


@dataclass(frozen=True)
class ProcessRun:
    """One child process, measured.

    Attributes:
        command: its argument vector.
        seconds: wall time from start to exit.
        peak_rss_bytes: its peak resident set size (``wait4``'s ``ru_maxrss``, which
            Linux reports in KiB, times 1024), descendants it waited for included.
        returncode: its exit status.
        log_path: where its stdout and stderr went.
    """

    command: list[str]
    seconds: float
    peak_rss_bytes: int
    returncode: int
    log_path: Path


def run_measured(
    command: list[str], *, log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> ProcessRun:
    """Run ``command`` to completion, output to ``log_path``, measuring time and peak memory.

    ``os.wait4`` gives the resource usage of this one child (``RUSAGE_CHILDREN`` would be
    the maximum over every child this process ever waited for).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    return ProcessRun(command, seconds, int(usage.ru_maxrss) * 1024, child.returncode, log_path)


def dbt_command(project: Path, *args: str) -> list[str]:
    """The argument vector of ``dbt <args>`` on the project copy ``project``, with the venv's dbt."""
    return [
        str(VENV_BIN / "dbt"),
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project / "target" / "profiles"),
    ]


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment (libpq variables included) for a child, with ``overrides``."""
    env = dict(os.environ)
    env.setdefault("DO_NOT_TRACK", "1")
    env.update(overrides)
    return env


def rate(count: float, seconds: float) -> float | None:
    """``count / seconds`` rounded to 1 decimal, None when ``seconds`` is 0."""
    return round(count / seconds, 1) if seconds > 0 else None


def log(message: str) -> None:
    """One progress line on stderr, with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def checkpoint_met(check: dict[str, Any], first_load_seconds: float) -> bool:
    """Whether the checkpoint target holds: measured over every tenant (not extrapolated), passing, and its
    first run and the next (``check["again"]``, when measured) each within ``first_load_seconds``."""
    again = check.get("again")
    slowest = max(check["seconds"], again["seconds"]) if again else check["seconds"]
    return (
        not check["extrapolated"]
        and check["success"]
        and (again is None or again["returncode"] == 0)
        and slowest <= first_load_seconds
    )
