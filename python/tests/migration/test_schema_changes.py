"""The tenant-wide changes of marketplace_tasks (macros/schema_changes/marketplace_tasks.sql), additions
run in one go on the expand/contract base: `dbt run-operation marketplace_tasks_position` up (start then
complete), rerun, down (rollback) and up again in public and every tenant; a schema without the table
skipped and named; one schema failing alone (a held lock, a column of another type); a dry run.

The change runs in public and every tenant of the database at once, so each test starts from the same
untouched schemas (the ``schemas`` fixture builds them afresh and forgets the change's state): the tests
run in any order (pytest-randomly)."""

from __future__ import annotations

import re

import pytest
from psycopg import sql

from helpers.schema_changes import error_of, shape, states
from product_images.connection import connect
from product_images.publish.backend import create_marketplace_tasks_table

TENANTS = ("template_tenant", "user_1", "user_2", "user_3")
SCHEMAS = ("public", *TENANTS)
CHANGE = "marketplace_tasks_position"
POSITION_IDX = "marketplace_tasks_job_id_position_idx"
STATUS_IDX = "marketplace_tasks_job_id_status_idx"
ADDED = f"added column marketplace_tasks.position, built index {POSITION_IDX}, built index {STATUS_IDX}"
DROPPED = f"dropped index {STATUS_IDX}, dropped index {POSITION_IDX}, dropped column marketplace_tasks.position"
FAST_LOCKS = "{lock_timeout: 200ms, lock_retries: 1, lock_retry_wait: 0}"


def operation(dbt, name, args=None, *extra):
    return dbt("run-operation", name, *(["--args", args] if args else []), *extra)


def index_oids(conn):
    return conn.execute(
        "select indexrelid::regclass::text, indexrelid from pg_index "
        "where indrelid::regclass::text like '%%marketplace_tasks' order by 1"
    ).fetchall()


def log(conn, operation_name):
    """The latest invocation of an operation in the operations log: {schema: (status, message, rows)}, in run order."""
    rows = conn.execute(
        """
        select tenant_schema, status, message, rows_affected from product_images.product_images_operations
        where operation = %s and invocation_id = (
            select invocation_id from product_images.product_images_operations where operation = %s
            order by finished_at desc limit 1)
        order by started_at
        """,
        (operation_name, operation_name),
    ).fetchall()
    return {schema: (status, message, affected) for schema, status, message, affected in rows}


@pytest.fixture
def schemas(conn):
    """Public and the tenants as the back end has them, the change never run: built afresh for each test."""
    conn.execute("drop table if exists public.marketplace_tasks")
    for schema in (*TENANTS, "user_4", "user_archive"):
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    if conn.execute("select to_regclass('product_images.product_images_schema_changes')").fetchone()[0]:
        conn.execute("delete from product_images.product_images_schema_changes where change_name = %s", (CHANGE,))
    for schema in SCHEMAS:
        create_marketplace_tasks_table(conn, schema)
    # the back end already has a (job_id, status) index here, under a name of its own
    conn.execute("create index tasks_by_job_and_status on template_tenant.marketplace_tasks (job_id, status)")
    conn.execute("create schema user_4")  # a tenant without the table: skipped and named
    create_marketplace_tasks_table(conn, "user_archive")  # not a tenant: never touched
    conn.execute(
        "insert into user_1.marketplace_tasks (job_id, task_type, description) "
        "values ('00000000-0000-0000-0000-000000000001', 'upload_image', 'Upload image 1/1')"
    )
    return SCHEMAS


def test_up_rerun_down_and_up_again_in_public_and_every_tenant(conn, dbt, schemas, capfd):
    capfd.readouterr()
    result = operation(dbt, "marketplace_tasks_position")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    for schema in ("public", "user_1", "user_2", "user_3"):
        assert shape(conn, schema) == ("integer", (POSITION_IDX, STATUS_IDX))
        assert f"marketplace_tasks_position (start) {schema}: started: {ADDED}" in out
        assert f"marketplace_tasks_position (complete) {schema}: completed" in out
    # an equivalent index under another name counts as there: no duplicate
    assert shape(conn, "template_tenant") == ("integer", (POSITION_IDX, "tasks_by_job_and_status"))
    assert (
        "marketplace_tasks_position (start) template_tenant: started: added column marketplace_tasks.position, "
        f"built index {POSITION_IDX}; already there: index {STATUS_IDX} (as template_tenant.tasks_by_job_and_status)"
    ) in out
    assert "marketplace_tasks_position (start) user_4: skipped: no table marketplace_tasks in user_4" in out
    assert "marketplace_tasks_position (start): 6 schema(s): 5 started, 1 skipped" in out
    assert "marketplace_tasks_position (complete): 6 schema(s): 5 completed, 1 skipped" in out
    assert shape(conn, "user_archive") == (None, ())
    entries = log(conn, "marketplace_tasks_position:start")
    assert list(entries) == ["public", "template_tenant", "user_1", "user_2", "user_3", "user_4"]
    assert entries["user_1"] == ("done", ADDED, 3)
    assert entries["user_4"] == ("skipped", "no table marketplace_tasks in user_4", None)
    assert states(conn, "marketplace_tasks_position") == {schema: "completed" for schema in SCHEMAS}

    before = index_oids(conn)
    result = operation(dbt, "marketplace_tasks_position")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert index_oids(conn) == before  # nothing rebuilt
    assert "marketplace_tasks_position (start) user_2: skipped: already completed" in out
    assert "marketplace_tasks_position (start): 6 schema(s): 6 skipped" in out

    result = operation(dbt, "marketplace_tasks_position", "{direction: down}")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    entries = log(conn, "marketplace_tasks_position:rollback")
    assert list(entries) == ["user_4", "user_3", "user_2", "user_1", "template_tenant", "public"]  # tenants first
    assert entries["user_1"] == ("done", DROPPED, 3)
    assert f"marketplace_tasks_position (rollback) public: rolled back: {DROPPED}" in out
    for schema in ("public", "user_1", "user_2", "user_3"):
        assert shape(conn, schema) == (None, ())
    assert shape(conn, "template_tenant") == (None, ("tasks_by_job_and_status",))  # not ours: kept
    assert conn.execute("select description from user_1.marketplace_tasks").fetchall() == [("Upload image 1/1",)]
    assert states(conn, "marketplace_tasks_position") == {schema: "rolled_back" for schema in SCHEMAS}

    result = operation(dbt, "marketplace_tasks_position", "{direction: up}")
    assert result.success, error_of(result)
    assert all(shape(conn, schema)[0] == "integer" for schema in SCHEMAS)
    assert log(conn, "marketplace_tasks_position:start")["user_3"] == ("done", ADDED, 3)


def test_a_schema_whose_table_is_locked_fails_alone_and_the_rerun_finishes(conn, dbt, schemas, capfd):
    result = operation(dbt, "marketplace_tasks_position")  # the change is up everywhere
    assert result.success, error_of(result)
    assert states(conn, CHANGE) == {schema: "completed" for schema in SCHEMAS}
    capfd.readouterr()
    with connect(application_name="long app transaction") as holder:
        holder.execute("select count(*) from user_2.marketplace_tasks")  # AccessShareLock until rollback
        result = operation(dbt, "marketplace_tasks_position", "{direction: down}", "--vars", FAST_LOCKS)
        pid = holder.info.backend_pid
    out = capfd.readouterr().out
    assert not result.success
    message = out.split("Encountered an error while running operation")[1]
    assert "marketplace_tasks_position (rollback) failed or was refused in 1 of 6 schema(s)" in message
    assert re.search(
        r"user_2 \(55P03: gave up after 2 attempts \(lock_timeout 200ms, lock_retries 1\) waiting for a lock on "
        r'"user_2"."marketplace_tasks"',
        message,
    )
    assert f"pid {pid} holds AccessShareLock on user_2.marketplace_tasks (idle in transaction" in message
    assert "application 'long app transaction'" in message
    assert "marketplace_tasks_position (rollback) user_2: failed: 55P03: gave up after 2 attempts" in out
    assert shape(conn, "user_2") == ("integer", (POSITION_IDX, STATUS_IDX))  # left as it was
    for schema in ("public", "user_1", "user_3"):
        assert shape(conn, schema) == (None, ())  # the others are done
    assert states(conn, "marketplace_tasks_position")["user_2"] == "failed"

    result = operation(dbt, "marketplace_tasks_position", "{direction: down}")
    assert result.success, error_of(result)
    entries = log(conn, "marketplace_tasks_position:rollback")
    assert entries["user_2"][2] == 3
    assert entries["user_1"] == (
        "done",
        f"already gone: index {STATUS_IDX}, index {POSITION_IDX}, column marketplace_tasks.position",
        0,
    )
    assert states(conn, "marketplace_tasks_position")["user_2"] == "rolled_back"


def test_dry_run_changes_nothing_and_a_column_of_another_type_fails_its_schema(conn, dbt, schemas, capfd):
    capfd.readouterr()
    result = operation(dbt, "marketplace_tasks_position", "{dry_run: true}")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert (
        "marketplace_tasks_position (start) user_1: would run:\n"
        '    alter table "user_1"."marketplace_tasks" add column "position" integer;\n'
        f'    create index concurrently "{POSITION_IDX}" on "user_1"."marketplace_tasks" ("job_id", "position");\n'
    ) in out
    assert log(conn, "marketplace_tasks_position:start")["public"][0] == "would_do"
    assert all(shape(conn, schema)[0] is None for schema in SCHEMAS)

    conn.execute("alter table user_3.marketplace_tasks add column position text")
    try:
        result = operation(dbt, "marketplace_tasks_position")
        assert not result.success
        assert (
            "failed or was refused in 1 of 6 schema(s); each was left as it was, the others are done: user_3 (P0001: "
            "user_3.marketplace_tasks.position exists with type text, not integer"
        ) in capfd.readouterr().out
        assert shape(conn, "user_3") == ("text", ())
        assert shape(conn, "user_1") == ("integer", (POSITION_IDX, STATUS_IDX))
    finally:
        conn.execute("alter table user_3.marketplace_tasks drop column position")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("{direction: sideways}", "marketplace_tasks_position: direction must be one of up, down; got sideways"),
        ("{dry_run: 'no'}", "marketplace_tasks_position: dry_run must be true or false; got 'no' (a string)"),
        (
            "{schemas: [user_9]}",
            "schemas: user_9 is neither public nor a tenant schema (var tenant_schema_regex, "
            "extra_tenant_schemas); allowed: public, template_tenant, user_1, user_2, user_3, user_4",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_the_allowed_values(dbt, schemas, args, expected, capfd):
    capfd.readouterr()
    result = operation(dbt, "marketplace_tasks_position", args)
    assert not result.success
    assert expected in capfd.readouterr().out


def test_a_change_with_renames_cannot_run_in_one_go(dbt, schemas, project_dir, capfd):
    macro = project_dir / "macros" / "widgets_caption.sql"
    macro.write_text(
        "{% macro widgets_caption() %}{{ return(schema_change_in_one_go({'name': 'widgets_caption', 'operations': ["
        "schema_change_rename_column('widgets', 'label', 'caption')]}, 'up', none, false)) }}{% endmacro %}",
        encoding="utf-8",
    )
    try:
        capfd.readouterr()
        assert not operation(dbt, "widgets_caption").success
        assert (
            "widgets_caption: only a change made of additions runs in one go; use start, complete and rollback"
            in capfd.readouterr().out
        )
    finally:
        macro.unlink()  # the module's project copy as it was
