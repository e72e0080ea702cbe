"""What the tests of the tenant-wide schema changes (macros/schema_changes/) read back: dbt's error text,
the state table's rows, and marketplace_tasks' shape."""

from __future__ import annotations

from typing import Any

import psycopg


def error_of(result: Any) -> str:
    """What dbt says of a failed command, for assertion messages (a run-operation's error is in its output)."""
    return " ".join(str(r.message) for r in result.node_results()) + str(result.exception or "")


def states(conn: psycopg.Connection, change: str) -> dict[str, str]:
    """{schema: state} of ``change`` in the state table product_images.product_images_schema_changes."""
    return dict(
        conn.execute(
            "select schema_name, state from product_images.product_images_schema_changes where change_name = %s",
            (change,),
        ).fetchall()
    )


def shape(conn: psycopg.Connection, schema: str) -> tuple[str | None, tuple[str, ...]]:
    """(type of <schema>.marketplace_tasks.position or None, its indexes but the back end's own two, by name)."""
    column = conn.execute(
        "select atttypid::regtype::text from pg_attribute where attrelid = to_regclass(%s) "
        "and attname = 'position' and not attisdropped",
        (f'"{schema}".marketplace_tasks',),
    ).fetchone()
    indexes = conn.execute(
        "select indexname from pg_indexes where schemaname = %s and tablename = 'marketplace_tasks' "
        "and indexname not in ('marketplace_tasks_pkey', 'marketplace_tasks_job_id_idx') order by indexname",
        (schema,),
    ).fetchall()
    return (column[0] if column else None, tuple(name for (name,) in indexes))
