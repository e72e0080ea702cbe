"""``product-images labels detect``: score every photo by the evidence that it is the shop's price tag.

Per tenant, per product (a product's photos are scored together: the tag photo
tends to look unlike the product's other photos):

1. **learn** the tenant's shop profile from confirmed decisions only: the
   overrides seed and the app's labels (``label_source`` override/app), and
   products whose best photo scored at least the model's high bar; stored in
   ``<dbt schema>.product_images_label_profiles`` (reused while the confirmed set
   is the same, so several workers score with the same profile);
2. **claim** products with a lease (:class:`product_images.claims.Claims`, through
   each product's first row): ``FOR UPDATE SKIP LOCKED``, several workers, a killed
   worker's products taken over after the lease;
3. **fetch** each photo that has no evidence from this detector version yet, or
   whose object changed (the backfill's ETag differs): a GET of the whole object
   through the same storage configuration and URL mapping as the metadata backfill.
   A URL outside the mapping is never fetched (``unmapped``); a photo that cannot
   be read gets a reason (``missing``, ``access_denied``, ``network``,
   ``unreadable``), not a crash. A photo whose evidence is current is not fetched
   again: its stored evidence is used;
4. **extract** the evidence (:mod:`product_images.labels.evidence`) and **score**
   every photo of the product with the profile;
5. **write** per photo ``label_score``, ``label_evidence``, ``label_detector``,
   ``label_profile``, ``label_detected_at``, ``label_etag``, ``label_error``, and
   ``label_scores_pending`` when the score changed: the next ``dbt run --select
   product_images`` applies the new evidence to those products only.

A rerun skips products whose photos all have evidence from this detector
version, scored with the current profile, from the object the backfill last saw.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from product_images.claims import FIRST_ID, Claims, default_worker_id, transient_retry
from product_images.labels.detector import DecodeError, Detector, Evidence, ShopProfile, load_detector
from product_images.metadata.probe import ProbeError, classify_storage_error
from product_images.metadata.storage import ObjectRef, UrlMapping
from product_images.migration.tenants import select_tenants

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LEASE_SECONDS",
    "LABEL_ERRORS",
    "MAX_PHOTO_BYTES",
    "DetectError",
    "DetectSummary",
    "detect_labels",
    "tenant_profile",
]

_log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 20
"""Products claimed, fetched, scored and written together."""
DEFAULT_LEASE_SECONDS = 600.0
"""Seconds a claim holds a batch's products; must exceed the time one batch takes."""
MAX_PHOTO_BYTES = 50 * 2**20
"""A photo larger than this (bytes) is not downloaded: ``too_large``."""
UNMAPPED = "unmapped"
UNREADABLE = "unreadable"
TOO_LARGE = "too_large"
LABEL_ERRORS: tuple[str, ...] = (
    UNMAPPED,
    ProbeError.MISSING.value,
    ProbeError.ACCESS_DENIED.value,
    ProbeError.NETWORK.value,
    UNREADABLE,
    TOO_LARGE,
)
"""Every value ``label_error`` can hold (null: the photo was scored)."""


class DetectError(RuntimeError):
    """The detection could not go on (database unreachable, bad storage configuration); says where."""


@dataclass
class DetectSummary:
    """What one detection run did.

    Attributes:
        worker_id: the claim id of this run's (main) worker.
        dry_run: nothing was written.
        tenants: the tenants looked at.
        products: products claimed and scored.
        photos_scored: photos given a score.
        photos_fetched: objects downloaded (a photo whose stored evidence is current is not).
        photos_reused: photos scored from their stored evidence, without a download.
        failed: photos not scored, by reason (see :data:`LABEL_ERRORS`).
        scores_changed: photos whose score changed (their products are relabelled by the next dbt run).
        bytes_downloaded: bytes of the objects downloaded.
        cpu_seconds: CPU seconds of extraction and scoring, all workers.
        seconds: wall-clock seconds.
        would_detect: products a run would claim now (dry run only).
        by_tenant: products scored per tenant (they add up to ``products``).
        profiles: per tenant, the profile used: ``{"hash", "confirmed_tags", "confirmed_photos",
            "decided_products"}`` (``decided_products``: products people decided, through the
            overrides seed or the app).
        changed_by_tenant: per tenant, photos whose score changed in this run.
        abstained: photos the detector would not decide on the model's word alone, by reason
            (see :data:`product_images.labels.abstention.REASONS`; ``shop_price``: labelled on
            the price read, whatever the model scored).
    """

    worker_id: str
    dry_run: bool = False
    tenants: list[str] = field(default_factory=list)
    products: int = 0
    photos_scored: int = 0
    photos_fetched: int = 0
    photos_reused: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    scores_changed: int = 0
    bytes_downloaded: int = 0
    cpu_seconds: float = 0.0
    seconds: float = 0.0
    would_detect: int = 0
    by_tenant: dict[str, int] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_by_tenant: dict[str, int] = field(default_factory=dict)
    abstained: dict[str, int] = field(default_factory=dict)

    def add(self, other: DetectSummary) -> None:
        """Add another worker's counts to these."""
        for name in (
            "products",
            "photos_scored",
            "photos_fetched",
            "photos_reused",
            "scores_changed",
            "bytes_downloaded",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cpu_seconds += other.cpu_seconds
        for reason, count in other.failed.items():
            self.failed[reason] = self.failed.get(reason, 0) + count
        for mine, theirs in (
            (self.by_tenant, other.by_tenant),
            (self.changed_by_tenant, other.changed_by_tenant),
            (self.abstained, other.abstained),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count

    @property
    def photos_per_second(self) -> float:
        """Photos scored per wall-clock second."""
        return self.photos_scored / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (``photos_per_second`` included)."""
        return {**asdict(self), "photos_per_second": round(self.photos_per_second, 2)}

    def lines(self) -> list[str]:
        """The human summary, one line per fact."""
        if self.dry_run:
            return [
                f"labels detect (dry run): {self.would_detect:,} products would be scored over "
                f"{len(self.tenants)} tenant(s); nothing changed"
            ]
        failed = sum(self.failed.values())
        lines = [
            f"labels detect: {self.products:,} products, {self.photos_scored:,} photos scored over "
            f"{len(self.tenants)} tenant(s) in {self.seconds:.1f} s ({self.photos_per_second:.1f} photos/s, "
            f"{self.cpu_seconds / max(self.photos_scored, 1) * 1000:.0f} ms CPU a photo)",
            f"  fetched {self.photos_fetched:,} objects ({self.bytes_downloaded / 1e6:,.1f} MB), "
            f"{self.photos_reused:,} photos scored from their stored evidence; {self.scores_changed:,} scores changed",
        ]
        if failed:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.failed.items()))
            lines.append(f"  not scored: {failed:,} ({reasons})")
        if self.abstained:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.abstained.items()))
            lines.append(f"  not on the model's word alone: {sum(self.abstained.values()):,} photos ({reasons})")
        for tenant in self.tenants:
            info = self.profiles.get(tenant, {})
            if info.get("decided_products"):
                lines.append(
                    f"  {tenant}: {info['decided_products']:,} products decided by people, shop profile from "
                    f"{info.get('confirmed_tags', 0):,} confirmed tags; "
                    f"{self.changed_by_tenant.get(tenant, 0):,} scores changed in this run"
                )
        if self.scores_changed:
            lines.append("  apply them: dbt run --select product_images")
        return lines


# --------------------------------------------------------------------------- profiles


def _profiles_relation(schema: str) -> sql.Identifier:
    return sql.Identifier(schema, "product_images_label_profiles")


_CONFIRMED = """
with

products as (
    select
        product_id,
        bool_or(label_source in ('override', 'app') and is_label) as human_label,
        max(label_score) filter (where label_error is null) as best_score
    from {images}
    group by product_id
)

select images.id, images.label_evidence, images.label_score, products.best_score,
    case
        when images.label_source in ('override', 'app') or products.human_label then images.is_label
        else images.label_score = products.best_score
    end as is_tag
from {images} as images
inner join products on images.product_id = products.product_id
where
    images.label_evidence is not null
    and images.label_detector = %(version)s
    and images.label_error is null
    and (
        images.label_source in ('override', 'app')
        or products.human_label
        or products.best_score >= %(high_bar)s
    )
order by images.id
"""


def tenant_profile(
    conn: psycopg.Connection, schema: str, tenant: str, detector: Detector
) -> tuple[ShopProfile | None, str, dict[str, Any]]:
    """The shop profile ``tenant``'s photos are scored with, learned from confirmed decisions only.

    Confirmed: images people decided (``label_source`` override or app; in a product
    where a person chose the label, its other photos count as not tags) and products
    whose best photo scored at least ``detector.high_bar`` (that photo a tag, the
    others not). Never the detector's doubtful guesses. A profile stored for the same
    confirmed set and detector version is reused, so concurrent workers agree.

    Args:
        conn: an autocommit connection.
        schema: the dbt schema (``product_images_label_profiles`` lives there).
        tenant: the tenant schema.
        detector: the detector whose evidence and high bar count.

    Returns:
        ``(profile or None, profile hash, {"hash", "confirmed_tags", "confirmed_photos"})``;
        None and ``"none"`` while nothing is confirmed.
    """
    images = sql.Identifier(tenant, "product_images")
    rows = conn.execute(
        sql.SQL(_CONFIRMED).format(images=images), {"version": detector.version, "high_bar": detector.high_bar}
    ).fetchall()
    confirmed_set = f"{detector.version}:" + ",".join(f"{row[0]}{'t' if row[4] else 'f'}" for row in rows)
    fingerprint = hashlib.sha256(confirmed_set.encode()).hexdigest()
    relation = _profiles_relation(schema)
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " tenant_schema text primary key, detector text not null, fingerprint text not null,"
            " profile jsonb, profile_hash text not null, confirmed_tags integer not null,"
            " confirmed_photos integer not null, learned_at timestamptz not null default now())"
        ).format(relation)
    )
    stored = conn.execute(
        sql.SQL("select fingerprint, profile, profile_hash from {} where tenant_schema = %s").format(relation),
        (tenant,),
    ).fetchone()
    tags = sum(1 for row in rows if row[4])
    decided = conn.execute(
        sql.SQL("select count(distinct product_id) from {} where label_source in ('override', 'app')").format(images)
    ).fetchone()
    info = {"confirmed_tags": tags, "confirmed_photos": len(rows), "decided_products": decided[0] if decided else 0}
    if stored is not None and stored[0] == fingerprint:
        profile = detector.profile_from_json(stored[1]) if stored[1] is not None else None
        return profile, stored[2], {"hash": stored[2], **info}
    profile = None
    if tags:
        confirmed = [(detector.evidence_from_json(row[1]), bool(row[4])) for row in rows]
        profile = detector.learn(tenant, confirmed)
    profile_hash = detector.profile_hash(profile)
    conn.execute(
        sql.SQL(
            "insert into {} as profiles (tenant_schema, detector, fingerprint, profile, profile_hash, confirmed_tags,"
            " confirmed_photos, learned_at) values (%s, %s, %s, %s, %s, %s, %s, now())"
            " on conflict (tenant_schema) do update set detector = excluded.detector,"
            " fingerprint = excluded.fingerprint, profile = excluded.profile, profile_hash = excluded.profile_hash,"
            " confirmed_tags = excluded.confirmed_tags, confirmed_photos = excluded.confirmed_photos,"
            " learned_at = excluded.learned_at"
        ).format(relation),
        (
            tenant,
            detector.version,
            fingerprint,
            Jsonb(detector.profile_to_json(profile)) if profile is not None else None,
            profile_hash,
            tags,
            len(rows),
        ),
    )
    return profile, profile_hash, {"hash": profile_hash, **info}


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

    def _batch(
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


# --------------------------------------------------------------------------- the run


def check_second_reader() -> None:
    """Refuse to detect without the second reader (Tesseract's French data), before any claim.

    Only the file is checked here: each worker creates its own engine when it first reads.

    Raises:
        DetectError: its message says what to install or set (``TESSDATA_PREFIX``).
    """
    from product_images.labels.evidence import SecondReaderUnavailable, require_french_tessdata

    try:
        require_french_tessdata()
    except SecondReaderUnavailable as error:
        raise DetectError(str(error)) from error


def _worker_process(job: dict[str, Any], queue: Any) -> dict[str, Any]:
    """Entry point of a worker process (``--concurrency`` > 1): its own connection and S3 client."""
    from product_images.connection import connect
    from product_images.metadata.storage import s3_client

    detector = load_detector()
    with connect(autocommit=True, application_name="product-images labels detect") as conn:
        worker = _Worker(
            conn,
            s3_client(max_pool_connections=job["fetch_threads"]),
            job["mapping"],
            detector,
            worker_id=job["worker_id"],
            batch_size=job["batch_size"],
            lease_seconds=job["lease_seconds"],
            fetch_threads=job["fetch_threads"],
            retry_failed=job["retry_failed"],
            run_started=job["run_started"],
            advance=queue.put,
        )
        for tenant, (profile_json, profile_hash) in job["profiles"].items():
            profile = detector.profile_from_json(profile_json) if profile_json is not None else None
            worker.run_tenant(tenant, profile, profile_hash)
    return asdict(worker.summary)


def detect_labels(
    conn: psycopg.Connection,
    client: BaseClient | None,
    mapping: UrlMapping,
    *,
    schema: str,
    tenants: Sequence[str] | None = None,
    limit: int | None = None,
    concurrency: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    fetch_threads: int = 8,
    retry_failed: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int | None], object] | None = None,
    worker_id: str | None = None,
    detector: Detector | None = None,
) -> DetectSummary:
    """Score the photos of every tenant's products still to do (see the module docstring).

    Args:
        conn: an AUTOCOMMIT connection (claims must commit at once).
        client: a boto3 S3 client (:func:`product_images.metadata.storage.s3_client`); None only with ``dry_run``.
        mapping: the URL → bucket/key mapping, as for the metadata backfill.
        schema: the dbt schema (the profiles table lives there).
        tenants: tenant schemas to do (default: every tenant with a ``product_images`` table).
        limit: score at most this many products in all (with ``concurrency`` 1).
        concurrency: worker processes (>= 1); each claims its own products and scores on its own core.
        batch_size: products claimed per batch (>= 1).
        lease_seconds: how long a batch's claim lasts (> 0 s).
        fetch_threads: objects downloaded at once per worker (>= 1).
        retry_failed: also redo photos that failed (``label_error``) before this run.
        dry_run: count the products that would be scored; change nothing.
        progress: called as ``progress(photos_done, photos_total or None)``.
        worker_id: the claim id (default :func:`product_images.claims.default_worker_id`).
        detector: the detector (default :func:`product_images.labels.detector.load_detector`).

    Returns:
        A :class:`DetectSummary`, counts summed over the workers.

    Raises:
        ValueError: an argument out of range or a tenant that is not one (the message names it).
        DetectError: the database failed (names the tenant and the step), or Tesseract's
            French data is not installed (:func:`check_second_reader`).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if lease_seconds <= 0:
        raise ValueError(f"lease_seconds must be > 0, got {lease_seconds}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if limit is not None and concurrency > 1:
        raise ValueError("limit works with concurrency 1 only")
    if not conn.autocommit:
        raise ValueError("labels detect needs an autocommit connection (connect(autocommit=True))")
    if not dry_run and client is None:
        raise ValueError("an S3 client is required unless dry_run=True")
    detector = detector or load_detector()
    if not dry_run:
        check_second_reader()
    started = time.perf_counter()
    summary = DetectSummary(worker_id=worker_id or default_worker_id(), dry_run=dry_run)
    step, tenant = "discovering tenants", ""
    try:
        selected = select_tenants(conn, tenants)
        summary.tenants = selected
        run_started = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        profiles: dict[str, tuple[ShopProfile | None, str]] = {}
        for tenant in selected:
            step = "learning the shop profile"
            profile, profile_hash, info = tenant_profile(conn, schema, tenant, detector)
            profiles[tenant] = (profile, profile_hash)
            summary.profiles[tenant] = info
        step = "counting products to score"
        total = photos_todo = 0
        count_photos = progress is not None and limit is None and not dry_run
        for tenant in selected:
            claims = Claims(tenant, "label", _todo(retry_failed), per_product=True)
            params = {
                "cap": None,
                "version": detector.version,
                "profile": profiles[tenant][1],
                "run_started": run_started,
            }
            total += conn.execute(claims.count(), params).fetchone()[0]  # type: ignore[index]
            if count_photos:  # the progress bar's total: the photos of those products
                photos_todo += conn.execute(claims.count_rows_of_products(), params).fetchone()[0]  # type: ignore[index]
        tenant = ""
        if dry_run:
            summary.would_detect = total if limit is None else min(total, limit)
            summary.seconds = time.perf_counter() - started
            return summary
        photos_total = photos_todo if count_photos else None  # with a limit: no total
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, photos_total)

        step = "scoring"
        if concurrency == 1:
            worker = _Worker(
                conn,
                client,
                mapping,
                detector,
                worker_id=summary.worker_id,
                batch_size=batch_size,
                lease_seconds=lease_seconds,
                fetch_threads=fetch_threads,
                retry_failed=retry_failed,
                run_started=run_started,
                advance=advance,
            )
            remaining = limit
            for tenant in selected:
                profile, profile_hash = profiles[tenant]
                count = worker.run_tenant(tenant, profile, profile_hash, remaining)
                if remaining is not None:
                    remaining -= count
                    if remaining <= 0:
                        break
            tenant = ""
            summary.add(worker.summary)
        else:
            job = {
                "mapping": mapping,
                "batch_size": batch_size,
                "lease_seconds": lease_seconds,
                "fetch_threads": fetch_threads,
                "retry_failed": retry_failed,
                "run_started": run_started,
                "profiles": {
                    name: (detector.profile_to_json(profile) if profile is not None else None, hashed)
                    for name, (profile, hashed) in profiles.items()
                },
            }
            context = multiprocessing.get_context("spawn")
            with context.Manager() as manager:
                queue = manager.Queue()
                with context.Pool(concurrency) as pool:
                    pending = [
                        pool.apply_async(_worker_process, ({**job, "worker_id": f"{summary.worker_id}/{n}"}, queue))
                        for n in range(concurrency)
                    ]
                    while not all(result.ready() for result in pending):
                        _drain(queue, advance)
                        time.sleep(0.1)
                    _drain(queue, advance)
                    for result in pending:
                        other = result.get()
                        summary.add(
                            DetectSummary(
                                **{
                                    key: value
                                    for key, value in other.items()
                                    if key in DetectSummary.__dataclass_fields__
                                }
                            )
                        )
    except psycopg.Error as error:
        where = f" in {tenant}.product_images" if tenant else ""
        raise DetectError(f"database error while {step}{where}: {str(error).strip()}") from error
    summary.seconds = time.perf_counter() - started
    return summary


def _drain(queue: Any, advance: Callable[[int], None]) -> None:
    while True:
        try:
            advance(queue.get_nowait())
        except Exception:  # noqa: BLE001 - queue.Empty through the manager's proxy
            return
