"""People's label decisions on their way from the review page to the tables, tried as the engineer running it at
2 a.m. would break them (the real app through Starlette's TestClient, a real PostgreSQL, real dbt on a copy of the
project): a decision made while `--apply`'s `dbt seed` runs, an `--apply` whose `dbt run` fails on a locked tenant
and its rerun, an undo after the decision was applied, an editor saving its older copy over a decision, the app
replacing the decided photo before the decision is applied, a tenant whose name needs quoting, and
`overrides diff` on what a hand edit gets wrong (a schema that is no tenant, a NULL note, Windows line endings).

The project copy of this module can have a slow `dbt seed` (while the table ``public.slow_seed`` exists, an
`on-run-start` hook of `dbt seed` sleeps: the time a big list takes to load) and has one lock retry (a locked
tenant fails in seconds). Each test leaves the review list as it found it, seeded and applied."""

from __future__ import annotations

import html
import io
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from helpers.dbt import copy_project, table_rows, write_overrides
from helpers.legacy_data import make_tenant, photos
from helpers.review import TOKEN, serve_with_apply
from product_images.cli import main
from product_images.connection import connect
from product_images.labels.overrides import read_overrides_file
from product_images.labels.review.app import TOKEN_HEADER
from product_images.labels.review.server import apply_decisions, serve_review

U1 = "https://images.example.com/user_1/"
RUN = ("run", "--select", "product_images")
LABELS = "product_id, position, is_label, label_source"
SEED_SLEEP = 3.0
"""Seconds the module's `dbt seed` spends between reading the file's checksum and loading it."""


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the dbt project whose `dbt seed` sleeps after its parse while ``public.slow_seed`` exists, and
    whose locked tenant fails at once."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    config = project / "dbt_project.yml"
    text = config.read_text(encoding="utf-8").replace("lock_retries: 5", "lock_retries: 1")
    hook = f"select pg_sleep(case when to_regclass($$public.slow_seed$$) is null then 0 else {SEED_SLEEP} end)"
    text += f"\non-run-start:\n  - \"{{{{ '{hook}' if flags.WHICH == 'seed' else 'select 1' }}}}\"\n"
    config.write_text(text, encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def data(conn, dbt):
    make_tenant(conn, "user_1", {product_id: photos(product_id, 3, "user_1") for product_id in (1, 2, 3)})
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2")})
    assert dbt(*RUN).success


@pytest.fixture
def review_list(seeded_review_list: Path) -> Path:
    """The review list, seeded and applied again when the test ends (conftest.py)."""
    return seeded_review_list


PHOTO = re.compile(r'<li class="photo[^"]*" data-image-id="(\d+)" data-url="([^"]*)"')
STATE = re.compile(r'data-shown-state="([0-9a-f]*)"')


def decide(client: TestClient, tenant: str, product_id: int, photo: int | None) -> httpx.Response:
    """What the page's script sends for a click on its photo number ``photo`` (0-based; None: "no price tag")."""
    page = client.get(f"/review/{tenant}/{product_id}")
    assert page.status_code == 200, page.text
    shown = [(int(image_id), html.unescape(url)) for image_id, url in PHOTO.findall(page.text)]
    body = {
        "tenant_schema": tenant,
        "product_id": product_id,
        "label_image_id": None if photo is None else shown[photo][0],
        "shown_urls": [url for _, url in shown],
        "shown_state": STATE.search(page.text).group(1),
    }
    return client.post("/api/decision", json=body, headers={TOKEN_HEADER: TOKEN})


def labels_of(conn, tenant: str, product_id: int) -> list[tuple[int, bool, str]]:
    rows = table_rows(conn, tenant, LABELS)
    return [(pos, is_label, source) for pid, pos, is_label, source in rows if pid == product_id]


def wait_for_the_seed_to_sleep(conn, timeout: float = 60.0) -> None:
    """Until `dbt seed` sleeps in its on-run-start hook: it has read the file's checksum, not loaded it yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = conn.execute(
            "select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
            "and query like '%%select pg\\_sleep(%%'"
        ).fetchone()
        if found:
            return
        time.sleep(0.05)
    raise AssertionError("dbt seed never reached its on-run-start hook")


def test_a_decision_made_while_dbt_seed_runs_is_not_loaded_under_the_checksum_of_the_file_before_it(
    review_list, open_session, conn, dbt, project_dir
):
    # alice ends her session with --apply: its `dbt seed` reads the list's checksum, then loads the file
    alice, bob = open_session("alice"), open_session("bob")
    assert decide(alice, "user_1", 1, 0).status_code == 200
    out = io.StringIO()
    applying = threading.Thread(
        target=apply_decisions,
        args=({"user_1"}, out),
        kwargs={"project_dir": project_dir, "profiles_dir": project_dir / "target" / "profiles"},
    )
    conn.execute("create table public.slow_seed ()")
    try:
        applying.start()
        wait_for_the_seed_to_sleep(conn)
        # meanwhile bob, on the same checkout, decides product 2 (its second photo) ...
        assert decide(bob, "user_1", 2, 1).status_code == 200
    finally:
        applying.join()
        conn.execute("drop table public.slow_seed")
    # ... and takes it back at once: the list is what alice's seed started from, byte for byte
    assert bob.post("/api/undo", json={}, headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert [row.product_id for row in read_overrides_file(review_list)] == [1, 1, 1]
    # the next run finds the file as seeded: it applies alice's decision, never bob's undone one
    assert dbt(*RUN).success
    assert labels_of(conn, "user_1", 1) == [(0, True, "override"), (1, False, "override"), (2, False, "override")]
    assert labels_of(conn, "user_1", 2) == [(0, False, "rule"), (1, False, "rule"), (2, True, "rule")]


def end_a_session_with_apply(project_dir: Path) -> tuple[int, str]:
    """`product-images labels review --queue all --apply`, ended at once with the page's Finish button: nobody
    decides anything. (The exit code, what it printed.)"""
    out = io.StringIO()

    def finish(url: str) -> None:
        page = httpx.get(url, follow_redirects=True).text
        token = re.search(r'name="review-token" content="([^"]+)"', page)[1]
        httpx.post(url + "api/finish", json={}, headers={TOKEN_HEADER: token})

    code = serve_with_apply(project_dir, "all", out, finish)
    return code, out.getvalue()


def test_an_apply_that_failed_on_a_locked_tenant_is_applied_by_the_next_session_with_apply(
    review_list, open_session, conn, project_dir
):
    assert decide(open_session("alice"), "user_1", 2, 0).status_code == 200
    out = io.StringIO()
    # alice's session ends with --apply while the app holds product 2's rows in a long transaction
    with connect() as app:
        app.execute("select id from user_1.product_images where product_id = 2 for update")
        outcome = apply_decisions(
            {"user_1"}, out, project_dir=project_dir, profiles_dir=project_dir / "target" / "profiles"
        )
    assert outcome.commands == [("dbt seed", True), ("dbt run --select product_images", False)]
    assert (
        "dbt run --select product_images failed (exit 1); the decisions stay in the file: once what dbt says above "
        "is dealt with, apply them with: dbt seed && dbt run --select product_images"
    ) in out.getvalue()
    assert [row.product_id for row in read_overrides_file(review_list)] == [2, 2, 2]
    assert labels_of(conn, "user_1", 2)[0] == (0, False, "rule")
    # the app's transaction is over; alice runs the review with --apply again, and finishes without deciding
    code, printed = end_a_session_with_apply(project_dir)
    assert code == 0, printed
    # it used to say "nothing to apply: no decision in this session" and exit 0, the decision still not applied
    assert "no decision in this session; applying the review list as it is: dbt seed && dbt run" in printed
    assert "applied: the reviewed images now have label_source = 'override'" in printed
    assert labels_of(conn, "user_1", 2) == [(0, True, "override"), (1, False, "override"), (2, False, "override")]


def test_overrides_diff_names_a_row_whose_tenant_is_no_tenant_whatever_its_name(review_list, dbt, conn):
    from product_images.labels.overrides import Override, write_overrides_file

    write_overrides_file(
        review_list,
        [
            Override("user_1", 1, U1 + "1/0.jpg", True, "right"),
            # the dbt schema: its product_images is the view over every tenant, which a run never writes to
            Override("product_images", 1, U1 + "1/0.jpg", True, "not a tenant"),
            # a typo with a double quote in it, as a hand edit makes them
            Override('user_1"', 1, U1 + "1/0.jpg", True, "a typo"),
        ],
    )
    assert dbt("seed").success
    assert dbt(*RUN).success  # the run ignores both rows without a word
    assert labels_of(conn, "user_1", 1)[0] == (0, True, "override")
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    assert (result.exit_code, result.stdout.splitlines()) == (
        3,
        [
            f"matches no image: product_images product 1 {U1}1/0.jpg is_label=true "
            "(product_images is not a tenant (tenant_schema_regex, extra_tenant_schemas): dbt run never writes it)",
            f'matches no image: user_1" product 1 {U1}1/0.jpg is_label=true '
            '(no table user_1".product_images: no such tenant)',
        ],
    ), result.output


def test_a_decision_undone_after_it_was_applied_is_not_shown_as_the_review_lists(
    review_list, open_session, conn, project_dir, dbt
):
    alice = open_session("alice")
    assert decide(alice, "user_1", 3, 0).status_code == 200
    outcome = apply_decisions(
        {"user_1"}, io.StringIO(), project_dir=project_dir, profiles_dir=project_dir / "target" / "profiles"
    )
    assert outcome.success
    assert labels_of(conn, "user_1", 3)[0] == (0, True, "override")
    # alice presses u: the decision leaves the list, the tables keep it until the next seed and run
    assert alice.post("/api/undo", json={}, headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert read_overrides_file(review_list) == []
    page = html.unescape(alice.get("/review/user_1/3").text)
    source = re.search(r'<span class="decision-source">— ([^<]*)</span>', page)[1]
    # it used to say "override (review list, applied)", as if the list still held the decision
    assert source == (
        "applied from the review list, which no longer holds it (undone, or deleted there): "
        "dbt seed && dbt run --select product_images decides this product again"
    )
    assert dbt("seed").success and dbt(*RUN).success
    assert labels_of(conn, "user_1", 3) == [(0, False, "rule"), (1, False, "rule"), (2, True, "rule")]
    source = re.search(r'<span class="decision-source">— ([^<]*)</span>', alice.get("/review/user_1/3").text)[1]
    assert source.startswith("the interim rule")


def test_overrides_diff_compares_a_note_as_dbt_seed_loads_it(review_list, dbt):
    # a hand-edited row whose note a spreadsheet wrote as NULL: dbt seed loads every "null" (any case, any
    # spaces around it) as NULL, which the loaded seed reads as an empty note
    review_list.write_text(
        f"tenant_schema,product_id,url,is_label,note\nuser_1,1,{U1}1/2.jpg,true, NULL \nuser_2,1,"
        "https://images.example.com/user_2/1/0.jpg,false,null\n",
        encoding="utf-8",
    )
    assert dbt("seed").success
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    # it used to say "changed: user_1 product 1 … note '' -> ' NULL '" and "run `dbt seed`" after every seed
    assert (result.exit_code, result.stdout) == (0, f"{review_list}: 2 row(s), the same as loaded\n"), result.output


def test_overrides_diff_agrees_with_dbt_run_on_a_list_whose_text_changed_but_not_its_rows(review_list, dbt):
    write_overrides(review_list.parent.parent, [("user_1", 1, U1 + "1/2.jpg", True, "by hand")])
    assert dbt("seed").success
    assert dbt(*RUN).success
    # the list opened and saved on Windows: the same row, with CRLF line endings
    review_list.write_bytes(review_list.read_bytes().replace(b"\n", b"\r\n"))
    refused = dbt(*RUN)
    assert not refused.success
    messages = " ".join(str(result.message) for result in refused.node_results())
    assert "seeds/label_overrides.csv changed since the last `dbt seed`" in messages
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    # before 2026-12-07: "the same as loaded", exit 0, while dbt run refused the file
    assert result.exit_code == 1, result.output
    assert "its rows are the ones loaded, but its text changed since the last `dbt seed`" in result.output
    assert dbt("seed").success  # what the message says to do
    assert dbt(*RUN).success
    assert CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)]).exit_code == 0


ODD = 'Shop "A" 1'
"""A tenant schema whose name needs quoting everywhere (capitals, a space, double quotes)."""


def test_a_decision_on_a_tenant_whose_name_needs_quoting_goes_to_its_tables(
    review_list, open_session, conn, dbt, monkeypatch
):
    odd_vars = ("--vars", '{extra_tenant_schemas: ["template_tenant", "Shop \\"A\\" 1"]}')
    monkeypatch.setenv("PRODUCT_IMAGES_EXTRA_TENANTS", f"template_tenant,{ODD}")
    url = "https://images.example.com/shop-a/1/"
    make_tenant(conn, ODD, {1: [{"url": f"{url}{i}.jpg", "order": i} for i in range(3)]})
    try:
        assert dbt(*RUN, *odd_vars).success
        client = open_session("alice")
        assert client.get("/review/Shop%20%22A%22%201/1").status_code == 200
        assert decide(client, ODD, 1, 0).status_code == 200
        assert [(row.tenant_schema, row.url, row.is_label) for row in read_overrides_file(review_list)] == [
            (ODD, f"{url}{i}.jpg", i == 0) for i in range(3)
        ]
        assert dbt("seed").success
        assert dbt(*RUN, *odd_vars).success
        assert labels_of(conn, ODD, 1) == [(0, True, "override"), (1, False, "override"), (2, False, "override")]
        result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
        assert (result.exit_code, result.stdout) == (0, f"{review_list}: 3 row(s), the same as loaded\n"), result.output
    finally:
        conn.execute(f'drop schema "{ODD.replace(chr(34), chr(34) * 2)}" cascade')


def test_a_decision_whose_photo_the_app_replaced_before_it_was_applied_flags_no_other_photo(
    review_list, rebuild_user_1, open_session, conn, dbt
):
    from helpers.legacy_data import photo, set_images

    assert decide(open_session("alice"), "user_1", 1, 1).status_code == 200  # 1/1.jpg is the price tag
    # before anyone applies it, the seller replaces that photo with a new one and moves the last photo first
    set_images(conn, "user_1", 1, [photo(U1 + "1/2.jpg", 0), photo(U1 + "1/NEW.jpg", 1), photo(U1 + "1/0.jpg", 2)])
    assert dbt("seed").success
    assert dbt(*RUN).success
    # the photos alice saw keep her word (not the price tag); the new one, which she never saw, is not hers
    assert labels_of(conn, "user_1", 1) == [(0, False, "override"), (1, False, "rule"), (2, False, "override")]
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    assert (result.exit_code, result.stdout.splitlines()) == (
        3,
        [f"matches no image: user_1 product 1 {U1}1/1.jpg is_label=true (no photo of the product has this URL)"],
    ), result.output


def test_a_decision_an_editor_saved_over_is_named_when_the_session_ends(review_list, project_dir):
    # bob has the list open in his editor (as it is now); alice decides product 1 in the page; bob saves
    bobs_copy = review_list.read_bytes()
    out = io.StringIO()

    def decide_then_finish(url: str) -> None:
        with httpx.Client(base_url=url) as client:
            page = client.get("review/user_1/1").text
            token = re.search(r'name="review-token" content="([^"]+)"', page)[1]
            shown = [(int(image_id), html.unescape(url)) for image_id, url in PHOTO.findall(page)]
            body = {
                "tenant_schema": "user_1",
                "product_id": 1,
                "label_image_id": shown[2][0],
                "shown_urls": [url for _, url in shown],
                "shown_state": STATE.search(page).group(1),
            }
            try:
                assert client.post("api/decision", json=body, headers={TOKEN_HEADER: token}).status_code == 200
                assert len(read_overrides_file(review_list)) == 3
                review_list.write_bytes(bobs_copy)  # the editor writes what it read before alice's decision
            finally:
                client.post("api/finish", json={}, headers={TOKEN_HEADER: token})

    code = serve_review(queue="all", port=0, project_dir=project_dir, out=out, ready=decide_then_finish)
    assert code == 0, out.getvalue()
    # the decision is gone from the list: the session says so, naming the product, where it used to say nothing
    assert (
        f"warning: 1 decision(s) of this session are no longer in {review_list} as they were saved (changed since "
        "by another session or a hand edit, or an editor saved an older copy over them): user_1 product 1; open "
        "those products again and decide them again if that was not meant"
    ) in out.getvalue()
