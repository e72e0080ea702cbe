"""The "vintage" development renderer: labelled photos of vintage and charity shops' products.

Shops (tenants ``vintage_1``…, 3 or 4 per set, house styles in :mod:`.shops`) tag their stock
mostly by hand: kraft or white hang cards with a rubber-stamped name, masking tape and round
colour stickers with a marker price, one shop's pricing gun stickers (printed digits, no
currency), plus a few printed labels (Code 128 / in-store EAN-13 thermal labels, QR stock
labels).  Photos look taken with an old phone in a crowded shop or at home: warm or mixed
light, cluttered backgrounds, blur, noise, tags held in a hand or pinned to the garment.

Photo kinds: ``garment``, ``detail``, ``shop_tag`` (the only label), and the hard negatives
``retail_tag``, ``care_label``, ``size_label``, ``brand_label``, ``printed_tee``, ``shoe_box``,
``measuring_tape``, ``closeup`` and ``receipt`` (a till receipt with prices: not a tag).

Modules: :mod:`.catalog` (the set, no pixels), :mod:`.shops` and :mod:`.photos` (house styles
and specs), :mod:`.tags` and :mod:`.negatives` (the flat objects), :mod:`.garments`,
:mod:`.backgrounds`, :mod:`.props` and :mod:`.scenes` (the scene), :mod:`.camera` (the phone),
:mod:`.handwriting`, :mod:`.paper`, :mod:`.codes`, :mod:`.fonts`, :mod:`.spec` (helpers).
"""

from __future__ import annotations

import numpy as np

from product_images.labels.evaluation.sets import EvalPhoto, EvalProduct, EvalSet

from .camera import develop, encode
from .catalog import RENDERER, build_set
from .scenes import compose
from .spec import Spec

__all__ = ["RENDERER", "SEEDS", "EvalPhoto", "EvalProduct", "EvalSet", "generate_set", "render_photo"]

SEEDS: dict[str, int] = {"small": 31877, "full": 64219}
"""The seeds the vintage sets are measured with."""


def generate_set(seed: int, n_products: int = 240) -> EvalSet:
    """The labelled set of ``seed``: ``n_products`` products (no pixels drawn), the same for a seed in any process."""
    return build_set(seed, n_products)


def render_photo(photo: EvalPhoto) -> bytes:
    """The encoded file (JPEG mostly, some PNG and WebP) of ``photo``, long side 800–1600 px.

    Deterministic: the same bytes for the same photo in any process (seeded by ``photo.seed``).
    """
    spec = Spec(photo.spec)
    rng = np.random.default_rng(photo.seed)
    scene = compose(spec, photo.kind, rng)
    return encode(develop(scene, spec, rng), spec)
