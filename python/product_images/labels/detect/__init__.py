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

One module per part: ``summary`` (what a run reports), ``profiles`` (step 1), ``worker``
(steps 2–5 in one process); this module runs the workers.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import psycopg
from botocore.client import BaseClient

from product_images.claims import Claims, default_worker_id
from product_images.labels.detect.profiles import tenant_profile
from product_images.labels.detect.summary import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEASE_SECONDS,
    LABEL_ERRORS,
    MAX_PHOTO_BYTES,
    DetectError,
    DetectSummary,
)
from product_images.labels.detect.worker import _todo, _Worker
from product_images.labels.detector import Detector, ShopProfile, load_detector
from product_images.metadata.storage import UrlMapping
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


def detect_labels(  # noqa: C901, PLR0912, PLR0915
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
