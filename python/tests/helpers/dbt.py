"""dbt-side helpers of the tests: a private copy of the project, the review list, the run log, table rows."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from product_images.connection import connect
from product_images.migration.dbt_runner import DbtResult, run_dbt
from product_images.project import project_dir

PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "tests", "seeds", ".sqlfluff", ".sqlfluffignore", "gx")
"""What a private copy of the dbt project holds."""

PROJECT_DIR = project_dir()
"""The checkout the tests run from."""


def copy_project(destination: Path) -> Path:
    """Copy the dbt project (PROJECT_PARTS) to ``destination``, with a profile that reads the libpq variables."""
    for part in PROJECT_PARTS:
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=shutil.ignore_patterns("uncommitted", "target", "logs"))
        else:
            shutil.copyfile(source, destination / part)
    profiles = destination / "target" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_DIR / "profiles.example.yml", profiles / "profiles.yml")
    return destination


SAVED_PARSE = "partial_parse.msgpack"
"""The file in which dbt keeps its parse of the project between invocations (partial parsing)."""


def reset_project(destination: Path) -> Path:
    """Make ``destination`` a fresh copy of the project (as :func:`copy_project`), keeping only dbt's saved parses.

    What an earlier user of the folder changed (seeds, tests, models, logs, target/'s artifacts, the shards'
    folders) is gone; ``target/partial_parse.msgpack`` and that of each ``target/vars-*/`` (see
    :func:`dbt_invoker`) stay, so dbt re-parses only the files that differ (all of them when the profile or the
    vars differ, as dbt decides).
    """
    destination.mkdir(parents=True, exist_ok=True)
    for child in destination.iterdir():
        if child.name != "target":
            _remove(child)
    target = destination / "target"
    for child in target.iterdir() if target.is_dir() else []:
        if child.name.startswith("vars-") and child.is_dir():
            for inner in child.iterdir():
                if inner.name != SAVED_PARSE:
                    _remove(inner)
        elif child.name != SAVED_PARSE:
            _remove(child)
    return copy_project(destination)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def fresh_database(label: str, *, name: str | None = None) -> Iterator[str]:
    """A fresh, empty database named after ``label`` (or exactly ``name``, dropped first if it is left over);
    PGDATABASE points at it until the block ends, then it goes."""
    with connect(autocommit=True, dbname="postgres") as admin:
        if name:
            _drop_database(admin, name)
        else:
            name = f"test_{label}_{uuid.uuid4().hex[:6]}".lower()
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    previous = os.environ.get("PGDATABASE")
    os.environ["PGDATABASE"] = name
    try:
        yield name
    finally:
        if previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = previous
        with connect(autocommit=True, dbname="postgres") as admin:
            _drop_database(admin, name)


def _drop_database(admin: psycopg.Connection, name: str) -> None:
    try:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        # A role that is no superuser may not terminate a backend of no role, as an autovacuum
        # worker is on PostgreSQL 15: a plain DROP DATABASE stops autovacuum workers itself
        # (and waits up to 5 s for the others to leave).
        admin.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))


def dbt_invoker(project_dir: Path) -> Callable[..., DbtResult]:
    """``dbt("run", "--select", "product_images")``: real dbt, in-process, on the project copy ``project_dir``.

    A call with ``--vars`` (and no ``--target-path``) gets ``target/vars-<hash of the vars>/`` as its target path:
    dbt parses the whole project again whenever the vars differ from those of the parse it saved, so each set of
    vars keeps its own saved parse (tests alternate between a few sets; a full parse costs about 2.5 s).
    A call without ``--write-json`` gets ``--no-write-json``: no test reads ``manifest.json`` or
    ``run_results.json`` (dbtRunner hands the results back in-process), and writing them twice a command costs
    about 0.15 s of its 0.5 s on a test's few tenants (measured 2026-12-07); the saved parse and the compiled SQL
    are written either way.
    """

    def invoke(*args: str) -> DbtResult:
        full = list(args)
        if "--write-json" not in full and "--no-write-json" not in full:
            full.append("--no-write-json")
        if "--vars" in full and "--target-path" not in full:
            vars_text = full[full.index("--vars") + 1]
            folder = f"vars-{hashlib.sha256(vars_text.encode()).hexdigest()[:12]}"
            full += ["--target-path", str(project_dir / "target" / folder)]
        # In a thread of its own: dbt builds its adapter's behaviour flags at every command, and each calls
        # inspect.stack() (dbt_common.behavior_flags._default_source), whose cost grows with the caller's stack
        # (every frame's module looked up), 40-odd calls a command: at a test's depth about 2 ms a call in one
        # process, 38 ms under pytest-xdist (execnet's '<string>' frames are never cached by inspect.getmodule,
        # so each call scans every loaded module); a new thread's stack is a few frames deep (measured 2026-12-07).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbt") as pool:
            return pool.submit(
                run_dbt, full, project_dir=project_dir, profiles_dir=project_dir / "target" / "profiles"
            ).result()

    return invoke


def write_overrides(project_dir: Path, rows: list[tuple[Any, ...]]) -> None:
    """Write the project copy's label_overrides seed (tenant_schema, product_id, url, is_label, note)."""
    lines = ["tenant_schema,product_id,url,is_label,note"]
    lines += [",".join(str(value).lower() if isinstance(value, bool) else str(value) for value in row) for row in rows]
    (project_dir / "seeds" / "label_overrides.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_log(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """The latest run's rows of product_images_runs, by tenant schema."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(
            """
            select * from product_images.product_images_runs
            where invocation_id = (
                select invocation_id from product_images.product_images_runs order by started_at desc limit 1
            )
            """
        ).fetchall()
    return {row["tenant_schema"]: row for row in rows}


def table_rows(conn: psycopg.Connection, tenant: str, columns: str = "*") -> list[tuple[Any, ...]]:
    """Every row of <tenant>.product_images, ordered by product_id, position, id."""
    return conn.execute(
        sql.SQL("select " + columns + " from {} order by product_id, position, id").format(
            sql.Identifier(tenant, "product_images")
        )
    ).fetchall()


CallableDbt = Callable[..., DbtResult]
