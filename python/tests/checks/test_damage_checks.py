"""Mutation review of the safety checks: one damage at a time, `dbt test` and the GX checkpoint must fail.

One migrated database for the module; each test damages one tenant (user_1, or a tenant of
its own), runs the real `dbt test` and the real checkpoint, and the tables are put back
from a snapshot afterwards. Damage the older tests already cover (a deleted row, a
duplicated row, a second label, a removed reject, a position gap or swap, a scrambled source_index,
the checkpoint on a url replaced by a foreign one) is not repeated here.

Before 2026-12-07 `dbt test` passed (exit 0) on every damage that keeps the counts:
two rows' urls swapped (the price tag published as the main photo, the main photo hidden as
the label), a row holding another photo's url, an element's url edited in the JSONB after
the run, a loadable element kept as a reject instead of a row; nor did it see an element
edited after the run in a key no row shows (created_at). `no_lost_images` counted elements,
rows and rejects only; it now also compares the (product, url) multisets, each row's url
with its own loaded element, and each product's JSONB with the md5 the last sync recorded.
And `one_label_per_product` took a product labelled, or left without a label, "by the evidence"
while one of its photos had no score for decided (the evidence decides only when every photo is
scored; otherwise the rule labels the last photo).

The checkpoint missed three of these damages before 2026-12-07: the evidence deciding while a photo has
no score (its one_label_per_product had the same gap), a row's legacy_element no longer its JSONB element
(rows_hold_their_elements now compares them), and a row's source_index set to null (its tenant failed
positions_follow_jsonb with no product named).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from helpers.legacy_data import make_tenant, photo, photos
from product_images.checks.checkpoints import run_checkpoint

U = "https://images.example.com/"
TABLES = ("product_images", "product_images_rejects", "product_images_sync")
NO_LOST = "no_lost_images_product_images_"
ONE_LABEL = "one_label_per_product_product_images_"
CONTIGUOUS = "positions_contiguous_product_images_"


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    make_tenant(
        conn,
        "user_1",
        {
            **{pid: photos(pid, 3, "user_1") for pid in range(1, 5)},
            5: photos(5, 1, "user_1"),
            6: [photo(U + "user_1/6/0.jpg", 0), {"order": 1}, 7],
        },
    )
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2")})
    make_tenant(conn, "template_tenant", {})
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success
    for table in TABLES:  # temporary tables of the module's session: the snapshot damage is undone from
        conn.execute(f"create temporary table snapshot_{table} as select * from user_1.{table}")
    conn.execute("create temporary table snapshot_products as select id, images from user_1.products")


@pytest.fixture
def damaged(conn: psycopg.Connection, migrated) -> Iterator[psycopg.Connection]:
    """The module's connection; user_1's tables and JSONB are put back as the run left them afterwards."""
    yield conn
    with conn.transaction():
        conn.execute("set constraints all deferred")
        for table in TABLES:
            conn.execute(f"delete from user_1.{table}")
            conn.execute(f"insert into user_1.{table} overriding system value select * from snapshot_{table}")
        conn.execute(
            "update user_1.products set images = s.images from snapshot_products as s where s.id = products.id"
        )


def dbt_test(dbt, capfd) -> tuple[int, dict[str, int], str]:
    """`dbt test` of the model: (exit code, {failed test: failures}, dbt's output)."""
    capfd.readouterr()
    result = dbt("test", "--select", "product_images")
    out = capfd.readouterr().out
    return result.exit_code, {r.node.name: r.failures for r in result.node_results() if r.status != "pass"}, out


def named_tenants(out: str, test: str) -> str:
    """The tenants dbt's output names for a failing test (get_test_sql's log line)."""
    marker = f"product_images: {test} fails in "
    line = next((line for line in out.splitlines() if marker in line), "")
    return line.split(marker, 1)[-1]


def checkpoint(gx_dir) -> dict[str, list[tuple[str, int | None, str]]]:
    """{failed check: [(tenant, product, problem)]} of the real checkpoint over every tenant."""
    report = run_checkpoint(gx_dir=gx_dir, data_docs="none")
    assert report.tenants == ["template_tenant", "user_1", "user_2"]
    return {
        o.check: sorted((f.tenant_schema, f.product_id, f.problem) for f in o.failures)
        for o in report.outcomes
        if not o.success
    }


def test_the_clean_migration_passes_both(migrated, dbt, gx_dir, capfd):
    assert dbt_test(dbt, capfd)[:2] == (0, {})
    assert checkpoint(gx_dir) == {}


def test_two_rows_urls_swapped_fail_both(damaged, dbt, gx_dir, capfd):
    # The rule's label stays on position 2, which now holds the main photo; the price tag is published first.
    damaged.execute(
        "update user_1.product_images set url = case position when 0 then %s else %s end "
        "where product_id = 1 and position in (0, 2)",
        (U + "user_1/1/2.jpg", U + "user_1/1/0.jpg"),
    )
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    assert checkpoint(gx_dir) == {
        "positions_follow_jsonb": [
            ("user_1", 1, f"row {U}user_1/1/0.jpg comes from JSONB element 2, whose url is {U}user_1/1/2.jpg"),
            ("user_1", 1, f"row {U}user_1/1/2.jpg comes from JSONB element 0, whose url is {U}user_1/1/0.jpg"),
        ]
    }


def test_a_row_holding_another_photos_url_fails_both(damaged, dbt, gx_dir, capfd):
    damaged.execute(
        "update user_1.product_images set url = %s where product_id = 1 and position = 1", (U + "user_1/1/0.jpg",)
    )
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    assert checkpoint(gx_dir) == {
        "every_url_loaded": [("user_1", 1, f"missing from product_images: {U}user_1/1/1.jpg")],
        "no_drift": [("user_1", 1, f"in product_images but not in the JSONB (drift): {U}user_1/1/0.jpg")],
    }


def test_an_element_url_edited_after_the_run_fails_both(damaged, dbt, gx_dir, capfd):
    # The app edits the JSONB; product_images_sync still holds the md5 the run recorded.
    damaged.execute(
        "update user_1.products set images = jsonb_set(images, '{1,url}', to_jsonb(%s::text)) where id = 2",
        (U + "edited.jpg",),
    )
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    assert checkpoint(gx_dir) == {
        "every_url_loaded": [("user_1", 2, f"missing from product_images: {U}edited.jpg")],
        "no_drift": [("user_1", 2, f"in product_images but not in the JSONB (drift): {U}user_1/2/1.jpg")],
    }


def test_an_element_edited_after_the_run_is_pending_for_dbt_test(damaged, dbt, gx_dir, capfd):
    # Same urls, same order: only product_images_sync's md5 says the rows are not what the JSONB holds
    # now (the next run loads it into legacy_element; a cut-over before it would lose the edit).
    damaged.execute(
        "update user_1.products set images = jsonb_set(images, '{1,created_at}', '\"2025-01-01T00:00:00Z\"') "
        "where id = 3"
    )
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    # A known miss of the checkpoint: its suites compare urls, positions and rejects, not an element's other keys.
    assert checkpoint(gx_dir) == {}


def test_a_loadable_element_kept_as_a_reject_fails_both(damaged, dbt, gx_dir, capfd):
    damaged.execute(
        "insert into user_1.product_images_rejects (product_id, source_index, element, reason) "
        "select product_id, source_index, legacy_element, 'url is missing' from user_1.product_images "
        "where product_id = 6"
    )
    damaged.execute("delete from user_1.product_images where product_id = 6")
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    found = checkpoint(gx_dir)
    assert found["every_url_loaded"] == [("user_1", 6, f"missing from product_images: {U}user_1/6/0.jpg")]
    assert [problem for *_, problem in found["rejects_hold_their_elements"]] == [
        f'product_images_rejects holds {{"url": "{U}user_1/6/0.jpg", "order": 0, "created_at": '
        '"2024-03-01T10:00:00Z"} as element 0, which the JSONB does not'
    ]
    assert sorted(found) == ["every_url_loaded", "rejects_hold_their_elements"]


def test_a_row_moved_to_another_product_fails_both(damaged, dbt, gx_dir, capfd):
    damaged.execute(
        "update user_1.product_images set product_id = 3, position = 3 where product_id = 2 and position = 0"
    )
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed) == (1, {NO_LOST: 2, ONE_LABEL: 1, CONTIGUOUS: 1})
    assert named_tenants(out, NO_LOST) == "1 tenant(s): user_1"
    found = checkpoint(gx_dir)
    assert found["elements_accounted_for"] == [
        ("user_1", 2, "3 JSONB elements, 2 rows, 0 rejects"),
        ("user_1", 3, "3 JSONB elements, 4 rows, 0 rejects"),
    ]
    assert found["every_url_loaded"] == [("user_1", 2, f"missing from product_images: {U}user_1/2/0.jpg")]
    assert sorted(found) == [
        "elements_accounted_for",
        "every_url_loaded",
        "no_drift",
        "one_label_per_product",
        "positions_contiguous",
    ]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        pytest.param(
            "update user_1.product_images set is_label = false where product_id = 4",
            "0 labels on 3 images",
            id="no label",
        ),
        pytest.param(
            "update user_1.product_images set is_label = (position = 0) where product_id = 4",
            "the rule labelled position 0, not the last loaded photo (position 2) nor, the product being doubtful, "
            "its best-scoring one",
            id="the rule's label on the first photo",
        ),
    ],
)
def test_a_label_off_the_rule_fails_both(damaged, dbt, gx_dir, capfd, damage, problem):
    damaged.execute(damage)
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, ONE_LABEL)) == (1, {ONE_LABEL: 1}, "1 tenant(s): user_1")
    assert checkpoint(gx_dir) == {"one_label_per_product": [("user_1", 4, problem)]}


def test_a_reject_for_an_element_that_has_its_row_fails_both(damaged, dbt, gx_dir, capfd):
    damaged.execute(
        "insert into user_1.product_images_rejects (product_id, source_index, element, reason) "
        "select product_id, source_index, legacy_element, 'url is missing' from user_1.product_images "
        "where product_id = 1 and position = 0"
    )
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    assert checkpoint(gx_dir) == {"elements_accounted_for": [("user_1", 1, "3 JSONB elements, 3 rows, 1 rejects")]}


@pytest.mark.parametrize(
    "scores",
    [
        pytest.param("label_score = case when position < 2 then 0.0001 end, is_label = false", id="no label"),
        pytest.param(
            "label_score = case position when 0 then 0.99 when 1 then 0.01 end, is_label = (position = 0)",
            id="a label on the first photo",
        ),
    ],
)
def test_an_evidence_decision_while_a_photo_has_no_score_fails_dbt_test(damaged, dbt, gx_dir, capfd, scores):
    # The evidence decides only when every photo is scored; with the last one unscored (say it could not
    # be read) the rule labels it. Left unlabelled, a price tag there is published.
    damaged.execute(f"update user_1.product_images set {scores}, label_source = 'evidence' where product_id = 4")
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, ONE_LABEL)) == (1, {ONE_LABEL: 1}, "1 tenant(s): user_1")
    # Before 2026-12-07 a known miss of the checkpoint: its one_label_per_product had the same gap.
    assert checkpoint(gx_dir) == {
        "one_label_per_product": [("user_1", 4, "the evidence decided although 1 open photo(s) have no score")]
    }


def test_a_row_whose_source_index_is_outside_the_array_fails_the_checkpoint(damaged, dbt, gx_dir, capfd):
    # dbt test does not look at source_index (it holds its element's url and every count agrees): a known miss.
    damaged.execute("update user_1.product_images set source_index = 99 where product_id = 1 and position = 0")
    assert dbt_test(dbt, capfd)[:2] == (0, {})
    assert checkpoint(gx_dir) == {
        "positions_follow_jsonb": [
            ("user_1", 1, f"row {U}user_1/1/0.jpg comes from JSONB element 99, which does not exist")
        ]
    }


def test_a_row_the_app_added_fails_both_as_drift(damaged, dbt, gx_dir, capfd):
    damaged.execute("insert into user_1.product_images (product_id, url, position) values (5, %s, 1)", (U + "app.jpg",))
    code, failed, out = dbt_test(dbt, capfd)
    assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_1")
    assert checkpoint(gx_dir) == {
        "elements_accounted_for": [("user_1", 5, "1 JSONB elements, 2 rows, 0 rejects")],
        "no_drift": [("user_1", 5, f"in product_images but not in the JSONB (drift): {U}app.jpg")],
    }


def test_a_tenant_without_its_tables_and_a_run_log_that_says_success_fails_both(conn, migrated, dbt, gx_dir, capfd):
    # A tenant created after the run (or whose load went missing); the run log claims it was migrated.
    make_tenant(conn, "user_3", {1: photos(1, 2, "user_3"), 2: None})
    conn.execute(
        "insert into product_images.product_images_runs (invocation_id, tenant_schema, status, mode, started_at, "
        "finished_at) values ('damage-test', 'user_3', 'success', 'first_load', now(), now())"
    )
    try:
        code, failed, out = dbt_test(dbt, capfd)
        assert (code, failed, named_tenants(out, NO_LOST)) == (1, {NO_LOST: 1}, "1 tenant(s): user_3")
        report = run_checkpoint(gx_dir=gx_dir, data_docs="none")
        assert {o.check: o.tenants_failed for o in report.outcomes if not o.success} == {"tenant_migrated": ["user_3"]}
    finally:
        conn.execute("delete from product_images.product_images_runs where invocation_id = 'damage-test'")
        conn.execute("drop schema user_3 cascade")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param('legacy_element || \'{"created_at": "2020-01-01T00:00:00Z"}\'', id="created_at key"),
        pytest.param("legacy_element - 'created_at'", id="a key removed"),
        pytest.param("legacy_element || jsonb_build_object('url', %s::text)", id="url key"),
    ],
)
def test_a_rows_legacy_element_off_its_element_fails_the_checkpoint(damaged, dbt, gx_dir, damage):
    # restore_images_jsonb writes legacy_element back into the JSONB: a damaged one is lost there.
    # Before 2026-12-07 the checkpoint passed (its suites compared urls, positions and rejects only).
    params = (U + "elsewhere.jpg",) if "%s" in damage else ()
    damaged.execute(
        f"update user_1.product_images set legacy_element = {damage} where product_id = 2 and source_index = 1", params
    )
    element = damaged.execute("select images -> 1 from user_1.products where id = 2").fetchone()[0]
    kept = damaged.execute(
        "select legacy_element from user_1.product_images where product_id = 2 and source_index = 1"
    ).fetchone()[0]
    assert checkpoint(gx_dir) == {
        "rows_hold_their_elements": [
            (
                "user_1",
                2,
                f"row {U}user_1/2/1.jpg keeps legacy_element {json_text(kept)}, but JSONB element 1 is "
                f"{json_text(element)}",
            )
        ]
    }


def test_a_rows_source_index_set_to_null_is_named_by_product(damaged, dbt, gx_dir):
    # Before 2026-12-07 the summary failed and the detail named no product (product None).
    damaged.execute("update user_1.product_images set source_index = null where product_id = 3 and position = 1")
    assert checkpoint(gx_dir) == {
        "positions_follow_jsonb": [
            (
                "user_1",
                3,
                f"row {U}user_1/3/1.jpg has no source_index, yet JSONB element 1 holds its url and no row comes "
                "from it",
            )
        ]
    }


def test_the_way_back_after_the_app_reordered_photos_keeps_legacy_element_valid(damaged, dbt, gx_dir):
    # Runbook 7-8: the app swaps two photos, restore_images_jsonb rewrites the JSONB in position order
    # (order = position) and records it as synced; the rows keep their old source_index and legacy_element.
    damaged.execute("update user_1.product_images set position = 1 - position where product_id = 1 and position < 2")
    result = dbt("run-operation", "restore_images_jsonb", "--args", "{tenants: [user_1]}")
    assert result.success
    assert damaged.execute("select images -> 0 ->> 'url' from user_1.products where id = 1").fetchone()[0] == (
        U + "user_1/1/1.jpg"
    )
    found = checkpoint(gx_dir)
    # positions_follow_jsonb does fail here (rows keep their old source_index; a known false failure
    # of the checkpoint after step 8 on a product whose photos the app reordered).
    assert "rows_hold_their_elements" not in found, found


def json_text(value) -> str:
    """A JSON value as PostgreSQL's jsonb prints it (``{"a": 1, "b": 2}``)."""
    import json

    return json.dumps(value, separators=(", ", ": "))


def test_an_element_edited_then_synced_by_a_run_keeps_legacy_element_valid(damaged, dbt, gx_dir):
    # The app edits an element's created_at; until a run loads it the product is pending (not compared),
    # after the run legacy_element follows the JSONB: no failure either way.
    damaged.execute(
        "update user_1.products set images = jsonb_set(images, '{1,created_at}', '\"2025-01-01T00:00:00Z\"') "
        "where id = 3"
    )
    assert checkpoint(gx_dir) == {}
    assert dbt("run", "--select", "product_images").success
    assert damaged.execute(
        "select legacy_element ->> 'created_at' from user_1.product_images where product_id = 3 and source_index = 1"
    ).fetchone() == ("2025-01-01T00:00:00Z",)
    assert checkpoint(gx_dir) == {}
