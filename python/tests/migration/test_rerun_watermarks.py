"""A rerun costs what changed: untouched tenants are not read, and any change in one tenant is still loaded.

Each change below is made in one tenant among several: the run must load it in that
tenant (mode ``incremental``) and record every other tenant as ``unchanged``, with
their rows as they were.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from helpers.dbt import run_log, table_rows, write_overrides
from helpers.legacy_data import make_tenant, photo, photos, set_images

U = "https://images.example.com/"
RUN = ("run", "--select", "product_images")
TENANTS = ("user_1", "user_2", "user_3")


def run_ok(dbt):
    result = dbt(*RUN)
    assert result.success, [r.message for r in result.node_results()] or result.exception
    return result


def modes(conn) -> dict[str, str]:
    return {tenant: row["mode"] for tenant, row in run_log(conn).items() if tenant in TENANTS}


@pytest.fixture(scope="module")
def tenants(conn, dbt):
    for tenant in TENANTS:
        make_tenant(conn, tenant, {pid: photos(pid, 3, tenant) for pid in range(1, 6)})
    assert dbt("seed").success
    run_ok(dbt)
    assert modes(conn) == dict.fromkeys(TENANTS, "first_load")


def test_nothing_changed_means_no_tenant_is_read(conn, dbt, tenants):
    before = {tenant: table_rows(conn, tenant) for tenant in TENANTS}
    run_ok(dbt)
    log = run_log(conn)
    assert modes(conn) == dict.fromkeys(TENANTS, "unchanged")
    assert {log[t]["status"] for t in TENANTS} == {"success"}
    assert log["user_1"]["message"].startswith("unchanged since the last sync")
    assert {tenant: table_rows(conn, tenant) for tenant in TENANTS} == before
    # every tenant is still accounted for in the run log
    assert set(TENANTS) <= set(log)


@pytest.mark.parametrize(
    "change",
    ["insert a product", "update one element", "delete a product", "update another column"],
)
def test_a_change_in_one_tenant_is_loaded_and_only_there(conn, dbt, tenants, change):
    others_before = {tenant: table_rows(conn, tenant) for tenant in ("user_1", "user_3")}
    if change == "insert a product":
        set_images(conn, "user_2", 90, [photo(U + "user_2/90/a.jpg", 0)], insert=True)
    elif change == "update one element":
        images = photos(3, 3, "user_2")
        images[1] = photo(U + "user_2/3/replaced.jpg", 1)
        set_images(conn, "user_2", 3, images)
    elif change == "delete a product":
        conn.execute("delete from user_2.products where id = 5")
    else:
        conn.execute("update user_2.products set title = 'renamed' where id = 1")
    run_ok(dbt)
    assert modes(conn) == {"user_1": "unchanged", "user_2": "incremental", "user_3": "unchanged"}
    assert {tenant: table_rows(conn, tenant) for tenant in ("user_1", "user_3")} == others_before
    urls = {row[0] for row in conn.execute("select url from user_2.product_images")}
    jsonb_urls = {
        row[0]
        for row in conn.execute("select element ->> 'url' from user_2.products, jsonb_array_elements(images) element")
    }
    assert jsonb_urls <= urls
    if change == "update one element":
        # the new element is loaded; the row of the one it replaced left the JSONB and is deleted
        assert conn.execute(
            "select url, source_index from user_2.product_images where product_id = 3 and url like %s order by url",
            (U + "user_2/3/%",),
        ).fetchall() == [
            (U + "user_2/3/0.jpg", 0),
            (U + "user_2/3/2.jpg", 2),
            (U + "user_2/3/replaced.jpg", 1),
        ]
        assert run_log(conn)["user_2"]["images_deleted"] == 1
    # and the run after that finds user_2 unchanged again
    run_ok(dbt)
    assert modes(conn)["user_2"] == "unchanged"


def test_an_override_or_a_pending_score_is_not_skipped(conn, dbt, project_dir, tenants):
    url = U + "user_3/2/0.jpg"
    write_overrides(project_dir, [("user_3", 2, url, True, "the tag is first")])
    assert dbt("seed").success
    run_ok(dbt)
    assert modes(conn)["user_3"] == "incremental"
    assert conn.execute(
        "select is_label, label_source from user_3.product_images where url = %s", (url,)
    ).fetchone() == (
        True,
        "override",
    )
    run_ok(dbt)
    assert modes(conn)["user_3"] == "unchanged"

    conn.execute(
        "update user_1.product_images set label_score = 0.99, label_scores_pending = true "
        "where product_id = 4 and position = 0"
    )
    run_ok(dbt)
    assert modes(conn)["user_1"] == "incremental"
    assert conn.execute("select count(*) from user_1.product_images where label_scores_pending").fetchone() == (0,)

    write_overrides(project_dir, [])
    assert dbt("seed").success
    run_ok(dbt)
    assert modes(conn)["user_3"] == "incremental"
    assert conn.execute("select label_source from user_3.product_images where url = %s", (url,)).fetchone() != (
        "override",
    )


def test_a_recreated_sync_table_is_not_trusted(conn, dbt, tenants):
    """A tenant whose tables were dropped and loaded again has a new sync table: its old watermark does not count."""
    conn.execute("drop table user_3.product_images_sync, user_3.product_images_rejects, user_3.product_images cascade")
    run_ok(dbt)
    assert modes(conn)["user_3"] == "first_load"
    run_ok(dbt)
    assert modes(conn)["user_3"] == "unchanged"


def test_the_app_appending_while_runs_check_is_never_lost(conn, dbt, tenants, database):
    """The app appends photos to user_1 while runs go on: after a last run, every JSONB element is loaded."""
    stop = threading.Event()
    appended: list[str] = []

    def app() -> None:
        with psycopg.connect(dbname=database, autocommit=True) as app_conn:
            n = 0
            while not stop.is_set():
                url = f"{U}user_1/1/app-{n}.jpg"
                app_conn.execute(
                    "update user_1.products set images = images || %s::jsonb where id = 1",
                    (psycopg.types.json.Jsonb([photo(url, 100 + n)]),),
                )
                appended.append(url)
                n += 1
                stop.wait(0.05)

    writer = threading.Thread(target=app)
    writer.start()
    try:
        for _ in range(3):
            run_ok(dbt)
    finally:
        stop.set()
        writer.join()
    run_ok(dbt)
    loaded = {row[0] for row in conn.execute("select url from user_1.product_images where product_id = 1")}
    assert appended and set(appended) <= loaded
    run_ok(dbt)
    assert modes(conn)["user_1"] == "unchanged"


def union_view_rule_versions(conn) -> list[str]:
    """The xmin of each union view's rewrite rule: CREATE OR REPLACE VIEW writes a new one."""
    return [
        row[0]
        for row in conn.execute(
            "select rules.xmin::text from pg_rewrite as rules "
            "where rules.ev_class in ('product_images.product_images'::regclass, "
            "'product_images.product_images_rejects'::regclass) order by rules.ev_class"
        )
    ]


def test_the_union_views_are_rebuilt_only_when_the_tenants_change(conn, dbt, tenants):
    run_ok(dbt)
    before = union_view_rule_versions(conn)
    run_ok(dbt)
    assert union_view_rule_versions(conn) == before  # no tenant came or went: the views are left as they are
    make_tenant(conn, "user_4", {1: photos(1, 2, "user_4")})
    try:
        run_ok(dbt)
        assert union_view_rule_versions(conn) != before
        assert conn.execute(
            "select count(*) from product_images.product_images where tenant_schema = 'user_4'"
        ).fetchone() == (2,)
    finally:
        conn.execute("drop schema user_4 cascade")
    run_ok(dbt)
    assert conn.execute(
        "select count(*) from product_images.product_images where tenant_schema = 'user_4'"
    ).fetchone() == (0,)


def test_a_changed_sync_table_an_old_watermark_or_the_var_means_a_full_sync(conn, dbt, tenants):
    run_ok(dbt)
    assert modes(conn)["user_2"] == "unchanged"
    # rows of the sync table deleted (to force a reload): products did not change, the sync table did
    conn.execute("delete from user_2.product_images_sync where product_id = 2")
    run_ok(dbt)
    assert modes(conn)["user_2"] == "incremental"
    assert run_log(conn)["user_2"]["products_changed"] == 1
    run_ok(dbt)
    assert modes(conn)["user_2"] == "unchanged"
    # a watermark older than var watermark_max_age_hours is not trusted (and a fractional value is a real age)
    assert dbt(*RUN, "--vars", "{watermark_max_age_hours: 0.5}").success
    assert modes(conn) == dict.fromkeys(TENANTS, "unchanged")
    assert dbt(*RUN, "--vars", "{watermark_max_age_hours: 0.00001}").success
    assert modes(conn) == dict.fromkeys(TENANTS, "incremental")
    # and var skip_unchanged_tenants turns the check off
    assert dbt(*RUN, "--vars", "{skip_unchanged_tenants: false}").success
    assert modes(conn) == dict.fromkeys(TENANTS, "incremental")


def test_a_renamed_tenant_schema_is_named_anew_in_the_union_views(conn, dbt, tenants):
    run_ok(dbt)
    conn.execute("alter schema user_3 rename to user_5")
    try:
        run_ok(dbt)
        assert conn.execute(
            "select tenant_schema, count(*) from product_images.product_images "
            "where tenant_schema in ('user_3', 'user_5') group by 1"
        ).fetchall() == [("user_5", 15)]
    finally:
        conn.execute("alter schema user_5 rename to user_3")
    run_ok(dbt)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("{watermark_max_age_hours: 0}", "var watermark_max_age_hours must be a positive number of hours, got 0"),
        (
            "{watermark_max_age_hours: 'a day'}",
            "var watermark_max_age_hours must be a positive number of hours, got a day",
        ),
        ("{unchanged_check_tenants: 0}", "var unchanged_check_tenants must be a positive integer, got 0"),
        ("{unchanged_check_tenants: 2.5}", "var unchanged_check_tenants must be a positive integer, got 2.5"),
    ],
)
def test_a_bad_watermark_var_is_refused_naming_it(conn, dbt, tenants, variables, message, capfd):
    capfd.readouterr()
    result = dbt(*RUN, "--vars", variables)
    assert not result.success
    assert message in capfd.readouterr().out
