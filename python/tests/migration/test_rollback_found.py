"""The ways back (rollback_product_images, restore_images_jsonb) at 2 a.m., with the app writing.

What a review found by trying to lose a photo through them: each test fails on the macros as they
were before 2026-12-07. Every test migrates a tenant of its own (user_6x) and drops it at the end,
so the tests may run in any order.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from helpers.legacy_data import make_tenant, photo
from helpers.live import wait_for
from product_images.app.service import ProductImageService
from product_images.connection import connect
from product_images.migration.dbt_runner import DbtResult

U = "https://images.example.com/"
RESTORED = "products.images rebuilt from product_images and product_images_rejects"
CHANGED_SINCE_RUN = (
    "product(s) changed in products.images since the last dbt run (e.g. product {}): the tables do not hold that "
    "change yet, and rebuilding the JSONB from them would lose it; run dbt run --select product_images first, or pass "
    "overwrite_changed: true (a JSONB emptied or damaged by a bad deploy)"
)
_numbers = itertools.count(60)


@pytest.fixture(scope="module")
def seeded(dbt: Callable[..., DbtResult]) -> None:
    assert dbt("seed").success


@pytest.fixture
def migrate(conn: psycopg.Connection, dbt: Callable[..., DbtResult], seeded: None) -> Iterator[Callable[..., str]]:
    """``migrate({id: images})``: a new tenant with those products, migrated by dbt run; dropped at the end."""
    made: list[str] = []

    def make(*tenants_products: dict[int, Any]) -> str:
        for products in tenants_products:
            made.append(f"user_{next(_numbers)}")
            make_tenant(conn, made[-1], products)
        assert dbt("run", "--select", "product_images").success
        return made[-1]

    yield make
    for tenant in made:  # the union views go with them: the next test's dbt run builds them again
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(tenant)))


def operation(dbt: Callable[..., DbtResult], name: str, args: str, lock_vars: str | None = None) -> DbtResult:
    return dbt("run-operation", name, "--args", args, *(["--vars", lock_vars] if lock_vars else []))


def one(conn: psycopg.Connection, query: sql.Composed | str, params: tuple[Any, ...]) -> tuple[Any, ...]:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def logged(conn: psycopg.Connection, name: str, tenant: str) -> tuple[Any, ...]:
    """(status, message, rows_affected) of the operation's latest run on the tenant."""
    return one(
        conn,
        "select status, message, rows_affected from product_images.product_images_operations "
        "where operation = %s and tenant_schema = %s order by finished_at desc limit 1",
        (name, tenant),
    )


def images(conn: psycopg.Connection, tenant: str, product_id: int) -> Any:
    return one(
        conn, sql.SQL("select images from {} where id = %s").format(sql.Identifier(tenant, "products")), (product_id,)
    )[0]


def set_jsonb(conn: psycopg.Connection, tenant: str, product_id: int, value: Any) -> None:
    """The old app writes a product's photos (products.images)."""
    conn.execute(
        sql.SQL("update {} set images = %s where id = %s").format(sql.Identifier(tenant, "products")),
        (Jsonb(value), product_id),
    )


def utc_text(conn: psycopg.Connection, tenant: str, url: str) -> str:
    """The created_at of the row the app added for url, as restore_images_jsonb writes it."""
    query = "select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from {} where url = %s"
    return one(conn, sql.SQL(query).format(sql.Identifier(tenant, "product_images")), (url,))[0]


def test_restore_keeps_the_created_at_of_every_element_the_app_did_not_touch(conn, dbt, migrate):
    # Before 2026-12-07 a product the app changed (here: one photo added in front) was written
    # back with the migration's run time as the created_at of every element whose created_at
    # was not a string (an epoch number, JSON null) or absent: the old app then showed photos
    # of 2023 as taken on the night of the migration.
    unicode_url = U + "été/東京 ✓.jpg"
    tenant = migrate(
        {
            1: [
                photo(U + "g", 0, 1700000000),
                photo(U + "h", 1, None),
                {"url": U + "i", "order": 2, "created_at": None},
                photo(unicode_url, 3, "2024-02-30T25:61:00Z"),
                photo(U + "k", 4, "2024-03-01T10:00:00.123456+02:00", alt="kept"),
            ]
        }
    )
    long_url = U + "a" * (2048 - len(U))
    ProductImageService(conn, tenant).add_image(1, long_url, position=0)
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert logged(conn, "restore_images_jsonb", tenant) == ("done", RESTORED, 1)
    assert images(conn, tenant, 1) == [
        {"url": long_url, "order": 0, "created_at": utc_text(conn, tenant, long_url)},
        {"url": U + "g", "order": 1, "created_at": 1700000000},
        {"url": U + "h", "order": 2},
        {"url": U + "i", "order": 3, "created_at": None},
        {"url": unicode_url, "order": 4, "created_at": "2024-02-30T25:61:00Z"},
        {"url": U + "k", "order": 5, "created_at": "2024-03-01T10:00:00.123456+02:00", "alt": "kept"},
    ]
    # written once: a second run finds nothing to write
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert logged(conn, "restore_images_jsonb", tenant) == ("done", RESTORED, 0)


def test_restore_never_overwrites_a_jsonb_the_tables_never_held(conn, dbt, migrate):
    # Before 2026-12-07 a product without a sync row was written unguarded and not recorded: one
    # the old app created after the last dbt run lost its photo to the app's, and a product whose
    # JSONB was NULL at the run, once written, lost the seller's next edit to a second restore.
    tenant = migrate({1: [photo(U + "a", 0)], 2: None})
    conn.execute(
        sql.SQL("insert into {} (id, title, images) values (3, 'created after the run', %s)").format(
            sql.Identifier(tenant, "products")
        ),
        (Jsonb([photo(U + "only-in-the-jsonb", 0)]),),
    )
    app = ProductImageService(conn, tenant)
    app.add_image(3, U + "p3-app")
    app.add_image(2, U + "p2-app")
    assert not operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert logged(conn, "restore_images_jsonb", tenant) == ("refused", "1 " + CHANGED_SINCE_RUN.format(3), None)
    assert (images(conn, tenant, 2), images(conn, tenant, 3)) == (None, [photo(U + "only-in-the-jsonb", 0)])

    assert dbt("run", "--select", "product_images").success
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert logged(conn, "restore_images_jsonb", tenant) == ("done", RESTORED, 2)
    p2_app = {"url": U + "p2-app", "order": 0, "created_at": utc_text(conn, tenant, U + "p2-app")}
    assert images(conn, tenant, 2) == [p2_app]
    assert [element["url"] for element in images(conn, tenant, 3)] == [U + "only-in-the-jsonb", U + "p3-app"]

    edited = [photo(U + "p2-seller", 0)]  # the old app is back: the seller replaces the photo
    set_jsonb(conn, tenant, 2, edited)
    assert not operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert logged(conn, "restore_images_jsonb", tenant) == ("refused", "1 " + CHANGED_SINCE_RUN.format(2), None)
    assert images(conn, tenant, 2) == edited


def restore_in_a_thread(dbt: Callable[..., DbtResult], args: str, outcome: dict[str, DbtResult]) -> threading.Thread:
    worker = threading.Thread(
        target=lambda: outcome.update(
            result=operation(dbt, "restore_images_jsonb", args, "{lock_timeout: 20s, lock_retries: 0}")
        )
    )
    worker.start()
    return worker


def test_a_jsonb_the_old_app_commits_while_the_restore_waits_for_its_row_is_kept(conn, dbt, migrate):
    # The guard that leaves alone a product changed since the last run was a NOT EXISTS, planned as
    # an anti-join: when the restore waited for the app's row lock, PostgreSQL re-checked the row
    # (EvalPlanQual) without the sync table and overwrote what the app had just committed.
    tenant = migrate({1: [photo(U + "a", 0), photo(U + "b", 1)]})
    ProductImageService(conn, tenant).add_image(1, U + "new-app")  # the restore has product 1 to write
    old_app = connect(application_name="old app saving a product")
    seller = [photo(U + "a", 0), photo(U + "b", 1), photo(U + "old-app", 2)]
    old_app.execute(
        sql.SQL("update {} set images = %s where id = 1").format(sql.Identifier(tenant, "products")), (Jsonb(seller),)
    )
    outcome: dict[str, DbtResult] = {}
    worker = restore_in_a_thread(dbt, f"{{tenants: [{tenant}]}}", outcome)
    try:
        waiting = (
            "select count(*) from pg_catalog.pg_stat_activity "
            "where datname = current_database() and wait_event_type = 'Lock' and query like '%%tenant_operation%%'"
        )
        wait_for(lambda: not worker.is_alive() or conn.execute(waiting).fetchone()[0], "the restore to wait")
        assert worker.is_alive()
        old_app.commit()
        worker.join(60)
    finally:
        old_app.close()
    assert outcome["result"].success
    assert logged(conn, "restore_images_jsonb", tenant) == (
        "done",
        RESTORED + "; 1 product(s) changed in products.images while this ran were left as the app wrote them "
        "(e.g. product 1): dbt run --select product_images loads them, then run this again",
        0,
    )
    assert images(conn, tenant, 1) == seller


def test_rollback_refuses_to_drop_the_photos_the_app_deleted_or_reordered(conn, dbt, migrate):
    # Photos the app added, its label decisions and alt text made the rollback refuse, but not a
    # photo it deleted nor a new order: the drop brought the deleted photos back and the old order.
    abc = [photo(U + "a", 0), photo(U + "b", 1), photo(U + "c", 2)]
    tenant = migrate(
        {1: abc, 2: [photo(U + "d", 0), photo(U + "e", 1)], 3: [photo(U + "f", 0)], 4: [photo(U + "g", 0)]}
    )
    app = ProductImageService(conn, tenant)
    a, b, c = app.get_images(1)
    app.reorder_images(1, [b.id, a.id, c.id])
    app.delete_image(app.get_images(2)[0].id)  # d, not the label
    app.delete_image(app.get_images(3)[0].id)  # f, its only photo
    confirm = f"{{tenants: [{tenant}], confirm: true}}"
    assert not operation(dbt, "rollback_product_images", confirm).success
    assert logged(conn, "rollback_product_images", tenant) == (
        "refused",
        "photo deletions or reorders the app made in 3 product(s) (e.g. product 1) live only in product_images: write "
        "the photos back with dbt run-operation restore_images_jsonb (alt text, tags and labels have no place in the "
        "JSONB), or pass discard_app_changes: true to lose them with the table",
        5,
    )
    dry_run = operation(dbt, "rollback_product_images", f"{{tenants: [{tenant}], discard_app_changes: true}}")
    assert dry_run.success
    assert logged(conn, "rollback_product_images", tenant)[:2] == (
        "would_do",
        "would drop product_images (5 rows), product_images_rejects and product_images_sync; products is not touched "
        "(confirm: true to do it); it would discard photo deletions or reorders the app made in 3 product(s) (e.g. "
        "product 1)",
    )
    assert [images(conn, tenant, product_id) for product_id in (1, 2, 3)] == [
        abc,
        [photo(U + "d", 0), photo(U + "e", 1)],
        [photo(U + "f", 0)],
    ]
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    reordered = [photo(U + "b", 0), photo(U + "a", 1), photo(U + "c", 2)]
    assert [images(conn, tenant, product_id) for product_id in (1, 2, 3, 4)] == [
        reordered,
        [photo(U + "e", 0)],
        [],
        [photo(U + "g", 0)],
    ]
    assert operation(dbt, "rollback_product_images", confirm).success
    assert logged(conn, "rollback_product_images", tenant)[0] == "done"
    assert images(conn, tenant, 1) == reordered


def test_a_tenant_named_twice_is_rolled_back_once_and_its_log_says_what_was_discarded(conn, dbt, migrate):
    # The second pass found no table and logged the tenant 'skipped: not migrated', over the
    # 'done' of the first: the only record of the drop said nothing had been dropped, nor what
    # discard_app_changes had thrown away.
    other = migrate({1: [photo(U + "x", 0)]}, {1: [photo(U + "y", 0)]})
    tenant = f"user_{int(other.removeprefix('user_')) - 1}"
    ProductImageService(conn, tenant).add_image(1, U + "x-app", alt_text="front")
    typo = operation(dbt, "rollback_product_images", f"{{tenants: [{tenant}, {other}x], confirm: true}}")
    assert not typo.success  # nothing done, not even for the tenant spelled right
    assert conn.execute("select to_regclass(%s) is not null", (f"{tenant}.product_images",)).fetchone() == (True,)
    twice = f"{{tenants: [{tenant}, {tenant}], confirm: true, discard_app_changes: true}}"
    assert operation(dbt, "rollback_product_images", twice).success
    status, message, rows = logged(conn, "rollback_product_images", tenant)
    assert (status, message.split(",")[0], rows) == ("done", "dropped product_images (2 rows)", 2)
    assert message.endswith("; discarded (discard_app_changes): 1 photo(s) the app added")
    assert conn.execute("select to_regclass(%s) is null", (f"{tenant}.product_images",)).fetchone() == (True,)
    assert conn.execute("select to_regclass(%s) is not null", (f"{other}.product_images",)).fetchone() == (True,)


def test_a_restore_blocked_by_an_apps_row_lock_fails_that_tenant_alone_naming_it(conn, dbt, migrate):
    blocked = migrate({1: [photo(U + "x", 0)]}, {1: [photo(U + "y", 0)]})
    tenant = f"user_{int(blocked.removeprefix('user_')) - 1}"
    for schema, url in ((tenant, U + "x-app"), (blocked, U + "y-app")):
        ProductImageService(conn, schema).add_image(1, url)
    holder = connect(application_name="app holding a product")
    pid = holder.info.backend_pid
    holder.execute(sql.SQL("select id from {} where id = 1 for update").format(sql.Identifier(blocked, "products")))
    try:
        result = operation(
            dbt, "restore_images_jsonb", f"{{tenants: [{tenant}, {blocked}]}}",
            "{lock_timeout: 200ms, lock_retries: 1, lock_retry_wait: 0}",
        )  # fmt: skip
    finally:
        holder.rollback()
        holder.close()
    assert not result.success
    status, message, _ = logged(conn, "restore_images_jsonb", blocked)
    assert status == "error"
    assert message.startswith(
        "gave up after 2 attempts (lock_timeout 200ms, lock_retries 1) waiting for a lock on "
        f'"{blocked}"."products" or the tenant\'s migration lock (restore_images_jsonb): blocked by pid '
        f"{pid} holds RowShareLock on {blocked}.products (idle in transaction, transaction open "
    )
    assert [element["url"] for element in images(conn, blocked, 1)] == [U + "y"]
    assert logged(conn, "restore_images_jsonb", tenant) == ("done", RESTORED, 1)
    assert [element["url"] for element in images(conn, tenant, 1)] == [U + "x", U + "x-app"]


def test_a_tenant_named_twice_to_any_operation_is_done_once(conn, dbt, migrate):
    # operation_tenants kept duplicates: the drop's second pass found no column and logged
    # 'skipped' over the first pass's 'done'.
    tenant = migrate({1: [photo(U + "x", 0)]})
    assert operation(dbt, "backup_legacy_images", f"{{tenants: [{tenant}, {tenant}]}}").success
    assert operation(dbt, "drop_legacy_images_column", f"{{tenants: [{tenant}, {tenant}], confirm: true}}").success
    status, message, _ = logged(conn, "drop_legacy_images_column", tenant)
    assert status == "done", message
