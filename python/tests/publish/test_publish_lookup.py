"""A listing whose creation's answer was lost is found again by the product's reference (the stand-in's lookup, the
client's, a job's), and an upload holds no lock while the marketplace works: against the real PostgreSQL and the real
HTTP stand-in marketplace (products 201+ are made by each test, so the tests do not depend on each other)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from helpers.publishing import U, client_for, failed_task, new_product, statuses
from product_images.app.service import ProductImageService
from product_images.connection import connect
from product_images.publish.client import MarketplaceError
from product_images.publish.plans import listing_reference
from product_images.publish.tasks import JobOutcome, publish_product, run_job

T = "user_1"
FAST: dict[str, Any] = {"retry_wait": 0.0}


def listing_requests(market) -> list[tuple[str, str, int]]:
    """The stand-in's requests on listings (lookups included), in order."""
    return [request for request in market.requests if "/listings" in request[1]]


def lose_the_create_answer(conn, market, product_id: int) -> JobOutcome:
    """Publish a new product ``product_id``: the marketplace creates its listing (l-1), but the answer comes after
    the client's timeout and the client's retry finds the gateway down: the job stops at the listing task, whose
    outcome is unknown. The stand-in's rules are cleared afterwards."""
    new_product(conn, product_id)
    market.delay("create_listing", 1.5)
    market.fail("create_listing", status=503, times=100, after=1)
    with client_for(market, timeout=0.5, max_attempts=2) as client:
        outcome = publish_product(conn, T, product_id, "vinted", client, max_attempts=1, **FAST)[1]
    market.clear()
    assert failed_task(outcome).task_type == "create_listing"
    assert list(market.listings) == ["l-1"]
    deadline = time.monotonic() + 10
    while ("POST", "/vinted/listings", 201) not in market.requests:  # the late answer is logged when it is sent
        assert time.monotonic() < deadline, market.requests
        time.sleep(0.05)
    return outcome


def test_the_stand_in_finds_the_live_listings_of_a_reference_on_its_marketplace(market):
    with client_for(market) as vinted, client_for(market, "ebay") as ebay:
        assert vinted.find_listing("ref-a").body == {"listings": []}
        photo = vinted.upload_photo(f"{U}a.jpg", idempotency_key="k-1").body["photo_id"]
        for key, reference in (("k-2", "ref-a"), ("k-3", "ref-b")):
            vinted.create_listing({"reference": reference, "photo_ids": [photo]}, idempotency_key=key)
        found = vinted.find_listing("ref-a")
        assert (found.body, found.attempts, found.replayed) == (
            {"listings": [{"listing_id": "l-1", "reference": "ref-a", "photo_ids": [photo]}]},
            1,
            False,
        )
        assert ebay.find_listing("ref-a").body == {"listings": []}  # another marketplace's listing
        market.remove_listing("l-1")  # ended by the seller: not live any more
        assert vinted.find_listing("ref-a").body == {"listings": []}
    assert market.received == Counter({"k-1": 1, "k-2": 1, "k-3": 1})  # a lookup needs no key
    assert ("GET", "/vinted/listings?reference=ref-a", 200) in market.requests
    missing = httpx.get(f"{market.url}/vinted/listings")
    assert (missing.status_code, missing.json()) == (400, {"error": "one reference=... required"})
    with pytest.raises(ValueError, match="a lookup \\(find_listing\\) can be failed or delayed, not given 'hold'"):
        market.hold("find_listing")


def test_a_lookup_that_fails_is_retried_by_the_client_then_raised_retryable(market):
    market.fail("find_listing", status=503, times=3)
    with client_for(market, max_attempts=2) as client:
        with pytest.raises(
            MarketplaceError, match=r"^GET /vinted/listings: HTTP 503: .* \(after 2 attempt\(s\)\)$"
        ) as error:
            client.find_listing("ref-a")
        assert (error.value.retryable, error.value.status) == (True, 503)
        assert client.find_listing("ref-a").attempts == 2  # one more 503, then the answer
    market.fail("find_listing", status=404)
    with client_for(market) as client, pytest.raises(MarketplaceError, match="HTTP 404 \\(not retried\\)") as error:
        client.find_listing("ref-a")
    assert not error.value.retryable


def test_a_new_job_updates_the_listing_found_by_reference_instead_of_creating_one(conn, prepared, market):
    lose_the_create_answer(conn, market, 201)
    reference = listing_reference(T, 201, "vinted")
    before = len(listing_requests(market))
    with client_for(market) as client:
        plan, outcome = publish_product(conn, T, 201, "vinted", client, **FAST)
    assert outcome.success, outcome.summary()
    assert plan.tasks[-1].description == "Create listing"  # no task had recorded the listing
    result = outcome.tasks[-1].result
    assert (result["listing_id"], result["found_by_reference"]) == ("l-1", reference)
    assert listing_requests(market)[before:] == [
        ("GET", f"/vinted/listings?reference={reference}", 200),
        ("PUT", "/vinted/listings/l-1", 200),
    ]
    assert market.listings["l-1"]["photo_ids"] == result["photo_ids"]  # the new job's uploads
    assert market.listings["l-1"]["reference"] == reference
    before = len(listing_requests(market))
    with client_for(market) as client:  # the next job knows the listing: an update, no lookup
        plan, outcome = publish_product(conn, T, 201, "vinted", client, **FAST)
    assert outcome.success and plan.tasks[-1].description == "Update listing l-1"
    assert listing_requests(market)[before:] == [("PUT", "/vinted/listings/l-1", 200)]
    assert list(market.listings) == ["l-1"]


def test_a_listing_task_retried_after_a_timeout_updates_the_listing_its_first_attempt_made(conn, prepared, market):
    new_product(conn, 202)
    market.delay("create_listing", 1.5)  # created (l-1), answered after the client's timeout
    with client_for(market, timeout=0.5, max_attempts=1) as client:
        outcome = publish_product(conn, T, 202, "vinted", client, max_attempts=2, **FAST)[1]
    assert outcome.success, outcome.summary()
    task = outcome.tasks[-1]
    assert (task.attempts, task.result["listing_id"], task.result["attempts_this_run"]) == (2, "l-1", 2)
    assert task.result["found_by_reference"] == listing_reference(T, 202, "vinted")
    assert list(market.listings) == ["l-1"]


def test_a_failed_lookup_sends_no_listing_and_a_resume_finds_it(conn, prepared, market):
    lose_the_create_answer(conn, market, 203)
    reference = listing_reference(T, 203, "vinted")
    market.fail("find_listing", status=503, times=100)
    before = len(listing_requests(market))
    with client_for(market, max_attempts=1) as client:
        plan, outcome = publish_product(conn, T, 203, "vinted", client, max_attempts=2, **FAST)
    failed = failed_task(outcome)
    assert (failed.task_type, failed.attempts) == ("create_listing", 2)  # retried: the lookup may pass
    assert failed.error_message == (
        "an earlier attempt to list product 203 may have created a listing whose answer was lost, and looking it up "
        f"by the product's reference {reference} failed: GET /vinted/listings: HTTP 503: "
        '{"error": "injected 503"} (after 1 attempt(s)); nothing was sent'
    )
    assert {method for method, _, _ in listing_requests(market)[before:]} == {"GET"}
    assert list(market.listings) == ["l-1"]
    market.clear()
    with client_for(market) as client:
        resumed = run_job(conn, T, plan.job_id, client, **FAST)
    assert resumed.success, resumed.summary()
    assert resumed.tasks[-1].result["listing_id"] == "l-1"
    assert list(market.listings) == ["l-1"]


def test_photos_changed_after_a_failed_create_that_made_nothing_say_the_listing_was_not_sent(conn, prepared, market):
    new_product(conn, 204)
    market.fail("create_listing", status=502, times=1)  # the gateway failed before the marketplace created it
    with client_for(market, max_attempts=1) as client:
        plan, outcome = publish_product(conn, T, 204, "vinted", client, max_attempts=1, **FAST)
    assert failed_task(outcome).task_type == "create_listing"
    ids = [r[0] for r in conn.execute("select id from user_1.product_images where product_id = 204 order by position")]
    ProductImageService(conn, T).reorder_images(204, [ids[1], ids[0], *ids[2:]])
    with client_for(market) as client:
        resumed = run_job(conn, T, plan.job_id, client, **FAST)
    assert failed_task(resumed).error_message == (
        "the product's photos changed since the job was planned (4 planned, 4 now, or another order): the listing "
        "was not sent; publish the product again as a new job"
    )
    reference = listing_reference(T, 204, "vinted")
    assert listing_requests(market)[-1] == ("GET", f"/vinted/listings?reference={reference}", 200)  # looked, none
    assert market.listings == {}


def test_a_photo_deleted_while_it_is_uploaded_is_not_recorded_and_the_app_does_not_wait(conn, prepared, market):
    urls = new_product(conn, 205)
    held = market.hold("upload", after=1)  # upload 2/4 carried out, its answer kept back
    outcomes: list[JobOutcome] = []

    def worker() -> None:
        with connect(autocommit=True) as own, client_for(market, timeout=20) as client:
            outcomes.append(publish_product(own, T, 205, "vinted", client, **FAST)[1])

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        (photo,) = conn.execute("select id from user_1.product_images where url = %s", (urls[1],)).fetchone()
        with connect(autocommit=True) as app:
            app.execute("set statement_timeout = '3s'")
            ProductImageService(app, T).delete_image(photo)  # would raise QueryCanceled if it waited 3 s
    finally:
        market.release()
        thread.join(timeout=30)
    (outcome,) = outcomes
    assert statuses(outcome.tasks) == [
        (0, "SUCCESS"),
        (1, "SUCCESS"),
        (2, "FAILED"),
        (3, "PENDING"),
        (4, "PENDING"),
        (5, "PENDING"),
    ]
    assert failed_task(outcome).error_message == (
        f"photo {photo} ({urls[1]}) of product 205 was deleted or changed while it was uploaded: its upload (p-2) is "
        "not used; publish the product again as a new job"
    )
    assert failed_task(outcome).attempts == 1  # not retried: the job is stale
    assert market.listings == {}
