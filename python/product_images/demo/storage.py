"""Demo object storage: moto's S3 server on 127.0.0.1 holding a picture for every demo image URL.

``make demo`` has no R2 bucket, so :func:`running_demo_storage` starts moto's
``ThreadedMotoServer`` (real HTTP, in this process), fills the bucket
``product-images`` with one object per image URL of the migrated tables (key = the
URL minus :data:`~product_images.demo.data.DEMO_URL_PREFIX`) and points the process
environment at it (until it stops), while :func:`run_demo_backfill` and the label
detection run over every tenant.

The objects come from :func:`~product_images.demo.objects.plan_demo_objects` (a clothing photo
for each URL of the demo data, generic pictures for other URLs, the awkward cases of
:data:`~product_images.demo.objects.SPECIAL_CASES` for a few keys); this module re-exports it,
``SPECIAL_CASES``, ``demo_objects`` and ``demo_urls``.

That is about 3 GB for the demo's ~9,150 objects, built in memory before they are
stored: moto keeps each object in a ``SpooledTemporaryFile``; :func:`start_demo_storage`
sets its threshold (``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE``) to :data:`MEMORY_OBJECT_BYTES`
while it stores them, so objects above it live in unnamed temporary files (one open
file each, under ``TMPDIR``; the operating system frees them when the process ends),
raising the process's soft open-file limit when needed. When the hard limit or the
free disk space is too small for that, objects stay in memory.

Objects are loaded straight into moto's in-memory S3 backend (this process runs
the server): moto's HTTP server handles about 100 requests/s on a small machine,
so ~9,000 PutObjects would take ~90 s, while the backend takes well under a second
for the same objects (same bytes, Content-Type and MD5 ETag as a PutObject).
``via_http=True`` uploads with PutObject instead. Everything the backfill does
goes over HTTP, from a separate worker process (see :func:`run_demo_backfill`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from product_images.demo.data import DEMO_URL_PREFIX
from product_images.demo.objects import (
    SPECIAL_CASES,
    demo_object_batches,
    demo_objects,
    demo_specs,
    demo_urls,
    plan_demo_objects,
)
from product_images.demo.pictures import DemoImage
from product_images.labels.development.clothing import PhotoSpec
from product_images.migration.tenants import discover_tenants

__all__ = [
    "DEMO_BUCKET",
    "MEMORY_OBJECT_BYTES",
    "SPECIAL_CASES",
    "DemoStorage",
    "demo_objects",
    "demo_urls",
    "plan_demo_objects",
    "run_demo_backfill",
    "photos_waiting",
    "running_demo_storage",
    "start_demo_storage",
    "store_demo_objects",
]

#: The demo bucket.
DEMO_BUCKET = "product-images"

#: Objects up to this many bytes stay in moto's memory; larger ones go to temporary files.
MEMORY_OBJECT_BYTES = 64 * 1024
DEMO_PHOTOS_AT_A_TIME = 1500
"""Photos the demo draws and stores at a time (about 0.5 GB of them in memory)."""

_FAILURES_SHOWN = 20  # failed images listed by the demo, with their reasons


@dataclass
class DemoStorage:
    """A running demo S3 endpoint.

    Fields:
        endpoint: ``http://127.0.0.1:<port>``.
        bucket: the bucket name (:data:`DEMO_BUCKET`).
        objects: objects stored.
        missing_keys: keys planned but deliberately not stored (probe as ``missing``).
        total_bytes: bytes stored over all objects.
        file_bytes: bytes of them held in temporary files rather than memory (0: all in memory).
        upload_seconds: time taken to store them.
        server: the ``moto.server.ThreadedMotoServer``; :meth:`stop` ends it.
        created_bucket: True when this call created the bucket (:meth:`stop` then deletes it).
        previous_env: the variables ``set_env`` changed, with their old values (None = unset);
            :meth:`stop` puts them back.
    """

    endpoint: str
    bucket: str
    objects: int
    missing_keys: tuple[str, ...]
    total_bytes: int
    upload_seconds: float
    server: Any = field(repr=False)
    file_bytes: int = 0
    created_bucket: bool = False
    previous_env: dict[str, str | None] = field(default_factory=dict, repr=False)

    def stop(self, *, delete_objects: bool = True) -> None:
        """Delete the bucket and its objects when this storage created it, stop the HTTP server,
        and restore the environment variables ``start_demo_storage(set_env=True)`` changed.

        ``delete_objects=False`` leaves the objects in this process's memory and temporary
        files (seconds instead of about a minute for the whole demo): for a process about to end.

        moto keeps its objects in process-wide memory, shared by every moto server of the
        process: deleting them frees the memory and leaves no ``product-images`` bucket behind
        for later users of moto in the same process (a test run). Uses ListObjectsV2 and
        DeleteObjects (1,000 keys a request) over HTTP.
        """
        try:
            if self.created_bucket and delete_objects:
                from product_images.metadata.storage import s3_client

                client = s3_client(endpoint_url=self.endpoint, max_pool_connections=1)
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                    keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                    if keys:
                        client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                client.delete_bucket(Bucket=self.bucket)
        finally:
            self.server.stop()
            for name, value in self.previous_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self.previous_env = {}

    def __enter__(self) -> DemoStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _room_for_object_files(large: Sequence[DemoImage]) -> bool:
    """Whether moto may keep ``large`` (the objects above :data:`MEMORY_OBJECT_BYTES`) in temporary files.

    Needs one open file per object (raises this process's soft ``RLIMIT_NOFILE`` to
    the files it has open plus those plus 256, when the hard limit allows) and their bytes
    plus 1 GB free under ``tempfile.gettempdir()``. False (keep them in memory) when either
    is short, or on a system without ``resource`` (Windows).
    """
    if not large:
        return False
    if shutil.disk_usage(tempfile.gettempdir()).free < sum(len(item.data) for item in large) + 10**9:
        return False
    try:
        import resource
    except ImportError:
        return False
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return True
    try:
        open_now = len(os.listdir("/proc/self/fd"))  # Linux
    except OSError:
        open_now = soft  # elsewhere: assume the current limit is in use
    wanted = open_now + len(large) + 256
    if wanted <= soft:
        return True
    if hard != resource.RLIM_INFINITY and hard < wanted:
        return False
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):  # macOS caps it below the hard limit (kern.maxfilesperproc)
        return False
    return True


@contextlib.contextmanager
def _moto_key_buffer(max_bytes: int | None) -> Iterator[None]:
    """Objects moto creates meanwhile keep up to ``max_bytes`` in memory (None: moto's default, ~5 MB)."""
    name = "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"
    previous = os.environ.get(name)
    if max_bytes is not None:
        os.environ[name] = str(max_bytes)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _store_in_backend(bucket: str, objects: Sequence[DemoImage]) -> None:
    """Write the objects straight into moto's in-process S3 backend (what a PutObject does)."""
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    backend = s3_backends[account][partition]
    for item in objects:
        key = backend.put_object(bucket, item.key, item.data)
        key.set_metadata({"Content-Type": item.content_type})


def start_demo_storage(
    objects: Sequence[DemoImage],
    *,
    bucket: str = DEMO_BUCKET,
    set_env: bool = True,
    via_http: bool = False,
) -> DemoStorage:
    """Start moto's S3 server on 127.0.0.1 (a free port) and store the planned objects.

    Args:
        objects: from :func:`plan_demo_objects`; those with ``error == "missing"`` are not stored.
        bucket: bucket to create (an existing one, from an earlier call in this process, is reused
            and kept on ``stop()``; one this call creates is deleted on ``stop()``).
        set_env: point this process (and the processes it starts) at it until ``stop()``:
            ``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``
            (``testing``), ``IMAGE_URL_PREFIX`` (the demo URL prefix), ``IMAGE_BUCKET``; removes
            ``AWS_SESSION_TOKEN``, ``IMAGE_URL_MAP_FILE`` and ``IMAGE_KEY_PREFIX``, which would
            conflict. ``stop()`` restores them all.
        via_http: upload with PutObject over HTTP (8 threads) instead of moto's backend.

    Objects over :data:`MEMORY_OBJECT_BYTES` go to temporary files when the open-file
    limit and the free disk space allow (see the module docstring; ``file_bytes`` says).

    Returns:
        A running :class:`DemoStorage`; call ``stop()`` (or use it as a context manager).

    Raises:
        ImportError: moto is not installed (``pip install -e '.[demo]'``).
        botocore.exceptions.ClientError: moto refused the bucket or an upload.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    previous_env = _point_environment_at(endpoint, bucket) if set_env else {}
    try:
        created_bucket = _create_bucket(endpoint, bucket)
        storage = DemoStorage(
            endpoint, bucket, 0, (), 0, 0.0, server, created_bucket=created_bucket, previous_env=previous_env
        )
    except BaseException:
        DemoStorage(endpoint, bucket, 0, (), 0, 0.0, server, previous_env=previous_env).stop()
        raise
    try:
        store_demo_objects(storage, objects, via_http=via_http)
    except BaseException:
        storage.stop()
        raise
    return storage


def _point_environment_at(endpoint: str, bucket: str) -> dict[str, str | None]:
    """Point this process's environment at the demo storage; the variables changed, with their old values."""
    values = {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "IMAGE_URL_PREFIX": DEMO_URL_PREFIX,
        "IMAGE_BUCKET": bucket,
    }
    removed = ("AWS_SESSION_TOKEN", "IMAGE_URL_MAP_FILE", "IMAGE_KEY_PREFIX")
    previous_env = {name: os.environ.get(name) for name in (*values, *removed)}
    os.environ.update(values)
    for name in removed:
        os.environ.pop(name, None)
    return previous_env


def _create_bucket(endpoint: str, bucket: str) -> bool:
    """Create ``bucket`` at ``endpoint``; False when it is there already (from an earlier call in this process)."""
    from botocore.exceptions import ClientError

    from product_images.metadata.storage import s3_client

    client = s3_client(endpoint_url=endpoint, max_pool_connections=8)
    region = client.meta.region_name
    try:
        if region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:  # moto, like S3, wants the region as LocationConstraint elsewhere (R2's "auto" included)
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        return False
    return True


def store_demo_objects(storage: DemoStorage, objects: Sequence[DemoImage], *, via_http: bool = False) -> None:
    """Store more planned objects in a running demo storage, adding to its counts.

    Args:
        storage: from :func:`start_demo_storage`.
        objects: from :func:`plan_demo_objects`; those with ``error == "missing"`` are not stored
            (their keys are added to ``storage.missing_keys``).
        via_http: upload with PutObject over HTTP (8 threads) instead of moto's backend.

    Objects over :data:`MEMORY_OBJECT_BYTES` go to temporary files when the open-file limit and
    the free disk space allow. Storing a large plan a part at a time (the demo stores 1,500
    photos at a time) keeps only that part's bytes in this process.

    Raises:
        botocore.exceptions.ClientError: moto refused an upload.
    """
    from product_images.metadata.storage import s3_client

    stored = [item for item in objects if item.error != "missing"]
    started = time.perf_counter()
    large = [item for item in stored if len(item.data) > MEMORY_OBJECT_BYTES]
    in_files = _room_for_object_files(large)
    with _moto_key_buffer(MEMORY_OBJECT_BYTES if in_files else None):
        if via_http:
            client = s3_client(endpoint_url=storage.endpoint, max_pool_connections=8)
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(
                    pool.map(
                        lambda item: client.put_object(
                            Bucket=storage.bucket, Key=item.key, Body=item.data, ContentType=item.content_type
                        ),
                        stored,
                    )
                )
        else:
            _store_in_backend(storage.bucket, stored)
    storage.objects += len(stored)
    storage.missing_keys += tuple(item.key for item in objects if item.error == "missing")
    storage.total_bytes += sum(len(item.data) for item in stored)
    storage.file_bytes += sum(len(item.data) for item in large) if in_files else 0
    storage.upload_seconds += time.perf_counter() - started


def photos_waiting(conn: psycopg.Connection) -> int:
    """Rows of the tenants' ``product_images`` the metadata backfill or the label detection has not done.

    Counts rows with ``metadata_probed_at`` or ``label_detected_at`` null (a failed probe or
    detection sets them, with its reason). Raises psycopg.Error on database errors.
    """
    return sum(
        conn.execute(
            sql.SQL("select count(*) from {} where metadata_probed_at is null or label_detected_at is null").format(
                sql.Identifier(tenant, "product_images")
            )
        ).fetchone()[0]  # type: ignore[index]
        for tenant in discover_tenants(conn)
    )


@contextlib.contextmanager
def running_demo_storage(console: Console, *, delete_objects: bool = True) -> Iterator[DemoStorage | None]:
    """The demo's bucket for the metadata backfill and the label detection, while the block runs.

    Starts moto's S3 (:func:`start_demo_storage`) holding the object of every image URL of the
    tenants' ``product_images``: a clothing photo drawn for each URL of the demo data
    (:func:`~product_images.demo.data.demo_photo_specs`, rebuilt from ``demo.dataset``; about
    60 ms of one core a photo, spread over every core), the awkward cases of
    :data:`SPECIAL_CASES` for a few keys. Yields None, starting nothing, when
    ``AWS_ENDPOINT_URL_S3`` is set (a real bucket) or when no row waits for the backfill or the
    detection (``metadata_probed_at`` or ``label_detected_at`` null: a rerun of the demo).

    Args:
        console: where to print what was stored and how long it took.
        delete_objects: delete the objects when the block ends (moto's state is process-wide); False
            saves about a minute on the full demo in a process about to end.

    Yields:
        The running :class:`DemoStorage`, or None; it is stopped when the block ends.

    Raises:
        psycopg.Error: database errors; ImportError: moto is missing.
    """
    from product_images.connection import connect

    if os.environ.get("AWS_ENDPOINT_URL_S3"):
        yield None
        return
    with connect(autocommit=True) as conn:
        waiting = photos_waiting(conn)
        urls, label_urls = demo_urls(conn) if waiting else ([], set())
        specs = demo_specs(conn) if waiting else None
    if not waiting:  # the connection is closed before the block runs
        yield None
        return
    storage = start_demo_storage([])
    try:
        rendered = _draw_and_store(console, storage, urls, label_urls, specs)
    except BaseException:
        storage.stop()
        raise
    console.print(
        f"demo storage: moto S3 at {storage.endpoint}, bucket {storage.bucket}: {storage.objects:,} "
        f"objects, {storage.total_bytes / 1e6:,.1f} MB ({storage.file_bytes / 1e6:,.1f} MB of it in "
        f"temporary files; {len(storage.missing_keys)} keys missing on "
        f"purpose); pictures drawn in {rendered:.1f} s, stored in {storage.upload_seconds:.1f} s",
        highlight=False,
    )
    try:
        yield storage
    finally:
        storage.stop(delete_objects=delete_objects)


def _draw_and_store(
    console: Console,
    storage: DemoStorage,
    urls: Sequence[str],
    label_urls: Collection[str],
    specs: Mapping[str, PhotoSpec] | None,
) -> float:
    """Draw the objects of ``urls`` a batch at a time (:func:`demo_object_batches`) and store each batch in
    ``storage``; the seconds spent drawing.

    A batch at a time: all of the demo's photos at once held about 3 GB in this process. The progress
    bar shows on a terminal only (a log gets the summary line of :func:`running_demo_storage`).
    """
    rendered = 0.0
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("drawing the demo's photos", total=len(urls))
        done = 0
        started = time.perf_counter()
        batches = demo_object_batches(
            urls, label_urls, DEMO_PHOTOS_AT_A_TIME, specs=specs, on_drawn=lambda n: progress.advance(task, n)
        )
        for objects in batches:
            rendered += time.perf_counter() - started
            store_demo_objects(storage, objects)
            done += len(objects)  # with the objects not drawn (the awkward cases)
            progress.update(task, completed=done)
            del objects  # moto holds them now (the large ones in temporary files)
            started = time.perf_counter()
    return rendered


def run_demo_backfill(console: Console, *, concurrency: int = 32) -> int:
    """The demo's metadata step (inside :func:`running_demo_storage`, or against ``AWS_ENDPOINT_URL_S3``):
    run ``product-images metadata backfill`` over every tenant, print its summary, the
    metadata state of the tables and the failed images (tenant, product, position, URL, reason; the
    first 20, then the query that lists them all).

    The backfill runs as a separate process (``python -m product_images metadata backfill
    --json``, this process's environment), as an operator would run it: moto's server and
    the worker then use a CPU core each instead of sharing one interpreter lock, which
    doubles the throughput (about 170 rows/s instead of 85 on two cores). Its progress bar
    goes to the inherited stderr (shown when that is a terminal), its errors too.

    Args:
        console: where to print.
        concurrency: objects probed at once (``--concurrency``).

    Returns:
        The exit code: 0 when the backfill ran (failed objects are recorded, not errors),
        else the command's (1: could not run, 2: bad configuration).
    """
    from product_images.connection import connect

    with connect(autocommit=True) as conn:
        tenants = discover_tenants(conn)
        code = _backfill_pending_rows(console, conn, tenants, concurrency)
        if code is not None:
            return code
        states, failures = _metadata_states(conn, tenants)
    _print_metadata_states(console, states, failures)
    return 0


def _backfill_pending_rows(
    console: Console, conn: psycopg.Connection, tenants: list[str], concurrency: int
) -> int | None:
    """Run the backfill command when rows wait for it and print its summary; its exit code when it could not run."""
    from product_images.demo.commands import run_json_command
    from product_images.metadata.backfill import BackfillSummary

    pending = sum(
        conn.execute(
            sql.SQL("select count(*) from {} where metadata_probed_at is null").format(
                sql.Identifier(tenant, "product_images")
            )
        ).fetchone()[0]  # type: ignore[index]
        for tenant in tenants
    )
    if pending == 0:
        console.print("metadata backfill: every image is probed already")
        return None
    code, values = run_json_command(
        console,
        ["metadata", "backfill", "--json", "--concurrency", str(concurrency)],
        f"product-images metadata backfill --concurrency {concurrency} ({pending:,} rows to probe)",
    )
    if values is None:
        return code
    summary = BackfillSummary(**values)
    for line in summary.lines():
        console.print(line, highlight=False)
    return None


def _metadata_states(
    conn: psycopg.Connection, tenants: list[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Each tenant's (metadata state, rows), and the first failed images (tenant, product, position, URL, reason)."""
    states: list[tuple[Any, ...]] = []
    failures: list[tuple[Any, ...]] = []
    for tenant in tenants:
        table = sql.Identifier(tenant, "product_images")
        states += conn.execute(
            sql.SQL(
                "select coalesce(metadata_error, case when metadata_probed_at is null then 'not probed' "
                "else 'ok' end), count(*) from {} group by 1"
            ).format(table)
        ).fetchall()
        if len(failures) < _FAILURES_SHOWN:
            failures += conn.execute(
                sql.SQL(
                    "select %s, product_id, position, url, metadata_error from {} where metadata_error is "
                    "not null "
                    "order by product_id, position limit %s"
                ).format(table),
                (tenant, _FAILURES_SHOWN - len(failures)),
            ).fetchall()
    return states, failures


def _print_metadata_states(console: Console, states: list[tuple[Any, ...]], failures: list[tuple[Any, ...]]) -> None:
    """Print the metadata states' totals, the failed images, and the query listing them all when more failed."""
    from product_images.connection import dbt_schema

    totals: dict[str, int] = {}
    for state, count in states:
        totals[state] = totals.get(state, 0) + count
    console.print(
        "metadata in the tables: "
        + ", ".join(
            f"{state} {count:,}" for state, count in sorted(totals.items(), key=lambda item: (item[0] != "ok", item[0]))
        ),
        highlight=False,
    )
    for tenant, product_id, position, url, reason in failures:
        console.print(f"  {reason}: {tenant} product {product_id} position {position} {url}", highlight=False)
    failed_rows = sum(count for state, count in totals.items() if state not in ("ok", "not probed"))
    if failed_rows > len(failures):
        console.print(
            f"  … and {failed_rows - len(failures):,} more: select tenant_schema, product_id, position, "
            f"url, metadata_error from {dbt_schema()}.product_images where metadata_error is not null",
            highlight=False,
        )
