"""The limits on an image's fields, and the checks of :class:`~product_images.app.service.ProductImageService`'s
arguments against them.

The limits are importable from :mod:`product_images.app.service` too. Every check raises
:class:`~product_images.app.errors.InvalidImageError` naming the field and its allowed values
(``TypeError`` for an id that is not an ``int``: a programming error, not bad data).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from product_images.app.errors import InvalidImageError

__all__ = [
    "ALLOWED_MIME_TYPES",
    "ALLOWED_URL_SCHEMES",
    "MAX_DIMENSION_PX",
    "MAX_FILE_SIZE_BYTES",
    "MAX_URL_LENGTH",
    "NewImage",
    "check_new_image",
    "require_id",
]


ALLOWED_MIME_TYPES: frozenset[str] = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/bmp",
        "image/tiff",
    }
)
"""MIME types :meth:`ProductImageService.add_image` accepts (lower-case, no parameters).

The same set eBay's Media API accepts (JPG, GIF, PNG, BMP, TIFF, AVIF, HEIC,
WEBP; see ``MARKETPLACE_RULES["ebay"]``), so an image the app stores is never
refused by eBay for its format. Aliases such as ``image/jpg`` are refused: the
caller sends the registered name."""

ALLOWED_URL_SCHEMES: tuple[str, ...] = ("http", "https")
"""URL schemes :meth:`ProductImageService.add_image` accepts. ``http`` is stored
(Vinted takes it) but eBay drops it (reason ``not_https``)."""

MAX_URL_LENGTH = 2048
"""Longest accepted URL, in characters: the de facto limit of browsers and CDNs
(our policy; PostgreSQL's ``text`` has no such limit)."""

MAX_FILE_SIZE_BYTES = 50 * 1024 * 1024
"""Largest accepted ``file_size``: 50 MiB = 52,428,800 bytes (our upload policy,
not a marketplace rule; a product photo is a few MiB at most)."""

MAX_DIMENSION_PX = 65_535
"""Largest accepted ``width`` / ``height``, in pixels: the JPEG format's limit
(16-bit dimension fields). Larger values are data errors, not photos."""

_JPEG_LIMIT = "(the JPEG format's limit: 16-bit dimension fields)"


@dataclass(frozen=True)
class NewImage:
    """The arguments of :meth:`~product_images.app.service.ProductImageService.add_image`, checked.

    ``url`` as given; ``position`` the 0-based slot asked for (None: append; its range is checked
    against the product's images later); ``tags`` as a list; ``mime_type`` lower-case (or None);
    ``file_size`` in bytes, ``width`` and ``height`` in pixels (or None).
    """

    url: str
    position: int | None
    is_label: bool
    alt_text: str | None
    tags: list[str]
    mime_type: str | None
    file_size: int | None
    width: int | None
    height: int | None


def check_new_image(
    url: Any,
    position: Any,
    is_label: Any,
    alt_text: Any,
    tags: Any,
    mime_type: Any,
    file_size: Any,
    width: Any,
    height: Any,
) -> NewImage:
    """Check ``add_image``'s arguments (given in its order), in that order: url, mime_type, file_size,
    width, height, is_label, alt_text, tags, position.

    Returns:
        A :class:`NewImage` of the values to store.

    Raises:
        InvalidImageError: the first argument out of its allowed values (see ``add_image``).
    """
    url = _validate_url(url)
    mime_type = _validate_mime_type(mime_type)
    file_size = _validate_int("file_size", file_size, MAX_FILE_SIZE_BYTES, "bytes", "(50 MiB: our upload policy)")
    width = _validate_int("width", width, MAX_DIMENSION_PX, "pixels", _JPEG_LIMIT)
    height = _validate_int("height", height, MAX_DIMENSION_PX, "pixels", _JPEG_LIMIT)
    if not isinstance(is_label, bool):
        raise InvalidImageError("is_label", is_label, "True or False")
    if alt_text is not None and not isinstance(alt_text, str):
        raise InvalidImageError("alt_text", alt_text, "a string or None")
    if alt_text is not None and not _storable(alt_text):
        raise InvalidImageError("alt_text", alt_text, f"a string {_STORABLE} or None")
    tag_list = _validate_tags(tags)
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise InvalidImageError("position", position, "an integer or None")
    return NewImage(url, position, is_label, alt_text, tag_list, mime_type, file_size, width, height)


def require_id(name: str, value: Any) -> None:
    """Raise TypeError unless ``value`` is an int (not a bool): a str id would silently match nothing."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")


def _validate_url(url: Any) -> str:
    allowed = (
        f"an absolute {' or '.join(s + '://' for s in ALLOWED_URL_SCHEMES)} URL with a host, "
        f"no whitespace, at most {MAX_URL_LENGTH} characters (our policy: browsers' and CDNs' de facto limit)"
    )
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidImageError("url", url, allowed)
    # Cc: C0 and C1 control characters; Cs: unpaired surrogates (UTF-8 cannot encode them).
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cs") for char in url):
        raise InvalidImageError("url", url, allowed)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidImageError("url", url, allowed) from None
    if parts.scheme.lower() not in ALLOWED_URL_SCHEMES or not parts.hostname:
        raise InvalidImageError("url", url, allowed)
    return url


def _validate_mime_type(mime_type: Any) -> str | None:
    if mime_type is None:
        return None
    allowed = "None or one of " + ", ".join(sorted(ALLOWED_MIME_TYPES))
    if not isinstance(mime_type, str) or mime_type.strip().lower() not in ALLOWED_MIME_TYPES:
        raise InvalidImageError("mime_type", mime_type, allowed)
    return mime_type.strip().lower()


def _validate_int(field: str, value: Any, maximum: int, unit: str, note: str = "") -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        # A float that is a whole number (e.g. 800.0) is still refused: sizes are counts.
        extra = f" {note}" if note else ""
        raise InvalidImageError(field, value, f"None or an integer number of {unit} from 1 to {maximum}{extra}")
    return value


def _validate_tags(tags: Any) -> list[str]:
    allowed = "an iterable of strings (not a single string)"
    if isinstance(tags, (str, bytes)) or tags is None:
        raise InvalidImageError("tags", tags, allowed)
    try:
        tag_list = list(tags)
    except TypeError:
        raise InvalidImageError("tags", tags, allowed) from None
    if not all(isinstance(tag, str) for tag in tag_list):
        raise InvalidImageError("tags", tags, allowed)
    if not all(_storable(tag) for tag in tag_list):
        raise InvalidImageError("tags", tags, f"an iterable of strings {_STORABLE}")
    return tag_list


_STORABLE = "without NUL (\\x00) characters or unpaired surrogates (PostgreSQL text cannot store them)"


def _storable(text: str) -> bool:
    """False when PostgreSQL's ``text`` cannot hold ``text``: a NUL, or a lone surrogate (not UTF-8 encodable)."""
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)
