"""The metadata backfill, end to end: real dbt run, real PostgreSQL, moto's S3 server over real HTTP.

Tenants are crafted with tenants.py, migrated by ``dbt run --select product_images``,
then probed. Objects are uploaded with PutObject; nothing in boto3 or in our code is
patched. Concurrent and killed workers are real ``python -m product_images`` processes.

Tenants: user_1 the demo catalog (every format and failure class) plus a missing and an
unmapped URL; user_2 ordinary images (dry run, limit, bytes per image); user_3 many tiny
images (two workers at once); user_4 (a worker killed mid-batch); user_5 the JPEG with a
120 KB ICC profile; user_6 (rows locked by a claim in flight); user_8 (a worker whose lease
runs out mid-batch).

The tests run in any order (pytest-randomly). A tenant's first backfill, which several
tests look at, is a module fixture recording what it showed (``catalog_backfill``,
``ordinary_backfill``, ``studio_backfill``); a test that probes a shared tenant's pending
rows puts the tenant's rows back as they were when it ends (``restore_rows``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from botocore.client import BaseClient
from click.testing import CliRunner
from psycopg import sql

from helpers.legacy_data import make_tenant, photo
from helpers.s3 import PREFIX, moto_endpoint
from product_images.cli import main
from product_images.connection import connect
from product_images.demo.objects import demo_object_batches
from product_images.demo.pictures import demo_image_catalog, render_image
from product_images.demo.storage import MEMORY_OBJECT_BYTES, SPECIAL_CASES, plan_demo_objects, start_demo_storage
from product_images.metadata.backfill import BackfillError, BackfillSummary, backfill
from product_images.metadata.probe import ProbeResult, probe_many, probe_object
from product_images.metadata.storage import ObjectRef, UrlMapping, s3_client
from product_images.migration.tenants import discover_tenants

BUCKET = "backfill-images"
UNMAPPED_URL = "https://elsewhere.example.org/photos/1.jpg"
MISSING_KEY = "products/p-1011/gone.jpg"
CATALOG = demo_image_catalog()
BY_KEY = {item.key: item for item in CATALOG}
STUDIO = BY_KEY["products/p-1003/studio.jpg"]  # 120 KB ICC profile before the SOF
FRONT = BY_KEY["products/p-1001/front.jpg"]
COLUMNS = "url, mime_type, file_size, width, height, exif_orientation, metadata_error, metadata_etag"
# Ordinary images: (key stem, format, width, height, quality); some over 64 KiB, some under 500 px.
ORDINARY_SPECS = [
    ("big", "jpeg", 1600, 1200, 92),
    ("small", "jpeg", 400, 300, 70),
    ("cutout", "png", 500, 400, 70),
    ("wide", "webp", 800, 600, 70),
    ("tall", "jpeg", 900, 1200, 85),
    ("icon", "png", 300, 300, 70),
]
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def url_of(key: str) -> str:
    return PREFIX + quote(key, safe="/")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 on a free port; this process's env points at it (inherited by the worker subprocesses)."""
    with moto_endpoint(tmp_path_factory.mktemp("aws"), BUCKET) as url:
        yield url


@pytest.fixture(scope="module")
def client(endpoint: str) -> BaseClient:
    return s3_client(max_pool_connections=32)


@pytest.fixture(scope="module")
def mapping(endpoint: str) -> UrlMapping:
    return UrlMapping.from_env()


def put_objects(client: BaseClient, objects: dict[str, tuple[bytes, str]]) -> None:
    """PutObject each key → (bytes, Content-Type), 8 at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda item: client.put_object(Bucket=BUCKET, Key=item[0], Body=item[1][0], ContentType=item[1][1]),
                objects.items(),
            )
        )


@pytest.fixture(scope="module")
def ordinary() -> dict[str, tuple[bytes, str, int, int]]:
    """24 ordinary objects: key → (bytes, mime type, width, height); 6 distinct pictures, each under 4 keys."""
    rendered = {
        stem: (render_image("product", w, h, i, fmt, quality=q), fmt, w, h)
        for i, (stem, fmt, w, h, q) in enumerate(ORDINARY_SPECS)
    }
    return {
        f"ordinary/{n}-{stem}.{EXTENSIONS[fmt]}": (data, MIME[fmt], w, h)
        for n in range(4)
        for stem, (data, fmt, w, h) in rendered.items()
    }


TINY = render_image("product", 64, 48, 1, "jpeg")


@pytest.fixture(scope="module")
def tenants(conn: psycopg.Connection, dbt: Any, client: BaseClient, ordinary: dict[str, Any]) -> None:
    """Objects uploaded, tenants created and migrated by a real dbt run."""
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    objects = {item.key: (item.data, item.content_type) for item in CATALOG}  # Content-Types that may lie
    objects.update({key: (value[0], value[1]) for key, value in ordinary.items()})
    objects.update({f"many/{i}.jpg": (TINY, "image/jpeg") for i in range(240)})
    objects.update({f"kill/{i}.jpg": (TINY, "image/jpeg") for i in range(80)})
    objects.update({f"lock/{i}.jpg": (TINY, "image/jpeg") for i in range(18)})
    put_objects(client, objects)

    catalog_products = {pid: [photo(url_of(item.key), 0)] for pid, item in enumerate(CATALOG, start=1)}
    catalog_products[50] = [photo(url_of(MISSING_KEY), 0), photo(UNMAPPED_URL, 1), photo(url_of(FRONT.key), 2)]
    make_tenant(conn, "user_1", catalog_products)
    make_tenant(conn, "user_2", {pid: [photo(url_of(key), 0)] for pid, key in enumerate(ordinary, start=1)})
    make_tenant(
        conn,
        "user_3",
        {pid: [photo(url_of(f"many/{i}.jpg"), i % 4) for i in range(pid * 4, pid * 4 + 4)] for pid in range(60)},
    )
    make_tenant(
        conn,
        "user_4",
        {pid: [photo(url_of(f"kill/{i}.jpg"), i % 4) for i in range(pid * 4, pid * 4 + 4)] for pid in range(20)},
    )
    make_tenant(conn, "user_5", {1: [photo(url_of(STUDIO.key), 0)]})
    make_tenant(conn, "user_6", {pid: [photo(url_of(f"lock/{pid}.jpg"), 0)] for pid in range(12)})
    make_tenant(conn, "user_8", {pid: [photo(url_of(f"lock/{pid}.jpg"), 0)] for pid in range(12, 18)})
    make_tenant(conn, "template_tenant", {})
    assert dbt("seed").success
    result = dbt("run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()] or result.exception


def run(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, *tenant: str, **options: Any
) -> BackfillSummary:
    return backfill(conn, client, mapping, tenants=list(tenant), progress=False, **options)


def rows(conn: psycopg.Connection, tenant: str, columns: str = COLUMNS) -> list[tuple[Any, ...]]:
    return conn.execute(f"select {columns} from {tenant}.product_images order by product_id, position, id").fetchall()


def cli(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(main, ["metadata", "backfill", "--no-progress", *args], env=env)


def worker(*args: str) -> subprocess.Popen[str]:
    """``python -m product_images metadata backfill`` in a new process, with this process's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "product_images", "metadata", "backfill", "--no-progress", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


@dataclass
class FirstBackfill:
    """A tenant's first backfill, as it was right after it ran (before any test reran, retried or reset rows)."""

    pending: list[str]
    """URLs of the rows not yet probed before it, in row order."""
    summary: BackfillSummary
    rows: list[tuple[Any, ...]]
    """``rows(conn, tenant)`` right after it."""
    unsettled: int
    """Rows left unprobed or still claimed right after it."""


def first_backfill(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenant: str, **options: Any
) -> FirstBackfill:
    pending = [url for url, probed_at in rows(conn, tenant, "url, metadata_probed_at") if probed_at is None]
    summary = run(conn, client, mapping, tenant, **options)
    unsettled = conn.execute(
        sql.SQL(
            "select count(*) from {} where metadata_probed_at is null "
            "or metadata_claimed_by is not null or metadata_claimed_until is not null"
        ).format(sql.Identifier(tenant, "product_images"))
    ).fetchone()[0]
    return FirstBackfill(pending, summary, rows(conn, tenant), unsettled)


@pytest.fixture(scope="module")
def catalog_backfill(conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenants: None) -> FirstBackfill:
    """user_1's first backfill, 8 probes at a time."""
    return first_backfill(conn, client, mapping, "user_1", concurrency=8)


@pytest.fixture(scope="module")
def ordinary_backfill(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenants: None
) -> FirstBackfill:
    """user_2's first backfill, in batches of 5."""
    return first_backfill(conn, client, mapping, "user_2", batch_size=5)


@pytest.fixture(scope="module")
def studio_backfill(conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenants: None) -> FirstBackfill:
    """user_5's first backfill (one JPEG with a 120 KB ICC profile)."""
    return first_backfill(conn, client, mapping, "user_5")


@pytest.fixture
def restore_rows(conn: psycopg.Connection) -> Iterator[Callable[[str], None]]:
    """``restore_rows("user_3")``: <tenant>.product_images goes back, when the test ends, to the rows it has now."""
    kept: list[str] = []

    def keep(tenant: str) -> None:
        conn.execute(
            sql.SQL("create temporary table {} as select * from {}").format(
                sql.Identifier(f"kept_{tenant}"), sql.Identifier(tenant, "product_images")
            )
        )
        kept.append(tenant)

    yield keep
    for tenant in kept:
        table, copy = sql.Identifier(tenant, "product_images"), sql.Identifier(f"kept_{tenant}")
        conn.execute(sql.SQL("delete from {}").format(table))
        conn.execute(sql.SQL("insert into {} select * from {}").format(table, copy))
        conn.execute(sql.SQL("drop table {}").format(copy))


# --------------------------------------------------------------------------- tests


def test_discover_tenants_mirrors_the_dbt_rules(conn: psycopg.Connection, tenants: None) -> None:
    conn.execute("create schema user_x; create schema user_77")  # no product_images
    try:
        assert discover_tenants(conn) == [
            "template_tenant",
            "user_1",
            "user_2",
            "user_3",
            "user_4",
            "user_5",
            "user_6",
            "user_8",
        ]
        assert discover_tenants(conn, regex="^user_[12]$", extra=()) == ["user_1", "user_2"]
        assert discover_tenants(
            conn, environ={"PRODUCT_IMAGES_TENANT_REGEX": "^user_5$", "PRODUCT_IMAGES_EXTRA_TENANTS": ""}
        ) == ["user_5"]
    finally:
        conn.execute("drop schema user_x; drop schema user_77")


def test_every_format_and_failure_is_recorded(catalog_backfill: FirstBackfill) -> None:
    # (mime_type, width, height, exif_orientation, metadata_error); file_size and ETag follow from the bytes.
    truth = {
        "products/p-1001/front.jpg": ("image/jpeg", 1600, 1200, None, None),
        "products/p-1001/side.jpg": ("image/jpeg", 800, 600, None, None),
        "products/p-1002/print.jpg": ("image/jpeg", 640, 480, None, None),
        "products/p-1002/phone.jpg": ("image/jpeg", 1024, 768, 6, None),
        "products/p-1003/studio.jpg": ("image/jpeg", 900, 700, 3, None),
        "products/p-1003/camera.jpg": ("image/jpeg", 700, 900, 8, None),
        "products/p-1004/cutout.png": ("image/png", 480, 360, None, None),
        "products/p-1004/detail.webp": ("image/webp", 1000, 1000, None, None),
        "products/p-1005/spin.gif": ("image/gif", 320, 240, None, None),
        "products/p-1005/modern.avif": ("image/avif", 400, 300, None, None),
        "products/p-1006/scan.bmp": ("image/bmp", 300, 200, None, None),
        "products/p-1006/archive.tif": ("image/tiff", 640, 427, None, None),
        "products/p-1007/price tag.jpg": ("image/jpeg", 450, 300, None, None),
        "products/p-1007/étiquette.png": ("image/png", 300, 200, None, None),
        "products/p-1008/really-a-png.jpg": ("image/png", 256, 256, None, None),  # stored as image/jpeg
        "products/p-1009/empty.jpg": (None, None, None, None, "empty"),
        "products/p-1009/error-page.jpg": (None, None, None, None, "not_image"),
        "products/p-1009/truncated.jpg": ("image/jpeg", None, None, None, "corrupt"),
    }
    assert list(truth) == [item.key for item in CATALOG]
    expected = [
        (url_of(key), mime, len(BY_KEY[key].data), width, height, orientation, error, md5(BY_KEY[key].data))
        for key, (mime, width, height, orientation, error) in truth.items()
    ]
    expected += [
        (url_of(MISSING_KEY), None, None, None, None, None, "missing", None),
        (UNMAPPED_URL, None, None, None, None, None, "unmapped", None),
        (url_of(FRONT.key), "image/jpeg", 97_885, 1600, 1200, None, None, md5(FRONT.data)),
    ]
    actual = catalog_backfill.rows
    assert actual == expected
    empty = actual[15]
    assert (empty[0], empty[2], empty[7]) == (
        url_of("products/p-1009/empty.jpg"),
        0,
        "d41d8cd98f00b204e9800998ecf8427e",
    )

    assert catalog_backfill.unsettled == 0
    summary = catalog_backfill.summary
    assert (summary.tenants, summary.rows_probed, summary.ok, summary.by_tenant) == (["user_1"], 21, 16, {"user_1": 21})
    assert summary.failed == {"corrupt": 1, "empty": 1, "missing": 1, "not_image": 1, "unmapped": 1}
    # 18 catalog objects + the missing one; FRONT's second row shares the batch's probe; the unmapped URL costs nothing.
    assert (summary.objects_probed, summary.claims_lost) == (19, 0)
    assert summary.object_bytes == sum(len(item.data) for item in CATALOG)


def test_ordinary_images_cost_one_range_of_at_most_64k(
    ordinary_backfill: FirstBackfill, ordinary: dict[str, tuple[bytes, str, int, int]]
) -> None:
    pending, summary = ordinary_backfill.pending, ordinary_backfill.summary
    sizes = [len(ordinary[url[len(PREFIX) :]][0]) for url in pending]
    assert (summary.rows_probed, summary.ok, summary.failed, summary.requests) == (
        len(pending),
        len(pending),
        {},
        len(pending),
    )
    assert summary.bytes_downloaded == sum(min(size, 65_536) for size in sizes)
    assert summary.bytes_downloaded <= 65_536 * summary.objects_probed
    assert summary.object_bytes == sum(sizes)
    assert max(sizes) > 65_536 and summary.bytes_downloaded < summary.object_bytes
    assert ordinary_backfill.rows == [
        (url_of(key), mime, len(data), width, height, None, None, md5(data))
        for key, (data, mime, width, height) in ordinary.items()
    ]


def test_large_icc_jpeg_is_measured_from_its_segment_headers(studio_backfill: FirstBackfill) -> None:
    summary = studio_backfill.summary
    assert studio_backfill.rows == [(url_of(STUDIO.key), "image/jpeg", 154_307, 900, 700, 3, None, md5(STUDIO.data))]
    # bytes 0-65535, then 16 KiB at the 2nd APP2 header, then 16 KiB at the SOF: 98,304 of 154,307 bytes.
    assert (summary.rows_probed, summary.requests, summary.bytes_downloaded, summary.object_bytes) == (
        1,
        3,
        98_304,
        154_307,
    )


def test_rerun_skips_done_rows(
    conn: psycopg.Connection,
    client: BaseClient,
    mapping: UrlMapping,
    catalog_backfill: FirstBackfill,
    studio_backfill: FirstBackfill,
) -> None:
    before = rows(conn, "user_1", "*")
    summary = run(conn, client, mapping, "user_1", "user_5")
    assert (summary.rows_probed, summary.requests, summary.bytes_downloaded, summary.failed) == (0, 0, 0, {})
    assert rows(conn, "user_1", "*") == before


@pytest.fixture
def missing_photo_turns_up(client: BaseClient, catalog_backfill: FirstBackfill) -> Iterator[None]:
    """After user_1's first backfill, the photo it found missing is uploaded; it goes again when the test ends."""
    client.put_object(Bucket=BUCKET, Key=MISSING_KEY, Body=FRONT.data)
    yield
    client.delete_object(Bucket=BUCKET, Key=MISSING_KEY)


def test_retry_failed_retries_only_failures(
    conn: psycopg.Connection, missing_photo_turns_up: None, restore_rows: Callable[[str], None]
) -> None:
    restore_rows("user_1")
    before = {row[0]: row[1:] for row in rows(conn, "user_1", "url, metadata_probed_at, metadata_error")}
    result = cli("--tenant", "user_1", "--retry-failed", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_probed"], summary["ok"], summary["requests"]) == (5, 1, 5)  # 4 objects, the empty one costs 2
    assert summary["failed"] == {"corrupt": 1, "empty": 1, "not_image": 1, "unmapped": 1}
    after = {row[0]: row[1:] for row in rows(conn, "user_1", "url, metadata_probed_at, metadata_error")}
    retried = {url for url, (probed_at, error) in before.items() if error is not None}
    assert len(retried) == 5
    for url, (probed_at, error) in after.items():
        if url in retried:
            assert probed_at > before[url][0], url
        else:
            assert (probed_at, error) == before[url], url  # ok rows untouched
    assert after[url_of(MISSING_KEY)][1] is None
    assert conn.execute(
        "select mime_type, file_size, width, height from user_1.product_images where url = %s", (url_of(MISSING_KEY),)
    ).fetchone() == ("image/jpeg", 97_885, 1600, 1200)
    # Retried failures are not retried twice in one run, and a second retry run redoes the 4 still failing.
    again = cli("--tenant", "user_1", "--retry-failed")
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert lines[0].startswith("metadata backfill: 4 rows probed over 1 tenant in ")
    assert lines[1:] == [
        "  ok 0; failed 4 (corrupt 1, empty 1, not_image 1, unmapped 1)",
        "  downloaded 0.0 MB of 0.0 MB stored (100.0%), 4 requests for 3 objects",
    ]


def test_dry_run_changes_nothing(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenants: None
) -> None:
    last_id, last_url = conn.execute("select id, url from user_3.product_images order by id desc limit 1").fetchone()
    conn.execute("update user_3.product_images set url = %s where id = %s", (UNMAPPED_URL, last_id))
    try:
        before = {tenant: rows(conn, tenant, "*") for tenant in ("user_3", "user_4")}
        summary = backfill(conn, client, mapping, tenants=["user_3", "user_4"], dry_run=True)
        assert (summary.dry_run, summary.would_probe, summary.would_be_unmapped, summary.rows_probed) == (
            True,
            320,
            1,
            0,
        )
        assert {tenant: rows(conn, tenant, "*") for tenant in ("user_3", "user_4")} == before
        limited = backfill(conn, None, mapping, tenants=["user_4", "user_3"], dry_run=True, limit=100)
        assert (limited.would_probe, limited.would_be_unmapped) == (100, 0)
        result = cli("--tenant", "user_3", "--dry-run")
        assert (result.exit_code, result.stdout) == (
            0,
            "metadata backfill (dry run): 240 rows would be probed over 1 tenant (1 unmapped: no request); nothing "
            "changed\n",
        )
    finally:
        conn.execute("update user_3.product_images set url = %s where id = %s", (last_url, last_id))


def test_limit_probes_at_most_n_rows_first_ids_first(
    conn: psycopg.Connection,
    client: BaseClient,
    mapping: UrlMapping,
    ordinary_backfill: FirstBackfill,
    studio_backfill: FirstBackfill,
) -> None:
    conn.execute(
        "update user_2.product_images set metadata_probed_at = null where id in "
        "(select id from user_2.product_images order by id limit 8)"
    )
    summary = run(conn, client, mapping, "user_2", "user_5", limit=5, batch_size=2)
    assert (summary.rows_probed, summary.by_tenant) == (5, {"user_2": 5})
    probed = [
        row[0] is not None for row in conn.execute("select metadata_probed_at from user_2.product_images order by id")
    ]
    assert probed == [True] * 5 + [False] * 3 + [True] * 16
    assert run(conn, client, mapping, "user_2", limit=0).rows_probed == 0
    assert run(conn, client, mapping, "user_2").rows_probed == 3


def test_two_workers_at_once_probe_every_row_exactly_once(
    conn: psycopg.Connection, tenants: None, restore_rows: Callable[[str], None]
) -> None:
    restore_rows("user_3")
    workers = [worker("--tenant", "user_3", "--batch-size", "8", "--concurrency", "4") for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in workers]
    assert [process.returncode for process in workers] == [0, 0], [err for _, err in outputs]
    summaries = [json.loads(out) for out, _ in outputs]
    assert all(summary["rows_probed"] > 0 for summary in summaries), summaries  # both did part of the work
    assert sum(summary["rows_probed"] for summary in summaries) == 240
    assert sum(summary["requests"] for summary in summaries) == 240  # each object fetched once, in all
    assert sum(summary["claims_lost"] for summary in summaries) == 0
    assert summaries[0]["worker_id"] != summaries[1]["worker_id"]
    assert conn.execute(
        "select count(*), count(*) filter (where metadata_error is null and width = 64 and height = 48 and file_size "
        "= %s"
        " and metadata_claimed_by is null and metadata_claimed_until is null) from user_3.product_images",
        (len(TINY),),
    ).fetchone() == (240, 240)


def test_killed_worker_claims_expire_after_the_lease(
    conn: psycopg.Connection,
    client: BaseClient,
    mapping: UrlMapping,
    tenants: None,
    restore_rows: Callable[[str], None],
) -> None:
    restore_rows("user_4")
    process = worker("--tenant", "user_4", "--batch-size", "20", "--concurrency", "1", "--lease-seconds", "3")
    deadline = time.monotonic() + 60
    while not conn.execute(
        "select count(*) from user_4.product_images where metadata_claimed_by is not null"
    ).fetchone()[0]:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.kill()  # SIGKILL: no cleanup
    process.wait()
    claimed = conn.execute(
        "select id, metadata_claimed_by from user_4.product_images where metadata_claimed_by is not null order by id"
    ).fetchall()
    assert 0 < len(claimed) <= 20 and len({by for _, by in claimed}) == 1
    pending = conn.execute("select count(*) from user_4.product_images where metadata_probed_at is null").fetchone()[0]

    # Another worker right away: the dead worker's rows are still leased, so it leaves them alone.
    first = run(conn, client, mapping, "user_4")
    assert first.rows_probed == pending - len(claimed)
    assert (
        conn.execute(
            "select id, metadata_claimed_by from user_4.product_images where metadata_probed_at is null order by id"
        ).fetchall()
        == claimed
    )

    while conn.execute("select count(*) from user_4.product_images where metadata_claimed_until >= now()").fetchone()[
        0
    ]:
        time.sleep(0.1)
    second = run(conn, client, mapping, "user_4")
    assert (second.rows_probed, second.ok) == (len(claimed), len(claimed))
    assert conn.execute(
        "select count(*), count(*) filter (where width = 64 and metadata_claimed_by is null) from user_4.product_images"
    ).fetchone() == (80, 80)


def test_rows_locked_by_a_claim_in_flight_are_skipped_not_waited_for(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenants: None
) -> None:
    with connect() as other:  # another worker's claim statement, caught while it holds its row locks
        locked = [
            row[0] for row in other.execute("select id from user_6.product_images order by id limit 3 for update")
        ]
        with connect(autocommit=True, options="-c lock_timeout=5s") as mine:
            summary = backfill(mine, client, mapping, tenants=["user_6"], batch_size=4, progress=False)
        assert summary.rows_probed == 9
        other.rollback()
    assert [
        row[0]
        for row in conn.execute("select id from user_6.product_images where metadata_probed_at is null order by id")
    ] == locked
    assert run(conn, client, mapping, "user_6").rows_probed == 3


def test_a_worker_whose_lease_ran_out_loses_its_rows_to_the_next(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, tenants: None
) -> None:
    stalled, release = threading.Event(), threading.Event()

    def slow_probe(s3: BaseClient, ref: ObjectRef) -> ProbeResult:
        stalled.set()
        release.wait(30)
        return probe_object(s3, ref)

    outcome: dict[str, BackfillSummary] = {}
    with connect(autocommit=True) as slow_conn:
        thread = threading.Thread(
            target=lambda: outcome.update(
                slow=backfill(
                    slow_conn,
                    client,
                    mapping,
                    tenants=["user_8"],
                    lease_seconds=1,
                    probe=slow_probe,
                    progress=False,
                    worker_id="slow-worker",
                )
            )
        )
        thread.start()
        try:
            assert stalled.wait(30)
            assert conn.execute(
                "select count(*) from user_8.product_images where metadata_claimed_by = 'slow-worker'"
            ).fetchone() == (6,)
            while conn.execute(
                "select count(*) from user_8.product_images where metadata_claimed_until >= now()"
            ).fetchone()[0]:
                time.sleep(0.05)
            fast = run(conn, client, mapping, "user_8")  # takes the expired claims over
        finally:
            release.set()
            thread.join(30)
    assert (fast.rows_probed, fast.ok) == (6, 6)
    assert (outcome["slow"].rows_probed, outcome["slow"].claims_lost, outcome["slow"].ok) == (0, 6, 0)
    assert conn.execute(
        "select count(*) from user_8.product_images where metadata_probed_at is not null"
        " and metadata_claimed_by is null and width = 64"
    ).fetchone() == (6,)


def test_a_crashing_probe_is_recorded_and_missing_credentials_abort_releasing_the_claims(
    conn: psycopg.Connection,
    client: BaseClient,
    mapping: UrlMapping,
    tenants: None,
    monkeypatch: pytest.MonkeyPatch,
    restore_rows: Callable[[str], None],
) -> None:
    restore_rows("user_6")  # the claim-in-flight test needs user_6's rows unprobed
    run(conn, client, mapping, "user_6")
    reset = (
        "update user_6.product_images set metadata_probed_at = null "
        "where id in (select id from user_6.product_images order by id limit 3)"
    )
    conn.execute(reset)
    first_key = "lock/0.jpg"

    def buggy(s3: BaseClient, ref: ObjectRef) -> ProbeResult:
        if ref.key == first_key:
            raise RuntimeError("a bug in the prober")
        return probe_object(s3, ref)

    summary = run(conn, client, mapping, "user_6", probe=buggy)
    assert (summary.rows_probed, summary.ok, summary.failed) == (3, 2, {"internal_error": 1})
    assert conn.execute(
        "select mime_type, width, metadata_error from user_6.product_images where url = %s", (url_of(first_key),)
    ).fetchone() == (None, None, "internal_error")

    conn.execute(reset)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(
        BackfillError,
        match=r"^storage error while probing user_6.product_images \(check the endpoint and the "
        r"AWS credentials\): NoCredentialsError: Unable to locate credentials$",
    ):
        run(conn, s3_client(max_pool_connections=32), mapping, "user_6")
    assert conn.execute(
        "select count(*) from user_6.product_images where metadata_probed_at is null "
        "and metadata_claimed_by is null and metadata_claimed_until is null"
    ).fetchone() == (3,)
    monkeypatch.undo()
    assert run(conn, client, mapping, "user_6").ok == 3


def test_cli_bad_configuration_exits_2_naming_the_variable(tenants: None) -> None:
    cases = [
        ({"IMAGE_BUCKET": None}, "IMAGE_BUCKET is not set"),
        ({"IMAGE_URL_PREFIX": None, "IMAGE_BUCKET": None}, "no image URL mapping configured: set IMAGE_URL_PREFIX"),
        (
            {"IMAGE_URL_MAP_FILE": "/nonexistent/map.json", "IMAGE_URL_PREFIX": None, "IMAGE_BUCKET": None},
            "IMAGE_URL_MAP_FILE (/nonexistent/map.json): cannot read the file",
        ),
        ({"AWS_ENDPOINT_URL_S3": "r2.example.com"}, "AWS_ENDPOINT_URL_S3 must be an http:// or https:// URL"),
        (
            {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
        ({"AWS_SECRET_ACCESS_KEY": None}, "AWS_SECRET_ACCESS_KEY"),
    ]
    for env, message in cases:
        result = cli("--tenant", "user_1", env=env)
        assert result.exit_code == 2, (env, result.output)
        assert result.stdout == ""
        assert result.stderr.startswith("Error: ") and message in result.stderr, (env, result.stderr)

    unknown = cli("--tenant", "user_1", "--tenant", "user_99")
    assert unknown.exit_code == 2
    assert unknown.stderr == (
        "Error: not a tenant with a product_images table: user_99 "
        "(tenants: template_tenant, user_1, user_2, user_3, user_4, user_5, user_6, user_8)\n"
    )
    assert cli("--concurrency", "0").exit_code == 2  # click's own range check


def test_cli_exits_1_when_it_cannot_run(conn: psycopg.Connection, tenants: None) -> None:
    down = cli("--tenant", "user_1", env={"PGPORT": "1", "PGHOST": "127.0.0.1"})
    assert down.exit_code == 1
    assert down.stderr.startswith("Error: cannot connect to PostgreSQL at ")

    conn.execute("create schema user_7; create table user_7.product_images (id bigint primary key, url text)")
    conn.execute("insert into user_7.product_images values (1, %s)", (url_of(FRONT.key),))
    try:
        broken = cli("--tenant", "user_7")
    finally:
        conn.execute("drop schema user_7 cascade")
    assert broken.exit_code == 1
    assert broken.stderr.startswith("Error: database error while claiming rows in user_7.product_images: column ")
    assert "does not exist" in broken.stderr


def test_demo_object_batches_are_the_plan_in_parts() -> None:
    # the awkward cases are chosen among every key, not per batch, so batching changes no object
    urls = [f"{PREFIX}user_9/{i}/{i:010x}.jpg" for i in range(24)] + [f"{PREFIX}user_9/{i}/p{i}.png" for i in range(3)]
    labels = {urls[0], urls[1]}
    batches = list(demo_object_batches(urls + [UNMAPPED_URL], labels, 10))
    assert [len(batch) for batch in batches] == [10, 10, 7]
    assert [item for batch in batches for item in batch] == plan_demo_objects(urls, labels)


def test_demo_storage_serves_every_planned_object(endpoint: str) -> None:
    urls = [f"{PREFIX}user_9/{i}/{i:010x}.jpg" for i in range(24)] + [f"{PREFIX}user_9/{i}/p{i}.png" for i in range(3)]
    urls += [f"{PREFIX}user_9/{i}/w{i}.webp" for i in range(2)] + [UNMAPPED_URL, urls[0]]
    labels = {f"{PREFIX}user_9/{i}/{i:010x}.jpg" for i in range(2)}
    plan = plan_demo_objects(urls, labels)
    assert plan == plan_demo_objects(reversed(urls), labels)  # deterministic, order-free
    assert len(plan) == 29 and UNMAPPED_URL[len(PREFIX) :] not in {item.key for item in plan}
    cases = {}
    for item in plan:
        case = item.description.split(":")[0]
        cases[case] = cases.get(case, 0) + 1
    assert cases == {
        "price-tag label photo": 2,
        "product photo": 11,
        **{case: count for case, _, count in SPECIAL_CASES},
    }
    open_files = len(os.listdir("/proc/self/fd"))
    with start_demo_storage(plan, bucket="demo-storage-test", set_env=False) as storage:
        assert (storage.objects, len(storage.missing_keys)) == (26, 3)
        # photos over 64 KiB live in temporary files (one open file each), not in memory
        large = [item for item in plan if item.error != "missing" and len(item.data) > MEMORY_OBJECT_BYTES]
        assert len(large) >= 10
        assert storage.file_bytes == sum(len(item.data) for item in large)
        assert len(os.listdir("/proc/self/fd")) >= open_files + len(large)
        client = s3_client(endpoint_url=storage.endpoint, max_pool_connections=8)
        refs = [ObjectRef(storage.bucket, item.key) for item in plan]
        results = {result.key: result for result in probe_many(client, refs, concurrency=8)}
        for item in plan:
            result = results[item.key]
            assert (result.mime_type, result.width, result.height, result.exif_orientation) == (
                item.mime_type,
                item.width,
                item.height,
                item.orientation,
            ), item
            assert (result.error.value if result.error else None) == item.error, item
            assert result.size_bytes == (None if item.error == "missing" else len(item.data))
    some = plan[:3]
    env_before = dict(os.environ)
    with start_demo_storage(some, bucket="demo-storage-http", via_http=True) as storage:
        assert (os.environ["AWS_ENDPOINT_URL_S3"], os.environ["IMAGE_BUCKET"]) == (
            storage.endpoint,
            "demo-storage-http",
        )
        client = s3_client(max_pool_connections=8)
        for item in some:
            if item.error != "missing":
                assert client.get_object(Bucket=storage.bucket, Key=item.key)["Body"].read() == item.data
    assert dict(os.environ) == env_before  # stop() restored the variables set_env changed
    # stop() deleted the buckets it created: moto's state is process-wide, later moto users must not see them.
    buckets = {bucket["Name"] for bucket in s3_client(max_pool_connections=1).list_buckets()["Buckets"]}
    assert {"demo-storage-test", "demo-storage-http"} & buckets == set()


_LOW_FILE_LIMIT_SCRIPT = """
import json, os, resource, sys
from product_images.demo.storage import MEMORY_OBJECT_BYTES, plan_demo_objects, start_demo_storage
from product_images.metadata.storage import s3_client
urls = [f"{sys.argv[1]}low/{i}.jpg" for i in range(int(sys.argv[2]))]
plan = plan_demo_objects(urls)
stored = [item for item in plan if item.error != "missing"]
open_now = len(os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 64, open_now + 64))  # room for sockets, not one file per object
with start_demo_storage(plan, bucket="demo-storage-low-limit") as storage:
    client = s3_client(max_pool_connections=1)
    served = sum(client.get_object(Bucket=storage.bucket, Key=item.key)["Body"].read() == item.data for item in stored)
    print(json.dumps({"file_bytes": storage.file_bytes, "served": served, "stored": len(stored),
                      "large": sum(len(item.data) > MEMORY_OBJECT_BYTES for item in stored)}))
"""


def test_demo_storage_keeps_objects_in_memory_when_open_files_are_short() -> None:
    # A process whose hard open-file limit leaves no room for one file per photo: the objects stay in memory and
    # are all served; it must not fail with "Too many open files" halfway through the upload.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "IMAGE_"))}
    finished = subprocess.run(
        [sys.executable, "-c", _LOW_FILE_LIMIT_SCRIPT, PREFIX, "200"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    outcome = json.loads(finished.stdout.strip().splitlines()[-1])
    assert outcome["large"] > 64 and outcome["file_bytes"] == 0
    assert outcome["served"] == outcome["stored"] > 190


# --------------------------------------------------------------------------- the app writing during a batch


@pytest.fixture
def user_6_to_do(conn: psycopg.Connection, tenants: None, restore_rows: Callable[[str], None]) -> list[tuple[int, str]]:
    """user_6's 12 rows all to do and unclaimed for the test, as they were again when it ends; their (id, url)."""
    restore_rows("user_6")
    conn.execute(
        "update user_6.product_images set metadata_probed_at = null, metadata_claimed_by = null, "
        "metadata_claimed_until = null"
    )
    return conn.execute("select id, url from user_6.product_images order by id").fetchall()


def test_a_row_whose_url_changes_while_probed_is_not_written_and_stays_to_do(
    conn: psycopg.Connection,
    client: BaseClient,
    mapping: UrlMapping,
    ordinary: dict[str, tuple[bytes, str, int, int]],
    user_6_to_do: list[tuple[int, str]],
) -> None:
    row_id, old_url = user_6_to_do[0]
    new_key = "ordinary/0-big.jpg"

    def probe_then_app_replaces_the_photo(s3: BaseClient, ref: ObjectRef) -> ProbeResult:
        result = probe_object(s3, ref)
        if url_of(ref.key) == old_url:  # the app points the row at another photo while its old one is probed
            with connect(autocommit=True) as app:
                app.execute("update user_6.product_images set url = %s where id = %s", (url_of(new_key), row_id))
        return result

    summary = run(conn, client, mapping, "user_6", probe=probe_then_app_replaces_the_photo)
    # The old photo's measurements were dropped and the row's claim cleared; still to do, the row was claimed
    # again by the run's last pass from the first id, and its new photo probed and written.
    data, mime, width, height = ordinary[new_key]
    assert conn.execute(
        "select url, mime_type, file_size, width, height, metadata_etag, metadata_claimed_by "
        "from user_6.product_images where id = %s",
        (row_id,),
    ).fetchone() == (url_of(new_key), mime, len(data), width, height, md5(data), None)
    assert (summary.rows_probed, summary.ok, summary.claims_lost, summary.left_locked) == (12, 12, 1, 0)
    assert summary.lines()[3:] == [
        "  1 rows not written: taken over by another worker after their lease expired, "
        "or their URL changed while being probed (left to do)"
    ]


def test_a_row_an_app_transaction_holds_is_left_claimed_and_the_batch_written_without_waiting(
    conn: psycopg.Connection, client: BaseClient, mapping: UrlMapping, user_6_to_do: list[tuple[int, str]]
) -> None:
    ids = [row_id for row_id, _ in user_6_to_do]
    held = ids[5]
    app = connect()  # an app transaction that updates one row of the batch, then stays idle in transaction
    holding = threading.Event()

    def probe_while_the_app_holds_a_row(s3: BaseClient, ref: ObjectRef) -> ProbeResult:
        if not holding.is_set():
            app.execute("update user_6.product_images set alt_text = 'app' where id = %s", (held,))
            holding.set()
        return probe_object(s3, ref)

    outcome: dict[str, BackfillSummary] = {}
    worker_conn = connect(autocommit=True)  # as the command opens it: no lock_timeout of its own
    thread = threading.Thread(
        target=lambda: outcome.update(
            summary=backfill(
                worker_conn,
                client,
                mapping,
                tenants=["user_6"],
                batch_size=12,
                concurrency=1,
                lease_seconds=2,
                progress=False,
                worker_id="worker-beside-the-app",
                probe=probe_while_the_app_holds_a_row,
            )
        )
    )
    thread.start()
    try:
        thread.join(20)
        finished = not thread.is_alive()
        # The backfill holds no lock of the batch now: the app's update of another of its rows goes through at once.
        with connect(autocommit=True, options="-c lock_timeout=2s") as other_app:
            other_app.execute("update user_6.product_images set alt_text = 'other' where id = %s", (ids[0],))
    finally:
        app.rollback()
        app.close()
        thread.join(60)
        worker_conn.close()
    assert finished, "the backfill waited for the row the app transaction holds"
    summary = outcome["summary"]
    assert (summary.rows_probed, summary.ok, summary.left_locked, summary.claims_lost) == (11, 11, 1, 0)
    assert summary.lines()[3:] == [
        "  1 rows not written: another transaction held their row lock (left claimed until the lease ends, "
        "for a later run)"
    ]
    assert conn.execute(
        "select id, metadata_probed_at, metadata_claimed_by from user_6.product_images "
        "where metadata_probed_at is null or metadata_claimed_by is not null"
    ).fetchall() == [(held, None, "worker-beside-the-app")]
    while conn.execute("select count(*) from user_6.product_images where metadata_claimed_until >= now()").fetchone()[
        0
    ]:
        time.sleep(0.1)
    later = run(conn, client, mapping, "user_6")
    assert (later.rows_probed, later.ok, later.left_locked) == (1, 1, 0)


def test_cli_a_bucket_that_does_not_exist_stops_the_run_exit_2_writing_nothing(
    conn: psycopg.Connection, endpoint: str, user_6_to_do: list[tuple[int, str]]
) -> None:
    result = cli("--tenant", "user_6", env={"IMAGE_BUCKET": "backfill-imagez"})
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: storage configuration error while probing user_6.product_images: bucket 'backfill-imagez' does not "
        f"exist at {endpoint} (NoSuchBucket): check IMAGE_BUCKET (or the bucket of the IMAGE_URL_MAP_FILE rule) "
        "and AWS_ENDPOINT_URL_S3; the run stopped and wrote nothing of this batch\n"
    )
    assert conn.execute(
        "select count(*) from user_6.product_images where metadata_probed_at is null and metadata_error is null "
        "and metadata_claimed_by is null and metadata_claimed_until is null"
    ).fetchone() == (12,)


def test_cli_dry_run_needs_no_aws_credentials(conn: psycopg.Connection, tenants: None) -> None:
    pending = conn.execute("select count(*) from user_6.product_images where metadata_probed_at is null").fetchone()[0]
    result = cli("--tenant", "user_6", "--dry-run", env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"metadata backfill (dry run): {pending} rows would be probed over 1 tenant (0 unmapped: no request); "
        "nothing changed\n"
    )
