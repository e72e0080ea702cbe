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
3. **fetch** each photo that has no evidence from this evidence version yet, or
   whose object changed (the backfill's ETag differs): a GET of the whole object
   through the same storage configuration and URL mapping as the metadata backfill.
   A URL outside the mapping is never fetched (``unmapped``); a photo that cannot
   be read gets a reason (``missing``, ``access_denied``, ``network``,
   ``unreadable``), not a crash. A photo whose evidence is current is not fetched
   again: its stored evidence is used, also when only the model, thresholds or
   abstention rules changed (the evidence records its evidence version: evidence of
   another version, or of none recorded, is extracted again);
4. **extract** the evidence (:mod:`product_images.labels.evidence`) and **score**
   every photo of the product with the profile;
5. **write** per photo ``label_score``, ``label_evidence``, ``label_detector``,
   ``label_profile``, ``label_detected_at``, ``label_etag``, ``label_error``, and
   ``label_scores_pending`` when the score changed: the next ``dbt run --select
   product_images`` applies the new evidence to those products only. A photo is
   written only where its row still shows what was scored (the same URL; an object
   the backfill has not seen replaced since the download: ``label_detected_at`` is
   the download's time), else it stays to do; a row another transaction holds is not
   waited for: it stays claimed until the lease ends (``left_locked``).

A bucket that does not exist, credentials the store rejects (an expired session token
included) or an endpoint no TCP connection can be made to (refused, no such host,
connect timeout, after botocore's retries: see
:class:`~product_images.metadata.storage_errors.StoreUnreachableError`) stop the run
(:class:`DetectConfigurationError`) before the batch is written. With
``concurrency`` > 1, a worker process that dies (SIGKILL, the OOM killer) stops the
run: the claims of its workers are released and :class:`DetectError` says to run
again.

A rerun skips products whose photos all have evidence from this detector
version, scored with the current profile, from the object the backfill last saw.

One module per part: ``summary`` (what a run reports), ``profiles`` (step 1), ``worker``
(steps 2–5 in one process); this module runs the workers.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from botocore.client import BaseClient
from psycopg import sql

from product_images.claims import Claims, RunStep, bounded, default_worker_id
from product_images.labels.detect.profiles import tenant_profile
from product_images.labels.detect.summary import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEASE_SECONDS,
    LABEL_ERRORS,
    MAX_PHOTO_BYTES,
    DetectConfigurationError,
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
    "DetectConfigurationError",
    "DetectError",
    "DetectSummary",
    "detect_labels",
    "tenant_profile",
]

#: Seconds the release of a dead run's claims keeps retrying rows a dying worker's session still locks.
RELEASE_WAIT_SECONDS = 5.0


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


_progress_queue: Any = None
"""In a worker process: the queue its photo counts go to (set by :func:`_start_worker_process`)."""


def _start_worker_process(queue: Any) -> None:
    """Initialiser of a worker process: keep the parent's progress queue (a ``multiprocessing`` queue)."""
    global _progress_queue
    _progress_queue = queue


def _worker_process(job: dict[str, Any]) -> dict[str, Any]:
    """Entry point of a worker process (``--concurrency`` > 1): its own connection and S3 client.

    Returns:
        Its :class:`DetectSummary` as a dict.

    Raises:
        DetectError: a database error, naming the tenant it happened in (the parent re-raises it).
        DetectConfigurationError: the bucket or the credentials are wrong, or the store cannot be reached (the
            parent re-raises it).
    """
    from product_images.connection import connect
    from product_images.metadata.storage import s3_client

    detector = load_detector()
    where = RunStep(DetectError, "scoring (connecting)")
    with where.reporting_database_errors():
        with connect(autocommit=True, application_name="product-images labels detect") as conn:
            client = s3_client(max_pool_connections=job["fetch_threads"])
            worker = _new_worker(conn, client, detector, job, worker_id=job["worker_id"], advance=_progress_queue.put)
            where.step = "scoring"
            for tenant, (profile_json, profile_hash) in job["profiles"].items():
                where.tenant = tenant
                profile = detector.profile_from_json(profile_json) if profile_json is not None else None
                worker.run_tenant(tenant, profile, profile_hash)
    return asdict(worker.summary)


def _new_worker(
    conn: psycopg.Connection,
    client: BaseClient | None,
    detector: Detector,
    job: dict[str, Any],
    *,
    worker_id: str,
    advance: Callable[[int], object],
) -> _Worker:
    """A worker with the settings of ``job`` (:meth:`_Detection.job`)."""
    return _Worker(
        conn,
        client,
        job["mapping"],
        detector,
        worker_id=worker_id,
        batch_size=job["batch_size"],
        lease_seconds=job["lease_seconds"],
        fetch_threads=job["fetch_threads"],
        retry_failed=job["retry_failed"],
        run_started=job["run_started"],
        advance=advance,
    )


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
        batch_size: products claimed per batch (>= 1); lease_seconds: how long a batch's claim lasts (> 0 s).
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
        DetectError: the database failed (names the tenant and the step), no French data for Tesseract
            (:func:`check_second_reader`), or a worker process died (its workers' claims released).
        DetectConfigurationError: no such bucket, credentials the store rejects, or no TCP connection to the
            endpoint (names it and the variables to check); the batch in flight is released, not written.
    """
    _check_arguments(conn, client, concurrency, batch_size, lease_seconds, limit, dry_run)
    detector = detector or load_detector()
    if not dry_run:
        check_second_reader()
    run = _Detection(conn, detector, retry_failed, worker_id or default_worker_id(), dry_run)
    with run.where.reporting_database_errors():
        run.start(schema, tenants)
        total, photos_total = run.count_to_do(count_photos=progress is not None and limit is None and not dry_run)
        if dry_run:
            run.summary.would_detect = total if limit is None else min(total, limit)
        else:
            job = run.job(mapping, batch_size, lease_seconds, fetch_threads)
            run.score(client, job, concurrency, limit, _Progress(progress, photos_total))
    return run.finish()


def _check_arguments(
    conn: psycopg.Connection,
    client: BaseClient | None,
    concurrency: int,
    batch_size: int,
    lease_seconds: float,
    limit: int | None,
    dry_run: bool,
) -> None:
    """Raise ValueError on an argument :func:`detect_labels` cannot run with; the message says which."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not lease_seconds > 0:  # NaN too, as the backfill refuses it
        raise ValueError(f"lease_seconds must be > 0, got {lease_seconds}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if limit is not None and concurrency > 1:
        raise ValueError("limit works with concurrency 1 only")
    if not conn.autocommit:
        raise ValueError("labels detect needs an autocommit connection (connect(autocommit=True))")
    if not dry_run and client is None:
        raise ValueError("an S3 client is required unless dry_run=True")


@dataclass
class _Progress:
    """Photos done so far, reported as ``report(done, total)`` (``total`` None: unknown)."""

    report: Callable[[int, int | None], object] | None
    total: int | None
    done: int = 0

    def __call__(self, count: int) -> None:
        self.done += count
        if self.report is not None:
            self.report(self.done, self.total)


@dataclass
class _Detection:
    """One :func:`detect_labels` call: the tenants, their profiles, where it is and what it did."""

    conn: psycopg.Connection
    detector: Detector
    retry_failed: bool
    worker_id: str
    dry_run: bool
    started: float = field(default_factory=time.perf_counter)
    where: RunStep = field(default_factory=lambda: RunStep(DetectError, "discovering tenants"))
    run_started: Any = None
    profiles: dict[str, tuple[ShopProfile | None, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.summary = DetectSummary(worker_id=self.worker_id, dry_run=self.dry_run)

    def start(self, schema: str, tenants: Sequence[str] | None) -> None:
        """Select the tenants, read the database's clock, learn (or reuse) each tenant's shop profile."""
        self.summary.tenants = select_tenants(self.conn, tenants)
        self.run_started = self.conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        for tenant in self.summary.tenants:
            self.where.step, self.where.tenant = "learning the shop profile", tenant
            profile, profile_hash, info = tenant_profile(self.conn, schema, tenant, self.detector)
            self.profiles[tenant] = (profile, profile_hash)
            self.summary.profiles[tenant] = info

    def count_to_do(self, *, count_photos: bool) -> tuple[int, int | None]:
        """Products to score now in all tenants and, with ``count_photos``, their photos (else None)."""
        self.where.step = "counting products to score"
        total = photos_todo = 0
        for tenant in self.summary.tenants:
            self.where.tenant = tenant
            claims = Claims(tenant, "label", _todo(self.retry_failed), per_product=True)
            params = {
                "cap": None,
                "version": self.detector.version,
                "profile": self.profiles[tenant][1],
                "run_started": self.run_started,
            }
            total += self.conn.execute(claims.count(), params).fetchone()[0]  # type: ignore[index]
            if count_photos:  # the progress bar's total: the photos of those products
                photos_todo += self.conn.execute(claims.count_rows_of_products(), params).fetchone()[0]  # type: ignore[index]
        self.where.tenant = ""
        return total, photos_todo if count_photos else None  # with a limit: no total

    def job(self, mapping: UrlMapping, batch_size: int, lease_seconds: float, fetch_threads: int) -> dict[str, Any]:
        """The settings every worker of the run shares (what a worker process is sent, its profiles aside)."""
        return {
            "mapping": mapping,
            "batch_size": batch_size,
            "lease_seconds": lease_seconds,
            "fetch_threads": fetch_threads,
            "retry_failed": self.retry_failed,
            "run_started": self.run_started,
        }

    def score(
        self, client: BaseClient | None, job: dict[str, Any], concurrency: int, limit: int | None, advance: _Progress
    ) -> None:
        """Score the products to do: in this process, or in ``concurrency`` worker processes."""
        self.where.step = "scoring"
        if concurrency == 1:
            self._score_here(client, job, limit, advance)
        else:
            self._score_in_processes(job, concurrency, advance)

    def _score_here(
        self, client: BaseClient | None, job: dict[str, Any], limit: int | None, advance: _Progress
    ) -> None:
        """Score tenant after tenant on this connection, ``limit`` products at most in all."""
        worker = _new_worker(self.conn, client, self.detector, job, worker_id=self.summary.worker_id, advance=advance)
        remaining = limit
        for tenant in self.summary.tenants:
            self.where.tenant = tenant
            profile, profile_hash = self.profiles[tenant]
            count = worker.run_tenant(tenant, profile, profile_hash, remaining)
            if remaining is not None:
                remaining -= count
                if remaining <= 0:
                    break
        self.where.tenant = ""
        self.summary.add(worker.summary)

    def _score_in_processes(self, job: dict[str, Any], concurrency: int, advance: _Progress) -> None:
        """Score in ``concurrency`` spawned worker processes (each claims its own products); add up their counts.

        Raises:
            DetectError: a worker process died (killed, out of memory): the claims of the run's workers are
                released and the message says to run again; or a worker's database error.
            DetectConfigurationError: a worker found the bucket or the credentials wrong.
        """
        profiles = {
            name: (self.detector.profile_to_json(profile) if profile is not None else None, hashed)
            for name, (profile, hashed) in self.profiles.items()
        }
        worker_ids = [f"{self.summary.worker_id}/{n}" for n in range(concurrency)]
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        try:
            with ProcessPoolExecutor(
                concurrency, mp_context=context, initializer=_start_worker_process, initargs=(queue,)
            ) as pool:
                pending = [
                    pool.submit(_worker_process, {**job, "profiles": profiles, "worker_id": worker_id})
                    for worker_id in worker_ids
                ]
                # submit() wakes the pool's manager thread before it starts the new worker, so the manager may wait
                # without watching the last worker started: killed, it would go unnoticed until the others finish.
                # One more (empty) task wakes the manager once every worker exists.
                pool.submit(_nothing)
                _wait_draining(pending, queue, advance)
            _drain(queue, advance)
            summaries = [future.result() for future in pending]
        except BrokenProcessPool as error:
            released = self._release_workers(worker_ids)
            raise DetectError(
                "a worker process of labels detect died while scoring (killed by a signal, e.g. by the kernel's "
                f"OOM killer): the run stopped; what its workers wrote stays written, their claims on {released:,} "
                "products were released. Run `product-images labels detect` again to score the rest (with a lower "
                "--concurrency if memory is short)"
            ) from error
        finally:
            queue.close()
        for other in summaries:
            fields = {key: value for key, value in other.items() if key in DetectSummary.__dataclass_fields__}
            self.summary.add(DetectSummary(**fields))

    def _release_workers(self, worker_ids: list[str]) -> int:
        """Give back every claim the workers ``worker_ids`` still hold in the run's tenants; how many.

        A dead worker's database session may still hold the row locks of the write it was killed in, until
        the server notices the closed connection (milliseconds): the release skips locked rows (``SKIP
        LOCKED``), so it is tried again every 0.1 s while claims of those workers remain, for at most
        :data:`RELEASE_WAIT_SECONDS` in all; what is left then waits for its lease to end. A database error
        is not raised: the claims then wait for their lease too.
        """
        released = 0
        deadline = time.monotonic() + RELEASE_WAIT_SECONDS
        for tenant in self.summary.tenants:
            claims = Claims(tenant, "label", _todo(self.retry_failed), per_product=True)
            held = sql.SQL("select exists (select from {} where label_claimed_by = any(%(workers)s))").format(
                claims.table
            )
            try:
                released += len(bounded(self.conn, claims.release_workers(), {"workers": worker_ids}))
                while time.monotonic() < deadline and _exists(self.conn, held, worker_ids):
                    time.sleep(0.1)
                    released += len(bounded(self.conn, claims.release_workers(), {"workers": worker_ids}))
            except psycopg.Error:  # the database is gone too: the leases will end
                continue
        return released

    def finish(self) -> DetectSummary:
        """The summary, with the wall-clock seconds since the call started."""
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary


def _exists(conn: psycopg.Connection, query: sql.Composed, worker_ids: list[str]) -> bool:
    """The boolean ``query`` returns for ``workers`` = ``worker_ids``."""
    row = conn.execute(query, {"workers": worker_ids}).fetchone()
    return bool(row and row[0])


def _nothing() -> None:
    """A task that does nothing (see :meth:`_Detection._score_in_processes`)."""


def _wait_draining(pending: list[Future[Any]], queue: Any, advance: Callable[[int], None]) -> None:
    """Wait until every future is done (a result, an error, or a broken pool: a worker process died), passing the
    photo counts the workers send on to ``advance`` meanwhile."""
    while wait(pending, timeout=0.1).not_done:
        _drain(queue, advance)


def _drain(queue: Any, advance: Callable[[int], None]) -> None:
    """Pass every photo count waiting in ``queue`` on to ``advance``, without waiting for more."""
    while True:
        try:
            advance(queue.get_nowait())
        except queue_module.Empty:
            return
