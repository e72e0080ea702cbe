"""Garments and shoes: fabric textures, flat silhouettes, a sneaker in profile, a sole's tread.

Drawing functions paint onto an ``H×W×3`` uint8 numpy canvas (pixels) inside a box
``(x, y, w, h)``; colours come from the spec's ``garment_hex``/``garment_hex2``, texture from
its ``pattern`` (plain, denim, knit, stripes, check, dots, floral, leather, mesh).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .drawing import hex_rgb, smooth_noise

__all__ = ["SILHOUETTES", "draw_garment", "draw_sneaker", "fabric", "sole_surface", "weave_tile"]

Spec = dict[str, str | int | float | bool]
Box = tuple[int, int, int, int]

_TEE = (
    (0.32, 0.04),
    (0.42, 0.08),
    (0.58, 0.08),
    (0.68, 0.04),
    (0.96, 0.2),
    (0.86, 0.38),
    (0.76, 0.31),
    (0.76, 0.97),
    (0.24, 0.97),
    (0.24, 0.31),
    (0.14, 0.38),
    (0.04, 0.2),
)
_LONG = (
    (0.33, 0.03),
    (0.42, 0.07),
    (0.58, 0.07),
    (0.67, 0.03),
    (0.84, 0.12),
    (0.99, 0.82),
    (0.89, 0.85),
    (0.76, 0.36),
    (0.76, 0.97),
    (0.24, 0.97),
    (0.24, 0.36),
    (0.11, 0.85),
    (0.01, 0.82),
    (0.16, 0.12),
)
_JEANS = ((0.24, 0.02), (0.76, 0.02), (0.8, 0.98), (0.56, 0.98), (0.5, 0.32), (0.44, 0.98), (0.2, 0.98))
_DRESS = (
    (0.37, 0.02),
    (0.42, 0.02),
    (0.44, 0.1),
    (0.56, 0.1),
    (0.58, 0.02),
    (0.63, 0.02),
    (0.66, 0.33),
    (0.88, 0.98),
    (0.12, 0.98),
    (0.34, 0.33),
)
_SKIRT = ((0.3, 0.05), (0.7, 0.05), (0.9, 0.95), (0.1, 0.95))

SILHOUETTES: dict[str, tuple[tuple[float, float], ...]] = {
    "tee": _TEE,
    "shirt": _LONG,
    "sweater": _LONG,
    "jacket": _LONG,
    "jeans": _JEANS,
    "dress": _DRESS,
    "skirt": _SKIRT,
}


def _stripes(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Horizontal stripes (t in 0–1)."""
    period = int(rng.integers(10, 40))
    return ((np.arange(h) // (period // 2)) % 2).astype(np.float32)[:, None] * np.ones((1, w), np.float32)


def _check(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A tartan-like check (t in 0–1)."""
    period = int(rng.integers(16, 60))
    a = ((np.arange(h) // (period // 2)) % 2).astype(np.float32)[:, None]
    b = ((np.arange(w) // (period // 2)) % 2).astype(np.float32)[None, :]
    return (a + b) / 2


def _dots(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Polka dots (t in 0–1)."""
    period = int(rng.integers(14, 44))
    yy, xx = np.mgrid[0:h, 0:w]
    shift = (yy // period) % 2 * (period // 2)
    d = ((xx + shift) % period - period / 2) ** 2 + (yy % period - period / 2) ** 2
    return (d < (period * 0.22) ** 2).astype(np.float32)


def _floral(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Scattered blossoms (t in 0–1)."""
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    r = int(rng.integers(5, 14))
    for _ in range(int(w * h / (r * r * 40)) + 1):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        for k in range(5):
            a = k * 1.2566
            draw.ellipse(
                (
                    x + np.cos(a) * r - r / 2,
                    y + np.sin(a) * r - r / 2,
                    x + np.cos(a) * r + r / 2,
                    y + np.sin(a) * r + r / 2,
                ),
                fill=255,
            )
    return np.asarray(canvas, np.float32) / 255.0


def _grain(h: int, w: int, rng: np.random.Generator, pattern: str) -> np.ndarray:
    """Fine weave: denim twill, knit ribs, leather pores, mesh holes or plain cloth (−1…1)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if pattern == "denim":
        return np.sin((xx + yy) * 1.3) * 0.6 + rng.standard_normal((h, w)).astype(np.float32) * 0.4
    if pattern == "knit":
        return np.sin(xx * 0.9) * 0.5 + np.sin((yy + np.abs((xx % 8) - 4) * 2) * 0.8) * 0.5
    if pattern == "mesh":
        return ((xx % 6 < 2) | (yy % 6 < 2)).astype(np.float32) - 0.5
    return smooth_noise(rng, h, w, 2) * (0.6 if pattern == "leather" else 0.25)


def weave_tile(cell: int, pattern: str, rng: np.random.Generator) -> np.ndarray:
    """A small float32 tile (−1…1) of the weave seen close: ``4×cell`` pixels square, to be tiled."""
    size = 4 * cell
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) * (2 * np.pi / cell)
    if pattern in ("denim", "knit", "mesh"):
        tile = np.sin(xx + yy) * 0.7 + np.sin(xx * 2) * 0.3
    else:
        tile = np.sin(xx) * np.sin(yy) * 0.8
    return (tile + rng.standard_normal((size, size)).astype(np.float32) * 0.2).astype(np.float32)


_MOTIFS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "stripes": _stripes,
    "check": _check,
    "dots": _dots,
    "floral": _floral,
}


def fabric(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """An ``h×w×3`` float32 fabric in the garment's colours and pattern, with soft folds.

    Drawn at half size and enlarged (the weave is finer than the camera resolves anyway).
    """
    small = _fabric(max(4, h // 2), max(4, w // 2), spec, rng)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _fabric(h: int, w: int, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """:func:`fabric` at its own size ``h×w``."""
    base = np.array(hex_rgb(str(spec["garment_hex"])), np.float32)
    other = np.array(hex_rgb(str(spec["garment_hex2"])), np.float32)
    pattern = str(spec["pattern"])
    motif = _MOTIFS.get(pattern)
    if motif is not None:
        t = motif(h, w, rng)[..., None]
        img = base * (1 - t) + other * t
    else:
        img = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    grain = _grain(h, w, rng, pattern)
    folds = smooth_noise(rng, h, w, max(h, w) // 5)
    return (img * (1.0 + folds[..., None] * 0.1) + grain[..., None] * 10.0).astype(np.float32)


def _mask(category: str, w: int, h: int) -> Image.Image:
    """The ``"L"`` mask (255 inside) of a garment's flat silhouette in a ``w×h`` box."""
    mask = Image.new("L", (w, h), 0)
    points = [(x * w, y * h) for x, y in SILHOUETTES.get(category, _TEE)]
    ImageDraw.Draw(mask).polygon(points, fill=255)
    return mask


def _hanger(canvas: np.ndarray, box: Box) -> None:
    """A wooden hanger hook and bar above a garment's box."""
    x, y, w, h = box
    cx = x + w // 2
    cv2.line(canvas, (cx, max(0, y - h // 8)), (cx, y + h // 30), (120, 120, 125), max(2, w // 120))
    cv2.line(canvas, (x + w // 6, y + h // 12), (cx, y + h // 30), (150, 110, 70), max(4, w // 40))
    cv2.line(canvas, (x + 5 * w // 6, y + h // 12), (cx, y + h // 30), (150, 110, 70), max(4, w // 40))


def draw_garment(canvas: np.ndarray, box: Box, spec: Spec, rng: np.random.Generator) -> None:
    """Paint the spec's garment flat (or on a hanger / mannequin) into ``box`` with a soft shadow."""
    category = str(spec["garment"])
    if category in ("sneakers", "boots"):
        draw_sneaker(canvas, box, spec, rng)
        return
    x, y, w, h = box
    mask = _mask(category, w, h).rotate(float(spec["subject_angle"]), resample=Image.Resampling.BILINEAR)
    m = np.asarray(mask, np.float32) / 255.0
    shadow = cv2.GaussianBlur(m, (0, 0), max(2.0, w / 60))
    _blend(canvas, box, shadow * 0.35, np.zeros(3, np.float32), (w // 50, h // 40))
    if spec["pose"] == "hanger":
        _hanger(canvas, box)
    if spec["pose"] == "mannequin":
        neck = (x + int(w * 0.4), max(0, y - h // 10), x + int(w * 0.6), y + h // 10)
        cv2.rectangle(canvas, neck[:2], neck[2:], (205, 200, 190), -1)
    _blend(canvas, box, m, fabric(h, w, spec, rng), (0, 0))


def _blend(canvas: np.ndarray, box: Box, alpha: np.ndarray, colour: np.ndarray, offset: tuple[int, int]) -> None:
    """Blend ``colour`` (3,) or h×w×3 into ``canvas`` inside ``box`` shifted by ``offset``, weighted by ``alpha``."""
    x, y, w, h = box
    x, y = x + offset[0], y + offset[1]
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    a = np.ascontiguousarray(alpha[y0 - y : y1 - y, x0 - x : x1 - x], dtype=np.float32)
    if colour.ndim == 1:
        c = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        c[:] = np.clip(colour, 0, 255).astype(np.uint8)
    else:
        c = np.clip(colour[y0 - y : y1 - y, x0 - x : x1 - x], 0, 255).astype(np.uint8)
    region = np.ascontiguousarray(canvas[y0:y1, x0:x1])
    canvas[y0:y1, x0:x1] = cv2.blendLinear(c, region, a, 1.0 - a)


_SNEAKER = (
    (0.04, 0.78),
    (0.05, 0.45),
    (0.1, 0.3),
    (0.22, 0.27),
    (0.3, 0.34),
    (0.42, 0.3),
    (0.55, 0.42),
    (0.75, 0.52),
    (0.9, 0.6),
    (0.97, 0.7),
    (0.97, 0.8),
)
_BOOT = ((0.05, 0.8), (0.07, 0.05), (0.4, 0.05), (0.43, 0.45), (0.7, 0.53), (0.92, 0.62), (0.97, 0.8))


def _shoe_patch(w: int, h: int, spec: Spec, rng: np.random.Generator) -> Image.Image:
    """An RGBA side view of a sneaker (or a boot) filling ``w×h`` pixels, toe to the right."""
    boot = spec["garment"] == "boots"
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    upper = _BOOT if boot else _SNEAKER
    d.polygon([(px * w, py * h) for px, py in upper], fill=hex_rgb(str(spec["garment_hex"])) + (255,))
    sole = (240, 240, 236, 255) if rng.random() < 0.6 else (150, 95, 50, 255)
    d.rounded_rectangle((0.02 * w, 0.76 * h, 0.98 * w, 0.92 * h), radius=int(h * 0.06), fill=sole)
    line = max(2, h // 60)
    d.line([(0.03 * w, 0.84 * h), (0.97 * w, 0.84 * h)], fill=(200, 200, 195, 255), width=line)
    if not boot:
        accent = hex_rgb(str(spec["garment_hex2"])) + (255,)
        d.line([(0.2 * w, 0.66 * h), (0.45 * w, 0.52 * h), (0.78 * w, 0.66 * h)], fill=accent, width=max(4, h // 20))
        d.line([(0.06 * w, 0.5 * h), (0.2 * w, 0.72 * h)], fill=accent, width=max(3, h // 30))
        for k in range(5):
            lx = (0.4 + k * 0.045) * w
            ly = (0.34 + k * 0.035) * h
            d.line(
                [(lx - 0.03 * w, ly + 0.03 * h), (lx + 0.03 * w, ly - 0.02 * h)],
                fill=(245, 245, 245, 255),
                width=max(2, h // 50),
            )
    return img


def draw_sneaker(canvas: np.ndarray, box: Box, spec: Spec, rng: np.random.Generator) -> None:
    """A sneaker (or boot) in side view inside ``box``, with a soft floor shadow."""
    x, y, w, h = box
    img = _shoe_patch(w, h, spec, rng)
    rgba = np.asarray(img.rotate(float(spec["subject_angle"]) / 2, resample=Image.Resampling.BILINEAR), np.float32)
    alpha = rgba[..., 3] / 255.0
    _blend(
        canvas,
        box,
        cv2.GaussianBlur(alpha, (0, 0), max(2.0, w / 50)) * 0.35,
        np.zeros(3, np.float32),
        (w // 60, h // 25),
    )
    _blend(canvas, box, alpha, rgba[..., :3] * (1 + smooth_noise(rng, h, w, 6)[..., None] * 0.05), (0, 0))


def sole_surface(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An ``h×w×3`` uint8 close view of a rubber sole: zig-zag tread, a few worn scuffs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = float(rng.uniform(18, 40))
    zig = np.abs(((xx / period) % 2) - 1) * period * 0.6
    tread = (((yy + zig) // (period / 2)) % 2).astype(np.float32)
    tone = float(rng.choice([235.0, 60.0, 170.0]))
    img = tone - tread * 25 + smooth_noise(rng, h, w, 30) * 12
    rgb = np.stack([img, img * 0.98, img * 0.95], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)
