"""Small drawing helpers shared by the resale renderer's modules.

Colours are ``"#rrggbb"`` strings in specs and ``(r, g, b)`` int tuples (0–255) when drawn;
images are PIL images or ``H×W×3`` uint8 numpy arrays, sizes in pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import font

__all__ = ["RGB", "fit_font", "hex_rgb", "mix", "paste_warped", "smooth_noise", "text_size"]

RGB = tuple[int, int, int]


def hex_rgb(value: str) -> RGB:
    """``"#rrggbb"`` as an (r, g, b) tuple."""
    v = value.lstrip("#")
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour ``t`` of the way from ``a`` to ``b`` (t in 0–1)."""
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """A ``h×w`` float32 field of smooth noise in about −1…1, features ``cell`` pixels wide."""
    gh, gw = max(2, h // max(1, cell) + 2), max(2, w // max(1, cell) + 2)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def text_size(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont) -> tuple[int, int]:
    """The (width, height) in pixels of ``text`` drawn in ``font``."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return int(right - left), int(bottom - top)


def fit_font(key_size: tuple[str, int], text: str, max_w: int) -> ImageFont.FreeTypeFont:
    """Font ``key`` at ``size`` pixels, shrunk until ``text`` fits ``max_w`` pixels wide."""
    key, size = key_size
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    current = font(key, size)
    for _ in range(12):
        if text_size(probe, text, current)[0] <= max_w or size <= 8:
            break
        size = int(size * 0.85)
        current = font(key, size)
    return current


def _corners(w: int, h: int, angle: float, tilt: tuple[float, float], scale: float) -> np.ndarray:
    """The 4 destination corners (relative to the centre) of a ``w×h`` patch turned and tilted."""
    tx, ty = tilt
    hw, hh = w * scale / 2, h * scale / 2
    pts = np.array(
        [
            [-hw * (1 - ty), -hh * (1 - tx)],
            [hw * (1 - ty), -hh * (1 + tx)],
            [hw * (1 + ty), hh * (1 + tx)],
            [-hw * (1 + ty), hh * (1 - tx)],
        ],
        np.float32,
    )
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    return pts @ rot.T


def paste_warped(
    canvas: np.ndarray, patch: Image.Image, centre: tuple[float, float], pose: tuple[float, float, float, float]
) -> np.ndarray:
    """Composite RGBA ``patch`` onto ``canvas`` (H×W×3 uint8) in place; returns the 4 corners placed.

    ``pose`` = (long side in pixels, angle in degrees, tilt_x, tilt_y): the patch is scaled so its
    long side is that many pixels, turned, and given a perspective tilt; ``centre`` in pixels.
    """
    long_px, angle, tx, ty = pose
    scale = long_px / max(patch.size)
    if scale < 0.7:
        small = (max(2, int(patch.size[0] * scale)), max(2, int(patch.size[1] * scale)))
        patch = patch.resize(small, Image.Resampling.BOX)
        scale = long_px / max(patch.size)
    w, h = patch.size
    dst = _corners(w, h, angle, (tx, ty), scale) + np.array(centre, np.float32)
    x0, y0 = np.floor(dst.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(dst.max(axis=0)).astype(int) + 2
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if x1 <= x0 or y1 <= y0:
        return dst
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst - np.array([x0, y0], np.float32))
    rgba = np.asarray(patch.convert("RGBA"))
    warped = cv2.warpPerspective(rgba, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    alpha = warped[..., 3:4].astype(np.float32) / 255.0
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (region * (1 - alpha) + warped[..., :3].astype(np.float32) * alpha).astype(np.uint8)
    return dst
