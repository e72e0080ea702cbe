"""Reruns, incremental adds, people's labels, the overrides seed, failures, --full-refresh."""

from __future__ import annotations

import pytest

from helpers.dbt import run_log, table_rows, write_overrides
from helpers.legacy_data import make_tenant, photo, photos, set_images

# A scenario: the tests build on each other: each rerun starts from the tables the last one left.
# Its tests run in the order written (conftest.py).
pytestmark = pytest.mark.scenario

U = "https://images.example.com/"
RUN = ("run", "--select", "product_images")


def run_ok(dbt):
    result = dbt(*RUN)
    assert result.success, [r.message for r in result.node_results()] or result.exception
    return result


@pytest.fixture(scope="module")
def tenants(conn, dbt):
    make_tenant(conn, "user_1", {pid: photos(pid, 3, "user_1") for pid in range(1, 6)})
    make_tenant(conn, "user_2", {pid: photos(pid, 2, "user_2") for pid in range(1, 4)})
    make_tenant(conn, "user_3", {1: photos(1, 4, "user_3")})
    make_tenant(conn, "template_tenant", {})
    assert dbt("seed").success
    run_ok(dbt)


def test_rerun_on_unchanged_jsonb_changes_nothing(conn, dbt, tenants):
    before = {t: table_rows(conn, t) for t in ("user_1", "user_2", "user_3")}
    rejects_before = conn.execute("select * from user_1.product_images_rejects").fetchall()
    run_ok(dbt)
    assert {t: table_rows(conn, t) for t in ("user_1", "user_2", "user_3")} == before
    assert conn.execute("select * from user_1.product_images_rejects").fetchall() == rejects_before
    log = run_log(conn)
    for tenant in ("user_1", "user_2", "user_3", "template_tenant"):
        # nothing changed: the watermark says so and the tenant's JSONB is not read
        assert (log[tenant]["status"], log[tenant]["mode"], log[tenant]["images_inserted"]) == (
            "success",
            "unchanged",
            None,
        ), tenant


def test_appended_element_is_inserted_and_the_label_moves(conn, dbt, tenants):
    others_before = [row for row in table_rows(conn, "user_1") if row[1] != 2]
    set_images(conn, "user_1", 2, photos(2, 3, "user_1") + [photo(U + "user_1/2/new.jpg", 3)])
    run_ok(dbt)
    rows = conn.execute(
        "select url, position, is_label, label_source from user_1.product_images where product_id = 2 order by position"
    ).fetchall()
    assert rows == [
        (U + "user_1/2/0.jpg", 0, False, "rule"),
        (U + "user_1/2/1.jpg", 1, False, "rule"),
        (U + "user_1/2/2.jpg", 2, False, "rule"),
        (U + "user_1/2/new.jpg", 3, True, "rule"),
    ]
    assert [row for row in table_rows(conn, "user_1") if row[1] != 2] == others_before
    log = run_log(conn)
    assert (log["user_1"]["products_changed"], log["user_1"]["images_inserted"]) == (1, 1)
    assert log["user_2"]["mode"] == "unchanged"


def test_an_element_inserted_first_takes_position_zero(conn, dbt, tenants):
    ids_before = dict(conn.execute("select url, id from user_1.product_images where product_id = 3").fetchall())
    set_images(
        conn,
        "user_1",
        3,
        [photo(U + "user_1/3/cover.jpg", 0)] + [photo(U + f"user_1/3/{i}.jpg", i + 1) for i in range(3)],
    )
    run_ok(dbt)
    rows = conn.execute(
        "select url, id, position, is_label from user_1.product_images where product_id = 3 order by position"
    ).fetchall()
    assert [(url, position, is_label) for url, _, position, is_label in rows] == [
        (U + "user_1/3/cover.jpg", 0, False),
        (U + "user_1/3/0.jpg", 1, False),
        (U + "user_1/3/1.jpg", 2, False),
        (U + "user_1/3/2.jpg", 3, True),
    ]
    assert {url: image_id for url, image_id, _, _ in rows if url in ids_before} == ids_before  # same rows, same ids


def test_a_label_set_by_a_person_survives_reruns_and_jsonb_changes(conn, dbt, tenants):
    conn.execute(
        "update user_1.product_images set is_label = (position = 0), label_source = 'app' where product_id = 4"
    )
    set_images(conn, "user_1", 4, photos(4, 3, "user_1") + [photo(U + "user_1/4/more.jpg", 3)])
    run_ok(dbt)
    rows = conn.execute(
        "select position, is_label, label_source from user_1.product_images where product_id = 4 order by position"
    ).fetchall()
    assert rows == [(0, True, "app"), (1, False, "app"), (2, False, "app"), (3, False, "rule")]
    assert dbt("test").success


def test_overrides_seed_wins_over_the_rule_and_can_be_withdrawn(conn, dbt, project_dir, tenants):
    write_overrides(
        project_dir,
        [
            ("user_2", 1, U + "user_2/1/1.jpg", False, "no price tag on this one"),
            ("user_2", 2, U + "user_2/2/0.jpg", True, "tag photographed first"),
        ],
    )
    assert dbt("seed").success
    run_ok(dbt)
    rows = conn.execute(
        "select product_id, position, is_label, label_source from user_2.product_images where product_id in (1, 2) "
        "order by 1, 2"
    ).fetchall()
    assert rows == [
        (1, 0, False, "rule"),
        (1, 1, False, "override"),
        (2, 0, True, "override"),
        (2, 1, False, "rule"),
    ]
    assert dbt("test").success
    write_overrides(project_dir, [])
    assert dbt("seed").success
    run_ok(dbt)
    rows = conn.execute(
        "select product_id, position, is_label, label_source from user_2.product_images where product_id in (1, 2) "
        "order by 1, 2"
    ).fetchall()
    assert rows == [(1, 0, False, "rule"), (1, 1, True, "rule"), (2, 0, False, "rule"), (2, 1, True, "rule")]


def test_duplicated_override_rows_are_refused_before_any_change(conn, dbt, project_dir, tenants):
    write_overrides(
        project_dir,
        [
            ("user_2", 3, U + "user_2/3/0.jpg", True, "a"),
            ("user_2", 3, U + "user_2/3/0.jpg", False, "b"),
        ],
    )
    assert dbt("seed").success
    before = table_rows(conn, "user_2")
    result = dbt(*RUN)
    assert not result.success
    message = result.node_results()[0].message
    assert "label_overrides" in message and "user_2, 3, " + U + "user_2/3/0.jpg" in message
    assert table_rows(conn, "user_2") == before
    write_overrides(project_dir, [])
    assert dbt("seed").success


def test_a_failing_tenant_is_rolled_back_alone_and_named(conn, dbt, tenants):
    make_tenant(conn, "user_4", {1: photos(1, 2, "user_4")})
    # Sabotage: the rejects table name is taken by a view, so user_4's first load
    # fails after product_images was created and filled.
    conn.execute("create view user_4.product_images_rejects as select 1 as id")
    set_images(conn, "user_2", 3, photos(3, 2, "user_2") + [photo(U + "user_2/3/late.jpg", 2)])
    result = dbt(*RUN)
    assert not result.success
    message = result.node_results()[0].message
    assert "failed in 1 of 5 tenant(s)" in message and "user_4" in message
    assert conn.execute("select to_regclass('user_4.product_images')").fetchone() == (None,)
    assert conn.execute("select count(*) from user_2.product_images where product_id = 3").fetchone() == (3,)
    log = run_log(conn)
    assert log["user_4"]["status"] == "error" and log["user_2"]["status"] == "success"
    # Fixed, the rerun resumes: user_4 loads, the others have nothing to do.
    conn.execute("drop view user_4.product_images_rejects")
    run_ok(dbt)
    log = run_log(conn)
    assert (log["user_4"]["mode"], log["user_4"]["images_inserted"]) == ("first_load", 2)
    assert (log["user_2"]["mode"], log["user_2"]["images_inserted"]) == ("unchanged", None)


def test_full_refresh_is_refused_without_the_var(conn, dbt, tenants):
    before = table_rows(conn, "user_1")
    result = dbt(*RUN, "--full-refresh")
    assert not result.success
    message = result.node_results()[0].message
    assert "Refusing --full-refresh" in message and "allow_full_refresh: true" in message
    assert table_rows(conn, "user_1") == before


def test_full_refresh_with_the_var_rebuilds_from_the_jsonb(conn, dbt, tenants):
    result = dbt(*RUN, "--full-refresh", "--vars", "{allow_full_refresh: true}")
    assert result.success
    assert run_log(conn)["user_1"]["mode"] == "full_refresh"
    # the person's label on product 4 is gone: that is what the var allows
    assert conn.execute("select count(*) from user_1.product_images where label_source = 'app'").fetchone() == (0,)
    assert dbt("test").success


def test_label_min_images_var(conn, dbt, tenants):
    result = dbt(*RUN, "--full-refresh", "--vars", "{allow_full_refresh: true, label_min_images: 4}")
    assert result.success
    labelled = conn.execute("select product_id from user_1.product_images where is_label order by 1").fetchall()
    assert labelled == [(2,), (3,), (4,)]  # the products with 4 images
    assert dbt("test", "--vars", "{label_min_images: 4}").success
    assert dbt(*RUN, "--full-refresh", "--vars", "{allow_full_refresh: true}").success


def test_the_rule_ignores_photos_the_app_added(conn, dbt, tenants):
    make_tenant(conn, "user_5", {1: photos(1, 3, "user_5")})
    run_ok(dbt)
    conn.execute(
        "insert into user_5.product_images (product_id, url, position) values (1, %s, 3)", (U + "user_5/1/app.jpg",)
    )
    set_images(conn, "user_5", 1, photos(1, 3, "user_5") + [photo(U + "user_5/1/new.jpg", 3)])
    run_ok(dbt)
    rows = conn.execute(
        "select url, position, is_label, label_source from user_5.product_images where product_id = 1 order by position"
    ).fetchall()
    assert rows == [
        (U + "user_5/1/0.jpg", 0, False, "rule"),
        (U + "user_5/1/1.jpg", 1, False, "rule"),
        (U + "user_5/1/2.jpg", 2, False, "rule"),
        (U + "user_5/1/new.jpg", 3, True, "rule"),
        (U + "user_5/1/app.jpg", 4, False, "app"),
    ]


def test_an_element_the_app_also_wrote_to_the_jsonb_is_not_loaded_twice(conn, dbt, tenants):
    conn.execute(
        "insert into user_5.product_images (product_id, url, position) values (1, %s, 5)", (U + "user_5/1/both.jpg",)
    )
    set_images(
        conn,
        "user_5",
        1,
        photos(1, 3, "user_5")
        + [
            photo(U + "user_5/1/new.jpg", 3),
            photo(U + "user_5/1/app.jpg", 4),
            photo(U + "user_5/1/both.jpg", 5),
        ],
    )
    run_ok(dbt)
    rows = conn.execute(
        "select url, position, source_index, label_source from user_5.product_images where product_id = 1 order by "
        "position"
    ).fetchall()
    assert [
        (url.rsplit("/", 1)[1], position, source_index, source) for url, position, source_index, source in rows
    ] == [
        ("0.jpg", 0, 0, "rule"),
        ("1.jpg", 1, 1, "rule"),
        ("2.jpg", 2, 2, "rule"),
        ("new.jpg", 3, 3, "rule"),
        ("app.jpg", 4, 4, "app"),
        ("both.jpg", 5, 5, "app"),
    ]
    result = dbt("test")
    assert result.success, [(r.node.name, r.failures) for r in result.node_results() if r.status != "pass"]


def test_a_table_made_by_an_older_version_gains_the_new_columns(conn, dbt, tenants):
    conn.execute("alter table user_3.product_images drop column metadata_error cascade, drop column exif_orientation")
    run_ok(dbt)
    columns = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'user_3' and table_name = "
            "'product_images'"
        ).fetchall()
    }
    assert {"metadata_error", "exif_orientation"} <= columns
    assert run_log(conn)["user_3"]["status"] == "success"
