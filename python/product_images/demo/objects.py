"""The objects of the demo bucket: a picture for every demo image URL, and a few awkward cases.

:func:`plan_demo_objects` decides them. A URL of the demo data
(:func:`~product_images.demo.data.demo_photo_specs`) gets its own clothing photo, drawn
by :func:`~product_images.labels.development.clothing.render_photo` (about 60 ms of one core, in worker
processes) and encoded as its extension says (JPEG, or WebP / PNG for a few); any other
URL gets one of a few dozen generic pictures (:func:`~product_images.demo.pictures.render_image`,
reused across keys by a hash of the key). A few keys get the demo catalog's awkward cases
instead (:data:`SPECIAL_CASES`): missing objects (deliberately not uploaded), zero-byte
objects, an HTML error page saved as ``.jpg``, a JPEG cut before its size header, a JPEG
with a 120 KB ICC profile before its SOF, a JPEG whose 65 KB EXIF segment straddles the
first 64 KiB, EXIF orientation 6, CMYK, progressive. :func:`demo_objects` plans them for the
database's demo data; :mod:`product_images.demo.storage` stores them in moto's S3.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from PIL import Image
from psycopg import sql

from product_images.demo.data import DEMO_URL_PREFIX
from product_images.demo.pictures import DemoImage, demo_image_catalog, render_image
from product_images.labels.development.clothing import PhotoSpec, render_photo
from product_images.migration.tenants import discover_tenants

__all__ = [
    "SPECIAL_CASES",
    "demo_object_batches",
    "demo_objects",
    "demo_specs",
    "demo_urls",
    "drawing_pool",
    "plan_demo_objects",
]

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
_MARKETPLACE_SIZED_SHARE = 0.75  # of JPEG/WebP variants; the rest are small photos
_LONG_SIDES = (1600, 2048)  # px: eBay's recommended 1600, and a common phone-app resize
_ASPECTS = ((4, 3), (3, 4), (1, 1))


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


@contextlib.contextmanager
def drawing_pool(workers: int | None = None) -> Iterator[Executor | None]:
    """Worker processes drawing clothing photos, kept for several :func:`plan_demo_objects` calls.

    Args:
        workers: processes (default: the cores this process may use, a container's CPU set, not
            the machine's); 1 yields None: the photos are drawn in this process.

    Yields:
        A process pool (spawned, not forked: this process may already run threads, moto's
        server or a database pool; each worker uses one OpenCV thread), or None. Shut down
        when the block ends.
    """
    if not workers:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers == 1:
        yield None
        return
    import multiprocessing

    with ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
    ) as pool:
        yield pool


def _render_clothing(
    jobs: Mapping[str, tuple[PhotoSpec, str]],
    workers: int | None,
    *,
    pool: Executor | None = None,
    on_drawn: Callable[[int], None] | None = None,
) -> dict[str, DemoImage]:
    """Draw the clothing photos of ``jobs`` (key → (spec, format)) in ``pool``, else in ``workers``
    new processes (:func:`drawing_pool`); ``on_drawn(n)`` after every n photos drawn."""
    if not jobs:
        return {}
    items = list(jobs.items())
    specs = [job for _, job in items]
    drawn: list[tuple[bytes, int, int]] = []
    with contextlib.ExitStack() as stack:
        if pool is None and len(items) >= 32:
            pool = stack.enter_context(drawing_pool(workers))
        results = map(_draw, specs) if pool is None else pool.map(_draw, specs, chunksize=16)
        for picture in results:
            drawn.append(picture)
            if on_drawn is not None:
                on_drawn(1)
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
    pool: Executor | None = None,
    on_drawn: Callable[[int], None] | None = None,
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
        workers, pool: the processes drawing the clothing photos: ``pool`` (:func:`drawing_pool`, kept
            across calls), else ``workers`` new ones (default: one per CPU; 1 draws in this process).
        on_drawn: called with 1 after each clothing photo is drawn (a progress bar).

    Returns:
        One :class:`~product_images.demo.pictures.DemoImage` per distinct key, sorted by key,
        with the outcome the prober must report: ordinary keys get a product photo (a label
        photo for ``label_urls``) in the extension's format; the first non-label ``.jpg``
        keys in hash order get the :data:`SPECIAL_CASES` (``error="missing"`` ones must not
        be uploaded). The generic pictures cost about 0.02-0.2 s per distinct variant (at most 80).

    Raises:
        Nothing expected (Pillow's own errors if an encoder is missing).
    """
    plan = _Plan.of(urls, label_urls, specs, url_prefix)
    wanted = None if only is None else {url[len(url_prefix) :] for url in only if url.startswith(url_prefix)}
    return plan.objects(wanted, workers=workers, pool=pool, on_drawn=on_drawn)


@dataclass
class _Plan:
    """What every key of a set of demo URLs gets, decided once: a price-tag photo or not (``keys``),
    the awkward cases (``special``), the clothing photo to draw (``by_key``); generic pictures cached."""

    keys: dict[str, bool]
    special: dict[str, DemoImage]
    by_key: dict[str, PhotoSpec]
    cache: dict[tuple[str, str, int], DemoImage] = field(default_factory=dict)

    @classmethod
    def of(
        cls, urls: Iterable[str], label_urls: Collection[str], specs: Mapping[str, PhotoSpec] | None, url_prefix: str
    ) -> _Plan:
        keys = _demo_keys(urls, label_urls, url_prefix)
        by_key = {url[len(url_prefix) :]: spec for url, spec in (specs or {}).items() if url.startswith(url_prefix)}
        return cls(keys, _special_objects(keys), by_key)

    def objects(
        self,
        wanted: Collection[str] | None,
        *,
        workers: int | None = None,
        pool: Executor | None = None,
        on_drawn: Callable[[int], None] | None = None,
    ) -> list[DemoImage]:
        """The objects of the ``wanted`` keys (None: every key), sorted by key, their photos drawn."""
        chosen = [key for key in sorted(self.keys) if wanted is None or key in wanted]
        drawn = _render_clothing(
            {
                key: (self.by_key[key], _key_format(key))
                for key in chosen
                if key in self.by_key and key not in self.special
            },
            workers,
            pool=pool,
            on_drawn=on_drawn,
        )
        plan = []
        for key in chosen:
            if key in self.special:
                plan.append(self.special[key])
            elif key in drawn:
                plan.append(drawn[key])
            else:
                plan.append(_generic_object(key, self.keys[key], self.cache))
        return plan


def _demo_keys(urls: Iterable[str], label_urls: Collection[str], url_prefix: str) -> dict[str, bool]:
    """Object key (the URL minus ``url_prefix``) → whether it is a price-tag photo; other URLs are skipped."""
    keys: dict[str, bool] = {}
    for url in urls:
        if url.startswith(url_prefix) and len(url) > len(url_prefix):
            key = url[len(url_prefix) :]
            keys[key] = keys.get(key, False) or url in label_urls
    return keys


def _key_format(key: str) -> str:
    """The format an object key's extension names: png, webp, else jpeg."""
    return _FORMAT_BY_EXTENSION.get(key.rsplit(".", 1)[-1].lower(), "jpeg")


def _special_objects(keys: Mapping[str, bool]) -> dict[str, DemoImage]:
    """The :data:`SPECIAL_CASES`, given in order to the first non-label ``.jpg`` keys in hash order."""
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
    return special


def _generic_object(key: str, is_label: bool, cache: dict[tuple[str, str, int], DemoImage]) -> DemoImage:
    """One of the reused generic pictures for ``key`` (a label photo when ``is_label``), chosen by its hash."""
    kind = "label" if is_label else "product"
    fmt = _key_format(key)
    variant = _variant(kind, fmt, _hash(key) % _VARIANTS[(kind, fmt)], cache)
    return DemoImage(
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
    urls, labels = demo_urls(conn)
    return plan_demo_objects(urls, labels, specs=demo_specs(conn), only=only)


def demo_object_batches(
    urls: Iterable[str],
    label_urls: Collection[str],
    batch_size: int,
    *,
    specs: Mapping[str, PhotoSpec] | None = None,
    url_prefix: str = DEMO_URL_PREFIX,
    on_drawn: Callable[[int], None] | None = None,
) -> Iterator[list[DemoImage]]:
    """The objects of :func:`plan_demo_objects`, ``batch_size`` keys at a time (in key order), so that a
    caller can store one batch before the next is drawn and hold only one batch's bytes.

    The plan (keys, awkward cases, specs by key) is decided once and one :func:`drawing_pool` draws
    every batch: planning 9,152 URLs costs about 0.45 s, and a pool spawns its workers again (the full
    demo is 7 batches of 1,500). The batches together are exactly ``plan_demo_objects(urls, label_urls,
    specs=specs)``.

    Args:
        urls, label_urls, specs, url_prefix: as :func:`plan_demo_objects` (:func:`demo_urls` and
            :func:`demo_specs` give the demo database's).
        batch_size: keys a batch (>= 1).
        on_drawn: called with 1 after each clothing photo is drawn (a progress bar).

    Yields:
        Lists of :class:`~product_images.demo.pictures.DemoImage`, each sorted by key.

    Raises:
        ValueError: ``batch_size`` < 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    plan = _Plan.of(urls, label_urls, specs, url_prefix)
    keys = sorted(plan.keys)
    with drawing_pool() as pool:
        for start in range(0, len(keys), batch_size):
            yield plan.objects(set(keys[start : start + batch_size]), pool=pool, on_drawn=on_drawn)


def demo_specs(conn: psycopg.Connection) -> dict[str, PhotoSpec] | None:
    """What each URL of the database's demo data shows (URL → spec, rebuilt from the seed and size
    recorded in ``demo.dataset``), or None when no full or small demo is loaded.

    Raises:
        psycopg.Error: database errors.
    """
    from product_images.demo.data import demo_photo_specs, loaded_dataset

    dataset = loaded_dataset(conn)
    return demo_photo_specs(*dataset) if dataset is not None and dataset[1] in ("full", "small") else None
