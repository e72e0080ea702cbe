"""Paper, card, tape and fabric patches: the flat objects (tags, labels, stickers) before they are photographed.

A :class:`Patch` is an RGB ``float32`` image (0..1, shape (H, W, 3)) with an alpha mask (H, W)
and, for hang tags, the pixel where the string goes through.  Shapes are drawn at patch
resolution (a few hundred pixels); :mod:`.scenes` warps them into the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .handwriting import font_text_mask, paste_ink

__all__ = ["Patch", "hex_rgb", "low_noise", "paper", "rounded_rect_alpha", "stamp", "tag_alpha", "torn_strip_alpha"]


@dataclass
class Patch:
    """A flat object: ``rgb`` (H, W, 3 float32, 0..1), ``alpha`` (H, W float32), ``hole`` (x, y) px or None.

    ``gloss`` (0..1) is how shiny the surface is (glare), ``min_long_px`` the smallest long
    side, in photo pixels, at which its printed code still decodes (0: no code).
    """

    rgb: np.ndarray
    alpha: np.ndarray
    hole: tuple[int, int] | None = None
    gloss: float = 0.0
    min_long_px: int = 0


def hex_rgb(color: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` as an RGB triple in 0..1."""
    value = color.lstrip("#")
    return (int(value[0:2], 16) / 255.0, int(value[2:4], 16) / 255.0, int(value[4:6], 16) / 255.0)


def low_noise(rng: np.random.Generator, h: int, w: int, cells: int, amount: float) -> np.ndarray:
    """Smooth noise of shape (h, w) float32, about ±``amount``: random values on a ``cells`` grid, upsampled."""
    gh = max(2, int(cells * h / max(h, w)) + 1)
    gw = max(2, int(cells * w / max(h, w)) + 1)
    grid = rng.normal(0.0, amount, (gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def paper(rng: np.random.Generator, h: int, w: int, color: str, fibre: float = 0.03) -> np.ndarray:
    """A sheet of ``color`` (h × w × 3 float32) with mottling and fibres; ``fibre`` is the grain strength."""
    base = np.empty((h, w, 3), dtype=np.float32)
    base[:] = hex_rgb(color)
    mottle = low_noise(rng, h, w, 6, fibre)
    grain = rng.normal(0.0, fibre * 0.6, (h, w)).astype(np.float32)
    grain = np.asarray(cv2.blur(grain, (3, 1)), np.float32)
    base *= (1.0 + mottle + grain)[..., None]
    return np.clip(base, 0.0, 1.0)


def rounded_rect_alpha(h: int, w: int, radius: int) -> np.ndarray:
    """An anti-aliased rounded rectangle filling (h, w), corners of ``radius`` px, as float32 alpha."""
    mask = np.zeros((h, w), dtype=np.uint8)
    r = max(0, min(radius, h // 2 - 1, w // 2 - 1))
    cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def tag_alpha(h: int, w: int, cut: int, hole: tuple[int, int], hole_r: int) -> np.ndarray:
    """A hang tag: a rectangle with its two top corners cut by ``cut`` px and a round hole, as float32 alpha."""
    mask = np.zeros((h, w), dtype=np.uint8)
    pts = np.array([[cut, 0], [w - 1 - cut, 0], [w - 1, cut], [w - 1, h - 1], [0, h - 1], [0, cut]], np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA)
    cv2.circle(mask, hole, hole_r, 0, -1, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def torn_strip_alpha(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A strip of tape (h × w) with ragged torn ends, as float32 alpha."""
    mask = np.zeros((h, w), dtype=np.uint8)
    steps = max(4, h // 6)
    ys = np.linspace(0, h - 1, steps)
    left = rng.uniform(0, w * 0.04 + 3, steps)
    right = w - 1 - rng.uniform(0, w * 0.04 + 3, steps)
    pts = np.concatenate([np.stack([left, ys], 1), np.stack([right, ys], 1)[::-1]]).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def stamp(rng: np.random.Generator, text: str, font_key: str, size_px: int, border: str) -> np.ndarray:
    """A rubber stamp's ink mask: ``text`` inside a ``border`` (``"rect"``, ``"double"``, ``"oval"``, ``"none"``).

    The ink is uneven (worn rubber, too little ink): float32 (H, W) with holes and lighter parts.
    """
    text_mask = font_text_mask(text, font_key, size_px, rng)
    th, tw = text_mask.shape
    pad = int(size_px * (0.9 if border == "oval" else 0.45))
    h, w = th + 2 * pad, tw + 2 * pad + (pad if border == "oval" else 0)
    mask = np.zeros((h, w), dtype=np.float32)
    y, x = (h - th) // 2, (w - tw) // 2
    mask[y : y + th, x : x + tw] = text_mask
    line = max(2, size_px // 9)
    if border in ("rect", "double"):
        cv2.rectangle(mask, (line, line), (w - 1 - line, h - 1 - line), 1.0, line, cv2.LINE_AA)
    if border == "double":
        inner = line * 3
        cv2.rectangle(mask, (inner, inner), (w - 1 - inner, h - 1 - inner), 1.0, max(1, line // 2), cv2.LINE_AA)
    if border == "oval":
        cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - line, h // 2 - line), 0, 0, 360, 1.0, line, cv2.LINE_AA)
    wear = low_noise(rng, h, w, 14, 0.5) + rng.normal(0.0, 0.25, (h, w)).astype(np.float32)
    return np.clip(mask * np.clip(0.95 + wear, 0.0, 1.0), 0.0, 1.0)


def ink_blot(img: np.ndarray, mask: np.ndarray, cx: int, cy: int, color: str, opacity: float) -> None:
    """Lay ``mask`` centred on (cx, cy) of ``img`` in ``color`` (in place)."""
    h, w = mask.shape
    paste_ink(img, mask, cx - w // 2, cy - h // 2, hex_rgb(color), opacity)
