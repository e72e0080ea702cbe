"""Marketplace payloads of a stored product: the database side of :mod:`product_images.app.marketplaces`.

:func:`product_payload` reads a product's images through
:class:`~product_images.app.service.ProductImageService` and builds the image part
of the listing payload with the pure builders of :mod:`product_images.app.marketplaces`
(which drop labels and apply each marketplace's limits), then re-checks the
result with :func:`~product_images.app.marketplaces.assert_no_labels`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import psycopg

from product_images.app.images import ProductImage
from product_images.app.marketplaces import (
    PhotoSelection,
    assert_no_labels,
    ebay_image_payload,
    select_photos,
    vinted_photo_payload,
)
from product_images.app.service import ProductImageService

__all__ = ["PAYLOAD_BUILDERS", "describe_dropped", "payload_urls", "product_payload"]


PAYLOAD_BUILDERS: Mapping[str, Callable[[Iterable[ProductImage]], Any]] = MappingProxyType(
    {
        "ebay": ebay_image_payload,
        "vinted": vinted_photo_payload,
    }
)
"""Payload builder per marketplace, keyed like :data:`~product_images.app.marketplaces.MARKETPLACE_RULES`
(the two key sets are equal; a test checks it)."""


def payload_urls(payload: Mapping[str, Any], marketplace: str) -> list[str]:
    """The photo URLs of a payload built for ``marketplace``, in payload order.

    ``ebay``: ``payload["product"]["imageUrls"]``; ``vinted``: the ``url`` of each
    ``payload["photos"]`` entry. Raises ``ValueError`` for another marketplace.
    """
    if marketplace == "ebay":
        return list(payload["product"]["imageUrls"])
    if marketplace == "vinted":
        return [photo["url"] for photo in payload["photos"]]
    raise ValueError(
        f"marketplace must be one of {', '.join(map(repr, sorted(PAYLOAD_BUILDERS)))}; got {marketplace!r}"
    )


def product_payload(
    conn: psycopg.Connection, tenant_schema: str, product_id: int, marketplace: str
) -> tuple[dict[str, Any], PhotoSelection]:
    """Build the image part of ``marketplace``'s listing payload for a stored product.

    Args:
        conn: a psycopg 3 connection (autocommit or not; read only).
        tenant_schema: the tenant, e.g. ``"user_1"``.
        product_id: the product's id in ``<tenant>.products``.
        marketplace: a key of :data:`PAYLOAD_BUILDERS` (``"ebay"`` or ``"vinted"``).

    Returns:
        ``(payload, selection)``: ``payload`` is
        ``{"product": {"imageUrls": [...]}}`` for eBay (1 to 24 https URLs) or
        ``{"photos": [{"url": ..., "position": ...}, ...]}`` for Vinted (1 to 20
        photos); ``selection`` is the :class:`~product_images.app.marketplaces.PhotoSelection`
        behind it (``selection.dropped`` says why each other image was left out).

    Raises:
        ValueError: ``marketplace`` is not a known one (the message lists them).
        UnknownTenantError, UnknownProductError: from the service.
        NoPublishablePhotoError: no image of the product may be published there
            (its ``selection`` holds every drop reason).
        LabelInPayloadError: a label URL reached the payload (a bug; never sent).
    """
    if marketplace not in PAYLOAD_BUILDERS:
        allowed = ", ".join(repr(name) for name in sorted(PAYLOAD_BUILDERS))
        raise ValueError(f"marketplace must be one of {allowed}; got {marketplace!r}")
    images = ProductImageService(conn, tenant_schema).get_images(product_id)
    selection = select_photos(images, marketplace)
    payload = dict(PAYLOAD_BUILDERS[marketplace](images))
    assert_no_labels(payload_urls(payload, marketplace), images)
    return payload, selection


def describe_dropped(selection: PhotoSelection) -> list[str]:
    """One line per image left out of ``selection``, for logs and the CLI's stderr.

    Output shape: ``"dropped image 12 (position 3, https://...): label: price-tag
    label photo (is_label = true)"``, i.e. id, position, URL, reason value, detail;
    in ascending position order.
    """
    return [
        f"dropped image {dropped.image.id} (position {dropped.image.position}, {dropped.image.url}): "
        f"{dropped.reason.value}: {dropped.detail}"
        for dropped in selection.dropped
    ]
