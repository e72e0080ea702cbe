"""Defects found by a review of the schema changes made to the tenants' tables while the app runs (the
expand/contract run-operations of macros/schema_changes/ and the legacy column's run-operations of
macros/operations/), each shown against real PostgreSQL and real dbt in a process of its own, as a user
runs it: odd arguments, an app holding locks, a tenant never migrated, a rollback racing the app.

Each test makes its own tables (names of its own), so they run in any order."""

from __future__ import annotations

import re

import pytest

from helpers.live import dbt_process, kill_hard, wait_for
from product_images.connection import connect

CHANGES = """
{% macro found_index(action='status', schemas=none, dry_run=false, discard_new_data=false) %}
    {{ return(schema_change({'name': 'found_index', 'operations': [
        schema_change_add_column('t_found_index', 'note', 'text'),
        schema_change_create_index('t_found_index', 't_found_index_note_idx', ['note']),
    ]}, action, schemas, dry_run, discard_new_data)) }}
{% endmacro %}


{% macro found_rollback(action='status', schemas=none, dry_run=false, discard_new_data=false) %}
    {{ return(schema_change({'name': 'found_rollback', 'operations': [
        schema_change_add_column('t_found_rollback', 'note', 'text'),
    ]}, action, schemas, dry_run, discard_new_data)) }}
{% endmacro %}


{% macro found_build(action='status', schemas=none, dry_run=false, discard_new_data=false) %}
    {{ return(schema_change({'name': 'found_build', 'operations': [
        schema_change_create_index('t_found_build', 't_found_build_note_idx', ['note']),
    ]}, action, schemas, dry_run, discard_new_data)) }}
{% endmacro %}


{% macro found_unique(action='status', schemas=none, dry_run=false, discard_new_data=false) %}
    {{ return(schema_change({'name': 'found_unique', 'operations': [
        schema_change_create_index('t_found_unique', 't_found_unique_note_idx', ['note'], unique=true),
    ]}, action, schemas, dry_run, discard_new_data)) }}
{% endmacro %}


{% macro found_fk(action='status', schemas=none, dry_run=false, discard_new_data=false) %}
    {{ return(schema_change({'name': 'found_fk', 'operations': [
        schema_change_add_foreign_key('t_found_child', 'parent_id', 't_found_parent'),
    ]}, action, schemas, dry_run, discard_new_data)) }}
{% endmacro %}
"""

FAST_LOCKS = "{lock_timeout: 200ms, lock_retries: 1, lock_retry_wait: 0}"


@pytest.fixture(scope="module")
def project(conn, project_dir, database):
    """The project copy with this file's changes, and the tenant user_1 (never migrated)."""
    (project_dir / "macros" / "found_changes.sql").write_text(CHANGES, encoding="utf-8")
    conn.execute("create schema if not exists user_1")
    conn.execute("create table if not exists user_1.products (id bigint primary key, images jsonb, price integer)")
    conn.execute("insert into user_1.products values (1, '[]', 1) on conflict do nothing")
    return project_dir


def run(project_dir, *args: str) -> tuple[int, str]:
    """dbt <args> in a process of its own: (exit code, output)."""
    process = dbt_process(project_dir, *args)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def has_column(conn, relation: str, column: str) -> bool:
    return conn.execute(
        "select count(*) > 0 from pg_attribute where attrelid = to_regclass(%s) and attname = %s and not attisdropped",
        (relation, column),
    ).fetchone()[0]


@pytest.mark.parametrize("value", ["forever", "0"])
def test_a_bad_index_lock_timeout_is_refused_before_any_schema_changes(conn, project, value):
    # Found: var index_lock_timeout was used unchecked. 'forever' failed the run with PostgreSQL's "invalid
    # input syntax for type interval" after every schema's start had committed; '0' built the indexes
    # under lock_timeout 0, a wait without end for the app's older transactions.
    conn.execute("create table user_1.t_found_index (id bigint primary key)")
    try:
        code, output = run(
            project,
            "run-operation", "found_index", "--args", "{action: start, schemas: [user_1]}",
            "--vars", "{index_lock_timeout: '" + value + "'}",
        )  # fmt: skip
        assert code != 0, output
        assert "var index_lock_timeout must be a positive PostgreSQL duration" in output, output
        assert not has_column(conn, "user_1.t_found_index", "note")  # refused before any schema changed
    finally:
        conn.execute("drop table if exists user_1.t_found_index")
        if conn.execute("select to_regclass('product_images.product_images_schema_changes')").fetchone()[0]:
            conn.execute("delete from product_images.product_images_schema_changes where change_name = 'found_index'")


@pytest.mark.parametrize(
    ("operation", "args", "named"),
    [
        ("found_index", "{action: status, schemas: 5}", "schemas"),
        ("drop_legacy_images_column", "{tenants: 5}", "tenants"),
    ],
)
def test_a_list_argument_of_another_type_is_refused_naming_it(project, operation, args, named):
    # Found: `schemas: 5` (or `tenants: 5`) failed with jinja's "'int' object is not iterable", naming
    # neither the argument nor what it takes.
    code, output = run(project, "run-operation", operation, "--args", args)
    assert code != 0, output
    assert "not iterable" not in output, output
    assert re.search(rf"{named} must be a schema name or a list of them; got 5", output), output


def test_rollback_keeps_a_value_the_new_version_committed_while_it_waited_for_its_locks(conn, project):
    # Found: rollback counted the new column's values before taking its locks, then waited for them; a
    # value the new version committed during that wait was dropped with the column, without a word and
    # without discard_new_data.
    conn.execute("create table user_1.t_found_rollback (id bigint primary key)")
    conn.execute("insert into user_1.t_found_rollback values (1)")
    try:
        code, output = run(project, "run-operation", "found_rollback", "--args", "{action: start, schemas: [user_1]}")
        assert code == 0, output
        with connect(autocommit=False, application_name="new app") as app:
            app.execute("update user_1.t_found_rollback set note = 'written by the new version'")
            rollback = dbt_process(
                project,
                "run-operation", "found_rollback", "--args", "{action: rollback, schemas: [user_1]}",
                "--vars", "{lock_timeout: 20s}",
            )  # fmt: skip
            wait_for(
                lambda: conn.execute(
                    "select count(*) from pg_locks where not granted "
                    "and relation = to_regclass('user_1.t_found_rollback') "
                    "and database = (select oid from pg_database where datname = current_database())"
                ).fetchone()[0],
                "the rollback to wait for its lock",
                timeout=60,
            )
            app.commit()
            output, _ = rollback.communicate(timeout=120)
        assert has_column(conn, "user_1.t_found_rollback", "note"), output
        assert conn.execute("select note from user_1.t_found_rollback").fetchone()[0] == "written by the new version"
        assert rollback.returncode != 0, output
        assert "rollback would drop data written since start: column t_found_rollback.note (1 non-null" in output
    finally:
        conn.execute("drop table if exists user_1.t_found_rollback")


def test_restore_legacy_images_column_skips_a_tenant_never_migrated(conn, project):
    # Found: a tenant with products.images and no product_images (never migrated, or template_tenant)
    # failed with "42P01: relation ... product_images does not exist", so the run-operation exited 1.
    code, output = run(project, "run-operation", "restore_legacy_images_column", "--args", "{tenants: [user_1]}")
    assert code == 0, output
    assert "user_1 skipped: products.images exists" in output, output


def test_a_lock_held_on_the_referenced_table_names_its_backend(conn, project):
    # Found: a new foreign key locks the table it references, but only the changed tables' lock holders
    # were looked up: "the blocking backend had already finished when the wait ended" while it still held it.
    conn.execute("create table user_1.t_found_parent (id bigint primary key)")
    conn.execute("create table user_1.t_found_child (id bigint primary key, parent_id bigint)")
    conn.execute("insert into user_1.t_found_parent values (1)")
    try:
        with connect(autocommit=False, application_name="app holding the parent") as app:
            app.execute("update user_1.t_found_parent set id = id")
            pid = app.info.backend_pid
            code, output = run(
                project,
                "run-operation", "found_fk", "--args", "{action: start, schemas: [user_1]}", "--vars", FAST_LOCKS,
            )  # fmt: skip
            app.rollback()
        assert code != 0, output
        assert f"blocked by pid {pid} holds RowExclusiveLock on user_1.t_found_parent" in output, output
        assert "'app holding the parent'" in output, output
    finally:
        conn.execute("drop table if exists user_1.t_found_child, user_1.t_found_parent")


ARGS = "{action: start, schemas: [user_1]}"

BUILD_LOCK = "hashtextextended('product_images:index_builds:user_1', 0)"
"""The key of user_1's index-build lock (schema_change_index_build_lock_key)."""

RUNNING_LOCK = "hashtextextended('product_images:index_build_running:user_1', 0)"
"""The key of user_1's build-running lock, held while a start's CREATE INDEX CONCURRENTLY run."""


def forget_change(conn, change: str) -> None:
    """Removes a change's state rows (a test's next start begins from scratch)."""
    if conn.execute("select to_regclass('product_images.product_images_schema_changes')").fetchone()[0]:
        conn.execute("delete from product_images.product_images_schema_changes where change_name = %s", (change,))


def dbt_backends(conn, query_part: str) -> int:
    """How many of dbt's backends run (or last ran) a query containing ``query_part``."""
    return conn.execute(
        "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'dbt' "
        "and position(%s in query) > 0",
        (query_part,),
    ).fetchone()[0]


def test_two_starts_at_once_build_each_index_once_and_both_succeed(conn, project):
    # Found: two starts at once both built a schema's missing index concurrently (nothing serialised the
    # builds, outside the schema's transaction): the second stopped its whole run with "relation ...
    # already exists". Now the first takes the schema's index-build lock; the second waits for it, looks
    # again and keeps the index the first built.
    conn.execute("create table user_1.t_found_build (id bigint primary key, note text)")
    report = connect(autocommit=False, application_name="report")  # a snapshot the first run's build waits for
    runs = []
    try:
        report.execute("set transaction isolation level repeatable read")
        report.execute("select 1")
        args = ("run-operation", "found_build", "--args", ARGS)
        runs.append(dbt_process(project, *args, "--vars", "{index_lock_timeout: 60s}"))
        wait_for(lambda: dbt_backends(conn, "$wait$"), "run 1 to wait for the report", timeout=60)
        runs.append(dbt_process(project, *args, "--vars", "{index_lock_timeout: 60s}"))
        wait_for(
            lambda: dbt_backends(conn, f"pg_try_advisory_lock({BUILD_LOCK})"), "run 2 to wait for run 1", timeout=60
        )
        report.commit()
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert conn.execute(
            "select indisvalid from pg_index where indexrelid = to_regclass('user_1.t_found_build_note_idx')"
        ).fetchone() == (True,)
        assert "user_1: building index t_found_build_note_idx concurrently" in outputs[0], outputs[0]
        assert "user_1: started: built index t_found_build_note_idx" in outputs[0], outputs[0]
        assert "building index" not in outputs[1], outputs[1]
        waited = "user_1: waiting (index_lock_timeout 60s) for another start building this schema's indexes: pid"
        assert waited in outputs[1], outputs[1]
        assert "already there: index t_found_build_note_idx (built meanwhile by another start)" in outputs[1]
    finally:
        report.close()
        for run in runs:
            if run.poll() is None:
                kill_hard(run)
        conn.execute("drop table if exists user_1.t_found_build")
        forget_change(conn, "found_build")


def test_a_start_waiting_past_index_lock_timeout_for_another_builds_nothing_and_names_it(conn, project):
    # The other side of the lock: a start that still finds the schema's index builds taken after
    # index_lock_timeout fails that schema (55P03) naming the holder, builds nothing, and the rerun builds.
    conn.execute("create table user_1.t_found_build (id bigint primary key, note text)")
    args = ("run-operation", "found_build", "--args", ARGS)
    try:
        with connect(autocommit=True, application_name="another start") as other:
            other.execute(f"select pg_advisory_lock({BUILD_LOCK})")
            code, output = run(project, *args, "--vars", "{index_lock_timeout: 1s}")
        assert code != 0, output
        gave_up = "no index built: after index_lock_timeout 1s another start is still building this schema's indexes"
        assert f"{gave_up}: pid" in output, output
        assert "'another start'" in output, output
        assert conn.execute("select to_regclass('user_1.t_found_build_note_idx')").fetchone() == (None,)
        code, output = run(project, *args)
        assert code == 0, output
        assert "user_1: started: built index t_found_build_note_idx" in output, output
    finally:
        conn.execute("drop table if exists user_1.t_found_build")
        forget_change(conn, "found_build")


def test_a_start_does_not_queue_behind_another_starts_concurrent_build(conn, project):
    # The schema's transaction takes ACCESS EXCLUSIVE on the change's tables; queued behind another start's
    # CREATE INDEX CONCURRENTLY (which waits for that transaction's snapshot), PostgreSQL could end the
    # deadlock by cancelling the build. Such an attempt fails at once instead, naming the build.
    conn.execute("create table user_1.t_found_build (id bigint primary key, note text)")
    try:
        with connect(autocommit=True, application_name="another start") as other:
            other.execute(f"select pg_advisory_lock({BUILD_LOCK}), pg_advisory_lock({RUNNING_LOCK})")
            with other.transaction():
                other.execute("lock table user_1.t_found_build in share update exclusive mode")  # as its build
                code, output = run(project, "run-operation", "found_build", "--args", ARGS, "--vars", FAST_LOCKS)
        assert code != 0, output
        assert "another start is building the indexes of user_1 concurrently: pid" in output, output
        assert "'another start'" in output, output
    finally:
        conn.execute("drop table if exists user_1.t_found_build")
        forget_change(conn, "found_build")


def test_a_build_that_fails_lets_go_of_the_schema_locks_and_the_rerun_rebuilds_it(conn, project, dbt):
    # A build that fails stops the run-operation (a run-operation cannot catch it) and leaves an invalid
    # index: the schema's advisory locks go with dbt's connection, even when dbt runs in-process and the
    # process goes on, so the rerun (or another start) takes them, drops the invalid index and builds it.
    conn.execute("create table user_1.t_found_unique (id bigint primary key, note text)")
    conn.execute("insert into user_1.t_found_unique values (1, 'twice'), (2, 'twice')")
    try:
        result = dbt("run-operation", "found_unique", "--args", ARGS)  # in this process, which goes on
        assert not result.success
        assert conn.execute(
            "select indisvalid from pg_index where indexrelid = to_regclass('user_1.t_found_unique_note_idx')"
        ).fetchone() == (False,)
        taken = conn.execute(f"select pg_try_advisory_lock({BUILD_LOCK}), pg_try_advisory_lock({RUNNING_LOCK})")
        assert taken.fetchone() == (True, True)
        conn.execute(f"select pg_advisory_unlock({BUILD_LOCK}), pg_advisory_unlock({RUNNING_LOCK})")
        conn.execute("delete from user_1.t_found_unique where id = 2")
        code, output = run(project, "run-operation", "found_unique", "--args", ARGS)
        assert code == 0, output
        assert "user_1: index t_found_unique_note_idx is invalid (a build that failed): dropping it" in output, output
        assert "user_1: started: rebuilt index t_found_unique_note_idx" in output, output
    finally:
        conn.execute("drop table if exists user_1.t_found_unique")
        forget_change(conn, "found_unique")
