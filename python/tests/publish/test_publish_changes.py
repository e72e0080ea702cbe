"""A job whose product changes while it runs, or after it stopped, against the real PostgreSQL and the stand-in
marketplace: never a label or a deleted photo uploaded or listed, one listing per product and marketplace, a
listing ended on the marketplace, odd answers, a task row locked by the back end."""

from __future__ import annotations

import threading
import time

import pytest

from helpers.publishing import U, client_for, product_photo_urls, statuses
from product_images.app.service import ProductImageService
from product_images.connection import connect
from product_images.publish.plans import PublishError, build_plan
from product_images.publish.tasks import create_job, load_tasks, publish_product, run_job

T = "user_1"
FAST = {"retry_wait": 0.0}
AGAIN = "publish the product again as a new job"


def image_id(conn, product, name):
    (found,) = conn.execute(
        "select id from user_1.product_images where product_id = %s and url = %s", (product, f"{U}{T}/{product}/{name}")
    ).fetchone()
    return found


def stop_after_first_upload(conn, market, product):
    """A job of ``product`` whose upload 2/4 failed for good: tasks 0 and 1 SUCCESS, 2 FAILED."""
    plan = build_plan(conn, T, product, "vinted")
    create_job(conn, plan)
    market.fail("upload", status=500, times=100, after=1)
    with client_for(market, max_attempts=1) as client:
        outcome = run_job(conn, T, plan.job_id, client, max_attempts=1, **FAST)
    market.clear()
    assert statuses(outcome.tasks)[:3] == [(0, "SUCCESS"), (1, "SUCCESS"), (2, "FAILED")]
    return plan


def test_a_photo_flagged_as_the_label_before_resume_is_not_uploaded_nor_listed(conn, prepared, market):
    plan = stop_after_first_upload(conn, market, 10)
    flagged = image_id(conn, 10, "3.jpg")
    ProductImageService(conn, T).set_label_flag(flagged, True)  # the seller: photo 4 is the price tag
    with client_for(market) as client:
        outcome = run_job(conn, T, plan.job_id, client, **FAST)
    assert statuses(outcome.tasks) == [(0, "SUCCESS"), (1, "SUCCESS"), (2, "SUCCESS"), (3, "SUCCESS")] + [
        (4, "FAILED"),
        (5, "PENDING"),
    ]
    assert outcome.failed_task.error_message == (
        f"photo {flagged} ({U}{T}/10/3.jpg) of product 10 is flagged as the label now: it is not uploaded; {AGAIN}"
    )
    assert [u.url for u in market.uploads] == product_photo_urls(T, 10, 3)
    assert market.listings == {}


@pytest.mark.parametrize("change", ["label", "delete"])
def test_a_photo_flagged_or_deleted_while_the_job_runs_is_not_uploaded_nor_listed(conn, prepared, market, change):
    product, name = {"label": (11, "3.jpg"), "delete": (5, "2.jpg")}[change]
    changed = image_id(conn, product, name)
    held = market.hold("upload")  # upload 1/4 is under way while the app changes photo `name`
    outcomes = []

    def worker() -> None:
        with connect(autocommit=True) as own, client_for(market) as client:
            outcomes.append(publish_product(own, T, product, "vinted", client, **FAST)[1])

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        service = ProductImageService(conn, T)
        service.set_label_flag(changed, True) if change == "label" else service.delete_image(changed)
    finally:
        market.release()
        thread.join(timeout=30)
    (outcome,) = outcomes
    failed_at = {"label": 4, "delete": 3}[change]
    assert statuses(outcome.tasks) == [(p, "SUCCESS") for p in range(failed_at)] + [(failed_at, "FAILED")] + [
        (p, "PENDING") for p in range(failed_at + 1, 6)
    ]
    what = "is flagged as the label now" if change == "label" else "was deleted or changed since the job was planned"
    assert outcome.failed_task.error_message == (
        f"photo {changed} ({U}{T}/{product}/{name}) of product {product} {what}: it is not uploaded; {AGAIN}"
    )
    assert [u.url for u in market.uploads] == product_photo_urls(T, product, failed_at - 1)
    assert market.listings == {}


def test_photos_reordered_before_the_listing_stop_the_job_and_nothing_is_listed(conn, prepared, market):
    plan = build_plan(conn, T, 6, "vinted")
    create_job(conn, plan)
    market.fail("create_listing", status=502, times=100)
    with client_for(market, max_attempts=1) as client:
        assert run_job(conn, T, plan.job_id, client, max_attempts=1, **FAST).failed_task.position == 5
    market.clear()
    ids = [
        row[0] for row in conn.execute("select id from user_1.product_images where product_id = 6 order by position")
    ]
    ProductImageService(conn, T).reorder_images(6, [ids[1], ids[0], *ids[2:]])
    with client_for(market) as client:
        outcome = run_job(conn, T, plan.job_id, client, **FAST)
    assert statuses(outcome.tasks) == [(p, "SUCCESS") for p in range(5)] + [(5, "FAILED")]
    assert outcome.failed_task.error_message == (
        "the product's photos changed since the job was planned (4 planned, 4 now, or another order): "
        f"the listing was not sent; {AGAIN}"
    )
    assert market.listings == {}


def test_an_old_job_resumed_after_a_newer_one_listed_the_product_does_not_list_it_twice(conn, prepared, market):
    job_a = stop_after_first_upload(conn, market, 12)
    with client_for(market) as client:  # the seller publishes again instead of resuming
        plan_b, outcome_b = publish_product(conn, T, 12, "vinted", client, **FAST)
    assert outcome_b.success and plan_b.tasks[-1].description == "Create listing"
    with client_for(market) as client:  # later, job A is resumed
        outcome_a = run_job(conn, T, job_a.job_id, client, **FAST)
    assert statuses(outcome_a.tasks) == [(p, "SUCCESS") for p in range(5)] + [(5, "FAILED")]
    assert outcome_a.failed_task.error_message == (
        f"job {job_a.job_id} is superseded: job {plan_b.job_id}, planned later, listed product 12 on vinted as l-1: "
        "this job's listing was not sent; publish the product again to update it"
    )
    assert list(market.listings) == ["l-1"]


def test_a_job_planned_to_create_updates_the_listing_an_older_job_made_meanwhile(conn, prepared, market):
    older = build_plan(conn, T, 9, "vinted")
    create_job(conn, older)
    newer = stop_after_first_upload(conn, market, 9)  # planned after `older`, before any listing
    assert newer.tasks[-1].description == "Create listing"
    with client_for(market) as client:
        assert run_job(conn, T, older.job_id, client, **FAST).success
        outcome = run_job(conn, T, newer.job_id, client, **FAST)
    assert outcome.success, outcome.summary()
    assert outcome.tasks[-1].result["listing_id"] == "l-1"
    assert list(market.listings) == ["l-1"]
    assert [r for r in market.requests if "/listings" in r[1]] == [
        ("POST", "/vinted/listings", 201),
        ("PUT", "/vinted/listings/l-1", 200),
    ]


def test_a_listing_ended_on_the_marketplace_is_created_anew(conn, prepared, market):
    with client_for(market) as client:
        assert publish_product(conn, T, 7, "vinted", client, **FAST)[1].success
        market.remove_listing("l-1")  # the seller ended it on the marketplace's site
        plan, outcome = publish_product(conn, T, 7, "vinted", client, **FAST)
        assert plan.tasks[-1].description == "Update listing l-1"
        assert outcome.success, outcome.summary()
        assert (outcome.tasks[-1].result["listing_id"], outcome.tasks[-1].result["replaced_listing_id"]) == (
            "l-2",
            "l-1",
        )
        assert ("PUT", "/vinted/listings/l-1", 404) in market.requests
        plan, outcome = publish_product(conn, T, 7, "vinted", client, **FAST)  # and the next job updates l-2
    assert outcome.success and plan.tasks[-1].description == "Update listing l-2"
    assert list(market.listings) == ["l-2"]


def test_an_answer_with_a_nul_character_is_stored_without_it(conn, prepared, market):
    market.extra("upload", {"note": "a\0b"}, times=100)
    market.extra("create_listing", {"note": "c\0d"})
    with client_for(market) as client:
        plan, outcome = publish_product(conn, T, 8, "vinted", client, **FAST)
    assert outcome.success, outcome.summary()
    assert [t.result["note"] for t in load_tasks(conn, T, plan.job_id)[1:]] == ["ab", "ab", "ab", "ab", "cd"]


def test_an_unexpected_error_in_a_task_records_it_failed_and_resume_goes_on(conn, prepared, market):
    class Crashing:
        marketplace = "vinted"

        def upload_photo(self, url, *, idempotency_key):
            raise RuntimeError("gateway SDK crashed")

    plan = build_plan(conn, T, 3, "vinted")
    create_job(conn, plan)
    with pytest.raises(RuntimeError, match="gateway SDK crashed") as raised:
        run_job(conn, T, plan.job_id, Crashing(), **FAST)
    tasks = load_tasks(conn, T, plan.job_id)
    assert statuses(tasks) == [(0, "SUCCESS"), (1, "FAILED"), (2, "PENDING")]
    assert tasks[1].error_message == "unexpected error: RuntimeError: gateway SDK crashed"
    assert tasks[1].lease_expires_at is None and tasks[1].completed_at is not None
    assert f"task 1 (Upload image 1/1) of job {plan.job_id}: recorded FAILED" in "\n".join(raised.value.__notes__)
    with client_for(market) as client:
        assert run_job(conn, T, plan.job_id, client, **FAST).success


def test_a_task_row_locked_by_the_back_end_stops_the_worker_within_the_lock_timeout(conn, prepared, market):
    plan = build_plan(conn, T, 2, "vinted")
    create_job(conn, plan)
    held = market.hold("upload")
    errors: list[Exception] = []

    def worker() -> None:
        with connect(autocommit=True) as own, client_for(market) as client:
            try:
                run_job(own, T, plan.job_id, client, lease_seconds=1, **FAST)
            except PublishError as error:
                errors.append(error)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    with connect() as back_end:  # e.g. an admin screen reads task 1 FOR UPDATE and keeps its transaction open
        assert held.wait(timeout=30)
        back_end.execute(
            "select 1 from user_1.marketplace_tasks where job_id = %s and position = 1 for update", (plan.job_id,)
        )
        market.release()
        thread.join(timeout=20)
        stuck = thread.is_alive()
        back_end.rollback()
    thread.join(timeout=30)
    assert not stuck, "the worker still waits for the task's row"
    (error,) = errors
    assert str(error) == (
        f"task 1 (Upload image 1/20) of job {plan.job_id}: its outcome (SUCCESS) was not recorded: another "
        "transaction held the task's row longer than lock_timeout (5 s); the task stays PROCESSING until its lease "
        "ends, then publish resume takes it up again (its request is sent again with the same idempotency key, so "
        "the marketplace acts once)"
    )
    assert load_tasks(conn, T, plan.job_id)[1].status == "PROCESSING"
    time.sleep(1.1)
    with client_for(market) as client:
        outcome = run_job(conn, T, plan.job_id, client, **FAST)
    assert outcome.success and outcome.taken_over == [1]
    assert outcome.tasks[1].result["replayed"] is True
    assert market.uploads_per_url() == {url: 1 for url in product_photo_urls(T, 2, 20)}
