"""Prober benchmark: header-only ranged reads vs full download + Pillow, through added latency.

moto's S3 (``ThreadedMotoServer``) runs in a child process behind a small TCP
proxy (``bench/latency_proxy.py``) that delays every request by ``--latency-ms``
(and, with ``--bandwidth-mbit``, caps the response bandwidth). A few hundred
distinct demo-like pictures (``product_images.demo.pictures.render_image``: phone
originals, marketplace-sized JPEGs, WebP, PNG, price-tag photos, plus the demo
catalog's readable files, a few of which keep their size header beyond 64 KiB) are
uploaded under ``--objects`` keys, directly to moto. Then, through the proxy,
with the same thread pool (``probe_many``, ``--concurrency``):

* the prober: ``probe_many(client, refs)`` (``probe_object``: one 64 KiB ranged GET);
* the naive approach: ``probe_many(client, refs, probe=naive_probe)`` (full GET + ``PIL.Image.open``).

Prints images/s, bytes downloaded per image and the ratio; writes
``bench/results/<name>.json``. Rendered pictures are cached in ``bench/.cache/``.

Usage::

    python bench/probe.py                        # 2,000 objects, 20 ms per request
    python bench/probe.py --bandwidth-mbit 200   # and a 200 Mbit/s link
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import hashlib
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import log, rate, write_result
from bench.latency_proxy import serve_store
from product_images.demo.pictures import demo_image_catalog, render_image
from product_images.metadata.probe import FIRST_RANGE_BYTES, ProbeResult, naive_probe, probe_many, probe_object
from product_images.metadata.storage import ObjectRef, s3_client

BUCKET = "bench-images"
CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "images"
_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

# (share, kind, sizes, format, render options): photos as resellers upload them, with
# camera-like grain (render_image's ``grain``) so they weigh what photos do.
_GRAIN = 0.12
_MIX: tuple[tuple[float, str, tuple[tuple[int, int], ...], str, dict[str, Any]], ...] = (
    (0.40, "product", ((1200, 1600), (1600, 1200)), "jpeg", {"quality": 90, "grain": _GRAIN}),
    (0.20, "product", ((3024, 4032), (4032, 3024)), "jpeg", {"quality": 92, "grain": _GRAIN}),  # phone originals
    (0.10, "product", ((2048, 1536),), "jpeg", {"quality": 85, "progressive": True, "grain": _GRAIN}),
    (0.10, "product", ((1080, 1080),), "webp", {"grain": _GRAIN}),
    (0.05, "product", ((1000, 1000),), "png", {"grain": 0.02}),
    (0.10, "label", ((1200, 900), (900, 1200)), "jpeg", {"grain": _GRAIN}),
    (0.05, "product", ((1600, 1200),), "jpeg", {"orientation": 6, "grain": _GRAIN}),
)


@dataclass(frozen=True)
class Picture:
    """One distinct stored picture: its bytes, Content-Type, and whether its size header is within the first 64 KiB."""

    name: str
    data: bytes
    content_type: str
    ordinary: bool


def _render(job: tuple[str, str, int, int, int, str, dict[str, Any]]) -> tuple[str, bytes]:
    name, kind, width, height, seed, fmt, options = job
    cached = CACHE_DIR / name
    if cached.is_file():
        return name, cached.read_bytes()
    data = render_image(kind, width, height, seed, fmt, **options)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return name, data


def pictures(distinct: int, *, seed: int = 7, workers: int | None = None) -> list[Picture]:
    """``distinct`` rendered pictures following ``_MIX``, plus the demo catalog's readable ones.

    Deterministic; cached on disk.
    """
    rng = random.Random(seed)
    jobs = []
    for number in range(distinct):
        draw, chosen = rng.random(), _MIX[-1]
        for entry in _MIX:
            if draw < entry[0]:
                chosen = entry
                break
            draw -= entry[0]
        _, kind, sizes, fmt, options = chosen
        width, height = rng.choice(sizes)
        digest = hashlib.sha1(repr((kind, width, height, number, fmt, sorted(options.items()))).encode()).hexdigest()[
            :12
        ]
        jobs.append((f"{kind}-{width}x{height}-{number}-{digest}.{fmt}", kind, width, height, number, fmt, options))
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        rendered = dict(pool.map(_render, jobs))
    out = [Picture(job[0], rendered[job[0]], _CONTENT_TYPES[job[5]], True) for job in jobs]
    for item in demo_image_catalog():
        if item.error is None:
            out.append(Picture(item.key, item.data, item.content_type, not item.header_beyond_first_range))
    return out


@contextmanager
def store(latency: float, bandwidth: float | None) -> Iterator[tuple[str, str, int]]:
    """moto + the latency proxy in a child process; yields ``(direct_url, proxied_url, child pid)``."""
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    child = context.Process(target=serve_store, args=(ready, stop, latency, bandwidth), daemon=True)
    child.start()
    try:
        direct, proxied = ready.get(timeout=60)
        yield direct, proxied, child.pid  # type: ignore[misc]
    finally:
        stop.set()
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
            child.join()


def upload(endpoint: str, pics: list[Picture], objects: int) -> dict[str, Picture]:
    """Create the bucket and put ``objects`` keys, key i holding picture ``i mod len(pics)`` (shuffled)."""
    client = s3_client(endpoint_url=endpoint, max_pool_connections=16)
    client.create_bucket(Bucket=BUCKET)
    order = list(range(objects))
    random.Random(11).shuffle(order)
    keys: dict[str, Picture] = {}
    from concurrent.futures import ThreadPoolExecutor

    def put(index: int) -> None:
        picture = pics[order[index] % len(pics)]
        key = f"products/p-{index // 5:05d}/{index % 5}-{picture.name}"
        client.put_object(Bucket=BUCKET, Key=key, Body=picture.data, ContentType=picture.content_type)
        keys[key] = picture

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, range(objects)))
    return keys


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (this process: its threads included)."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def measure(
    client: Any,
    keys: dict[str, Picture],
    probe: Callable[[Any, ObjectRef], ProbeResult],
    concurrency: int,
    store_pid: int,
) -> dict[str, Any]:
    """Probe every key once; images/s, bytes per image (all, and ordinary pictures only), requests, errors.

    Also the CPU seconds the prober's process (boto3, threads, parsing) and the store's
    process (moto + proxy) used meanwhile: when they add up to about the machine's
    cores × wall time, the run is CPU-bound, not latency-bound.
    """
    refs = [ObjectRef(BUCKET, key) for key in keys]
    client_cpu, store_cpu = _cpu_seconds(os.getpid()), _cpu_seconds(store_pid)
    started = time.perf_counter()
    results = list(probe_many(client, refs, concurrency=concurrency, probe=probe))
    seconds = time.perf_counter() - started
    client_cpu, store_cpu = _cpu_seconds(os.getpid()) - client_cpu, _cpu_seconds(store_pid) - store_cpu
    ordinary = [r for r in results if keys[r.key].ordinary]
    large = [r for r in ordinary if len(keys[r.key].data) > FIRST_RANGE_BYTES]
    return {
        "objects": len(results),
        "seconds": round(seconds, 3),
        "images_per_second": rate(len(results), seconds),
        "bytes_per_image_mean": round(statistics.fmean(r.bytes_downloaded for r in results)),
        "bytes_per_ordinary_image_mean": round(statistics.fmean(r.bytes_downloaded for r in ordinary)),
        "bytes_per_ordinary_image_max": max(r.bytes_downloaded for r in ordinary),
        "bytes_per_ordinary_image_over_64KiB_mean": round(statistics.fmean(r.bytes_downloaded for r in large))
        if large
        else None,
        "requests_per_image": round(statistics.fmean(r.requests for r in results), 3),
        "errors": sum(1 for r in results if not r.ok),
        "cpu_seconds": {"prober_process": round(client_cpu, 2), "store_process": round(store_cpu, 2)},
        "cpu_ms_per_image": round((client_cpu + store_cpu) * 1000 / len(results), 2),
        "_results": results,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the result document."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ):
        os.environ[name] = value
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    started = time.perf_counter()
    log(f"rendering {args.distinct} distinct pictures (cached in {CACHE_DIR})")
    pics = pictures(args.distinct)
    render_seconds = time.perf_counter() - started
    bandwidth = args.bandwidth_mbit * 1_000_000 / 8 if args.bandwidth_mbit else None
    with store(args.latency_ms / 1000, bandwidth) as (direct, proxied, store_pid):
        log(f"uploading {args.objects} objects to moto at {direct}")
        keys = upload(direct, pics, args.objects)
        sizes = [len(picture.data) for picture in keys.values()]
        client = s3_client(endpoint_url=proxied, max_pool_connections=args.concurrency)
        client.head_bucket(Bucket=BUCKET)  # resolve credentials and open a connection outside the timings
        log(
            f"prober through {proxied} ({args.latency_ms} ms per request"
            f"{f', {args.bandwidth_mbit} Mbit/s' if args.bandwidth_mbit else ''})"
        )
        header_only = measure(client, keys, probe_object, args.concurrency, store_pid)
        log(f"prober: {header_only['images_per_second']} images/s")
        full = measure(client, keys, naive_probe, args.concurrency, store_pid)
        log(f"naive: {full['images_per_second']} images/s")
    same = sum(
        1
        for a, b in zip(
            sorted(header_only.pop("_results"), key=lambda r: r.key),
            sorted(full.pop("_results"), key=lambda r: r.key),
            strict=True,
        )
        if (a.width, a.height, a.exif_orientation, a.mime_type) == (b.width, b.height, b.exif_orientation, b.mime_type)
    )
    ratio = round(header_only["images_per_second"] / full["images_per_second"], 2)
    return {
        "settings": {
            "objects": args.objects,
            "distinct_pictures": len(pics),
            "latency_ms": args.latency_ms,
            "bandwidth_mbit": args.bandwidth_mbit or None,
            "concurrency": args.concurrency,
            "latency_bound_ceiling_images_per_second": round(args.concurrency / (args.latency_ms / 1000), 1)
            if args.latency_ms
            else None,
        },
        "objects": {
            "bytes_mean": round(statistics.fmean(sizes)),
            "bytes_median": round(statistics.median(sizes)),
            "bytes_max": max(sizes),
            "over_64KiB": sum(1 for size in sizes if size > FIRST_RANGE_BYTES),
            "header_beyond_64KiB": sum(1 for picture in keys.values() if not picture.ordinary),
        },
        "render_seconds": round(render_seconds, 1),
        "prober": header_only,
        "naive": full,
        "same_measurements": same,
        "speedup": ratio,
        "targets": [
            {
                "target": "prober ≤ 64 KiB per ordinary image",
                "measured": header_only["bytes_per_ordinary_image_max"],
                "met": header_only["bytes_per_ordinary_image_max"] <= FIRST_RANGE_BYTES,
            },
            {
                "target": f"prober ≥ 10 × the naive images/s at {args.latency_ms} ms",
                "measured": ratio,
                "met": ratio >= 10,
            },
        ],
    }


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2_000, help="objects probed (default 2,000)")
    parser.add_argument(
        "--distinct", type=int, default=200, help="distinct rendered pictures behind them (default 200)"
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added per request (default 20)")
    parser.add_argument("--bandwidth-mbit", type=float, default=0.0, help="response link cap in Mbit/s (default: none)")
    parser.add_argument("--concurrency", type=int, default=32, help="probe_many threads (default 32, its default)")
    parser.add_argument("--name", default="probe", help="results file bench/results/<name>.json")
    args = parser.parse_args(argv)
    result = run(args)
    path = write_result(args.name, result)
    p, n, o = result["prober"], result["naive"], result["objects"]
    print(
        f"{result['settings']['objects']} objects ({o['bytes_mean'] / 1024:.0f} KiB mean, "
        f"{o['bytes_max'] / 2**20:.1f} MiB max), "
        f"{args.latency_ms:g} ms per request, {args.concurrency} threads"
    )
    print(
        f"prober: {p['images_per_second']:>8.1f} images/s  {p['bytes_per_image_mean'] / 1024:6.1f} KiB/image "
        f"(ordinary: mean {p['bytes_per_ordinary_image_mean'] / 1024:.1f}, max "
        f"{p['bytes_per_ordinary_image_max'] / 1024:.1f} KiB)  "
        f"{p['requests_per_image']} requests/image  errors {p['errors']}  CPU {p['cpu_ms_per_image']} ms/image"
    )
    print(
        f"naive:  {n['images_per_second']:>8.1f} images/s  {n['bytes_per_image_mean'] / 1024:6.1f} KiB/image  errors "
        f"{n['errors']}  "
        f"CPU {n['cpu_ms_per_image']} ms/image"
    )
    print(f"speedup {result['speedup']}×; same measurements for {result['same_measurements']} of {p['objects']}")
    for target in result["targets"]:
        print(f"[{'MET ' if target['met'] else 'MISS'}] {target['target']}: {target['measured']}")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
