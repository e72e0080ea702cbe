"""Backgrounds of the photos: studio seamless paper, lightboxes, and homes (wood, tiles, beds…).

:func:`background` returns an ``H×W×3`` uint8 array (pixels) for the spec's ``bg`` name, drawn
from its two colours ``bg_hex``/``bg_hex2`` and the photo's random generator.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .drawing import hex_rgb, smooth_noise

__all__ = ["background"]

Spec = dict[str, str | int | float | bool]


def _colour(spec: Spec, key: str) -> np.ndarray:
    """Spec colour ``key`` as a float32 (3,) array."""
    return np.array(hex_rgb(str(spec[key])), np.float32)


def _seamless(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Seamless paper: a sweep from the top colour to a darker floor, faint mottling."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top, bottom = _colour(spec, "bg_hex"), _colour(spec, "bg_hex2")
    bend = float(rng.uniform(0.3, 0.7))
    t = 1.0 / (1.0 + np.exp(-(t - bend) * 6.0))
    img = top * (1 - t) + bottom * t * 0.5 + top * t * 0.5
    img = np.broadcast_to(img, (h, w, 3)) + smooth_noise(rng, h, w, 160)[..., None] * 3.0
    return img


def _lightbox(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """A lightbox: bright centre, greyer corners, a faint seam where the back meets the floor."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    base = _colour(spec, "bg_hex") - d[..., None] * float(rng.uniform(20, 45))
    seam = int(h * rng.uniform(0.15, 0.3))
    base[seam : seam + 3] -= 6
    return base


def _wood(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Wood floor planks: bands of varying tone with stretched grain."""
    light, dark = _colour(spec, "bg_hex"), _colour(spec, "bg_hex2")
    plank = int(rng.integers(max(40, h // 10), max(41, h // 4)))
    rows = np.arange(h) // plank
    tones = rng.uniform(0.2, 0.8, size=rows.max() + 1).astype(np.float32)
    grain = cv2.resize(rng.standard_normal((h // 3 + 1, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    t = np.clip(tones[rows][:, None] + grain * 0.12, 0, 1)[..., None]
    img = light * (1 - t) + dark * t
    img[(np.arange(h) % plank) < 2] *= 0.6
    return img


def _tiles(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Floor or wall tiles: squares of slightly varying tone, grout lines."""
    tile = int(rng.integers(max(60, w // 10), max(61, w // 4)))
    img = np.broadcast_to(_colour(spec, "bg_hex"), (h, w, 3)).copy()
    img += smooth_noise(rng, h, w, tile)[..., None] * 6
    grout = _colour(spec, "bg_hex2")
    img[(np.arange(h) % tile) < 3] = grout
    img[:, (np.arange(w) % tile) < 3] = grout
    return img


def _bed(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Bed sheets: a light fabric colour shaded by soft folds."""
    folds = smooth_noise(rng, h, w, max(h, w) // 5) + 0.5 * smooth_noise(rng, h, w, max(h, w) // 14)
    img = _colour(spec, "bg_hex") * (1.0 + folds[..., None] * 0.07)
    return img


def _tablecloth(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """A gingham tablecloth: two colours checked, with soft folds."""
    cell = int(rng.integers(max(24, w // 30), max(25, w // 10)))
    a, b = _colour(spec, "bg_hex"), _colour(spec, "bg_hex2")
    rows = ((np.arange(h) // cell) % 2).astype(np.float32)[:, None]
    cols = ((np.arange(w) // cell) % 2).astype(np.float32)[None, :]
    t = (rows + cols) / 2
    img = b * (1 - t[..., None]) + a * t[..., None]
    return img * (1.0 + smooth_noise(rng, h, w, max(h, w) // 6)[..., None] * 0.05)


def _wall(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """A painted wall or concrete: one colour, low-frequency mottling and fine speckle."""
    img = _colour(spec, "bg_hex") * (1.0 + smooth_noise(rng, h, w, max(h, w) // 4)[..., None] * 0.04)
    speckle = smooth_noise(rng, h, w, 3) * (8 if spec["bg"] == "concrete" else 2)
    return img + speckle[..., None]


_DRAWERS: dict[str, Callable[[int, int, Spec, np.random.Generator], np.ndarray]] = {
    "seamless_white": _seamless,
    "seamless_grey": _seamless,
    "lightbox": _lightbox,
    "wood": _wood,
    "tiles": _tiles,
    "bed": _bed,
    "tablecloth": _tablecloth,
    "wall": _wall,
    "concrete": _wall,
}


def background(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """The ``h×w×3`` uint8 background named by ``spec["bg"]`` (drawn at half size, then enlarged)."""
    img = _DRAWERS[str(spec["bg"])](h // 2, w // 2, spec, rng)
    small = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
