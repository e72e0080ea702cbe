"""Reruns, incremental adds, people's labels, the overrides seed, failures, --full-refresh.

Every test has its own tenant (TENANT below), loaded by the module's first run; user_1, user_2,
user_3 and template_tenant are quiet tenants no test changes, for "the others are untouched".
Every test leaves the database settled (each tenant's tables up to date with its JSONB, the
overrides seed empty, the default vars), so tests may run in any order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.dbt import run_log, table_rows, write_overrides
from helpers.legacy_data import make_tenant, photo, photos, set_images

U = "https://images.example.com/"
RUN = ("run", "--select", "product_images")
FULL_REFRESH = (*RUN, "--full-refresh", "--vars", "{allow_full_refresh: true}")

QUIET = ("user_1", "user_2", "user_3", "template_tenant")
"""Tenants no test changes (a --full-refresh rebuilds them, with the same rows)."""

TENANT = {
    "appended": "user_10",
    "inserted_first": "user_11",
    "person_label": "user_12",
    "overrides": "user_13",
    "duplicated_overrides": "user_14",
    "beside_failing": "user_15",
    "full_refresh": "user_16",
    "label_min_images": "user_17",
    "app_photo": "user_18",
    "app_photo_in_jsonb": "user_19",
    "older_version": "user_20",
    "removed": "user_21",
}
"""Each test's own tenant."""

FAILING = "user_4"
"""Created by test_a_failing_tenant_is_rolled_back_alone_and_named itself: its first load is the one that fails."""

TENANTS_BEFORE_FAILING = len(QUIET) + len(TENANT)
"""How many tenants the module's first run loads; the failing test's run sees one more."""


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
    t = TENANT
    make_tenant(conn, t["appended"], {pid: photos(pid, 3, t["appended"]) for pid in range(1, 6)})
    make_tenant(conn, t["inserted_first"], {pid: photos(pid, 3, t["inserted_first"]) for pid in range(1, 6)})
    make_tenant(conn, t["person_label"], {pid: photos(pid, 3, t["person_label"]) for pid in range(1, 6)})
    make_tenant(conn, t["overrides"], {pid: photos(pid, 2, t["overrides"]) for pid in range(1, 4)})
    make_tenant(
        conn, t["duplicated_overrides"], {pid: photos(pid, 2, t["duplicated_overrides"]) for pid in range(1, 4)}
    )
    make_tenant(conn, t["beside_failing"], {pid: photos(pid, 2, t["beside_failing"]) for pid in range(1, 4)})
    make_tenant(conn, t["full_refresh"], {pid: photos(pid, 3, t["full_refresh"]) for pid in range(1, 6)})
    # products 2, 3 and 4 have 4 images, 1 and 5 have 3
    make_tenant(
        conn,
        t["label_min_images"],
        {pid: photos(pid, 4 if pid in (2, 3, 4) else 3, t["label_min_images"]) for pid in range(1, 6)},
    )
    make_tenant(conn, t["app_photo"], {1: photos(1, 3, t["app_photo"])})
    make_tenant(conn, t["app_photo_in_jsonb"], {1: photos(1, 3, t["app_photo_in_jsonb"])})
    make_tenant(conn, t["older_version"], {1: photos(1, 4, t["older_version"])})
    make_tenant(conn, t["removed"], {1: photos(1, 4, t["removed"]), 2: photos(2, 2, t["removed"])})
    assert dbt("seed").success
    run_ok(dbt)


@pytest.fixture
def overrides(dbt, project_dir) -> Iterator[None]:
    """The test may write the overrides seed; it is emptied and seeded again after it."""
    yield
    write_overrides(project_dir, [])
    assert dbt("seed").success


def test_rerun_on_unchanged_jsonb_changes_nothing(conn, dbt, tenants):
    before = {t: table_rows(conn, t) for t in ("user_1", "user_2", "user_3")}
    rejects_before = conn.execute("select * from user_1.product_images_rejects").fetchall()
    run_ok(dbt)
    assert {t: table_rows(conn, t) for t in ("user_1", "user_2", "user_3")} == before
    assert conn.execute("select * from user_1.product_images_rejects").fetchall() == rejects_before
    log = run_log(conn)
    for tenant in QUIET:
        # nothing changed: the watermark says so and the tenant's JSONB is not read
        assert (log[tenant]["status"], log[tenant]["mode"], log[tenant]["images_inserted"]) == (
            "success",
            "unchanged",
            None,
        ), tenant


def test_appended_element_is_inserted_and_the_label_moves(conn, dbt, tenants):
    t = TENANT["appended"]
    others_before = [row for row in table_rows(conn, t) if row[1] != 2]
    set_images(conn, t, 2, photos(2, 3, t) + [photo(U + f"{t}/2/new.jpg", 3)])
    run_ok(dbt)
    rows = conn.execute(
        f"select url, position, is_label, label_source from {t}.product_images where product_id = 2 order by position"
    ).fetchall()
    assert rows == [
        (U + f"{t}/2/0.jpg", 0, False, "rule"),
        (U + f"{t}/2/1.jpg", 1, False, "rule"),
        (U + f"{t}/2/2.jpg", 2, False, "rule"),
        (U + f"{t}/2/new.jpg", 3, True, "rule"),
    ]
    assert [row for row in table_rows(conn, t) if row[1] != 2] == others_before
    log = run_log(conn)
    assert (log[t]["products_changed"], log[t]["images_inserted"]) == (1, 1)
    assert log["user_2"]["mode"] == "unchanged"


def test_an_element_inserted_first_takes_position_zero(conn, dbt, tenants):
    t = TENANT["inserted_first"]
    ids_before = dict(conn.execute(f"select url, id from {t}.product_images where product_id = 3").fetchall())
    set_images(
        conn,
        t,
        3,
        [photo(U + f"{t}/3/cover.jpg", 0)] + [photo(U + f"{t}/3/{i}.jpg", i + 1) for i in range(3)],
    )
    run_ok(dbt)
    rows = conn.execute(
        f"select url, id, position, is_label from {t}.product_images where product_id = 3 order by position"
    ).fetchall()
    assert [(url, position, is_label) for url, _, position, is_label in rows] == [
        (U + f"{t}/3/cover.jpg", 0, False),
        (U + f"{t}/3/0.jpg", 1, False),
        (U + f"{t}/3/1.jpg", 2, False),
        (U + f"{t}/3/2.jpg", 3, True),
    ]
    assert {url: image_id for url, image_id, _, _ in rows if url in ids_before} == ids_before  # same rows, same ids


def test_a_label_set_by_a_person_survives_reruns_and_jsonb_changes(conn, dbt, tenants):
    t = TENANT["person_label"]
    conn.execute(f"update {t}.product_images set is_label = (position = 0), label_source = 'app' where product_id = 4")
    set_images(conn, t, 4, photos(4, 3, t) + [photo(U + f"{t}/4/more.jpg", 3)])
    run_ok(dbt)
    rows = conn.execute(
        f"select position, is_label, label_source from {t}.product_images where product_id = 4 order by position"
    ).fetchall()
    assert rows == [(0, True, "app"), (1, False, "app"), (2, False, "app"), (3, False, "rule")]
    assert dbt("test").success


def test_overrides_seed_wins_over_the_rule_and_can_be_withdrawn(conn, dbt, project_dir, tenants, overrides):
    t = TENANT["overrides"]
    write_overrides(
        project_dir,
        [
            (t, 1, U + f"{t}/1/1.jpg", False, "no price tag on this one"),
            (t, 2, U + f"{t}/2/0.jpg", True, "tag photographed first"),
        ],
    )
    assert dbt("seed").success
    run_ok(dbt)
    rows = conn.execute(
        f"select product_id, position, is_label, label_source from {t}.product_images where product_id in (1, 2) "
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
        f"select product_id, position, is_label, label_source from {t}.product_images where product_id in (1, 2) "
        "order by 1, 2"
    ).fetchall()
    assert rows == [(1, 0, False, "rule"), (1, 1, True, "rule"), (2, 0, False, "rule"), (2, 1, True, "rule")]


def test_duplicated_override_rows_are_refused_before_any_change(conn, dbt, project_dir, tenants, overrides):
    t = TENANT["duplicated_overrides"]
    write_overrides(
        project_dir,
        [
            (t, 3, U + f"{t}/3/0.jpg", True, "a"),
            (t, 3, U + f"{t}/3/0.jpg", False, "b"),
        ],
    )
    assert dbt("seed").success
    before = table_rows(conn, t)
    result = dbt(*RUN)
    assert not result.success
    message = result.node_results()[0].message
    assert "label_overrides" in message and f"{t}, 3, " + U + f"{t}/3/0.jpg" in message
    assert table_rows(conn, t) == before


def test_a_failing_tenant_is_rolled_back_alone_and_named(conn, dbt, tenants):
    other = TENANT["beside_failing"]
    make_tenant(conn, FAILING, {1: photos(1, 2, FAILING)})
    # Sabotage: the rejects table name is taken by a view, so user_4's first load
    # fails after product_images was created and filled.
    conn.execute(f"create view {FAILING}.product_images_rejects as select 1 as id")
    try:
        set_images(conn, other, 3, photos(3, 2, other) + [photo(U + f"{other}/3/late.jpg", 2)])
        result = dbt(*RUN)
        assert not result.success
        message = result.node_results()[0].message
        assert f"failed in 1 of {TENANTS_BEFORE_FAILING + 1} tenant(s)" in message and FAILING in message
        assert conn.execute(f"select to_regclass('{FAILING}.product_images')").fetchone() == (None,)
        assert conn.execute(f"select count(*) from {other}.product_images where product_id = 3").fetchone() == (3,)
        log = run_log(conn)
        assert log[FAILING]["status"] == "error" and log[other]["status"] == "success"
    finally:
        # Fixed, the rerun resumes: user_4 loads, the others have nothing to do.
        conn.execute(f"drop view {FAILING}.product_images_rejects")
    run_ok(dbt)
    log = run_log(conn)
    assert (log[FAILING]["mode"], log[FAILING]["images_inserted"]) == ("first_load", 2)
    assert (log[other]["mode"], log[other]["images_inserted"]) == ("unchanged", None)


def test_full_refresh_is_refused_without_the_var(conn, dbt, tenants):
    before = table_rows(conn, "user_1")
    result = dbt(*RUN, "--full-refresh")
    assert not result.success
    message = result.node_results()[0].message
    assert "Refusing --full-refresh" in message and "allow_full_refresh: true" in message
    assert table_rows(conn, "user_1") == before


def test_full_refresh_with_the_var_rebuilds_from_the_jsonb_and_drops_a_persons_label(conn, dbt, tenants):
    t = TENANT["full_refresh"]
    conn.execute(f"update {t}.product_images set is_label = (position = 0), label_source = 'app' where product_id = 4")
    assert conn.execute(f"select count(*) from {t}.product_images where label_source = 'app'").fetchone() == (3,)
    result = dbt(*FULL_REFRESH)
    assert result.success
    assert run_log(conn)[t]["mode"] == "full_refresh"
    # the person's label on product 4 is gone: that is what the var allows
    assert conn.execute(f"select count(*) from {t}.product_images where label_source = 'app'").fetchone() == (0,)
    assert dbt("test").success


def test_label_min_images_var(conn, dbt, tenants):
    t = TENANT["label_min_images"]
    try:
        result = dbt(*RUN, "--full-refresh", "--vars", "{allow_full_refresh: true, label_min_images: 4}")
        assert result.success
        labelled = conn.execute(f"select product_id from {t}.product_images where is_label order by 1").fetchall()
        assert labelled == [(2,), (3,), (4,)]  # the products with 4 images
        assert dbt("test", "--vars", "{label_min_images: 4}").success
    finally:
        assert dbt(*FULL_REFRESH).success  # every tenant's labels by the default rule again


def test_a_photo_the_seller_removed_from_the_jsonb_loses_its_row_and_the_apps_own_photo_stays(conn, dbt, tenants):
    # Until the cut-over the JSONB says which photos a product has: a row whose element left it
    # would be published and written back to the JSONB by restore_images_jsonb. A row the app
    # added (never in the JSONB) is the app's.
    t = TENANT["removed"]
    ids = dict(conn.execute(f"select url, id from {t}.product_images where product_id = 1").fetchall())
    app_id = conn.execute(
        f"insert into {t}.product_images (product_id, url, position) values (1, %s, 4) returning id",
        (U + f"{t}/1/app.jpg",),
    ).fetchone()[0]
    other_before = [row for row in table_rows(conn, t) if row[1] == 2]
    try:
        original = photos(1, 4, t)
        set_images(conn, t, 1, [original[0], original[2], original[3]])  # the seller deleted 1.jpg
        run_ok(dbt)
        assert conn.execute(
            f"select id, url, position, is_label, source_index from {t}.product_images where product_id = 1 "
            "order by position"
        ).fetchall() == [
            (ids[U + f"{t}/1/0.jpg"], U + f"{t}/1/0.jpg", 0, False, 0),
            (ids[U + f"{t}/1/2.jpg"], U + f"{t}/1/2.jpg", 1, False, 1),
            (ids[U + f"{t}/1/3.jpg"], U + f"{t}/1/3.jpg", 2, True, 2),
            (app_id, U + f"{t}/1/app.jpg", 3, False, None),
        ]
        assert [row for row in table_rows(conn, t) if row[1] == 2] == other_before
        log = run_log(conn)
        assert (log[t]["images_deleted"], log[t]["images_inserted"], log[t]["images_total"]) == (1, 0, 6)

        set_images(conn, t, 1, [original[0], original[2]])  # then the label, 3.jpg: the rule picks 2.jpg
        run_ok(dbt)
        assert conn.execute(
            f"select url, is_label from {t}.product_images where product_id = 1 and source_index is not null "
            "order by position"
        ).fetchall() == [(U + f"{t}/1/0.jpg", False), (U + f"{t}/1/2.jpg", True)]
        assert run_log(conn)[t]["images_deleted"] == 1
    finally:
        conn.execute(f"delete from {t}.product_images where id = %s", (app_id,))
        set_images(conn, t, 1, photos(1, 4, t))
        run_ok(dbt)


def app_photo_then_jsonb_append(conn, dbt, t):
    """The app adds a photo at position 3; then the JSONB gains a new element with order 3; a run."""
    conn.execute(
        f"insert into {t}.product_images (product_id, url, position) values (1, %s, 3)", (U + f"{t}/1/app.jpg",)
    )
    set_images(conn, t, 1, photos(1, 3, t) + [photo(U + f"{t}/1/new.jpg", 3)])
    run_ok(dbt)


def test_the_rule_ignores_photos_the_app_added(conn, dbt, tenants):
    t = TENANT["app_photo"]
    try:
        app_photo_then_jsonb_append(conn, dbt, t)
        rows = conn.execute(
            f"select url, position, is_label, label_source from {t}.product_images where product_id = 1 "
            "order by position"
        ).fetchall()
        assert rows == [
            (U + f"{t}/1/0.jpg", 0, False, "rule"),
            (U + f"{t}/1/1.jpg", 1, False, "rule"),
            (U + f"{t}/1/2.jpg", 2, False, "rule"),
            (U + f"{t}/1/new.jpg", 3, True, "rule"),
            (U + f"{t}/1/app.jpg", 4, False, "app"),
        ]
    finally:
        # A photo only the app knows is a lost image to `dbt test` (no_lost_images): the app takes it back.
        conn.execute(f"delete from {t}.product_images where source_index is null")


def test_an_element_the_app_also_wrote_to_the_jsonb_is_not_loaded_twice(conn, dbt, tenants):
    t = TENANT["app_photo_in_jsonb"]
    app_photo_then_jsonb_append(conn, dbt, t)  # as in test_the_rule_ignores_photos_the_app_added
    conn.execute(
        f"insert into {t}.product_images (product_id, url, position) values (1, %s, 5)", (U + f"{t}/1/both.jpg",)
    )
    set_images(
        conn,
        t,
        1,
        photos(1, 3, t)
        + [
            photo(U + f"{t}/1/new.jpg", 3),
            photo(U + f"{t}/1/app.jpg", 4),
            photo(U + f"{t}/1/both.jpg", 5),
        ],
    )
    run_ok(dbt)
    rows = conn.execute(
        f"select url, position, source_index, label_source from {t}.product_images where product_id = 1 order by "
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
    t = TENANT["older_version"]
    conn.execute(f"alter table {t}.product_images drop column metadata_error cascade, drop column exif_orientation")
    run_ok(dbt)
    columns = {
        row[0]
        for row in conn.execute(
            f"select column_name from information_schema.columns where table_schema = '{t}' and table_name = "
            "'product_images'"
        ).fetchall()
    }
    assert {"metadata_error", "exif_orientation"} <= columns
    assert run_log(conn)[t]["status"] == "success"
