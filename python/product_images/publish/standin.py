"""A local stand-in marketplace: a small real HTTP server on 127.0.0.1 for the demo and the tests.

Vinted and eBay cannot be reached from here, so :class:`StandInMarketplace`
serves the API :class:`~product_images.publish.client.HttpMarketplaceClient`
speaks (``/{marketplace}/photos``, ``/{marketplace}/listings``), with the
behaviour that matters for publishing reliably:

- **the seller's reference**: a listing keeps the ``reference`` of its body (as eBay keeps an
  item's SKU); ``GET /{marketplace}/listings?reference=...`` answers 200 ``{"listings": [{"listing_id",
  "reference", "photo_ids"}, ...]}``, the live listings carrying it, oldest first (an empty list when
  there is none; 400 without ``reference``). It needs no idempotency key (it changes nothing). Like a
  marketplace that does not enforce one listing per reference, it creates whatever it is asked to: a
  client must look before it creates again;

- **idempotency keys**: every ``POST``/``PUT`` needs an ``Idempotency-Key``
  header (400 without). The first request with a key is carried out and its
  answer stored; a later one with the same key and body gets the stored answer
  again, with ``Idempotent-Replayed: true``, and does nothing; the same key with
  another body is refused with 422 (as the IETF draft says). Requests with the
  same key are served one at a time. :attr:`received` counts requests per key,
  :attr:`uploads` lists the uploads carried out (one per photo, however often
  it was asked);
- **failures on demand**: :meth:`fail` makes the next requests of a kind answer
  an error status (429 with ``Retry-After``, 503...) before doing anything;
  :meth:`delay` answers late (after carrying the request out); :meth:`hold`
  carries a request out and then keeps its answer back until :meth:`release`
  (a worker can be killed at exactly that point).

It runs in a thread of the calling process (``http.server.ThreadingHTTPServer``)::

    with StandInMarketplace() as market:
        client = HttpMarketplaceClient(market.url, "vinted")
        market.fail("upload", status=503, times=1)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from product_images.app.marketplaces import MARKETPLACE_RULES

__all__ = ["KINDS", "StandInMarketplace", "Upload"]

KINDS = ("upload", "create_listing", "update_listing", "find_listing")
"""Kinds of request a failure rule can match: ``POST photos``, ``POST listings``, ``PUT listings/{id}``,
``GET listings?reference=`` (``fail`` and ``delay`` apply to it; ``hold`` and ``extra`` do not)."""


@dataclass(frozen=True)
class Upload:
    """One photo upload carried out: ``photo_id`` (``"p-1"``...), ``marketplace``, ``url``, ``idempotency_key``."""

    photo_id: str
    marketplace: str
    url: str
    idempotency_key: str


@dataclass
class _Rule:
    kind: str
    action: str  # fail, delay, hold, extra
    times: int
    after: int
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    seen: int = 0
    event: threading.Event = field(default_factory=threading.Event)


_ROUTES: tuple[tuple[str, tuple[str | None, ...], str], ...] = (
    ("POST", ("photos",), "upload"),
    ("POST", ("listings",), "create_listing"),
    ("PUT", ("listings", None), "update_listing"),
    ("GET", ("listings",), "find_listing"),
)
"""The requests served, as (method, resource path after ``/{marketplace}``, kind); None matches any one segment."""


def _route(method: str, resource: list[str]) -> str | None:
    """The kind of request ``method`` on ``resource`` is (one of :data:`KINDS`), or None when none is served."""
    for route_method, pattern, kind in _ROUTES:
        if (
            method == route_method
            and len(resource) == len(pattern)
            and all(want is None or part == want for part, want in zip(resource, pattern, strict=True))
        ):
            return kind
    return None


@dataclass(frozen=True)
class _Request:
    """A routed request, its idempotency key and JSON body, and the lock serving that key's requests one at a time."""

    marketplace: str
    kind: str
    resource: list[str]
    body: Any
    key: str
    key_lock: threading.Lock


class StandInMarketplace:
    """The stand-in server. Start it with :meth:`start` or ``with``; :attr:`url` is its base URL.

    Args:
        host: the address to listen on (default ``127.0.0.1``: loopback only).
        port: the port (default 0: a free one).

    Thread-safe: the test or the demo changes rules and reads counters while
    workers send requests.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._rules: list[_Rule] = []
        self._answers: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._photo_ids = itertools.count(1)
        self._listing_ids = itertools.count(1)
        self._release = threading.Event()
        self.received: Counter[str] = Counter()
        """Requests received per idempotency key, failed and replayed ones included."""
        self.uploads: list[Upload] = []
        """Uploads carried out, in order: one per key."""
        self.listings: dict[str, dict[str, Any]] = {}
        """Listings by id, as last created or updated."""
        self.requests: list[tuple[str, str, int]] = []
        """Every request as (method, path, status answered), in order."""
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                stand_in._handle(self, "POST")

            def do_PUT(self) -> None:  # noqa: N802
                stand_in._handle(self, "PUT")

            def do_GET(self) -> None:  # noqa: N802
                stand_in._handle(self, "GET")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ life cycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> StandInMarketplace:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="stand-in-marketplace", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Release held answers, stop serving and close the socket."""
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandInMarketplace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ rules

    def fail(
        self, kind: str, *, status: int = 503, times: int = 1, after: int = 0, retry_after: float | None = None
    ) -> None:
        """Answer ``status`` to ``times`` requests of ``kind`` (one of :data:`KINDS`), after letting ``after`` pass.

        Nothing is carried out for a failed request (as a server that is overloaded).
        ``retry_after``: seconds sent in a ``Retry-After`` header. Raises ``ValueError``
        for an unknown kind or a status under 400.
        """
        self._add(_Rule(kind, "fail", times, after, status=status, retry_after=retry_after))

    def delay(self, kind: str, seconds: float, *, times: int = 1, after: int = 0) -> None:
        """Carry out ``times`` requests of ``kind`` (after ``after`` others), then answer ``seconds`` late."""
        self._add(_Rule(kind, "delay", times, after, seconds=seconds))

    def extra(self, kind: str, fields: dict[str, Any], *, times: int = 1, after: int = 0) -> None:
        """Carry out ``times`` requests of ``kind`` (after ``after`` others) and add ``fields`` to their answer.

        For answers a real gateway may send and this one does not (an odd note, a NUL character):
        the fields are JSON-encoded like the rest of the answer and stored with it for replays.
        """
        self._add(_Rule(kind, "extra", times, after, fields=dict(fields)))

    def hold(self, kind: str, *, after: int = 0) -> threading.Event:
        """Carry out the next request of ``kind`` after ``after`` others, then keep its answer until :meth:`release`.

        Returns an event set once that request was carried out (its upload is in
        :attr:`uploads`): the moment to kill the worker waiting for the answer.
        """
        rule = _Rule(kind, "hold", 1, after)
        self._add(rule)
        return rule.event

    def release(self) -> None:
        """Let every held answer go."""
        self._release.set()

    def clear(self) -> None:
        """Drop every rule that has not fired yet."""
        with self._lock:
            self._rules.clear()

    def remove_listing(self, listing_id: str) -> None:
        """End a listing as the seller does on the marketplace's site: a later ``PUT`` of it answers 404.

        Raises ``KeyError`` when there is no such listing.
        """
        with self._lock:
            del self.listings[listing_id]

    def uploads_per_url(self) -> Counter[str]:
        """How many times each photo URL was uploaded (carried out, not replayed)."""
        with self._lock:
            return Counter(upload.url for upload in self.uploads)

    def _add(self, rule: _Rule) -> None:
        if rule.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {rule.kind!r}")
        if rule.action == "fail" and rule.status < 400:
            raise ValueError(f"status must be an HTTP error status (>= 400); got {rule.status}")
        if rule.kind == "find_listing" and rule.action in ("hold", "extra"):
            raise ValueError(f"a lookup (find_listing) can be failed or delayed, not given {rule.action!r}")
        with self._lock:
            self._rules.append(rule)

    def _rule_for(self, kind: str) -> _Rule | None:
        """The rule this request of ``kind`` triggers, if any (counts it against every matching rule)."""
        with self._lock:
            chosen = None
            for rule in self._rules:
                if rule.kind != kind:
                    continue
                rule.seen += 1
                if chosen is None and rule.after < rule.seen <= rule.after + rule.times:
                    chosen = rule
            self._rules = [rule for rule in self._rules if rule.seen < rule.after + rule.times]
            return chosen

    # ------------------------------------------------------------ serving

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        """Serve one request: route it, check its key and body, answer an injected failure, else serve it once."""
        parts = [part for part in request.path.split("?")[0].split("/") if part]
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if len(parts) >= 2 and parts[0] in MARKETPLACE_RULES:
            marketplace, resource = parts[0], parts[1:]
        else:
            self._answer(request, method, HTTPStatus.NOT_FOUND, {"error": f"no such resource {request.path}"})
            return
        kind = _route(method, resource)
        if kind is None:
            self._answer(request, method, HTTPStatus.NOT_FOUND, {"error": f"no such resource {method} {request.path}"})
            return
        if kind == "find_listing":
            self._find(request, marketplace)
            return
        key = request.headers.get("Idempotency-Key")
        if not key:
            self._answer(request, method, HTTPStatus.BAD_REQUEST, {"error": "Idempotency-Key header required"})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._answer(request, method, HTTPStatus.BAD_REQUEST, {"error": "body is not JSON"})
            return
        with self._lock:
            self.received[key] += 1
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        rule = self._rule_for(kind)
        if rule is not None and rule.action == "fail":
            headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
            self._answer(request, method, rule.status, {"error": f"injected {rule.status}"}, headers)
            return
        self._serve_once(request, method, _Request(marketplace, kind, resource, body, key, key_lock), rule)

    def _serve_once(self, request: BaseHTTPRequestHandler, method: str, asked: _Request, rule: _Rule | None) -> None:
        """Carry out the first request with its key, replay its answer to the same one again, refuse another one."""
        with asked.key_lock:
            fingerprint = json.dumps([method, request.path, asked.body], sort_keys=True)
            with self._lock:
                stored = self._answers.get(asked.key)
            if stored is not None:
                if stored[0] != fingerprint:
                    self._answer(
                        request,
                        method,
                        HTTPStatus.UNPROCESSABLE_ENTITY,
                        {"error": "Idempotency-Key reused with another request"},
                    )
                else:
                    self._answer(request, method, stored[1], stored[2], {"Idempotent-Replayed": "true"})
                return
            status, answer = self._carry_out(asked.marketplace, asked.kind, asked.resource, asked.body, asked.key)
            if rule is not None and rule.action == "extra" and status < 400:
                answer = {**answer, **rule.fields}
            if status < 400:
                with self._lock:
                    self._answers[asked.key] = (fingerprint, status, answer)
            if rule is not None and rule.action == "delay":
                time.sleep(rule.seconds)
            if rule is not None and rule.action == "hold":
                rule.event.set()
                self._release.wait(timeout=60)
        self._answer(request, method, status, answer)

    def _find(self, request: BaseHTTPRequestHandler, marketplace: str) -> None:
        """Answer ``GET /{marketplace}/listings?reference=...``: the live listings carrying it, oldest first."""
        references = parse_qs(urlsplit(request.path).query).get("reference", [])
        if len(references) != 1 or not references[0]:
            self._answer(request, "GET", HTTPStatus.BAD_REQUEST, {"error": "one reference=... required"})
            return
        rule = self._rule_for("find_listing")
        if rule is not None and rule.action == "fail":
            headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
            self._answer(request, "GET", rule.status, {"error": f"injected {rule.status}"}, headers)
            return
        with self._lock:
            found = [
                {"listing_id": listing_id, "reference": listing["reference"], "photo_ids": listing.get("photo_ids")}
                for listing_id, listing in self.listings.items()
                if listing["marketplace"] == marketplace and listing.get("reference") == references[0]
            ]
        if rule is not None and rule.action == "delay":
            time.sleep(rule.seconds)
        self._answer(request, "GET", HTTPStatus.OK, {"listings": found})

    def _carry_out(
        self, marketplace: str, kind: str, resource: list[str], body: Any, key: str
    ) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return HTTPStatus.BAD_REQUEST, {"error": "body must be a JSON object"}
        with self._lock:
            if kind == "upload":
                url = body.get("url")
                if not isinstance(url, str) or not url:
                    return HTTPStatus.BAD_REQUEST, {"error": "url required"}
                upload = Upload(f"p-{next(self._photo_ids)}", marketplace, url, key)
                self.uploads.append(upload)
                return HTTPStatus.CREATED, {"photo_id": upload.photo_id, "url": url}
            known = {upload.photo_id for upload in self.uploads if upload.marketplace == marketplace}
            photo_ids = body.get("photo_ids")
            if not isinstance(photo_ids, list) or not photo_ids or any(p not in known for p in photo_ids):
                return HTTPStatus.BAD_REQUEST, {"error": "photo_ids must list photos uploaded to this marketplace"}
            if kind == "create_listing":
                listing_id = f"l-{next(self._listing_ids)}"
                status = HTTPStatus.CREATED
            else:
                listing_id = resource[1]
                if listing_id not in self.listings:
                    return HTTPStatus.NOT_FOUND, {"error": f"no listing {listing_id}"}
                status = HTTPStatus.OK
            self.listings[listing_id] = {**body, "marketplace": marketplace}
            return status, {"listing_id": listing_id, "photo_ids": photo_ids}

    def _answer(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        with self._lock:
            self.requests.append((method, request.path, int(status)))
        try:
            request.send_response(int(status))
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker is gone (killed while it waited)
