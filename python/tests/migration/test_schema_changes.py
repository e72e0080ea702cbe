"""The tenant-wide schema changes (macros/schema_changes/): `dbt run-operation marketplace_tasks_position`
up, rerun, down and up again in public and every tenant; a schema without the table skipped and named;
one schema failing alone (a held lock, a column of another type); a second, tiny change on the same base."""

from __future__ import annotations

import re

import pytest

from product_images.publish.backend import create_marketplace_tasks_table

TENANTS = ("template_tenant", "user_1", "user_2", "user_3")
SCHEMAS = ("public", *TENANTS)
POSITION_IDX = "marketplace_tasks_job_id_position_idx"
STATUS_IDX = "marketplace_tasks_job_id_status_idx"
ADDED = f"added column position, index {POSITION_IDX}, index {STATUS_IDX}"
THERE = f"already there: column position, index {POSITION_IDX}, index {STATUS_IDX}"
FAST_LOCKS = "{lock_timeout: 200ms, lock_retries: 1, lock_retry_wait: 0}"


def operation(dbt, name, args=None, *extra):
    return dbt("run-operation", name, *(["--args", args] if args else []), *extra)


def error_of(result) -> str:
    """What dbt says of a failed command, for assertion messages (a run-operation's error is in its output)."""
    return " ".join(str(r.message) for r in result.node_results()) + str(result.exception or "")


def shape(conn, schema):
    """(type of <schema>.marketplace_tasks.position or None, names of the table's indexes but the pkey)."""
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


@pytest.fixture(scope="module")
def schemas(conn):
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
        assert f"marketplace_tasks_position (up) {schema}: {ADDED}" in out
    # an equivalent index under another name counts as there: no duplicate
    assert shape(conn, "template_tenant") == ("integer", (POSITION_IDX, "tasks_by_job_and_status"))
    assert (
        f"marketplace_tasks_position (up) template_tenant: added column position, index {POSITION_IDX}; "
        f"already there: index {STATUS_IDX} (as template_tenant.tasks_by_job_and_status)"
    ) in out
    assert "marketplace_tasks_position (up) user_4: skipped: no table marketplace_tasks in user_4" in out
    assert "marketplace_tasks_position (up): 6 schema(s): 5 added, 1 skipped" in out
    assert shape(conn, "user_archive") == (None, ())
    entries = log(conn, "marketplace_tasks_position:up")
    assert list(entries) == ["public", "template_tenant", "user_1", "user_2", "user_3", "user_4"]
    assert entries["user_1"] == ("done", ADDED, 3)
    assert entries["user_4"] == ("skipped", "no table marketplace_tasks in user_4", None)

    before = index_oids(conn)
    result = operation(dbt, "marketplace_tasks_position")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert index_oids(conn) == before  # nothing rebuilt
    assert f"marketplace_tasks_position (up) user_2: {THERE}" in out
    assert "marketplace_tasks_position (up): 6 schema(s): 5 already there, 1 skipped" in out
    assert {schema: entry[2] for schema, entry in log(conn, "marketplace_tasks_position:up").items()} == {
        "public": 0,
        "template_tenant": 0,
        "user_1": 0,
        "user_2": 0,
        "user_3": 0,
        "user_4": None,
    }

    result = operation(dbt, "marketplace_tasks_position", "{direction: down}")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    entries = log(conn, "marketplace_tasks_position:down")
    assert list(entries) == ["user_4", "user_3", "user_2", "user_1", "template_tenant", "public"]  # tenants first
    assert entries["user_1"] == ("done", f"dropped index {STATUS_IDX}, index {POSITION_IDX}, column position", 3)
    assert (
        f"marketplace_tasks_position (down) public: dropped index {STATUS_IDX}, index {POSITION_IDX}, column position"
        in out
    )
    for schema in ("public", "user_1", "user_2", "user_3"):
        assert shape(conn, schema) == (None, ())
    assert shape(conn, "template_tenant") == (None, ("tasks_by_job_and_status",))  # not ours: kept
    assert conn.execute("select description from user_1.marketplace_tasks").fetchall() == [("Upload image 1/1",)]

    result = operation(dbt, "marketplace_tasks_position", "{direction: up}")
    assert result.success, error_of(result)
    assert all(shape(conn, schema)[0] == "integer" for schema in SCHEMAS)
    assert log(conn, "marketplace_tasks_position:up")["user_3"] == ("done", ADDED, 3)


def test_a_schema_whose_table_is_locked_fails_alone_and_the_rerun_finishes(conn, dbt, schemas, capfd, postgres_env):
    from product_images.connection import connect

    capfd.readouterr()
    with connect(application_name="long app transaction") as holder:
        holder.execute("select count(*) from user_2.marketplace_tasks")  # AccessShareLock until rollback
        result = operation(dbt, "marketplace_tasks_position", "{direction: down}", "--vars", FAST_LOCKS)
        pid = holder.info.backend_pid
    out = capfd.readouterr().out
    assert not result.success
    message = out.split("Encountered an error while running operation")[1]
    assert "marketplace_tasks_position (down) failed in 1 of 6 schema(s)" in message
    assert re.search(
        r"user_2 \(55P03: gave up after 2 attempts \(lock_timeout 200ms, lock_retries 1\) waiting for a lock on "
        r'"user_2"."marketplace_tasks"',
        message,
    )
    assert f"pid {pid} holds AccessShareLock on user_2.marketplace_tasks (idle in transaction" in message
    assert "application 'long app transaction'" in message
    assert "marketplace_tasks_position (down) user_2: failed: 55P03: gave up after 2 attempts" in out
    assert shape(conn, "user_2") == ("integer", (POSITION_IDX, STATUS_IDX))  # left as it was
    for schema in ("public", "user_1", "user_3"):
        assert shape(conn, schema) == (None, ())  # the others are done

    result = operation(dbt, "marketplace_tasks_position", "{direction: down}")
    assert result.success, error_of(result)
    entries = log(conn, "marketplace_tasks_position:down")
    assert entries["user_2"][2] == 3
    assert entries["user_1"] == ("done", f"already gone: index {STATUS_IDX}, index {POSITION_IDX}, column position", 0)


def test_dry_run_changes_nothing_and_a_column_of_another_type_fails_its_schema(conn, dbt, schemas, capfd):
    capfd.readouterr()
    result = operation(dbt, "marketplace_tasks_position", "{dry_run: true}")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert f"marketplace_tasks_position (up) user_1: would add column position, index {POSITION_IDX}" in out
    assert log(conn, "marketplace_tasks_position:up")["public"][0] == "would_do"
    assert all(shape(conn, schema)[0] is None for schema in SCHEMAS)

    conn.execute("alter table user_3.marketplace_tasks add column position text")
    try:
        result = operation(dbt, "marketplace_tasks_position")
        assert not result.success
        assert (
            "failed in 1 of 6 schema(s); each was left as it was, the others are done: user_3 (P0001: "
            "user_3.position exists with type text, not integer"
        ) in capfd.readouterr().out
        assert shape(conn, "user_3") == ("text", ())
        assert shape(conn, "user_1") == ("integer", (POSITION_IDX, STATUS_IDX))
    finally:
        conn.execute("alter table user_3.marketplace_tasks drop column position")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("{direction: sideways}", "marketplace_tasks_position: direction must be one of up, down; got sideways"),
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


WIDGETS_CHANGE = """
{% macro widgets_caption(direction='up', schemas=none) %}
    {{ return(apply_schema_change({
        'name': 'widgets_caption',
        'table': 'widgets',
        'objects': [
            schema_change_rename_column('label', 'caption'),
            schema_change_view('widgets_v1', 'select id, caption as label from {schema}.widgets'),
            schema_change_column('archived_at', 'timestamptz'),
            schema_change_index('widgets_archived_at_idx', ['archived_at']),
        ],
    }, direction, schemas)) }}
{% endmacro %}
"""


def test_a_second_change_is_a_few_lines_on_the_same_base(conn, dbt, schemas, project_dir, capfd):
    (project_dir / "macros" / "widgets_caption.sql").write_text(WIDGETS_CHANGE, encoding="utf-8")
    for schema in ("public", "user_1"):
        conn.execute(f"create table {schema}.widgets (id int primary key, label text)")
        conn.execute(f"insert into {schema}.widgets values (1, 'blue')")
    capfd.readouterr()
    assert operation(dbt, "widgets_caption").success
    out = capfd.readouterr().out
    assert (
        "widgets_caption (up) user_1: added column label renamed caption, view widgets_v1, column archived_at, "
        "index widgets_archived_at_idx"
    ) in out
    assert "widgets_caption (up) user_2: skipped: no table widgets in user_2" in out
    assert "widgets_caption (up): 6 schema(s): 2 added, 4 skipped" in out
    for schema in ("public", "user_1"):
        assert conn.execute(f"select id, caption, archived_at from {schema}.widgets").fetchall() == [(1, "blue", None)]
        assert conn.execute(f"select id, label from {schema}.widgets_v1").fetchall() == [(1, "blue")]  # the old shape
    assert operation(dbt, "widgets_caption").success
    assert "widgets_caption (up): 6 schema(s): 2 already there, 4 skipped" in capfd.readouterr().out

    assert operation(dbt, "widgets_caption", "{direction: down}").success
    for schema in ("public", "user_1"):
        assert conn.execute(f"select * from {schema}.widgets").fetchall() == [(1, "blue")]
        assert [
            d
            for (d,) in conn.execute(
                f"select column_name from information_schema.columns where table_schema = '{schema}' "
                "and table_name = 'widgets' order by ordinal_position"
            )
        ] == ["id", "label"]
        assert conn.execute(f"select to_regclass('{schema}.widgets_v1')").fetchone() == (None,)
