"""Surfaces: the backgrounds photos are taken on and the fabrics garments are made of.

Every function returns a uint8 RGB image (rows × cols × 3). Textures are built from
noise drawn at a low resolution and enlarged, so a 2048-pixel surface costs a few ms.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["BACKGROUNDS", "FABRICS", "background", "fabric", "flat", "hex_rgb", "shade", "smooth_noise", "soft", "tone"]

BACKGROUNDS = ("tablecloth", "grass", "tiles", "cardboard", "bed", "wood", "concrete", "wall", "rug")
FABRICS = ("plain", "knit", "denim", "stripes", "check", "dots", "floral", "leather", "corduroy")


def soft(img: np.ndarray, sigma: float) -> np.ndarray:
    """A cheap wide Gaussian-like blur (``sigma`` px) of an image: shrink, blur, enlarge; same shape and dtype."""
    h, w = img.shape[:2]
    f = max(1.0, sigma / 2.0)
    if f <= 1.0:
        return cv2.GaussianBlur(img, (0, 0), max(0.3, sigma))
    small = cv2.resize(img, (max(1, int(w / f)), max(1, int(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def hex_rgb(color: str) -> np.ndarray:
    """Parse ``"#rrggbb"`` into a float32 array of 3 values in 0–255."""
    c = color.lstrip("#")
    return np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], np.float32)


def smooth_noise(
    h: int, w: int, rng: np.random.Generator, cell: float, amp: float = 1.0, offset: float = 0.0, fold: bool = False
) -> np.ndarray:
    """Return float32 noise (h × w): ``offset + amp·n`` with n of unit variance and features ``cell`` px wide.

    ``fold`` takes |n| instead of n (sharp creases, as in bed linen).
    """
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    if fold:
        g = np.abs(g)
    return cv2.resize(g * amp + offset, (w, h), interpolation=cv2.INTER_CUBIC)


def _grain(h: int, w: int, rng: np.random.Generator, amount: float, offset: float = 0.0) -> np.ndarray:
    """Fine per-pixel grain (h × w float32, ``offset`` ± ``amount``) built from a tiled 128-pixel patch."""
    tile = rng.standard_normal((128, 128)).astype(np.float32) * amount + offset
    oy, ox = int(rng.integers(0, 128)), int(rng.integers(0, 128))
    big = cv2.repeat(tile, h // 128 + 2, w // 128 + 2)
    return big[oy : oy + h, ox : ox + w]


def shade(img: np.ndarray, shading: np.ndarray) -> np.ndarray:
    """Multiply uint8 RGB ``img`` by a float (h × w) shading map (1 = unchanged); returns uint8."""
    s8 = cv2.convertScaleAbs(shading, alpha=128.0)
    return cv2.multiply(img, cv2.merge([s8, s8, s8]), scale=1 / 128)


def tone(t: np.ndarray, c1: str, c2: str) -> np.ndarray:
    """Map a weight image ``t`` (h × w, float 0–1 or uint8 0–255) from colour ``c1`` to ``c2`` (hex)."""
    t8 = t if t.dtype == np.uint8 else cv2.convertScaleAbs(t, alpha=255.0)
    a, b = hex_rgb(c1), hex_rgb(c2)
    lut = (a[None, :] + (b - a)[None, :] * np.linspace(0, 1, 256, dtype=np.float32)[:, None]).astype(np.uint8)
    return cv2.LUT(cv2.merge([t8, t8, t8]), lut.reshape(256, 1, 3))


def flat(h: int, w: int, color: str) -> np.ndarray:
    """A uint8 RGB image of one colour (hex)."""
    return np.full((h, w, 3), hex_rgb(color).astype(np.uint8), np.uint8)


def _tiled(tile: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Repeat a pattern tile over (h × w), starting at a random phase."""
    th, tw = tile.shape[:2]
    oy, ox = int(rng.integers(0, th)), int(rng.integers(0, tw))
    return cv2.repeat(tile, h // th + 2, w // tw + 2)[oy : oy + h, ox : ox + w]


def _check_tile(period: int, band: float) -> np.ndarray:
    """One period of a check: 0 both off, 128 one band, 255 both bands (uint8 period × period)."""
    on = (np.arange(period) < period * band).astype(np.float32)
    t = 0.5 * (on[:, None] + on[None, :])
    return cv2.convertScaleAbs(t, alpha=255.0)


def _grass(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Lawn: blades stroked at half resolution over mottled green (uint8 RGB)."""
    sh, sw = max(8, h // 2), max(8, w // 2)
    img = tone(cv2.convertScaleAbs(smooth_noise(sh, sw, rng, 40, 64, 128)), "#3a5c1e", "#78963c")
    n = int(sh * sw / 110)
    xs, ys = rng.integers(0, sw, n), rng.integers(0, sh, n)
    ang = rng.normal(-np.pi / 2, 0.5, n)
    ln = rng.uniform(4, 14, n)
    tones = rng.integers(0, 4, n)
    palette = [(40, 70, 20), (90, 130, 45), (140, 170, 70), (70, 100, 35)]
    for x, y, a, length, t in zip(xs, ys, ang, ln, tones, strict=True):
        x2, y2 = int(x + length * np.cos(a)), int(y + length * np.sin(a))
        cv2.line(img, (int(x), int(y)), (x2, y2), palette[int(t)], 1, cv2.LINE_AA)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


def _tiles(h: int, w: int, rng: np.random.Generator, color: str, unit: float) -> np.ndarray:
    """Square floor or wall tiles with grout lines (uint8 RGB)."""
    size = int(unit * rng.uniform(2.5, 5.0))
    grout = np.zeros((size, size), np.uint8)
    g = max(2, int(size * 0.03))
    grout[:g, :] = 255
    grout[:, :g] = 255
    img = tone(_tiled(grout, h, w, rng), color, "#948f86")
    per = rng.normal(1, 0.015, (h // size + 2, w // size + 2)).astype(np.float32)
    return shade(img, cv2.resize(per, (w, h), interpolation=cv2.INTER_NEAREST))


def _wood(h: int, w: int, rng: np.random.Generator, color: str, unit: float) -> np.ndarray:
    """Floor boards: per-board tone, stretched-noise grain and dark joints (uint8 RGB)."""
    grain = cv2.resize(rng.standard_normal((max(2, h // 60), max(2, w // 3))).astype(np.float32), (w, h))
    board = unit * rng.uniform(3, 5)
    idx = (np.arange(h) / board).astype(int)
    tones = rng.normal(1.0, 0.08, idx.max() + 1).astype(np.float32)[idx]
    joint = (np.arange(h) % board < max(1.5, board * 0.02)).astype(np.float32)
    col = (tones * (1 - 0.45 * joint))[:, None]
    return shade(flat(h, w, color), col * (1 + 0.07 * grain))


def background(name: str, h: int, w: int, rng: np.random.Generator, color: str) -> np.ndarray:
    """Draw background ``name`` (one of ``BACKGROUNDS``) in its main ``color`` (hex).

    Returns uint8 RGB (h × w × 3); features scale with the image size.
    """
    unit = max(h, w) / 40.0
    if name == "tablecloth":
        if rng.random() < 0.6:
            img = tone(_tiled(_check_tile(max(6, int(unit * rng.uniform(0.8, 1.6))), 0.5), h, w, rng), "#f6f4ee", color)
        else:
            img = flat(h, w, color)
        s = smooth_noise(h, w, rng, unit * 6, 0.06, 1)
    elif name == "grass":
        img, s = _grass(h, w, rng), smooth_noise(h, w, rng, unit * 8, 0.1, 1)
    elif name == "tiles":
        img, s = _tiles(h, w, rng, color, unit), smooth_noise(h, w, rng, unit * 10, 0.03, 1)
    elif name == "cardboard":
        stripes = 1 + 0.03 * np.sin(np.arange(h, dtype=np.float32) * 2 * np.pi / max(3.0, unit * 0.2))
        img = shade(flat(h, w, color), np.repeat(stripes[:, None], w, axis=1))
        s = cv2.add(smooth_noise(h, w, rng, unit * 3, 0.05, 1), _grain(h, w, rng, 0.035))
    elif name == "bed":
        img = flat(h, w, color)
        s = cv2.subtract(
            smooth_noise(h, w, rng, unit * 5, 0.05, 0.97), smooth_noise(h, w, rng, unit * 2, 0.07, 0, True)
        )
    elif name == "wood":
        img, s = _wood(h, w, rng, color, unit), smooth_noise(h, w, rng, unit * 12, 0.04, 1)
    elif name == "rug":
        img = tone(_tiled(_check_tile(max(4, int(unit * 0.4)), 0.33), h, w, rng), color, "#d9c7a0")
        s = _grain(h, w, rng, 0.08, 1)
    else:  # concrete, wall
        img = flat(h, w, color)
        s = cv2.add(
            smooth_noise(h, w, rng, unit * 4, 0.05, 1), _grain(h, w, rng, 0.05 if name == "concrete" else 0.012)
        )
    return shade(img, s)


def fabric(pattern: str, h: int, w: int, rng: np.random.Generator, color: str, color2: str, unit: float) -> np.ndarray:
    """Draw a fabric texture (``pattern`` one of ``FABRICS``) of colours ``color``/``color2``.

    ``unit`` is the pattern repeat in pixels (stripe width, dot spacing). Returns uint8 RGB.
    """
    u = max(4, int(unit))
    fine = 0.04
    if pattern == "stripes":
        tile = np.zeros((u, 4), np.uint8)
        tile[: int(u * 0.45)] = 255
        img = tone(_tiled(tile, h, w, rng), color, color2)
    elif pattern == "check":
        img = tone(_tiled(_check_tile(u, 1 / 3), h, w, rng), color, color2)
    elif pattern == "dots":
        tile = np.zeros((u, u), np.uint8)
        cv2.circle(tile, (u // 2, u // 2), max(1, int(u * 0.18)), 255, -1, cv2.LINE_AA)
        img = tone(_tiled(tile, h, w, rng), color, color2)
    elif pattern == "floral":
        blob = smooth_noise(h, w, rng, unit * 0.45, 3 * 255, -2.7 * 255)
        img = tone(cv2.convertScaleAbs(np.maximum(blob, 0)), color, color2)
    elif pattern in ("denim", "knit", "corduroy"):
        k = {"denim": 0.08, "knit": 0.15, "corduroy": 0.1}[pattern]
        p = max(3, int(round(unit * k)))
        x = np.arange(p * 8, dtype=np.float32)
        if pattern == "denim":
            ftile = 0.9 + 0.12 * (0.5 + 0.5 * np.sin((x[None, :] + x[:, None]) * 2 * np.pi / p))
            fine = 0.09
        else:
            ftile = np.repeat((0.88 + 0.14 * (0.5 + 0.5 * np.sin(x * 2 * np.pi / p)))[None, :], 8, axis=0)
        img = shade(flat(h, w, color), _tiled(ftile.astype(np.float32), h, w, rng))
        if pattern == "denim":
            img = shade(img, smooth_noise(h, w, rng, unit * 3, 0.12, 1))
    elif pattern == "leather":
        img = shade(flat(h, w, color), smooth_noise(h, w, rng, max(2.0, unit * 0.06), -0.08, 1.02, True))
        fine = 0.02
    else:
        img = flat(h, w, color)
    return shade(img, _grain(h, w, rng, fine, 1))
