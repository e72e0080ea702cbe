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
  token in the ``X-Review-Token`` header.

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

from product_images.labels.abstention import REASONS
from product_images.labels.overrides import Override, OverridesFileError
from product_images.labels.review.queue import ReviewProduct, UnknownProductError, UnknownTenantError
from product_images.labels.review.session import APPLY_COMMAND, DecisionError, ReviewSession
from product_images.labels.review.thumbnails import ThumbnailError, ThumbnailStore

__all__ = ["GRID_PAGE_SIZE", "TOKEN_HEADER", "ReviewSettings", "create_app", "product_url"]

TOKEN_HEADER = "X-Review-Token"
"""The header that carries the session token on every state-changing request."""

GRID_PAGE_SIZE = 12
"""Products on one grid page."""

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


# The detector's cues worth a reviewer's eye, in this order, with how to say them (labels/evidence.py).
_CUE_WORDS = {
    "price_dec": "a price with cents",
    "price_int": "a whole-euro price",
    "price_word": "PRIX / price",
    "price_sign": "a currency sign",
    "euro_whole": "a whole-euro price with €",
    "euro_dec": "a price with cents and €",
    "euro_first": "a retail € price",
    "sku": "a SKU",
    "ref": "REF",
    "code128": "Code 128",
    "qr": "QR code",
    "ean13": "EAN-13",
    "ean_retail": "a retail EAN",
    "care": "care-label words",
    "size": "a size",
    "degree": "a washing temperature",
}


def _cut(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _detector_evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """What the detector saw, for a person: the text read, the codes decoded, the cues that fired, the paper."""
    lines = []
    read = [
        str(line.get("text", ""))
        for line in [*(evidence.get("lines") or []), *(evidence.get("glyph_lines") or [])]
        if isinstance(line, dict)
    ]
    if read:
        lines.append("text read: " + _cut(" · ".join(read)))
    elif evidence.get("ocr_ran"):
        lines.append("text read: none")
    second = " | ".join(str(text) for text in (evidence.get("second_read"), evidence.get("glyph_second_read")) if text)
    if second:
        lines.append("second read: " + _cut(second.replace(" | ", " · ")))
    codes = [code for code in evidence.get("codes") or [] if isinstance(code, dict)]
    if codes:
        lines.append("codes: " + _cut(", ".join(f"{code.get('format')} {code.get('text')}" for code in codes)))
    cues = evidence.get("cues") or {}
    fired = [words for cue, words in _CUE_WORDS.items() if float(cues.get(cue) or 0) >= 0.5]
    if fired:
        lines.append("cues: " + ", ".join(fired))
    if float(evidence.get("kraft") or 0) >= 0.5:
        lines.append("paper: kraft card")
    if not lines:
        lines.append("nothing tag-like seen")
    assessment = evidence.get("assessment")
    if isinstance(assessment, dict) and assessment.get("abstain"):
        reason = str(assessment["abstain"])
        said = REASONS.get(reason, reason)
        lines.insert(0, f"detector: {said} (model score {float(assessment.get('model_score') or 0):.2f})")
    return lines


def _evidence_lines(evidence: Any, limit: int = 6) -> list[str]:
    """Short ``key: value`` lines of a photo's label_evidence JSON (values cut at 80 characters)."""
    if evidence is None:
        return []
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence)
        except ValueError:
            return [evidence[:80]]
    if isinstance(evidence, dict) and "cues" in evidence and "codes" in evidence:
        return _detector_evidence_lines(evidence)
    if isinstance(evidence, dict):
        items = list(evidence.items())
    elif isinstance(evidence, list):
        items = [(str(number), value) for number, value in enumerate(evidence)]
    else:
        return [json.dumps(evidence)[:80]]
    lines = []
    for key, value in items[:limit]:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {text if len(text) <= 80 else text[:79] + '…'}")
    if len(items) > limit:
        lines.append(f"… {len(items) - limit} more")
    return lines


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
    environment = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["product_url"] = lambda product: product_url(product.tenant_schema, product.product_id)
    static = {name: ((_HERE / "static" / name).read_bytes(), media) for name, media in _STATIC_FILES.items()}
    queue = session.queue
    database = session.database

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        progress = session.progress()
        # what the decisions taught, for the tenant on the page (the product's, else the --tenant filter)
        product = context.get("product")
        tenant = product.tenant_schema if isinstance(product, ReviewProduct) else queue.tenant_schema
        context.setdefault("title", "Label review")
        html = environment.get_template(name).render(
            token=settings.token,
            progress=progress,
            queue=queue,
            learning=database.learning(tenant) if tenant else None,
            settings=settings,
            apply_command=APPLY_COMMAND,
            can_undo=session.can_undo,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def not_found(message: str) -> HTMLResponse:
        return render("error.html", 404, title="Not found", message=message)

    def next_url_after(index: int | None) -> str:
        if index is not None and index + 1 < len(queue):
            entry = queue.entries[index + 1]
            return product_url(entry.tenant_schema, entry.product_id)
        following = session.first_unreviewed(0 if index is None else index + 1)
        if following is None:
            following = session.first_unreviewed(0)
        if following is None:
            return "/done"
        entry = queue.entries[following]
        return product_url(entry.tenant_schema, entry.product_id)

    def decision_view(product: ReviewProduct) -> dict[str, Any]:
        """What the page highlights: the review list's decision if any, else the database's."""
        rows = session.rows_of(product.tenant_schema, product.product_id)
        by_url = {row.url: row for row in rows}
        covered = bool(rows) and all(photo.url in by_url for photo in product.photos)
        if rows:
            labelled = {row.url for row in rows if row.is_label}
            selected = [photo.image_id for photo in product.photos if photo.url in labelled]
            applied = covered and all(
                photo.label_source == "override" and photo.is_label == by_url[photo.url].is_label
                for photo in product.photos
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

    def decision_text(product: ReviewProduct, selected: Sequence[int]) -> str:
        numbers = [str(number) for number, photo in enumerate(product.photos, start=1) if photo.image_id in selected]
        if not numbers:
            return "no price tag"
        return f"photo {', '.join(numbers)} is the price tag"

    def photo_views(product: ReviewProduct, selected: Sequence[int]) -> list[dict[str, Any]]:
        urls = [photo.url for photo in product.photos]
        views = []
        for number, photo in enumerate(product.photos, start=1):
            views.append(
                {
                    "photo": photo,
                    "key": str(number) if number <= 9 else "",
                    "thumb_url": _thumb_url(product.tenant_schema, photo.image_id)
                    if thumbnails.in_bucket(photo.url)
                    else None,
                    "selected": photo.image_id in selected,
                    "source": _SOURCE_NAMES.get(photo.label_source or "", photo.label_source or "unknown"),
                    "evidence": _evidence_lines(photo.evidence),
                    "duplicate": urls.count(photo.url) > 1,
                }
            )
        return views

    def home(request: Request) -> Response:
        index = session.first_unreviewed(0)
        if index is None:
            return RedirectResponse("/done", status_code=303)
        entry = queue.entries[index]
        return RedirectResponse(product_url(entry.tenant_schema, entry.product_id), status_code=303)

    def review(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        product_id = request.path_params["product_id"]
        try:
            product = database.product(tenant, product_id, queue)
        except (UnknownTenantError, UnknownProductError) as error:
            return not_found(str(error))
        index = queue.index_of(tenant, product_id)
        previous = queue.entries[index - 1] if index is not None and index > 0 else None
        following_url = next_url_after(index)
        decision = decision_view(product)
        decision["text"] = decision_text(product, decision["selected"])
        prefetch: list[str] = []
        if index is not None and index + 1 < len(queue):
            entry = queue.entries[index + 1]
            with_photos = database.products([entry.key], queue).get(entry.key)
            if with_photos is not None:
                prefetch = [
                    _thumb_url(entry.tenant_schema, photo.image_id)
                    for photo in with_photos.photos
                    if thumbnails.in_bucket(photo.url)
                ]
        return render(
            "product.html",
            title=f"{product.tenant_schema} product {product.product_id}",
            product=product,
            photos=photo_views(product, decision["selected"]),
            decision=decision,
            index=index,
            prev_url=product_url(previous.tenant_schema, previous.product_id) if previous else None,
            next_url=following_url,
            prefetch=prefetch,
        )

    def grid(request: Request) -> Response:
        pages = max(1, math.ceil(len(queue) / GRID_PAGE_SIZE))
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            page = 1
        page = min(max(page, 1), pages)
        entries = queue.entries[(page - 1) * GRID_PAGE_SIZE : page * GRID_PAGE_SIZE]
        found = database.products([entry.key for entry in entries], queue)
        cards = []
        for entry in entries:
            product = found.get(entry.key)
            if product is None:
                continue
            decision = decision_view(product)
            photos = photo_views(product, decision["selected"])
            cards.append({"product": product, "decision": decision, "photos": photos})
        return render("grid.html", title=f"Grid, page {page} of {pages}", cards=cards, page=page, pages=pages)

    def done(request: Request) -> Response:
        return render(
            "done.html",
            title="Review done" if session.first_unreviewed(0) is None else "Review summary",
            touched=sorted(session.touched_tenants),
            first_open=session.first_unreviewed(0),
        )

    def thumb(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        try:
            url = database.photo_url(tenant, request.path_params["image_id"])
        except (UnknownTenantError, UnknownProductError) as error:
            return Response(str(error), status_code=404, media_type="text/plain; charset=utf-8")
        try:
            data = thumbnails.thumbnail(url)
        except ThumbnailError as error:
            return Response(error.reason, status_code=error.status, media_type="text/plain; charset=utf-8")
        return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})

    async def static_file(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            return Response("no such file", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(found[0], media_type=found[1])

    def refused(request: Request) -> JSONResponse | None:
        """Why a state-changing request is refused, or None when it may go on."""
        sent = request.headers.get(TOKEN_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode("utf-8"), settings.token.encode("utf-8")):
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

    async def json_body(request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        return body

    def progress_json() -> dict[str, Any]:
        progress = session.progress()
        return {"progress": progress.text(), "reviewed": progress.reviewed, "total": progress.total}

    async def api_decision(request: Request) -> Response:
        refusal = refused(request)
        if refusal is not None:
            return refusal
        body = await json_body(request)
        if isinstance(body, JSONResponse):
            return body
        tenant, product_id, label = body.get("tenant_schema"), body.get("product_id"), body.get("label_image_id")
        if not isinstance(tenant, str) or not isinstance(product_id, int) or isinstance(product_id, bool):
            return JSONResponse(
                {"error": "expected {tenant_schema: text, product_id: integer, label_image_id: integer or null}"},
                status_code=422,
            )
        if label is not None and (not isinstance(label, int) or isinstance(label, bool)):
            return JSONResponse({"error": "label_image_id must be an integer or null"}, status_code=422)
        try:
            rows = await run_in_threadpool(session.decide, tenant, product_id, label)
        except (UnknownTenantError, UnknownProductError) as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except DecisionError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        except (OSError, OverridesFileError) as error:
            return JSONResponse(
                {"error": f"could not write {settings.overrides_display}: {error}; the decision is NOT saved"},
                status_code=500,
            )
        index = queue.index_of(tenant, product_id)
        return JSONResponse(
            {
                "saved": True,
                "rows": [_row_json(row) for row in rows],
                "next_url": next_url_after(index),
                **progress_json(),
            }
        )

    async def api_undo(request: Request) -> Response:
        refusal = refused(request)
        if refusal is not None:
            return refusal
        try:
            undone = await run_in_threadpool(session.undo)
        except (OSError, OverridesFileError) as error:
            return JSONResponse({"error": f"could not write {settings.overrides_display}: {error}"}, status_code=500)
        if undone is None:
            return JSONResponse({"error": "nothing to undo in this session"}, status_code=409)
        return JSONResponse(
            {
                "undone": True,
                "url": product_url(undone.tenant_schema, undone.product_id),
                "rows": [_row_json(row) for row in undone.rows],
                **progress_json(),
            }
        )

    async def api_finish(request: Request) -> Response:
        refusal = refused(request)
        if refusal is not None:
            return refusal
        if on_finish is not None:
            on_finish()
        progress = session.progress()
        return JSONResponse(
            {
                "finished": on_finish is not None,
                "message": (
                    f"Session ended: {progress.decided_this_session} decision(s) in {settings.overrides_display}. "
                    + (
                        f"Applying them ({APPLY_COMMAND}): see the terminal."
                        if settings.apply_on_exit
                        else f"Apply them with: {APPLY_COMMAND}"
                    )
                ),
            }
        )

    routes = [
        Route("/", home),
        Route("/review/{tenant}/{product_id:int}", review),
        Route("/grid", grid),
        Route("/done", done),
        Route("/thumb/{tenant}/{image_id:int}", thumb),
        Route("/static/{name}", static_file),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/decision", api_decision, methods=["POST"]),
        Route("/api/undo", api_undo, methods=["POST"]),
        Route("/api/finish", api_finish, methods=["POST"]),
    ]

    async def page_not_found(request: Request, exc: Exception) -> Response:
        return not_found(f"no page at {request.url.path}")

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)),
        ],
        exception_handlers={404: page_not_found},
    )


def _row_json(row: Override) -> dict[str, Any]:
    return {"url": row.url, "is_label": row.is_label, "note": row.note}
