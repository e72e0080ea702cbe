"""Metadata backfill: probe every image of every tenant once and store what the bytes say.

For each row of ``"<tenant>".product_images`` that has not been probed yet
(``metadata_probed_at is null``), :func:`backfill` maps the URL to an object
(:class:`~product_images.metadata.storage.UrlMapping`), reads its first 64 KiB with
:func:`~product_images.metadata.probe.probe_many`, and writes ``mime_type``, ``file_size``
(bytes), ``width``/``height`` (pixels, as stored), ``exif_orientation`` (1..8),
``metadata_etag``, ``metadata_error`` and ``metadata_probed_at``.

Rows go through three short steps, batch by batch, so any number of workers
(threads, processes, machines) can run at once and a killed one loses nothing:

1. **claim** (one autocommit statement): ``update ... set metadata_claimed_by =
   <worker>, metadata_claimed_until = now() + lease`` on up to ``batch_size`` rows
   picked by ``select ... for update skip locked`` among the rows still to do whose
   claim is absent or expired. No two workers hold the same row; the claims of a
   worker that dies expire after ``lease_seconds`` and other workers take the rows.
2. **probe** the claimed rows' objects over HTTP, no transaction open (each distinct
   object once per batch; unmapped URLs cost no request).
3. **write** the batch back in ONE statement (``update ... from
   jsonb_to_recordset(...)``), clearing the claim, only on rows still claimed by
   this worker and whose ``url`` is still the one probed: if the lease ran out and
   another worker took a row, its write wins and ours is dropped; if the app pointed
   the row at another URL meanwhile, ours is dropped and the row's claim cleared, so
   it stays to do (both counted in ``claims_lost``). The write never waits for a row
   lock: it locks the batch's rows ``FOR UPDATE SKIP LOCKED``, so a row another
   transaction holds (an app transaction left open) is not written and stays claimed
   until its lease ends, for a later run (counted in ``left_locked``); its other locks
   wait at most :data:`LOCK_TIMEOUT_SECONDS` (a statement that times out is retried a
   few times with backoff, then the run stops with :class:`BackfillError`).

Claims walk a tenant's primary key in order (keyset: each claim starts after the last
id this worker claimed), then make one more pass from the first id to pick up rows whose
claims expired behind it; a tenant is done for this worker when a pass from the start
finds nothing claimable. Rows held by another worker's live claim are skipped, not
waited for.

``metadata_error`` holds the failure class only: a
:class:`~product_images.metadata.probe.ProbeError` value (``missing``, ``empty``,
``not_image``, ``corrupt``, ``too_large``, ``access_denied``, ``network``),
``unmapped`` (no ``UrlMapping`` rule matches the URL: no request made) or
``internal_error`` (the prober raised on this object: a bug, logged with its
traceback). The details (S3 error code, offsets) go to the ``product_images.metadata.backfill``
logger at DEBUG level. On a failure the columns the prober did learn are kept
(a corrupt JPEG has ``mime_type`` ``image/jpeg`` and its ``file_size``), the others are
NULL. ``updated_at`` is not touched: the metadata columns carry their own timestamp.

``retry_failed`` also takes rows whose ``metadata_error`` is not null, ``unmapped``
included (they cost no request and get probed once the mapping covers them), probed
before this run started (so a row failing again is not retried twice in one run).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from product_images.claims import (
    LOCK_TIMEOUT_SECONDS,
    RunStep,
    bounded,
    claimed_batches,
    default_worker_id,
)
from product_images.metadata.backfill_queries import Queries, tenant_queries
from product_images.metadata.backfill_summary import BackfillSummary
from product_images.metadata.probe import (
    ProbeError,
    ProbeResult,
    StorageConfigurationError,
    probe_many,
    probe_object,
)
from product_images.metadata.storage import ObjectRef, UrlMapping
from product_images.metadata.storage_errors import ServerErrorRun, StoreUnreachableError
from product_images.migration.tenants import select_tenants

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LEASE_SECONDS",
    "INTERNAL_ERROR",
    "LOCK_TIMEOUT_SECONDS",
    "METADATA_ERRORS",
    "UNMAPPED",
    "BackfillConfigurationError",
    "BackfillError",
    "BackfillSummary",
    "backfill",
    "default_worker_id",
]

#: Rows claimed, probed and written per batch.
DEFAULT_BATCH_SIZE = 500
#: Objects probed at once (threads, and HTTP connections of the S3 client).
DEFAULT_CONCURRENCY = 32
#: Seconds a claim holds rows; must exceed the time one batch takes to probe.
DEFAULT_LEASE_SECONDS = 300.0
#: ``metadata_error`` of a row whose URL no mapping rule covers.
UNMAPPED = "unmapped"
#: ``metadata_error`` of a row whose probe raised an unexpected exception (a bug).
INTERNAL_ERROR = "internal_error"
#: Every value ``metadata_error`` can hold (null: the probe succeeded). The
#: ``accepted_values`` test of the column in models/product_images.yml lists the
#: same values; a test checks the two agree.
METADATA_ERRORS: tuple[str, ...] = (*(error.value for error in ProbeError), UNMAPPED, INTERNAL_ERROR)

_MAX_INTEGER = 2**31 - 1  # width/height are PostgreSQL integers
_log = logging.getLogger(__name__)


class BackfillError(Exception):
    """The backfill could not run or had to stop; the message names the tenant and the step.

    Raised for database errors (connection lost, permission denied, a missing column)
    and storage configuration errors that would fail every object (no credentials).
    Rows already written stay written; the claims of the batch in flight are released
    when the database still answers, else they expire after the lease.
    """


class BackfillConfigurationError(BackfillError):
    """The storage fails every object: no credentials, credentials the store rejects (expired session tokens
    included), a bucket that does not exist, an endpoint no TCP connection can be made to
    (:class:`~product_images.metadata.storage_errors.StoreUnreachableError`), or a store answering HTTP 5xx to
    object after object (:class:`~product_images.metadata.storage_errors.StoreFailingError`). The run stops before
    writing the batch in flight, whose claims are released; the message names the bucket or the endpoint and the
    variables to check (the command exits 2)."""


class _RowsPerSecond(ProgressColumn):
    """Rows per second (rich's speed estimate over the last 30 s)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


def _row_values(row_id: int, url: str, result: ProbeResult | None, reason: str | None) -> dict[str, Any]:
    """One element of the write statement's JSON array (``url``: the URL probed, written only if still the row's)."""
    if result is None:  # unmapped or internal error: nothing learned
        return {
            "id": row_id,
            "url": url,
            "mime_type": None,
            "file_size": None,
            "width": None,
            "height": None,
            "exif_orientation": None,
            "etag": None,
            "error": reason,
        }
    width, height = result.width, result.height
    error = reason if reason is not None else (result.error.value if result.error is not None else None)
    if error is None and not (width and height and 0 < width <= _MAX_INTEGER and 0 < height <= _MAX_INTEGER):
        error, width, height = "corrupt", None, None  # dimensions the table cannot hold: not a real image
    if error is not None:
        width = height = None
    orientation = result.exif_orientation if error is None else None
    return {
        "id": row_id,
        "url": url,
        "mime_type": result.mime_type,
        "file_size": result.size_bytes,
        "width": width,
        "height": height,
        "exif_orientation": orientation,
        "etag": result.etag,
        "error": error,
    }


def backfill(
    conn: psycopg.Connection,
    client: BaseClient | None,
    mapping: UrlMapping,
    *,
    tenants: Sequence[str] | None = None,
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    retry_failed: bool = False,
    dry_run: bool = False,
    progress: bool | None = None,
    console: Console | None = None,
    worker_id: str | None = None,
    probe: Callable[[BaseClient, ObjectRef], ProbeResult] = probe_object,
) -> BackfillSummary:
    """Probe the images still to do and store their metadata, tenant by tenant, batch by batch.

    Args:
        conn: an AUTOCOMMIT psycopg connection (each claim and write commits at once; an open transaction would
            hold the claims invisible to other workers).
        client: S3 client (``storage.s3_client(max_pool_connections>=concurrency)``); may be None for a dry run.
        mapping: URL → object rules (``UrlMapping.from_env()``).
        tenants: tenant schemas to visit, in this order, each with a ``product_images`` table; None = every
            tenant (:func:`~product_images.migration.tenants.discover_tenants`).
        limit: claim at most this many rows over all tenants (None = no limit).
        batch_size: rows per claim / write (>= 1).
        concurrency: objects probed at once (>= 1, <= the client's connection pool).
        lease_seconds: how long a claim holds its rows (> 0 seconds); a worker killed mid-batch leaves them
            claimed that long.
        retry_failed: also redo rows whose ``metadata_error`` is set (see the module doc).
        dry_run: count what would be probed (and how many URLs are unmapped); claim, probe and write nothing.
        progress: show a rich progress bar (rows, rows/s, ETA) on ``console``; None = only when ``console`` is
            a terminal.
        console: where the progress bar goes; default a stderr console.
        worker_id: ``metadata_claimed_by`` value; default :func:`default_worker_id`.
        probe: the per-object prober (``probe_object``); for tests and benchmarks.

    Returns:
        A :class:`BackfillSummary`. Per-object failures are recorded in the rows and counted in ``failed``,
        never raised.

    Raises:
        ValueError: an argument out of range, a non-autocommit connection, concurrency beyond the client's
            pool, or a requested tenant that is not a tenant with a ``product_images`` table (the message
            lists them).
        BackfillError: a database error (a lock held past the retries included), naming the tenant and the step.
        BackfillConfigurationError: a storage error failing every object (no or rejected credentials, no such
            bucket, no TCP connection, 5xx for 5 objects in a row), naming it and what to check; batch not written.
    """
    _check_arguments(conn, client, batch_size, concurrency, lease_seconds, limit, dry_run)
    run = _Backfill(conn, client, mapping, concurrency, probe, limit, worker_id or default_worker_id(), dry_run)
    with run.where.reporting_database_errors():
        run.start(tenants, lease_seconds, retry_failed)
        if dry_run:
            run.count_dry_run()
        else:
            run.probe_all(batch_size, progress, console)
    return run.finish()


def _check_arguments(
    conn: psycopg.Connection,
    client: BaseClient | None,
    batch_size: int,
    concurrency: int,
    lease_seconds: float,
    limit: int | None,
    dry_run: bool,
) -> None:
    """Raise ValueError on an argument :func:`backfill` cannot run with; the message says which."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be > 0, got {lease_seconds}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if not conn.autocommit:
        raise ValueError(
            "backfill needs an autocommit connection (connect(autocommit=True)): claims must commit at once"
        )
    if not dry_run:
        _check_client(client, concurrency)


def _check_client(client: BaseClient | None, concurrency: int) -> None:
    """Raise ValueError without a client, or with one whose connection pool is smaller than ``concurrency``."""
    if client is None:
        raise ValueError("an S3 client is required unless dry_run=True")
    pool = getattr(client.meta.config, "max_pool_connections", None)
    if pool is not None and pool < concurrency:
        raise ValueError(
            f"concurrency={concurrency} exceeds the S3 client's max_pool_connections={pool}; "
            "build it with s3_client(max_pool_connections>=concurrency)"
        )


def _progress_bar(console: Console, show: bool) -> Progress:
    """The backfill's progress bar: rows done of the total, rows/s, ETA; ``show`` False: nothing shown."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RowsPerSecond(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    )


@dataclass
class _Backfill:
    """One :func:`backfill` call: its settings, the tenants' statements, where it is and what it did."""

    conn: psycopg.Connection
    client: BaseClient | None
    mapping: UrlMapping
    concurrency: int
    probe: Callable[[BaseClient, ObjectRef], ProbeResult]
    limit: int | None
    worker_id: str
    dry_run: bool
    started: float = field(default_factory=time.perf_counter)
    where: RunStep = field(default_factory=lambda: RunStep(BackfillError, "discovering tenants"))
    params: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Queries] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.summary = BackfillSummary(worker_id=self.worker_id, dry_run=self.dry_run)
        self.failing = ServerErrorRun(getattr(getattr(self.client, "meta", None), "endpoint_url", None))

    def start(self, tenants: Sequence[str] | None, lease_seconds: float, retry_failed: bool) -> None:
        """Select the tenants, read the database's clock and compose each tenant's statements."""
        self.summary.tenants = select_tenants(self.conn, tenants)
        self.where.step = "reading the clock"
        run_started = self.conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        self.params = {"run_started": run_started, "worker": self.summary.worker_id, "lease": float(lease_seconds)}
        self.queries = {name: tenant_queries(name, retry_failed) for name in self.summary.tenants}

    def finish(self) -> BackfillSummary:
        """The summary, with the wall-clock seconds since the call started."""
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary

    def count_dry_run(self) -> None:
        """Count the rows a run would claim now (``would_probe``) and, of those, the unmapped ones."""
        remaining = self.limit
        for tenant in self.summary.tenants:
            self.where.step, self.where.tenant = "counting rows to probe", tenant
            with self.conn.cursor() as cur:
                for (url,) in cur.stream(self.queries[tenant].pending_urls, {**self.params, "cap": remaining}):
                    self.summary.would_probe += 1
                    self.summary.would_be_unmapped += self.mapping.object_for(url) is None
            if remaining is not None:
                remaining = self.limit - self.summary.would_probe  # type: ignore[operator]

    def probe_all(self, batch_size: int, progress: bool | None, console: Console | None) -> None:
        """Claim, probe and write the rows to do, tenant by tenant, ``limit`` at most, behind the progress bar."""
        console = console or Console(stderr=True)
        show = console.is_terminal if progress is None else progress
        with _progress_bar(console, show) as bar:
            task = bar.add_task("metadata", total=self._count_to_do() if show else None)
            claimed = 0
            for tenant in self.summary.tenants:
                bar.update(task, description=f"metadata {tenant}")
                remaining = None if self.limit is None else self.limit - claimed
                claimed += self._probe_tenant(tenant, batch_size, remaining, lambda n: bar.advance(task, n))
            bar.update(task, description="metadata: done")

    def _count_to_do(self) -> int:
        """Rows to do and free in all tenants, ``limit`` at most: the progress bar's total."""
        self.where.step = "counting rows to probe"
        total = 0
        for tenant in self.summary.tenants:
            self.where.tenant = tenant
            cap = None if self.limit is None else self.limit - total
            total += self.conn.execute(self.queries[tenant].count, {**self.params, "cap": cap}).fetchone()[0]  # type: ignore[index]
        self.where.tenant = ""
        return total

    def _probe_tenant(self, tenant: str, batch_size: int, limit: int | None, advance: Callable[[int], object]) -> int:
        """Claim, probe and write the tenant's rows batch by batch, ``limit`` at most; returns the rows claimed."""
        self.where.tenant, claimed = tenant, 0
        self.where.step = "claiming rows"
        claim = self.queries[tenant].claim
        for batch in claimed_batches(self.conn, claim, self.params, batch_size=batch_size, limit=limit):
            claimed += len(batch)
            self.where.step = "probing a batch"
            self._run_batch(tenant, [(row_id, url) for row_id, _product_id, url in batch], advance)
            self.where.step = "claiming rows"
        self.where.tenant = ""
        return claimed

    def _run_batch(self, tenant: str, rows: list[tuple[int, str]], advance: Callable[[int], object]) -> None:
        """Probe one claimed batch and write it back in one statement; release the claims if that fails."""
        ids = [row_id for row_id, _ in rows]
        written = False
        try:
            values, rows_by_ref = _unmapped_first(rows, self.mapping)
            advance(len(values))
            if rows_by_ref:
                values.extend(self._probe_objects(tenant, rows_by_ref, advance))
            outcomes = self._write(tenant, values)
            written = True
        finally:
            if not written:
                self._release(tenant, ids)
        self._count_written(tenant, values, outcomes)

    def _probe_objects(
        self, tenant: str, rows_by_ref: dict[ObjectRef, list[tuple[int, str]]], advance: Callable[[int], object]
    ) -> list[dict[str, Any]]:
        """Probe each object of a batch once, ``concurrency`` at a time; the values of its rows.

        Raises:
            BackfillConfigurationError: the store refuses the bucket or the credentials, or boto3 has none, or
                an object's probe could make no connection to the endpoint (``ProbeResult.unreachable``: the
                store is down or AWS_ENDPOINT_URL_S3 wrong; see ``storage_errors.StoreUnreachableError``), or the
                store answered HTTP 5xx to ``FAILING_OBJECTS_IN_A_ROW`` objects in a row of this run
                (``ProbeResult.server_error``, ``storage_errors.StoreFailingError``).
        """
        guarded = _GuardedProbe(self.probe)
        endpoint = getattr(getattr(self.client, "meta", None), "endpoint_url", None)
        results = probe_many(
            self.client,
            list(rows_by_ref),
            concurrency=min(self.concurrency, len(rows_by_ref)),
            probe=guarded,
            progress=lambda result: advance(len(rows_by_ref[ObjectRef(result.bucket, result.key)])),
        )
        values: list[dict[str, Any]] = []
        try:
            for result in results:
                if result.unreachable is not None:
                    raise StoreUnreachableError(result.bucket, result.unreachable, endpoint)
                self.failing.record(result.bucket, result.server_error)
                ref = ObjectRef(result.bucket, result.key)
                reason = INTERNAL_ERROR if ref in guarded.crashed else None
                self._count_object(tenant, result)
                values.extend(_row_values(row_id, url, result, reason) for row_id, url in rows_by_ref[ref])
        except StorageConfigurationError as error:
            raise BackfillConfigurationError(
                f"{error.what} while probing {tenant}.product_images: {error}; "
                "the run stopped and wrote nothing of this batch"
            ) from error
        except BotoCoreError as error:
            raise BackfillConfigurationError(
                f"storage error while probing {tenant}.product_images (check the endpoint "
                f"and the AWS credentials): {type(error).__name__}: {error}"
            ) from error
        return values

    def _count_object(self, tenant: str, result: ProbeResult) -> None:
        """Count one object probed (its failure's details go to the DEBUG log)."""
        if result.error is not None:
            _log.debug(
                "%s: s3://%s/%s %s: %s", tenant, result.bucket, result.key, result.error.value, result.error_detail
            )
        self.summary.objects_probed += 1
        self.summary.requests += result.requests
        self.summary.bytes_downloaded += result.bytes_downloaded
        self.summary.object_bytes += result.size_bytes or 0

    def _write(self, tenant: str, values: list[dict[str, Any]]) -> dict[str, set[int]]:
        """Write a batch's values in one statement (see the module doc); the ids by outcome.

        Returns:
            ``{"written": ids, "url_changed": ids, "locked": ids}`` (an outcome no row had is absent); the
            batch's other rows were taken over by another worker.
        """
        try:
            rows = bounded(self.conn, self.queries[tenant].write, {**self.params, "results": Jsonb(values)})
        except psycopg.Error as error:
            raise BackfillError(
                f"database error while writing a batch of results in {tenant}.product_images: {str(error).strip()}"
            ) from error
        outcomes: dict[str, set[int]] = {}
        for row_id, outcome in rows:
            outcomes.setdefault(outcome, set()).add(row_id)
        return outcomes

    def _release(self, tenant: str, ids: list[int]) -> None:
        """Give back the claims of a batch that was not written (rows another transaction locks keep theirs)."""
        try:
            bounded(self.conn, self.queries[tenant].release, {**self.params, "ids": ids})
        except psycopg.Error:  # the database is gone: the lease will expire
            pass

    def _count_written(self, tenant: str, values: list[dict[str, Any]], outcomes: dict[str, set[int]]) -> None:
        """Count the rows written, by error; the rows left for a lock; the others as ``claims_lost``."""
        summary = self.summary
        written_ids = outcomes.get("written", set())
        counts = Counter(value["error"] for value in values if value["id"] in written_ids)
        summary.ok += counts.pop(None, 0)
        for reason, count in counts.items():
            summary.failed[reason] = summary.failed.get(reason, 0) + count
        left_locked = len(outcomes.get("locked", ()))
        summary.left_locked += left_locked
        summary.claims_lost += len(values) - len(written_ids) - left_locked
        summary.rows_probed += len(written_ids)
        summary.by_tenant[tenant] = summary.by_tenant.get(tenant, 0) + len(written_ids)


def _unmapped_first(
    rows: list[tuple[int, str]], mapping: UrlMapping
) -> tuple[list[dict[str, Any]], dict[ObjectRef, list[tuple[int, str]]]]:
    """The values of the rows no mapping rule covers (``unmapped``: no request), and the other rows by object."""
    values: list[dict[str, Any]] = []
    rows_by_ref: dict[ObjectRef, list[tuple[int, str]]] = {}
    for row_id, url in rows:
        ref = mapping.object_for(url)
        if ref is None:
            values.append(_row_values(row_id, url, None, UNMAPPED))
        else:
            rows_by_ref.setdefault(ref, []).append((row_id, url))
    return values, rows_by_ref


@dataclass
class _GuardedProbe:
    """The prober, but an object it raised on (a bug) is logged and recorded in ``crashed``, not a stop.

    A bug in the prober must not stop millions of rows: such an object is written as ``internal_error``.
    """

    probe: Callable[[BaseClient, ObjectRef], ProbeResult]
    crashed: dict[ObjectRef, str] = field(default_factory=dict)

    def __call__(self, s3: BaseClient, ref: ObjectRef) -> ProbeResult:
        try:
            return self.probe(s3, ref)
        except (BotoCoreError, StorageConfigurationError):
            raise  # configuration (no credentials, no such bucket...): fails every object
        except Exception as error:  # noqa: BLE001
            _log.exception("probe of s3://%s/%s raised", ref.bucket, ref.key)
            self.crashed[ref] = f"{type(error).__name__}: {error}"
            return ProbeResult(
                bucket=ref.bucket,
                key=ref.key,
                etag=None,
                size_bytes=None,
                mime_type=None,
                content_type_hint=None,
                width=None,
                height=None,
                exif_orientation=None,
                bytes_downloaded=0,
                requests=0,
                error=None,
                error_detail=None,
            )
