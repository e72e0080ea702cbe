"""Expand/contract schema changes (macros/schema_changes/): the worked example `studio_collections` on a
second app's tables, with the old and the new app version running side by side; rollback returning every
schema to what pg_dump saw before; the old app writing during start; a locked tenant failing alone and
resuming; an invalid index rebuilt; and each operation kind after start, rollback and complete, in a tenant
and in public."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from helpers.pg_dump import pg_dump
from helpers.schema_changes import error_of, states
from product_images.connection import connect
from product_images.demo.studio import app
from product_images.demo.studio.schema import create_studio_schema

SCHEMAS = ("public", "user_1", "user_2", "user_3")
FAST_LOCKS = "{lock_timeout: 200ms, lock_retries: 1, lock_retry_wait: 0}"
CHANGE = "studio_collections"


def change(dbt, action, *extra, args=""):
    return dbt("run-operation", CHANGE, "--args", "{action: " + action + (", " + args if args else "") + "}", *extra)


@pytest.fixture
def studio(conn):
    """The studio app's current shape and demo rows in public and three tenants, fresh for each test."""
    for schema in SCHEMAS:
        conn.execute(f"drop schema if exists {schema}__before_{CHANGE} cascade")
        if schema == "public":
            conn.execute("drop schema public cascade")
            conn.execute("create schema public")
        else:
            conn.execute(f"drop schema if exists {schema} cascade")
        create_studio_schema(conn, schema, clients=3)
    conn.execute("drop table if exists product_images.product_images_schema_changes")
    return SCHEMAS


def test_worked_example_both_versions_side_by_side_then_rollback_then_complete(conn, dbt, studio, capfd):
    before = {schema: pg_dump(schema) for schema in ("public", "user_1")}
    flows_before = conn.execute("select count(*) from user_1.flow").fetchone()[0]
    capfd.readouterr()

    result = change(dbt, "start")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert f"{CHANGE} (start): 4 schema(s): 4 started" in out
    assert (
        f"{CHANGE} (start) user_1: started: renamed table studio_session to collection_session, "
        "renamed table flow to generation_flow, renamed column generation_flow.session_id to collection_session_id, "
        "dropped not null on generation_flow.collection_session_id, added column generation_flow.is_favorite"
    ) in out
    assert "built index generated_asset_pending_idx, built index product_store_connection_id_idx" in out
    assert states(conn, CHANGE) == {schema: "started" for schema in SCHEMAS}

    for schema in ("public", "user_1"):
        old = app.smoke(conn, schema, "old", tag=f"old-{schema}")
        new = app.smoke(conn, schema, "new", tag=f"new-{schema}")
        assert old["clients"] == new["clients"] == 3
        assert old["products"] == new["products"] == 20
        # a row written by either version is seen by the other
        assert app.run_operation(conn, schema, "new", "view_flow", flow_id=old["flow_id"]) == [
            (f"prompt old-{schema}", old["session_id"], [f"generated/old-{schema}.png"])
        ]
        assert app.run_operation(conn, schema, "old", "view_flow", flow_id=new["flow_id"]) == [
            (f"prompt new-{schema}", new["session_id"], [f"generated/new-{schema}.png"])
        ]
        assert app.run_operation(conn, schema, "old", "view_session", session_id=new["session_id"]) == [
            (f"session new-{schema}", 1)
        ]
        # the old version's rows got the new columns' defaults
        assert conn.execute(
            f"select asset_type, approval_status from {schema}.generated_asset where id = %s", (old["image_id"],)
        ).fetchone() == ("image", "pending")

    result = change(dbt, "status")
    assert result.success, error_of(result)
    assert f"{CHANGE} (status): 4 schema(s): 4 started" in capfd.readouterr().out

    # the new version's values in the columns start added would go with them: refused, then discarded
    result = change(dbt, "rollback")
    out = capfd.readouterr().out
    assert not result.success
    assert (
        f"{CHANGE} (rollback) user_1: refused: rollback would drop data written since start: "
        "column generation_flow.is_favorite (1 value(s) other than its default), "
        "column generated_asset.approval_status (1 value(s) other than its default); "
    ) in out
    assert f"{CHANGE} (rollback) user_2: rolled back" in out  # nothing of the new version's there
    assert states(conn, CHANGE) == {
        "public": "started",
        "user_1": "started",
        "user_2": "rolled_back",
        "user_3": "rolled_back",
    }
    result = change(dbt, "rollback", args="discard_new_data: true")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert f"{CHANGE} (rollback): 4 schema(s): 2 skipped, 2 rolled back" in out
    assert states(conn, CHANGE) == {schema: "rolled_back" for schema in SCHEMAS}
    for schema in ("public", "user_1"):
        assert pg_dump(schema) == before[schema]  # the schema exactly as it was
    assert conn.execute("select count(*) from user_1.flow").fetchone()[0] == flows_before + 2  # data kept
    assert conn.execute(
        "select r2_key from user_1.generated_image where r2_key like 'generated/%%-user_1.png' order by r2_key"
    ).fetchall() == [("generated/new-user_1.png",), ("generated/old-user_1.png",)]
    assert conn.execute("select count(*) from pg_namespace where nspname like '%%__before_%%'").fetchone() == (0,)

    assert change(dbt, "start").success
    result = change(dbt, "complete")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert f"{CHANGE} (complete): 4 schema(s): 4 completed" in out
    assert states(conn, CHANGE) == {schema: "completed" for schema in SCHEMAS}
    assert app.smoke(conn, "user_2", "new", tag="after")["flow"] == (
        "prompt after",
        pytest.approx(31, abs=30),
        ["generated/after.png"],
    )
    with pytest.raises(psycopg.errors.UndefinedTable, match='relation "studio_session" does not exist'):
        app.run_operation(conn, "user_2", "old", "create_session", client_id=1, title="too late")

    result = change(dbt, "rollback")
    assert not result.success
    assert "studio_collections is completed in user_1: its renames or drops are final" in capfd.readouterr().out


def test_complete_is_refused_where_start_did_not_run(conn, dbt, studio, capfd):
    assert change(dbt, "start", args="schemas: [user_1]").success
    capfd.readouterr()
    result = change(dbt, "complete", args="schemas: [user_1, user_2]")
    out = capfd.readouterr().out
    assert not result.success
    assert f"{CHANGE} (complete) user_1: completed" in out
    assert (
        f"{CHANGE} (complete) user_2: refused: {CHANGE} was not started in user_2 (state: none): run start first" in out
    )
    assert conn.execute("select to_regclass('user_2.studio_session') is not null").fetchone() == (True,)


def test_the_old_app_keeps_writing_while_start_runs(conn, dbt, studio):
    written: list[tuple[float, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def old_app():
        with connect(autocommit=True, application_name="old app") as writer:
            while not stop.is_set():
                try:
                    flow = app.run_operation(
                        writer, "user_2", "old", "create_flow", session_id=1, product_id=1, prompt="w"
                    )
                    app.run_operation(writer, "user_2", "old", "add_image", flow_id=flow[0][0], url="generated/w.png")
                    written.append((time.time(), flow[0][0]))
                except psycopg.Error as error:  # pragma: no cover - reported below
                    errors.append(str(error))

    thread = threading.Thread(target=old_app)
    thread.start()
    try:
        time.sleep(0.5)
        result = change(dbt, "start", args="schemas: [user_2]")
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    assert result.success, error_of(result)
    assert errors == []
    renamed_at = conn.execute(
        "select extract(epoch from updated_at) from product_images.product_images_schema_changes "
        "where change_name = %s and schema_name = 'user_2'",
        (CHANGE,),
    ).fetchone()[0]
    assert any(at < float(renamed_at) for at, _ in written) and any(at > float(renamed_at) for at, _ in written)
    ids = sorted(flow_id for _, flow_id in written)
    stored = conn.execute(
        "select f.id from user_2.generation_flow as f join user_2.generated_asset as a on a.flow_id = f.id "
        "where f.prompt = 'w' order by f.id"
    ).fetchall()
    assert [flow_id for (flow_id,) in stored] == ids  # none lost, each with its image


def test_a_locked_tenant_fails_alone_and_the_rerun_resumes(conn, dbt, studio, capfd):
    capfd.readouterr()
    with connect(application_name="long app transaction") as holder:
        holder.execute("select count(*) from user_2.flow")  # AccessShareLock until rollback
        result = change(dbt, "start", "--vars", FAST_LOCKS)
        pid = holder.info.backend_pid
    out = capfd.readouterr().out
    assert not result.success
    assert f"{CHANGE} (start) failed or was refused in 1 of 4 schema(s)" in out
    assert f"pid {pid} holds AccessShareLock on user_2.flow (idle in transaction" in out
    assert states(conn, CHANGE) == {"public": "started", "user_1": "started", "user_2": "failed", "user_3": "started"}
    assert conn.execute("select to_regclass('user_2.flow') is not null").fetchone() == (True,)  # left as it was

    assert change(dbt, "status").success
    assert f"{CHANGE} (status) user_2: failed (start, still never started)" in capfd.readouterr().out

    result = change(dbt, "start")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert f"{CHANGE} (start) user_2: started: renamed table studio_session to collection_session" in out
    assert f"{CHANGE} (start) user_1: started: already there: table studio_session renamed collection_session" in out
    assert states(conn, CHANGE) == {schema: "started" for schema in SCHEMAS}


def test_an_invalid_index_left_by_a_failed_build_is_rebuilt(conn, dbt, studio, capfd):
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("create unique index concurrently product_store_connection_id_idx on user_3.product (client_id)")
    assert conn.execute(
        "select indisvalid from pg_index where indexrelid = 'user_3.product_store_connection_id_idx'::regclass"
    ).fetchone() == (False,)
    capfd.readouterr()
    result = change(dbt, "start", args="schemas: [user_3]")
    out = capfd.readouterr().out
    assert result.success, error_of(result)
    assert "user_3: index product_store_connection_id_idx is invalid (a build that failed): dropping it" in out
    assert "rebuilt index product_store_connection_id_idx" in out
    assert conn.execute(
        "select indisvalid, pg_get_indexdef(indexrelid) from pg_index "
        "where indexrelid = 'user_3.product_store_connection_id_idx'::regclass"
    ).fetchone() == (
        True,
        "CREATE INDEX product_store_connection_id_idx ON user_3.product USING btree (store_connection_id)",
    )


def test_a_volatile_default_on_an_existing_table_is_refused_before_anything_runs(dbt, project_dir, capfd):
    (project_dir / "macros" / "widgets_seen.sql").write_text(
        "{% macro widgets_seen() %}{{ return(schema_change({'name': 'widgets_seen', 'operations': ["
        "schema_change_add_column('widgets', 'seen_at', 'timestamptz', default='clock_timestamp()')]}, 'start')) }}"
        "{% endmacro %}",
        encoding="utf-8",
    )
    capfd.readouterr()
    assert not dbt("run-operation", "widgets_seen").success
    assert (
        "widgets.seen_at: default clock_timestamp() is volatile (clock_timestamp): on an existing table it rewrites "
        "every row under ACCESS EXCLUSIVE"
    ) in capfd.readouterr().out


def test_the_old_version_keeps_its_grants_through_the_views(conn, dbt, studio):
    conn.execute("drop role if exists studio_app")
    conn.execute("create role studio_app")
    # A CREATEROLE role that is no superuser (a managed server's admin) may not SET ROLE to a role
    # it created unless it is granted it (PostgreSQL 16); a superuser may anyway.
    conn.execute("grant studio_app to current_user")
    conn.execute("grant usage on schema user_1 to studio_app")
    conn.execute(
        "grant select, insert on user_1.flow, user_1.studio_session, user_1.product, user_1.message to studio_app"
    )
    try:
        assert change(dbt, "start", args="schemas: [user_1]").success
        with connect(autocommit=True) as app_conn:
            app_conn.execute("set role studio_app")
            flow = app.run_operation(
                app_conn, "user_1", "old", "create_flow", session_id=1, product_id=1, prompt="as app"
            )
            assert app.run_operation(app_conn, "user_1", "old", "view_session", session_id=1)[0][1] >= 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # not granted on generated_image before
                app.run_operation(app_conn, "user_1", "old", "add_image", flow_id=flow[0][0], url="generated/x.png")
        assert conn.execute("select prompt from user_1.generation_flow where id = %s", (flow[0][0],)).fetchone() == (
            "as app",
        )
        assert change(dbt, "rollback", args="schemas: [user_1]").success
    finally:
        conn.execute("drop owned by studio_app")
        conn.execute("drop role studio_app")
