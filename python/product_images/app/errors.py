"""The errors :class:`~product_images.app.service.ProductImageService` raises on bad input.

Each is a :class:`ProductImageError` (a ``ValueError``); whenever one is raised, the
database is left exactly as it was. They are importable from
:mod:`product_images.app.service` too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "InvalidImageError",
    "InvalidOrderError",
    "ProductImageError",
    "UnknownImageError",
    "UnknownProductError",
    "UnknownTenantError",
]


class ProductImageError(ValueError):
    """Base class of every error :class:`ProductImageService` raises on bad input.

    A ``ValueError``: each one means an argument does not fit the data (an id
    that does not exist, a malformed URL, an order that is not a permutation).
    Whenever one is raised, the database is left exactly as it was.
    """


class UnknownTenantError(ProductImageError):
    """The tenant schema does not exist or has no ``products`` / ``product_images`` table.

    ``tenant_schema`` holds the name given.
    """

    def __init__(self, tenant_schema: str, message: str) -> None:
        self.tenant_schema = tenant_schema
        super().__init__(message)


class UnknownProductError(ProductImageError):
    """No row of ``<tenant>.products`` has this id. ``product_id`` holds it."""

    def __init__(self, tenant_schema: str, product_id: int) -> None:
        self.tenant_schema = tenant_schema
        self.product_id = product_id
        super().__init__(f"product {product_id} does not exist in tenant {tenant_schema!r}")


class UnknownImageError(ProductImageError):
    """No row of ``<tenant>.product_images`` has this id. ``image_id`` holds it."""

    def __init__(self, tenant_schema: str, image_id: int) -> None:
        self.tenant_schema = tenant_schema
        self.image_id = image_id
        super().__init__(f"image {image_id} does not exist in tenant {tenant_schema!r}")


class InvalidImageError(ProductImageError):
    """An argument of :meth:`ProductImageService.add_image` is out of its allowed values.

    Attributes: ``field`` (the argument's name, e.g. ``"mime_type"``), ``value``
    (what was given) and ``allowed`` (a sentence describing the allowed values,
    e.g. ``"one of image/avif, image/bmp, ..."``). The message names all three:
    ``invalid mime_type 'image/svg+xml': must be one of image/avif, ...``.
    """

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        super().__init__(f"invalid {field} {shown}: must be {allowed}")


class InvalidOrderError(ProductImageError):
    """The ids given to :meth:`ProductImageService.reorder_images` are not a permutation
    of the product's image ids.

    Attributes (each a sorted tuple of ids): ``missing`` (the product's images
    not listed), ``extra`` (listed ids that are not images of the product) and
    ``duplicated`` (ids listed more than once). The message lists the non-empty
    ones, e.g. ``reorder of product 7 must list each of its 3 image ids exactly
    once: missing [12]; extra [99]``.
    """

    def __init__(
        self,
        product_id: int,
        expected: int,
        *,
        missing: Iterable[int] = (),
        extra: Iterable[int] = (),
        duplicated: Iterable[int] = (),
    ) -> None:
        self.product_id = product_id
        self.missing: tuple[int, ...] = tuple(sorted(missing))
        self.extra: tuple[int, ...] = tuple(sorted(extra))
        self.duplicated: tuple[int, ...] = tuple(sorted(duplicated))
        problems = [
            f"{name} {list(ids)}"
            for name, ids in (("missing", self.missing), ("extra", self.extra), ("duplicated", self.duplicated))
            if ids
        ]
        super().__init__(
            f"reorder of product {product_id} must list each of its {expected} image ids "
            f"exactly once: {'; '.join(problems)}"
        )
