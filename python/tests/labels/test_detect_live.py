"""`labels detect` beside a live app, the backfill and a faulty store: real PostgreSQL, moto's S3 over real HTTP.

What happens while a batch is being scored: the app points a photo's row at another URL, the
object is replaced and the backfill probes the new one, the app holds a row lock, the bucket
or the credentials are wrong, a worker process is killed. Nothing of ours or of boto3 is
patched: the app and the backfill act from the test's own connections, at the moment the
detector downloads a chosen object, through a small HTTP stand-in in front of moto
(:class:`StoreProxy`, which forwards every request and can refuse them with an S3 error);
the killed worker is a real process of a real ``product-images labels detect``.

Tenants: user_1, four products of two photos (the scenarios), and user_2, thirty products of
two photos (enough work for two worker processes to be killed in the middle of). Each test
starts from its tenant with nothing scored (:func:`reset`).
"""

from __future__ import annotations

import http.client
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import psycopg
import pytest
from botocore.config import Config
from click.testing import CliRunner
from psycopg.rows import dict_row

from helpers.legacy_data import make_tenant, photo
from helpers.live import wait_for
from helpers.s3 import PREFIX, moto_endpoint
from product_images.cli import main
from product_images.connection import connect
from product_images.demo.pictures import render_image
from product_images.labels.detect import DetectSummary, detect_labels
from product_images.labels.detector import load_detector
from product_images.metadata.storage import UrlMapping, s3_client

BUCKET = "label-photos-live"  # moto keeps its buckets per process: test_detect.py has "label-photos"
T = "user_1"
MANY = "user_2"
MANY_PRODUCTS = range(1, 31)


def key(tenant: str, product: int, name: str) -> str:
    return f"{tenant}/{product}/{name}.jpg"


def url(tenant: str, product: int, name: str) -> str:
    return PREFIX + key(tenant, product, name)


# --------------------------------------------------------------------------- the store, behind a stand-in


class StoreProxy:
    """An HTTP server on 127.0.0.1 that forwards every request to moto and passes its answer back.

    Attributes:
        endpoint: ``http://127.0.0.1:<port>``, for ``AWS_ENDPOINT_URL_S3`` or ``s3_client(endpoint_url=...)``.
        on_get: object key → a function run ONCE, when moto has answered a GET of that key and before the
            answer reaches the client: what the app or the backfill does while that object is downloaded.
        refusal: ``(HTTP status, S3 error code)`` to answer every request with instead (None: forward).
        refused_keys: object key → ``(HTTP status, S3 error code)`` to answer the requests of that key with.
        served: the keys of the GETs answered, in order.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.on_get: dict[str, Callable[[], None]] = {}
        self.refusal: tuple[int, str] | None = None
        self.refused_keys: dict[str, tuple[int, str]] = {}
        self.served: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.answer(self, "GET")

            def do_HEAD(self) -> None:
                proxy.answer(self, "HEAD")

        return Handler

    def answer(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        object_key = unquote(request.path.split("?", 1)[0]).split("/", 2)[-1]
        refusal = self.refused_keys.get(object_key, self.refusal)
        if refusal is not None:
            status, code = refusal
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>refused by the test</Message></Error>"
            ).encode()
            self._send(request, status, [("Content-Type", "application/xml")], body, method)
            return
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
            upstream.request(method, request.path, headers=headers)
            response = upstream.getresponse()
            body = response.read()
            status, response_headers = response.status, response.getheaders()
        finally:
            upstream.close()
        if method == "GET":
            self.served.append(object_key)
            hook = self.on_get.pop(object_key, None)
            if hook is not None:
                hook()
        self._send(request, status, response_headers, body, method)

    @staticmethod
    def _send(
        request: http.server.BaseHTTPRequestHandler,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        method: str,
    ) -> None:
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(body)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_endpoint(tmp_path_factory.mktemp("aws"), BUCKET) as found:
        yield found


@pytest.fixture(scope="module")
def client(endpoint: str) -> Any:
    """A client of moto itself: the test's uploads (the app's)."""
    return s3_client(max_pool_connections=8)


@pytest.fixture(scope="module")
def proxy(endpoint: str) -> Iterator[StoreProxy]:
    stand_in = StoreProxy(endpoint)
    yield stand_in
    stand_in.close()


@pytest.fixture
def store(proxy: StoreProxy) -> Iterator[StoreProxy]:
    """The stand-in, with no hook or refusal left over when the test ends."""
    yield proxy
    proxy.on_get.clear()
    proxy.refusal = None
    proxy.refused_keys.clear()


@pytest.fixture(scope="module")
def mapping(endpoint: str) -> UrlMapping:
    return UrlMapping.from_env()


@pytest.fixture(scope="module")
def tenants(conn: psycopg.Connection, dbt: Any, client: Any) -> None:
    """user_1: products 1-4, a product photo and a price tag each, and a spare photo per product (``other``, for the
    app to switch to); user_2: products 1-30, two price tags each (the detector reads them: work to be killed in)."""
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    products: dict[int, list[dict[str, Any]]] = {}
    for pid in range(1, 5):
        for n, (name, kind) in enumerate((("front", "product"), ("tag", "label"), ("other", "label"))):
            body = render_image(kind, 640, 480, pid * 10 + n, "jpeg")
            client.put_object(Bucket=BUCKET, Key=key(T, pid, name), Body=body)
        products[pid] = [photo(url(T, pid, "front"), 0), photo(url(T, pid, "tag"), 1)]
    make_tenant(conn, T, products)
    many: dict[int, list[dict[str, Any]]] = {}
    for pid in MANY_PRODUCTS:
        for n, name in enumerate(("a", "b")):
            body = render_image("label", 640, 480, 500 + pid * 2 + n, "jpeg")  # read by OCR: seconds of work
            client.put_object(Bucket=BUCKET, Key=key(MANY, pid, name), Body=body)
        many[pid] = [photo(url(MANY, pid, "a"), 0), photo(url(MANY, pid, "b"), 1)]
    make_tenant(conn, MANY, many)
    make_tenant(conn, "template_tenant", {})
    result = dbt("run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()]


def reset(conn: psycopg.Connection, tenant: str) -> None:
    """Every photo of ``tenant`` not scored yet, unclaimed, never probed by the backfill, at its first URL."""
    conn.execute(
        f"update {tenant}.product_images set label_score = null, label_evidence = null, label_detector = null, "
        "label_profile = null, label_detected_at = null, label_error = null, label_etag = null, "
        "label_scores_pending = false, label_claimed_by = null, label_claimed_until = null, "
        "metadata_etag = null, metadata_probed_at = null"
    )
    if tenant == T:
        for pid in range(1, 5):
            for position, name in enumerate(("front", "tag")):
                conn.execute(
                    f"update {T}.product_images set url = %s where product_id = %s and position = %s",
                    (url(T, pid, name), pid, position),
                )


def detect(client: Any, mapping: UrlMapping, tenant: str = T, **options: Any) -> DetectSummary:
    with connect(autocommit=True) as own:
        return detect_labels(own, client, mapping, schema="product_images", tenants=[tenant], **options)


def etag_of(client: Any, object_key: str) -> str:
    return client.head_object(Bucket=BUCKET, Key=object_key)["ETag"].strip('"')


def row_of(conn: psycopg.Connection, product: int, position: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            f"select * from {T}.product_images where product_id = %s and position = %s", (product, position)
        ).fetchone()
    assert found is not None
    return found


# --------------------------------------------------------------------------- the app and the backfill, mid-batch


def test_a_photo_whose_url_the_app_changes_while_it_is_scored_gets_the_new_photos_score(
    conn, client, mapping, tenants, store
):
    reset(conn, T)

    def the_app_points_the_row_at_another_photo() -> None:
        with connect(autocommit=True) as app:
            app.execute(
                f"update {T}.product_images set url = %s where product_id = 1 and position = 0",
                (url(T, 1, "other"),),
            )

    store.on_get[key(T, 1, "front")] = the_app_points_the_row_at_another_photo
    summary = detect(s3_client(endpoint_url=store.endpoint), mapping)
    # The old photo's score was not written on the row of the new one: the run's last pass took the
    # product again and scored the photo the row now shows.
    row = row_of(conn, 1, 0)
    assert row["url"] == url(T, 1, "other")
    assert row["label_etag"] == etag_of(client, key(T, 1, "other"))
    assert row["label_score"] is not None and row["label_error"] is None and row["label_claimed_by"] is None
    assert store.served.count(key(T, 1, "other")) == 1
    assert summary.claims_lost == 1
    assert detect(None, mapping, dry_run=True).would_detect == 0


def test_an_object_replaced_and_probed_while_it_is_scored_is_scored_again(conn, client, mapping, tenants, store):
    reset(conn, T)
    replaced: dict[str, str] = {}

    def the_app_uploads_a_new_photo_and_the_backfill_probes_it() -> None:
        put = client.put_object(
            Bucket=BUCKET, Key=key(T, 2, "front"), Body=render_image("label", 800, 600, 4242, "jpeg")
        )
        replaced["etag"] = put["ETag"].strip('"')
        with connect(autocommit=True) as backfill:
            backfill.execute(
                f"update {T}.product_images set metadata_etag = %s, metadata_probed_at = now() "
                "where product_id = 2 and position = 0",
                (replaced["etag"],),
            )

    old_etag = etag_of(client, key(T, 2, "front"))
    store.on_get[key(T, 2, "front")] = the_app_uploads_a_new_photo_and_the_backfill_probes_it
    try:
        detect(s3_client(endpoint_url=store.endpoint), mapping)
        # The evidence and the score are the new object's, the one the backfill saw; none of the old is left.
        row = row_of(conn, 2, 0)
        assert replaced["etag"] != old_etag
        assert (row["label_etag"], row["metadata_etag"]) == (replaced["etag"], replaced["etag"])
        assert (row["label_evidence"]["width"], row["label_evidence"]["height"]) == (800, 600)
        assert row["label_score"] is not None and row["label_claimed_by"] is None
        assert detect(None, mapping, dry_run=True).would_detect == 0
    finally:
        client.put_object(Bucket=BUCKET, Key=key(T, 2, "front"), Body=render_image("product", 640, 480, 20, "jpeg"))


def test_a_row_the_app_holds_is_left_for_later_and_the_rest_written_without_waiting(
    conn, client, mapping, tenants, store
):
    reset(conn, T)
    ids = [
        row[0] for row in conn.execute(f"select id from {T}.product_images where product_id = 1 order by id").fetchall()
    ]
    held, other = ids[-1], ids[0]  # the product's claim is taken through its first row: not the one held
    app = connect()  # an app transaction that updates one row, then stays idle in transaction
    app.execute(f"update {T}.product_images set alt_text = 'app' where id = %s", (held,))
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(summary=detect(client, mapping, lease_seconds=120, worker_id="beside-the-app"))
    )
    thread.start()
    try:
        thread.join(30)
        finished = not thread.is_alive()
        try:  # the app's update of another row of the batch goes through at once: the detector holds no lock
            with connect(autocommit=True, options="-c lock_timeout=2s") as other_app:
                other_app.execute(f"update {T}.product_images set alt_text = 'other' where id = %s", (other,))
            other_app_waited = False
        except psycopg.errors.LockNotAvailable:
            other_app_waited = True
    finally:
        app.rollback()
        app.close()
        thread.join(60)
    assert finished, "labels detect waited for the row the app transaction holds"
    assert not other_app_waited, "the app's update of another row waited behind labels detect"
    summary = outcome["summary"]
    assert (summary.products, summary.photos_scored, summary.left_locked) == (4, 7, 1)
    assert (
        "  1 photos not written: another transaction held their row lock (left claimed until the lease ends, "
        "for a later run)" in summary.lines()
    )
    # the photo held is not scored, and its product stays claimed (through its first row) until the lease ends
    assert conn.execute(
        f"select id, label_detected_at is not null, label_claimed_by from {T}.product_images "
        "where label_detected_at is null or label_claimed_by is not null order by id"
    ).fetchall() == [(other, True, "beside-the-app"), (held, False, None)]
    # the lease ends: the next run scores that photo, and only it
    conn.execute(f"update {T}.product_images set label_claimed_until = now() where label_claimed_by is not null")
    later = detect(client, mapping)
    assert (later.products, later.photos_fetched, later.left_locked) == (1, 1, 0)
    assert conn.execute(
        f"select count(*) from {T}.product_images where label_detected_at is null or label_claimed_by is not null"
    ).fetchone() == (0,)


# --------------------------------------------------------------------------- a store that refuses


def test_a_photo_whose_download_fails_for_a_while_keeps_its_earlier_score(conn, client, mapping, tenants, store):
    reset(conn, T)
    detect(client, mapping)
    # a model update: product 3's photos are to be downloaded again; one download fails (a 500, no retry)
    conn.execute(f"update {T}.product_images set label_detector = 'labels-older' where product_id = 3")
    before = row_of(conn, 3, 0)
    assert before["label_score"] is not None and before["label_error"] is None
    store.refused_keys[key(T, 3, "front")] = (500, "InternalError")
    once = boto3.session.Session().client(
        "s3",
        endpoint_url=store.endpoint,
        region_name="auto",
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 1}),
    )
    summary = detect(once, mapping, lease_seconds=120)
    # The photo keeps the score, evidence and detector it had (the next dbt run still decides on them), and is
    # tried again by a run after the lease; the product's other photo has its new score.
    after = row_of(conn, 3, 0)
    columns = ("label_score", "label_error", "label_evidence", "label_detector", "label_etag", "label_detected_at")
    assert {name: after[name] for name in (*columns, "label_scores_pending")} == {
        name: before[name] for name in (*columns, "label_scores_pending")
    }
    assert row_of(conn, 3, 1)["label_detector"] == load_detector().version
    assert (summary.photos_scored, summary.kept_on_network_error, summary.failed) == (1, 1, {})
    assert (
        "  1 photos keep their earlier score: their download failed (network); a run after the lease tries again"
        in summary.lines()
    )
    store.refused_keys.clear()
    conn.execute(f"update {T}.product_images set label_claimed_until = now() where label_claimed_by is not null")
    later = detect(client, mapping)
    assert (later.products, later.photos_fetched, later.kept_on_network_error) == (1, 1, 0)
    assert row_of(conn, 3, 0)["label_detector"] == load_detector().version


# --------------------------------------------------------------------------- a store that refuses every object


@pytest.mark.parametrize(
    "fault, concurrency", [("no such bucket", 1), ("rejected credentials", 1), ("no such bucket", 2)]
)
def test_a_wrong_bucket_or_rejected_credentials_stop_the_run_exit_2_keeping_every_score(
    conn, client, mapping, tenants, store, endpoint, fault, concurrency
):
    reset(conn, T)
    detect(client, mapping)
    # a model update: every photo is to be downloaded and looked at again
    conn.execute(f"update {T}.product_images set label_detector = 'labels-older', label_scores_pending = false")
    columns = "id, label_score, label_error, label_evidence, label_etag, label_detected_at, label_scores_pending"
    before = conn.execute(f"select {columns} from {T}.product_images order by id").fetchall()
    if fault == "no such bucket":
        env = {"IMAGE_BUCKET": "label-photoz"}
        cause = (
            f"bucket 'label-photoz' does not exist at {endpoint} (NoSuchBucket): check IMAGE_BUCKET (or the bucket of "
            "the IMAGE_URL_MAP_FILE rule) and AWS_ENDPOINT_URL_S3"
        )
    else:
        store.refusal = (403, "InvalidAccessKeyId")
        env = {"AWS_ENDPOINT_URL_S3": store.endpoint}
        cause = (
            f"the store rejected the credentials for bucket '{BUCKET}' at {store.endpoint} (InvalidAccessKeyId): "
            "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    result = CliRunner().invoke(
        main, ["labels", "detect", "--tenant", T, "--concurrency", str(concurrency), "--no-progress"], env=env
    )
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert result.stderr == (
        f"Error: storage configuration error while scoring {T}.product_images: {cause}; "
        "the run stopped and wrote nothing of this batch\n"
    )
    assert conn.execute(f"select {columns} from {T}.product_images order by id").fetchall() == before
    assert conn.execute(f"select count(*) from {T}.product_images where label_claimed_by is not null").fetchone() == (
        0,
    )


# --------------------------------------------------------------------------- a worker process killed


def _children(parent: int) -> list[int]:
    """The pids of ``parent``'s children (from /proc), oldest first."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:
            found.append((int(fields[19]), int(entry.name)))
    return [pid for _, pid in sorted(found)]


def _pool_workers(parent: int) -> list[int]:
    """``parent``'s worker processes that score: spawned children that loaded the detector (numpy), oldest first;
    not multiprocessing's resource tracker or a manager process."""
    workers = []
    for pid in _children(parent):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        if b"spawn_main" in command and "numpy" in maps:
            workers.append(pid)
    return workers


def test_a_killed_worker_process_stops_the_run_exit_1_releasing_its_claims(conn, client, mapping, tenants):
    reset(conn, MANY)
    command = [sys.executable, "-m", "product_images", "labels", "detect", "--tenant", MANY, "--concurrency", "2"]
    process = subprocess.Popen(
        [*command, "--batch-size", "1", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        start_new_session=True,  # its workers in a process group of their own, for the cleanup below
    )
    try:
        wait_for(
            lambda: (
                conn.execute(
                    f"select count(*) from {MANY}.product_images where label_claimed_by is not null"
                ).fetchone()[0]
                and len(_pool_workers(process.pid)) == 2
            ),
            "both workers scoring",
            timeout=120,
        )
        victim = _pool_workers(process.pid)[-1]
        os.kill(victim, signal.SIGKILL)  # as the OOM killer does
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("labels detect hung after one of its worker processes was killed")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 1, stdout + stderr
    assert stdout == ""
    told = re.fullmatch(
        r"Error: a worker process of labels detect died while scoring \(killed by a signal, e\.g\. by the kernel's "
        r"OOM killer\): the run stopped; what its workers wrote stays written, their claims on (\d+) products were "
        r"released\. Run `product-images labels detect` again to score the rest \(with a lower --concurrency if "
        r"memory is short\)\n",
        stderr,
    )
    assert told is not None, stderr
    # its claims were released: a run now takes every product left at once, not after the lease
    assert conn.execute(
        f"select count(*) from {MANY}.product_images where label_claimed_by is not null"
    ).fetchone() == (0,)
    left = conn.execute(
        f"select count(distinct product_id) from {MANY}.product_images where label_detected_at is null"
    ).fetchone()[0]
    assert left >= len(MANY_PRODUCTS) // 2  # the run stopped when the worker died, not when the other had done it all
    again = detect(client, mapping, MANY)
    assert again.products == left
    assert conn.execute(f"select count(*) from {MANY}.product_images where label_detected_at is null").fetchone() == (
        0,
    )
