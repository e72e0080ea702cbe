"""`product-images labels detect` end to end: real dbt run, real PostgreSQL, moto's S3 over real HTTP.

The photos are the demo's drawings (a product, a price tag); what is checked here is
the machinery around the detector: claims and leases, what is fetched and what is
not, reasons for photos that cannot be scored, reruns, the profile, and that the
next dbt run decides each product exactly as the Python reference of the SQL
decision does with the scores written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from helpers.legacy_data import make_tenant, photo
from helpers.s3 import PREFIX, moto_endpoint
from product_images.cli import main
from product_images.demo.pictures import render_image
from product_images.labels import scoring
from product_images.labels.detect import DetectError, detect_labels
from product_images.labels.detector import load_detector
from product_images.metadata.storage import UrlMapping, s3_client
from product_images.project import dbt_vars

BUCKET = "label-photos"
T = "user_1"
UNMAPPED_URL = "https://elsewhere.example.org/1.jpg"
RUN = ("run", "--select", "product_images")


def key(product: int, name: str) -> str:
    return f"{T}/{product}/{name}.jpg"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_endpoint(tmp_path_factory.mktemp("aws"), BUCKET) as url:
        yield url


@pytest.fixture(scope="module")
def client(endpoint: str) -> Any:
    return s3_client(max_pool_connections=8)


@pytest.fixture(scope="module")
def mapping(endpoint: str) -> UrlMapping:
    return UrlMapping.from_env()


@pytest.fixture(scope="module")
def tenant(conn: psycopg.Connection, dbt: Any, client: Any) -> dict[int, list[str]]:
    """Products: 1-8 three product photos and a price tag; 9 an unmapped URL, a missing key and
    an HTML page saved as .jpg beside a photo; 10-29 two photos each (for the killed worker)."""
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    products: dict[int, list[str]] = {}
    for pid in range(1, 9):
        names = ["front", "back", "detail", "tag"]
        for n, name in enumerate(names):
            kind = "label" if name == "tag" else "product"
            client.put_object(
                Bucket=BUCKET, Key=key(pid, name), Body=render_image(kind, 900, 700, pid * 10 + n, "jpeg")
            )
        products[pid] = [PREFIX + key(pid, name) for name in names]
    client.put_object(Bucket=BUCKET, Key=key(9, "front"), Body=render_image("product", 800, 600, 91, "jpeg"))
    client.put_object(Bucket=BUCKET, Key=key(9, "page"), Body=b"<!DOCTYPE html><html><body>404</body></html>")
    products[9] = [PREFIX + key(9, "front"), UNMAPPED_URL, PREFIX + key(9, "gone"), PREFIX + key(9, "page")]
    for pid in range(10, 30):
        for n, name in enumerate(("a", "b")):
            client.put_object(
                Bucket=BUCKET, Key=key(pid, name), Body=render_image("product", 640, 480, pid + n, "jpeg")
            )
        products[pid] = [PREFIX + key(pid, name) for name in ("a", "b")]
    make_tenant(conn, T, {pid: [photo(url, n) for n, url in enumerate(urls)] for pid, urls in products.items()})
    make_tenant(conn, "template_tenant", {})
    result = dbt(*RUN)
    assert result.success, [r.message for r in result.node_results()]
    return products


def detect(conn: psycopg.Connection, client: Any, mapping: UrlMapping, **options: Any):
    with psycopg.connect(autocommit=True) as own:
        return detect_labels(own, client, mapping, schema="product_images", tenants=[T], **options)


def scored(conn: psycopg.Connection, product_ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    rows = conn.execute(
        f"select product_id, position, label_score, label_error, is_label, label_source, label_scores_pending "
        f"from {T}.product_images where product_id = any(%s) order by product_id, position",
        (product_ids,),
    ).fetchall()
    out: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row[1:])
    return out


@pytest.fixture(scope="module")
def first_detection(
    conn: psycopg.Connection, client: Any, mapping: UrlMapping, tenant: dict, dbt: Any
) -> dict[str, Any]:
    """The tenant's first detection, as an operator runs it: a dry run, the detection, then `dbt run` twice.

    What each step showed is kept here, before any test changes the tenant: the tests
    below run in any order (pytest-randomly).
    """
    seen: dict[str, Any] = {}
    seen["dry_run"] = detect(conn, None, mapping, dry_run=True)
    seen["detected_after_dry_run"] = conn.execute(
        f"select count(*) from {T}.product_images where label_detected_at is not null"
    ).fetchone()[0]
    calls: list[tuple[int, int | None]] = []
    seen["summary"] = detect(conn, client, mapping, progress=lambda done, total: calls.append((done, total)))
    seen["progress"] = calls
    seen["product_9"] = scored(conn, [9])[9]
    seen["evidence"] = conn.execute(
        f"select label_evidence, label_detector, label_profile from {T}.product_images where url = %s", (tenant[1][3],)
    ).fetchone()
    seen["first_run_success"] = dbt(*RUN).success
    seen["decided"] = scored(conn, list(tenant))
    seen["second_run_success"] = dbt(*RUN).success
    seen["second_run_log"] = conn.execute(
        "select mode, images_updated from product_images.product_images_runs where tenant_schema = %s "
        "order by started_at desc limit 1",
        (T,),
    ).fetchone()
    return seen


def test_a_dry_run_counts_and_changes_nothing(first_detection):
    summary = first_detection["dry_run"]
    assert summary.would_detect == 29
    assert summary.lines() == ["labels detect (dry run): 29 products would be scored over 1 tenant(s); nothing changed"]
    assert first_detection["detected_after_dry_run"] == 0


def test_detection_scores_every_readable_photo_and_names_why_not_the_others(first_detection, tenant):
    summary, calls = first_detection["summary"], first_detection["progress"]
    # the progress bar knows its total, the photos of the products to score, and ends there
    photos_of_products = sum(len(urls) for urls in tenant.values())
    assert calls and calls[-1] == (photos_of_products, photos_of_products)
    assert all(total == photos_of_products for _, total in calls)
    assert summary.products == 29 and summary.by_tenant == {T: 29}
    photos = sum(len(urls) for urls in tenant.values())
    assert summary.photos_scored == photos - 3
    assert summary.failed == {"unmapped": 1, "missing": 1, "unreadable": 1}
    assert summary.photos_fetched == photos - 2  # the unmapped URL is never fetched, the missing key answers 404
    assert summary.photos_reused == 0
    rows = first_detection["product_9"]
    assert [(position, error) for position, _, error, *_ in rows] == [
        (0, None),
        (1, "unmapped"),
        (2, "missing"),
        (3, "unreadable"),
    ]
    assert rows[0][1] is not None and 0 <= rows[0][1] <= 1
    assert all(row[5] for row in rows)  # pending: the next dbt run applies them
    evidence = first_detection["evidence"]
    assert evidence[1] == load_detector().version and evidence[2] == "none"
    assert {"codes", "lines", "cues", "hist"} <= set(evidence[0])


def test_the_next_dbt_run_decides_as_the_reference_does_and_clears_pending(first_detection):
    assert first_detection["first_run_success"]
    detector = load_detector()
    variables = dbt_vars()
    threshold, floor = variables["label_score_threshold"], variables["label_score_floor"]
    for pid, rows in first_detection["decided"].items():
        scores = [row[1] for row in rows]
        labels = [row[3] for row in rows]
        sources = {row[4] for row in rows}
        assert not any(row[5] for row in rows), pid
        if any(score is None for score in scores):  # an unscored photo: the rule decides
            assert sources == {"rule"} and labels[-1] is True, pid
            continue
        decision = scoring.decide(scores, threshold, floor)
        if decision.status == "label":
            assert sources == {"evidence"} and labels.index(True) == decision.index, (pid, scores)
        elif decision.status == "none":
            assert sources == {"evidence"} and not any(labels), (pid, scores)
        else:  # doubtful: the interim rule flags the best-scoring photo (the last among equals)
            best = max(range(len(scores)), key=lambda i: (scores[i], i))
            assert sources == {"rule"} and labels.index(True) == best, (pid, scores)
    assert detector.version.startswith("labels-")
    # nothing new: the rerun reads and writes nothing
    assert first_detection["second_run_success"] and first_detection["second_run_log"] == ("unchanged", None)


def test_a_rerun_fetches_nothing_and_a_new_profile_rescores_from_stored_evidence(
    conn, client, mapping, first_detection
):
    again = detect(conn, client, mapping)
    assert (again.products, again.photos_fetched) == (0, 0)
    # A person confirms product 1's tag: the shop now has a profile, every product is scored again
    # with it, from the evidence stored, with no download.
    conn.execute(f"update {T}.product_images set label_source = 'app', is_label = (position = 3) where product_id = 1")
    rescored = detect(conn, client, mapping)
    assert rescored.profiles[T]["confirmed_tags"] == 1
    assert rescored.profiles[T]["hash"] != "none"
    assert rescored.products == 29 and rescored.photos_fetched == 0
    assert rescored.photos_reused == rescored.photos_scored
    hashes = conn.execute(f"select distinct label_profile from {T}.product_images").fetchall()
    assert hashes == [(rescored.profiles[T]["hash"],)]


def test_retry_failed_redoes_only_the_failed_photos(conn, client, mapping, first_detection):
    client.put_object(Bucket=BUCKET, Key=key(9, "gone"), Body=render_image("product", 640, 480, 99, "jpeg"))
    plain = detect(conn, client, mapping)
    assert plain.products == 0
    retried = detect(conn, client, mapping, retry_failed=True)
    assert retried.products == 1
    # the missing object is there now; the unmapped URL still is not (and the HTML page, unless
    # the backfill test replaced it first)
    assert retried.failed.get("unmapped") == 1 and "missing" not in retried.failed
    assert [row[2] for row in scored(conn, [9])[9]][:3] == [None, "unmapped", None]


def test_a_failed_photo_whose_object_the_backfill_then_sees_is_fetched_again(
    conn, client, mapping, tenant, first_detection
):
    # The HTML page saved as .jpg is replaced by a real photo, and the backfill probes it: the next
    # plain run (no --retry-failed) fetches that photo, and only it, and scores it.
    client.put_object(Bucket=BUCKET, Key=key(9, "page"), Body=render_image("product", 640, 480, 98, "jpeg"))
    etag = client.head_object(Bucket=BUCKET, Key=key(9, "page"))["ETag"]
    conn.execute(
        f"update {T}.product_images set metadata_etag = %s, metadata_probed_at = now() where url = %s",
        (etag, tenant[9][3]),
    )
    summary = detect(conn, client, mapping)
    assert (summary.products, summary.photos_fetched, summary.by_tenant) == (1, 1, {T: 1})
    assert summary.failed.get("unmapped") == 1 and "unreadable" not in summary.failed
    errors = [row[2] for row in scored(conn, [9])[9]]
    assert (errors[0], errors[1], errors[3]) == (None, "unmapped", None)
    assert detect(conn, client, mapping).products == 0


def test_a_changed_object_is_fetched_again(conn, client, mapping, first_detection):
    # The backfill probed product 2's objects after the detector and saw other ETags.
    conn.execute(
        f"update {T}.product_images set metadata_etag = 'changed', metadata_probed_at = now() where product_id = 2"
    )
    summary = detect(conn, client, mapping)
    assert (summary.products, summary.photos_fetched) == (1, 4)
    assert detect(conn, client, mapping).products == 0  # what the detector fetched now is newer than the probe


def claims_held(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """(product_id, label_claimed_by, seconds of lease left) of every claim in the tenant, by product."""
    return conn.execute(
        f"select product_id, label_claimed_by, round(extract(epoch from label_claimed_until - now())) "
        f"from {T}.product_images where label_claimed_by is not null order by product_id"
    ).fetchall()


@pytest.fixture
def claims_cleared(conn: psycopg.Connection) -> Iterator[None]:
    """After the test, every claim in the tenant given back: a test that fails with a killed worker's claims still
    leased does not fail the tests after it too."""
    yield
    conn.execute(f"update {T}.product_images set label_claimed_by = null, label_claimed_until = null")


def test_a_killed_worker_leaves_its_products_to_the_next_after_the_lease(
    conn, client, mapping, first_detection, claims_cleared
):
    # No claim is left from an earlier test: the claims counted below are the killed worker's own.
    assert claims_held(conn) == []
    # outdated evidence: every photo must be fetched and looked at again (seconds a batch, not the milliseconds of a
    # rescoring from stored evidence), so the worker is killed while it holds a batch it has not written
    conn.execute(
        f"update {T}.product_images set label_detected_at = null, label_detector = 'older' where product_id >= 10"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "product_images",
            "labels",
            "detect",
            "--tenant",
            T,
            "--batch-size",
            "5",
            "--lease-seconds",
            "15",  # long enough that the next detect() starts and claims before it ends, even on a busy machine
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # its worker id is "<host>:<pid>:<hex>" (claims.default_worker_id)
    own = f"select count(*) from {T}.product_images where label_claimed_by like %s"
    deadline = time.monotonic() + 60
    while not conn.execute(own, (f"%:{process.pid}:%",)).fetchone()[0]:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.kill()
    _, stderr = process.communicate()
    held = claims_held(conn)
    claimed = {product for product, _, _ in held}
    assert 0 < len(claimed) <= 5, (held, stderr)

    def unscored() -> set[int]:
        return {
            row[0]
            for row in conn.execute(
                f"select distinct product_id from {T}.product_images where product_id >= 10 "
                f"and label_detected_at is null"
            ).fetchall()
        }

    in_flight = claimed & unscored()  # claimed by the dead worker and not written
    assert in_flight
    detect(conn, client, mapping)  # the dead worker's products are still leased: left alone
    left = unscored()
    assert left == in_flight
    while conn.execute(f"select count(*) from {T}.product_images where label_claimed_until >= now()").fetchone()[0]:
        time.sleep(0.1)
    second = detect(conn, client, mapping)
    assert second.products == len(left)
    assert unscored() == set()
    assert conn.execute(f"select count(*) from {T}.product_images where label_claimed_by is not null").fetchone() == (
        0,
    )


@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_database_error_while_scoring_names_the_tenant(conn, client, mapping, first_detection, concurrency):
    # A worker process's database error reached the terminal without the tenant it happened in.
    conn.execute(
        f"create function {T}.refuse_scores() returns trigger language plpgsql as $$ "
        "begin raise exception 'scores refused by a test trigger'; end $$"
    )
    conn.execute(
        f"create trigger refuse_scores before update of label_detected_at on {T}.product_images for each row "
        f"when (new.label_detected_at is distinct from old.label_detected_at) execute function {T}.refuse_scores()"
    )
    conn.execute(f"update {T}.product_images set label_detector = 'older' where product_id = 3")
    try:
        with pytest.raises(DetectError) as raised:
            detect(conn, client, mapping, concurrency=concurrency)
    finally:
        conn.execute(f"drop trigger refuse_scores on {T}.product_images")
        conn.execute(f"drop function {T}.refuse_scores()")
    assert str(raised.value).startswith(f"database error while scoring in {T}.product_images: ")
    assert "scores refused by a test trigger" in str(raised.value)
    assert conn.execute(f"select count(*) from {T}.product_images where label_claimed_by is not null").fetchone() == (
        0,
    )
    assert detect(conn, client, mapping).products == 1


def test_the_cli_prints_json_and_names_bad_arguments(first_detection, endpoint):
    ok = CliRunner().invoke(main, ["labels", "detect", "--tenant", T, "--json", "--no-progress"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["products"] == 0
    unknown = CliRunner().invoke(main, ["labels", "detect", "--tenant", "user_9", "--no-progress"])
    assert unknown.exit_code == 2
    assert "not a tenant with a product_images table: user_9 (tenants: template_tenant, user_1)" in unknown.output
    limited = CliRunner().invoke(main, ["labels", "detect", "--concurrency", "2", "--limit", "1", "--no-progress"])
    assert limited.exit_code == 2 and "limit works with concurrency 1 only" in limited.output


def test_without_tesseracts_french_data_the_detection_refuses_before_claiming(
    conn, first_detection, endpoint, tmp_path
):
    # a process of its own: the Tesseract engine is created once per process
    env = {**os.environ, "TESSDATA_PREFIX": str(tmp_path)}
    before = conn.execute(f"select count(*) from {T}.product_images where label_claimed_by is not null").fetchone()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "product_images.cli",
            "labels",
            "detect",
            "--tenant",
            T,
            "--retry-failed",
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"no fra.traineddata in {tmp_path}" in done.stderr
    assert "apt-get install tesseract-ocr-fra" in done.stderr
    after = conn.execute(f"select count(*) from {T}.product_images where label_claimed_by is not null").fetchone()
    assert after == before
