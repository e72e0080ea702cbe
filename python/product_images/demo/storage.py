"""Demo object storage: moto's S3 server on 127.0.0.1 holding a picture for every demo image URL.

``make demo`` has no R2 bucket, so :func:`running_demo_storage` starts moto's
``ThreadedMotoServer`` (real HTTP, in this process), fills the bucket
``product-images`` with one object per image URL of the migrated tables (key = the
URL minus :data:`~product_images.demo.data.DEMO_URL_PREFIX`) and points the process
environment at it (until it stops), while :func:`run_demo_backfill` and the label
detection run over every tenant.

The objects come from :func:`plan_demo_objects`. A URL of the demo data
(:func:`~product_images.demo.data.demo_photo_specs`) gets its own clothing photo, drawn
by :func:`~product_images.labels.development.clothing.render_photo` (about 60 ms of one core, in worker
processes) and encoded as its extension says (JPEG, or WebP / PNG for a few); any other
URL gets one of a few dozen generic pictures (:func:`~product_images.demo.pictures.render_image`,
reused across keys by a hash of the key). A few keys get the demo catalog's awkward cases
instead (:data:`SPECIAL_CASES`): missing objects (deliberately not uploaded), zero-byte
objects, an HTML error page saved as ``.jpg``, a JPEG cut before its size header, a JPEG
with a 120 KB ICC profile before its SOF, a JPEG whose 65 KB EXIF segment straddles the
first 64 KiB, EXIF orientation 6, CMYK, progressive.

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
import hashlib
import io
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from PIL import Image
from psycopg import sql
from rich.console import Console

from product_images.demo.data import DEMO_URL_PREFIX
from product_images.demo.pictures import DemoImage, demo_image_catalog, render_image
from product_images.labels.development.clothing import PhotoSpec, render_photo
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

#: The awkward cases given to a few non-label ``.jpg`` keys, in this order, with how many keys
#: get each: (case, catalog key whose bytes they get or None for "missing", count).
SPECIAL_CASES: tuple[tuple[str, str | None, int], ...] = (
    ("missing", None, 3),
    ("empty", "products/p-1009/empty.jpg", 2),
    ("html page", "products/p-1009/error-page.jpg", 2),
    ("truncated JPEG", "products/p-1009/truncated.jpg", 2),
    ("120 KB ICC profile", "products/p-1003/studio.jpg", 2),
    ("65 KB EXIF segment", "products/p-1003/camera.jpg", 1),
    ("EXIF orientation 6", "products/p-1002/phone.jpg", 2),
    ("CMYK JPEG", "products/p-1002/print.jpg", 1),
    ("progressive JPEG", "products/p-1001/side.jpg", 1),
)

#: Objects up to this many bytes stay in moto's memory; larger ones go to temporary files.
MEMORY_OBJECT_BYTES = 64 * 1024
DEMO_PHOTOS_AT_A_TIME = 1500
"""Photos the demo draws and stores at a time (about 0.5 GB of them in memory)."""

# Distinct renders per (kind, format), reused across keys.
_VARIANTS = {
    ("product", "jpeg"): 40,
    ("product", "png"): 8,
    ("product", "webp"): 8,
    ("label", "jpeg"): 16,
    ("label", "png"): 4,
    ("label", "webp"): 4,
}
_FORMAT_BY_EXTENSION = {"png": "png", "webp": "webp"}  # anything else: JPEG
_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# Encoder settings per format: phone apps save JPEG at about quality 85; grain = camera noise.
_ENCODING: dict[str, dict[str, Any]] = {
    "jpeg": {"quality": 85, "grain": 0.12},
    "webp": {"quality": 80, "grain": 0.12},
    "png": {"grain": 0.02},
}
_FAILURES_SHOWN = 20  # failed images listed by the demo, with their reasons
_MARKETPLACE_SIZED_SHARE = 0.75  # of JPEG/WebP variants; the rest are small photos
_LONG_SIDES = (1600, 2048)  # px: eBay's recommended 1600, and a common phone-app resize
_ASPECTS = ((4, 3), (3, 4), (1, 1))


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


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _variant_size(fmt: str, rng: random.Random) -> tuple[int, int]:
    """(width, height) in pixels of one variant: see the module docstring."""
    if fmt == "png" or rng.random() >= _MARKETPLACE_SIZED_SHARE:
        return rng.randint(300, 640), rng.randint(300, 640)
    long_side = rng.choice(_LONG_SIDES)
    across, down = rng.choice(_ASPECTS)
    if across >= down:
        return long_side, long_side * down // across
    return long_side * across // down, long_side


def _variant(kind: str, fmt: str, index: int, cache: dict[tuple[str, str, int], DemoImage]) -> DemoImage:
    """Render (once per plan) variant ``index`` of a (kind, format): size from a seeded RNG."""
    cached = cache.get((kind, fmt, index))
    if cached is None:
        width, height = _variant_size(fmt, random.Random(f"demo-storage:{kind}:{fmt}:{index}"))
        data = render_image(kind, width, height, 1000 + index, fmt, **_ENCODING[fmt])
        cached = DemoImage(
            key="",
            data=data,
            content_type=_CONTENT_TYPES[fmt],
            mime_type=_CONTENT_TYPES[fmt],
            width=width,
            height=height,
            orientation=None,
            error=None,
            description="price-tag label photo" if kind == "label" else "product photo",
        )
        cache[(kind, fmt, index)] = cached
    return cached


def _draw(job: tuple[PhotoSpec, str]) -> tuple[bytes, int, int]:
    """One clothing photo as (bytes, width, height), encoded as ``fmt`` (jpeg, png or webp)."""
    spec, fmt = job
    data = render_photo(spec)
    if fmt != "jpeg":
        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.save(out, format=fmt.upper(), **({"quality": 80} if fmt == "webp" else {"optimize": False}))
            data = out.getvalue()
    return data, spec.width, spec.height


def _one_thread() -> None:
    """A drawing worker uses one core: OpenCV would start a thread per core in each worker."""
    import cv2

    cv2.setNumThreads(1)


def _render_clothing(jobs: Mapping[str, tuple[PhotoSpec, str]], workers: int | None) -> dict[str, DemoImage]:
    """Draw the clothing photos of ``jobs`` (key → (spec, format)), in ``workers`` processes."""
    if not jobs:
        return {}
    if not workers:  # the cores this process may use (a container's CPU set), not the machine's
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    items = list(jobs.items())
    if workers == 1 or len(items) < 32:
        drawn = [_draw(job) for _, job in items]
    else:
        import multiprocessing

        # spawn, not fork: this process may already run threads (moto's server, a database pool)
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
        ) as pool:
            drawn = list(pool.map(_draw, [job for _, job in items], chunksize=16))
    result = {}
    for (key, (spec, fmt)), (data, width, height) in zip(items, drawn, strict=True):
        result[key] = DemoImage(
            key,
            data,
            _CONTENT_TYPES[fmt],
            _CONTENT_TYPES[fmt],
            width,
            height,
            None,
            None,
            "price-tag label photo" if spec.is_tag else f"{spec.kind} photo of a {spec.garment}",
        )
    return result


def plan_demo_objects(
    urls: Iterable[str],
    label_urls: Collection[str] = (),
    *,
    specs: Mapping[str, PhotoSpec] | None = None,
    url_prefix: str = DEMO_URL_PREFIX,
    only: Collection[str] | None = None,
    workers: int | None = None,
) -> list[DemoImage]:
    """Decide the object behind each demo image URL, deterministically.

    Args:
        urls: image URLs (duplicates allowed); those not starting with ``url_prefix`` are
            skipped (the backfill records them as ``unmapped``).
        label_urls: the URLs that are price-tag photos (``demo.label_truth.label_url``).
        specs: what each URL shows (:func:`~product_images.demo.data.demo_photo_specs`): those URLs get
            their own clothing photo, drawn by :func:`~product_images.labels.development.clothing.render_photo` (about
            60 ms of one core each, spread over ``workers`` processes) and encoded as the URL's extension
            says. URLs not in it get one of a few reused generic pictures.
        url_prefix: the public URL prefix; key = URL minus the prefix, not percent-decoded
            (demo URLs are plain ASCII).
        only: return (and render) only the objects of these URLs; None: of every URL. The
            special cases are still chosen among all ``urls``, so each key gets the object
            the full plan gives it.
        workers: processes drawing the clothing photos (default: one per CPU; 1 draws in this process).

    Returns:
        One :class:`~product_images.demo.pictures.DemoImage` per distinct key, sorted by key,
        with the outcome the prober must report: ordinary keys get a product photo (a label
        photo for ``label_urls``) in the extension's format; the first non-label ``.jpg``
        keys in hash order get the :data:`SPECIAL_CASES` (``error="missing"`` ones must not
        be uploaded). The generic pictures cost about 0.02-0.2 s per distinct variant (at most 80).

    Raises:
        Nothing expected (Pillow's own errors if an encoder is missing).
    """
    keys: dict[str, bool] = {}
    for url in urls:
        if url.startswith(url_prefix) and len(url) > len(url_prefix):
            key = url[len(url_prefix) :]
            keys[key] = keys.get(key, False) or url in label_urls
    catalog = {item.key: item for item in demo_image_catalog()}

    special: dict[str, DemoImage] = {}
    candidates = sorted(
        (key for key, is_label in keys.items() if not is_label and key.endswith(".jpg")),
        key=lambda key: (_hash("special:" + key), key),
    )
    position = 0
    for case, catalog_key, count in SPECIAL_CASES:
        for key in candidates[position : position + count]:
            if catalog_key is None:
                special[key] = DemoImage(
                    key,
                    b"",
                    "image/jpeg",
                    None,
                    None,
                    None,
                    None,
                    "missing",
                    "missing: object deliberately not uploaded",
                )
            else:
                item = catalog[catalog_key]
                special[key] = DemoImage(
                    key,
                    item.data,
                    item.content_type,
                    item.mime_type,
                    item.width,
                    item.height,
                    item.orientation,
                    item.error,
                    f"{case}: {item.description}",
                    item.header_beyond_first_range,
                )
        position += count

    wanted = None if only is None else {url[len(url_prefix) :] for url in only if url.startswith(url_prefix)}
    cache: dict[tuple[str, str, int], DemoImage] = {}
    by_key = {url[len(url_prefix) :]: spec for url, spec in (specs or {}).items() if url.startswith(url_prefix)}
    drawn = _render_clothing(
        {
            key: (by_key[key], _FORMAT_BY_EXTENSION.get(key.rsplit(".", 1)[-1].lower(), "jpeg"))
            for key in sorted(keys)
            if key in by_key and key not in special and (wanted is None or key in wanted)
        },
        workers,
    )
    plan = []
    for key in sorted(keys):
        if wanted is not None and key not in wanted:
            continue
        if key in special:
            plan.append(special[key])
            continue
        if key in drawn:
            plan.append(drawn[key])
            continue
        kind = "label" if keys[key] else "product"
        fmt = _FORMAT_BY_EXTENSION.get(key.rsplit(".", 1)[-1].lower(), "jpeg")
        variant = _variant(kind, fmt, _hash(key) % _VARIANTS[(kind, fmt)], cache)
        plan.append(
            DemoImage(
                key,
                variant.data,
                variant.content_type,
                variant.mime_type,
                variant.width,
                variant.height,
                None,
                None,
                variant.description,
            )
        )
    return plan


def demo_urls(conn: psycopg.Connection) -> tuple[list[str], set[str]]:
    """The image URLs of every tenant's product_images table, and the price-tag URLs.

    Args:
        conn: a connection to the demo database (after ``dbt run``).

    Returns:
        ``(urls, label_urls)``: every distinct ``url`` of the tenants'
        ``product_images`` (see :func:`~product_images.migration.tenants.discover_tenants`), sorted;
        and the ``label_url`` values of ``demo.label_truth`` (empty when that table is absent).

    Raises:
        psycopg.Error: database errors.
    """
    urls: set[str] = set()
    for tenant in discover_tenants(conn):
        query = sql.SQL("select distinct url from {}").format(sql.Identifier(tenant, "product_images"))
        urls.update(row[0] for row in conn.execute(query).fetchall())
    labels: set[str] = set()
    if conn.execute("select to_regclass('demo.label_truth') is not null").fetchone()[0]:  # type: ignore[index]
        labels = {row[0] for row in conn.execute("select label_url from demo.label_truth").fetchall()}
    return sorted(urls), labels


def demo_objects(conn: psycopg.Connection, only: Collection[str] | None = None) -> list[DemoImage]:
    """The objects of the demo bucket for the database's demo data: :func:`plan_demo_objects` over
    :func:`demo_urls`, with the clothing photo of each URL of the loaded ``demo.dataset``.

    Args:
        conn: a connection to the demo database (after ``dbt run``).
        only: plan (and draw) only these URLs' objects; None: every URL's.

    Returns:
        One :class:`~product_images.demo.pictures.DemoImage` per key, sorted by key.

    Raises:
        psycopg.Error: database errors.
    """
    from product_images.demo.data import demo_photo_specs, loaded_dataset

    urls, labels = demo_urls(conn)
    dataset = loaded_dataset(conn)
    specs = demo_photo_specs(*dataset) if dataset is not None and dataset[1] in ("full", "small") else None
    return plan_demo_objects(urls, labels, specs=specs, only=only)


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
    from botocore.exceptions import ClientError
    from moto.server import ThreadedMotoServer

    from product_images.metadata.storage import s3_client

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    previous_env: dict[str, str | None] = {}
    if set_env:
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
    try:
        client = s3_client(endpoint_url=endpoint, max_pool_connections=8)
        region = client.meta.region_name
        created_bucket = True
        try:
            if region == "us-east-1":
                client.create_bucket(Bucket=bucket)
            else:  # moto, like S3, wants the region as LocationConstraint elsewhere (R2's "auto" included)
                client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
            created_bucket = False
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
        urls = sorted(set(demo_urls(conn)[0])) if waiting else []
    if not waiting:  # the connection is closed before the block runs
        yield None
        return
    storage = start_demo_storage([])
    rendered = 0.0
    try:
        # A part at a time: all of the demo's photos at once held about 3 GB in this process.
        for start in range(0, len(urls), DEMO_PHOTOS_AT_A_TIME):
            started = time.perf_counter()
            with connect(autocommit=True) as conn:
                objects = demo_objects(conn, only=urls[start : start + DEMO_PHOTOS_AT_A_TIME])
            rendered += time.perf_counter() - started
            store_demo_objects(storage, objects)
            del objects  # moto holds them now (the large ones in temporary files)
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
    from product_images.connection import connect, dbt_schema
    from product_images.demo.commands import run_json_command
    from product_images.metadata.backfill import BackfillSummary

    with connect(autocommit=True) as conn:
        tenants = discover_tenants(conn)
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
        else:
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
    return 0
