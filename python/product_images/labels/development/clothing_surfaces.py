"""Surfaces of the clothing renderer's scenes: noise, tables, floors, walls and fabrics.

Part of :mod:`product_images.labels.development.clothing`.
"""

from __future__ import annotations

import functools
import random

import cv2
import numpy as np
from PIL import Image, ImageFilter

from .clothing_specs import _FABRIC_COLOURS


def _noise_field(rng: random.Random, size: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Smooth noise in [0, 1], float32, shape (h, w): random ``cells`` grid upscaled bicubically."""
    g = np.random.default_rng(rng.getrandbits(32)).random((cells[1], cells[0])).astype(np.float32)
    return np.clip(cv2.resize(g, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _soft(mask: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur of ``radius`` px done at 1/4 size and scaled back (cheap soft shadows)."""
    small = mask.resize((max(1, mask.size[0] // 4), max(1, mask.size[1] // 4)), Image.Resampling.BILINEAR)
    return small.filter(ImageFilter.GaussianBlur(radius / 4)).resize(mask.size, Image.Resampling.BILINEAR)


def _tint(tone: np.ndarray | list[np.ndarray], colour) -> np.ndarray:
    """uint8 RGB image ``colour × tone`` (tone: float32 (h, w), or per-channel list of arrays)."""
    chans = tone if isinstance(tone, list) else [tone] * 3
    return cv2.merge([cv2.convertScaleAbs(t, alpha=float(c)) for t, c in zip(chans, colour, strict=False)])


@functools.lru_cache(maxsize=2)
def _texture_tile(k: int) -> np.ndarray:
    """A 1280×1280 float32 tile of uniform [0, 1) noise, seeded by ``k`` (cached; sliced at random offsets)."""
    return np.random.default_rng(500 + k).random((1280, 1280), dtype=np.float32)


def _tile_view(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A (h, w) window of a cached noise tile at a seeded offset (a view, do not modify)."""
    w, h = size
    t = _texture_tile(rng.randrange(2))
    y, x = rng.randrange(max(1, t.shape[0] - h + 1)), rng.randrange(max(1, t.shape[1] - w + 1))
    if h > t.shape[0] or w > t.shape[1]:
        return np.resize(t, (h, w))
    return t[y : y + h, x : x + w]


def _background(rng: random.Random, size: tuple[int, int], kind: str | None = None) -> Image.Image:
    """A surface: ``wood``, ``white``, ``sheet``, ``floor`` or ``wall`` (random when None)."""
    w, h = size
    kind = kind or rng.choice(("wood", "white", "sheet", "floor", "wall"))
    if kind == "wood":
        base = (rng.randint(120, 175), rng.randint(80, 120), rng.randint(45, 75))
        tone = 0.75 + 0.45 * _noise_field(rng, size, (6, 90))  # long horizontal grain
    elif kind == "floor":
        base = (rng.randint(150, 200), rng.randint(120, 160), rng.randint(85, 115))
        tone = 0.8 + 0.3 * _noise_field(rng, size, (4, 60))
        plank = max(20, h // rng.randint(4, 7))
        rows = np.arange(h) % plank < 2
        tone[rows] *= 0.6
    elif kind == "sheet":
        base = rng.choice(((225, 225, 230), (200, 210, 225), (230, 220, 205), (190, 190, 195)))
        tone = 0.8 + 0.25 * _noise_field(rng, size, (5, 4))
    else:  # white backdrop or a wall
        v = rng.randint(200, 245) if kind == "white" else rng.randint(170, 230)
        base = (v, v - rng.randint(0, 8), v - rng.randint(0, 18))
        tone = 0.85 + 0.2 * _noise_field(rng, size, (3, 3))
    # light fall-off from a random corner
    sw, shh = max(2, w // 16), max(2, h // 16)
    yy, xx = np.mgrid[0:shh, 0:sw].astype(np.float32)
    cx, cy = rng.uniform(0, sw), rng.uniform(0, shh)
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / max(sw, shh)
    light = cv2.resize((1.08 - 0.35 * d).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(_tint(tone * light, base), "RGB")


def _fabric(
    rng: random.Random, size: tuple[int, int], colour: tuple[int, int, int], pattern: str | None = None
) -> Image.Image:
    """A fabric texture in ``colour``: ``plain``, ``stripes``, ``checks``, ``denim`` or ``knit``."""
    w, h = size
    pattern = pattern or rng.choice(("plain", "plain", "stripes", "checks", "denim", "knit"))
    tone = 0.85 + 0.25 * _noise_field(rng, size, (4, 4))
    if pattern == "stripes":
        period = rng.randint(max(4, w // 60), max(6, w // 15))
        other = rng.choice(_FABRIC_COLOURS)
        if rng.random() < 0.5:
            on = ((np.arange(w) // period) % 2).astype(np.float32)[None, :]
        else:
            on = ((np.arange(h) // period) % 2).astype(np.float32)[:, None]
        chans = [tone * (c + (o - c) * on) for c, o in zip(colour, other, strict=False)]
        return Image.fromarray(_tint(chans, (1.0, 1.0, 1.0)), "RGB")
    if pattern == "checks":
        period = rng.randint(max(5, w // 40), max(8, w // 10))
        cx = ((np.arange(w) // period) % 2)[None, :]
        cy = ((np.arange(h) // period) % 2)[:, None]
        tone = tone * (0.7 + 0.3 * ((cx + cy) % 2)).astype(np.float32)
    elif pattern == "denim":
        n = _tile_view(rng, size)
        diag = (np.add.outer(np.arange(h, dtype=np.int32), np.arange(w, dtype=np.int32)) & 3) < 2
        tone = tone * (0.8 + 0.15 * n + 0.1 * diag)
    elif pattern == "knit":
        rows = (np.arange(h) % 6 < 3).astype(np.float32)[:, None]
        cols = (np.arange(w) % 5 < 2).astype(np.float32)[None, :]
        tone = tone * (0.88 + 0.08 * rows + 0.06 * cols)
    return Image.fromarray(_tint(tone, colour), "RGB")
