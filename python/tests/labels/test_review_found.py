"""The review page and its review list, tried as a user would break them (the real app through Starlette's
TestClient, a real PostgreSQL, real dbt): two sessions deciding one product, the app changing a product between
the page and the decision, a hand-edited list, odd and huge requests.

Each test has sessions of its own and leaves the review list and the tables as it found them."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from starlette.testclient import TestClient

from helpers.legacy_data import make_tenant, photo, photos, set_images
from helpers.review import TOKEN
from product_images.labels.overrides import read_overrides_file
from product_images.labels.review.app import TOKEN_HEADER

U1 = "https://images.example.com/user_1/"
HEADER = "tenant_schema,product_id,url,is_label,note\n"


@pytest.fixture(scope="module")
def data(conn, dbt):
    make_tenant(
        conn,
        "user_1",
        {1: photos(1, 3, "user_1"), 2: photos(2, 3, "user_1"), 3: photos(3, 2, "user_1"), 4: photos(4, 3, "user_1")},
    )
    assert dbt("run", "--select", "product_images").success


PHOTO = re.compile(r'<li class="photo[^"]*" data-image-id="(\d+)" data-url="([^"]*)"')
STATE = re.compile(r'data-shown-state="([0-9a-f]*)"')


class Page(list):
    """(image id, URL) of the photos a product's page shows, in page order; ``state``: its data-shown-state."""

    state: str


def shown(client: TestClient, product_id: int) -> Page:
    """The photos the product's page shows, and what it shows of the decision, as its script reads them."""
    page = client.get(f"/review/user_1/{product_id}")
    assert page.status_code == 200, page.text
    result = Page((int(image_id), html.unescape(url)) for image_id, url in PHOTO.findall(page.text))
    result.state = STATE.search(page.text).group(1)
    return result


def decide(client: TestClient, product_id: int, label: int | None, page: Page) -> httpx.Response:
    """The POST the page's script sends for a click on photo ``label`` (None: "no price tag")."""
    body = {
        "tenant_schema": "user_1",
        "product_id": product_id,
        "label_image_id": label,
        "shown_urls": [url for _, url in page],
        "shown_state": page.state,
    }
    return client.post("/api/decision", json=body, headers={TOKEN_HEADER: TOKEN})


def rows_of(path, product_id: int) -> list[tuple[str, bool]]:
    return [(row.url, row.is_label) for row in read_overrides_file(path) if row.product_id == product_id]


def test_a_decision_made_on_a_page_shown_before_another_sessions_decision_is_refused(open_session, review_list):
    alice, bob = open_session("alice"), open_session("bob")
    alices_page, bobs_page = shown(alice, 2), shown(bob, 2)  # both open product 2
    assert decide(alice, 2, alices_page[0][0], alices_page).status_code == 200
    alices_rows = rows_of(review_list, 2)
    assert alices_rows == [(U1 + "2/0.jpg", True), (U1 + "2/1.jpg", False), (U1 + "2/2.jpg", False)]
    # bob, whose page still shows the rule's pick and no decision, clicks "no price tag"
    response = decide(bob, 2, None, bobs_page)
    # alice's decision must not vanish without bob (or alice) ever being told
    assert response.status_code == 409, response.text
    assert rows_of(review_list, 2) == alices_rows


def test_a_photo_flagged_in_the_app_since_the_page_showed_it_refuses_the_decision(
    rebuild_user_1, open_session, review_list, conn
):
    client = open_session("alice")
    page = shown(client, 1)
    before = review_list.read_bytes()
    # meanwhile a colleague flags the first photo as the price tag in the app
    conn.execute(
        "update user_1.product_images set is_label = (position = 0), label_source = 'app' where product_id = 1"
    )
    response = decide(client, 1, None, page)  # the reviewer, who never saw that, clicks "no price tag"
    assert response.status_code == 409, response.text
    assert review_list.read_bytes() == before


def test_photos_reordered_by_the_app_since_the_page_showed_them_refuse_the_decision(
    rebuild_user_1, open_session, review_list, conn
):
    client = open_session("alice")
    page = shown(client, 4)
    first_id, first_url = page[0]
    assert first_url == U1 + "4/0.jpg"
    before = review_list.read_bytes()
    # the app reorders the product by rewriting each position's URL: 4/2.jpg first, then 4/0.jpg, then 4/1.jpg
    order = [U1 + "4/2.jpg", U1 + "4/0.jpg", U1 + "4/1.jpg"]
    set_images(conn, "user_1", 4, [photo(url, number) for number, url in enumerate(order)])
    with conn.transaction():
        conn.execute("update user_1.product_images set url = url || '#moving' where product_id = 4")
        for position, url in enumerate(order):
            conn.execute(
                "update user_1.product_images set url = %s where product_id = 4 and position = %s", (url, position)
            )
    # the reviewer clicks the first photo, the one the page showed as 4/0.jpg
    response = decide(client, 4, first_id, page)
    assert response.status_code == 409, response.text  # it used to flag 4/2.jpg, a photo nobody picked
    assert "reordered" in response.json()["error"]
    assert review_list.read_bytes() == before


def test_a_new_decision_replaces_the_rows_of_photos_the_product_no_longer_has(
    rebuild_user_1, open_session, review_list, conn
):
    client = open_session("alice")
    page = shown(client, 3)
    assert decide(client, 3, page[0][0], page).status_code == 200  # 3/0.jpg is the price tag
    # the app deletes that photo (its JSONB element); then, as a dbt run does, its row goes and the JSONB is
    # recorded as synced (a real run here would refuse the review list, edited but not seeded)
    set_images(conn, "user_1", 3, [photo(U1 + "3/1.jpg", 1)])
    conn.execute("delete from user_1.product_images where product_id = 3 and url = %s", (U1 + "3/0.jpg",))
    conn.execute(
        "update user_1.product_images_sync set images_md5 = "
        "(select md5(images::text) from user_1.products where id = 3) where product_id = 3"
    )
    page = shown(client, 3)
    assert [url for _, url in page] == [U1 + "3/1.jpg"]
    assert decide(client, 3, None, page).status_code == 200  # decided again: no price tag
    # the list holds the last decision only: no leftover "3/0.jpg is the price tag" that would flag the
    # photo again if the app put it back
    assert rows_of(review_list, 3) == [(U1 + "3/1.jpg", False)]


def test_a_list_saved_with_a_byte_order_mark_is_read_as_dbt_seed_reads_it(open_session, review_list):
    from dbt_common.clients.agate_helper import from_csv

    client = open_session("alice")
    # a spreadsheet saves the hand-edited list as UTF-8 with a byte order mark; dbt seed reads it as it is
    review_list.write_text("\ufeff" + HEADER + f"user_1,3,{U1}3/0.jpg,true,by hand\n", encoding="utf-8")
    assert from_csv(str(review_list), []).column_names[0] == "tenant_schema"
    page = client.get("/review/user_1/1")
    assert "cannot be used as it is" not in page.text
    response = decide(client, 1, None, shown(client, 1))
    assert response.status_code == 200, response.text
    assert rows_of(review_list, 3) == [(U1 + "3/0.jpg", True)]
    assert len(rows_of(review_list, 1)) == 3


def test_a_huge_request_is_refused_before_it_is_read(open_session, review_list):
    client = open_session("alice")
    before = review_list.read_bytes()
    body = b'{"tenant_schema": "user_1", "product_id": 1, "label_image_id": null, "shown_urls": ["'
    body += b"x" * (64 * 1024 * 1024) + b'"]}'
    response = client.post(
        "/api/decision", content=body, headers={TOKEN_HEADER: TOKEN, "content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert "too large" in response.json()["error"]
    assert review_list.read_bytes() == before


def test_a_photo_added_in_the_app_but_not_yet_run_refuses_the_decision(rebuild_user_1, open_session, review_list, conn):
    client = open_session("alice")
    page = shown(client, 2)
    before = review_list.read_bytes()
    # the seller adds the price-tag photo through the app (the JSONB); no dbt run yet
    set_images(conn, "user_1", 2, [*photos(2, 3, "user_1"), photo(U1 + "2/PRICE_TAG.jpg", 3)])
    response = decide(client, 2, None, page)
    assert response.status_code == 409, response.text
    assert response.json()["error"].startswith("the product's photos changed in products.images since the last dbt run")
    assert review_list.read_bytes() == before


def test_a_deeply_nested_body_is_a_400_not_a_server_error(open_session, review_list):
    client = open_session("alice")
    body = b"[" * 100_000 + b"]" * 100_000  # 200 kB, under the size limit
    response = client.post(
        "/api/decision", content=body, headers={TOKEN_HEADER: TOKEN, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "the body is not valid JSON"}
