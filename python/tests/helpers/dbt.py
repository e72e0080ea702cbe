"""dbt-side helpers of the tests: a private copy of the project, the review list, the run log, table rows."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from product_images.migration.dbt_runner import DbtResult
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
