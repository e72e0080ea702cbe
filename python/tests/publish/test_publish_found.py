"""Defects found by a review of the publishing part, each shown against the real PostgreSQL and the real HTTP
stand-in marketplace (products 101+ are made by each test, so the tests do not depend on each other)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from helpers.publishing import U, client_for, failed_task, new_product, statuses
from product_images.app.service import ProductImageService
from product_images.cli import main
from product_images.connection import connect
from product_images.publish.plans import build_plan
from product_images.publish.tasks import create_job, load_tasks, publish_product, run_job

T = "user_1"
FAST: dict[str, Any] = {"retry_wait": 0.0}


def test_an_upload_whose_url_another_row_now_flags_as_the_label_is_not_sent(conn, prepared, market):
    """The label rule is by URL (select_photos: a URL any label row carries is never published); the upload's check
    only read its own row, so a photo whose URL became a label URL after validate was sent."""
    urls = new_product(conn, 101)
    plan = build_plan(conn, T, 101, "vinted")
    create_job(conn, plan)
    market.fail("upload", status=500, times=100, after=1)  # upload 2/4 fails: the job stops there
    with client_for(market, max_attempts=1) as client:
        run_job(conn, T, plan.job_id, client, max_attempts=1, **FAST)
    market.clear()
    # the app: the seller says the photo at URL 1.jpg is the price tag, as a row of its own (the old label is cleared)
    ProductImageService(conn, T).add_image(101, urls[1], is_label=True)
    with client_for(market) as client:
        outcome = run_job(conn, T, plan.job_id, client, **FAST)
    assert urls[1] not in [u.url for u in market.uploads]
    assert failed_task(outcome).position == 2
    assert "is flagged as the label now" in str(failed_task(outcome).error_message)
    assert market.listings == {}


def test_a_marketplace_answering_one_photo_id_for_two_uploads_does_not_list_a_photo_twice(conn, prepared, market):
    """A gateway answering the photo_id of an earlier upload for another photo made the listing carry that photo
    twice and skip the other one, and the job ended SUCCESS."""
    new_product(conn, 102)
    market.extra("upload", {"photo_id": "p-1"}, after=1)  # upload 2/4 answers upload 1/4's id
    with client_for(market) as client:
        plan, outcome = publish_product(conn, T, 102, "vinted", client, **FAST)
    assert [listing["photo_ids"] for listing in market.listings.values()] == []  # was [['p-1', 'p-1', 'p-3', 'p-4']]
    assert statuses(outcome.tasks) == [(p, "SUCCESS") for p in range(5)] + [(5, "FAILED")]
    assert failed_task(outcome).error_message == (
        "the marketplace answered photo id p-1 for more than one upload of this job: the listing was not sent; "
        "publish the product again as a new job"
    )


def test_a_listing_created_by_an_attempt_whose_answer_was_lost_is_not_created_twice(conn, prepared, market):
    """A create_listing whose outcome is unknown (timed out, then failed for good) was invisible to the next job of
    the product, which created a second listing: the next job now looks the product's reference up and updates it."""
    new_product(conn, 103)
    market.delay("create_listing", 1.5)  # carried out (l-1), its answer comes after the client's timeout
    market.fail("create_listing", status=503, times=100, after=1)  # then the gateway is down
    with client_for(market, timeout=0.5, max_attempts=2) as client:
        plan_a, outcome_a = publish_product(conn, T, 103, "vinted", client, max_attempts=1, **FAST)
    assert failed_task(outcome_a).task_type == "create_listing"
    assert len(market.listings) == 1  # the marketplace did list the product
    market.clear()
    with client_for(market) as client:  # another runner (or the seller) publishes the product again
        plan_b, outcome_b = publish_product(conn, T, 103, "vinted", client, **FAST)
    assert len(market.listings) == 1, market.listings
    assert outcome_b.success and outcome_b.tasks[-1].result["listing_id"] == "l-1", outcome_b.summary()


def test_the_app_flagging_a_photo_being_uploaded_does_not_wait_for_the_marketplace(conn, prepared, market):
    """An upload held its photo row FOR SHARE during the whole HTTP call, so the app's change to that photo waited
    as long as the marketplace took; now the upload holds no lock meanwhile, and finding the photo flagged once the
    marketplace answered, it is not recorded: the job stops there, as for a photo flagged before its upload."""
    new_product(conn, 104)
    held = market.hold("upload")  # upload 1/4 carried out, the marketplace slow to answer
    outcomes = []

    def worker() -> None:
        with connect(autocommit=True) as own, client_for(market, timeout=20) as client:
            outcomes.append(publish_product(own, T, 104, "vinted", client, **FAST)[1])

    thread = threading.Thread(target=worker)
    thread.start()
    waited = None
    try:
        assert held.wait(timeout=30)
        (photo,) = conn.execute(
            "select id from user_1.product_images where product_id = 104 and position = 0"
        ).fetchone()
        with connect(autocommit=True) as app:
            app.execute("set statement_timeout = '3s'")
            started = time.monotonic()
            try:
                ProductImageService(app, T).set_label_flag(photo, True)
            except psycopg.errors.QueryCanceled:
                pass
            waited = time.monotonic() - started
    finally:
        market.release()
        thread.join(timeout=30)
    assert waited is not None and waited < 1.0, f"the app waited {waited:.1f} s for the marketplace"
    (outcome,) = outcomes
    assert statuses(outcome.tasks) == [(0, "SUCCESS"), (1, "FAILED")] + [(p, "PENDING") for p in range(2, 6)]
    assert failed_task(outcome).error_message == (
        f"photo {photo} ({U}{T}/104/0.jpg) of product 104 was flagged as the label while it was uploaded: its upload "
        "(p-1) is not used; publish the product again as a new job"
    )
    assert market.listings == {}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--endpoint", "not a url", "endpoint must be an http:// or https:// URL with a host, e.g. http://"),
        ("--endpoint", "ftp://gateway", "endpoint must be an http:// or https:// URL with a host"),
        ("--lease-seconds", "nan", "lease_seconds must be a number of seconds > 0 and <= 604800; got nan"),
        ("--lease-seconds", "inf", "lease_seconds must be a number of seconds > 0 and <= 604800; got inf"),
        ("--lease-seconds", "1e300", "lease_seconds must be a number of seconds > 0 and <= 604800; got 1e+300"),
        ("--timeout", "nan", "timeout must be a finite number of seconds > 0; got nan"),
        ("--timeout", "inf", "timeout must be a finite number of seconds > 0; got inf"),
    ],
)
@pytest.mark.parametrize("command", ["publish", "resume"])
def test_cli_bad_run_options_exit_2_naming_the_option_and_send_nothing(
    conn, prepared, market, command, option, value, message
):
    """A malformed --endpoint was retried as a connection error (3 × 3 attempts, exit 1, the task FAILED); a NaN or
    infinite --lease-seconds ended in `database error: interval out of range` (exit 1); --timeout nan/inf passed."""
    if command == "publish":
        args = ["publish", "--tenant", T, "--product", "1", "--marketplace", "vinted"]
    else:
        plan = build_plan(conn, T, 1, "vinted")
        create_job(conn, plan)
        args = ["publish", "resume", "--tenant", T, "--job", str(plan.job_id)]
    jobs = f"select count(distinct job_id) from {T}.marketplace_tasks"
    jobs_before = conn.execute(jobs).fetchone()[0]
    options = {"--endpoint": market.url, "--retry-wait": "0", option: value}
    result = CliRunner().invoke(main, [*args, *(item for pair in options.items() for item in pair)])
    assert result.exit_code == 2, result.output
    assert f"Error: {message}" in result.output
    assert market.requests == []
    assert conn.execute(jobs).fetchone()[0] == jobs_before  # no job left PENDING by a refused option
    if command == "resume":
        assert {t.status for t in load_tasks(conn, T, plan.job_id)} == {"PENDING"}


def test_a_worker_killed_during_create_listing_then_photos_reordered_does_not_list_twice(conn, prepared, market):
    """After a worker was killed while the marketplace created the listing, a resume that found the photos changed
    recorded "the listing was not sent" although it existed, and the next job listed the product a second time."""
    new_product(conn, 105)
    held = market.hold("create_listing")  # the listing is created (l-1), its answer kept back: the worker is killed
    env = {**os.environ, "PRODUCT_IMAGES_MARKETPLACE_URL": market.url, "PYTHONUNBUFFERED": "1"}
    args = ["--tenant", T, "--product", "105", "--marketplace", "vinted", "--lease-seconds", "1", "--retry-wait", "0"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "product_images", "publish", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert held.wait(timeout=60)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
        market.release()
    assert list(market.listings) == ["l-1"]
    (job_id,) = conn.execute(
        "select distinct job_id from user_1.marketplace_tasks where payload ->> 'product_id' = '105'"
    ).fetchone()
    ids = [r[0] for r in conn.execute("select id from user_1.product_images where product_id = 105 order by position")]
    ProductImageService(conn, T).reorder_images(105, [ids[1], ids[0], *ids[2:]])  # the seller reorders the photos
    time.sleep(1.5)  # the killed worker's lease is over
    for _ in range(100):  # its backend ends once it sees the socket closed
        if not conn.execute(
            "select 1 from pg_locks where locktype = 'advisory' and pid <> pg_backend_pid() and granted "
            "and database = (select oid from pg_database where datname = current_database())"
        ).fetchone():
            break
        time.sleep(0.1)
    with client_for(market) as client:
        outcome = run_job(conn, T, job_id, client, **FAST)
        assert "not sent" not in str(outcome.failed_task.error_message if outcome.failed_task else "")
        assert failed_task(outcome).error_message == (
            "the product's photos changed since the job was planned (4 planned, 4 now, or another order): listing l-1 "
            "on vinted, made by an earlier attempt whose answer was lost (found by the product's reference), was not "
            "updated; publish the product again as a new job: it updates l-1"
        )
        again = publish_product(conn, T, 105, "vinted", client, **FAST)[1]  # the seller publishes again, as told
    assert len(market.listings) == 1, sorted(market.listings)
    assert again.success and again.tasks[-1].result["listing_id"] == "l-1", again.summary()
    assert market.listings["l-1"]["photo_ids"] == again.tasks[-1].result["photo_ids"]  # the photos in their new order
