"""Deterministic renderer of a clothing reseller's photos, with the truth about each one.

A development renderer: the price-tag model is trained on sets it draws
(``labels/training.py``), and ``make demo`` draws its shop with it (the demo imports
it; nothing here imports the demo). Its sets are for training and tuning, never for
measuring (``labels/evaluation/`` holds the renderers that measure).

What it draws (all with Pillow + numpy, from a seed; nothing reads the clock, the C
library's random numbers or system fonts):

* product photos: t-shirts, jeans, dresses, jackets, shoes and bags, flat-lay or on a
  hanger, and close-ups of fabric/details;
* internal price tags ("labels", which must never reach a marketplace) in four shop
  styles: ``thermal`` (printed sticker with a Code 128 or in-store EAN-13 and
  "Prix : 15,00 €"), ``kraft`` (kraft hang tag with a handwritten-looking "12 €"),
  ``qr`` (label with a QR code and a SKU) and ``sticker`` (small "5€" sticker); a tag
  may be photographed on the garment, at an angle, blurred or in low light;
* hard negatives that buyers want and that must NOT be flagged: a woven brand label,
  a care label, a size label, a t-shirt with a printed number/slogan, a shoe box with
  a barcode but no price, and a brand's original hang tag (retail price + EAN-13).

Barcodes are real: module patterns come from PyPI ``python-barcode`` (Code 128,
EAN-13, check digits included) and QR matrices from ``segno``; they are drawn as
pixels here, so zxing-cpp decodes them.

Fonts: only Pillow's bundled font (``ImageFont.load_default(size=...)``, i.e. the
Aileron Regular TrueType font shipped inside Pillow's wheel, SIL Open Font Licence);
"handwriting" is that font drawn thick, per character, with random rotation, scale
and baseline jitter.

Sizes: 1600 or 2048 px on the longest side, a configurable share (default a quarter)
300–640 px. Scenes are drawn at most 1024 px wide and then resized,
camera-like Gaussian grain is added to the luma at the final size (a window of a cached
seeded noise tile), and the picture is encoded by OpenCV as baseline JPEG, quality 80–90
(typically 0.25–0.7 MB at 1600–2048 px). Cost: ~50–60 ms of one core per photo.

Entry points: :func:`render_photo` (a :class:`PhotoSpec` → JPEG bytes),
:func:`generate_dataset` (a seed + :class:`DatasetParams` → tenants, products,
ordered photo specs with the truth), :func:`demo_params` (the demo's shape: 4
tenants, 3,282 products, 611 internal tags).

This module holds the entry points and re-exports the public names; the renderer's parts
are sibling modules (not a package: every package under ``development/`` is a set
renderer to ``labels evaluate``): ``clothing_specs`` (kinds, word lists, :class:`TagStyle`,
:class:`PhotoSpec`), ``clothing_dataset`` (:func:`generate_dataset`), ``clothing_scenes``
(one scene per kind of photo), ``clothing_surfaces`` and ``clothing_garments`` (tables,
fabrics, silhouettes), ``clothing_tags`` and ``clothing_negatives`` (the tag and label
layers), ``clothing_text`` and ``clothing_codes`` (fonts, handwriting, barcodes, QR codes),
``clothing_camera`` (warp, blur, low light, grain, JPEG). :data:`SOURCE_FILES` lists them.
"""

from __future__ import annotations

import random
from pathlib import Path

from .clothing_camera import _finish
from .clothing_codes import ean13_full as ean13_full
from .clothing_dataset import Dataset, DatasetParams, Product, Tenant, demo_params, generate_dataset
from .clothing_scenes import SCENES
from .clothing_specs import (
    FABRIC_COLOUR_NAMES,
    NEGATIVE_KINDS,
    PHOTO_KINDS,
    PRODUCT_KINDS,
    TAG_STYLE_KINDS,
    PhotoSpec,
    TagStyle,
)
from .clothing_specs import GARMENTS as GARMENTS
from .clothing_tags import make_tag_style
from .clothing_text import FONT_FACES, _set_face

__all__ = [
    "FABRIC_COLOUR_NAMES",
    "TAG_STYLE_KINDS",
    "NEGATIVE_KINDS",
    "PRODUCT_KINDS",
    "PHOTO_KINDS",
    "TagStyle",
    "PhotoSpec",
    "Product",
    "Tenant",
    "Dataset",
    "DatasetParams",
    "render_photo",
    "generate_dataset",
    "demo_params",
    "make_tag_style",
]

_WORK_MAX = 1024  # scenes are drawn at most this many pixels on the longest side

DEMO_SEED = 20261122
"""The seed ``make demo`` draws its shop with: never a development set's (training holds it out)."""

SOURCE_FILES: tuple[Path, ...] = tuple(sorted(Path(__file__).resolve().parent.glob("clothing*.py")))
"""The renderer's code: this module and its ``clothing_*`` parts (a cache of its photos or evidence keys on it)."""


# --------------------------------------------------------------------------- render


def render_photo(spec: PhotoSpec) -> bytes:
    """Draw the photo described by ``spec`` (its kind's scene, :data:`SCENES`) and return it as JPEG bytes.

    Deterministic: the same spec gives the same bytes with the same Pillow/numpy build.
    Cost: ~50–60 ms of one core on average (a 2048 px photo: ~25 ms of resize, grain and
    JPEG encoding on top of the scene).

    Raises:
        ValueError: unknown ``spec.kind``, garment or tag style.
    """
    rng = random.Random(spec.seed)
    _set_face(spec.style.font if spec.style is not None else rng.choice(FONT_FACES))
    f = min(1.0, _WORK_MAX / max(spec.width, spec.height))
    ws = (max(64, int(spec.width * f)), max(64, int(spec.height * f)))
    scene = SCENES.get(spec.kind)
    if scene is None:
        raise ValueError(f"unknown photo kind {spec.kind!r}")
    return _finish(scene(spec, rng, ws), spec, rng)
