"""The GX witness checks where each photo is, not only that it is there.

Before 2026-12-07 the checkpoint passed (exit 0) with the first two photos of a
product swapped, the rule's label moved to another photo, the rows' source_index
scrambled or a reject's element replaced: the parity suite compared counts and
(product, url) pairs only, and the rows suite counted labels. These tests tamper
with a real migration and run the real checkpoint.
"""

from __future__ import annotations

import pytest

from helpers.legacy_data import JSON_NULL, make_tenant, photo, photos
from product_images.checks.checkpoints import CheckpointConfigError, run_checkpoint

U = "https://images.example.com/"

#: Orders the documented rule sorts: integers ascending (2 and 2.0 alike), array order breaking ties,
#: elements without an integer order (a string, a fraction, none) last, unusable elements skipped.
TRICKY_ORDERS = [
    photo(U + "string-order.jpg", "0"),
    photo(U + "two.jpg", 2),
    photo(U + "one-a.jpg", 1),
    {"order": 0},
    photo(U + "fraction.jpg", 1.5),
    photo(U + "one-b.jpg", 1.0),
    photo(U + "no-order.jpg"),
    photo(U + "zero.jpg", 0),
    None,
    photo("   ", 3),
]
#: Where the README's rule puts them, by url.
TRICKY_POSITIONS = [
    "zero.jpg",
    "one-a.jpg",
    "one-b.jpg",
    "two.jpg",
    "string-order.jpg",
    "fraction.jpg",
    "no-order.jpg",
]


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    make_tenant(
        conn,
        "user_1",
        {1: photos(1, 3, "user_1"), 2: photos(2, 3, "user_1"), 3: TRICKY_ORDERS, 4: JSON_NULL, 5: {"url": U + "x"}},
    )
    make_tenant(conn, "user_2", {1: [photo(U + "ok", 0), {"order": 1}, 5, [U + "in-an-array"]]})
    make_tenant(conn, "shop_9", {1: photos(1, 2, "shop_9")})
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images", "--vars", "{tenant_schema_regex: '^(user|shop)_[0-9]+$'}").success


@pytest.fixture
def restore(conn, dbt):
    """Rebuild every tenant's tables from its JSONB after a test tampered with them."""
    yield
    assert dbt(
        "run",
        "--select",
        "product_images",
        "--full-refresh",
        "--vars",
        "{allow_full_refresh: true, tenant_schema_regex: '^(user|shop)_[0-9]+$'}",
    ).success


def failures(report) -> dict[str, list[tuple[str, int | None, str]]]:
    """{check: [(tenant, product, problem)]} of the failed expectations."""
    return {
        outcome.check: sorted((f.tenant_schema, f.product_id, f.problem) for f in outcome.failures)
        for outcome in report.outcomes
        if not outcome.success
    }


def test_the_witness_puts_each_photo_where_the_model_does(conn, migrated, gx_dir):
    loaded = conn.execute("select url from user_1.product_images where product_id = 3 order by position").fetchall()
    assert [U + name for name in TRICKY_POSITIONS] == [row[0] for row in loaded]
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1", "user_2"], data_docs="none")
    assert report.success, failures(report)


def test_two_photos_swapped_are_named_with_their_positions(conn, migrated, gx_dir, restore):
    conn.execute("update user_1.product_images set position = 1 - position where product_id = 2 and position < 2")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1", "user_2"], data_docs="none")
    assert failures(report) == {
        "positions_follow_jsonb": [
            ("user_1", 2, f"position 0 holds {U}user_1/2/1.jpg, which the JSONB order puts at position 1"),
            ("user_1", 2, f"position 1 holds {U}user_1/2/0.jpg, which the JSONB order puts at position 0"),
        ]
    }


def test_a_scrambled_source_index_is_named(conn, migrated, gx_dir, restore):
    conn.execute(
        "update user_1.product_images set source_index = 1 - source_index where product_id = 1 and source_index < 2"
    )
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert failures(report) == {
        "positions_follow_jsonb": [
            ("user_1", 1, f"row {U}user_1/1/0.jpg comes from JSONB element 1, whose url is {U}user_1/1/1.jpg"),
            ("user_1", 1, f"row {U}user_1/1/1.jpg comes from JSONB element 0, whose url is {U}user_1/1/0.jpg"),
        ]
    }


def test_the_rules_label_moved_to_the_first_photo_is_named(conn, migrated, gx_dir, restore):
    assert conn.execute(
        "select position from user_1.product_images where product_id = 1 and is_label and label_source = 'rule'"
    ).fetchall() == [(2,)]
    conn.execute("update user_1.product_images set is_label = (position = 0) where product_id = 1")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert failures(report) == {
        "one_label_per_product": [
            (
                "user_1",
                1,
                "the rule labelled position 0, not the last loaded photo (position 2) nor, the product being "
                "doubtful, its best-scoring one",
            )
        ]
    }


def test_an_override_label_without_its_row_in_the_seed_is_named(conn, migrated, gx_dir, restore):
    conn.execute("update user_1.product_images set label_source = 'override' where product_id = 2")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert failures(report) == {
        "one_label_per_product": [
            ("user_1", 2, "label_source is override but label_overrides has no row for the image")
        ]
    }


def test_a_replaced_reject_element_is_named_both_ways(conn, migrated, gx_dir, restore):
    conn.execute("update user_2.product_images_rejects set element = '{\"order\": 9}' where source_index = 1")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_2"], data_docs="none")
    assert failures(report) == {
        "rejects_hold_their_elements": [
            ("user_2", 1, 'JSONB element 1 is not in product_images_rejects as it is: {"order": 1}'),
            ("user_2", 1, 'product_images_rejects holds {"order": 9} as element 1, which the JSONB does not'),
        ]
    }


def test_a_non_array_value_replaced_in_the_rejects_is_named(conn, migrated, gx_dir, restore):
    conn.execute("update user_1.product_images_rejects set element = '{}' where product_id = 5")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert [problem for _, _, problem in failures(report)["rejects_hold_their_elements"]] == [
        f'JSONB element (the whole images value) is not in product_images_rejects as it is: {{"url": "{U}x"}}',
        "product_images_rejects holds {} as element (the whole images value), which the JSONB does not",
    ]


def test_a_tenant_outside_the_default_regex_is_validated_when_the_vars_say_so(conn, migrated, gx_dir):
    default = run_checkpoint(gx_dir=gx_dir, data_docs="none")
    assert "shop_9" not in default.tenants
    report = run_checkpoint(gx_dir=gx_dir, data_docs="none", dbt_vars={"tenant_schema_regex": "^(user|shop)_[0-9]+$"})
    assert report.tenants == ["shop_9", "user_1", "user_2"]
    assert report.success, failures(report)
    only = run_checkpoint(
        gx_dir=gx_dir, data_docs="none", dbt_vars={"tenant_schema_regex": "^shop_", "extra_tenant_schemas": []}
    )
    assert only.tenants == ["shop_9"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"tenant_schema_regex": "("}, "tenant_schema_regex .* is no valid regular expression"),
        ({"tenant_schema_regex": 7}, "dbt var tenant_schema_regex must be a non-empty string; got 7"),
        ({"extra_tenant_schemas": "user_1"}, "dbt var extra_tenant_schemas must be a list of schema names"),
    ],
)
def test_bad_tenant_vars_are_a_configuration_error(migrated, gx_dir, given, message):
    with pytest.raises(CheckpointConfigError, match=message):
        run_checkpoint(gx_dir=gx_dir, data_docs="none", dbt_vars=given)
