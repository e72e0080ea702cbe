"""`dbt test` catches every kind of damage to the migrated data."""

from __future__ import annotations

import pytest

from helpers.legacy_data import make_tenant, photo, photos, set_images

U = "https://images.example.com/"


def failing_tests(result) -> dict[str, int]:
    """{test name: failures} for the tests that did not pass."""
    return {r.node.name: r.failures for r in result.node_results() if r.status != "pass"}


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    make_tenant(conn, "user_1", {pid: photos(pid, 3, "user_1") for pid in range(1, 5)})
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2"), 2: [photo(U + "ok", 0), {"order": 1}]})
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success
    assert dbt("test").success


def test_a_deleted_row_fails_no_lost_images(conn, dbt, migrated, rebuild_user_1):
    conn.execute("delete from user_1.product_images where product_id = 2 and position = 1")
    failed = failing_tests(dbt("test"))
    assert failed["no_lost_images_product_images_"] == 1
    assert "positions_contiguous_product_images_" in failed


def test_a_duplicated_row_fails_no_lost_images(conn, dbt, migrated, rebuild_user_1):
    conn.execute(
        "insert into user_1.product_images (product_id, url, position, is_label, label_source, legacy_element, "
        "source_index) "
        "select product_id, url, 3, false, 'rule', legacy_element, source_index from user_1.product_images "
        "where product_id = 3 and position = 0"
    )
    # the copy also sits after the rule's label, which is then no longer the last image
    assert failing_tests(dbt("test")) == {
        "no_lost_images_product_images_": 1,
        "one_label_per_product_product_images_": 1,
    }


def test_a_second_label_fails_one_label_per_product(conn, dbt, migrated, rebuild_user_1):
    conn.execute("update user_1.product_images set is_label = true where product_id = 4 and position = 0")
    assert failing_tests(dbt("test")) == {"one_label_per_product_product_images_": 1}


@pytest.mark.parametrize(
    ("decided", "broken"),
    [
        pytest.param(
            # what the evidence decides (label_decisions_sql): the best-scoring photo above label_score_threshold
            "update user_1.product_images set label_score = case position when 1 then 0.95 else 0.01 end, "
            "is_label = (position = 1), label_source = 'evidence' where product_id = 3",
            "update user_1.product_images set is_label = (position = 2) where product_id = 3",
            id="an evidence label off the best photo",
        ),
        pytest.param(
            # "no label" is the evidence's only when every photo scores below label_score_floor (0.0015)
            "update user_1.product_images set label_score = 0.001, is_label = false, label_source = 'evidence' "
            "where product_id = 3",
            "update user_1.product_images set label_score = 0.3 where product_id = 3 and position = 0",
            id="no evidence label above the floor",
        ),
    ],
)
def test_evidence_decisions_that_break_the_scores_fail_one_label_per_product(
    conn, dbt, migrated, rebuild_user_1, decided, broken
):
    conn.execute(decided)
    assert failing_tests(dbt("test", "--select", "test_name:one_label_per_product")) == {}
    conn.execute(broken)
    assert failing_tests(dbt("test", "--select", "test_name:one_label_per_product")) == {
        "one_label_per_product_product_images_": 1
    }


def test_an_element_appended_after_the_run_is_reported(conn, dbt, migrated, rebuild_user_1):
    set_images(conn, "user_1", 1, photos(1, 3, "user_1") + [photo(U + "late", 3)])
    assert failing_tests(dbt("test")) == {"no_lost_images_product_images_": 1}


def test_a_removed_reject_fails_no_lost_images(conn, dbt, migrated, rebuild_user_1):
    conn.execute("delete from user_2.product_images_rejects")
    assert failing_tests(dbt("test")) == {"no_lost_images_product_images_": 1}


def test_an_orphan_product_id_fails_tenant_relationships(conn, dbt, migrated, rebuild_user_1):
    conn.execute("alter table user_1.product_images drop constraint product_images_product_id_fkey")
    try:
        conn.execute("insert into user_1.product_images (product_id, url, position) values (999, 'https://x/y', 0)")
        failed = failing_tests(dbt("test"))
        assert failed["tenant_relationships_product_images_product_id__id__products"] == 1
    finally:
        conn.execute("delete from user_1.product_images where product_id = 999")
        conn.execute(
            "alter table user_1.product_images add constraint product_images_product_id_fkey "
            "foreign key (product_id) references user_1.products (id) on delete cascade"
        )
