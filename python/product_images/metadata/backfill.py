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
   this worker: if the lease ran out and another worker took a row, its write wins
   and ours is dropped (counted in ``claims_lost``).

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
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError
from psycopg import sql
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from product_images.claims import FIRST_ID, Claims, default_worker_id, transient_retry
from product_images.metadata.probe import ProbeError, ProbeResult, probe_many, probe_object
from product_images.metadata.storage import ObjectRef, UrlMapping
from product_images.migration.tenants import select_tenants

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LEASE_SECONDS",
    "INTERNAL_ERROR",
    "METADATA_ERRORS",
    "UNMAPPED",
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


@dataclass
class BackfillSummary:
    """What one :func:`backfill` call did.

    Fields:
        tenants: the tenant schemas visited, in order.
        worker_id: the ``metadata_claimed_by`` value this run used.
        dry_run: True when nothing was claimed, probed or written.
        rows_probed: rows whose metadata this run wrote (``ok`` + sum of ``failed``).
        ok: rows measured (``metadata_error`` null).
        failed: rows per ``metadata_error`` value (``{"missing": 3, "unmapped": 1}``).
        by_tenant: rows written per tenant schema.
        bytes_downloaded: body bytes received from the store, over all requests.
        object_bytes: total size in bytes of the objects probed (each distinct object of
            a batch once; objects of unknown size count 0).
        objects_probed: distinct objects probed (requests were made for them).
        requests: S3 requests made.
        claims_lost: rows claimed but not written because their lease expired and another
            worker took them over (that worker writes them).
        seconds: wall-clock duration of the call.
        would_probe: dry run only: rows that a real run would claim (to do, not held by
            a live claim, at most ``limit``).
        would_be_unmapped: dry run only: of those, rows no mapping rule covers.
    """

    tenants: list[str] = field(default_factory=list)
    worker_id: str = ""
    dry_run: bool = False
    rows_probed: int = 0
    ok: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    by_tenant: dict[str, int] = field(default_factory=dict)
    bytes_downloaded: int = 0
    object_bytes: int = 0
    objects_probed: int = 0
    requests: int = 0
    claims_lost: int = 0
    seconds: float = 0.0
    would_probe: int = 0
    would_be_unmapped: int = 0

    @property
    def failed_total(self) -> int:
        """Rows written with a ``metadata_error``."""
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (``failed`` sorted by reason, ``seconds`` rounded to ms)."""
        data = asdict(self)
        data["failed"] = dict(sorted(self.failed.items()))
        data["seconds"] = round(self.seconds, 3)
        return data

    def lines(self) -> list[str]:
        """A few human-readable lines (plain text, thousands separators, MB = 10^6 bytes)."""
        where = f"{len(self.tenants)} tenant{'s' if len(self.tenants) != 1 else ''}"
        if self.dry_run:
            return [
                f"metadata backfill (dry run): {self.would_probe:,} rows would be probed over {where} "
                f"({self.would_be_unmapped:,} unmapped: no request); nothing changed"
            ]
        rate = f" ({self.rows_probed / self.seconds:,.0f} rows/s)" if self.seconds > 0 and self.rows_probed else ""
        lines = [f"metadata backfill: {self.rows_probed:,} rows probed over {where} in {self.seconds:.1f} s{rate}"]
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(self.failed.items()))
        lines.append(f"  ok {self.ok:,}; failed {self.failed_total:,}" + (f" ({reasons})" if reasons else ""))
        share = f" ({self.bytes_downloaded / self.object_bytes:.1%})" if self.object_bytes else ""
        lines.append(
            f"  downloaded {self.bytes_downloaded / 1e6:,.1f} MB of {self.object_bytes / 1e6:,.1f} MB stored{share}, "
            f"{self.requests:,} requests for {self.objects_probed:,} objects"
        )
        if self.claims_lost:
            lines.append(f"  {self.claims_lost:,} rows taken over by another worker after their lease expired")
        return lines


class _RowsPerSecond(ProgressColumn):
    """Rows per second (rich's speed estimate over the last 30 s)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


@dataclass(frozen=True)
class _Queries:
    """The SQL of one tenant table (composed once per tenant)."""

    claim: sql.Composed
    write: sql.Composed
    release: sql.Composed
    count: sql.Composed
    pending_urls: sql.Composed


def _queries(tenant: str, retry_failed: bool) -> _Queries:
    if retry_failed:
        todo = sql.SQL(
            "(metadata_probed_at is null or (metadata_error is not null and metadata_probed_at < %(run_started)s))"
        )
    else:
        todo = sql.SQL("metadata_probed_at is null")
    claims = Claims(tenant, "metadata", todo)
    table = claims.table
    return _Queries(
        claim=claims.claim(),
        write=sql.SQL(
            """
            with locked as materialized (
                select images.id
                from {table} as images
                where
                    images.id in (select (value ->> 'id')::bigint from jsonb_array_elements(%(results)s))
                    and images.metadata_claimed_by = %(worker)s
                order by images.id
                for update
            )
            update {table} as images
            set
                mime_type = results.mime_type,
                file_size = results.file_size,
                width = results.width,
                height = results.height,
                exif_orientation = results.exif_orientation,
                metadata_etag = results.etag,
                metadata_error = results.error,
                metadata_probed_at = now(),
                metadata_claimed_by = null,
                metadata_claimed_until = null
            from jsonb_to_recordset(%(results)s) as results (
                id bigint, mime_type text, file_size bigint, width integer, height integer,
                exif_orientation smallint, etag text, error text
            )
            where images.id = results.id and images.id in (select id from locked)
            returning images.id
            """
        ).format(table=table),
        release=claims.release(),
        count=claims.count(),
        pending_urls=sql.SQL("select url from {table} as images where {pending} order by id limit %(cap)s").format(
            table=table, pending=claims.claimable()
        ),
    )


def _row_values(row_id: int, result: ProbeResult | None, reason: str | None) -> dict[str, Any]:
    """One element of the write statement's JSON array."""
    if result is None:  # unmapped or internal error: nothing learned
        return {
            "id": row_id,
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
        "mime_type": result.mime_type,
        "file_size": result.size_bytes,
        "width": width,
        "height": height,
        "exif_orientation": orientation,
        "etag": result.etag,
        "error": error,
    }


def backfill(  # noqa: C901, PLR0912, PLR0915
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
        conn: an AUTOCOMMIT psycopg connection (each claim and write commits at once; an
            open transaction would hold the claims invisible to other workers).
        client: S3 client (``storage.s3_client(max_pool_connections>=concurrency)``);
            may be None for a dry run.
        mapping: URL → object rules (``UrlMapping.from_env()``).
        tenants: tenant schemas to visit, in this order; None = every tenant
            (:func:`~product_images.migration.tenants.discover_tenants`). Each must be a tenant
            with a ``product_images`` table.
        limit: claim at most this many rows over all tenants (None = no limit).
        batch_size: rows per claim / write (>= 1).
        concurrency: objects probed at once (>= 1, <= the client's connection pool).
        lease_seconds: how long a claim holds its rows (> 0 seconds); a worker killed
            mid-batch leaves them claimed that long.
        retry_failed: also redo rows whose ``metadata_error`` is set (see the module doc).
        dry_run: count what would be probed (and how many URLs are unmapped); claim,
            probe and write nothing.
        progress: show a rich progress bar (rows, rows/s, ETA) on ``console``; None = only
            when ``console`` is a terminal.
        console: where the progress bar goes; default a stderr console.
        worker_id: ``metadata_claimed_by`` value; default :func:`default_worker_id`.
        probe: the per-object prober (``probe_object``); for tests and benchmarks.

    Returns:
        A :class:`BackfillSummary`. Per-object failures are recorded in the rows and
        counted in ``failed``, never raised.

    Raises:
        ValueError: an argument out of range, a non-autocommit connection, concurrency
            beyond the client's pool, or a requested tenant that is not a tenant with a
            ``product_images`` table (the message lists them).
        BackfillError: a database error, or a storage error that fails every object
            (no credentials); the message names the tenant and the step.
    """
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
        if client is None:
            raise ValueError("an S3 client is required unless dry_run=True")
        pool = getattr(client.meta.config, "max_pool_connections", None)
        if pool is not None and pool < concurrency:
            raise ValueError(
                f"concurrency={concurrency} exceeds the S3 client's max_pool_connections={pool}; "
                "build it with s3_client(max_pool_connections>=concurrency)"
            )

    started = time.perf_counter()
    summary = BackfillSummary(worker_id=worker_id or default_worker_id(), dry_run=dry_run)
    step, tenant = "discovering tenants", ""
    try:
        selected = select_tenants(conn, tenants)
        summary.tenants = selected
        step = "reading the clock"
        run_started = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        params: dict[str, Any] = {
            "run_started": run_started,
            "worker": summary.worker_id,
            "lease": float(lease_seconds),
        }
        queries = {name: _queries(name, retry_failed) for name in selected}

        if dry_run:
            remaining = limit
            for tenant in selected:
                step = "counting rows to probe"
                with conn.cursor() as cur:
                    for (url,) in cur.stream(queries[tenant].pending_urls, {**params, "cap": remaining}):
                        summary.would_probe += 1
                        summary.would_be_unmapped += mapping.object_for(url) is None
                if remaining is not None:
                    remaining = limit - summary.would_probe  # type: ignore[operator]
            summary.seconds = time.perf_counter() - started
            return summary

        console = console or Console(stderr=True)
        show = console.is_terminal if progress is None else progress
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RowsPerSecond(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not show,
        ) as bar:
            total = None
            if show:
                step = "counting rows to probe"
                total = 0
                for tenant in selected:
                    cap = None if limit is None else limit - total
                    total += conn.execute(queries[tenant].count, {**params, "cap": cap}).fetchone()[0]  # type: ignore[index]
                tenant = ""
            task = bar.add_task("metadata", total=total)
            claimed_total = 0
            for tenant in selected:
                bar.update(task, description=f"metadata {tenant}")
                from_id = FIRST_ID  # keyset: each claim scans on from the last id claimed, not from the start
                while limit is None or claimed_total < limit:
                    size = batch_size if limit is None else min(batch_size, limit - claimed_total)
                    step = "claiming rows"
                    claim = {**params, "from_id": from_id, "batch": size}
                    rows = [
                        (row_id, url)
                        for row_id, _product_id, url in transient_retry(
                            lambda query=queries[tenant].claim, claim=claim: conn.execute(query, claim).fetchall()
                        )
                    ]
                    if not rows:
                        if from_id == FIRST_ID:
                            break
                        from_id = FIRST_ID  # one more pass from the start: expired claims of dead workers behind us
                        continue
                    rows.sort()
                    from_id = rows[-1][0] + 1
                    claimed_total += len(rows)
                    step = "probing a batch"
                    _run_batch(
                        conn,
                        queries[tenant],
                        tenant,
                        rows,
                        client,
                        mapping,
                        concurrency,
                        probe,
                        params,
                        summary,
                        lambda n: bar.advance(task, n),
                    )
                tenant = ""
            bar.update(task, description="metadata: done")
    except psycopg.Error as error:
        where = f" in {tenant}.product_images" if tenant else ""
        raise BackfillError(f"database error while {step}{where}: {str(error).strip()}") from error
    summary.seconds = time.perf_counter() - started
    return summary


def _run_batch(  # noqa: C901, PLR0915
    conn: psycopg.Connection,
    queries: _Queries,
    tenant: str,
    rows: list[tuple[int, str]],
    client: BaseClient,
    mapping: UrlMapping,
    concurrency: int,
    probe: Callable[[BaseClient, ObjectRef], ProbeResult],
    params: dict[str, Any],
    summary: BackfillSummary,
    advance: Callable[[int], object],
) -> None:
    """Probe one claimed batch and write it back in one statement; release the claims if that fails."""
    ids = [row_id for row_id, _ in rows]
    written = False
    try:
        values: list[dict[str, Any]] = []
        rows_by_ref: dict[ObjectRef, list[int]] = {}
        for row_id, url in rows:
            ref = mapping.object_for(url)
            if ref is None:
                values.append(_row_values(row_id, None, UNMAPPED))
            else:
                rows_by_ref.setdefault(ref, []).append(row_id)
        advance(len(values))

        crashed: dict[ObjectRef, str] = {}

        def guarded(s3: BaseClient, ref: ObjectRef) -> ProbeResult:
            # A bug in the prober must not stop millions of rows: record this object as internal_error.
            try:
                return probe(s3, ref)
            except BotoCoreError:
                raise  # configuration (no credentials...): fails every object
            except Exception as error:  # noqa: BLE001
                _log.exception("probe of s3://%s/%s raised", ref.bucket, ref.key)
                crashed[ref] = f"{type(error).__name__}: {error}"
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

        refs = list(rows_by_ref)
        if refs:
            results = probe_many(
                client,
                refs,
                concurrency=min(concurrency, len(refs)),
                probe=guarded,
                progress=lambda result: advance(len(rows_by_ref[ObjectRef(result.bucket, result.key)])),
            )
            try:
                for result in results:
                    ref = ObjectRef(result.bucket, result.key)
                    reason = INTERNAL_ERROR if ref in crashed else None
                    if result.error is not None:
                        _log.debug(
                            "%s: s3://%s/%s %s: %s",
                            tenant,
                            ref.bucket,
                            ref.key,
                            result.error.value,
                            result.error_detail,
                        )
                    summary.objects_probed += 1
                    summary.requests += result.requests
                    summary.bytes_downloaded += result.bytes_downloaded
                    summary.object_bytes += result.size_bytes or 0
                    values.extend(_row_values(row_id, result, reason) for row_id in rows_by_ref[ref])
            except BotoCoreError as error:
                raise BackfillError(
                    f"storage error while probing {tenant}.product_images (check the endpoint "
                    f"and the AWS credentials): {type(error).__name__}: {error}"
                ) from error

        try:
            written_ids = {
                row[0]
                for row in transient_retry(
                    lambda: conn.execute(queries.write, {**params, "results": Jsonb(values)}).fetchall()
                )
            }
        except psycopg.Error as error:
            raise BackfillError(
                f"database error while writing a batch of results in {tenant}.product_images: {str(error).strip()}"
            ) from error
        written = True
    finally:
        if not written:
            try:
                conn.execute(queries.release, {**params, "ids": ids})
            except psycopg.Error:  # the database is gone: the lease will expire
                pass
    counts = Counter(value["error"] for value in values if value["id"] in written_ids)
    summary.ok += counts.pop(None, 0)
    for reason, count in counts.items():
        summary.failed[reason] = summary.failed.get(reason, 0) + count
    summary.claims_lost += len(values) - len(written_ids)
    summary.rows_probed += len(written_ids)
    summary.by_tenant[tenant] = summary.by_tenant.get(tenant, 0) + len(written_ids)
