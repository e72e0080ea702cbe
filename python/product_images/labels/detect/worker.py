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

from product_images.claims import FIRST_ID, Claims, transient_retry
from product_images.labels.detect.summary import (
    MAX_PHOTO_BYTES,
    TOO_LARGE,
    UNMAPPED,
    UNREADABLE,
    DetectError,
    DetectSummary,
    _log,
)
from product_images.labels.detector import DecodeError, Detector, Evidence, ShopProfile
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
    """Download one photo, the whole object (a photo whose evidence is current is not fetched: ``_Worker._batch``
    scores it from its stored evidence).

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
        claim_sql = claims.claim()
        done, from_id = 0, FIRST_ID
        while limit is None or done < limit:
            size = self.batch_size if limit is None else min(self.batch_size, limit - done)
            claim = {**params, "from_id": from_id, "batch": size}
            tokens = transient_retry(lambda claim=claim: self.conn.execute(claim_sql, claim).fetchall())
            if not tokens:
                if from_id == FIRST_ID:
                    break
                from_id = FIRST_ID  # one more pass from the start: expired claims behind us
                continue
            tokens.sort()
            from_id = tokens[-1][0] + 1
            try:
                self._batch(tenant, tokens, profile, profile_hash)
            finally:
                self.conn.execute(claims.release(), {**params, "ids": [token[0] for token in tokens]})
            done += len(tokens)
        return done

    def _batch(  # noqa: C901, PLR0912, PLR0915
        self, tenant: str, tokens: list[tuple[Any, ...]], profile: ShopProfile | None, profile_hash: str
    ) -> None:
        images = sql.Identifier(tenant, "product_images")
        products = [token[1] for token in tokens]
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(sql.SQL(_ROWS).format(images=images), {"products": products}).fetchall()
        photos = [_Photo(row) for row in rows]
        to_fetch: list[_Photo] = []
        for photo in photos:
            row = photo.row
            changed_since = (
                row["metadata_etag"] is not None
                and row["label_etag"] != row["metadata_etag"]
                and row["metadata_probed_at"] is not None
                and row["label_detected_at"] is not None
                and row["metadata_probed_at"] > row["label_detected_at"]
            )
            current = (
                row["label_evidence"] is not None
                and row["label_detector"] == self.detector.version
                and not changed_since
            )
            if current and row["label_error"] is None:
                photo.evidence = self.detector.evidence_from_json(row["label_evidence"])
                photo.kept = True
                continue
            if (
                row["label_error"] is not None
                and row["label_detector"] == self.detector.version
                and not self.retry_failed
                and not changed_since
            ):
                # failed before and its object not seen since: only --retry-failed tries again
                photo.error = row["label_error"]
                continue
            photo.ref = self.mapping.object_for(row["url"])
            if photo.ref is None:
                photo.error = UNMAPPED  # never fetched
                continue
            to_fetch.append(photo)
        if to_fetch:
            if self.client is None:
                raise DetectError("an S3 client is required to fetch photos")
            client = self.client
            with ThreadPoolExecutor(max_workers=max(1, min(self.fetch_threads, len(to_fetch)))) as pool:
                list(pool.map(lambda photo: _fetch(client, photo), to_fetch))
        started = time.process_time()
        for photo in to_fetch:
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
        results: list[dict[str, Any]] = []
        by_product: dict[int, list[_Photo]] = {}
        for photo in photos:
            by_product.setdefault(photo.row["product_id"], []).append(photo)
        for product_photos in by_product.values():
            readable = [photo for photo in product_photos if photo.evidence is not None]
            assessments = (
                self.detector.assess([photo.evidence for photo in readable], profile)  # type: ignore[misc]
                if readable
                else []
            )
            assessment_of = {id(photo): found for photo, found in zip(readable, assessments, strict=True)}
            for photo in product_photos:
                assessment = assessment_of.get(id(photo))
                score = round(assessment.score, 6) if assessment is not None else None
                assessed = assessment.to_json() if assessment is not None else None
                stored = None
                if photo.evidence is not None and not photo.kept:
                    stored = {**self.detector.evidence_to_json(photo.evidence), "assessment": assessed}
                results.append(
                    {
                        "id": photo.row["id"],
                        "label_score": score,
                        "label_evidence": stored,
                        "label_etag": photo.etag,
                        "label_error": None if score is not None else (photo.error or UNREADABLE),
                        "evidence_kept": photo.kept,
                        "assessment": assessed,
                    }
                )
        self.summary.cpu_seconds += time.process_time() - started
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
        written_ids = {row[0] for row in written}
        old_scores = {photo.row["id"]: photo.row["label_score"] for photo in photos}
        for result in results:
            if result["id"] not in written_ids:
                continue
            if result["label_score"] is None:
                self.summary.failed[result["label_error"]] = self.summary.failed.get(result["label_error"], 0) + 1
            else:
                self.summary.photos_scored += 1
                self.summary.photos_reused += bool(result["evidence_kept"])
            old = old_scores[result["id"]]
            if (old is None) != (result["label_score"] is None) or (
                old is not None
                and result["label_score"] is not None
                and abs(float(old) - float(result["label_score"])) > 1e-6
            ):
                self.summary.scores_changed += 1
                self.summary.changed_by_tenant[tenant] = self.summary.changed_by_tenant.get(tenant, 0) + 1
            reason = (result.get("assessment") or {}).get("abstain")
            if reason:
                self.summary.abstained[reason] = self.summary.abstained.get(reason, 0) + 1
        products_written = len({photo.row["product_id"] for photo in photos if photo.row["id"] in written_ids})
        self.summary.products += products_written
        self.summary.by_tenant[tenant] = self.summary.by_tenant.get(tenant, 0) + products_written
        self.advance(len(photos))


def _dumps(value: Any) -> str:
    """JSON text of the results, numpy scalars and tuples included (serialised once)."""
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
