"""`labels detect` after a new detector version: real dbt run, real PostgreSQL, moto's S3 over real HTTP.

A new model (refitted trees, other thresholds or abstention rules) changes the detector's version but not
the evidence: every photo is scored again from the evidence stored in its row, and nothing is downloaded.
A new evidence version, evidence that records another one or none (a database scored before the version was
recorded), or a row whose detector someone changed, is downloaded and looked at again.

What the tests see is what a user would: the objects are deleted from the bucket before the run, so a photo
downloaded again fails as ``missing`` where one rescored from its evidence gets the new detector's score.
Nothing of ours or of boto3 is patched: the new model is a :class:`Detector` of its own, passed to
``detect_labels`` as the CLI passes the installed one.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from helpers.legacy_data import make_tenant, photo
from helpers.s3 import PREFIX, moto_endpoint
from product_images.demo.pictures import render_image
from product_images.labels.detect import DetectSummary, detect_labels
from product_images.labels.detector import Detector, load_detector
from product_images.labels.evidence import EVIDENCE_VERSION
from product_images.metadata.storage import UrlMapping, s3_client

BUCKET = "label-photos-model"
T = "user_1"
PRODUCTS = (1, 2, 3)
NAMES = (("front", "product"), ("back", "product"), ("tag", "label"))
PHOTOS = len(PRODUCTS) * len(NAMES)
RESCORED_LINE = (
    "photos rescored from their stored evidence for a new detector version "
    "(model, thresholds or rules changed, not the evidence): nothing downloaded for them"
)


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
def bodies() -> dict[str, bytes]:
    """Each object's bytes, by key: two product photos and a price tag per product."""
    return {
        key(pid, name): render_image(kind, 800, 600, pid * 10 + n, "jpeg")
        for pid in PRODUCTS
        for n, (name, kind) in enumerate(NAMES)
    }


@pytest.fixture(scope="module")
def tenant(conn: psycopg.Connection, dbt: Any, client: Any) -> None:
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    products = {pid: [photo(PREFIX + key(pid, name), n) for n, (name, _) in enumerate(NAMES)] for pid in PRODUCTS}
    make_tenant(conn, T, products)
    make_tenant(conn, "template_tenant", {})
    result = dbt("run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()]


def detect(client: Any, mapping: UrlMapping, detector: Detector | None = None) -> DetectSummary:
    with psycopg.connect(autocommit=True) as own:
        return detect_labels(own, client, mapping, schema="product_images", tenants=[T], detector=detector)


def rows(conn: psycopg.Connection) -> dict[tuple[int, int], dict[str, Any]]:
    """Every photo's row, by (product, position)."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(f"select * from {T}.product_images order by product_id, position").fetchall()
    return {(row["product_id"], row["position"]): row for row in found}


@pytest.fixture
def scored(conn: psycopg.Connection, client: Any, mapping: UrlMapping, tenant: None, bodies: dict[str, bytes]) -> None:
    """Every object in the bucket, every photo scored by the installed detector, no score pending."""
    conn.execute(
        f"update {T}.product_images set label_score = null, label_evidence = null, label_detector = null, "
        "label_profile = null, label_detected_at = null, label_error = null, label_etag = null, "
        "label_claimed_by = null, label_claimed_until = null, metadata_etag = null, metadata_probed_at = null"
    )
    for object_key, body in bodies.items():
        client.put_object(Bucket=BUCKET, Key=object_key, Body=body)
    first = detect(client, mapping)
    assert (first.photos_fetched, first.photos_scored, first.failed) == (PHOTOS, PHOTOS, {})
    conn.execute(f"update {T}.product_images set label_scores_pending = false")


def delete_objects(client: Any, bodies: dict[str, bytes]) -> None:
    """Every object gone from the bucket: a photo downloaded from now on fails as ``missing``."""
    for object_key in bodies:
        client.delete_object(Bucket=BUCKET, Key=object_key)


def refitted() -> Detector:
    """The installed detector with another model (its trees' intercept moved: every score changes), as
    ``labels train`` would write one: another detector version, the same evidence version."""
    shipped = load_detector()
    model = dataclasses.replace(shipped.model, baseline=shipped.model.baseline - 1.0)
    new = Detector(model.version(), shipped.threshold, shipped.floor, shipped.high_bar, model)
    assert new.version != shipped.version
    return new


def expected_scores(detector: Detector, before: dict[tuple[int, int], dict[str, Any]]) -> dict[tuple[int, int], float]:
    """The scores ``detector`` gives each photo from its stored evidence, product by product (no shop profile)."""
    expected = {}
    for pid in PRODUCTS:
        places = sorted(place for place in before if place[0] == pid)
        evidences = [detector.evidence_from_json(before[place]["label_evidence"]) for place in places]
        for place, found in zip(places, detector.assess(evidences, None), strict=True):
            expected[place] = round(found.score, 6)
    return expected


def assert_rescored(
    row: dict[str, Any], earlier: dict[str, Any], detector: Detector, expected: float, place: tuple[int, int]
) -> None:
    """The photo was scored by ``detector`` from its stored evidence: the new score, nothing downloaded."""
    assert row["label_error"] is None, place
    assert row["label_detector"] == detector.version, place
    assert row["label_score"] == pytest.approx(expected, abs=1e-6), place
    # the evidence still comes from the same download of the same object
    assert (row["label_detected_at"], row["label_etag"]) == (earlier["label_detected_at"], earlier["label_etag"])
    # the next dbt run applies the scores that changed
    assert row["label_scores_pending"] == (row["label_score"] != earlier["label_score"]), place
    assert row["label_evidence"]["evidence_version"] == EVIDENCE_VERSION
    assert row["label_evidence"]["detector"] == detector.version
    assert row["label_evidence"]["cues"] == earlier["label_evidence"]["cues"]


def assert_downloaded_and_missing(row: dict[str, Any], detector: Detector, place: tuple[int, int]) -> None:
    """The photo was downloaded again, and its object is gone."""
    assert (row["label_error"], row["label_score"], row["label_evidence"]) == ("missing", None, None), place
    assert row["label_detector"] == detector.version, place


def test_a_new_model_rescores_every_photo_from_its_stored_evidence_without_a_download(
    conn, client, mapping, bodies, scored
):
    before = rows(conn)
    new = refitted()
    delete_objects(client, bodies)
    summary = detect(client, mapping, new)
    after = rows(conn)
    expected = expected_scores(new, before)
    for place, row in after.items():
        assert_rescored(row, before[place], new, expected[place], place)
    assert any(row["label_scores_pending"] for row in after.values())
    assert (summary.photos_fetched, summary.bytes_downloaded, summary.failed) == (0, 0, {})
    assert (summary.photos_scored, summary.photos_reused, summary.photos_rescored) == (PHOTOS, PHOTOS, PHOTOS)
    assert f"  {PHOTOS} {RESCORED_LINE}" in summary.lines()
    # done: the next run has nothing to download either
    again = detect(client, mapping, new)
    assert (again.photos_fetched, again.failed, again.photos_rescored) == (0, {}, 0)


def test_evidence_of_another_evidence_version_is_downloaded_again(conn, client, mapping, bodies, scored):
    # product 1's evidence was extracted by an earlier extractor (e.g. before a new OCR rule)
    conn.execute(
        f"update {T}.product_images set label_evidence = jsonb_set(label_evidence, '{{evidence_version}}', "
        "'\"evidence-2\"') where product_id = 1"
    )
    before = rows(conn)
    new = refitted()
    delete_objects(client, bodies)
    summary = detect(client, mapping, new)
    after = rows(conn)
    expected = expected_scores(new, before)
    for place, row in after.items():
        if place[0] == 1:
            assert_downloaded_and_missing(row, new, place)
        else:
            assert_rescored(row, before[place], new, expected[place], place)
    assert summary.failed == {"missing": len(NAMES)}
    assert (summary.photos_rescored, summary.photos_fetched) == (PHOTOS - len(NAMES), 0)


def test_a_new_evidence_version_downloads_every_photo_again(conn, client, mapping, scored):
    # what a change of EVIDENCE_VERSION gives: another detector version and another evidence version
    model = refitted()
    version = "labels-" + hashlib.sha256(f"{model.version}:evidence-next".encode()).hexdigest()[:10]
    new = dataclasses.replace(model, version=version, evidence_version="evidence-next")
    before = rows(conn)
    summary = detect(client, mapping, new)
    after = rows(conn)
    assert (summary.photos_fetched, summary.photos_reused, summary.photos_rescored) == (PHOTOS, 0, 0)
    for place, row in after.items():
        assert row["label_error"] is None and row["label_detector"] == version, place
        # downloaded now: its evidence is of the new evidence version, from a download after the earlier one
        assert row["label_evidence"]["evidence_version"] == "evidence-next", place
        assert row["label_detected_at"] > before[place]["label_detected_at"], place
    assert RESCORED_LINE not in "\n".join(summary.lines())


def test_evidence_without_a_recorded_evidence_version_is_downloaded_again(conn, client, mapping, bodies, scored):
    before = rows(conn)
    # what the detector writes records the evidence version it extracted and the detector version that scored it
    assert {row["label_evidence"]["evidence_version"] for row in before.values()} == {EVIDENCE_VERSION}
    assert {row["label_evidence"]["detector"] for row in before.values()} == {load_detector().version}
    # product 2 was scored before the evidence version was recorded (an older database)
    conn.execute(
        f"update {T}.product_images set label_evidence = label_evidence - 'evidence_version' - 'detector' "
        "where product_id = 2"
    )
    before = rows(conn)
    new = refitted()
    delete_objects(client, bodies)
    summary = detect(client, mapping, new)
    after = rows(conn)
    expected = expected_scores(new, before)
    for place, row in after.items():
        if place[0] == 2:
            assert_downloaded_and_missing(row, new, place)
        else:
            assert_rescored(row, before[place], new, expected[place], place)
    assert summary.failed == {"missing": len(NAMES)}
    assert summary.photos_rescored == PHOTOS - len(NAMES)


def test_a_photo_whose_detector_was_changed_by_hand_is_downloaded_again(conn, client, mapping, bodies, scored):
    # someone set product 3's detector to another value: its evidence no longer says what the row does
    conn.execute(f"update {T}.product_images set label_detector = 'older' where product_id = 3")
    before = rows(conn)
    new = refitted()
    delete_objects(client, bodies)
    summary = detect(client, mapping, new)
    after = rows(conn)
    expected = expected_scores(new, before)
    for place, row in after.items():
        if place[0] == 3:
            assert_downloaded_and_missing(row, new, place)
        else:
            assert_rescored(row, before[place], new, expected[place], place)
    assert summary.failed == {"missing": len(NAMES)}
