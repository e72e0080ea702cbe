"""The way back (runbook steps 7-9: restore_images_jsonb, drop_legacy_images_column, restore_legacy_images_column).

What a review found: each test fails on the macros as they were before 2026-12-07. Every test
migrates tenants of its own (user_8x) and drops them at the end, so the tests may run in any order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from helpers.legacy_data import make_tenant, photo
from product_images.app.service import ProductImageService
from product_images.checks.checkpoints import run_checkpoint
from product_images.migration.dbt_runner import DbtResult

U = "https://images.example.com/"
_numbers = itertools.count(80)


@pytest.fixture(scope="module")
def seeded(dbt: Callable[..., DbtResult]) -> None:
    assert dbt("seed").success


@pytest.fixture
def migrate(conn: psycopg.Connection, dbt: Callable[..., DbtResult], seeded: None) -> Iterator[Callable[..., str]]:
    """``migrate({id: images}, ...)``: new tenants with those products, migrated by dbt run; dropped at the end."""
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


def operation(dbt: Callable[..., DbtResult], name: str, args: str) -> DbtResult:
    return dbt("run-operation", name, "--args", args)


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


def checkpoint(project_dir: Path, tenants: list[str]) -> dict[str, list[tuple[str, int | None, str]]]:
    """{failed check: [(tenant, product, problem)]} of the real checkpoint over those tenants."""
    report = run_checkpoint(gx_dir=project_dir / "gx", tenants=tenants, data_docs="none")
    return {
        o.check: sorted((f.tenant_schema, f.product_id, f.problem) for f in o.failures)
        for o in report.outcomes
        if not o.success
    }


def failed_tests(dbt: Callable[..., DbtResult]) -> dict[str, int]:
    result = dbt("test", "--select", "product_images")
    return {r.node.name: r.failures for r in result.node_results() if r.status != "pass"}


WHOLE_REJECT_WITH_APP_PHOTOS = (
    "1 product(s) whose products.images was rejected whole (not an array: the value is kept in "
    "product_images_rejects, with no source_index) have photos the app added since in product_images (e.g. product "
    "{}): one JSONB value cannot hold both, and "
)


def test_restore_refuses_a_product_rejected_whole_to_which_the_app_added_a_photo(conn, dbt, migrate):
    # Before 2026-12-07 its JSONB became [the app's photo]: the value rejected whole was gone from
    # products.images (left in the rejects only), and step 9 was refused for the tenant for good.
    whole = {"url": U + "not-in-an-array", "order": 0, "created_at": "2024-03-01T10:00:00Z"}
    tenant = migrate({1: [photo(U + "a", 0)], 2: whole})
    app = ProductImageService(conn, tenant)
    app.add_image(1, U + "b")
    app.add_image(2, U + "app-photo")
    for args in (f"{{tenants: [{tenant}]}}", f"{{tenants: [{tenant}], overwrite_changed: true}}"):
        assert not operation(dbt, "restore_images_jsonb", args).success
        status, message, rows = logged(conn, "restore_images_jsonb", tenant)
        assert (status, rows) == ("refused", None)
        assert message.startswith(WHOLE_REJECT_WITH_APP_PHOTOS.format(2)), message
        assert message.endswith(
            "Make products.images of each an array by hand (e.g. [the value] when it is one photo; the photos the app "
            "added stay in product_images and are written after it), run dbt run --select product_images, then run "
            "this again"
        )
        assert (images(conn, tenant, 1), images(conn, tenant, 2)) == ([photo(U + "a", 0)], whole)

    # what the message says to do: nothing is lost, and step 9 is no longer refused
    conn.execute(
        sql.SQL("update {} set images = %s where id = 2").format(sql.Identifier(tenant, "products")), (Jsonb([whole]),)
    )
    assert dbt("run", "--select", "product_images").success
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert [element["url"] for element in images(conn, tenant, 2)] == [U + "not-in-an-array", U + "app-photo"]
    assert images(conn, tenant, 2)[0] == whole
    assert operation(dbt, "backup_legacy_images", f"{{tenants: [{tenant}]}}").success
    assert operation(dbt, "drop_legacy_images_column", f"{{tenants: [{tenant}], confirm: true}}").success
    assert logged(conn, "drop_legacy_images_column", tenant)[0] == "done"


def test_restore_legacy_column_refuses_a_product_rejected_whole_to_which_the_app_added_a_photo(conn, dbt, migrate):
    # The same after step 9: before 2026-12-07 the column came back with [the app's photo] for it.
    whole = "a string, not an array"
    tenant = migrate({1: [photo(U + "a", 0)], 2: whole})
    assert operation(dbt, "backup_legacy_images", f"{{tenants: [{tenant}]}}").success
    assert operation(dbt, "drop_legacy_images_column", f"{{tenants: [{tenant}], confirm: true}}").success
    ProductImageService(conn, tenant).add_image(2, U + "app-photo")
    assert not operation(dbt, "restore_legacy_images_column", f"{{tenants: [{tenant}]}}").success
    status, message, _ = logged(conn, "restore_legacy_images_column", tenant)
    assert status == "refused"
    assert message.startswith(WHOLE_REJECT_WITH_APP_PHOTOS.format(2)), message
    assert "the column is not re-added" in message
    has_column = (
        "select count(*) from information_schema.columns "
        "where table_schema = %s and table_name = 'products' and column_name = 'images'"
    )
    assert one(conn, has_column, (tenant,)) == (0,)
    rejected = sql.SQL("select element from {} where product_id = 2").format(
        sql.Identifier(tenant, "product_images_rejects")
    )
    assert conn.execute(rejected).fetchall() == [(whole,)]


def test_restore_images_jsonb_fails_a_tenant_whose_column_was_dropped_naming_the_way_back(conn, dbt, migrate):
    # Before 2026-12-07 it logged 'skipped' and exited 0; the old app, deployed next, failed on the column.
    dropped = migrate({1: [photo(U + "x", 0)]}, {1: [photo(U + "y", 0)]})
    kept = f"user_{int(dropped.removeprefix('user_')) - 1}"
    assert operation(dbt, "backup_legacy_images", f"{{tenants: [{dropped}]}}").success
    assert operation(dbt, "drop_legacy_images_column", f"{{tenants: [{dropped}], confirm: true}}").success
    ProductImageService(conn, kept).add_image(1, U + "x-app")
    result = operation(dbt, "restore_images_jsonb", f"{{tenants: [{kept}, {dropped}]}}")
    assert not result.success
    assert logged(conn, "restore_images_jsonb", dropped) == (
        "refused",
        "products.images does not exist (dropped by drop_legacy_images_column): there is nothing to write back into, "
        "and the old app would fail on the missing column; run dbt run-operation restore_legacy_images_column --args "
        f"'{{tenants: [{dropped}]}}' instead (it re-adds the column and fills it from the tables)",
        None,
    )
    assert logged(conn, "restore_images_jsonb", kept)[0::2] == ("done", 1)
    assert [element["url"] for element in images(conn, kept, 1)] == [U + "x", U + "x-app"]


def test_after_the_restore_the_rows_of_photos_the_app_reordered_or_deleted_follow_the_jsonb(
    conn, dbt, migrate, project_dir
):
    # Before 2026-12-07 the rows and rejects kept the indexes of the JSONB loaded before the app's
    # changes, and the product was recorded as synced: the checkpoint's positions_follow_jsonb (and
    # rejects_hold_their_elements) failed for it after every later dbt run, until the old app edited it.
    tenant = migrate(
        {
            1: [photo(U + "a", 0), photo(U + "b", 1), photo(U + "c", 2)],
            2: [photo(U + "d", 0), photo(U + "e", 1), photo(U + "e2", 2), {"order": 3}],
            3: [photo(U + "f", 0), photo(U + "g", 1)],
        }
    )
    app = ProductImageService(conn, tenant)
    a, b, c = app.get_images(1)
    app.reorder_images(1, [b.id, a.id, c.id])  # the label (c, the last photo) stays last
    app.delete_image(app.get_images(2)[0].id)  # d
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert [element["url"] for element in images(conn, tenant, 1)] == [U + "b", U + "a", U + "c"]
    assert images(conn, tenant, 2) == [photo(U + "e", 0), photo(U + "e2", 1), {"order": 3}]
    # every column but label_scores_pending: the app's changes marked products 1 and 2 for the run,
    # which decides their labels again (unchanged here) and clears the mark
    every_row = sql.SQL("select to_jsonb(images) - 'label_scores_pending' from {} as images order by id").format(
        sql.Identifier(tenant, "product_images")
    )
    before = conn.execute(every_row).fetchall()
    assert dbt("run", "--select", "product_images").success
    assert conn.execute(every_row).fetchall() == before  # recorded as synced: the run loads nothing back
    pending = sql.SQL("select count(*) from {} where label_scores_pending")
    assert conn.execute(pending.format(sql.Identifier(tenant, "product_images"))).fetchone() == (0,)
    assert checkpoint(project_dir, [tenant]) == {}
    assert failed_tests(dbt) == {}
    loaded = sql.SQL("select url, source_index, legacy_element from {} where product_id < 3 order by product_id, id")
    assert conn.execute(loaded.format(sql.Identifier(tenant, "product_images"))).fetchall() == [
        (U + "a", 1, photo(U + "a", 1)),
        (U + "b", 0, photo(U + "b", 0)),
        (U + "c", 2, photo(U + "c", 2)),
        (U + "e", 0, photo(U + "e", 0)),
        (U + "e2", 1, photo(U + "e2", 1)),
    ]
    rejected = sql.SQL("select source_index, element from {} where product_id = 2")
    assert conn.execute(rejected.format(sql.Identifier(tenant, "product_images_rejects"))).fetchall() == [
        (2, {"order": 3})
    ]
    # a second restore finds nothing to write
    assert operation(dbt, "restore_images_jsonb", f"{{tenants: [{tenant}]}}").success
    assert logged(conn, "restore_images_jsonb", tenant)[0::2] == ("done", 0)
