"""The "resale" development renderer: online resale shops with a small photo studio.

Each set has 3–4 shops (tenants ``resale_1`` …); the last one sells mostly sneakers. A shop's
own price tag (kind ``shop_tag``, the only label) follows its house style (:mod:`.shops`):
label-printer/thermal stickers with a Code 128 SKU (``"RS-004512"``), store-scale stickers with
an in-store EAN-13 (prefix 20–29) and a price, QR labels (SKU or product URL), printed card hang
tags, small stickers on a sneaker sole or box lid; sometimes a second kind (colour price dots,
masking tape with a marker price, kraft hang tags with a handwritten price). Photos are shot on
lightboxes and white or grey seamless paper (sometimes at home: wood, tiles, beds, tablecloths,
walls), with flash glare on glossy stickers, and are sometimes turned by 90° (phone sideways,
no EXIF).

Kinds of photos: ``garment``, ``detail``, ``closeup``, ``shop_tag``, and the hard negatives
``retail_tag`` (a brand's hang tag: brand price such as ``"€39.99"``, EAN-13 not in-store),
``care_label``, ``size_label``, ``brand_label``, ``printed_tee``, ``shoe_box`` (the brand's end
label with EAN and size, no price), ``measuring_tape``, and ``receipt`` (a till receipt with
prices and a total: documented here as this renderer's extra hard negative).

Sizes: long side 800–1600 pixels; JPEG (quality 60–92) about 85%, PNG 10%, WebP 5%.
"""

from __future__ import annotations

import numpy as np

from product_images.labels.evaluation.sets import EvalPhoto, EvalSet

from .backgrounds import background
from .camera import develop
from .catalog import describe_set
from .scenes import draw_scene

__all__ = ["RENDERER", "SEEDS", "generate_set", "render_photo"]

RENDERER = "resale"
SEEDS = {"small": 31877, "full": 58214}


def generate_set(seed: int, n_products: int = 240) -> EvalSet:
    """The labelled set of ``n_products`` products for ``seed`` (no pixels drawn; deterministic)."""
    return describe_set(seed, n_products)


def render_photo(photo: EvalPhoto) -> bytes:
    """The encoded file (JPEG, PNG or WebP) of ``photo``: the same bytes for the same photo in any process."""
    spec = dict(photo.spec)
    rng = np.random.default_rng([photo.seed, 7_340_033])
    w, h = int(spec["width"]), int(spec["height"])
    canvas = background(h, w, spec, rng)
    draw_scene(canvas, spec, rng)
    return develop(canvas, spec, rng)
