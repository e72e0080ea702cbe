"""The ``snapshot`` evaluation renderer: phone snapshots of a vintage and resale shop's items.

Products are second-hand clothes, shoes, bags, belts and scarves photographed by the
shop's staff (flat lays, hangers on doors, mannequins, details); about 22% of products
also have one photo of the shop's own price tag (kind ``shop_tag``), and about 25% have
hard negatives (brand, care and size labels, printed tees, shoe boxes, measuring tapes,
close-ups, paper inserts) and ~4% a brand's own retail hang tag (``retail_tag``).

Public API: ``RENDERER``, ``SEEDS``, :func:`generate_set` (cheap, no pixels) and
:func:`render_photo` (deterministic encoded bytes of one photo).
"""

from __future__ import annotations

import zlib

import numpy as np

from ..sets import EvalPhoto, EvalSet
from .camera import develop, work_size
from .catalog import build_set
from .negatives import NEGATIVE_SCENES
from .scenes import detail_scene, garment_scene
from .tags import shop_tag_scene
from .texture import SpecDict

__all__ = ["RENDERER", "SEEDS", "generate_set", "render_photo"]

RENDERER = "snapshot"
SEEDS = {"small": 4127, "full": 90210}


def generate_set(seed: int, n_products: int = 240) -> EvalSet:
    """Describe (not draw) the evaluation set of ``seed`` with ``n_products`` products."""
    return build_set(seed, n_products)


def _spec_digest(spec: tuple[tuple[str, str | int | float | bool], ...]) -> int:
    """A process-independent 32-bit digest of a photo spec (CRC32 of its repr)."""
    return zlib.crc32(repr(spec).encode("utf-8"))


def render_photo(photo: EvalPhoto) -> bytes:
    """Draw ``photo`` and return its encoded file (JPEG, PNG or WebP bytes).

    The pixel size is ``spec['width']`` x ``spec['height']``; the result depends only on
    ``photo.seed``, ``photo.kind`` and ``photo.spec``.
    """
    spec: SpecDict = dict(photo.spec)
    rng = np.random.default_rng([photo.seed & 0xFFFFFFFF, _spec_digest(photo.spec)])
    h, w = work_size(spec)
    kind = photo.kind
    if kind == "shop_tag":
        scene = shop_tag_scene(rng, spec, h, w)
    elif kind == "detail":
        scene = detail_scene(rng, spec, h, w)
    elif kind in NEGATIVE_SCENES:
        scene = NEGATIVE_SCENES[kind](rng, spec, h, w)
    else:
        scene = garment_scene(rng, spec, h, w)
    return develop(rng, scene.astype(np.float32, copy=False), spec)
