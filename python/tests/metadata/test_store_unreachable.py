"""A store that cannot be reached, that refuses expired credentials, or that answers HTTP 5xx to object after object
stops `labels detect` and the metadata backfill with exit 2; a single connection dropped, or a single 5xx, while the
others succeed stays one object's ``network``.

Real PostgreSQL, real dbt, moto's S3 server over real HTTP; nothing of ours or of boto3 is patched. "Cannot be
reached" is a port on 127.0.0.1 where nothing listens (a socket bound to port 0, closed) or a host under
``.invalid`` (RFC 2606: never resolves). A stand-in in front of moto (:class:`StandIn`) answers every request with
an S3 error (``ExpiredToken``, ``InvalidToken``, ``InternalError``...), answers chosen keys with one, or closes the
connection of chosen keys before answering.
botocore's own retries stay as the commands set them (5, standard mode: for connection errors its backoff adds up
to at most 1.55 s, ``non_throttling_base_scale`` 0.05 in ``botocore/retries/standard.py``), so a test takes seconds.

Tenants: user_1, three products of two photos (the detector's); user_2, eight products of one photo (the
backfill's). Each test starts from its tenant with nothing scored or probed.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from botocore.client import BaseClient
from click.testing import CliRunner

from helpers.legacy_data import make_tenant, photo
from helpers.s3 import PREFIX, moto_endpoint
from product_images.cli import main
from product_images.demo.pictures import render_image
from product_images.metadata.storage import s3_client

BUCKET = "unreachable-photos"  # moto keeps its buckets per process: a name of this module's own
DETECT = "user_1"
PRODUCTS = range(1, 4)
BACKFILL = "user_2"
OBJECTS = range(1, 9)
LABEL_COLUMNS = "id, label_score, label_error, label_evidence, label_detector, label_etag, label_detected_at"


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound by the system, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable(where: str) -> str:
    """An endpoint no TCP connection can be made to: ``refused`` (a closed port), ``unresolvable`` (no such host)."""
    return f"http://127.0.0.1:{free_port()}" if where == "refused" else "http://s3.store.invalid:9000"


REASONS = {"refused": "Connection refused", "unresolvable": "Name or service not known"}


class StandIn:
    """An HTTP server on 127.0.0.1 forwarding every request to moto, or refusing it.

    Attributes:
        endpoint: ``http://127.0.0.1:<port>``.
        refusal: ``(HTTP status, S3 error code)`` to answer every request with (None: forward).
        refused: object keys answered with their ``(HTTP status, S3 error code)``, whatever ``refusal`` says.
        dropped: object keys whose requests get their connection closed before any answer.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.refusal: tuple[int, str] | None = None
        self.refused: dict[str, tuple[int, str]] = {}
        self.dropped: set[str] = set()
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stand_in.answer(self, "GET")

            def do_HEAD(self) -> None:
                stand_in.answer(self, "HEAD")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def answer(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        key = unquote(request.path.split("?", 1)[0]).split("/", 2)[-1]
        if key in self.dropped:
            request.close_connection = True  # connected, then closed with no answer
            return
        refusal = self.refused.get(key, self.refusal)
        if refusal is not None:
            status, code = refusal
            body = f"<Error><Code>{code}</Code><Message>refused by the test</Message></Error>".encode()
            headers = [("Content-Type", "application/xml")]
        else:
            upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
            try:
                sent = {name: value for name, value in request.headers.items() if name.lower() != "host"}
                upstream.request(method, request.path, headers=sent)
                response = upstream.getresponse()
                status, headers, body = response.status, response.getheaders(), response.read()
            finally:
                upstream.close()
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(body)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_endpoint(tmp_path_factory.mktemp("aws"), BUCKET) as found:
        yield found


@pytest.fixture(scope="module")
def client(endpoint: str) -> BaseClient:
    return s3_client(max_pool_connections=8)


@pytest.fixture(scope="module")
def tenants(conn: psycopg.Connection, dbt: Any, client: BaseClient) -> None:
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    products: dict[int, list[dict[str, Any]]] = {}
    for pid in PRODUCTS:
        for position, kind in enumerate(("product", "label")):
            body = render_image(kind, 640, 480, pid * 10 + position, "jpeg")
            client.put_object(Bucket=BUCKET, Key=f"{DETECT}/{pid}/{kind}.jpg", Body=body)
        products[pid] = [photo(f"{PREFIX}{DETECT}/{pid}/{kind}.jpg", n) for n, kind in enumerate(("product", "label"))]
    make_tenant(conn, DETECT, products)
    for n in OBJECTS:
        client.put_object(Bucket=BUCKET, Key=f"{BACKFILL}/{n}.jpg", Body=render_image("product", 64, 48, n, "jpeg"))
    make_tenant(conn, BACKFILL, {n: [photo(f"{PREFIX}{BACKFILL}/{n}.jpg", 0)] for n in OBJECTS})
    make_tenant(conn, "template_tenant", {})
    result = dbt("run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()]


@pytest.fixture(scope="module")
def stand_in(endpoint: str) -> Iterator[StandIn]:
    server = StandIn(endpoint)
    yield server
    server.close()


@pytest.fixture
def store(stand_in: StandIn) -> Iterator[StandIn]:
    """The stand-in, with no refusal or dropped key left over when the test ends."""
    yield stand_in
    stand_in.refusal = None
    stand_in.refused.clear()
    stand_in.dropped.clear()


def cli(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(main, [*args, "--no-progress"], env=env)


def claims(conn: psycopg.Connection, tenant: str, kind: str) -> int:
    return conn.execute(f"select count(*) from {tenant}.product_images where {kind}_claimed_by is not null").fetchone()[
        0
    ]


def scored_then_updated(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """user_1 scored from nothing by a real run, then a model update (every photo to download again); its rows."""
    conn.execute(
        f"update {DETECT}.product_images set label_score = null, label_evidence = null, label_detector = null, "
        "label_profile = null, label_detected_at = null, label_error = null, label_etag = null, "
        "label_claimed_by = null, label_claimed_until = null"
    )
    first = cli("labels", "detect", "--tenant", DETECT)
    assert first.exit_code == 0, first.output
    conn.execute(f"update {DETECT}.product_images set label_detector = 'labels-older'")
    rows = conn.execute(f"select {LABEL_COLUMNS} from {DETECT}.product_images order by id").fetchall()
    assert all(score is not None for _, score, *_ in rows)
    return rows


def unprobed(conn: psycopg.Connection) -> None:
    conn.execute(
        f"update {BACKFILL}.product_images set mime_type = null, file_size = null, width = null, height = null, "
        "exif_orientation = null, metadata_etag = null, metadata_error = null, metadata_probed_at = null, "
        "metadata_claimed_by = null, metadata_claimed_until = null"
    )


def probed(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"select metadata_error, count(*) from {BACKFILL}.product_images where metadata_probed_at is not null "
        "group by 1 order by 1"
    ).fetchall()


# --------------------------------------------------------------------------- labels detect


@pytest.mark.parametrize("where, concurrency", [("refused", 1), ("unresolvable", 1), ("refused", 2)])
def test_detect_against_an_unreachable_store_stops_exit_2_keeping_every_score_and_no_claim(
    conn: psycopg.Connection, tenants: None, where: str, concurrency: int
) -> None:
    before = scored_then_updated(conn)
    dead = unreachable(where)
    detect = ["labels", "detect", "--tenant", DETECT, "--concurrency", str(concurrency)]
    result = cli(*detect, env={"AWS_ENDPOINT_URL_S3": dead})
    assert (result.exit_code, claims(conn, DETECT, "label"), result.stderr) == (
        2,
        0,
        f"Error: storage error while scoring {DETECT}.product_images: cannot connect to the store at {dead} "
        f"(EndpointConnectionError: {REASONS[where]}, after botocore's retries): check AWS_ENDPOINT_URL_S3 "
        "(scheme, host and port) and that the store is up; the run stopped and wrote nothing of this batch\n",
    ), result.output
    assert result.stdout == ""
    assert conn.execute(f"select {LABEL_COLUMNS} from {DETECT}.product_images order by id").fetchall() == before
    # the endpoint fixed, a rerun starts at once: no claim to wait for
    again = cli("labels", "detect", "--tenant", DETECT, "--json")
    assert again.exit_code == 0, again.output
    assert conn.execute(
        f"select count(*) from {DETECT}.product_images where label_detector <> 'labels-older'"
    ).fetchone() == (2 * len(PRODUCTS),)


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidToken"])
def test_detect_with_expired_credentials_stops_exit_2_keeping_every_score_and_no_claim(
    conn: psycopg.Connection, tenants: None, store: StandIn, code: str
) -> None:
    before = scored_then_updated(conn)
    store.refusal = (400, code)
    result = cli("labels", "detect", "--tenant", DETECT, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert (result.exit_code, claims(conn, DETECT, "label"), result.stderr) == (
        2,
        0,
        f"Error: storage configuration error while scoring {DETECT}.product_images: the store rejected the "
        f"credentials for bucket '{BUCKET}' at {store.endpoint} ({code}): check AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (session credentials expire: get new ones); the run stopped "
        "and wrote nothing of this batch\n",
    ), result.output
    assert conn.execute(f"select {LABEL_COLUMNS} from {DETECT}.product_images order by id").fetchall() == before


def test_detect_a_connection_dropped_for_one_photo_stays_that_photos_network_failure(
    conn: psycopg.Connection, tenants: None, store: StandIn
) -> None:
    before = {row[0]: row for row in scored_then_updated(conn)}
    store.dropped.add(f"{DETECT}/2/label.jpg")
    result = cli(
        "labels",
        "detect",
        "--tenant",
        DETECT,
        "--lease-seconds",
        "30",
        env={"AWS_ENDPOINT_URL_S3": store.endpoint},
    )
    assert result.exit_code == 0, result.output
    assert "1 photos keep their earlier score: their download failed (network)" in result.stdout
    [(dropped_id,)] = conn.execute(
        f"select id from {DETECT}.product_images where url = %s", (f"{PREFIX}{DETECT}/2/label.jpg",)
    ).fetchall()
    # its product stays claimed until the lease ends, as before (the claim is on one row of the product)
    assert conn.execute(
        f"select product_id from {DETECT}.product_images where label_claimed_by is not null"
    ).fetchall() == [(2,)]
    after = conn.execute(f"select {LABEL_COLUMNS} from {DETECT}.product_images order by id").fetchall()
    assert [row for row in after if row[0] == dropped_id] == [before[dropped_id]]
    assert sum(row[4] != "labels-older" for row in after) == 2 * len(PRODUCTS) - 1


# --------------------------------------------------------------------------- metadata backfill


@pytest.mark.parametrize("where", ["refused", "unresolvable"])
def test_backfill_against_an_unreachable_store_stops_exit_2_writing_nothing_and_no_claim(
    conn: psycopg.Connection, tenants: None, where: str
) -> None:
    unprobed(conn)
    dead = unreachable(where)
    result = cli("metadata", "backfill", "--tenant", BACKFILL, env={"AWS_ENDPOINT_URL_S3": dead})
    assert (result.exit_code, probed(conn), claims(conn, BACKFILL, "metadata"), result.stderr) == (
        2,
        [],
        0,
        f"Error: storage error while probing {BACKFILL}.product_images: cannot connect to the store at {dead} "
        f"(EndpointConnectionError: {REASONS[where]}, after botocore's retries): check AWS_ENDPOINT_URL_S3 "
        "(scheme, host and port) and that the store is up; the run stopped and wrote nothing of this batch\n",
    ), result.output
    assert result.stdout == ""
    again = cli("metadata", "backfill", "--tenant", BACKFILL)
    assert again.exit_code == 0, again.output
    assert probed(conn) == [(None, len(OBJECTS))]


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidToken"])
def test_backfill_with_expired_credentials_stops_exit_2_writing_nothing_and_no_claim(
    conn: psycopg.Connection, tenants: None, store: StandIn, code: str
) -> None:
    unprobed(conn)
    store.refusal = (400, code)
    result = cli("metadata", "backfill", "--tenant", BACKFILL, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert (result.exit_code, probed(conn), claims(conn, BACKFILL, "metadata"), result.stderr) == (
        2,
        [],
        0,
        f"Error: storage configuration error while probing {BACKFILL}.product_images: the store rejected the "
        f"credentials for bucket '{BUCKET}' at {store.endpoint} ({code}): check AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (session credentials expire: get new ones); the run stopped "
        "and wrote nothing of this batch\n",
    ), result.output


def test_backfill_a_connection_dropped_for_one_object_stays_that_objects_network_failure(
    conn: psycopg.Connection, tenants: None, store: StandIn
) -> None:
    unprobed(conn)
    store.dropped.add(f"{BACKFILL}/3.jpg")
    result = cli("metadata", "backfill", "--tenant", BACKFILL, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert result.exit_code == 0, result.output
    assert probed(conn) == [("network", 1), (None, len(OBJECTS) - 1)]
    assert claims(conn, BACKFILL, "metadata") == 0


# --------------------------------------------------------------------------- a store answering 5xx

# 500 and 503 ServiceUnavailable are retried with botocore's non-throttling backoff (at most 1.55 s an object over 5
# retries); SlowDown is a throttling code (1 s base: up to 31 s an object), so the detector's tests leave it out.
FAILING = [(500, "InternalError"), (503, "ServiceUnavailable")]


def failing_message(command: str, tenant: str, endpoint: str, status: int, code: str) -> str:
    return (
        f"Error: storage error while {command} {tenant}.product_images: the store at {endpoint} is failing: 5 objects "
        f"in a row of bucket '{BUCKET}' were answered HTTP {status} {code} after botocore's retries: retry later, "
        "once the store answers again; the run stopped and wrote nothing of this batch\n"
    )


@pytest.mark.parametrize("status, code", [*FAILING, (503, "SlowDown")])
def test_backfill_against_a_store_answering_5xx_stops_exit_2_writing_nothing_and_no_claim(
    conn: psycopg.Connection, tenants: None, store: StandIn, status: int, code: str
) -> None:
    unprobed(conn)
    store.refusal = (status, code)
    result = cli("metadata", "backfill", "--tenant", BACKFILL, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert (result.exit_code, probed(conn), claims(conn, BACKFILL, "metadata"), result.stderr) == (
        2,
        [],
        0,
        failing_message("probing", BACKFILL, store.endpoint, status, code),
    ), result.output
    assert result.stdout == ""
    store.refusal = None  # the store answers again: a rerun starts at once, no claim to wait for
    again = cli("metadata", "backfill", "--tenant", BACKFILL, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert again.exit_code == 0, again.output
    assert probed(conn) == [(None, len(OBJECTS))]


def test_backfill_counts_5xx_objects_in_a_row_across_batches(
    conn: psycopg.Connection, tenants: None, store: StandIn
) -> None:
    """Batches of 2: the first two batches' objects are written ``network``, the fifth object stops the run in the
    third batch, which is not written."""
    unprobed(conn)
    store.refusal = (500, "InternalError")
    result = cli(
        "metadata", "backfill", "--tenant", BACKFILL, "--batch-size", "2", env={"AWS_ENDPOINT_URL_S3": store.endpoint}
    )
    assert (result.exit_code, probed(conn), claims(conn, BACKFILL, "metadata")) == (2, [("network", 4)], 0)
    assert "is failing: 5 objects in a row" in result.stderr, result.output


@pytest.mark.parametrize("failing", [1, 4])
def test_backfill_fewer_than_5_objects_answered_5xx_stay_their_network_failure(
    conn: psycopg.Connection, tenants: None, store: StandIn, failing: int
) -> None:
    """One object answered 503 among good ones, or four (one fewer than stops a run): recorded, exit 0."""
    unprobed(conn)
    for n in range(1, failing + 1):
        store.refused[f"{BACKFILL}/{n}.jpg"] = (503, "ServiceUnavailable")
    result = cli("metadata", "backfill", "--tenant", BACKFILL, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert result.exit_code == 0, result.output
    assert probed(conn) == [("network", failing), (None, len(OBJECTS) - failing)]
    assert claims(conn, BACKFILL, "metadata") == 0


@pytest.mark.parametrize("status, code", FAILING)
def test_detect_against_a_store_answering_5xx_stops_exit_2_keeping_every_score_and_no_claim(
    conn: psycopg.Connection, tenants: None, store: StandIn, status: int, code: str
) -> None:
    before = scored_then_updated(conn)
    store.refusal = (status, code)
    result = cli("labels", "detect", "--tenant", DETECT, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert (result.exit_code, claims(conn, DETECT, "label"), result.stderr) == (
        2,
        0,
        failing_message("scoring", DETECT, store.endpoint, status, code),
    ), result.output
    assert result.stdout == ""
    assert conn.execute(f"select {LABEL_COLUMNS} from {DETECT}.product_images order by id").fetchall() == before


def test_detect_one_photo_answered_5xx_stays_that_photos_network_failure(
    conn: psycopg.Connection, tenants: None, store: StandIn
) -> None:
    """A photo with no earlier score answered 500 while the others download: ``network`` on its row, exit 0."""
    scored_then_updated(conn)
    conn.execute(f"update {DETECT}.product_images set label_score = null, label_evidence = null")
    store.refused[f"{DETECT}/2/label.jpg"] = (500, "InternalError")
    result = cli("labels", "detect", "--tenant", DETECT, env={"AWS_ENDPOINT_URL_S3": store.endpoint})
    assert result.exit_code == 0, result.output
    assert conn.execute(
        f"select url, label_error from {DETECT}.product_images where label_error is not null"
    ).fetchall() == [(f"{PREFIX}{DETECT}/2/label.jpg", "network")]
    scored = f"select count(*) from {DETECT}.product_images where label_score is not null and label_detector <> %s"
    assert conn.execute(scored, ("labels-older",)).fetchone() == (2 * len(PRODUCTS) - 1,)
