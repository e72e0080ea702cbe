"""Marketplace photo filters: which product photos may be published where.

Pure functions over :class:`~product_images.app.images.ProductImage` records: no
database, network or CLI code. One table, :data:`MARKETPLACE_RULES`, holds each
marketplace's documented limits; one generic filter, :func:`select_photos`,
applies a row of it. Supporting another marketplace (e.g. Etsy) means adding a
row to the table, not writing code.

The invariant this module exists for: a price-tag label photo
(``is_label = true``) is never published. :func:`select_photos` drops every row
whose URL belongs to any label row, and the payload builders re-check their
output with :func:`assert_no_labels` before returning it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TypedDict
from urllib.parse import urlsplit

from product_images.app.images import ProductImage

__all__ = [
    "MARKETPLACE_RULES",
    "DropReason",
    "DroppedImage",
    "EbayImagePayload",
    "EbayProductImages",
    "LabelInPayloadError",
    "MarketplaceRules",
    "NoPublishablePhotoError",
    "PhotoSelection",
    "VintedPhoto",
    "VintedPhotoPayload",
    "assert_no_labels",
    "ebay_image_payload",
    "ebay_image_urls",
    "select_photos",
    "vinted_photo_payload",
    "vinted_photos",
]


# --------------------------------------------------------------------------- #
# The rules table
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class MarketplaceRules:
    """The photo limits of one marketplace: one row of :data:`MARKETPLACE_RULES`.

    Fields:

    - ``name``: the key callers pass to :func:`select_photos`, e.g. ``"ebay"``.
    - ``max_photos``: most photos one listing may carry (>= 1).
    - ``min_longest_side_px``: minimum length in pixels of the longer of width
      and height, or ``None`` for no size rule.
    - ``https_only``: ``True`` if every photo URL must use the ``https`` scheme.
    - ``allowed_mime_types``: lower-case MIME types the marketplace accepts
      (e.g. ``frozenset({"image/jpeg"})``), or ``None`` for no format rule.
    - ``source``: where these limits come from (documentation URLs or, when the
      marketplace documents nothing, what the numbers are based on).

    Raises ``ValueError`` on construction if ``max_photos < 1`` or
    ``min_longest_side_px < 1``: a row that could never keep a photo is a typo.
    """

    name: str
    max_photos: int
    min_longest_side_px: int | None = None
    https_only: bool = False
    allowed_mime_types: frozenset[str] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.max_photos < 1:
            raise ValueError(f"max_photos must be >= 1 for {self.name!r}, got {self.max_photos}")
        if self.min_longest_side_px is not None and self.min_longest_side_px < 1:
            raise ValueError(
                f"min_longest_side_px must be >= 1 or None for {self.name!r}, got {self.min_longest_side_px}"
            )


def _index_rules(*rows: MarketplaceRules) -> Mapping[str, MarketplaceRules]:
    """Key rows by name (read-only); a duplicated name is a ValueError."""
    table: dict[str, MarketplaceRules] = {}
    for row in rows:
        if row.name in table:
            raise ValueError(f"duplicate marketplace rules row {row.name!r}")
        table[row.name] = row
    return MappingProxyType(table)


MARKETPLACE_RULES: Mapping[str, MarketplaceRules] = _index_rules(
    # Vinted has no public API and publishes no developer documentation. The
    # listing form accepts at most 20 photos (figure from seller community
    # guides and Vinted help-centre answers, not from a specification). No
    # https, size or format rule is documented, so none is enforced.
    MarketplaceRules(
        name="vinted",
        max_photos=20,
        source=(
            "Vinted has no public API; 20-photo cap of the listing form "
            "per community sources and the Vinted help centre"
        ),
    ),
    # eBay:
    # - 24 photos: "for most categories, sellers can include up to 24 pictures
    #   in one listing" (12 per variation in multi-variation listings, Motors
    #   depends on the vehicle package: neither exception is modelled here).
    #   https://developer.ebay.com/api-docs/user-guides/static/trading-user-guide/pictures.html
    # - HTTPS only: Inventory API, Product.imageUrls must use HTTPS; the Media
    #   API's createImageFromUrl also refuses HTTP.
    #   https://developer.ebay.com/api-docs/sell/inventory/types/slr:Product
    # - 500 px on the longest side: eBay picture policy.
    #   https://www.ebay.com/help/policies/listing-policies/picture-policy?id=4370
    # - Formats JPG, GIF, PNG, BMP, TIFF, AVIF, HEIC, WEBP: Media API
    #   createImageFromFile / createImageFromUrl.
    #   https://developer.ebay.com/api-docs/commerce/media/resources/image/methods/
    #   createImageFromUrl
    MarketplaceRules(
        name="ebay",
        max_photos=24,
        min_longest_side_px=500,
        https_only=True,
        allowed_mime_types=frozenset(
            {
                "image/jpeg",
                "image/gif",
                "image/png",
                "image/bmp",
                "image/tiff",
                "image/avif",
                "image/heic",
                "image/webp",
            }
        ),
        source=(
            "24 photos: developer.ebay.com trading-user-guide/pictures; "
            "HTTPS: Inventory API Product.imageUrls; "
            "500 px longest side: eBay picture policy; "
            "formats: Media API createImageFromUrl"
        ),
    ),
)
"""Photo limits per marketplace, keyed by :attr:`MarketplaceRules.name` (read-only)."""


# Non-standard spellings seen in the wild (S3 Content-Type headers, old
# browsers) mapped to the registered type, so a JPEG labelled "image/jpg" is
# not refused as an unsupported format.
_MIME_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "image/jpg": "image/jpeg",
        "image/pjpeg": "image/jpeg",
        "image/x-png": "image/png",
        "image/x-ms-bmp": "image/bmp",
    }
)


# --------------------------------------------------------------------------- #
# Selection result
# --------------------------------------------------------------------------- #


class DropReason(StrEnum):
    """Why :func:`select_photos` left an image out (a ``str``: ``DropReason.LABEL == "label"``).

    Checks run in this order and the first failing one is reported:

    - ``LABEL``: the row is a price-tag label, or its URL is also the URL of a
      label row (a label URL is never published, whichever row carries it).
    - ``DUPLICATE``: an earlier product photo (by position) has the same URL.
    - ``NOT_HTTPS``: the marketplace requires HTTPS and the URL is not https.
    - ``TOO_SMALL``: width and height are both known and the longest side is
      under the marketplace's minimum (pixels).
    - ``UNSUPPORTED_TYPE``: ``mime_type`` is known and not accepted.
    - ``OVER_LIMIT``: the photo passed every check but the listing is full.
    """

    LABEL = "label"
    DUPLICATE = "duplicate"
    NOT_HTTPS = "not_https"
    TOO_SMALL = "too_small"
    UNSUPPORTED_TYPE = "unsupported_type"
    OVER_LIMIT = "over_limit"


@dataclass(frozen=True, slots=True)
class DroppedImage:
    """An image left out of a selection: the ``image``, the ``reason`` and a human ``detail``.

    ``detail`` is an English sentence for logs and UIs (e.g. ``"longest side
    499 px < 500 px minimum for ebay"``); match on ``reason``, not on it.
    """

    image: ProductImage
    reason: DropReason
    detail: str


@dataclass(frozen=True, slots=True)
class PhotoSelection:
    """The outcome of :func:`select_photos` for one marketplace.

    - ``marketplace``: the rules row used, e.g. ``"ebay"``.
    - ``kept``: the photos to publish, in publishing order (ascending
      ``position``), at most ``max_photos`` of them. May be empty.
    - ``dropped``: every other input image with its reason, in ascending
      ``position`` order.

    Every input image appears exactly once in ``kept`` or ``dropped``.
    """

    marketplace: str
    kept: tuple[ProductImage, ...]
    dropped: tuple[DroppedImage, ...]

    @property
    def urls(self) -> tuple[str, ...]:
        """The URLs of ``kept``, in publishing order."""
        return tuple(image.url for image in self.kept)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


class NoPublishablePhotoError(ValueError):
    """A product has no photo a marketplace would accept.

    Raised by the payload builders (:func:`ebay_image_payload`,
    :func:`vinted_photo_payload`) instead of returning an empty photo list: both
    marketplaces require at least one photo per listing. ``selection`` holds the
    :class:`PhotoSelection` (with every drop reason) so the caller can show why.
    """

    def __init__(self, selection: PhotoSelection) -> None:
        self.selection = selection
        super().__init__(_describe_empty_selection(selection))

    def __reduce__(self) -> tuple[type[NoPublishablePhotoError], tuple[PhotoSelection]]:
        return (type(self), (self.selection,))


class LabelInPayloadError(RuntimeError):
    """A label photo URL is about to be published.

    Raised by :func:`assert_no_labels`. A ``RuntimeError`` rather than an
    ``AssertionError`` because this guard must also run under ``python -O``.
    ``urls`` holds the offending URLs, in payload order, each once.
    """

    def __init__(self, urls: Iterable[str]) -> None:
        self.urls: tuple[str, ...] = tuple(urls)
        listed = ", ".join(repr(url) for url in self.urls)
        super().__init__(f"{len(self.urls)} price-tag label URL(s) in an outgoing marketplace payload: {listed}")

    def __reduce__(self) -> tuple[type[LabelInPayloadError], tuple[tuple[str, ...]]]:
        return (type(self), (self.urls,))


# --------------------------------------------------------------------------- #
# The generic filter
# --------------------------------------------------------------------------- #


def select_photos(images: Iterable[ProductImage], marketplace: str) -> PhotoSelection:
    """Choose which of a product's photos may be published on ``marketplace``.

    Input: any iterable of :class:`ProductImage` rows of one product, in any
    order; nothing about them is validated. Output: a :class:`PhotoSelection`
    whose ``kept`` may be empty (the payload builders turn that into
    :class:`NoPublishablePhotoError`; this function does not raise for it).

    Images are visited in ascending ``position`` (ties by ``id``) and each is
    kept or dropped with the first matching :class:`DropReason`:

    1. ``label``: ``is_label`` is true, or the URL equals the URL of any label
       row in the input (exact string comparison).
    2. ``duplicate``: an earlier product photo has the same URL (exact string
       comparison; the first one is the candidate even if it is later dropped
       for another reason, so a URL is considered once).
    3. ``not_https``: the row's ``https_only`` is set and the URL scheme is not
       ``https``.
    4. ``too_small``: ``min_longest_side_px`` is set, ``width`` and ``height``
       are both known, and ``max(width, height)`` is below it (pixels). Unknown
       dimensions (not probed yet) are kept.
    5. ``unsupported_type``: ``allowed_mime_types`` is set and ``mime_type`` is
       known and not in it (compared lower-case, without parameters, with
       ``image/jpg`` read as ``image/jpeg``). An unknown type is kept.
    6. ``over_limit``: the photo passed every check but ``max_photos`` photos
       are already kept.

    The limits come from the marketplace's row in :data:`MARKETPLACE_RULES`,
    which records where each one is documented.

    Raises ``ValueError`` naming the ``marketplace`` argument and the allowed
    values when ``marketplace`` is not a key of :data:`MARKETPLACE_RULES`.
    """
    rules = _rules_for(marketplace)
    ordered = sorted(images, key=lambda image: (image.position, image.id))

    label_ids_by_url: dict[str, int] = {}
    for image in ordered:
        if image.is_label:
            label_ids_by_url.setdefault(image.url, image.id)

    kept: list[ProductImage] = []
    dropped: list[DroppedImage] = []
    first_by_url: dict[str, ProductImage] = {}

    for image in ordered:
        drop = _first_failed_check(image, rules, label_ids_by_url, first_by_url)
        if not image.is_label:
            first_by_url.setdefault(image.url, image)
        if drop is None and len(kept) >= rules.max_photos:
            drop = (
                DropReason.OVER_LIMIT,
                f"{rules.name} allows at most {rules.max_photos} photos per listing",
            )
        if drop is None:
            kept.append(image)
        else:
            dropped.append(DroppedImage(image=image, reason=drop[0], detail=drop[1]))

    return PhotoSelection(marketplace=rules.name, kept=tuple(kept), dropped=tuple(dropped))


def vinted_photos(images: Iterable[ProductImage]) -> PhotoSelection:
    """:func:`select_photos` with the ``"vinted"`` rules (at most 20 photos, labels out).

    Input: :class:`ProductImage` rows of one product, any order. Output: a
    :class:`PhotoSelection`, possibly with nothing kept. Raises nothing.
    """
    return select_photos(images, "vinted")


def ebay_image_urls(images: Iterable[ProductImage]) -> PhotoSelection:
    """:func:`select_photos` with the ``"ebay"`` rules.

    eBay rules: at most 24 photos, HTTPS URLs only, longest side >= 500 px when
    known, JPG/GIF/PNG/BMP/TIFF/AVIF/HEIC/WEBP when the type is known (sources
    in :data:`MARKETPLACE_RULES`). Input: :class:`ProductImage` rows of one
    product, any order. Output: a :class:`PhotoSelection` (``.urls`` gives the
    URL tuple), possibly with nothing kept. Raises nothing.
    """
    return select_photos(images, "ebay")


# --------------------------------------------------------------------------- #
# Payload builders
# --------------------------------------------------------------------------- #


class EbayProductImages(TypedDict):
    """The image part of an eBay Inventory API ``Product``: ``{"imageUrls": [url, ...]}``."""

    imageUrls: list[str]


class EbayImagePayload(TypedDict):
    """The image part of an eBay inventory item: ``{"product": {"imageUrls": [...]}}``."""

    product: EbayProductImages


class VintedPhoto(TypedDict):
    """One photo in our Vinted payload: ``{"url": str, "position": int}`` (0-based)."""

    url: str
    position: int


class VintedPhotoPayload(TypedDict):
    """Our Vinted photo payload: ``{"photos": [{"url": ..., "position": ...}, ...]}``."""

    photos: list[VintedPhoto]


def ebay_image_payload(images: Iterable[ProductImage]) -> EbayImagePayload:
    """Build the image part of an eBay Inventory API inventory item.

    Input: :class:`ProductImage` rows of one product, any order. Output:
    ``{"product": {"imageUrls": ["https://...", ...]}}``: 1 to 24 HTTPS URLs in
    ``position`` order, ready to merge into the body of
    ``createOrReplaceInventoryItem`` (Inventory API ``Product.imageUrls``).

    Raises :class:`NoPublishablePhotoError` when no photo survives
    :func:`ebay_image_urls` (eBay requires at least one photo per listing), and
    :class:`LabelInPayloadError` if a label URL reached the payload (a bug:
    :func:`select_photos` should already have dropped it).
    """
    rows = tuple(images)
    urls = _publishable_urls(ebay_image_urls(rows), rows)
    return {"product": {"imageUrls": urls}}


def vinted_photo_payload(images: Iterable[ProductImage]) -> VintedPhotoPayload:
    """Build the photo list of a Vinted listing, in our own shape.

    Vinted has no public API, so this shape is ours, not Vinted's: whatever
    publishes to Vinted (browser automation, a partner tool) adapts it.

    Input: :class:`ProductImage` rows of one product, any order. Output:
    ``{"photos": [{"url": str, "position": int}, ...]}``: 1 to 20 photos in
    publishing order; ``position`` is the 0-based slot on the listing,
    renumbered after filtering (not the ``product_images.position`` column).

    Raises :class:`NoPublishablePhotoError` when no photo survives
    :func:`vinted_photos`, and :class:`LabelInPayloadError` if a label URL
    reached the payload (a bug: :func:`select_photos` should have dropped it).
    """
    rows = tuple(images)
    urls = _publishable_urls(vinted_photos(rows), rows)
    return {"photos": [{"url": url, "position": slot} for slot, url in enumerate(urls)]}


# --------------------------------------------------------------------------- #
# Safety net
# --------------------------------------------------------------------------- #


def assert_no_labels(payload_urls: Iterable[str], images: Iterable[ProductImage]) -> None:
    """Refuse an outgoing payload that contains a price-tag label URL.

    Input: the URLs about to be sent to a marketplace, and the product's
    :class:`ProductImage` rows (labels included). A URL is a label URL if any
    row with ``is_label = true`` has it (exact string comparison), even if a
    non-label row also has it. Returns ``None`` when no payload URL is a label
    URL.

    Raises :class:`LabelInPayloadError` naming every offending URL otherwise.
    A real exception, not ``assert``, so it also runs under ``python -O``.
    """
    label_urls = {image.url for image in images if image.is_label}
    offending = [url for url in dict.fromkeys(payload_urls) if url in label_urls]
    if offending:
        raise LabelInPayloadError(offending)


# --------------------------------------------------------------------------- #
# Internals
# --------------------------------------------------------------------------- #


def _rules_for(marketplace: str) -> MarketplaceRules:
    """The rules row for ``marketplace``, or ValueError listing the allowed values."""
    rules = MARKETPLACE_RULES.get(marketplace)
    if rules is None:
        allowed = ", ".join(repr(name) for name in sorted(MARKETPLACE_RULES))
        raise ValueError(f"marketplace must be one of {allowed}; got {marketplace!r}")
    return rules


def _first_failed_check(
    image: ProductImage,
    rules: MarketplaceRules,
    label_ids_by_url: Mapping[str, int],
    first_by_url: Mapping[str, ProductImage],
) -> tuple[DropReason, str] | None:
    """The first check ``image`` fails (reason, detail), or None if it may be published."""
    if image.is_label:
        return DropReason.LABEL, "price-tag label photo (is_label = true)"
    label_id = label_ids_by_url.get(image.url)
    if label_id is not None:
        return DropReason.LABEL, f"url is also the url of label image id={label_id}"

    first = first_by_url.get(image.url)
    if first is not None:
        return (
            DropReason.DUPLICATE,
            f"same url as image id={first.id} at position {first.position}",
        )

    if rules.https_only and urlsplit(image.url).scheme.lower() != "https":
        return DropReason.NOT_HTTPS, f"{rules.name} accepts https URLs only"

    longest = image.longest_side_px
    if rules.min_longest_side_px is not None and longest is not None and longest < rules.min_longest_side_px:
        return (
            DropReason.TOO_SMALL,
            f"longest side {longest} px < {rules.min_longest_side_px} px minimum "
            f"for {rules.name} ({image.width}x{image.height} px)",
        )

    if (
        rules.allowed_mime_types is not None
        and image.mime_type is not None
        and _normalize_mime(image.mime_type) not in rules.allowed_mime_types
    ):
        allowed = ", ".join(sorted(rules.allowed_mime_types))
        return (
            DropReason.UNSUPPORTED_TYPE,
            f"{image.mime_type!r} is not accepted by {rules.name} (accepted: {allowed})",
        )

    return None


def _normalize_mime(mime_type: str) -> str:
    """``"Image/JPG; q=1"`` -> ``"image/jpeg"``: lower case, no parameters, aliases resolved."""
    bare = mime_type.split(";", 1)[0].strip().lower()
    return _MIME_ALIASES.get(bare, bare)


def _publishable_urls(selection: PhotoSelection, images: Iterable[ProductImage]) -> list[str]:
    """The kept URLs, after the two guards shared by every payload builder."""
    if not selection.kept:
        raise NoPublishablePhotoError(selection)
    urls = list(selection.urls)
    assert_no_labels(urls, images)
    return urls


def _describe_empty_selection(selection: PhotoSelection) -> str:
    """One line for NoPublishablePhotoError: the product and the count per drop reason."""
    product_ids = sorted({dropped.image.product_id for dropped in selection.dropped})
    product = f" (product {product_ids[0]})" if len(product_ids) == 1 else ""
    if not selection.dropped:
        return f"no publishable photo for {selection.marketplace}{product}: no images given"
    counts = Counter(dropped.reason for dropped in selection.dropped)
    summary = ", ".join(f"{reason.value}: {counts[reason]}" for reason in DropReason if counts[reason])
    return (
        f"no publishable photo for {selection.marketplace}{product}: "
        f"{len(selection.dropped)} image(s) dropped ({summary})"
    )
