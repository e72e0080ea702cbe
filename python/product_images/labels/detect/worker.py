"""One worker of ``labels detect``: claim products, fetch their photos, score them, write the scores.

The write follows the metadata backfill's rules (:mod:`product_images.metadata.backfill`): a photo's result lands
only on a row that still shows what was scored, never waiting for a row another transaction holds.
``label_detected_at`` is the time (database clock) just before the batch's downloads, not the write's: when the
backfill sees the object replaced after that (another ETag, ``metadata_probed_at`` later), the photo is to do
again, and a result already known to be stale at the write is not written at all. A photo scored again from its
stored evidence keeps the time (and ETag) of the download that evidence came from: after a change of the shop
profile, and after a change of the model, thresholds or abstention rules when its evidence records the current
evidence version (:func:`_reusable_evidence`). A photo that holds a score and
whose download fails for a reason that may pass (``network``) keeps what it holds until a run after the lease; a
store no connection can be made to at all, or answering 5xx to photo after photo, stops the run instead
(``storage_errors.StoreUnreachableError``, ``StoreFailingError``).
"""

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

from product_images.claims import Claims, bounded, claimed_batches
from product_images.labels.detect.summary import (
    MAX_PHOTO_BYTES,
    TOO_LARGE,
    UNMAPPED,
    UNREADABLE,
    DetectConfigurationError,
    DetectError,
    DetectSummary,
    _log,
)
from product_images.labels.detector import Assessment, DecodeError, Detector, Evidence, ShopProfile
from product_images.metadata.probe import (
    ProbeError,
    StorageConfigurationError,
    classify_storage_error,
    storage_configuration_error,
)
from product_images.metadata.storage import ObjectRef, UrlMapping
from product_images.metadata.storage_errors import ServerErrorRun, server_error, store_unreachable_error

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

# Each result is written only on a row of a product this worker still claims, locked without waiting (SKIP LOCKED),
# still showing the URL scored, and whose object the backfill has not seen replaced since the evidence came from it
# (another ETag probed after the download, or after the stored evidence's own download). Returns (id, outcome) per
# row: written; changed (the URL or the object changed: left to do); locked (another transaction holds the row).
# A row of a product another worker took over after the lease is not returned.
_WRITE = """
with

results as materialized (
    select *
    from jsonb_to_recordset(%(results)s) as results (
        id bigint, url text, label_score real, label_evidence jsonb, label_etag text, label_error text,
        evidence_kept boolean, assessment jsonb
    )
),

held as materialized (
    select images.id
    from {images} as images
    where
        images.id in (select results.id from results)
        and exists (
            select 1 from {images} as tokens
            where
                tokens.id = any(%(tokens)s) and tokens.product_id = images.product_id
                and tokens.label_claimed_by = %(worker)s
        )
),

locked as materialized (
    select images.id
    from {images} as images
    where images.id in (select held.id from held)
    order by images.id
    for update skip locked
),

sources as (
    select
        results.*,
        case when results.evidence_kept then images.label_etag else results.label_etag end as source_etag,
        case
            when results.evidence_kept then coalesce(images.label_detected_at, %(fetched_at)s)
            else %(fetched_at)s
        end as source_at
    from results
    inner join {images} as images on results.id = images.id
),

written as (
    update {images} as images
    set
        label_score = sources.label_score,
        label_evidence = case
            when sources.evidence_kept then images.label_evidence
                || case
                    when sources.assessment is null then '{{}}'::jsonb
                    else jsonb_build_object('assessment', sources.assessment)
                end
                || jsonb_build_object('evidence_version', %(evidence_version)s::text, 'detector', %(version)s::text)
            else sources.label_evidence
        end,
        label_etag = sources.source_etag,
        label_error = sources.label_error,
        label_detector = %(version)s,
        label_profile = %(profile)s,
        label_detected_at = sources.source_at,
        label_scores_pending = images.label_scores_pending
            or images.label_score is distinct from sources.label_score
            or images.label_error is distinct from sources.label_error
    from sources
    where
        images.id = sources.id
        and images.id in (select locked.id from locked)
        and images.url is not distinct from sources.url
        and not (
            images.metadata_etag is not null
            and images.metadata_etag is distinct from sources.source_etag
            and images.metadata_probed_at > sources.source_at
        )
    returning images.id
)

select written.id, 'written' as outcome from written
union all
select locked.id, 'changed' as outcome from locked
where locked.id not in (select written.id from written)
union all
select held.id, 'locked' as outcome from held
where held.id not in (select locked.id from locked)
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


def _fetch(client: BaseClient, photo: _Photo, failing: ServerErrorRun) -> None:
    """Download one photo, the whole object (a photo whose evidence is current is not fetched: ``_Worker._to_fetch``
    keeps its stored evidence).

    Sets ``photo.data`` and ``photo.etag``, or ``photo.error`` (``too_large`` above
    :data:`MAX_PHOTO_BYTES`, else the storage error's class); raises what it cannot classify.

    Raises:
        StorageConfigurationError: the bucket does not exist or the store rejects the credentials (every object
            would fail alike: no photo's failure); its subclass StoreUnreachableError when no TCP connection to
            the endpoint could be made after botocore's retries (refused, no such host, connect timeout: the
            rule of :class:`~product_images.metadata.storage_errors.StoreUnreachableError`). A connection made
            and then cut or silent stays the photo's ``network``. Its subclass StoreFailingError when this photo
            is the ``failing.threshold``-th in a row the store answered HTTP 5xx after botocore's retries
            (:class:`~product_images.metadata.storage_errors.ServerErrorRun`).
    """
    assert photo.ref is not None
    kwargs: dict[str, Any] = {"Bucket": photo.ref.bucket, "Key": photo.ref.key}
    try:
        response = client.get_object(**kwargs)
        failing.record(photo.ref.bucket, None)  # answered, not 5xx
        size = int(response.get("ContentLength") or 0)
        if size > MAX_PHOTO_BYTES:
            response["Body"].close()
            photo.error = TOO_LARGE
            return
        photo.data = response["Body"].read()
        photo.etag = str(response.get("ETag", "")).strip('"') or None
    except (ClientError, BotoCoreError) as error:
        configuration = storage_configuration_error(error, client, photo.ref.bucket) or store_unreachable_error(
            error, client, photo.ref.bucket
        )
        if configuration is not None:
            raise configuration from error
        classified = classify_storage_error(error)
        if classified is None:
            raise
        failing.record(photo.ref.bucket, server_error(error))
        photo.error = classified[0].value
        _log.debug("s3://%s/%s: %s", photo.ref.bucket, photo.ref.key, classified[1])


def _reusable_evidence(row: dict[str, Any], detector: Detector) -> bool:
    """Whether a photo's stored ``label_evidence`` is what ``detector`` would extract from its object now, so that
    it can be scored again from it, without a download (its object's own change is checked apart).

    Args:
        row: the photo's row (``label_evidence`` a dict or None, ``label_error``, ``label_detector``).
        detector: the detector of this run.

    Returns:
        True when the row holds evidence and no error, its evidence records no other evidence version than
        ``detector.evidence_version``, and either it was scored by ``detector``'s version (which hashes the
        evidence version in: evidence stored before the version was recorded too), or its evidence records
        ``detector.evidence_version`` (the model, thresholds or abstention rules changed, not the evidence) and
        the detector version written with it is the row's ``label_detector`` (a row whose detector someone
        changed is looked at again). Scored by another detector version with evidence that records no evidence
        version (stored before it was recorded): False.
    """
    evidence = row["label_evidence"]
    if not isinstance(evidence, dict) or row["label_error"] is not None:
        return False
    recorded = evidence.get("evidence_version")
    if recorded is not None and recorded != detector.evidence_version:
        return False
    if row["label_detector"] == detector.version:
        return True
    written_with = evidence.get("detector")
    return recorded is not None and written_with is not None and written_with == row["label_detector"]


def _keeps_its_score(photo: _Photo) -> bool:
    """Whether a photo is left as its row has it (score, evidence, detector, error): its download failed for a reason
    that may pass (``network``, after botocore's retries) while the row holds a score. A model update must not
    turn a network blip into a photo the next dbt run cannot use; its product stays claimed until the lease ends,
    so the same run does not try it again and again, and a run after the lease does."""
    row = photo.row
    return photo.error == ProbeError.NETWORK.value and row["label_score"] is not None and row["label_error"] is None


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
        self.failing = ServerErrorRun(getattr(getattr(client, "meta", None), "endpoint_url", None))

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
                still_held = self._batch(tenant, tokens, profile, profile_hash)
            except BaseException:
                self._release(claims, [token[0] for token in tokens], quietly=True)
                raise
            self._release(claims, [token[0] for token in tokens if token[1] not in still_held])
            done += len(tokens)
        return done

    def _release(self, claims: Claims, ids: list[Any], *, quietly: bool = False) -> None:
        """Give back the claims of the token rows ``ids`` (a row another transaction holds keeps its claim until the
        lease ends). ``quietly``: a database error is not raised (the batch failed already; the lease will end)."""
        try:
            bounded(self.conn, claims.release(), {"worker": self.worker_id, "ids": ids})
        except psycopg.Error:
            if not quietly:
                raise

    def _batch(
        self, tenant: str, tokens: list[tuple[Any, ...]], profile: ShopProfile | None, profile_hash: str
    ) -> set[Any]:
        """Fetch, extract, score and write the photos of a batch of claimed products; count what was written.

        Returns:
            The product ids to keep claimed until the lease ends: a photo of theirs was left locked, or kept
            its earlier score when its download failed (:func:`_keeps_its_score`).

        Raises:
            DetectConfigurationError: the bucket or the credentials are wrong, or the store cannot be reached;
                nothing of the batch was written.
        """
        images = sql.Identifier(tenant, "product_images")
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(sql.SQL(_ROWS).format(images=images), {"products": [token[1] for token in tokens]})
            photos = [_Photo(row) for row in rows.fetchall()]
        to_fetch = [photo for photo in photos if self._to_fetch(photo)]
        fetched_at = self.conn.execute("select clock_timestamp()").fetchone()[0]  # type: ignore[index]
        self._fetch_all(tenant, to_fetch)
        started = time.process_time()
        self._extract(tenant, to_fetch)
        kept = {photo.row["id"] for photo in to_fetch if _keeps_its_score(photo)}
        results = [result for result in self._score(photos, profile) if result["id"] not in kept]
        self.summary.cpu_seconds += time.process_time() - started
        outcomes = self._write(images, results, profile_hash, tokens, fetched_at)
        self._count_written(tenant, photos, results, outcomes)
        self.summary.kept_on_network_error += len(kept)
        self.advance(len(photos))
        product_of = {photo.row["id"]: photo.row["product_id"] for photo in photos}
        return {product_of[row_id] for row_id in (*outcomes.get("locked", ()), *kept)}

    def _to_fetch(self, photo: _Photo) -> bool:
        """Whether the photo must be downloaded; if not, set how it is scored instead.

        Its stored evidence when still what the extractor would give (``kept``, :func:`_reusable_evidence`) and
        its object was not seen changed since; its earlier failure when its object was not seen since and
        failures are not retried; ``unmapped`` when no mapping rule covers its URL.
        """
        row = photo.row
        changed_since = (
            row["metadata_etag"] is not None
            and row["label_etag"] != row["metadata_etag"]
            and row["metadata_probed_at"] is not None
            and row["label_detected_at"] is not None
            and row["metadata_probed_at"] > row["label_detected_at"]
        )
        if _reusable_evidence(row, self.detector) and not changed_since:
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

    def _fetch_all(self, tenant: str, to_fetch: list[_Photo]) -> None:
        """Download the photos, ``fetch_threads`` at a time.

        Raises:
            DetectConfigurationError: the store answered that the bucket does not exist or that it rejects the
                credentials, or no connection to it could be made, or it answered HTTP 5xx to photo after photo
                (the message names the bucket or the endpoint and the variables to check).
        """
        if not to_fetch:
            return
        if self.client is None:
            raise DetectError("an S3 client is required to fetch photos")
        client = self.client
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(self.fetch_threads, len(to_fetch)))) as pool:
                list(pool.map(lambda photo: _fetch(client, photo, self.failing), to_fetch))
        except StorageConfigurationError as error:
            raise DetectConfigurationError(
                f"{error.what} while scoring {tenant}.product_images: {error}; "
                "the run stopped and wrote nothing of this batch"
            ) from error

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
            stored = {
                **self.detector.evidence_to_json(photo.evidence),
                "assessment": assessed,
                "evidence_version": self.detector.evidence_version,
                "detector": self.detector.version,
            }
        return {
            "id": photo.row["id"],
            "url": photo.row["url"],
            "label_score": score,
            "label_evidence": stored,
            "label_etag": photo.etag,
            "label_error": None if score is not None else (photo.error or UNREADABLE),
            "evidence_kept": photo.kept,
            "assessment": assessed,
        }

    def _write(
        self,
        images: sql.Identifier,
        results: list[dict[str, Any]],
        profile_hash: str,
        tokens: list[tuple[Any, ...]],
        fetched_at: Any,
    ) -> dict[str, set[Any]]:
        """Write the results in one statement (see ``_WRITE``), under :func:`product_images.claims.bounded`'s
        ``lock_timeout``; ``fetched_at`` (timestamptz) is when the batch's downloads began.

        Returns:
            ``{"written": ids, "changed": ids, "locked": ids}`` (an outcome no row had is absent); the batch's
            other rows belong to products another worker took over.
        """
        rows = bounded(
            self.conn,
            sql.SQL(_WRITE).format(images=images),
            {
                "results": Jsonb(results, dumps=_dumps),
                "version": self.detector.version,
                "evidence_version": self.detector.evidence_version,
                "profile": profile_hash,
                "tokens": [token[0] for token in tokens],
                "worker": self.worker_id,
                "fetched_at": fetched_at,
            },
        )
        outcomes: dict[str, set[Any]] = {}
        for row_id, outcome in rows:
            outcomes.setdefault(outcome, set()).add(row_id)
        return outcomes

    def _count_written(
        self, tenant: str, photos: list[_Photo], results: list[dict[str, Any]], outcomes: dict[str, set[Any]]
    ) -> None:
        """Count the photos written (scored, failed, changed, abstained) and their products; those not written."""
        written_ids = outcomes.get("written", set())
        left_locked = len(outcomes.get("locked", ()))
        self.summary.left_locked += left_locked
        self.summary.claims_lost += len(results) - len(written_ids) - left_locked
        rows = {photo.row["id"]: photo.row for photo in photos}
        for result in results:
            if result["id"] in written_ids:
                self._count_result(tenant, result, rows[result["id"]])
        products_written = len({photo.row["product_id"] for photo in photos if photo.row["id"] in written_ids})
        self.summary.products += products_written
        self.summary.by_tenant[tenant] = self.summary.by_tenant.get(tenant, 0) + products_written

    def _count_result(self, tenant: str, result: dict[str, Any], row: dict[str, Any]) -> None:
        """Count one photo written, ``row`` its row before."""
        summary = self.summary
        old = row["label_score"]
        if result["label_score"] is None:
            summary.failed[result["label_error"]] = summary.failed.get(result["label_error"], 0) + 1
        else:
            summary.photos_scored += 1
            summary.photos_reused += bool(result["evidence_kept"])
            summary.photos_rescored += bool(result["evidence_kept"] and row["label_detector"] != self.detector.version)
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
