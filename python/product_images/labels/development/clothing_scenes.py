"""The clothing renderer's scenes at working size: one drawing function per kind of photo.

Part of :mod:`product_images.labels.development.clothing`, whose :func:`render_photo` picks
the scene for a spec's kind (:data:`SCENES`) and develops it into a JPEG.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .clothing_camera import _paste_layer, _warp_layer
from .clothing_garments import _paste_garment
from .clothing_negatives import _negative_layer
from .clothing_specs import _SLOGANS, PhotoSpec
from .clothing_surfaces import _background, _fabric, _noise_field
from .clothing_tags import _internal_tag
from .clothing_text import _draw_text, _fit_size

Scene = Callable[[PhotoSpec, random.Random, tuple[int, int]], Image.Image]
"""A scene: (spec, the photo's generator, working size (w, h) px) → the RGB canvas, before the camera."""


def _flat_scene(spec: PhotoSpec, rng: random.Random, ws: tuple[int, int]) -> Image.Image:
    """A flat lay on a table or floor; a ``print`` is a t-shirt with a slogan or a number."""
    W, H = ws
    k = spec.kind
    canvas = _background(rng, ws, rng.choice(("wood", "white", "sheet", "floor")))
    g = "tshirt" if k == "print" else spec.garment
    m = rng.uniform(0.06, 0.14)
    box = (W * m, H * m, W * (1 - m), H * (1 - m))
    _paste_garment(canvas, g, spec.colour, box, rng)
    if k == "print":
        text = rng.choice(_SLOGANS + (str(rng.randint(1, 99)),) * 4)
        ink = (
            (250, 250, 250) if sum(spec.colour) < 380 else (rng.randint(0, 60), rng.randint(0, 60), rng.randint(0, 140))
        )
        size = _fit_size(text, (box[2] - box[0]) * 0.42, (box[3] - box[1]) * 0.22, 2)
        d = ImageDraw.Draw(canvas)
        _draw_text(d, ((box[0] + box[2]) / 2, box[1] + (box[3] - box[1]) * 0.52), text, size, ink, 2, "mm")
    return canvas


def _hanger_scene(spec: PhotoSpec, rng: random.Random, ws: tuple[int, int]) -> Image.Image:
    """The garment on a wooden hanger against a wall (shoes and bags hang as a t-shirt)."""
    W, H = ws
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
    return canvas


def _closeup_scene(spec: PhotoSpec, rng: random.Random, ws: tuple[int, int]) -> Image.Image:
    """A close-up of the fabric with seams and buttons."""
    W, H = ws
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
    return canvas


def _label_backdrop(spec: PhotoSpec, rng: random.Random, ws: tuple[int, int]) -> Image.Image:
    """What a tag or label lies on: the garment's fabric (maybe folded), or a surface with part of the garment."""
    W, H = ws
    k = spec.kind
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
    return canvas


def _label_layer(spec: PhotoSpec, rng: random.Random, ws: tuple[int, int]) -> Image.Image:
    """The tag or label itself as an RGBA layer, warped, and scaled down to fit the frame (98% at most)."""
    W, H = ws
    k = spec.kind
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
    return layer


def _label_scene(spec: PhotoSpec, rng: random.Random, ws: tuple[int, int]) -> Image.Image:
    """An internal tag or a label-like hard negative: backdrop, then the layer (hung on a string if a hang tag)."""
    W, H = ws
    k = spec.kind
    canvas = _label_backdrop(spec, rng, ws)
    layer = _label_layer(spec, rng, ws)
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
    return canvas


SCENES: dict[str, Scene] = {
    "flat": _flat_scene,
    "print": _flat_scene,
    "hanger": _hanger_scene,
    "closeup": _closeup_scene,
    **dict.fromkeys(("tag", "care", "woven", "size", "brandtag", "shoebox"), _label_scene),
}
"""The scene of each :data:`PHOTO_KINDS` kind."""
