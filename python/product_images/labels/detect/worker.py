"""One worker of ``labels detect``: claim products, fetch their photos, score them, write the scores."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from product_images.claims import Claims, claimed_batches, transient_retry
from product_images.labels.detect.summary import (
    MAX_PHOTO_BYTES,
    TOO_LARGE,
    UNMAPPED,
    UNREADABLE,
    DetectError,
    DetectSummary,
    _log,
)
from product_images.labels.detector import Assessment, DecodeError, Detector, Evidence, ShopProfile
from product_images.metadata.probe import classify_storage_error
from product_images.metadata.storage import ObjectRef, UrlMapping

# --------------------------------------------------------------------------- one worker


def _todo(retry_failed: bool) -> sql.Composable:
    """A photo still to score: never scored, scored by another detector version or
    profile, its object changed since (the backfill probed it after the detector and
    saw another ETag: also a photo that had failed, e.g. ``missing`` until the object
    was uploaded), or, with retry_failed, failed before. A photo scored during this
    run is never to do again in this run (a run always ends)."""
    condition = (
        "label_detected_at is null or label_detector is distinct from %(version)s"
        " or label_profile is distinct from %(profile)s"
        " or (metadata_etag is not null and label_etag is distinct from metadata_etag"
        " and metadata_probed_at > label_detected_at)"
    )
    if retry_failed:
        condition += " or label_error is not null"
    return sql.SQL("((" + condition + ") and (label_detected_at is null or label_detected_at < %(run_started)s))")


_ROWS = """
select id, product_id, url, position, label_score, label_evidence, label_detector, label_etag, label_error,
    label_detected_at, metadata_etag, metadata_probed_at
from {images}
where product_id = any(%(products)s)
order by product_id, position, id
"""

_WRITE = """
with

results as materialized (
    select *
    from jsonb_to_recordset(%(results)s) as results (
        id bigint, label_score real, label_evidence jsonb, label_etag text, label_error text, evidence_kept boolean,
        assessment jsonb
    )
),

locked as materialized (
    select images.id
    from {images} as images
    where images.id in (select id from results)
    order by images.id
    for update
)

update {images} as images
set
    label_score = results.label_score,
    label_evidence = case
        when results.evidence_kept and results.assessment is not null
            then jsonb_set(images.label_evidence, '{{assessment}}', results.assessment)
        when results.evidence_kept then images.label_evidence
        else results.label_evidence
    end,
    label_etag = case when results.evidence_kept then images.label_etag else results.label_etag end,
    label_error = results.label_error,
    label_detector = %(version)s,
    label_profile = %(profile)s,
    label_detected_at = now(),
    label_scores_pending = images.label_scores_pending
        or images.label_score is distinct from results.label_score
        or images.label_error is distinct from results.label_error
from results
where
    images.id = results.id
    and images.id in (select id from locked)
    and exists (
        select 1 from {images} as tokens
        where tokens.id = any(%(tokens)s) and tokens.product_id = images.product_id
            and tokens.label_claimed_by = %(worker)s
    )
returning images.id
"""


@dataclass
class _Photo:
    row: dict[str, Any]
    ref: ObjectRef | None = None
    data: bytes | None = None
    etag: str | None = None
    evidence: Evidence | None = None
    error: str | None = None
    kept: bool = False


def _fetch(client: BaseClient, photo: _Photo) -> None:
    """Download one photo, the whole object (a photo whose evidence is current is not fetched: ``_Worker._to_fetch``
    keeps its stored evidence).

    Sets ``photo.data`` and ``photo.etag``, or ``photo.error`` (``too_large`` above
    :data:`MAX_PHOTO_BYTES`, else the storage error's class); raises what it cannot classify.
    """
    assert photo.ref is not None
    kwargs: dict[str, Any] = {"Bucket": photo.ref.bucket, "Key": photo.ref.key}
    try:
        response = client.get_object(**kwargs)
        size = int(response.get("ContentLength") or 0)
        if size > MAX_PHOTO_BYTES:
            response["Body"].close()
            photo.error = TOO_LARGE
            return
        photo.data = response["Body"].read()
        photo.etag = str(response.get("ETag", "")).strip('"') or None
    except (ClientError, BotoCoreError) as error:
        classified = classify_storage_error(error)
        if classified is None:
            raise
        photo.error = classified[0].value
        _log.debug("s3://%s/%s: %s", photo.ref.bucket, photo.ref.key, classified[1])


class _Worker:
    """One detection worker: claims products of the tenants, scores them, writes the results."""

    def __init__(
        self,
        conn: psycopg.Connection,
        client: BaseClient | None,
        mapping: UrlMapping,
        detector: Detector,
        *,
        worker_id: str,
        batch_size: int,
        lease_seconds: float,
        fetch_threads: int,
        retry_failed: bool,
        run_started: Any,
        advance: Callable[[int], object] | None = None,
    ) -> None:
        self.conn, self.client, self.mapping, self.detector = conn, client, mapping, detector
        self.worker_id, self.batch_size, self.lease_seconds = worker_id, batch_size, lease_seconds
        self.fetch_threads, self.retry_failed, self.run_started = fetch_threads, retry_failed, run_started
        self.advance = advance or (lambda n: None)
        self.summary = DetectSummary(worker_id=worker_id)

    def run_tenant(self, tenant: str, profile: ShopProfile | None, profile_hash: str, limit: int | None = None) -> int:
        """Score the tenant's products still to do, ``limit`` at most; returns how many it did."""
        claims = Claims(tenant, "label", _todo(self.retry_failed), per_product=True)
        params = {
            "worker": self.worker_id,
            "lease": float(self.lease_seconds),
            "version": self.detector.version,
            "profile": profile_hash,
            "run_started": self.run_started,
        }
        done = 0
        for tokens in claimed_batches(self.conn, claims.claim(), params, batch_size=self.batch_size, limit=limit):
            try:
                self._batch(tenant, tokens, profile, profile_hash)
            finally:
                self.conn.execute(claims.release(), {**params, "ids": [token[0] for token in tokens]})
            done += len(tokens)
        return done

    def _batch(
        self, tenant: str, tokens: list[tuple[Any, ...]], profile: ShopProfile | None, profile_hash: str
    ) -> None:
        """Fetch, extract, score and write the photos of a batch of claimed products; count what was written."""
        images = sql.Identifier(tenant, "product_images")
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(sql.SQL(_ROWS).format(images=images), {"products": [token[1] for token in tokens]})
            photos = [_Photo(row) for row in rows.fetchall()]
        to_fetch = [photo for photo in photos if self._to_fetch(photo)]
        self._fetch_all(to_fetch)
        started = time.process_time()
        self._extract(tenant, to_fetch)
        results = self._score(photos, profile)
        self.summary.cpu_seconds += time.process_time() - started
        written_ids = self._write(images, results, profile_hash, tokens)
        self._count_written(tenant, photos, results, written_ids)
        self.advance(len(photos))

    def _to_fetch(self, photo: _Photo) -> bool:
        """Whether the photo must be downloaded; if not, set how it is scored instead.

        Its stored evidence when current (``kept``); its earlier failure when its object was not
        seen since and failures are not retried; ``unmapped`` when no mapping rule covers its URL.
        """
        row = photo.row
        changed_since = (
            row["metadata_etag"] is not None
            and row["label_etag"] != row["metadata_etag"]
            and row["metadata_probed_at"] is not None
            and row["label_detected_at"] is not None
            and row["metadata_probed_at"] > row["label_detected_at"]
        )
        current = (
            row["label_evidence"] is not None and row["label_detector"] == self.detector.version and not changed_since
        )
        if current and row["label_error"] is None:
            photo.evidence = self.detector.evidence_from_json(row["label_evidence"])
            photo.kept = True
            return False
        if (
            row["label_error"] is not None
            and row["label_detector"] == self.detector.version
            and not self.retry_failed
            and not changed_since
        ):
            # failed before and its object not seen since: only --retry-failed tries again
            photo.error = row["label_error"]
            return False
        photo.ref = self.mapping.object_for(row["url"])
        if photo.ref is None:
            photo.error = UNMAPPED  # never fetched
            return False
        return True

    def _fetch_all(self, to_fetch: list[_Photo]) -> None:
        """Download the photos, ``fetch_threads`` at a time."""
        if not to_fetch:
            return
        if self.client is None:
            raise DetectError("an S3 client is required to fetch photos")
        client = self.client
        with ThreadPoolExecutor(max_workers=max(1, min(self.fetch_threads, len(to_fetch)))) as pool:
            list(pool.map(lambda photo: _fetch(client, photo), to_fetch))

    def _extract(self, tenant: str, fetched: list[_Photo]) -> None:
        """Extract the evidence of each photo downloaded (``unreadable`` if it does not decode); drop its bytes."""
        for photo in fetched:
            if photo.data is None:
                continue
            self.summary.photos_fetched += 1
            self.summary.bytes_downloaded += len(photo.data)
            try:
                photo.evidence = self.detector.extract(photo.data)
            except DecodeError as error:
                photo.error = UNREADABLE
                _log.debug("%s: %s unreadable: %s", tenant, photo.row["url"], error)
            photo.data = None

    def _score(self, photos: list[_Photo], profile: ShopProfile | None) -> list[dict[str, Any]]:
        """Score the photos product by product (a product's photos together): one result per photo, to write."""
        by_product: dict[int, list[_Photo]] = {}
        for photo in photos:
            by_product.setdefault(photo.row["product_id"], []).append(photo)
        return [
            result for product_photos in by_product.values() for result in self._score_product(product_photos, profile)
        ]

    def _score_product(self, product_photos: list[_Photo], profile: ShopProfile | None) -> list[dict[str, Any]]:
        """Assess the readable photos of one product together; the result of each of its photos."""
        readable = [photo for photo in product_photos if photo.evidence is not None]
        assessments = (
            self.detector.assess([photo.evidence for photo in readable], profile)  # type: ignore[misc]
            if readable
            else []
        )
        assessment_of = {id(photo): found for photo, found in zip(readable, assessments, strict=True)}
        return [self._result(photo, assessment_of.get(id(photo))) for photo in product_photos]

    def _result(self, photo: _Photo, assessment: Assessment | None) -> dict[str, Any]:
        """One photo's row of the write statement's JSON (its score, evidence, etag and error)."""
        score = round(assessment.score, 6) if assessment is not None else None
        assessed = assessment.to_json() if assessment is not None else None
        stored = None
        if photo.evidence is not None and not photo.kept:
            stored = {**self.detector.evidence_to_json(photo.evidence), "assessment": assessed}
        return {
            "id": photo.row["id"],
            "label_score": score,
            "label_evidence": stored,
            "label_etag": photo.etag,
            "label_error": None if score is not None else (photo.error or UNREADABLE),
            "evidence_kept": photo.kept,
            "assessment": assessed,
        }

    def _write(
        self, images: sql.Identifier, results: list[dict[str, Any]], profile_hash: str, tokens: list[tuple[Any, ...]]
    ) -> set[Any]:
        """Write the results in one statement, on the products this worker still holds; the ids written."""
        written = transient_retry(
            lambda: self.conn.execute(
                sql.SQL(_WRITE).format(images=images),
                {
                    "results": Jsonb(results, dumps=_dumps),
                    "version": self.detector.version,
                    "profile": profile_hash,
                    "tokens": [token[0] for token in tokens],
                    "worker": self.worker_id,
                },
            ).fetchall()
        )
        return {row[0] for row in written}

    def _count_written(
        self, tenant: str, photos: list[_Photo], results: list[dict[str, Any]], written_ids: set[Any]
    ) -> None:
        """Count the photos written (scored, failed, changed, abstained) and their products."""
        old_scores = {photo.row["id"]: photo.row["label_score"] for photo in photos}
        for result in results:
            if result["id"] in written_ids:
                self._count_result(tenant, result, old_scores[result["id"]])
        products_written = len({photo.row["product_id"] for photo in photos if photo.row["id"] in written_ids})
        self.summary.products += products_written
        self.summary.by_tenant[tenant] = self.summary.by_tenant.get(tenant, 0) + products_written

    def _count_result(self, tenant: str, result: dict[str, Any], old: Any) -> None:
        """Count one photo written, ``old`` its score before."""
        summary = self.summary
        if result["label_score"] is None:
            summary.failed[result["label_error"]] = summary.failed.get(result["label_error"], 0) + 1
        else:
            summary.photos_scored += 1
            summary.photos_reused += bool(result["evidence_kept"])
        if (old is None) != (result["label_score"] is None) or (
            old is not None
            and result["label_score"] is not None
            and abs(float(old) - float(result["label_score"])) > 1e-6
        ):
            summary.scores_changed += 1
            summary.changed_by_tenant[tenant] = summary.changed_by_tenant.get(tenant, 0) + 1
        reason = (result.get("assessment") or {}).get("abstain")
        if reason:
            summary.abstained[reason] = summary.abstained.get(reason, 0) + 1


def _dumps(value: Any) -> str:
    """JSON text of the results, numpy scalars and tuples included (serialised once)."""
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
