"""The in-memory shape of one ``product_images`` row.

This module holds data only: no database, network or CLI code, so that every
other module (the marketplace converters, the metadata prober, the checks) can
import :class:`ProductImage` without pulling in a driver.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProductImage"]


@dataclass(frozen=True, slots=True)
class ProductImage:
    """One photo of a product, as stored in the ``product_images`` table.

    Fields mirror the table's columns one to one:

    - ``id`` (bigint): primary key of the row.
    - ``product_id`` (bigint): the product the photo belongs to.
    - ``url`` (text): where the file is served from, e.g. ``https://cdn/…/1.jpg``.
    - ``position`` (int): 0-based display order, contiguous per product.
    - ``is_label`` (boolean): ``True`` for the reseller's internal price-tag
      photo. A label must never be published to a marketplace.
    - ``alt_text`` (text, nullable): accessibility text.
    - ``tags`` (text[], nullable): free-form tags, kept as a tuple so the record
      stays immutable and hashable; a list passed in is converted to a tuple.
    - ``mime_type`` (text, nullable): e.g. ``"image/jpeg"``.
    - ``file_size`` (bigint, nullable): size of the file in bytes.
    - ``width`` / ``height`` (int, nullable): dimensions in pixels.

    The metadata fields (``mime_type``, ``file_size``, ``width``, ``height``) are
    ``None`` until the object-storage prober has looked at the file; ``None``
    means "unknown", never "zero".

    No field is validated here: the record is a faithful copy of a row.
    """

    id: int
    product_id: int
    url: str
    position: int
    is_label: bool
    alt_text: str | None = None
    tags: tuple[str, ...] | None = None
    mime_type: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        # PostgreSQL arrays arrive as Python lists; freeze them.
        if self.tags is not None and not isinstance(self.tags, tuple):
            object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def longest_side_px(self) -> int | None:
        """The longer of ``width`` and ``height`` in pixels, or ``None`` if either is unknown."""
        if self.width is None or self.height is None:
            return None
        return max(self.width, self.height)
