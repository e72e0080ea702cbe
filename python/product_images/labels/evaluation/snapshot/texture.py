"""Backgrounds, noise fields and compositing for the ``snapshot`` renderer.

Images are numpy float32 arrays of shape (H, W, 3) with values in [0, 1] (RGB);
masks and fields are float32 (H, W). Sizes are in pixels of the working canvas.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.random import Generator

__all__ = [
    "BACKGROUNDS",
    "SpecDict",
    "smooth_noise",
    "stretched_noise",
    "make_background",
    "paste_warped",
    "cast_shadow",
    "fill_mask",
    "rgb",
]

FloatImage = np.ndarray

#: a photo spec as a dict (name -> plain value)
SpecDict = dict[str, str | int | float | bool]


def rgb(hex_color: str) -> np.ndarray:
    """Convert ``"#rrggbb"`` to a float32 array of shape (3,) in [0, 1]."""
    value = hex_color.lstrip("#")
    return np.array([int(value[i : i + 2], 16) / 255.0 for i in (0, 2, 4)], np.float32)


def smooth_noise(rng: Generator, h: int, w: int, cells: int, amp: float = 1.0) -> FloatImage:
    """Low-frequency noise of shape (h, w), about ``cells`` blobs across, std ``amp``."""
    ch = max(2, int(cells * h / max(h, w)) + 2)
    cw = max(2, int(cells * w / max(h, w)) + 2)
    small = rng.standard_normal((ch, cw)).astype(np.float32) * amp
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def stretched_noise(rng: Generator, h: int, w: int, along_x: bool, stretch: int) -> FloatImage:
    """Grain noise (h, w), std ~1, elongated ``stretch`` times along x (or y)."""
    if along_x:
        small = rng.standard_normal((max(2, h // 2), max(2, w // stretch)))
    else:
        small = rng.standard_normal((max(2, h // stretch), max(2, w // 2)))
    return cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def _flat(h: int, w: int, color: np.ndarray) -> FloatImage:
    """A (h, w, 3) image of one ``color`` (3,)."""
    return np.broadcast_to(color, (h, w, 3)).astype(np.float32).copy()


def _door(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """A painted panel door filling the frame, with bevelled inset panels."""
    img = _flat(h, w, color)
    img *= (1.0 + 0.02 * stretched_noise(rng, h, w, False, 30))[..., None]
    n_rows = int(rng.integers(2, 4))
    margin = int(w * rng.uniform(0.08, 0.16))
    x0, x1 = margin, w - margin
    y = int(h * rng.uniform(0.03, 0.08))
    step = (h - 2 * y) // n_rows
    bevel = max(3, w // 90)
    for i in range(n_rows):
        top, bot = y + i * step + bevel * 2, y + (i + 1) * step - bevel * 2
        if bot - top < 4 * bevel:
            continue
        img[top : top + bevel, x0:x1] *= 0.86
        img[top:bot, x0 : x0 + bevel] *= 0.9
        img[bot - bevel : bot, x0:x1] *= 1.06
        img[top:bot, x1 - bevel : x1] *= 1.04
    if rng.random() < 0.5:
        side = w - margin // 2 if rng.random() < 0.5 else margin // 2
        cy = int(h * rng.uniform(0.45, 0.55))
        r = max(4, w // 60)
        cv2.circle(img, (side, cy), r, (0.75, 0.72, 0.65), -1, cv2.LINE_AA)
    return img


def _wood(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """Wooden floor or table: planks with grain along one axis."""
    along_x = bool(rng.random() < 0.5)
    img = _flat(h, w, color)
    grain = stretched_noise(rng, h, w, along_x, 60) * 0.05
    grain += smooth_noise(rng, h, w, 6, 0.04)
    img *= (1.0 + grain)[..., None]
    span = h if along_x else w
    plank = int(span * rng.uniform(0.12, 0.3))
    for pos in range(0, span, plank):
        tone = 1.0 + 0.07 * float(rng.standard_normal())
        if along_x:
            img[pos : pos + plank] *= tone
            img[pos : pos + 2] *= 0.55
        else:
            img[:, pos : pos + plank] *= tone
            img[:, pos : pos + 2] *= 0.55
    return img


def _bed(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """A bed sheet or duvet with soft wrinkles."""
    img = _flat(h, w, color)
    field = smooth_noise(rng, h, w, 5, 0.05) + smooth_noise(rng, h, w, 14, 0.025)
    ridges = np.abs(smooth_noise(rng, h, w, 9, 1.0))
    field -= 0.06 * np.exp(-ridges * 6.0)
    img *= (1.0 + field)[..., None]
    return img


def _cutting_mat(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """A self-healing cutting mat: coloured with a light grid every ~2.5% of the width."""
    img = _flat(h, w, color)
    img *= (1.0 + smooth_noise(rng, h, w, 8, 0.02))[..., None]
    pitch = max(8, int(w * rng.uniform(0.022, 0.04)))
    line = np.clip(color * 1.5 + 0.25, 0, 1)
    off_x, off_y = int(rng.integers(0, pitch)), int(rng.integers(0, pitch))
    for i, x in enumerate(range(off_x, w, pitch)):
        cv2.line(img, (x, 0), (x, h), line.tolist(), 2 if i % 5 == 0 else 1)
    for i, y in enumerate(range(off_y, h, pitch)):
        cv2.line(img, (0, y), (w, y), line.tolist(), 2 if i % 5 == 0 else 1)
    if rng.random() < 0.5:
        cv2.line(img, (0, 0), (min(w, h), min(w, h)), line.tolist(), 1, cv2.LINE_AA)
    return img


def _wall(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """A painted wall, sometimes with a floor strip at the bottom."""
    img = _flat(h, w, color)
    img *= (1.0 + smooth_noise(rng, h, w, 4, 0.03) + 0.01 * stretched_noise(rng, h, w, True, 3))[..., None]
    if rng.random() < 0.35:
        y = int(h * rng.uniform(0.85, 0.95))
        img[y:] = img[y:] * np.array([0.55, 0.42, 0.3], np.float32) * 1.2
        img[y : y + max(3, h // 100)] = 0.93
    return img


def _rack(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """A shop interior: a rail of clothes, out of focus behind the subject."""
    img = _flat(h, w, color * 0.8)
    x = 0
    while x < w:
        band = int(w * rng.uniform(0.02, 0.08))
        tone = rng.uniform(0.15, 0.9, 3).astype(np.float32)
        top = int(h * rng.uniform(0.05, 0.25))
        img[top : int(h * rng.uniform(0.7, 1.0)), x : x + band] = tone
        x += band
    img[: int(h * 0.06)] = color
    k = max(3, (w // 25) | 1)
    return cv2.GaussianBlur(img, (k, k), 0)


def _concrete(rng: Generator, h: int, w: int, color: np.ndarray) -> FloatImage:
    """A mottled grey or tiled floor."""
    img = _flat(h, w, color)
    img *= (1.0 + smooth_noise(rng, h, w, 20, 0.05) + smooth_noise(rng, h, w, 80, 0.03))[..., None]
    if rng.random() < 0.5:
        pitch = int(w * rng.uniform(0.2, 0.4))
        for x in range(pitch // 2, w, pitch):
            img[:, x : x + 2] *= 0.8
        for y in range(pitch // 3, h, pitch):
            img[y : y + 2] *= 0.8
    return img


BACKGROUNDS = {
    "door": _door,
    "wood": _wood,
    "bed": _bed,
    "cutting_mat": _cutting_mat,
    "wall": _wall,
    "rack": _rack,
    "concrete": _concrete,
}


def make_background(rng: Generator, kind: str, h: int, w: int, color: str) -> FloatImage:
    """Draw background ``kind`` (a BACKGROUNDS key) in ``color`` "#rrggbb": (h, w, 3) float32."""
    return np.clip(BACKGROUNDS[kind](rng, h, w, rgb(color)), 0.0, 1.0)


def fill_mask(canvas: FloatImage, mask: np.ndarray, layer: FloatImage | np.ndarray) -> None:
    """Blend ``layer`` (H, W, 3) or a colour (3,) into ``canvas`` in place where ``mask`` (H, W) is 1."""
    m = mask[..., None]
    canvas *= 1.0 - m
    canvas += m * layer


def cast_shadow(canvas: FloatImage, mask: np.ndarray, dx: int, dy: int, blur: int, strength: float) -> None:
    """Darken ``canvas`` (H, W, 3) in place outside ``mask`` (H, W) with the mask's shadow.

    The shadow is ``mask`` shifted by (dx, dy) px, blurred by ``blur`` px, times ``strength``.
    """
    h, w = mask.shape
    shifted = np.zeros_like(mask)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    shifted[yd, xd] = mask[ys, xs]
    small = cv2.resize(shifted, (max(2, w // 4), max(2, h // 4)), interpolation=cv2.INTER_AREA)
    k = max(3, (blur // 4) | 1)
    soft = cv2.resize(cv2.GaussianBlur(small, (k, k), 0), (w, h), interpolation=cv2.INTER_LINEAR)
    canvas *= (1.0 - strength * soft * (1.0 - mask))[..., None]


def paste_warped(canvas: FloatImage, patch: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Warp RGBA ``patch`` (h, w, 4 float32 in [0,1]) onto ``quad`` (4, 2: TL, TR, BR, BL px).

    Blends in place into ``canvas`` (H, W, 3) and returns the pasted alpha (H, W).
    """
    H, W = canvas.shape[:2]
    side = float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    if side < 0.7 * patch.shape[1]:
        f = max(side, 4.0) / patch.shape[1]
        size = (max(2, int(patch.shape[1] * f)), max(2, int(patch.shape[0] * f)))
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1 + 1), min(H, y1 + 1)
    alpha_full = np.zeros((H, W), np.float32)
    if x1 <= x0 or y1 <= y0:
        return alpha_full
    dst = (quad - np.array([x0, y0], np.float32)).astype(np.float32)
    mat = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(patch, mat, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    alpha = warped[..., 3:4]
    region = canvas[y0:y1, x0:x1]
    region *= 1.0 - alpha
    region += alpha * warped[..., :3]
    alpha_full[y0:y1, x0:x1] = alpha[..., 0]
    return alpha_full
