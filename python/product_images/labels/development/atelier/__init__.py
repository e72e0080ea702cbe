"""The ``atelier`` development renderer: synthetic, labelled resale-boutique product photos.

Each shop (tenant ``atelier_1``, ``atelier_2``, … about 80 products each) gets its own look,
drawn from wide ranges by its seed: 1–2 tag styles (swing card, label-printer sticker with
Code 128 / in-store EAN-13, QR sticker, dot sticker, masking tape, price-gun label), any hue
of paper, any available font, handwriting or print, its currency and price format, its light
and its phone's camera. About 22% of products carry one shop-tag photo (``is_label``); ~25%
carry hard negatives (brand/care/size labels, printed tees, shoe boxes, measuring tape,
close-ups, receipts as ``paper_insert``) and ~5% a brand's ``retail_tag``.

Interface: :data:`RENDERER`, :data:`SEEDS`, :func:`generate_set`, :func:`render_photo`.
"""

from __future__ import annotations

from ...evaluation.sets import EvalPhoto, EvalSet
from .render import render
from .setgen import build_set

__all__ = ["RENDERER", "SEEDS", "generate_set", "render_photo"]

RENDERER = "atelier"
SEEDS = {"small": 4711, "full": 90210}


def generate_set(seed: int, n_products: int = 240) -> EvalSet:
    """The set of ``n_products`` products for ``seed``, described only (no pixels); deterministic."""
    return build_set(seed, n_products)


def render_photo(photo: EvalPhoto) -> bytes:
    """The encoded image (JPEG mostly, PNG or WebP) of ``photo``; same bytes in every process."""
    return render(photo)
