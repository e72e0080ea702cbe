"""Pixel helpers of the ``thrift`` renderer: noise fields, backgrounds and fabrics.

Images are numpy arrays: ``float32`` of shape (H, W, 3) with values 0–255 unless said
otherwise; masks are ``float32`` (H, W) in 0–1. ``rng`` is a ``numpy.random.Generator``.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

__all__ = ["background", "fabric", "hex_rgb", "ink", "paste", "shadow", "smooth", "speckle", "text_mask"]

Arr = np.ndarray
_TILE = 2048


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """Return the (r, g, b) ints 0–255 of a ``#rrggbb`` string."""
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def smooth(rng: np.random.Generator, h: int, w: int, cells: float) -> Arr:
    """Return a smooth noise field (H, W) float32 roughly in -1..1 with ``cells`` lumps across."""
    gy = max(2, int(round(cells * h / max(h, w))) + 2)
    gx = max(2, int(round(cells * w / max(h, w))) + 2)
    small = rng.standard_normal((gy, gx)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * 0.7


@lru_cache(maxsize=1)
def _noise_tile() -> Arr:
    """Return a fixed 2048 × 2048 float32 tile of unit Gaussian noise (same in every process)."""
    return np.random.default_rng(20240517).standard_normal((_TILE, _TILE)).astype(np.float32)


def speckle(rng: np.random.Generator, h: int, w: int, step: int = 1) -> Arr:
    """Return fine noise (H, W) float32 with std ~1, at 1/``step`` resolution (H, W <= 2048).

    The noise is a randomly placed, flipped crop of a fixed tile, drawn with ``rng``.
    """
    sh, sw = max(1, h // step), max(1, w // step)
    if sh > _TILE or sw > _TILE:
        return speckle(rng, h, w, step * 2)
    tile = _noise_tile()
    y0 = int(rng.integers(0, _TILE - sh + 1))
    x0 = int(rng.integers(0, _TILE - sw + 1))
    crop = tile[y0 : y0 + sh, x0 : x0 + sw]
    if rng.random() < 0.5:
        crop = crop[::-1]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if sh == h and sw == w:
        return crop
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_LINEAR)


def _solid(h: int, w: int, rgb: tuple[int, int, int]) -> Arr:
    """Return an (H, W, 3) float32 image filled with ``rgb``."""
    out = np.empty((h, w, 3), np.float32)
    out[:] = rgb
    return out


def _wood(rng: np.random.Generator, h: int, w: int, table: bool) -> Arr:
    """Return a wood floor (planks) or wooden table top, (H, W, 3) float32."""
    horizontal = rng.random() < 0.5
    ph, pw = (h, w) if horizontal else (w, h)
    tones = ((150, 105, 65), (185, 140, 95), (120, 80, 50), (205, 170, 125), (95, 65, 45))
    base = np.array(tones[rng.integers(len(tones))], np.float32)
    plank = int(pw / rng.uniform(3.5, 8.0)) if not table else int(pw / rng.uniform(1.5, 3.0))
    grain_small = rng.standard_normal((max(2, ph // 3), 10)).astype(np.float32)
    grain = cv2.resize(grain_small, (pw, ph), interpolation=cv2.INTER_LINEAR)
    img = _solid(ph, pw, (0, 0, 0)) + base
    img *= (1.0 + 0.07 * grain)[..., None]
    rows = np.arange(ph)
    for top in range(0, ph, max(8, plank)):
        img[top : top + plank] *= np.float32(rng.uniform(0.85, 1.12))
        img[top : top + max(1, plank // 60)] *= 0.55
        cut = int(rng.uniform(0, pw))
        img[top : top + plank, cut : cut + max(1, pw // 500)] *= 0.6
    del rows
    img *= (1.0 + 0.05 * smooth(rng, ph, pw, 4))[..., None]
    return img if horizontal else np.ascontiguousarray(img.transpose(1, 0, 2))


def _sheet(rng: np.random.Generator, h: int, w: int) -> Arr:
    """Return a bedsheet with soft folds, (H, W, 3) float32."""
    tones = ((238, 236, 230), (226, 221, 210), (205, 214, 226), (200, 210, 196), (232, 222, 222), (90, 98, 120))
    img = _solid(h, w, tones[rng.integers(len(tones))])
    folds = smooth(rng, h, w, rng.uniform(3, 7))
    ridges = np.abs(smooth(rng, h, w, rng.uniform(3, 6)))
    img *= (1.0 + 0.07 * folds - 0.06 * np.exp(-ridges * 3.0))[..., None]
    img += 2.5 * speckle(rng, h, w, 2)[..., None]
    return img


def _wall(rng: np.random.Generator, h: int, w: int, door: bool) -> Arr:
    """Return a painted wall (or a white door with panels), (H, W, 3) float32."""
    tones = ((236, 234, 228), (242, 240, 236), (226, 222, 214), (214, 220, 224), (238, 228, 210))
    img = _solid(h, w, tones[rng.integers(len(tones))])
    grad = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(0.95, 1.08), w, dtype=np.float32)
    img *= grad[None, :, None]
    img *= (1.0 + 0.03 * smooth(rng, h, w, 3))[..., None]
    if door:
        for x0, x1 in ((0.12, 0.45), (0.55, 0.88)):
            for y0, y1 in ((0.05, 0.4), (0.5, 0.95)):
                a, b = int(x0 * w), int(x1 * w)
                c, d = int(y0 * h), int(y1 * h)
                t = max(2, w // 250)
                img[c : c + t, a:b] *= 0.86
                img[c:d, a : a + t] *= 0.86
                img[d - t : d, a:b] *= 1.04
                img[c:d, b - t : b] *= 1.04
    img += 1.5 * speckle(rng, h, w, 1)[..., None]
    return img


def _carpet(rng: np.random.Generator, h: int, w: int) -> Arr:
    """Return a carpet or rug with fibre texture, (H, W, 3) float32."""
    tones = ((120, 115, 108), (170, 158, 140), (85, 95, 115), (140, 60, 55), (200, 195, 185), (70, 70, 72))
    img = _solid(h, w, tones[rng.integers(len(tones))])
    img *= (1.0 + 0.12 * speckle(rng, h, w, 1) + 0.08 * speckle(rng, h, w, 3))[..., None]
    img *= (1.0 + 0.06 * smooth(rng, h, w, 5))[..., None]
    return img


def _concrete(rng: np.random.Generator, h: int, w: int) -> Arr:
    """Return a concrete floor with blotches and specks, (H, W, 3) float32."""
    g = rng.uniform(120, 185)
    img = _solid(h, w, (int(g), int(g * 0.99), int(g * 0.96)))
    img *= (1.0 + 0.10 * smooth(rng, h, w, 8) + 0.05 * smooth(rng, h, w, 25))[..., None]
    img *= (1.0 + 0.06 * speckle(rng, h, w, 1))[..., None]
    n = int(h * w / 4000)
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    img[ys, xs] *= 0.6
    return img


def background(rng: np.random.Generator, name: str, h: int, w: int) -> Arr:
    """Return background ``name`` (wood, sheet, wall, door, carpet, concrete, table) (H, W, 3)."""
    if name == "wood":
        return _wood(rng, h, w, False)
    if name == "table":
        if rng.random() < 0.5:
            return _wood(rng, h, w, True)
        return _sheet(rng, h, w) * np.float32(rng.uniform(0.9, 1.0))
    if name == "sheet":
        return _sheet(rng, h, w)
    if name in ("wall", "door"):
        return _wall(rng, h, w, name == "door")
    if name == "carpet":
        return _carpet(rng, h, w)
    return _concrete(rng, h, w)


def _bands(n: int, period: float, duty: float, phase: float) -> Arr:
    """Return a 0/1-ish band profile (n,) float32 of ``period`` px, ``duty`` fraction on."""
    t = (np.arange(n, dtype=np.float32) + phase) / max(period, 1.0)
    return np.clip(((t % 1.0) < duty).astype(np.float32), 0, 1)


def fabric(rng: np.random.Generator, h: int, w: int, colours: tuple[str, str], pattern: str, unit: float) -> Arr:
    """Return a fabric texture (H, W, 3) float32 of ``pattern``; ``unit`` is its scale in px."""
    c1 = np.array(hex_rgb(colours[0]), np.float32)
    c2 = np.array(hex_rgb(colours[1]), np.float32)
    if np.abs(c1 - c2).sum() < 90:
        c2 = np.where(c1 > 128, c1 * 0.45, np.minimum(255, c1 + 120))
    mix = np.zeros((h, 1) if pattern == "stripes" else (h, w), np.float32)
    if pattern == "stripes":
        mix += _bands(h, unit, rng.uniform(0.3, 0.6), rng.uniform(0, unit))[:, None]
    elif pattern == "check":
        a = _bands(h, unit * 1.5, 0.4, 0)[:, None]
        b = _bands(w, unit * 1.5, 0.4, 0)[None, :]
        mix += 0.5 * a + 0.5 * b
    elif pattern == "dots":
        yy = (np.arange(h, dtype=np.float32) % unit - unit / 2)[:, None]
        xx = (np.arange(w, dtype=np.float32) % unit - unit / 2)[None, :]
        mix += ((yy * yy + xx * xx) < (unit * 0.2) ** 2).astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    if pattern in ("stripes", "check", "dots"):
        img[:] = c1[None, None, :] + (c2 - c1)[None, None, :] * mix[..., None]
    else:
        img[:] = c1
    fine = max(1.0, unit / 10.0)
    if pattern == "knit":
        rib = np.sin(np.arange(w, dtype=np.float32) * (2 * np.pi / max(3.0, fine * 3)))
        img *= (1.0 + 0.10 * rib)[None, :, None]
    if pattern == "denim":
        d = (np.arange(h, dtype=np.float32)[:, None] + np.arange(w, dtype=np.float32)[None, :]) / max(2.0, fine * 2)
        img *= (1.0 + 0.07 * np.sin(d * np.pi))[..., None]
        img = img * 0.85 + 0.15 * np.array((200, 210, 225), np.float32) * (speckle(rng, h, w, 1)[..., None] > 1.2)
    amount = 0.10 if pattern in ("heather", "denim") else 0.04
    img *= (1.0 + amount * speckle(rng, h, w, 1))[..., None]
    return img


def paste(dst: Arr, src: Arr, mask: Arr, x: int, y: int) -> None:
    """Blend ``src`` (h, w, 3) into ``dst`` (H, W, 3) at (x, y) px through ``mask`` (h, w) 0–1."""
    h, w = mask.shape
    H, W = dst.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    s = src[y0 - y : y1 - y, x0 - x : x1 - x]
    region = dst[y0:y1, x0:x1]
    region *= 1 - m
    region += s * m


def shadow(dst: Arr, mask: Arr, dx: int, dy: int, soft: float, strength: float) -> None:
    """Darken ``dst`` (H, W, 3) under ``mask`` (H, W) shifted by (dx, dy) px, blurred ``soft`` px."""
    h, w = mask.shape
    f = max(1, int(soft / 3))
    small = cv2.resize(mask, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(0.5, soft / f))
    m = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    m = np.roll(m, (dy, dx), axis=(0, 1))
    dst *= (1.0 - strength * m)[..., None]


def text_mask(text: str, font_name: str, size_px: int, stroke: int = 0, spacing: int = 4) -> Arr:
    """Return the mask (h, w) float32 0–1 of ``text`` in font ``font_name`` at ``size_px`` px."""
    from PIL import Image, ImageDraw

    from .fonts import font

    f = font(font_name, size_px)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = probe.multiline_textbbox((0, 0), text, font=f, stroke_width=stroke, spacing=spacing)
    w, h = int(box[2] - box[0]) + 4, int(box[3] - box[1]) + 4
    im = Image.new("L", (max(1, w), max(1, h)), 0)
    ImageDraw.Draw(im).multiline_text(
        (2 - box[0], 2 - box[1]), text, font=f, fill=255, stroke_width=stroke, stroke_fill=255, spacing=spacing
    )
    return np.asarray(im, np.float32) / 255.0


def ink(dst: Arr, mask: Arr, rgb: tuple[int, int, int], x: int, y: int, alpha: float = 1.0) -> None:
    """Print colour ``rgb`` into ``dst`` (H, W, 3) through ``mask`` (h, w) at (x, y) px."""
    src = np.empty((*mask.shape, 3), np.float32)
    src[:] = rgb
    paste(dst, src, mask * alpha, x, y)
