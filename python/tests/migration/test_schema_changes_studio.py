"""The worked example studio_collections (macros/schema_changes/) where the README's set-up bites: the app's role
owns the tenant and its tables, the migration runs as a role of its own, and the old version must keep reading
and writing through the previous version's views; a rollback that would drop what the new version wrote is
refused, naming it, unless told to discard it; a dry run reports the validations instead of running them while
it holds the tables.

Each test builds user_1 and user_2 afresh (the ``studio`` fixture): the tests run in any order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from helpers.schema_changes import error_of
from product_images.connection import connect
from product_images.demo.studio import app
from product_images.demo.studio.schema import create_studio_schema

CHANGE = "studio_collections"
TENANTS = ("user_1", "user_2")
STUDIO_TABLES = ("client", "product", "studio_session", "message", "flow", "generated_image")


def change(dbt, action, args=""):
    return dbt("run-operation", CHANGE, "--args", "{action: " + action + (", " + args if args else "") + "}")


def state(conn, schema):
    row = conn.execute(
        "select state from product_images.product_images_schema_changes where change_name = %s and schema_name = %s",
        (CHANGE, schema),
    ).fetchone()
    return row[0] if row else None


@pytest.fixture
def studio(conn):
    """The studio app's tables and demo rows in user_1 and user_2, fresh for each test."""
    for schema in TENANTS:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(f"{schema}__before_{CHANGE}")))
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        create_studio_schema(conn, schema, clients=3)
    for table in ("product_images_schema_changes", "product_images_operations"):
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("product_images", table)))
    return TENANTS


@pytest.fixture
def owner_and_migrator(conn, database, studio) -> Iterator[tuple[str, str]]:
    """(app role, migration role), neither a superuser: the app's owns user_1 and its tables (no grant on any:
    their ACLs are NULL); the migration's is a member of it, may create schemas and owns dbt's tables."""
    owner, migrator = f"owner_{database}", f"migrator_{database}"
    for role in (owner, migrator):
        conn.execute(sql.SQL("create role {} login nosuperuser").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(role)))
    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(owner), sql.Identifier(migrator)))
    conn.execute(
        sql.SQL("grant create on database {} to {}").format(sql.Identifier(database), sql.Identifier(migrator))
    )
    conn.execute("create schema if not exists product_images")
    conn.execute(sql.SQL("grant usage, create on schema product_images to {}").format(sql.Identifier(migrator)))
    conn.execute(sql.SQL("alter schema user_1 owner to {}").format(sql.Identifier(owner)))
    for table in STUDIO_TABLES:
        conn.execute(
            sql.SQL("alter table {} owner to {}").format(sql.Identifier("user_1", table), sql.Identifier(owner))
        )
    yield owner, migrator
    conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where usename = any(%s) and pid <> pg_backend_pid()",
        ([owner, migrator],),
    )
    for role in (migrator, owner):
        conn.execute(sql.SQL("drop owned by {} cascade").format(sql.Identifier(role)))
    for role in (migrator, owner):
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_the_old_version_as_the_tenants_owner_reads_and_writes_through_the_views(conn, dbt, owner_and_migrator):
    owner, migrator = owner_and_migrator
    assert conn.execute("select rolsuper from pg_roles where rolname = any(%s)", ([owner, migrator],)).fetchall() == [
        (False,),
        (False,),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGUSER", migrator)
        result = change(dbt, "start", "schemas: [user_1]")
    assert result.success, error_of(result)
    assert state(conn, "user_1") == "started"

    with connect(user=owner, autocommit=True) as app_conn:
        assert app.run_operation(app_conn, "user_1", "old", "view_session", session_id=1) == [("session 1", 4)]
        session = app.run_operation(app_conn, "user_1", "old", "create_session", client_id=1, title="by the owner")
        flow = app.run_operation(
            app_conn, "user_1", "old", "create_flow", session_id=session[0][0], product_id=1, prompt="owner's flow"
        )
        app.run_operation(app_conn, "user_1", "old", "add_image", flow_id=flow[0][0], url="generated/owner.png")
        assert app.run_operation(app_conn, "user_1", "old", "view_flow", flow_id=flow[0][0]) == [
            ("owner's flow", session[0][0], ["generated/owner.png"])
        ]
        # the new version, reading the tables themselves, sees the old version's rows
        assert app.run_operation(app_conn, "user_1", "new", "view_flow", flow_id=flow[0][0]) == [
            ("owner's flow", session[0][0], ["generated/owner.png"])
        ]

    # a tenant an older version started, without the owner's grants: the rerun of start grants them
    conn.execute(
        sql.SQL("revoke all on schema {} from {}").format(
            sql.Identifier(f"user_1__before_{CHANGE}"), sql.Identifier(owner)
        )
    )
    conn.execute(
        sql.SQL("revoke all on {} from {}").format(
            sql.Identifier(f"user_1__before_{CHANGE}", "flow"), sql.Identifier(owner)
        )
    )
    with connect(user=owner, autocommit=True) as app_conn:
        with pytest.raises(psycopg.errors.UndefinedTable, match='relation "studio_session" does not exist'):
            app.run_operation(app_conn, "user_1", "old", "view_session", session_id=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGUSER", migrator)
        assert change(dbt, "start", "schemas: [user_1]").success
    with connect(user=owner, autocommit=True) as app_conn:
        assert app.run_operation(app_conn, "user_1", "old", "view_session", session_id=1) == [("session 1", 4)]
        app.run_operation(app_conn, "user_1", "old", "create_flow", session_id=1, product_id=1, prompt="again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGUSER", migrator)
        result = change(dbt, "rollback", "schemas: [user_1]")
    assert result.success, error_of(result)
    with connect(user=owner, autocommit=True) as app_conn:
        assert app.run_operation(app_conn, "user_1", "old", "view_flow", flow_id=flow[0][0]) == [
            ("owner's flow", session[0][0], ["generated/owner.png"])
        ]


def test_rollback_is_refused_while_what_start_added_holds_new_data_unless_discarded(conn, dbt, studio, capfd):
    assert change(dbt, "start", "schemas: [user_1, user_2]").success
    with connect(autocommit=True) as new_app:
        new_app.execute("set search_path to user_1")
        new_app.execute("insert into tag (client_id, name) values (1, 'summer')")
        new_app.execute("update generated_asset set approval_status = 'approved', approved_by = 'ann' where id = 1")
    # the old version's writes give the new columns their defaults: nothing of the new version's to lose
    app.smoke(conn, "user_2", "old", tag="old")
    capfd.readouterr()

    result = change(dbt, "rollback", "schemas: [user_1, user_2]")
    out = capfd.readouterr().out
    assert not result.success
    refusal = (
        "rollback would drop data written since start: column generated_asset.approval_status (1 value(s) other "
        "than its default), column generated_asset.approved_by (1 non-null value(s)), table tag (1 row(s)); "
        "stop the new version and keep that data elsewhere, or pass discard_new_data: true to drop it"
    )
    assert f"{CHANGE} (rollback) user_1: refused: {refusal}" in out
    assert f"{CHANGE} (rollback) user_2: rolled back" in out
    assert f"{CHANGE} (rollback) failed or was refused in 1 of 2 schema(s)" in out
    assert state(conn, "user_1") == "started"
    assert conn.execute("select name from user_1.tag").fetchall() == [("summer",)]
    assert conn.execute("select approved_by from user_1.generated_asset where id = 1").fetchone() == ("ann",)
    assert conn.execute("select count(*) from user_2.generated_image where r2_key = 'generated/old.png'").fetchone()[0]

    result = change(dbt, "rollback", "schemas: [user_1], discard_new_data: true")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert f"{CHANGE} (rollback) user_1: rolled back: " in out
    assert state(conn, "user_1") == "rolled_back"
    assert conn.execute("select to_regclass('user_1.tag')").fetchone() == (None,)
    assert conn.execute("select r2_key from user_1.generated_image where id = 1").fetchone() is not None


def test_a_dry_run_reports_the_validations_instead_of_running_them_under_its_locks(
    conn, dbt, studio, project_dir, capfd
):
    # each row's check takes 0.3 s: validated under the dry run's ACCESS EXCLUSIVE, it would hold the table 1.2 s
    conn.execute("create table user_2.slow (id bigint primary key, label text)")
    conn.execute("insert into user_2.slow select n, 'row ' || n from generate_series(1, 4) as n")
    (project_dir / "macros" / "slow_note.sql").write_text(
        "{% macro slow_note(dry_run) %}{{ return(schema_change({'name': 'slow_note', 'operations': ["
        "schema_change_add_column('slow', 'note', 'text', check=\"length(pg_sleep(0.3)::text) >= 0\")"
        "]}, 'start', ['user_2'], dry_run)) }}{% endmacro %}",
        encoding="utf-8",
    )
    waits: list[float] = []
    stop = threading.Event()

    def app_reader() -> None:
        with connect(autocommit=True) as reader:
            while not stop.is_set():
                began = time.monotonic()
                reader.execute("select label from user_2.slow where id = 1").fetchall()
                waits.append(time.monotonic() - began)
                time.sleep(0.02)

    thread = threading.Thread(target=app_reader)
    thread.start()
    capfd.readouterr()
    try:
        result = dbt("run-operation", "slow_note", "--args", "{dry_run: true}")
    finally:
        stop.set()
        thread.join()
        (project_dir / "macros" / "slow_note.sql").unlink()
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert (
        "slow_note (start) user_2: would run:\n"
        '    alter table "user_2"."slow" add column "note" text;\n'
        '    alter table "user_2"."slow" add constraint "slow_note_check" check (length(pg_sleep(0.3)::text) >= 0) '
        "not valid;\n"
        '    alter table "user_2"."slow" validate constraint "slow_note_check";'
    ) in out
    assert max(waits) < 0.6, f"the app's read of user_2.slow waited {max(waits):.2f} s behind the dry run"
    assert conn.execute(
        "select count(*) from pg_attribute where attrelid = 'user_2.slow'::regclass and attname = 'note'"
    ).fetchone() == (0,)
    assert conn.execute(
        "select count(*) from product_images.product_images_schema_changes where change_name = 'slow_note'"
    ).fetchone() == (0,)
