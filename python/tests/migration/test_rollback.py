"""Rollback and cleanup: backup, restore the JSONB, drop the legacy column only when safe, and back.

The tenants are shared: every test starts from the migrated tenants (each with its images column,
its tables in parity with it), makes the backup it needs itself, and leaves them migrated again
(what it tampers with is put back in a finally), so the tests may run in any order.
"""

from __future__ import annotations

import threading
import time

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from helpers.legacy_data import JSON_NULL, make_tenant, photo
from helpers.live import wait_for
from product_images.checks.checkpoints import run_checkpoint
from product_images.connection import connect
from product_images.demo.data import load_demo_data

U = "https://images.example.com/"
ALL_TENANTS = ("template_tenant", "user_1", "user_2", "user_4", "user_5", "user_6")


def images_by_product(conn, tenant):
    return dict(conn.execute(f"select id, images from {tenant}.products order by id").fetchall())


def all_images(conn):
    return {t: images_by_product(conn, t) for t in ALL_TENANTS}


def all_rows(conn):
    return {t: conn.execute(f"select * from {t}.product_images order by id").fetchall() for t in ALL_TENANTS}


def operation(dbt, name, args=None):
    command = ["run-operation", name] + (["--args", args] if args else [])
    return dbt(*command)


def operations_log(conn, name):
    rows = conn.execute(
        """
        select distinct on (tenant_schema) tenant_schema, status, message
        from product_images.product_images_operations
        where operation = %s
        order by tenant_schema, finished_at desc
        """,
        (name,),
    ).fetchall()
    return {tenant: (status, message) for tenant, status, message in rows}


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    load_demo_data(conn)  # user_1, user_2, user_4, user_5, template_tenant: every malformed case of the demo
    make_tenant(
        conn,
        "user_6",
        {
            1: [photo(U + "c", 2, extra="kept"), "not an object", photo(U + "a", 0), photo(U + "b", 1)],
            2: JSON_NULL,
            3: [],
            4: None,
            5: {"url": U + "object"},
            6: [photo(U + "d", None), photo(U + "d", None), {"url": ""}],
            7: [photo(U + "e", 1.5, "not a date"), photo(U + "f", 0, None)],
        },
    )
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success
    return all_images(conn)


def test_round_trip_gives_back_every_original_value(conn, dbt, migrated):
    for tenant in ALL_TENANTS:
        conn.execute(f"update {tenant}.products set images = null")
    # a JSONB changed since the last run is not overwritten unless asked: the tables lack that change
    refused = operation(dbt, "restore_images_jsonb", "{tenants: [user_6]}")
    assert not refused.success
    assert operations_log(conn, "restore_images_jsonb")["user_6"] == (
        "refused",
        "6 product(s) changed in products.images since the last dbt run (e.g. product 1): the tables do not hold "
        "that change yet, and rebuilding the JSONB from them would lose it; run dbt run --select product_images "
        "first, or pass overwrite_changed: true (a JSONB emptied or damaged by a bad deploy)",
    )
    result = operation(dbt, "restore_images_jsonb", "{overwrite_changed: true}")
    assert result.success
    assert all_images(conn) == migrated
    assert operations_log(conn, "restore_images_jsonb")["user_6"][0] == "done"


def test_restore_after_the_app_changed_rows_uses_positions(conn, dbt, migrated):
    before = images_by_product(conn, "user_6")[1]
    rows_before = conn.execute(
        "select id, position, label_source, source_index, legacy_element from user_6.product_images "
        "where product_id = 1"
    ).fetchall()
    conn.execute("update user_6.product_images set position = 2 - position, label_source = 'app' where product_id = 1")
    try:
        assert operation(dbt, "restore_images_jsonb", "{tenants: [user_6]}").success
        restored = images_by_product(conn, "user_6")[1]
        assert [
            element if isinstance(element, str) else (element["url"], element["order"]) for element in restored
        ] == [
            (U + "c", 0),
            "not an object",
            (U + "b", 1),
            (U + "a", 2),
        ]
        assert restored[0]["extra"] == "kept"
    finally:
        # every test after this one starts from the migrated tenants: positions and label sources as they were,
        # and the source_index and legacy_element the restore made follow the JSONB it wrote
        with conn.transaction():
            conn.execute("set constraints all deferred")
            for image_id, position, label_source, source_index, legacy_element in rows_before:
                conn.execute(
                    "update user_6.product_images set position = %s, label_source = %s, source_index = %s, "
                    "legacy_element = %s where id = %s",
                    (
                        position,
                        label_source,
                        source_index,
                        None if legacy_element is None else Jsonb(legacy_element),
                        image_id,
                    ),
                )
        conn.execute("update user_6.products set images = %s where id = 1", (Jsonb(before),))
        # the restore recorded the md5 of what it wrote: the sync state goes back with the value
        conn.execute(
            "update user_6.product_images_sync set images_md5 = md5(%s::jsonb::text) where product_id = 1",
            (Jsonb(before),),
        )


def test_after_the_resync_a_run_does_not_bring_back_a_photo_the_app_deleted(conn, dbt, migrated):
    # Runbook 7-8: after the cut-over the app writes product_images only, and restore_images_jsonb
    # writes the tables' state back into the JSONB. A dbt run after that read the JSONB it wrote as
    # the app's change and loaded a photo the app had deleted since back into product_images.
    before = images_by_product(conn, "user_6")[7]
    rows_before = conn.execute(
        "select id, source_index, legacy_element from user_6.product_images where product_id = 7"
    ).fetchall()
    new_photo = U + "after-cut-over.jpg"
    conn.execute("insert into user_6.product_images (product_id, url, position) values (7, %s, 2)", (new_photo,))
    try:
        assert operation(dbt, "restore_images_jsonb", "{tenants: [user_6]}").success
        assert [element["url"] for element in images_by_product(conn, "user_6")[7]] == [U + "f", U + "e", new_photo]
        conn.execute("delete from user_6.product_images where url = %s", (new_photo,))  # the app, later
        rows = all_rows(conn)
        assert dbt("run", "--select", "product_images").success
        assert all_rows(conn) == rows
    finally:
        conn.execute("delete from user_6.product_images where url = %s", (new_photo,))
        for image_id, source_index, legacy_element in rows_before:  # the restore made them follow what it wrote
            conn.execute(
                "update user_6.product_images set source_index = %s, legacy_element = %s where id = %s",
                (source_index, None if legacy_element is None else Jsonb(legacy_element), image_id),
            )
        conn.execute("update user_6.products set images = %s where id = 7", (Jsonb(before),))
        conn.execute(
            "update user_6.product_images_sync set images_md5 = md5(%s::jsonb::text) where product_id = 7",
            (Jsonb(before),),
        )


def test_drop_without_confirm_only_reports(conn, dbt, migrated):
    assert operation(dbt, "backup_legacy_images").success
    result = operation(dbt, "drop_legacy_images_column")
    assert result.success
    log = operations_log(conn, "drop_legacy_images_column")
    assert {tenant: status for tenant, (status, _) in log.items()} == {t: "would_do" for t in ALL_TENANTS}
    assert all_images(conn) == migrated


def test_drop_is_refused_when_a_row_is_missing(conn, dbt, migrated):
    assert operation(dbt, "backup_legacy_images", "{tenants: [user_2]}").success  # refused for parity, not for that
    conn.execute(
        "create table public.kept_row as select * from user_2.product_images where product_id = 5 order by position "
        "limit 1"
    )
    conn.execute("delete from user_2.product_images where id = (select id from public.kept_row)")
    try:
        result = operation(dbt, "drop_legacy_images_column", "{confirm: true, tenants: [user_2]}")
        assert not result.success
        status, message = operations_log(conn, "drop_legacy_images_column")["user_2"]
        assert status == "refused"
        assert message.startswith("parity fails for 1 product(s) (e.g. product 5)")
        assert images_by_product(conn, "user_2") == migrated["user_2"]
    finally:
        conn.execute("insert into user_2.product_images overriding system value select * from public.kept_row")
        conn.execute("drop table public.kept_row")


def test_drop_is_refused_without_a_current_backup(conn, dbt, migrated):
    assert operation(dbt, "backup_legacy_images", "{tenants: [user_4]}").success
    conn.execute("drop table user_4.products_images_backup")
    result = operation(dbt, "drop_legacy_images_column", "{confirm: true, tenants: [user_4]}")
    assert not result.success
    assert operations_log(conn, "drop_legacy_images_column")["user_4"] == (
        "refused",
        "no backup: run dbt run-operation backup_legacy_images first",
    )
    assert operation(dbt, "backup_legacy_images", "{tenants: [user_4]}").success
    conn.execute("update user_4.products set title = title || '!' where id = 1")  # not the images: still current
    conn.execute("update user_4.products_images_backup set images = '[]' where product_id = 2")
    result = operation(dbt, "drop_legacy_images_column", "{confirm: true, tenants: [user_4]}")
    assert not result.success
    assert operations_log(conn, "drop_legacy_images_column")["user_4"][1].startswith(
        "the backup is out of date: 1 product(s) differ from products.images (e.g. product 2)"
    )
    assert operation(dbt, "backup_legacy_images", "{tenants: [user_4]}").success


def test_unknown_tenant_argument_is_named(dbt, migrated):
    result = operation(dbt, "drop_legacy_images_column", "{tenants: [user_99]}")
    assert not result.success


def test_drop_then_downgrade_then_run_gives_the_same_tables(conn, dbt, migrated, project_dir):
    rows_before = all_rows(conn)
    assert operation(dbt, "backup_legacy_images").success
    # user_5 cannot drop: a view of the app depends on products.images
    conn.execute("create view user_5.product_covers as select id, images -> 0 as cover from user_5.products")
    result = operation(dbt, "drop_legacy_images_column", "{confirm: true}")
    assert not result.success
    log = operations_log(conn, "drop_legacy_images_column")
    assert log["user_5"][0] == "error" and "depend" in log["user_5"][1]
    assert {t: s for t, (s, _) in log.items() if t != "user_5"} == {t: "done" for t in ALL_TENANTS if t != "user_5"}
    assert images_by_product(conn, "user_5") == migrated["user_5"]
    columns = conn.execute(
        "select table_schema from information_schema.columns where table_name = 'products' and column_name = 'images' "
        "and table_schema = any(%s) order by 1",
        (list(ALL_TENANTS),),
    ).fetchall()
    assert columns == [("user_5",)]

    # the app keeps working from product_images alone; dbt skips the dropped tenants and its tests pass,
    # and so does the checkpoint (it crashed on a tenant without the column: its JSONB sums were unassigned)
    run = dbt("run", "--select", "product_images")
    assert run.success
    assert dbt("test").success
    report = run_checkpoint(gx_dir=project_dir / "gx", data_docs="none")
    assert report.success, [outcome.check for outcome in report.outcomes if not outcome.success]
    assert all_rows(conn) == rows_before

    # downgrade: the column comes back with every original value
    conn.execute("drop view user_5.product_covers")
    assert operation(dbt, "restore_legacy_images_column").success
    assert all_images(conn) == migrated
    run = dbt("run", "--select", "product_images")
    assert run.success
    assert all_rows(conn) == rows_before
    assert dbt("test").success


def rows_of(conn, tenant):
    return conn.execute(
        f"select product_id, url, position, is_label, source_index, legacy_element from {tenant}.product_images "
        "order by product_id, position"
    ).fetchall()


def exists(conn, relation):
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


TABLES = ("product_images", "product_images_rejects", "product_images_sync")


def test_rolling_back_a_tenant_reports_first_then_drops_only_its_tables(conn, dbt, migrated):
    before = rows_of(conn, "user_6")
    assert operation(dbt, "rollback_product_images", "{tenants: [user_6]}").success
    assert operations_log(conn, "rollback_product_images")["user_6"] == (
        "would_do",
        f"would drop product_images ({len(before)} rows), product_images_rejects and product_images_sync; "
        "products is not touched (confirm: true to do it)",
    )
    assert all(exists(conn, f"user_6.{table}") for table in TABLES)

    assert operation(dbt, "rollback_product_images", "{tenants: [user_6], confirm: true}").success
    status, message = operations_log(conn, "rollback_product_images")["user_6"]
    assert status == "done" and message.startswith(f"dropped product_images ({len(before)} rows)")
    assert not any(exists(conn, f"user_6.{table}") for table in TABLES)
    assert not exists(conn, "product_images.product_images")  # the union view went with them (cascade)
    assert all(exists(conn, f"user_1.{table}") for table in TABLES)
    assert images_by_product(conn, "user_6") == migrated["user_6"]  # products untouched

    assert dbt("run", "--select", "product_images").success  # loads the tenant again, builds the views again
    assert rows_of(conn, "user_6") == before
    assert exists(conn, "product_images.label_review_queue")


def test_rollback_refuses_to_drop_what_exists_nowhere_else(conn, dbt, migrated):
    before = rows_of(conn, "user_6")
    conn.execute("insert into user_6.product_images (product_id, url, position) values (3, %s, 0)", (U + "app",))
    confirm = "{tenants: [user_6], confirm: true"
    try:
        assert not operation(dbt, "rollback_product_images", confirm + "}").success
        assert operations_log(conn, "rollback_product_images")["user_6"] == (
            "refused",
            "1 photo(s) the app added live only in product_images: write the photos back with dbt run-operation "
            "restore_images_jsonb (alt text, tags and labels have no place in the JSONB), or pass "
            "discard_app_changes: true to lose them with the table",
        )
        assert exists(conn, "user_6.product_images")
        conn.execute("alter table user_6.products rename column images to images_elsewhere")
        try:
            assert not operation(dbt, "rollback_product_images", confirm + ", discard_app_changes: true}").success
            status, message = operations_log(conn, "rollback_product_images")["user_6"]
            assert status == "refused" and message.startswith("products.images was dropped")
        finally:
            conn.execute("alter table user_6.products rename column images_elsewhere to images")
        assert operation(dbt, "rollback_product_images", confirm + ", discard_app_changes: true}").success
        assert not exists(conn, "user_6.product_images")
    finally:
        assert dbt("run", "--select", "product_images").success
    assert rows_of(conn, "user_6") == before


def rollback_failing_on_a_lock(conn, dbt):
    """Roll user_6 back with a 200 ms lock_timeout and one retry while a test holds a lock; the message logged."""
    result = dbt(
        "run-operation", "rollback_product_images", "--args", "{tenants: [user_6], confirm: true}",
        "--vars", "{lock_timeout: 200ms, lock_retries: 1, lock_retry_wait: 0}",
    )  # fmt: skip
    assert not result.success
    status, message = operations_log(conn, "rollback_product_images")["user_6"]
    assert status == "error"
    return message


def test_rollback_waits_for_the_apps_lock_only_briefly_and_names_who_holds_it(conn, dbt, migrated):
    before = rows_of(conn, "user_6")
    holder = connect(application_name="long app transaction")
    holder.execute("update user_6.products set title = 'held' where id = 1")
    try:
        message = rollback_failing_on_a_lock(conn, dbt)
        held = f"pid {holder.info.backend_pid} holds RowExclusiveLock on user_6.products (idle in transaction"
        assert held in message
    finally:
        holder.rollback()
        holder.close()
    assert all(exists(conn, f"user_6.{table}") for table in TABLES)
    assert conn.execute(
        "select count(*) from pg_catalog.pg_constraint where contype = 'f' and confrelid = 'user_6.products'::regclass"
    ).fetchone() == (3,)  # the tenant's transaction was rolled back whole
    assert rows_of(conn, "user_6") == before


def test_a_blocker_of_the_apps_own_role_is_named_by_role_even_when_its_query_is_hidden(conn, dbt, migrated):
    # The app connects as a role of its own. A migration role that is no superuser (a managed
    # server's) does not see that role's state or query in pg_stat_activity: the message must
    # still name the pid, role and application, and say how to see the rest.
    role = f"app_of_{conn.info.dbname}"
    conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    conn.execute(sql.SQL("grant usage on schema user_6 to {}").format(sql.Identifier(role)))
    conn.execute(sql.SQL("grant select, update on user_6.products to {}").format(sql.Identifier(role)))
    holder = connect(user=role, application_name="web")
    try:
        holder.execute("update user_6.products set title = 'held' where id = 1")
        message = rollback_failing_on_a_lock(conn, dbt)
        assert f"pid {holder.info.backend_pid} holds RowExclusiveLock on user_6.products (" in message
        assert f"role {role}, application 'web')" in message
        sees_all = conn.execute(
            "select rolsuper or pg_has_role(current_user, 'pg_read_all_stats', 'usage') from pg_roles "
            "where rolname = current_user"
        ).fetchone()[0]
        if sees_all:
            assert "(idle in transaction, transaction open " in message
            assert "'web'): update user_6.products set title" in message
        else:
            assert "(state hidden from this role: grant it pg_read_all_stats to see it, transaction open ? s" in message
            assert "'web'): <insufficient privilege>" in message
    finally:
        holder.rollback()
        holder.close()
        # revoked one by one: DROP OWNED takes the role's own privileges, which its creator lacks
        conn.execute(sql.SQL("revoke all on user_6.products from {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("revoke all on schema user_6 from {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
    assert all(exists(conn, f"user_6.{table}") for table in TABLES)


def test_a_photo_the_app_commits_while_the_rollback_waits_is_seen_and_kept(conn, dbt, migrated):
    # The check runs under the lock the drop needs: a row the app was inserting when the rollback
    # started, committed while it waited, makes it refuse instead of dropping the row unchecked.
    before = rows_of(conn, "user_6")
    app = connect(application_name="app inserting a photo")
    app.execute("insert into user_6.product_images (product_id, url, position) values (3, %s, 0)", (U + "late",))
    outcome: dict[str, object] = {}
    args = "{tenants: [user_6], confirm: true}"
    worker = threading.Thread(
        target=lambda: outcome.update(
            result=dbt("run-operation", "rollback_product_images", "--args", args, "--vars", "{lock_timeout: 10s}")
        )
    )
    worker.start()
    try:
        waiting = (
            "select count(*) from pg_catalog.pg_stat_activity "
            "where datname = current_database() and wait_event_type = 'Lock' and query like '%%tenant_operation%%'"
        )
        wait_for(
            lambda: not worker.is_alive() or conn.execute(waiting).fetchone()[0], "the rollback to wait for the lock"
        )
        assert worker.is_alive()  # it waits: it did not end before the app's commit
        app.commit()
        worker.join(60)
    finally:
        app.close()
    assert not outcome["result"].success
    status, message = operations_log(conn, "rollback_product_images")["user_6"]
    assert (status, message.split(":")[0]) == (
        "refused",
        "1 photo(s) the app added live only in product_images",
    )
    assert conn.execute("select count(*) from user_6.product_images where url = %s", (U + "late",)).fetchone() == (1,)
    conn.execute("delete from user_6.product_images where url = %s", (U + "late",))
    assert rows_of(conn, "user_6") == before


def lock_waiters(conn, relation) -> list[int]:
    return conn.execute(
        "select coalesce(array_agg(pid), '{}') from pg_catalog.pg_locks "
        "where not granted and relation = to_regclass(%s) "
        "and database = (select oid from pg_database where datname = current_database())",
        (relation,),
    ).fetchone()[0]


def test_a_restore_racing_the_app_for_its_lock_fills_the_column_in_the_same_transaction(conn, dbt, migrated):
    """Before 2026-12-07 the column was re-added in one transaction and filled in another: an app request
    that row-locked a product in between made the fill give up, left every product's images NULL (what the
    old app reads), a rerun skipped the tenant, and the next dbt run deleted its rows as photos removed."""
    rows_before = rows_of(conn, "user_6")
    args = "{tenants: [user_6]}"
    assert operation(dbt, "backup_legacy_images", args).success
    assert operation(dbt, "drop_legacy_images_column", "{tenants: [user_6], confirm: true}").success
    first = connect(application_name="app request 1")
    first.execute("update user_6.products set title = title where id = 1")  # holds the table while the restore waits
    second = connect(application_name="app request 2")
    outcome: dict[str, object] = {}
    restore = threading.Thread(
        target=lambda: outcome.update(
            result=dbt(
                "run-operation",
                "restore_legacy_images_column",
                "--args",
                args,
                "--vars",
                "{lock_timeout: 2s, lock_retries: 1, lock_retry_wait: 0.5}",
            )
        )
    )
    holder = threading.Thread(  # queued behind the restore; holds product 2 for seconds once it has it
        target=lambda: (second.execute("select id from user_6.products where id = 2 for update"), time.sleep(6))
    )
    try:
        restore.start()
        wait_for(lambda: lock_waiters(conn, "user_6.products"), "the restore to wait for its lock")
        holder.start()
        wait_for(lambda: second.info.backend_pid in lock_waiters(conn, "user_6.products"), "the app to queue behind it")
        first.rollback()
        restore.join(120)
        holder.join(30)
    finally:
        first.close()
        second.close()
    assert outcome["result"].success
    assert operations_log(conn, "restore_legacy_images_column")["user_6"] == (
        "done",
        "products.images re-added and filled from product_images and product_images_rejects",
    )
    assert images_by_product(conn, "user_6") == migrated["user_6"]
    conn.execute("update user_6.products set title = 'edited' where id = 3")  # the next run looks at the tenant
    assert dbt("run", "--select", "product_images").success
    assert rows_of(conn, "user_6") == rows_before


def test_the_app_writing_products_then_its_photos_never_deadlocks_with_a_rollback(conn, dbt, migrated):
    """The rollback locks products before product_images, as the app does: before 2026-12-07 it held
    product_images while waiting for products, and the app's next statement was a deadlock's victim."""
    before = rows_of(conn, "user_6")
    conn.execute("insert into user_6.product_images (product_id, url, position) values (3, %s, 0)", (U + "app",))
    app = connect(application_name="app editing a product and its photos")
    app.execute("set lock_timeout = '5s'")
    app.execute("update user_6.products set title = title where id = 1")
    outcome: dict[str, object] = {}
    args = "{tenants: [user_6], confirm: true, discard_app_changes: true}"
    rollback = threading.Thread(
        target=lambda: outcome.update(
            result=dbt("run-operation", "rollback_product_images", "--args", args, "--vars", "{lock_timeout: 10s}")
        )
    )
    try:
        rollback.start()
        wait_for(lambda: lock_waiters(conn, "user_6.products"), "the rollback to wait for products")
        # the app's next statement: it waited for the rollback's lock on product_images, a deadlock
        app.execute("update user_6.product_images set alt_text = 'edited meanwhile' where product_id = 1")
        app.commit()
        rollback.join(60)
    finally:
        app.close()
    assert outcome["result"].success
    assert not exists(conn, "user_6.product_images")
    assert dbt("run", "--select", "product_images").success  # the tenant loaded again, as before the test
    assert rows_of(conn, "user_6") == before


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "rollback_product_images",
            "{tenants: [user_6], confirm: 'false'}",
            "rollback_product_images: confirm must be true or false; got 'false' (a string)",
        ),
        (
            "rollback_product_images",
            "{tenants: [user_6], confirm: true, discard_app_changes: 'no'}",
            "rollback_product_images: discard_app_changes must be true or false; got 'no' (a string)",
        ),
        (
            "drop_legacy_images_column",
            "{tenants: [user_6], confirm: 'false'}",
            "drop_legacy_images_column: confirm must be true or false; got 'false' (a string)",
        ),
        (
            "restore_images_jsonb",
            "{tenants: [user_6], overwrite_changed: 'false'}",
            "restore_images_jsonb: overwrite_changed must be true or false; got 'false' (a string)",
        ),
    ],
)
def test_a_yes_or_no_argument_given_as_a_string_is_refused_before_anything_runs(
    conn, dbt, migrated, name, args, message, capfd
):
    # Jinja takes the string 'false' for true: confirm: 'false' dropped the tenant's tables
    before = rows_of(conn, "user_6")
    capfd.readouterr()
    result = operation(dbt, name, args)
    assert not result.success
    assert message in capfd.readouterr().out
    assert rows_of(conn, "user_6") == before
    assert conn.execute(
        "select count(*) from information_schema.columns where table_schema = 'user_6' and table_name = 'products' "
        "and column_name = 'images'"
    ).fetchone() == (1,)


def test_a_column_an_older_restore_left_unfilled_is_named_with_the_way_out(conn, dbt, migrated):
    originals = conn.execute("select id, images::text from user_6.products").fetchall()  # SQL NULL and JSON null
    conn.execute("update user_6.products set images = null")
    try:
        assert operation(dbt, "restore_legacy_images_column", "{tenants: [user_6]}").success
        status, message = operations_log(conn, "restore_legacy_images_column")["user_6"]
        assert status == "skipped"
        assert message.endswith(
            "every value of it is NULL while product_images has rows: a restore by a version before 2026-12-07 may "
            "have re-added it without filling it. Fill it with dbt run-operation restore_images_jsonb --args "
            "'{tenants: [user_6], overwrite_changed: true}' before any dbt run (which would take the NULLs for "
            "deleted photos)"
        )
        assert operation(dbt, "restore_images_jsonb", "{tenants: [user_6], overwrite_changed: true}").success
        assert images_by_product(conn, "user_6") == migrated["user_6"]
    finally:
        for product_id, images in originals:
            conn.execute("update user_6.products set images = %s::jsonb where id = %s", (images, product_id))
    assert conn.execute("select id, images::text from user_6.products").fetchall() == originals


def test_a_view_of_the_app_on_product_images_is_named_not_dropped_with_it(conn, dbt, migrated):
    conn.execute("create schema if not exists reporting")
    conn.execute("create view reporting.covers as select product_id, url from user_6.product_images where position = 0")
    try:
        assert not operation(dbt, "rollback_product_images", "{tenants: [user_6], confirm: true}").success
        assert operations_log(conn, "rollback_product_images")["user_6"] == (
            "refused",
            "objects outside the dbt schema depend on product_images, product_images_rejects or product_images_sync, "
            "and the drop would take them with it: view reporting.covers; drop or change them first",
        )
        assert exists(conn, "reporting.covers") and exists(conn, "user_6.product_images")
    finally:
        conn.execute("drop schema reporting cascade")


@pytest.mark.parametrize(
    ("change", "undo", "refusal"),
    [
        (
            "set label_source = 'app'",
            "set label_source = 'rule'",
            "1 label decision(s) made through the app live only in product_images",
        ),
        (
            "set alt_text = 'red dress, front'",
            "set alt_text = null",
            "1 photo(s) with alt text or tags live only in product_images",
        ),
    ],
)
def test_what_the_app_wrote_on_a_photo_from_the_jsonb_is_not_dropped_unasked(
    conn, dbt, migrated, change, undo, refusal
):
    # labels decided through the app, alt text and tags have no place in the JSONB: the table holds the only copy
    conn.execute(f"update user_6.product_images {change} where product_id = 1 and position = 0")
    try:
        assert not operation(dbt, "rollback_product_images", "{tenants: [user_6], confirm: true}").success
        assert operations_log(conn, "rollback_product_images")["user_6"][1].startswith(refusal)
    finally:
        conn.execute(f"update user_6.product_images {undo} where product_id = 1 and position = 0")
    assert exists(conn, "user_6.product_images")
