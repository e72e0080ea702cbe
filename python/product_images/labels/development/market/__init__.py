"""The ``market`` development renderer: flea-market / consignment reseller product photos.

Products (clothes, shoes, bags, jewellery) photographed with a phone on tablecloths,
grass, tiles, cardboard, beds, floors; about 22 % have one photo of the shop's own price
tag (swing tags with a pen price, label-printer stickers with Code 128 / in-store EAN-13,
QR labels, coloured dot stickers, masking tape), about 25 % hard negatives (brand, care
and size labels, printed tees, shoe boxes, measuring tapes, fabric close-ups, retail tags).

* ``generate_set(seed, n_products)`` → :class:`EvalSet` (specs only, cheap, deterministic).
* ``render_photo(photo)`` → encoded bytes (JPEG mostly, some PNG / WebP), deterministic.
"""

from __future__ import annotations

from ...evaluation.sets import EvalPhoto, EvalSet
from .catalog import make_set
from .photo import render

__all__ = ["RENDERER", "SEEDS", "generate_set", "render_photo"]

RENDERER = "market"
SEEDS = {"small": 7101, "full": 7202}


def generate_set(seed: int, n_products: int = 240) -> EvalSet:
    """Describe ``n_products`` products (tenants ``market_1``…, one per ~80) for ``seed``; no pixels drawn."""
    return make_set(seed, n_products)


def render_photo(photo: EvalPhoto) -> bytes:
    """Draw one photo of a set; returns the encoded file (JPEG, PNG or WebP bytes)."""
    return render(photo)
