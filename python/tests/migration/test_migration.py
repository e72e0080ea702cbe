"""The main job: `dbt run --select product_images` on a real PostgreSQL."""

from __future__ import annotations

import pytest

from helpers.dbt import run_log
from helpers.legacy_data import JSON_NULL, make_tenant, photo, photos

U = "https://images.example.com/"


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    """Tenants with well-formed, unusual and malformed JSONB, migrated once."""
    # roles are cluster-wide: another module (the demo) may have made it already
    conn.execute(
        "do $$ begin if not exists (select from pg_roles where rolname = 'reseller_app') then "
        "create role reseller_app nologin; end if; end $$"
    )
    make_tenant(
        conn,
        "user_1",
        {
            1: photos(1, 3),  # label = position 2
            2: photos(2, 1),  # one photo: no label
            3: None,  # SQL NULL: no images
            4: [],  # empty array: no images
            5: JSON_NULL,  # JSON null: no images
            6: [photo(U + "6/c", 3), photo(U + "6/a", 1), photo(U + "6/b", 2)],  # 1-based, shuffled
            7: [photo(U + "7/x", None), photo(U + "7/y", 1.5), photo(U + "7/z", "0"), photo(U + "7/a", 0)],
            8: [photo(U + "8/a", 0), photo(U + "8/b", 0), photo(U + "8/c", 0)],  # ties: array order
            9: [photo(U + "9/a", 0), photo(U + "9/a", 1)],  # same URL twice
        },
    )
    make_tenant(
        conn,
        "user_2",
        {
            1: {"url": U + "obj", "order": 0},  # not an array
            2: "just a string",
            3: 42,
            4: [photo(U + "4/a", 0), "bare string", None, 17, ["nested"]],
            5: [{"order": 0}, photo(None, 1), photo("", 2), photo("  \t", 3), photo(7, 4), photo(U + "5/ok", 5)],
            6: [
                photo(U + "6/a", 0, "yesterday"),
                photo(U + "6/b", 1, "2023-02-30T10:00:00Z"),
                photo(U + "6/c", 2, "2024-05-06T07:08:09+02:00"),
                photo(U + "6/d", 3, None),
                photo(U + "6/e", 4, 12345),
            ],
            7: [photo(U + "7/a", 0, caption="front", width=800)],
        },
    )
    conn.execute("revoke delete on user_2.products from reseller_app")
    make_tenant(conn, "template_tenant", {})
    make_tenant(conn, "user_archive", {1: photos(1, 2)})
    make_tenant(conn, "user_x", {1: photos(1, 2)})
    make_tenant(conn, "user_3", {1: photos(1, 2)})
    conn.execute("alter table user_3.products drop column images")  # already cleaned up
    conn.execute("create table user_3.product_images (id int, note text)")
    conn.execute("insert into user_3.product_images values (1, 'left alone')")
    conn.execute("create schema user_9")  # a tenant with no products table
    assert dbt("seed").success
    result = dbt("run", "--select", "product_images")
    assert result.success, result.node_results()[0].message if result.node_results() else result.exception
    return result


def test_only_tenant_schemas_are_migrated(conn, migrated):
    tables = conn.execute(
        "select table_schema from information_schema.tables "
        "where table_name = 'product_images' and table_type = 'BASE TABLE' order by 1"
    ).fetchall()
    assert [t[0] for t in tables] == ["template_tenant", "user_1", "user_2", "user_3"]
    log = run_log(conn)
    assert {tenant: row["status"] for tenant, row in log.items()} == {
        "template_tenant": "success",
        "user_1": "success",
        "user_2": "success",
        "user_3": "skipped",
        "user_9": "skipped",
    }
    assert log["user_9"]["message"] == "no products table: not a tenant yet"
    assert "already cleaned up" in log["user_3"]["message"]
    assert conn.execute("select * from user_3.product_images").fetchall() == [(1, "left alone")]


def test_positions_follow_legacy_order_with_missing_and_non_integer_last(conn, migrated):
    rows = conn.execute(
        "select product_id, url, position from user_1.product_images order by product_id, position"
    ).fetchall()
    by_product = {}
    for product_id, url, position in rows:
        by_product.setdefault(product_id, []).append((position, url))
    assert by_product[6] == [(0, U + "6/a"), (1, U + "6/b"), (2, U + "6/c")]
    # integer orders first (0 then ... none), then missing / non-integer in array order
    assert by_product[7] == [(0, U + "7/a"), (1, U + "7/x"), (2, U + "7/y"), (3, U + "7/z")]
    assert by_product[8] == [(0, U + "8/a"), (1, U + "8/b"), (2, U + "8/c")]
    assert by_product[9] == [(0, U + "9/a"), (1, U + "9/a")]
    assert set(by_product) == {1, 2, 6, 7, 8, 9}


def test_label_is_the_last_image_of_products_with_two_or_more(conn, migrated):
    labels = conn.execute(
        "select product_id, position, label_source from user_1.product_images where is_label order by product_id"
    ).fetchall()
    assert labels == [(1, 2, "rule"), (6, 2, "rule"), (7, 3, "rule"), (8, 2, "rule"), (9, 1, "rule")]
    assert conn.execute("select is_label from user_1.product_images where product_id = 2").fetchall() == [(False,)]


def test_every_malformed_element_is_a_reject_with_its_reason(conn, migrated):
    rejects = conn.execute(
        "select product_id, source_index, reason from user_2.product_images_rejects order by product_id, "
        "source_index nulls first"
    ).fetchall()
    assert rejects == [
        (1, None, "images is not an array (object)"),
        (2, None, "images is not an array (string)"),
        (3, None, "images is not an array (number)"),
        (4, 1, "element is not an object (string)"),
        (4, 2, "element is not an object (null)"),
        (4, 3, "element is not an object (number)"),
        (4, 4, "element is not an object (array)"),
        (5, 0, "url is missing"),
        (5, 1, "url is null"),
        (5, 2, "url is empty"),
        (5, 3, "url is empty"),
        (5, 4, "url is not a string (number)"),
    ]
    raw = conn.execute("select element from user_2.product_images_rejects where product_id = 1").fetchone()[0]
    assert raw == {"url": U + "obj", "order": 0}
    assert conn.execute("select count(*) from user_1.product_images_rejects").fetchone() == (0,)


def test_loaded_plus_rejected_equals_jsonb_elements_per_tenant(conn, migrated):
    for tenant, expected in (("user_1", 16), ("user_2", 20)):
        loaded = conn.execute(f"select count(*) from {tenant}.product_images").fetchone()[0]
        rejected = conn.execute(f"select count(*) from {tenant}.product_images_rejects").fetchone()[0]
        assert loaded + rejected == expected, tenant


def test_created_at_is_parsed_or_the_run_time(conn, migrated):
    rows = dict(conn.execute("select url, created_at from user_2.product_images where product_id = 6").fetchall())
    parsed = conn.execute("select timestamptz '2024-05-06T07:08:09+02:00'").fetchone()[0]
    assert rows[U + "6/c"] == parsed
    fallbacks = {rows[U + "6/a"], rows[U + "6/b"], rows[U + "6/d"], rows[U + "6/e"]}
    assert len(fallbacks) == 1 and fallbacks != {parsed}
    assert (
        conn.execute("select created_at from user_2.product_images where url = %s", (U + "5/ok",)).fetchone()[0]
        == conn.execute("select timestamptz '2024-03-01T10:00:00Z'").fetchone()[0]
    )


def test_legacy_element_is_kept_whole(conn, migrated):
    element = conn.execute("select legacy_element from user_2.product_images where product_id = 7").fetchone()[0]
    assert element == {
        "url": U + "7/a",
        "order": 0,
        "created_at": "2024-03-01T10:00:00Z",
        "caption": "front",
        "width": 800,
    }


def test_table_shape_constraints_indexes_and_grants(conn, migrated):
    columns = conn.execute(
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'user_1' and table_name = 'product_images' order by ordinal_position"
    ).fetchall()
    assert [c[:2] for c in columns] == [
        ("id", "bigint"),
        ("product_id", "bigint"),
        ("url", "text"),
        ("position", "integer"),
        ("is_label", "boolean"),
        ("label_source", "text"),
        ("alt_text", "text"),
        ("tags", "ARRAY"),
        ("mime_type", "text"),
        ("file_size", "bigint"),
        ("width", "integer"),
        ("height", "integer"),
        ("created_at", "timestamp with time zone"),
        ("updated_at", "timestamp with time zone"),
        ("source_index", "integer"),
        ("legacy_element", "jsonb"),
        ("exif_orientation", "smallint"),
        ("metadata_probed_at", "timestamp with time zone"),
        ("metadata_etag", "text"),
        ("metadata_error", "text"),
        ("metadata_claimed_by", "text"),
        ("metadata_claimed_until", "timestamp with time zone"),
        ("label_score", "real"),
        ("label_evidence", "jsonb"),
        ("label_detector", "text"),
        ("label_profile", "text"),
        ("label_detected_at", "timestamp with time zone"),
        ("label_etag", "text"),
        ("label_error", "text"),
        ("label_scores_pending", "boolean"),
        ("label_claimed_by", "text"),
        ("label_claimed_until", "timestamp with time zone"),
    ]
    constraints = dict(
        conn.execute(
            "select conname, pg_get_constraintdef(oid) from pg_constraint "
            "where conrelid = 'user_1.product_images'::regclass and contype in ('f', 'u', 'p')"
        ).fetchall()
    )
    assert (
        constraints["product_images_product_id_fkey"]
        == "FOREIGN KEY (product_id) REFERENCES user_1.products(id) ON DELETE CASCADE"
    )
    assert (
        constraints["product_images_product_id_position_key"]
        == 'UNIQUE (product_id, "position") DEFERRABLE INITIALLY DEFERRED'
    )
    indexes = dict(
        conn.execute(
            "select indexname, indexdef from pg_indexes where schemaname = 'user_1' and tablename = 'product_images'"
        ).fetchall()
    )
    assert indexes["product_images_is_label_idx"].endswith("USING btree (product_id) WHERE is_label")
    assert indexes["product_images_label_pending_idx"].endswith("USING btree (product_id) WHERE label_scores_pending")
    grants = conn.execute(
        "select privilege_type from information_schema.role_table_grants "
        "where table_schema = 'user_2' and table_name = 'product_images' and grantee = 'reseller_app' order by 1"
    ).fetchall()
    assert [g[0] for g in grants] == ["INSERT", "SELECT", "UPDATE"]
    # deleting a product deletes its images
    conn.execute("insert into user_1.products (id, title, images) values (100, 'gone', null)")
    conn.execute("insert into user_1.product_images (product_id, url, position) values (100, 'https://x/1', 0)")
    conn.execute("delete from user_1.products where id = 100")
    assert conn.execute("select count(*) from user_1.product_images where product_id = 100").fetchone() == (0,)


def test_union_view_covers_every_tenant(conn, migrated):
    counts = conn.execute(
        "select tenant_schema, count(*) from product_images.product_images group by 1 order by 1"
    ).fetchall()
    assert counts == [("user_1", 16), ("user_2", 8)]
    assert conn.execute("select count(*) from product_images.product_images_rejects").fetchone() == (12,)


def test_dbt_test_passes_on_a_clean_migration(dbt, migrated):
    result = dbt("test")
    assert result.success, [(r.node.name, r.message) for r in result.node_results() if r.status != "pass"]
