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
300–640 px. Scenes are drawn at most 1024 px wide and then resized, camera-like
camera-like Gaussian grain is added to the luma at the final size (a window of a cached
seeded noise tile), and the picture is encoded by OpenCV as baseline JPEG, quality 80–90
(typically 0.25–0.7 MB at 1600–2048 px). Cost: ~50–60 ms of one core per photo.

Entry points: :func:`render_photo` (a :class:`PhotoSpec` → JPEG bytes),
:func:`generate_dataset` (a seed + :class:`DatasetParams` → tenants, products,
ordered photo specs with the truth), :func:`demo_params` (the demo's shape: 4
tenants, 3,282 products, 611 internal tags).
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .clothing_camera import _finish, _paste_layer, _warp_layer
from .clothing_codes import ean13_full as ean13_full
from .clothing_dataset import Dataset, DatasetParams, Product, Tenant, demo_params, generate_dataset
from .clothing_garments import _paste_garment
from .clothing_negatives import _negative_layer
from .clothing_specs import (
    _SLOGANS,
    FABRIC_COLOUR_NAMES,
    NEGATIVE_KINDS,
    PHOTO_KINDS,
    PRODUCT_KINDS,
    TAG_STYLE_KINDS,
    PhotoSpec,
    TagStyle,
)
from .clothing_specs import GARMENTS as GARMENTS
from .clothing_surfaces import _background, _fabric, _noise_field
from .clothing_tags import _internal_tag, make_tag_style
from .clothing_text import FONT_FACES, _draw_text, _fit_size, _set_face

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


def render_photo(spec: PhotoSpec) -> bytes:  # noqa: C901, PLR0912, PLR0915
    """Draw the photo described by ``spec`` and return it as JPEG bytes.

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
    W, H = ws
    k = spec.kind
    if k == "flat" or k == "print":
        canvas = _background(rng, ws, rng.choice(("wood", "white", "sheet", "floor")))
        g = "tshirt" if k == "print" else spec.garment
        m = rng.uniform(0.06, 0.14)
        box = (W * m, H * m, W * (1 - m), H * (1 - m))
        _paste_garment(canvas, g, spec.colour, box, rng)
        if k == "print":
            text = rng.choice(_SLOGANS + (str(rng.randint(1, 99)),) * 4)
            ink = (
                (250, 250, 250)
                if sum(spec.colour) < 380
                else (rng.randint(0, 60), rng.randint(0, 60), rng.randint(0, 140))
            )
            size = _fit_size(text, (box[2] - box[0]) * 0.42, (box[3] - box[1]) * 0.22, 2)
            d = ImageDraw.Draw(canvas)
            _draw_text(d, ((box[0] + box[2]) / 2, box[1] + (box[3] - box[1]) * 0.52), text, size, ink, 2, "mm")
    elif k == "hanger":
        canvas = _background(rng, ws, "wall")
        d = ImageDraw.Draw(canvas)
        cx = W / 2 + rng.uniform(-0.05, 0.05) * W
        top = H * 0.08
        lw = max(2, W // 200)
        d.arc((cx - W * 0.03, top - H * 0.05, cx + W * 0.03, top + H * 0.02), 180, 90, fill=(90, 90, 95), width=lw)
        d.line(
            [
                (cx, top + H * 0.02),
                (cx - W * 0.3, top + H * 0.12),
                (cx + W * 0.3, top + H * 0.12),
                (cx, top + H * 0.02),
            ],
            fill=(120, 90, 60),
            width=lw * 2,
        )
        g = spec.garment if spec.garment not in ("shoes", "bag") else "tshirt"
        _paste_garment(canvas, g, spec.colour, (cx - W * 0.34, top + H * 0.1, cx + W * 0.34, H * 0.97), rng)
    elif k == "closeup":
        canvas = _fabric(rng, ws, spec.colour, "denim" if spec.garment == "jeans" else None)
        d = ImageDraw.Draw(canvas)
        lw = max(2, W // 150)
        dark = tuple(int(c * 0.55) for c in spec.colour)
        for _ in range(rng.randint(1, 3)):
            y = rng.uniform(0.1, 0.9) * H
            d.line([(0, y), (W, y + rng.uniform(-0.1, 0.1) * H)], fill=dark, width=lw)
        for _ in range(rng.randint(0, 4)):
            r = W * rng.uniform(0.025, 0.05)
            x, y = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H
            d.ellipse(
                (x - r, y - r, x + r, y + r),
                fill=rng.choice(((230, 230, 225), (60, 50, 40), (200, 170, 80))),
                outline=dark,
                width=lw,
            )
    elif k in ("tag", "care", "woven", "size", "brandtag", "shoebox"):
        if spec.on_garment or k in ("care", "woven", "size", "brandtag"):
            canvas = _fabric(rng, ws, spec.colour, "denim" if spec.garment == "jeans" else None)
            if rng.random() < 0.5:  # a fold of the garment across the frame
                sh = _noise_field(rng, ws, (3, 3))
                fold = 0.8 + 0.3 * sh
                canvas = Image.fromarray(
                    cv2.merge([cv2.multiply(c, fold, dtype=cv2.CV_8U) for c in cv2.split(np.asarray(canvas))])
                )
        else:
            canvas = _background(rng, ws, rng.choice(("wood", "white", "sheet", "floor")))
            if rng.random() < 0.5:  # part of the garment in the frame
                _paste_garment(
                    canvas,
                    spec.garment,
                    spec.colour,
                    (W * rng.uniform(-0.4, 0.1), H * rng.uniform(-0.3, 0.3), W * rng.uniform(0.5, 0.9), H * 1.2),
                    rng,
                    shadow=True,
                )
        if k == "tag":
            big = spec.style is not None and spec.style.kind == "sticker"
            scale = int(min(W, H) * (rng.uniform(0.55, 0.95) if big else rng.uniform(0.5, 0.8)))
            layer = _internal_tag(spec, rng, scale)
        elif k == "shoebox":
            layer = _negative_layer(spec, rng, int(max(W, H) * rng.uniform(0.8, 1.0)))
        else:
            layer = _negative_layer(spec, rng, int(min(W, H) * rng.uniform(0.45, 0.75)))
        layer = _warp_layer(layer, spec.angle, spec.perspective, rng)
        if max(layer.size[0] / W, layer.size[1] / H) > 0.98:
            fct = 0.98 / max(layer.size[0] / W, layer.size[1] / H)
            layer = layer.resize(
                (max(1, int(layer.size[0] * fct)), max(1, int(layer.size[1] * fct))), Image.Resampling.BICUBIC
            )
        if (k == "tag" and spec.style is not None and spec.style.shape == "hang") or k == "brandtag":
            d = ImageDraw.Draw(canvas)
            d.line(
                [(W / 2 + rng.uniform(-0.1, 0.1) * W, 0), (W / 2, H / 2 - layer.size[1] * 0.38)],
                fill=rng.choice(((230, 230, 230), (40, 40, 40), (200, 40, 40))),
                width=max(1, W // 250),
            )
        cx = W / 2 + rng.uniform(-0.5, 0.5) * max(0, W - layer.size[0]) / 2
        cy = H / 2 + rng.uniform(-0.5, 0.5) * max(0, H - layer.size[1]) / 2
        _paste_layer(canvas, layer, (cx, cy))
    else:
        raise ValueError(f"unknown photo kind {k!r}")
    return _finish(canvas, spec, rng)
