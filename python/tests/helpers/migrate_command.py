"""What the tests of `product-images migrate --jobs N` as a real command share: its arguments and
environment, and the processes it starts (read from /proc: Linux only, as the command's
parent-death signal is)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

from helpers.live import wait_for

BIN = Path(sys.executable).parent


def migrate_env(project_dir: Path) -> dict[str, str]:
    """This process's environment with dbt pointed at the test project's profiles."""
    return {**os.environ, "DBT_PROFILES_DIR": str(project_dir / "target" / "profiles")}


def migrate_args(project_dir: Path, jobs: int) -> list[str]:
    """The command line of `product-images migrate --jobs <jobs>` on the test project."""
    return [str(BIN / "product-images"), "migrate", "--jobs", str(jobs), "--project-dir", str(project_dir)]


def start_migrate(
    project_dir: Path, env: dict[str, str], jobs: int, *, new_session: bool = False
) -> subprocess.Popen[str]:
    """The command started, its stdout and stderr piped (text)."""
    return subprocess.Popen(
        migrate_args(project_dir, jobs), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=new_session,
    )  # fmt: skip


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def cmdline(pid: int) -> str:
    """The process's command line, arguments joined by spaces ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children, grandchildren...)."""
    found, todo = [], [pid]
    while todo:
        try:
            text = Path(f"/proc/{todo.pop()}/task").iterdir()
            kids = [int(p) for task in text for p in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
        found += kids
        todo += kids
    return [p for p in found if alive(p)]


def shard_pids(process: subprocess.Popen[str], jobs: int) -> dict[int, int]:
    """{shard: pid} of the command's `dbt run` shards, once all ``jobs`` have started (60 s at most)."""

    def found() -> dict[int, int] | None:
        pids = {}
        for pid in descendants(process.pid):
            match = re.search(r'"tenant_shard": (\d+)', cmdline(pid))
            if match and " run " in cmdline(pid):
                pids[int(match.group(1))] = pid
        return pids if len(pids) == jobs else None

    return wait_for(found, f"{jobs} dbt shard(s) started", timeout=60)


def shard_of(conn: psycopg.Connection, jobs: int, tenants: list[str]) -> dict[str, int]:
    """{tenant: shard} as macros/tenants/tenant_shards.sql computes it."""
    rows = conn.execute(
        "select t, mod(abs(hashtextextended(t, 0)), %s)::int from unnest(%s::text[]) as t", (jobs, tenants)
    ).fetchall()
    return dict(rows)
