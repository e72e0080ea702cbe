"""What the expand/contract base must not do to a back end's marketplace_tasks (macros/schema_changes/): drop on
the way down a column or an index that was there before start, with its data; stop the whole run when one old
snapshot holds up an index build; accept a column type that brings its own default and so rewrites the table
under ACCESS EXCLUSIVE.

Each test starts from the same untouched schemas (the ``tasks`` fixture builds them afresh and forgets the
change's state and log): the tests run in any order (pytest-randomly)."""

from __future__ import annotations

import pytest
from psycopg import sql

from helpers.schema_changes import error_of, shape, states
from product_images.connection import connect
from product_images.publish.backend import create_marketplace_tasks_table

CHANGE = "marketplace_tasks_position"
POSITION_IDX = "marketplace_tasks_job_id_position_idx"
STATUS_IDX = "marketplace_tasks_job_id_status_idx"
SCHEMAS = ("public", "user_1", "user_2")


@pytest.fixture
def tasks(conn):
    """marketplace_tasks in public, user_1 and user_2 as the back end has them; the change never run."""
    conn.execute("drop table if exists public.marketplace_tasks")
    for schema in ("user_1", "user_2"):
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    for schema in SCHEMAS:
        create_marketplace_tasks_table(conn, schema)
    for table in ("product_images_schema_changes", "product_images_operations"):
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("product_images", table)))
    return SCHEMAS


def test_down_keeps_a_column_and_an_index_the_back_end_had_before_start(conn, dbt, tasks, capfd):
    # the back end added position and its index by itself, and uses them
    conn.execute("alter table user_1.marketplace_tasks add column position integer")
    conn.execute(f"create index {POSITION_IDX} on user_1.marketplace_tasks (job_id, position)")
    conn.execute(
        "insert into user_1.marketplace_tasks (job_id, task_type, description, position) "
        "values ('00000000-0000-0000-0000-000000000001', 'upload_image', 'Upload image 1/1', 7)"
    )
    capfd.readouterr()
    result = dbt("run-operation", CHANGE, "--args", "{schemas: [user_1, user_2]}")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert (
        f"{CHANGE} (start) user_1: started: built index {STATUS_IDX}; "
        f"already there: column marketplace_tasks.position, index {POSITION_IDX}"
    ) in out

    result = dbt("run-operation", CHANGE, "--args", "{direction: down, schemas: [user_1, user_2]}")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert (
        f"{CHANGE} (rollback) user_1: rolled back: dropped index {STATUS_IDX}; "
        f"left alone (there before start): index {POSITION_IDX}, column marketplace_tasks.position"
    ) in out
    assert shape(conn, "user_1") == ("integer", (POSITION_IDX,))
    assert conn.execute("select position from user_1.marketplace_tasks").fetchall() == [(7,)]
    assert shape(conn, "user_2") == (None, ())  # what start made there is gone

    # up and down again: still only what this change made
    assert dbt("run-operation", CHANGE, "--args", "{schemas: [user_1]}").success
    assert shape(conn, "user_1") == ("integer", (POSITION_IDX, STATUS_IDX))
    assert dbt("run-operation", CHANGE, "--args", "{direction: down, schemas: [user_1]}").success
    assert shape(conn, "user_1") == ("integer", (POSITION_IDX,))
    assert conn.execute("select position from user_1.marketplace_tasks").fetchall() == [(7,)]


def test_an_old_snapshot_fails_the_schemas_whose_builds_it_holds_up_and_the_others_go_on(conn, dbt, tasks, capfd):
    conn.execute("create table if not exists public.unrelated (id int)")
    capfd.readouterr()
    with connect(application_name="report query") as holder:
        holder.execute("set transaction isolation level repeatable read")
        holder.execute("select count(*) from public.unrelated")  # a snapshot, on no table of the change
        pid = holder.info.backend_pid
        result = dbt(
            "run-operation", CHANGE, "--args", "{schemas: [user_1, user_2]}", "--vars", "{index_lock_timeout: 2s}"
        )
        waited = conn.execute(
            "select pid from pg_stat_activity where pid = %s and state = 'idle in transaction'", (pid,)
        ).fetchone()
    out = capfd.readouterr().out
    assert waited == (pid,)  # the snapshot was there all along
    assert not result.success
    blocker = f"pid {pid} holds a snapshot (idle in transaction, transaction open "
    assert (
        f"{CHANGE} (start) user_1: failed: 55P03: added column marketplace_tasks.position; no index built: "
        f"after index_lock_timeout 2s a concurrent build would still wait for: {blocker}"
    ) in out
    # the next schema does not wait for it again: it fails at once, naming it
    assert (
        f"{CHANGE} (start) user_2: failed: 55P03: added column marketplace_tasks.position; no index built: "
        f"a concurrent build would wait for transactions an earlier schema waited index_lock_timeout 2s for: {blocker}"
    ) in out
    assert "application 'report query'): select count(*) from public.unrelated; rerun start once they end" in out
    assert f"{CHANGE} (start): 2 schema(s): 2 failed" in out
    assert f"{CHANGE} (start) failed or was refused in 2 of 2 schema(s)" in out
    assert shape(conn, "user_1") == ("integer", ())
    assert states(conn, CHANGE) == {"user_1": "failed", "user_2": "failed"}
    assert conn.execute("select count(*) from pg_index where not indisvalid").fetchone() == (0,)

    # the snapshot gone, the rerun builds the indexes
    result = dbt("run-operation", CHANGE, "--args", "{schemas: [user_1, user_2]}")
    assert result.success, error_of(result)
    for schema in ("user_1", "user_2"):
        assert shape(conn, schema) == ("integer", (POSITION_IDX, STATUS_IDX))
    assert states(conn, CHANGE) == {"user_1": "completed", "user_2": "completed"}


def test_one_schema_waiting_for_an_old_snapshot_does_not_stop_the_others(conn, dbt, tasks, capfd):
    # a schema with nothing to build goes on while the one before it failed on the snapshot
    conn.execute("create table if not exists public.unrelated (id int)")
    conn.execute(f"create index {POSITION_IDX} on user_2.marketplace_tasks (job_id, id)")
    conn.execute(f"create index {STATUS_IDX} on user_2.marketplace_tasks (job_id, status)")
    capfd.readouterr()
    with connect(application_name="report query") as holder:
        holder.execute("set transaction isolation level repeatable read")
        holder.execute("select count(*) from public.unrelated")
        result = dbt(
            "run-operation", CHANGE, "--args", "{schemas: [user_1, user_2]}", "--vars", "{index_lock_timeout: 1s}"
        )
    out = capfd.readouterr().out
    assert not result.success
    assert f"{CHANGE} (start) user_1: failed: 55P03: added column marketplace_tasks.position; no index built: " in out
    assert (
        f"{CHANGE} (start) user_2: started: added column marketplace_tasks.position; "
        f"already there: index {POSITION_IDX}, index {STATUS_IDX}"
    ) in out
    assert f"{CHANGE} (start): 2 schema(s): 1 failed, 1 started" in out
    assert states(conn, CHANGE) == {"user_1": "failed", "user_2": "started"}


@pytest.mark.parametrize(
    ("column_type", "word"),
    [
        ("bigserial", "bigserial"),
        ("bigint generated always as identity", "generated"),
        ("bigint generated always as (id * 2) stored", "generated"),
        ("timestamptz default clock_timestamp()", "default"),
    ],
)
def test_a_type_that_brings_its_own_default_is_refused_before_anything_runs(
    conn, dbt, tasks, project_dir, capfd, column_type, word
):
    (project_dir / "macros" / "tasks_seq.sql").write_text(
        "{% macro tasks_seq(column_type) %}{{ return(schema_change_in_one_go({'name': 'tasks_seq', 'operations': ["
        "schema_change_add_column('marketplace_tasks', 'seq', column_type)]}, 'up', ['user_1'], false)) }}"
        "{% endmacro %}",
        encoding="utf-8",
    )
    conn.execute(
        "insert into user_1.marketplace_tasks (job_id, task_type, description) "
        "select gen_random_uuid(), 'upload_image', 'x' from generate_series(1, 100)"
    )
    before = conn.execute("select pg_relation_filenode('user_1.marketplace_tasks')").fetchone()
    capfd.readouterr()
    try:
        result = dbt("run-operation", "tasks_seq", "--args", "{column_type: '" + column_type + "'}")
    finally:
        (project_dir / "macros" / "tasks_seq.sql").unlink()
    assert not result.success
    assert (
        f"marketplace_tasks.seq: type {column_type} brings a default of its own ({word}): on an existing table "
        "it rewrites every row under ACCESS EXCLUSIVE; add the column plain, fill it in batches, then set the default"
    ) in capfd.readouterr().out
    assert conn.execute("select pg_relation_filenode('user_1.marketplace_tasks')").fetchone() == before
    assert conn.execute(
        "select count(*) from pg_attribute where attrelid = 'user_1.marketplace_tasks'::regclass and attname = 'seq'"
    ).fetchone() == (0,)
