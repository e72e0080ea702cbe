"""Label detection benchmark: ``product-images labels detect`` at several ``--concurrency`` levels.

One tenant (``user_1``) of clothing-reseller photos drawn by
``product_images.labels.development.clothing`` (``generate_dataset(--seed, demo_params(...))``: the
demo's proportions, 18.6% of products with an internal price tag, a quarter of the
products with small photos, the rest 1600 or 2048 px JPEGs), scaled down to about
``--photos`` photos. Seed 7 by default, not the demo's 20261122. Rendered photos are
cached in ``bench/.cache/clothing/``.

The photos are stored in moto's S3 (``start_demo_storage``: a ``ThreadedMotoServer``
in this process, real HTTP; ``AWS_ENDPOINT_URL_S3``, ``IMAGE_URL_PREFIX`` and
``IMAGE_BUCKET`` point the children at it). The products table is loaded and
migrated once with ``dbt run --select product_images``; every level then runs on a
``CREATE DATABASE … TEMPLATE`` copy of that database, so each level scores every
photo from the same bytes, with no evidence and no profile stored.

Per level, ``python -m product_images labels detect --tenant user_1 --json
--no-progress --concurrency N --batch-size 5`` (see :data:`DEFAULT_BATCH_SIZE`)
runs as a child process, as an operator would run it, after the same command on an
empty tenant (``--tenant user_2``: what the command costs with nothing to score, its
worker processes spawned included). From its ``--json`` summary and ``os.wait4``:

* photos/s: ``photos_scored / seconds`` as the command reports it (from the start
  of ``detect_labels``, its workers' start included), over the whole command, and
  steady: over the command's wall time minus the empty tenant's;
* CPU seconds per photo: ``cpu_seconds / photos_scored`` (extraction and scoring,
  all workers) and the command's whole CPU time (its worker processes included)
  per photo; the store's CPU (moto, this process) alongside;
* bytes downloaded per photo: ``bytes_downloaded / photos_fetched``.

Then the first level's database is detected again until a run scores nothing
(``--reruns`` times at most): what a rerun of a detected tenant fetches and rescores.

Target (from the issue): "the demo's ~9,000 photos in under 10 minutes on 2 cores",
read as the demo's 9,195 photos in under 600 s. Extrapolated from the level with the
best steady rate: its fixed cost + 9,195 / its steady photos/s.

Writes ``bench/results/<name>.json``.

Usage::

    python bench/label_detection.py                  # about 300 photos, --concurrency 1, 2 and 4
    python bench/label_detection.py --photos 40      # a quick check
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from bench.common import (
    child_env,
    create_database,
    dbt_command,
    drop_database,
    ensure_postgres,
    log,
    project_copy,
    rate,
    run_measured,
    write_result,
)
from product_images.connection import connect
from product_images.demo.data import DEMO_URL_PREFIX, create_tenant_schema
from product_images.demo.pictures import DemoImage
from product_images.demo.storage import start_demo_storage
from product_images.labels.development import clothing

TENANT = "user_1"
EMPTY_TENANT = "user_2"
"""A tenant with no product: ``labels detect --tenant user_2`` costs what a run costs with nothing to score."""
BUCKET = "bench-labels"
CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "clothing"
DEMO_PHOTOS = 9_195
"""Photos of the demo (``generate_dataset(20261122, demo_params())``)."""
DEMO_PRODUCTS = 3_282
DEMO_TAGGED = 611
TARGET_SECONDS = 600.0
DEFAULT_BATCH_SIZE = 5
"""Products per claimed batch. The command's default, 20, makes 164 batches of the demo's 3,282
products but only about 5 of 300 photos' 107 products: 4 workers would then wait for the
last one's batch. 5 gives about 21 batches here, so the levels compare the workers, not the
batch split; a batch's own statements (claim, read, write, release) cost milliseconds
beside its photos' seconds of CPU, so the size barely changes the cost per photo."""
_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "IMAGE_URL_MAP_FILE",
    "IMAGE_KEY_PREFIX",
    "PRODUCT_IMAGES_TENANT_REGEX",
    "PRODUCT_IMAGES_EXTRA_TENANTS",
    "PRODUCT_IMAGES_LEASE_SECONDS",
)
"""Variables of the developer's shell that would point boto3, the mapping or the tenants elsewhere."""


# --------------------------------------------------------------------------- data


def dataset(photos: int, seed: int) -> list[clothing.Product]:
    """The first products of a demo-shaped one-tenant data set with at least ``photos`` photos in all.

    The tenant is drawn with 30% more products than the demo's photos-per-product ratio
    asks for (tags in the demo's proportion), then cut after the product that reaches
    ``photos``.
    """
    products = math.ceil(photos * DEMO_PRODUCTS / DEMO_PHOTOS * 1.3) + 5
    tags = round(products * DEMO_TAGGED / DEMO_PRODUCTS)
    drawn = clothing.generate_dataset(seed, clothing.demo_params(tenant_products=(products,), tenant_tags=(tags,)))
    chosen: list[clothing.Product] = []
    count = 0
    for product in drawn.products:
        if count >= photos:
            break
        chosen.append(product)
        count += len(product.photos)
    return chosen


def _renderer_fingerprint() -> str:
    """Changes when the renderer or its libraries change (the cache is then rebuilt)."""
    source = b"".join(path.read_bytes() for path in clothing.SOURCE_FILES)
    versions = []
    for package in ("pillow", "numpy", "opencv-python-headless", "opencv-python"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return hashlib.sha1(source + ",".join(versions).encode()).hexdigest()[:12]


def _render(job: tuple[str, clothing.PhotoSpec]) -> tuple[str, bytes]:
    name, spec = job
    cached = CACHE_DIR / name
    if cached.is_file():
        return name, cached.read_bytes()
    data = clothing.render_photo(spec)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return name, data


def render(products: list[clothing.Product], *, workers: int | None = None) -> dict[tuple[int, int], bytes]:
    """JPEG bytes of every photo, by (product id, position); cached on disk."""
    fingerprint = _renderer_fingerprint()
    jobs: list[tuple[str, clothing.PhotoSpec]] = []
    where: dict[str, tuple[int, int]] = {}
    for product in products:
        for position, spec in enumerate(product.photos):
            digest = hashlib.sha1(f"{fingerprint}:{spec!r}".encode()).hexdigest()[:16]
            name = f"{digest}.jpg"
            jobs.append((name, spec))
            where[name] = (product.product_id, position)
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        rendered = dict(pool.map(_render, jobs, chunksize=4))
    return {where[name]: data for name, data in rendered.items()}


def photo_key(product_id: int, position: int) -> str:
    """The object key of a photo (its URL is ``DEMO_URL_PREFIX`` + key); it says nothing of the truth."""
    return f"{TENANT}/{product_id}/{position}.jpg"


def load_products(conn: Any, products: list[clothing.Product]) -> None:
    """``<TENANT>.products`` with one row per product, ``images`` the legacy JSONB array; ``<EMPTY_TENANT>.products``
    empty."""
    create_tenant_schema(conn, TENANT)
    create_tenant_schema(conn, EMPTY_TENANT)
    rows = []
    for product in products:
        images = [
            {
                "url": DEMO_URL_PREFIX + photo_key(product.product_id, position),
                "order": position,
                "created_at": "2024-03-01T10:00:00Z",
            }
            for position in range(len(product.photos))
        ]
        rows.append((product.product_id, f"{product.photos[0].garment} {product.product_id}", Jsonb(images)))
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL("insert into {} (id, title, images) values (%s, %s, %s)").format(
                sql.Identifier(TENANT, "products")
            ),
            rows,
        )


# --------------------------------------------------------------------------- measuring


def _own_cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (moto's server threads included)."""
    times = os.times()
    return times.user + times.system


def detect(
    database: str, concurrency: int, work: Path, name: str, batch_size: int, tenant: str = TENANT
) -> dict[str, Any]:
    """Run ``labels detect --json --tenant <tenant>`` once on ``database``; its summary, wall time, CPU time and
    peak memory."""
    command = [
        sys.executable,
        "-m",
        "product_images",
        "labels",
        "detect",
        "--tenant",
        tenant,
        "--json",
        "--no-progress",
        "--concurrency",
        str(concurrency),
        "--batch-size",
        str(batch_size),
    ]
    out_path, err_path = work / f"{name}.json", work / f"{name}.log"
    store_cpu = _own_cpu_seconds()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=child_env(PGDATABASE=database))
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    store_cpu = _own_cpu_seconds() - store_cpu
    if child.returncode != 0:
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}; its stderr ends:\n{tail}")
    lines = [line for line in out_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    summary = json.loads(lines[-1])
    return {
        "command": command[1:],
        "command_seconds": round(seconds, 3),
        "command_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "store_cpu_seconds": round(store_cpu, 2),
        "summary": summary,
        "log": str(err_path),
    }


def scores(database: str) -> dict[str, Any]:
    """What the table holds after a level: photos scored and failed, and a digest of every score."""
    with connect(dbname=database) as conn:
        row = conn.execute(
            sql.SQL(
                "select count(*), count(label_score), count(label_error),"
                " count(*) filter (where label_scores_pending),"
                " md5(string_agg(id::text || ':' || coalesce(label_score::text, label_error, '-'), ',' order by id))"
                " from {}"
            ).format(sql.Identifier(TENANT, "product_images"))
        ).fetchone()
    assert row is not None
    return {"photos": row[0], "scored": row[1], "failed": row[2], "pending": row[3], "digest": row[4]}


def level_result(concurrency: int, run: dict[str, Any], fixed: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """The figures of one level, from the command's summary, the same command on the empty tenant, and the table.

    ``fixed_seconds`` is what the command costs with nothing to score (interpreter start,
    imports, tenant discovery, the profile, ``--concurrency`` worker processes spawned and
    joined); ``steady_photos_per_second`` is the rate over the rest of the wall time.
    """
    summary = run["summary"]
    scored, fetched = summary["photos_scored"], summary["photos_fetched"]
    fixed_seconds = fixed["command_seconds"]
    steady = run["command_seconds"] - fixed_seconds
    return {
        "concurrency": concurrency,
        "photos_scored": scored,
        "photos_fetched": fetched,
        "failed": summary["failed"],
        "seconds": round(summary["seconds"], 3),
        "photos_per_second": rate(scored, summary["seconds"]),
        "command_seconds": run["command_seconds"],
        "command_photos_per_second": rate(scored, run["command_seconds"]),
        "fixed_seconds": round(fixed_seconds, 2),
        "steady_photos_per_second": rate(scored, steady) if steady > 0 else None,
        "cpu_seconds": round(summary["cpu_seconds"], 2),
        "cpu_seconds_per_photo": round(summary["cpu_seconds"] / scored, 4) if scored else None,
        "command_cpu_seconds": run["command_cpu_seconds"],
        "command_cpu_seconds_per_photo": round(run["command_cpu_seconds"] / scored, 4) if scored else None,
        "store_cpu_seconds": run["store_cpu_seconds"],
        "bytes_downloaded": summary["bytes_downloaded"],
        "bytes_downloaded_per_photo": round(summary["bytes_downloaded"] / fetched) if fetched else None,
        "peak_rss_mib": run["peak_rss_mib"],
        "table": table,
        "summary": summary,
        "log": run["log"],
    }


def extrapolate(level: dict[str, Any], photos: int) -> dict[str, Any]:
    """Seconds for ``photos`` at this level: its fixed cost once + photos / its steady photos per second.

    Also the plain linear figure from the command's wall time (the fixed cost counted per
    photo: an overestimate, the larger the fewer photos were measured).
    """
    per_second = level["steady_photos_per_second"] or 0.0
    seconds = level["fixed_seconds"] + photos / per_second if per_second else math.inf
    linear = photos / level["command_photos_per_second"] if level["command_photos_per_second"] else math.inf
    return {
        "photos": photos,
        "concurrency": level["concurrency"],
        "seconds": round(seconds, 1),
        "minutes": round(seconds / 60, 2),
        "linear_seconds": round(linear, 1),
    }


def rerun_until_idle(database: str, concurrency: int, work: Path, batch_size: int, limit: int) -> list[dict[str, Any]]:
    """Run ``labels detect`` again on a detected tenant until it scores nothing, ``limit`` times at most.

    A rerun fetches nothing (the evidence is current), but the first one after a cold
    start learns a shop profile from the products scored above the high bar, and a new
    profile rescores every product from its stored evidence.
    """
    out: list[dict[str, Any]] = []
    for number in range(1, limit + 1):
        again = detect(database, concurrency, work, f"detect_c{concurrency}_rerun{number}", batch_size)
        summary = again["summary"]
        out.append(
            {
                "concurrency": concurrency,
                "command_seconds": again["command_seconds"],
                "seconds": round(summary["seconds"], 3),
                "products": summary["products"],
                "photos_scored": summary["photos_scored"],
                "photos_fetched": summary["photos_fetched"],
                "photos_reused": summary["photos_reused"],
                "scores_changed": summary["scores_changed"],
                "profiles": summary["profiles"],
                "table": scores(database),
            }
        )
        log(
            f"rerun {number}: {summary['products']} products rescored, {summary['photos_fetched']} photos fetched, "
            f"{summary['scores_changed']} scores changed in {summary['seconds']:.1f} s"
        )
        if summary["products"] == 0:
            break
    return out


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the result document."""
    server = ensure_postgres()
    work = Path(tempfile.mkdtemp(prefix="product-images-bench-labels-"))
    empty = work / "empty"
    empty.write_text("")
    for name in _AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    project = project_copy(work / "project")
    # No overrides: every level starts with no confirmed decision (the repository's seed may hold rows).
    (project / "seeds" / "label_overrides.csv").write_text("tenant_schema,product_id,url,is_label,note\n")

    log(f"drawing about {args.photos} photos (seed {args.seed}, the demo's proportions)")
    products = dataset(args.photos, args.seed)
    started = time.perf_counter()
    rendered = render(products)
    render_seconds = time.perf_counter() - started
    sizes = [len(data) for data in rendered.values()]
    specs = [spec for product in products for spec in product.photos]
    log(
        f"{len(products)} products, {len(sizes)} photos ({statistics.fmean(sizes) / 1024:.0f} KiB mean) rendered "
        f"in {render_seconds:.1f} s (cached in {CACHE_DIR})"
    )

    objects = [
        DemoImage(photo_key(pid, position), data, "image/jpeg", "image/jpeg", None, None, None, None, "clothing photo")
        for (pid, position), data in sorted(rendered.items())
    ]
    storage = start_demo_storage(objects, bucket=BUCKET)
    log(f"moto S3 at {storage.endpoint}: {storage.objects} objects, {storage.total_bytes / 1e6:.1f} MB")
    source = "bench_labels_source"
    levels: list[dict[str, Any]] = []
    reruns: list[dict[str, Any]] = []
    try:
        create_database(source)
        with connect(autocommit=True, dbname=source) as conn:
            load_products(conn, products)
        migrated = run_measured(
            dbt_command(project, "run", "--select", "product_images"),
            log_path=work / "dbt_run.log",
            env=child_env(PGDATABASE=source),
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"dbt run failed (exit {migrated.returncode}): see {migrated.log_path}")
        log(f"dbt run: {migrated.seconds:.1f} s")
        first_digest: str | None = None
        for index, concurrency in enumerate(args.concurrency):
            database = f"bench_labels_c{concurrency}"
            create_database(database, template=source)
            log(f"labels detect --concurrency {concurrency} (first on the empty tenant: the fixed cost)")
            fixed = detect(database, concurrency, work, f"detect_c{concurrency}_empty", args.batch_size, EMPTY_TENANT)
            measured = detect(database, concurrency, work, f"detect_c{concurrency}", args.batch_size)
            level = level_result(concurrency, measured, fixed, scores(database))
            first_digest = first_digest or level["table"]["digest"]
            level["same_scores_as_first_level"] = level["table"]["digest"] == first_digest
            levels.append(level)
            log(
                f"--concurrency {concurrency}: {level['photos_scored']} photos in {level['seconds']:.1f} s = "
                f"{level['photos_per_second']} photos/s (command {level['command_seconds']:.1f} s, with nothing to "
                f"score {level['fixed_seconds']:.1f} s), "
                f"{level['cpu_seconds_per_photo']} CPU s/photo, "
                f"{(level['bytes_downloaded_per_photo'] or 0) / 1024:.0f} KiB/photo"
            )
            if index == 0 and args.reruns:
                reruns = rerun_until_idle(database, concurrency, work, args.batch_size, args.reruns)
            if not args.keep:
                drop_database(database)
    finally:
        storage.stop(delete_objects=False)
        if not args.keep:
            drop_database(source)

    best = max(levels, key=lambda level: level["steady_photos_per_second"] or 0.0)
    projection = extrapolate(best, DEMO_PHOTOS)
    met = projection["seconds"] < TARGET_SECONDS
    return {
        "postgres": server,
        "work": str(work),
        "settings": {
            "photos_requested": args.photos,
            "seed": args.seed,
            "tenant": TENANT,
            "concurrency": args.concurrency,
            "batch_size": args.batch_size,
            "batches": math.ceil(len(products) / args.batch_size),
            "fetch_threads": 8,
            "target_photos": DEMO_PHOTOS,
            "target_seconds": TARGET_SECONDS,
        },
        "dataset": {
            "products": len(products),
            "photos": len(specs),
            "tagged_products": sum(1 for product in products if product.label_index is not None),
            "photos_by_kind": {kind: sum(1 for spec in specs if spec.kind == kind) for kind in clothing.PHOTO_KINDS},
            "small_photos": sum(1 for spec in specs if max(spec.width, spec.height) <= 640),
            "bytes_mean": round(statistics.fmean(sizes)),
            "bytes_median": round(statistics.median(sizes)),
            "bytes_max": max(sizes),
            "bytes_total": sum(sizes),
            "render_seconds": round(render_seconds, 1),
        },
        "storage": {"objects": storage.objects, "bytes": storage.total_bytes, "store_seconds": storage.upload_seconds},
        "dbt_run": {"seconds": round(migrated.seconds, 2), "returncode": migrated.returncode},
        "levels": levels,
        "best_concurrency": best["concurrency"],
        "extrapolation": projection,
        "reruns": reruns,
        "targets": [
            {
                "target": f"the demo's {DEMO_PHOTOS:,} photos in under {TARGET_SECONDS / 60:.0f} minutes on "
                f"{os.cpu_count()} cores",
                "measured": f"≈ {projection['seconds']:.0f} s ({projection['minutes']:.1f} min) at --concurrency "
                f"{best['concurrency']}: {best['fixed_seconds']:.1f} s fixed + {DEMO_PHOTOS:,} photos at "
                f"{best['steady_photos_per_second']} photos/s (measured over {best['photos_scored']} photos)",
                "met": met,
            }
        ],
    }


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=300, help="photos per level, about (default 300)")
    parser.add_argument("--seed", type=int, default=7, help="generate_dataset seed (default 7; the demo's is 20261122)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 2, 4], help="levels of --concurrency (default 1 2 4)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"labels detect --batch-size (default {DEFAULT_BATCH_SIZE}: see DEFAULT_BATCH_SIZE in the source)",
    )
    parser.add_argument(
        "--reruns",
        type=int,
        default=3,
        help="after the first level, rerun it until it scores nothing, this many times at most (default 3; 0: none)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases (the work folder is always kept)")
    parser.add_argument("--name", default="label_detection", help="results file bench/results/<name>.json")
    args = parser.parse_args(argv)
    if args.photos < 1 or args.batch_size < 1 or any(level < 1 for level in args.concurrency) or args.reruns < 0:
        parser.error("--photos, --batch-size and --concurrency must be >= 1, --reruns >= 0")
    result = run(args)
    path = write_result(args.name, result)
    data = result["dataset"]
    print(
        f"{data['photos']} photos of {data['products']} products ({data['tagged_products']} with a price tag), "
        f"{data['bytes_mean'] / 1024:.0f} KiB mean, seed {args.seed}"
    )
    for level in result["levels"]:
        print(
            f"--concurrency {level['concurrency']}: {level['photos_per_second']:>6.1f} photos/s "
            f"(command {level['command_photos_per_second']:.1f}; {level['fixed_seconds']:.1f} s fixed, then "
            f"{level['steady_photos_per_second'] or 0:.1f})  "
            f"CPU {level['cpu_seconds_per_photo']:.3f} s/photo (command {level['command_cpu_seconds_per_photo']:.3f}, "
            f"store {level['store_cpu_seconds']:.1f} s)  "
            f"{(level['bytes_downloaded_per_photo'] or 0) / 1024:.0f} KiB/photo  failed {level['failed'] or 0}  "
            f"same scores {level['same_scores_as_first_level']}"
        )
    for number, rerun in enumerate(result["reruns"], 1):
        print(
            f"rerun {number}: {rerun['products']} products rescored, {rerun['photos_fetched']} fetched, "
            f"{rerun['scores_changed']} scores changed, {rerun['seconds']:.1f} s"
        )
    projection = result["extrapolation"]
    print(
        f"{projection['photos']:,} photos at --concurrency {projection['concurrency']}: "
        f"≈ {projection['seconds']:.0f} s "
        f"(linear from the command's wall time: {projection['linear_seconds']:.0f} s)"
    )
    for target in result["targets"]:
        print(f"[{'MET ' if target['met'] else 'MISS'}] {target['target']}: {target['measured']}")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
