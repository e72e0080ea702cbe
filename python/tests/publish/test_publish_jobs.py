"""The orchestrator against the real PostgreSQL and the local stand-in marketplace (a real HTTP server):
photos in order without the label, retries, failures at each step, resume, a SIGKILLed worker, two workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from helpers.publishing import U, client_for, product_photo_urls
from product_images.app.service import ProductImageService
from product_images.cli import main
from product_images.connection import connect
from product_images.publish.client import HttpMarketplaceClient, MarketplaceError
from product_images.publish.plans import build_plan
from product_images.publish.tasks import (
    JobBusyError,
    TaskLeasedError,
    create_job,
    job_status,
    load_tasks,
    publish_product,
    run_job,
)

T = "user_1"
FAST = {"retry_wait": 0.05}


def statuses(tasks):
    return [(t.position, t.status, t.attempts) for t in tasks]


def test_publish_uploads_the_photos_in_order_without_the_label_then_lists_them(conn, prepared, market):
    with client_for(market, "ebay") as client:
        plan, outcome = publish_product(conn, T, 1, "ebay", client, **FAST)
    assert outcome.success, outcome.summary()
    assert [u.url for u in market.uploads] == product_photo_urls(T, 1, 3)  # in position order, no label
    assert f"{U}{T}/1/label.jpg" not in str(market.requests) + str(market.listings)
    (listing,) = market.listings.values()
    assert listing["photo_ids"] == ["p-1", "p-2", "p-3"]
    assert listing["title"] == "product 1" and listing["images"] == {"product": {"imageUrls": plan.photo_urls}}
    tasks = load_tasks(conn, T, plan.job_id)
    assert statuses(tasks) == [
        (0, "SUCCESS", 1),
        (1, "SUCCESS", 1),
        (2, "SUCCESS", 1),
        (3, "SUCCESS", 1),
        (4, "SUCCESS", 1),
    ]
    assert all(t.started_at <= t.completed_at and t.error_message is None and t.lease_expires_at is None for t in tasks)
    assert [t.result.get("photo_id") for t in tasks[1:4]] == ["p-1", "p-2", "p-3"]
    assert tasks[0].result["photos"] == 3 and tasks[0].result["dropped"] == {"label": 1}
    assert tasks[4].result["listing_id"] == "l-1"
    assert sorted(market.received.values()) == [1, 1, 1, 1]  # 3 uploads + 1 listing, each key once
    assert outcome.summary() == f"job {plan.job_id} SUCCESS: 5 tasks, 5 run, 0 skipped (already SUCCESS)"

    # published again: a new job, and the listing is updated, not created twice
    with client_for(market, "ebay") as client:
        plan, outcome = publish_product(conn, T, 1, "ebay", client, **FAST)
    assert outcome.success and plan.tasks[-1].description == "Update listing l-1"
    assert list(market.listings) == ["l-1"]


def test_a_503_is_retried_by_the_client_then_by_the_orchestrator_with_backoff(conn, prepared, market):
    market.fail("upload", status=503, times=1, after=1)  # the 2nd upload: one 503, retried inside the call
    market.fail("upload", status=503, times=2, after=3)  # the 4th request: 2 × 503 = one failed task attempt
    progress: list[str] = []
    with client_for(market, max_attempts=2) as client:
        plan, outcome = publish_product(conn, T, 5, "vinted", client, progress=progress.append, **FAST)
    assert outcome.success, outcome.summary()
    tasks = load_tasks(conn, T, plan.job_id)
    assert statuses(tasks) == [
        (0, "SUCCESS", 1),
        (1, "SUCCESS", 1),
        (2, "SUCCESS", 1),
        (3, "SUCCESS", 2),
        (4, "SUCCESS", 1),
        (5, "SUCCESS", 1),
    ]
    assert tasks[2].result["http_attempts"] == 2 and tasks[3].result["attempts_this_run"] == 2
    assert tasks[3].error_message is None  # cleared by the success
    assert any(
        line.startswith("task 3 (Upload image 3/4): attempt 1 failed: POST /vinted/photos: HTTP 503")
        and line.endswith("(after 2 attempt(s))")
        for line in progress
    ), progress
    assert "task 3 (Upload image 3/4): retrying in 0.05 s" in progress
    assert "task 3 (Upload image 3/4): SUCCESS after 2 attempts" in progress
    assert market.uploads_per_url() == {url: 1 for url in product_photo_urls(T, 5, 4)}
    assert outcome.retries == 1


def test_429_waits_for_retry_after_and_4xx_is_not_retried(market):
    market.fail("upload", status=429, times=1, retry_after=1)
    with client_for(market) as client:
        started = time.monotonic()
        response = client.upload_photo(f"{U}a.jpg", idempotency_key="k-1")
        assert time.monotonic() - started >= 1.0
        assert (response.attempts, response.body["photo_id"]) == (2, "p-1")
        assert client.upload_photo(f"{U}a.jpg", idempotency_key="k-1").replayed  # same key: done once
        market.fail("upload", status=404, times=1)
        with pytest.raises(MarketplaceError, match=r"HTTP 404 \(not retried\)") as error:
            client.upload_photo(f"{U}b.jpg", idempotency_key="k-2")
        assert (error.value.retryable, error.value.attempts) == (False, 1)
        with pytest.raises(MarketplaceError, match="HTTP 422") as error:
            client.upload_photo(f"{U}other.jpg", idempotency_key="k-1")  # a key reused for another photo
    assert len(market.uploads) == 1
    with HttpMarketplaceClient(
        "http://127.0.0.1:9", "vinted", max_attempts=2, backoff=0.01, connect_timeout=0.5
    ) as nowhere:
        with pytest.raises(MarketplaceError, match=r"ConnectError.*after 2 attempt") as error:
            nowhere.upload_photo(f"{U}a.jpg", idempotency_key="k-3")
        assert error.value.retryable


def test_a_timed_out_upload_is_retried_with_its_key_and_done_once(conn, prepared, market):
    market.delay("upload", 1.0, after=1)  # the 2nd upload is carried out but answered after 1 s
    with client_for(market, timeout=0.6, backoff=0.5) as client:
        plan, outcome = publish_product(conn, T, 6, "vinted", client, **FAST)
    assert outcome.success, outcome.summary()
    task = load_tasks(conn, T, plan.job_id)[2]
    assert task.result["replayed"] is True and task.result["http_attempts"] >= 2
    assert market.received[task.idempotency_key] >= 2
    assert market.uploads_per_url() == {url: 1 for url in product_photo_urls(T, 6, 4)}


@pytest.mark.parametrize("step", ["validate", "upload", "listing"])
def test_a_failure_at_each_step_stops_the_job_there_and_resume_finishes_it(conn, prepared, market, step):
    product = {"validate": 7, "upload": 10, "listing": 11}[step]
    plan = build_plan(conn, T, product, "vinted")
    create_job(conn, plan)
    service = ProductImageService(conn, T)
    added = None
    if step == "validate":  # the product changed since the plan: not retried
        added = service.add_image(product, f"{U}{T}/{product}/new.jpg", position=0)
    elif step == "upload":  # the 3rd upload keeps failing: 3 attempts, then the job stops
        market.fail("upload", status=500, times=100, after=2)
    else:
        market.fail("create_listing", status=502, times=100)
    with client_for(market, max_attempts=1) as client:
        outcome = run_job(conn, T, plan.job_id, client, **FAST)
    assert not outcome.success
    expected = {
        "validate": [(0, "FAILED", 1)] + [(p, "PENDING", 0) for p in range(1, 6)],
        "upload": [
            (0, "SUCCESS", 1),
            (1, "SUCCESS", 1),
            (2, "SUCCESS", 1),
            (3, "FAILED", 3),
            (4, "PENDING", 0),
            (5, "PENDING", 0),
        ],
        "listing": [(p, "SUCCESS", 1) for p in range(5)] + [(5, "FAILED", 3)],
    }[step]
    assert statuses(outcome.tasks) == expected
    failed = outcome.failed_task
    assert failed is not None and failed.completed_at is not None
    assert (
        failed.error_message
        == {
            "validate": "the product's photos changed since the job was planned (4 planned, 5 now, or another order): "
            "publish the product again as a new job",
            "upload": 'POST /vinted/photos: HTTP 500: {"error": "injected 500"} (after 1 attempt(s))',
            "listing": 'POST /vinted/listings: HTTP 502: {"error": "injected 502"} (after 1 attempt(s))',
        }[step]
    )
    assert outcome.summary().endswith(
        f"stopped at task {failed.position} ({failed.description}): {failed.error_message}; "
        f"{sum(1 for t in expected if t[1] == 'PENDING')} task(s) left PENDING"
    )
    uploaded = len(market.uploads)
    assert uploaded == {"validate": 0, "upload": 2, "listing": 4}[step]

    market.clear()
    if added is not None:
        service.delete_image(added.id)
    with client_for(market) as client:
        resumed = run_job(conn, T, plan.job_id, client, **FAST)
    assert resumed.success, resumed.summary()
    assert resumed.skipped == [p for p, status, _ in expected if status == "SUCCESS"]
    assert market.uploads_per_url() == {url: 1 for url in product_photo_urls(T, product, 4)}
    assert len(market.listings) == 1


def test_a_job_resumed_after_its_worker_was_killed_uploads_each_photo_exactly_once(conn, prepared, market):
    held = market.hold("upload", after=1)  # the 2nd upload is carried out, its answer kept back
    env = {**os.environ, "PRODUCT_IMAGES_MARKETPLACE_URL": market.url, "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "product_images",
            "publish",
            "--tenant",
            T,
            "--product",
            "8",
            "--marketplace",
            "vinted",
            "--lease-seconds",
            "2",
            "--retry-wait",
            "0.05",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert held.wait(timeout=60), worker.stderr.read() if worker.poll() is not None else "no 2nd upload"
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
        market.release()
    for _ in range(100):  # its backend ends (and frees the job's lock) once it sees the socket closed
        if conn.execute(
            "select count(*) from pg_stat_activity "
            "where datname = current_database() and application_name = 'product-images publish'"
        ).fetchone() == (0,):
            break
        time.sleep(0.1)
    (job_id,) = conn.execute(
        "select distinct job_id from user_1.marketplace_tasks where payload ->> 'product_id' = '8'"
    ).fetchone()
    tasks = job_status(conn, T, job_id)
    assert [(t.position, t.status) for t in tasks] == [
        (0, "SUCCESS"),
        (1, "SUCCESS"),
        (2, "PROCESSING"),
        (3, "PENDING"),
        (4, "PENDING"),
        (5, "PENDING"),
    ]
    killed_worker = tasks[2].worker
    assert killed_worker.endswith(f":{worker.pid}")

    status = CliRunner().invoke(main, ["publish", "status", "--tenant", T, "--job", str(job_id)])
    assert status.exit_code == 0
    assert [line.split()[:3] for line in status.output.splitlines()[1:]] == [
        ["0", "SUCCESS", "1"],
        ["1", "SUCCESS", "1"],
        ["2", "PROCESSING", "1"],
        ["3", "PENDING", "0"],
        ["4", "PENDING", "0"],
        ["5", "PENDING", "0"],
    ]

    with client_for(market) as client:
        with pytest.raises(
            TaskLeasedError,
            match=rf"task 2 \(Upload image 2/4\) of job {job_id} is PROCESSING by "
            rf"worker {killed_worker} since .* under a lease until",
        ):
            run_job(conn, T, job_id, client, **FAST)  # its lease (2 s) is not over: nothing done
        time.sleep(max(0.0, (tasks[2].lease_expires_at - conn.execute("select now()").fetchone()[0]).total_seconds()))
        outcome = run_job(conn, T, job_id, client, **FAST)
    assert outcome.success, outcome.summary()
    assert (outcome.skipped, outcome.taken_over, outcome.ran) == ([0, 1], [2], [2, 3, 4, 5])
    task = load_tasks(conn, T, job_id)[2]
    assert (task.attempts, task.result["replayed"], task.result["taken_up_from"]) == (2, True, killed_worker)
    assert market.received[task.idempotency_key] == 2  # sent twice, carried out once
    assert market.uploads_per_url() == {url: 1 for url in product_photo_urls(T, 8, 4)}
    assert [u.url for u in market.uploads] == product_photo_urls(T, 8, 4)


def test_two_workers_never_run_one_job_at_once(conn, prepared, market):
    plan = build_plan(conn, T, 9, "vinted")
    create_job(conn, plan)
    held = market.hold("upload")
    outcomes = []
    with connect(autocommit=True, application_name="worker A") as conn_a:

        def worker_a() -> None:
            with client_for(market) as client:
                outcomes.append(run_job(conn_a, T, plan.job_id, client, worker="A", **FAST))

        thread = threading.Thread(target=worker_a)
        thread.start()
        try:
            assert held.wait(timeout=30)
            with connect(autocommit=True) as conn_b, client_for(market) as client:
                with pytest.raises(
                    JobBusyError,
                    match=rf"^job {plan.job_id} is being run by another worker "
                    rf"\(backend pid {conn_a.info.backend_pid}, role {conn_a.info.user}, application "
                    r"'worker A'\); nothing done here$",
                ):
                    run_job(conn_b, T, plan.job_id, client, worker="B", **FAST)
                result = CliRunner().invoke(
                    main, ["publish", "resume", "--tenant", T, "--job", str(plan.job_id), "--endpoint", market.url]
                )
                assert result.exit_code == 1 and "is being run by another worker" in result.output
        finally:
            market.release()
            thread.join(timeout=30)
    assert outcomes and outcomes[0].success
    assert {t.worker for t in outcomes[0].tasks} == {"A"}
    assert market.uploads_per_url() == {url: 1 for url in product_photo_urls(T, 9, 4)}

    # a task row the back end holds locked is skipped (SKIP LOCKED), not waited for
    plan = build_plan(conn, T, 9, "vinted")
    create_job(conn, plan)
    with connect() as app:
        app.execute(
            "select * from user_1.marketplace_tasks where job_id = %s and position = 0 for update", (plan.job_id,)
        )
        with client_for(market) as client:
            with pytest.raises(
                JobBusyError,
                match=r"task 0 \(Validate product 9 for vinted \(4 photos\)\) of job .* "
                r"is locked or was changed by another transaction",
            ):
                run_job(conn, T, plan.job_id, client, **FAST)


def test_cli_publishes_reports_a_failed_task_with_exit_1_and_resumes(conn, prepared, market):
    market.fail("upload", status=503, times=100, after=1)
    args = ["--endpoint", market.url, "--retry-wait", "0", "--max-attempts", "2"]
    result = CliRunner().invoke(main, ["publish", "--tenant", T, "--product", "12", "--marketplace", "vinted", *args])
    assert result.exit_code == 1, result.output
    job_id = result.output.splitlines()[0].split()[3].rstrip(":")
    assert "stopped at task 2 (Upload image 2/4): POST /vinted/photos: HTTP 503" in result.output
    assert f"resume with: product-images publish resume --tenant {T} --job {job_id}" in result.output
    market.clear()
    result = CliRunner().invoke(main, ["publish", "resume", "--tenant", T, "--job", job_id, *args])
    assert result.exit_code == 0, result.output
    assert f"job {job_id} SUCCESS: 6 tasks, 4 run, 2 skipped (already SUCCESS)" in result.output
    status = CliRunner().invoke(main, ["publish", "status", "--tenant", T, "--job", job_id])
    lines = status.output.splitlines()
    assert lines[0].split() == ["pos", "status", "tries", "description", "started", "completed", "detail"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["0", "SUCCESS", "1"],
        ["1", "SUCCESS", "1"],
        ["2", "SUCCESS", "3"],
        ["3", "SUCCESS", "1"],
        ["4", "SUCCESS", "1"],
        ["5", "SUCCESS", "1"],
    ]
    assert "Upload image 2/4" in lines[3] and lines[6].split()[-1].startswith("l-")
