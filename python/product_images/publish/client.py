"""Marketplace access: the small interface the orchestrator needs, and its HTTP implementation.

:class:`MarketplaceClient` is what :func:`product_images.publish.tasks.run_job`
calls: upload one photo, create a listing, update a listing, find the listings
carrying the seller's reference. Every call that changes something carries
an idempotency key: a marketplace (or the gateway in front of it) that sees the
same key twice answers the first call's result again instead of acting twice,
so a retried request, or a task taken up again after a crash, never publishes a
photo twice. The header is ``Idempotency-Key``, as in Stripe's API and the IETF
draft "The Idempotency-Key HTTP Header Field".

:class:`HttpMarketplaceClient` speaks the JSON API the local stand-in
(:mod:`product_images.publish.standin`) serves, which is the shape a gateway in
front of Vinted (no public API) or eBay (Media API ``createImageFromUrl`` then
Inventory API ``imageUrls``) would have here:

===========================================  =============================  ==============================
request                                      body                           answer
===========================================  =============================  ==============================
``POST {base}/{marketplace}/photos``         ``{"url": ...}``               201 ``{"photo_id", "url"}``
``POST {base}/{marketplace}/listings``       the listing                    201 ``{"listing_id", ...}``
``PUT {base}/{marketplace}/listings/{id}``   the listing                    200 ``{"listing_id", ...}``
``GET {base}/{marketplace}/listings``        ``?reference=<reference>``     200 ``{"listings": [...]}``
===========================================  =============================  ==============================

Every listing carries the seller's own ``reference`` for the product (the listing's body has it; see
:func:`~product_images.publish.plans.listing_reference`), and :meth:`~MarketplaceClient.find_listing`
asks for the live listings that carry one. This is what makes a listing whose creation's answer was
lost findable again: eBay's Inventory API keys a seller's items by their SKU (``getInventoryItem``,
``getOffers?sku=``; ``createOffer`` refuses a second offer of an SKU), and Vinted has no public API: a
gateway in front of it is assumed to keep the reference with each listing it creates and to answer
this lookup from it (the assumption :mod:`~product_images.publish.task_actions` relies on).

It uses ``httpx`` (timeouts on connect and read, one connection pool) and
``tenacity`` for its retries: a 429, 500, 502, 503 or 504 answer, a timeout or a
connection error is retried with the same idempotency key, waiting the answer's
``Retry-After`` (seconds or an HTTP date, at most ``max_wait``) or an
exponentially growing wait; any other 4xx is not retried.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx
import tenacity

from product_images.publish.plans import BadRunOption

__all__ = [
    "RETRYABLE_STATUSES",
    "check_client_options",
    "HttpMarketplaceClient",
    "MarketplaceClient",
    "MarketplaceError",
    "MarketplaceResponse",
]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses retried: too many requests (RFC 6585) and the server errors that mean "try
again later" (RFC 9110 §15.6); 501 and 505 are permanent and not retried."""


class MarketplaceError(Exception):
    """A marketplace call failed.

    Attributes:
        retryable: ``True`` when trying again later may succeed (429/5xx, a timeout,
            a connection error, after this client's own retries); ``False`` for an
            answer that will not change (another 4xx, a malformed answer).
        status: the last HTTP status, or ``None`` when no answer came.
        attempts: HTTP requests made for this call.
    """

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class MarketplaceResponse:
    """A successful marketplace call.

    Attributes:
        body: the answer's JSON object, e.g. ``{"photo_id": "p-3", "url": ...}``.
        attempts: HTTP requests it took (1 when the first one succeeded).
        replayed: the marketplace answered a request it had already seen with this
            idempotency key (its ``Idempotent-Replayed: true`` header): nothing was
            done twice.
    """

    body: dict[str, Any]
    attempts: int
    replayed: bool


@runtime_checkable
class MarketplaceClient(Protocol):
    """What the orchestrator needs from a marketplace. Each method raises :class:`MarketplaceError`."""

    marketplace: str
    """``"vinted"`` or ``"ebay"``: which :data:`~product_images.app.marketplaces.MARKETPLACE_RULES` it follows."""

    def upload_photo(self, url: str, *, idempotency_key: str) -> MarketplaceResponse:
        """Publish one photo (the marketplace fetches ``url``); the body has ``photo_id``."""
        ...

    def create_listing(self, listing: Mapping[str, Any], *, idempotency_key: str) -> MarketplaceResponse:
        """Create a listing (title, price, photo_ids in order...); the body has ``listing_id``."""
        ...

    def update_listing(
        self, listing_id: str, listing: Mapping[str, Any], *, idempotency_key: str
    ) -> MarketplaceResponse:
        """Replace an existing listing's content; the body has ``listing_id``."""
        ...

    def find_listing(self, reference: str) -> MarketplaceResponse:
        """The live listings carrying the seller's ``reference``: the body is ``{"listings": [{"listing_id",
        ...}, ...]}`` (an empty list when there is none). Reads only: no idempotency key."""
        ...


class _Retry(Exception):
    """One HTTP attempt that may succeed when tried again (internal to the client)."""

    def __init__(self, message: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpMarketplaceClient:
    """:class:`MarketplaceClient` over HTTP (``httpx``), with timeouts and retries.

    Args:
        base_url: the API's root, e.g. ``"http://127.0.0.1:8080"``; requests go to
            ``{base_url}/{marketplace}/...``.
        marketplace: ``"vinted"`` or ``"ebay"``.
        token: sent as ``Authorization: Bearer <token>`` when given.
        timeout: seconds to wait for an answer (read and write), per request.
        connect_timeout: seconds to wait for the connection, per request.
        max_attempts: HTTP requests per call at most (>= 1), retries included.
        backoff: seconds before the first retry when the server gives no
            ``Retry-After``; doubled after each retry, with up to 25% jitter.
        max_wait: longest wait between two requests, ``Retry-After`` included (seconds).
        transport: an ``httpx`` transport (default: httpx's own).

    The longest a call can take is about ``max_attempts * (connect_timeout + timeout)``
    plus the waits: keep the orchestrator's lease above it.

    Raises:
        BadRunOption (a ValueError): ``base_url`` is no http(s) URL with a host, ``max_attempts < 1``, or a
            timeout that is not a finite positive number of seconds (the message names the argument and its range).
    """

    def __init__(
        self,
        base_url: str,
        marketplace: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_wait: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check_client_options(base_url, max_attempts, timeout, connect_timeout)
        self.marketplace = marketplace
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        headers = {"Accept": "application/json", "User-Agent": "product-images-publish/0.1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=f"{self.base_url}/{marketplace}",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
        )

    # ----------------------------------------------------------- interface

    def upload_photo(self, url: str, *, idempotency_key: str) -> MarketplaceResponse:
        """``POST /photos {"url"}``; see :class:`MarketplaceClient`."""
        return self._call("POST", "/photos", {"url": url}, idempotency_key, expect="photo_id")

    def create_listing(self, listing: Mapping[str, Any], *, idempotency_key: str) -> MarketplaceResponse:
        """``POST /listings``; see :class:`MarketplaceClient`."""
        return self._call("POST", "/listings", dict(listing), idempotency_key, expect="listing_id")

    def update_listing(
        self, listing_id: str, listing: Mapping[str, Any], *, idempotency_key: str
    ) -> MarketplaceResponse:
        """``PUT /listings/{listing_id}``; see :class:`MarketplaceClient`."""
        return self._call("PUT", f"/listings/{listing_id}", dict(listing), idempotency_key, expect="listing_id")

    def find_listing(self, reference: str) -> MarketplaceResponse:
        """``GET /listings?reference=...``; see :class:`MarketplaceClient` (a 429/5xx, timeout or connection
        error is retried like any call; an answer without a ``listings`` list raises a permanent MarketplaceError)."""
        return self._call("GET", "/listings", None, None, expect="listings", params={"reference": reference})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HttpMarketplaceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------- internals

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Retry-After when the answer gave one, else exponential backoff with jitter; at most max_wait."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retry) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        exponential = tenacity.wait_exponential_jitter(initial=self.backoff, max=self.max_wait, jitter=self.backoff / 4)
        return min(exponential(state), self.max_wait)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        key: str | None,
        *,
        expect: str,
        params: dict[str, str] | None = None,
    ) -> MarketplaceResponse:
        """One call, retried: ``body`` as JSON and ``key`` as ``Idempotency-Key`` when given; the answer must be a
        JSON object with a non-empty ``expect`` (for ``listings``: a list, maybe empty)."""
        where = f"{method} {self._http.base_url.path.rstrip('/')}{path}"
        attempts = 0
        headers = {"Idempotency-Key": key} if key is not None else {}

        def attempt() -> MarketplaceResponse:
            nonlocal attempts
            attempts += 1
            try:
                response = self._http.request(method, path, json=body, headers=headers, params=params)
            except httpx.TimeoutException as error:
                raise _Retry(f"{where}: no answer within the timeout ({type(error).__name__})", None, None) from error
            except httpx.TransportError as error:
                raise _Retry(f"{where}: {type(error).__name__}: {error}", None, None) from error
            if response.status_code in RETRYABLE_STATUSES:
                raise _Retry(
                    f"{where}: HTTP {response.status_code}: {_snippet(response)}",
                    response.status_code,
                    _retry_after_seconds(response.headers.get("Retry-After")),
                )
            return _final_answer(response, where, expect, attempts)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retry),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retry as error:
            raise MarketplaceError(
                f"{error} (after {attempts} attempt(s))", retryable=True, status=error.status, attempts=attempts
            ) from error


def check_client_options(base_url: str, max_attempts: int, timeout: float, connect_timeout: float) -> None:
    """Raise BadRunOption naming the first of :class:`HttpMarketplaceClient`'s arguments out of range: ``base_url``
    an http(s) URL with a host, ``max_attempts`` >= 1, the timeouts finite seconds > 0 (the CLI calls it before it
    creates a job, so a bad option leaves none)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRunOption("endpoint", base_url, "an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080")
    if max_attempts < 1:
        raise BadRunOption("max_attempts", max_attempts, ">= 1")
    for argument, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
        if not (math.isfinite(value) and value > 0):
            raise BadRunOption(argument, value, "a finite number of seconds > 0")


def _final_answer(response: httpx.Response, where: str, expect: str, attempts: int) -> MarketplaceResponse:
    """The call's response from an answer that is not retried: a MarketplaceError (not retryable) for a 4xx
    or an answer that is no JSON object with ``expect`` (:func:`_has`)."""
    if response.status_code >= 400:
        raise MarketplaceError(
            f"{where}: HTTP {response.status_code} (not retried): {_snippet(response)}",
            retryable=False,
            status=response.status_code,
            attempts=attempts,
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not _has(answer, expect):
        raise MarketplaceError(
            f"{where}: HTTP {response.status_code} without {expect!r} in a JSON object: {_snippet(response)}",
            retryable=False,
            status=response.status_code,
            attempts=attempts,
        )
    return MarketplaceResponse(
        body=answer,
        attempts=attempts,
        replayed=response.headers.get("Idempotent-Replayed", "").lower() == "true",
    )


def _has(answer: Any, expect: str) -> bool:
    """The answer is a JSON object with ``expect``: a non-empty value, or a list for ``listings``."""
    if not isinstance(answer, dict):
        return False
    if expect == "listings":
        return isinstance(answer.get(expect), list)
    return bool(answer.get(expect))


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    """The start of an answer's body, on one line, for error messages."""
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
