"""The review page when the world changes under it (the real app over HTTP, a real PostgreSQL, real dbt): photos
added after the page showed a product, two sessions on one review list, a hand-edited list, and ``--apply`` with
another file than the project's.

Each test has sessions of its own and leaves the review list and the tables as it found them."""

from __future__ import annotations

import html
import io
import re
import threading

import httpx
import pytest
from starlette.testclient import TestClient

from helpers.legacy_data import make_tenant, photo, photos, set_images
from helpers.review import TOKEN, image_ids
from product_images.labels.overrides import read_overrides_file
from product_images.labels.review.app import TOKEN_HEADER
from product_images.labels.review.server import serve_review

U1 = "https://images.example.com/user_1/"


@pytest.fixture(scope="module")
def data(conn, dbt):
    make_tenant(conn, "user_1", {1: photos(1, 3, "user_1"), 2: photos(2, 3, "user_1"), 3: photos(3, 2, "user_1")})
    assert dbt("run", "--select", "product_images").success


def shown_urls(client: TestClient, product_id: int) -> list[str]:
    """The URLs of the photos the product's page shows, as its script sends them."""
    page = client.get(f"/review/user_1/{product_id}").text
    return [
        html.unescape(url) for url in re.findall(r'<li class="photo[^"]*" data-image-id="\d+" data-url="([^"]*)"', page)
    ]


def decide(client: TestClient, product_id: int, label: int | None, shown: list[str]) -> httpx.Response:
    body = {"tenant_schema": "user_1", "product_id": product_id, "label_image_id": label, "shown_urls": shown}
    return client.post("/api/decision", json=body, headers={TOKEN_HEADER: TOKEN})


def rows_of(path, product_id: int) -> list[tuple[str, bool, str]]:
    return [(row.url, row.is_label, row.note[:16]) for row in read_overrides_file(path) if row.product_id == product_id]


def test_a_decision_on_photos_that_changed_since_the_page_showed_them_is_refused(
    rebuild_user_1, open_session, review_list, conn, dbt
):
    # (rebuild_user_1 first: it rebuilds the tables once the review list is put back)
    client = open_session("alice")
    shown = shown_urls(client, 1)
    assert shown == [U1 + "1/0.jpg", U1 + "1/1.jpg", U1 + "1/2.jpg"]
    # meanwhile the seller adds the price-tag photo, and a run puts it in the tables (the rule flags it)
    set_images(conn, "user_1", 1, [*photos(1, 3, "user_1"), photo(U1 + "1/PRICE_TAG.jpg", 3)])
    assert dbt("run", "--select", "product_images").success
    before = review_list.read_bytes()
    # the reviewer, who saw three garment photos, clicks "no price tag"
    response = decide(client, 1, None, shown)
    assert response.status_code == 409
    assert response.json() == {
        "error": "the product's photos changed since the page showed them (1 added, 0 gone): "
        "reload the page and decide again; nothing was saved"
    }
    assert review_list.read_bytes() == before
    # a photo gone, or replaced, is a change too
    assert decide(client, 1, None, [*shown[:2], U1 + "1/other.jpg", shown[-1]]).status_code == 409
    # the body must name the photos shown
    response = client.post(
        "/api/decision",
        json={"tenant_schema": "user_1", "product_id": 1, "label_image_id": None},
        headers={TOKEN_HEADER: TOKEN},
    )
    assert response.status_code == 422 and "shown_urls" in response.json()["error"]
    # reloaded, the page shows the four photos: the decision covers them all
    shown = shown_urls(client, 1)
    assert len(shown) == 4
    response = decide(client, 1, image_ids(conn, "user_1", 1)[3], shown)
    assert response.status_code == 200, response.text
    assert [(url, is_label) for url, is_label, _ in rows_of(review_list, 1)] == [
        (U1 + "1/0.jpg", False),
        (U1 + "1/1.jpg", False),
        (U1 + "1/2.jpg", False),
        (U1 + "1/PRICE_TAG.jpg", True),
    ]


def test_undo_never_erases_another_sessions_later_decision(open_session, review_list, conn):
    alice, bob = open_session("alice"), open_session("bob")
    first, _, third = image_ids(conn, "user_1", 2)
    assert decide(alice, 2, first, shown_urls(alice, 2)).status_code == 200
    assert decide(bob, 2, third, shown_urls(bob, 2)).status_code == 200  # bob corrects alice
    bobs = rows_of(review_list, 2)
    assert [is_label for _, is_label, _ in bobs] == [False, False, True]
    assert {note for _, _, note in bobs} == {"reviewed by bob "}
    response = alice.post("/api/undo", json={}, headers={TOKEN_HEADER: TOKEN})
    assert response.status_code == 409
    assert response.json() == {
        "error": "someone changed this product's decision since (user_1 product 2, in the review list): "
        "nothing was undone; reload the page to see it"
    }
    assert rows_of(review_list, 2) == bobs
    # that decision cannot be undone any more; bob's undo still works (his rows are as he wrote them)
    assert alice.post("/api/undo", json={}, headers={TOKEN_HEADER: TOKEN}).json() == {
        "error": "nothing to undo in this session"
    }
    assert bob.post("/api/undo", json={}, headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert [(is_label, note) for _, is_label, note in rows_of(review_list, 2)] == [
        (True, "reviewed by alic"),
        (False, "reviewed by alic"),
        (False, "reviewed by alic"),
    ]


def test_a_session_sees_the_decisions_of_another_one(open_session, review_list):
    alice, bob = open_session("alice"), open_session("bob")
    assert "0 of 3 reviewed" in alice.get("/review/user_1/3").text
    assert decide(bob, 1, None, shown_urls(bob, 1)).status_code == 200
    assert decide(bob, 2, None, shown_urls(bob, 2)).status_code == 200
    # alice's page counts bob's decisions and sends her to the first product nobody decided
    assert "2 of 3 reviewed" in alice.get("/review/user_1/3").text
    assert alice.get("/", follow_redirects=False).headers["location"] == "/review/user_1/3"
    response = decide(alice, 3, None, shown_urls(alice, 3))
    assert response.json()["progress"] == "3 of 3 reviewed" and response.json()["next_url"] == "/done"


def test_a_hand_edited_list_with_a_key_twice_is_named_on_the_page(open_session, review_list):
    client = open_session("alice")
    text = (
        "tenant_schema,product_id,url,is_label,note\n"
        f"user_1,3,{U1}3/0.jpg,true,alice: the tag\n"
        f"user_1,3,{U1}3/0.jpg,false,bob: not a tag\n"
        f"user_1,3,{U1}3/1.jpg,false,bob\n"
    )
    review_list.write_text(text, encoding="utf-8")
    problem = (
        f"{review_list}: user_1 product 3 {U1}3/0.jpg is on lines 2 and 3; the list has one row per image: "
        "keep the right one and delete the other(s)"
    )
    page = client.get("/review/user_1/1")
    assert page.status_code == 200
    assert html.unescape(page.text).count(f"The review list cannot be used as it is: {problem}.") == 1
    response = decide(client, 1, None, shown_urls(client, 1))
    assert response.status_code == 409
    assert response.json() == {
        "error": f"seeds/label_overrides.csv cannot be used as it is: {problem}. Fix it, then reload; "
        "the decision is NOT saved"
    }
    assert review_list.read_text(encoding="utf-8") == text
    # fixed by hand: the page says nothing more, and decisions are saved again
    review_list.write_text(text.replace(f"user_1,3,{U1}3/0.jpg,false,bob: not a tag\n", ""), encoding="utf-8")
    assert "cannot be used as it is" not in client.get("/review/user_1/1").text
    assert decide(client, 1, None, shown_urls(client, 1)).status_code == 200


def test_apply_with_another_file_than_the_projects_is_refused(data, review_list, project_dir, tmp_path):
    mine = tmp_path / "my_review.csv"
    out = io.StringIO()

    def finish(url: str) -> None:  # the old behaviour served the page: end the session at once
        page = httpx.get(url + "done").text
        token = re.search(r'name="review-token" content="([^"]+)"', page)[1]
        httpx.post(url + "api/finish", json={}, headers={TOKEN_HEADER: token})

    before = review_list.read_bytes()
    code = serve_review(
        queue="all",
        port=0,
        apply=True,
        overrides_path=mine,
        project_dir=project_dir,
        profiles_dir=project_dir / "target" / "profiles",
        out=out,
        ready=lambda url: threading.Thread(target=finish, args=(url,)).start(),
    )
    assert code == 2
    assert out.getvalue() == (
        f"Error: --apply applies the project's {project_dir}/seeds/label_overrides.csv (the only file dbt seed "
        f"loads), not {mine}: drop --apply, or review into the project's file (leave out --file)\n"
    )
    assert not mine.exists() and review_list.read_bytes() == before
