"""The review page's web app (Starlette, Jinja2 templates, a little JavaScript; no CDN, no build step).

Routes:

* ``GET /``: the first product of the queue nobody decided yet (or ``/done``);
* ``GET /review/<tenant>/<product id>``: one product, every photo as a thumbnail in
  position order, the current decision highlighted with where it comes from;
* ``GET /grid?page=N``: the queue, 12 products a page;
* ``GET /done``: the summary and the command that applies the decisions;
* ``GET /thumb/<tenant>/<image id>``: a photo's JPEG thumbnail (from object storage, cached);
* ``GET /static/review.js``, ``/static/review.css``: served from memory (read at start);
* ``POST /api/decision``, ``/api/undo``, ``/api/finish``: JSON, each with the session
  token in the ``X-Review-Token`` header. A decision names the photos the page showed
  (``shown_urls``) and what it showed of the product's decision (``shown_state``,
  :func:`~product_images.labels.review.session.review_state`; its answer gives the new one):
  it is refused (409) when the product's photos changed since or someone decided it since,
  as an undo is when someone changed the product's rows since this session wrote them.

Security of a local tool: requests must name an allowed host (``127.0.0.1``,
``localhost`` or the ``--host`` given: a page elsewhere cannot reach the app
through DNS rebinding); state-changing requests need the per-session token, a
JSON body and, when the browser sends one, an ``Origin`` of the app itself;
templates escape every value (URLs, titles, tenant names are untrusted), and the
Content-Security-Policy allows scripts, styles and images from the app alone (no
inline script); no path from a request reaches the file system (thumbnails are
cached under a hash, static files come from a fixed table); an unknown tenant,
product or image is a 404 with a message.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from product_images.labels.overrides import Override, OverridesFileError
from product_images.labels.review.evidence_lines import evidence_lines
from product_images.labels.review.queue import ReviewProduct, UnknownProductError, UnknownTenantError
from product_images.labels.review.session import (
    APPLY_COMMAND,
    DecisionError,
    ReviewConflict,
    ReviewSession,
    review_state,
)
from product_images.labels.review.thumbnails import ThumbnailError, ThumbnailStore

__all__ = ["GRID_PAGE_SIZE", "MAX_BODY_BYTES", "TOKEN_HEADER", "ReviewSettings", "create_app", "product_url"]

TOKEN_HEADER = "X-Review-Token"
"""The header that carries the session token on every state-changing request."""

GRID_PAGE_SIZE = 12
"""Products on one grid page."""

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body read (a decision names its photos' URLs: 1 MiB is hundreds of long URLs)."""

_HERE = Path(__file__).resolve().parent
_STATIC_FILES = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
_SOURCE_NAMES = {
    "rule": "the interim rule (best-scoring photo of a doubtful product, else the last)",
    "evidence": "evidence",
    "override": "override (review list, applied)",
    "app": "set in the app",
}


@dataclass(frozen=True)
class ReviewSettings:
    """How the app was started, for what the pages say.

    Attributes:
        token: the per-session token (url-safe text) every POST must carry.
        allowed_hosts: host names the app answers to (``Host`` header, without the port).
        apply_on_exit: ``--apply`` was given: the decisions are applied when the session ends.
        overrides_display: how the review list's path is shown (e.g. ``seeds/label_overrides.csv``).
    """

    token: str
    allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost")
    apply_on_exit: bool = False
    overrides_display: str = "seeds/label_overrides.csv"


def product_url(tenant_schema: str, product_id: int) -> str:
    """The page of one product: ``/review/<tenant, percent-encoded>/<id>``."""
    return f"/review/{quote(tenant_schema, safe='')}/{int(product_id)}"


def _thumb_url(tenant_schema: str, image_id: int) -> str:
    return f"/thumb/{quote(tenant_schema, safe='')}/{int(image_id)}"


class _SecurityHeaders:
    """ASGI middleware: the CSP and friends on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in _SECURITY_HEADERS if name not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    session: ReviewSession,
    thumbnails: ThumbnailStore,
    settings: ReviewSettings,
    *,
    on_finish: Callable[[], None] | None = None,
) -> Starlette:
    """Build the review app.

    Args:
        session: the queue, the decisions and the review list (:class:`ReviewSession`).
        thumbnails: where thumbnails come from (:class:`ThumbnailStore`).
        settings: token, allowed hosts, what the pages say (:class:`ReviewSettings`).
        on_finish: called by ``POST /api/finish`` (the server stops, then applies when
            ``--apply`` was given); None: the finish button only says the session can be closed.

    Returns:
        A Starlette ASGI app (serve it with uvicorn; ``starlette.testclient.TestClient``
        in tests, whose host ``testserver`` must then be in ``settings.allowed_hosts``).
    """
    pages = _ReviewPages(session, thumbnails, settings)
    api = _ReviewApi(pages, on_finish)
    routes = [
        Route("/", pages.home),
        Route("/review/{tenant}/{product_id:int}", pages.review),
        Route("/grid", pages.grid),
        Route("/done", pages.done),
        Route("/thumb/{tenant}/{image_id:int}", pages.thumb),
        Route("/static/{name}", pages.static_file),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/decision", api.decision, methods=["POST"]),
        Route("/api/undo", api.undo, methods=["POST"]),
        Route("/api/finish", api.finish, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)),
        ],
        exception_handlers={404: pages.page_not_found},
    )


def _template_environment() -> Environment:
    """The pages' Jinja environment: templates/ of this package, HTML autoescaped."""
    environment = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["product_url"] = lambda product: product_url(product.tenant_schema, product.product_id)
    return environment


def _decision_text(product: ReviewProduct, selected: Sequence[int]) -> str:
    """What a decision says in words: ``photo 2 is the price tag`` or ``no price tag``."""
    numbers = [str(number) for number, photo in enumerate(product.photos, start=1) if photo.image_id in selected]
    if not numbers:
        return "no price tag"
    return f"photo {', '.join(numbers)} is the price tag"


def _listed_decision(product: ReviewProduct, rows: Sequence[Override]) -> dict[str, Any]:
    """The decision of the review list's ``rows`` for ``product`` (non-empty): selected image ids, source text."""
    by_url = {row.url: row for row in rows}
    covered = all(photo.url in by_url for photo in product.photos)
    labelled = {row.url for row in rows if row.is_label}
    selected = [photo.image_id for photo in product.photos if photo.url in labelled]
    applied = covered and all(
        photo.label_source == "override" and photo.is_label == by_url[photo.url].is_label for photo in product.photos
    )
    note = rows[0].note
    if applied:
        source = f"override (review list, applied): {note}"
    else:
        source = f"review list, not applied yet ({APPLY_COMMAND}): {note}"
        if not covered:
            source += "; some photos have no row"
    if any(photo.label_source == "app" for photo in product.photos):
        source += ". A label set in the app wins over the review list."
    return {"selected": selected, "source": source, "decided": True, "applied": applied}


def _database_decision(product: ReviewProduct) -> dict[str, Any]:
    """The decision the database holds for ``product`` (no row in the review list)."""
    if any(photo.label_source == "override" for photo in product.photos):
        # a decision applied, then undone or deleted in the list: the next seed and run take it away
        return {
            "selected": [photo.image_id for photo in product.photos if photo.is_label],
            "source": "applied from the review list, which no longer holds it (undone, or deleted there): "
            f"{APPLY_COMMAND} decides this product again",
            "decided": False,
            "applied": False,
        }
    label = next((photo for photo in product.photos if photo.is_label), None)
    if label is None:
        sources = sorted({photo.label_source or "none" for photo in product.photos})
        return {
            "selected": [],
            "source": "no price tag (" + ", ".join(_SOURCE_NAMES.get(s, s) for s in sources) + ")",
            "decided": False,
            "applied": False,
        }
    source = _SOURCE_NAMES.get(label.label_source or "", label.label_source or "unknown")
    if label.score is not None:
        source += f", score {label.score:.2f}"
    return {"selected": [label.image_id], "source": source, "decided": False, "applied": False}


def _plain(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")


class _ReviewPages:
    """The review app's pages (GET), over one review session."""

    def __init__(self, session: ReviewSession, thumbnails: ThumbnailStore, settings: ReviewSettings) -> None:
        self.session = session
        self.thumbnails = thumbnails
        self.settings = settings
        self.queue = session.queue
        self.database = session.database
        self.environment = _template_environment()
        self.static = {name: ((_HERE / "static" / name).read_bytes(), media) for name, media in _STATIC_FILES.items()}

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The template ``name`` with the session's progress, the queue and what the decisions taught."""
        progress = self.session.progress()
        # what the decisions taught, for the tenant on the page (the product's, else the --tenant filter)
        product = context.get("product")
        tenant = product.tenant_schema if isinstance(product, ReviewProduct) else self.queue.tenant_schema
        context.setdefault("title", "Label review")
        html = self.environment.get_template(name).render(
            token=self.settings.token,
            progress=progress,
            queue=self.queue,
            learning=self.database.learning(tenant) if tenant else None,
            settings=self.settings,
            apply_command=APPLY_COMMAND,
            can_undo=self.session.can_undo,
            file_error=self.session.file_error,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def not_found(self, message: str) -> HTMLResponse:
        return self.render("error.html", 404, title="Not found", message=message)

    async def page_not_found(self, request: Request, exc: Exception) -> Response:
        return self.not_found(f"no page at {request.url.path}")

    def next_url_after(self, index: int | None) -> str:
        """The page after queue position ``index``: the next product, else the first one still open, else /done."""
        queue = self.queue
        if index is not None and index + 1 < len(queue):
            entry = queue.entries[index + 1]
            return product_url(entry.tenant_schema, entry.product_id)
        following = self.session.first_unreviewed(0 if index is None else index + 1)
        if following is None:
            following = self.session.first_unreviewed(0)
        if following is None:
            return "/done"
        entry = queue.entries[following]
        return product_url(entry.tenant_schema, entry.product_id)

    def decision_view(self, product: ReviewProduct) -> dict[str, Any]:
        """What the page highlights: the review list's decision if any, else the database's."""
        rows = self.session.rows_of(product.tenant_schema, product.product_id)
        return _listed_decision(product, rows) if rows else _database_decision(product)

    def shown_state(self, product: ReviewProduct) -> str:
        """What the page shows of the product's decision (:func:`review_state`), for its decision to send back."""
        return review_state(product, self.session.rows_of(product.tenant_schema, product.product_id))

    def photo_views(self, product: ReviewProduct, selected: Sequence[int]) -> list[dict[str, Any]]:
        """One dict per photo, in position order, for the templates."""
        urls = [photo.url for photo in product.photos]
        return [
            {
                "photo": photo,
                "key": str(number) if number <= 9 else "",
                "thumb_url": _thumb_url(product.tenant_schema, photo.image_id)
                if self.thumbnails.in_bucket(photo.url)
                else None,
                "selected": photo.image_id in selected,
                "source": _SOURCE_NAMES.get(photo.label_source or "", photo.label_source or "unknown"),
                "evidence": evidence_lines(photo.evidence),
                "duplicate": urls.count(photo.url) > 1,
            }
            for number, photo in enumerate(product.photos, start=1)
        ]

    def prefetch_after(self, index: int | None) -> list[str]:
        """The thumbnail URLs of the next product in the queue (the page preloads them)."""
        if index is None or index + 1 >= len(self.queue):
            return []
        entry = self.queue.entries[index + 1]
        with_photos = self.database.products([entry.key], self.queue).get(entry.key)
        if with_photos is None:
            return []
        return [
            _thumb_url(entry.tenant_schema, photo.image_id)
            for photo in with_photos.photos
            if self.thumbnails.in_bucket(photo.url)
        ]

    def home(self, request: Request) -> Response:
        index = self.session.first_unreviewed(0)
        if index is None:
            return RedirectResponse("/done", status_code=303)
        entry = self.queue.entries[index]
        return RedirectResponse(product_url(entry.tenant_schema, entry.product_id), status_code=303)

    def review(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        product_id = request.path_params["product_id"]
        try:
            product = self.database.product(tenant, product_id, self.queue)
        except (UnknownTenantError, UnknownProductError) as error:
            return self.not_found(str(error))
        index = self.queue.index_of(tenant, product_id)
        previous = self.queue.entries[index - 1] if index is not None and index > 0 else None
        decision = self.decision_view(product)
        decision["text"] = _decision_text(product, decision["selected"])
        return self.render(
            "product.html",
            title=f"{product.tenant_schema} product {product.product_id}",
            product=product,
            photos=self.photo_views(product, decision["selected"]),
            decision=decision,
            shown_state=self.shown_state(product),
            index=index,
            prev_url=product_url(previous.tenant_schema, previous.product_id) if previous else None,
            next_url=self.next_url_after(index),
            prefetch=self.prefetch_after(index),
        )

    def grid(self, request: Request) -> Response:
        pages = max(1, math.ceil(len(self.queue) / GRID_PAGE_SIZE))
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            page = 1
        page = min(max(page, 1), pages)
        entries = self.queue.entries[(page - 1) * GRID_PAGE_SIZE : page * GRID_PAGE_SIZE]
        found = self.database.products([entry.key for entry in entries], self.queue)
        cards = []
        for entry in entries:
            product = found.get(entry.key)
            if product is None:
                continue
            decision = self.decision_view(product)
            photos = self.photo_views(product, decision["selected"])
            cards.append(
                {"product": product, "decision": decision, "photos": photos, "shown_state": self.shown_state(product)}
            )
        return self.render("grid.html", title=f"Grid, page {page} of {pages}", cards=cards, page=page, pages=pages)

    def done(self, request: Request) -> Response:
        return self.render(
            "done.html",
            title="Review done" if self.session.first_unreviewed(0) is None else "Review summary",
            touched=sorted(self.session.touched_tenants),
            first_open=self.session.first_unreviewed(0),
        )

    def thumb(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        try:
            url = self.database.photo_url(tenant, request.path_params["image_id"])
        except (UnknownTenantError, UnknownProductError) as error:
            return _plain(str(error), 404)
        try:
            data = self.thumbnails.thumbnail(url)
        except ThumbnailError as error:
            return _plain(error.reason, error.status)
        return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})

    async def static_file(self, request: Request) -> Response:
        found = self.static.get(request.path_params["name"])
        if found is None:
            return _plain("no such file", 404)
        return Response(found[0], media_type=found[1])


class _ReviewApi:
    """The review app's state-changing requests (POST, JSON): a decision, undo, finish."""

    def __init__(self, pages: _ReviewPages, on_finish: Callable[[], None] | None) -> None:
        self.pages = pages
        self.session = pages.session
        self.settings = pages.settings
        self.on_finish = on_finish

    def refused(self, request: Request) -> JSONResponse | None:
        """Why a state-changing request is refused, or None when it may go on."""
        sent = request.headers.get(TOKEN_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode("utf-8"), self.settings.token.encode("utf-8")):
            return JSONResponse(
                {"error": "missing or wrong session token: reload the page the review command printed"},
                status_code=403,
            )
        origin = request.headers.get("origin")
        if origin and origin != "null":
            origin_host = urlsplit(origin).netloc
            if origin_host != request.headers.get("host", ""):
                return JSONResponse({"error": f"cross-origin request from {origin} refused"}, status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "the body must be JSON (Content-Type: application/json)"}, status_code=415)
        return None

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any] | JSONResponse:
        """The body as a JSON object, or the 400/413 that says why not (over :data:`MAX_BODY_BYTES`: 413,
        refused from its Content-Length, or as soon as that much has arrived, never read whole)."""
        too_large = JSONResponse({"error": f"the body is too large (over {MAX_BODY_BYTES:,} bytes)"}, status_code=413)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return too_large
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > MAX_BODY_BYTES:
                return too_large
        try:
            body = json.loads(received)
        except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: nested too deep
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        return body

    def progress_json(self) -> dict[str, Any]:
        progress = self.session.progress()
        return {"progress": progress.text(), "reviewed": progress.reviewed, "total": progress.total}

    @staticmethod
    def decision_request(body: dict[str, Any]) -> tuple[str, int, int | None, list[str], str | None] | JSONResponse:
        """(tenant, product id, label image id or None, the URLs of the photos shown, the page's ``shown_state``
        or None) from a decision's body, or the 422 that says what is wrong."""
        tenant, product_id, label = body.get("tenant_schema"), body.get("product_id"), body.get("label_image_id")
        shown = body.get("shown_urls")
        if (
            not isinstance(tenant, str)
            or not isinstance(product_id, int)
            or isinstance(product_id, bool)
            or not isinstance(shown, list)
            or not all(isinstance(url, str) for url in shown)
        ):
            return JSONResponse(
                {
                    "error": "expected {tenant_schema: text, product_id: integer, label_image_id: integer or null, "
                    "shown_urls: the URLs of the photos the page showed}"
                },
                status_code=422,
            )
        if label is not None and (not isinstance(label, int) or isinstance(label, bool)):
            return JSONResponse({"error": "label_image_id must be an integer or null"}, status_code=422)
        state = body.get("shown_state")
        if state is not None and not isinstance(state, str):
            return JSONResponse({"error": "shown_state must be the text the page gave, or absent"}, status_code=422)
        return tenant, product_id, label, shown, state

    def write_refused(self, error: Exception, what: str) -> JSONResponse:
        """The answer when the review list could not be changed: 409 (a conflict, a file to fix by hand) or 500."""
        if isinstance(error, ReviewConflict):
            return JSONResponse({"error": str(error)}, status_code=409)
        display = self.settings.overrides_display
        if isinstance(error, OverridesFileError):
            return JSONResponse(
                {"error": f"{display} cannot be used as it is: {error}. Fix it, then reload; {what}"}, status_code=409
            )
        return JSONResponse({"error": f"could not write {display}: {error}; {what}"}, status_code=500)

    async def decision(self, request: Request) -> Response:
        refusal = self.refused(request)
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        if isinstance(body, JSONResponse):
            return body
        parsed = self.decision_request(body)
        if isinstance(parsed, JSONResponse):
            return parsed
        tenant, product_id, label, shown, state = parsed
        try:
            product = await run_in_threadpool(self.session.database.product, tenant, product_id, self.session.queue)
            rows = await run_in_threadpool(
                partial(self.session.decide, shown_urls=shown, shown_state=state, product=product),
                tenant,
                product_id,
                label,
            )
        except (UnknownTenantError, UnknownProductError) as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except DecisionError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        except (ReviewConflict, OSError, OverridesFileError) as error:
            return self.write_refused(error, "the decision is NOT saved")
        index = self.session.queue.index_of(tenant, product_id)
        return JSONResponse(
            {
                "saved": True,
                "rows": [_row_json(row) for row in rows],
                "shown_state": review_state(product, rows),
                "next_url": self.pages.next_url_after(index),
                **self.progress_json(),
            }
        )

    async def undo(self, request: Request) -> Response:
        refusal = self.refused(request)
        if refusal is not None:
            return refusal
        try:
            undone = await run_in_threadpool(self.session.undo)
        except (ReviewConflict, OSError, OverridesFileError) as error:
            return self.write_refused(error, "nothing was undone")
        if undone is None:
            return JSONResponse({"error": "nothing to undo in this session"}, status_code=409)
        return JSONResponse(
            {
                "undone": True,
                "url": product_url(undone.tenant_schema, undone.product_id),
                "rows": [_row_json(row) for row in undone.rows],
                **self.progress_json(),
            }
        )

    async def finish(self, request: Request) -> Response:
        refusal = self.refused(request)
        if refusal is not None:
            return refusal
        if self.on_finish is not None:
            self.on_finish()
        progress = self.session.progress()
        applying = (
            f"Applying them ({APPLY_COMMAND}): see the terminal."
            if self.settings.apply_on_exit
            else f"Apply them with: {APPLY_COMMAND}"
        )
        return JSONResponse(
            {
                "finished": self.on_finish is not None,
                "message": (
                    f"Session ended: {progress.decided_this_session} decision(s) in "
                    f"{self.settings.overrides_display}. " + applying
                ),
            }
        )


def _row_json(row: Override) -> dict[str, Any]:
    return {"url": row.url, "is_label": row.is_label, "note": row.note}
