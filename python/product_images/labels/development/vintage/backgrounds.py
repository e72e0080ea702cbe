"""Backgrounds of home and shop photos: wood floors, tablecloths, beds, tiles, walls, a crowded rail, carpet.

Each returns an RGB ``float32`` image (0..1) of shape (h, w, 3).  Large, smooth structures are
drawn at half resolution and scaled up (they are out of focus in a phone photo anyway).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .paper import hex_rgb, low_noise

__all__ = ["BACKGROUNDS", "background"]


def _wood(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """Wooden floor boards with grain and gaps."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(color)
    plank = int(rng.integers(max(20, w // 12), max(30, w // 5)))
    xx = np.arange(w, dtype=np.float32)
    board = (xx // plank).astype(np.int32)
    tone = rng.uniform(0.8, 1.15, board.max() + 1).astype(np.float32)[board]
    grain = low_noise(rng, h, w, 3, 1.0)
    stripes = 0.08 * np.sin(xx[None, :] * 0.35 + grain * 6.0)
    img *= (tone[None, :] + stripes)[..., None]
    img[:, (xx % plank) < 2] *= 0.45
    return img


def _tablecloth(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """A gingham or plain tablecloth with folds."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(w / 40, w / 10)
    ang = rng.uniform(-0.4, 0.4)
    u, v = xx * np.cos(ang) + yy * np.sin(ang), yy * np.cos(ang) - xx * np.sin(ang)
    a = (np.sin(u * 6.283 / period) > 0).astype(np.float32)
    b = (np.sin(v * 6.283 / period) > 0).astype(np.float32)
    shade = 1.0 - 0.28 * a - 0.28 * b if rng.random() < 0.75 else np.ones_like(a)
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(color)
    img = img * shade[..., None] + (1 - shade[..., None]) * 0.0
    img += (1.0 - a * b)[..., None] * 0.25
    return img


def _bed(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """A bed sheet or duvet: a plain colour with soft wrinkles."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(color)
    wrinkles = low_noise(rng, h, w, 7, 0.12) + low_noise(rng, h, w, 18, 0.04)
    return img * (1.0 + wrinkles)[..., None]


def _tiles(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """Floor or wall tiles with grout lines."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(color)
    size = int(rng.integers(max(20, w // 10), max(30, w // 4)))
    yy, xx = np.mgrid[0:h, 0:w]
    grout = ((yy % size) < 3) | ((xx % size) < 3)
    img[grout] = (0.75, 0.74, 0.7)
    tone = rng.uniform(0.9, 1.08, ((h // size) + 2, (w // size) + 2)).astype(np.float32)
    return img * tone[yy // size, xx // size][..., None]


def _wall(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """A painted wall or door: a plain colour with a broad light gradient."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(color)
    ramp = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(0.9, 1.15), w, dtype=np.float32)[None, :, None]
    return img * ramp * (1.0 + low_noise(rng, h, w, 3, 0.05))[..., None]


def _rail(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """A crowded rail in a shop: many garments side by side, out of focus, under a darker ceiling."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = np.asarray(hex_rgb(color), np.float32) * 0.5
    x = 0
    while x < w:
        width = int(rng.integers(max(6, w // 40), max(12, w // 9)))
        top = int(rng.uniform(0.0, 0.25) * h)
        shade = rng.uniform(0.15, 0.95, 3).astype(np.float32)
        img[top:, x : x + width] = shade * rng.uniform(0.7, 1.0)
        img[top:, x : x + 2] *= 0.4
        x += width
    img *= (1.0 + low_noise(rng, h, w, 10, 0.1))[..., None]
    return cv2.GaussianBlur(img, (0, 0), 2.5)


def _carpet(rng: np.random.Generator, h: int, w: int, color: str) -> np.ndarray:
    """A carpet or rug: fine fibre noise and a faint motif."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(color)
    fibre = rng.normal(0.0, 0.12, (h, w)).astype(np.float32)
    motif = low_noise(rng, h, w, 12, 0.15)
    return img * (1.0 + cv2.blur(fibre, (2, 2)) + motif)[..., None]


BACKGROUNDS: dict[str, Callable[[np.random.Generator, int, int, str], np.ndarray]] = {
    "wood": _wood,
    "tablecloth": _tablecloth,
    "bed": _bed,
    "tiles": _tiles,
    "wall": _wall,
    "rail": _rail,
    "carpet": _carpet,
}
"""The background drawers by name (``spec["bg"]``)."""


def background(rng: np.random.Generator, h: int, w: int, kind: str, color: str) -> np.ndarray:
    """The background ``kind`` of ``color`` for an (h, w) photo: float32 (h, w, 3), drawn at half size."""
    small = BACKGROUNDS[kind](rng, max(8, h // 2), max(8, w // 2), color)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
