"""Second-hand garments: silhouettes (flat lay, on a hanger, on a dress form) and their fabrics.

Everything is drawn into an RGB ``float32`` canvas (0..1, shape (H, W, 3)) inside a box given
in canvas pixels.  Garments (``spec["garment"]``): ``tee``, ``shirt``, ``sweater``, ``jacket``,
``dress``, ``skirt``, ``jeans``, ``shoes``.  Fabrics (``spec["pattern"]``): ``plain``,
``stripes``, ``check``, ``dots``, ``denim``, ``knit``, ``cord``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .handwriting import font_text_mask, paste_ink
from .paper import hex_rgb, low_noise
from .spec import Spec

__all__ = ["GARMENTS", "PATTERNS", "draw_garment", "fabric", "warp_blend"]

_LONG_SLEEVES = [(0.38, 0.03), (0.2, 0.07), (0.03, 0.8), (0.14, 0.84), (0.26, 0.32), (0.25, 0.98)]
_SHORT_SLEEVES = [(0.38, 0.04), (0.2, 0.09), (0.02, 0.33), (0.13, 0.42), (0.25, 0.32), (0.25, 0.98)]
_HALF: dict[str, list[tuple[float, float]]] = {
    "tee": _SHORT_SLEEVES + [(0.5, 0.98)],
    "shirt": _LONG_SLEEVES + [(0.5, 0.99)],
    "sweater": _LONG_SLEEVES + [(0.5, 0.96)],
    "jacket": [(0.4, 0.02), (0.18, 0.06), (0.02, 0.86), (0.14, 0.9), (0.24, 0.34), (0.22, 0.98), (0.5, 0.98)],
    "dress": [(0.4, 0.01), (0.32, 0.03), (0.3, 0.2), (0.34, 0.42), (0.1, 0.98), (0.5, 0.98)],
    "skirt": [(0.28, 0.02), (0.26, 0.12), (0.06, 0.98), (0.5, 0.98)],
    "jeans": [(0.16, 0.02), (0.13, 0.3), (0.1, 0.99), (0.44, 0.99), (0.5, 0.32)],
}
_NECK = {"tee": 0.11, "shirt": 0.08, "sweater": 0.1, "jacket": 0.3, "dress": 0.14, "skirt": 0.02, "jeans": 0.02}

GARMENTS: tuple[str, ...] = ("tee", "shirt", "sweater", "jacket", "dress", "skirt", "jeans", "shoes")
"""The garments the renderer draws."""
PATTERNS: tuple[str, ...] = ("plain", "stripes", "check", "dots", "denim", "knit", "cord")
"""The fabrics the renderer draws."""


def _outline(garment: str) -> np.ndarray:
    """The unit polygon (points in 0..1) of a garment, mirrored from its left half."""
    half = _HALF[garment]
    right = [(1.0 - x, y) for x, y in reversed(half[:-1])]
    neck = [(0.5, _NECK[garment])]
    return np.array(half + right + neck, dtype=np.float64)


def fabric(rng: np.random.Generator, h: int, w: int, color: str, pattern: str, scale: float) -> np.ndarray:
    """A piece of cloth (h × w × 3 float32) of ``color`` and ``pattern``; ``scale`` is the pattern period in px."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.empty((h, w, 3), np.float32)
    base[:] = hex_rgb(color)
    period = max(4.0, scale)
    shade = np.ones((h, w), np.float32)
    if pattern == "stripes":
        shade = np.where(np.sin(yy * 6.283 / period) > 0.3, 1.0, 0.55).astype(np.float32)
    elif pattern == "check":
        a = np.sin(yy * 6.283 / period) > 0
        b = np.sin(xx * 6.283 / period) > 0
        shade = 0.55 + 0.25 * a + 0.2 * b
    elif pattern == "dots":
        shade = np.where((np.sin(xx * 6.283 / period) * np.sin(yy * 6.283 / period)) > 0.7, 1.6, 1.0)
    elif pattern in ("denim", "knit", "cord"):
        shade = _weave_shade(rng, yy, xx, pattern, period)
    out = base * shade[..., None].astype(np.float32)
    out *= (1.0 + low_noise(rng, h, w, 8, 0.07))[..., None]
    return np.clip(out, 0.0, 1.0)


def _weave_shade(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, pattern: str, period: float) -> np.ndarray:
    """Brightness of twill (denim), knit ribs or corduroy wales, around 1."""
    if pattern == "denim":
        twill = np.sin((xx + yy) * 6.283 / 3.0) * 0.08
        slub = rng.normal(0.0, 0.08, xx.shape).astype(np.float32)
        return (1.0 + twill + cv2.blur(slub, (9, 1))).astype(np.float32)
    if pattern == "knit":
        rib = np.abs(np.sin(xx * 6.283 / (period * 0.35) + np.abs(np.sin(yy * 6.283 / (period * 0.3))) * 1.5))
        return (0.8 + 0.3 * rib).astype(np.float32)
    return (0.75 + 0.3 * np.abs(np.sin(xx * 6.283 / (period * 0.4)))).astype(np.float32)


def _mask(garment: str, w: int, h: int) -> np.ndarray:
    """The garment's alpha (h × w float32) filling its box."""
    mask = np.zeros((h, w), np.uint8)
    if garment == "shoes":
        sole = np.array([[0.02, 0.78], [0.98, 0.8], [0.99, 0.95], [0.03, 0.96]]) * [w, h]
        upper = np.array([[0.03, 0.8], [0.08, 0.45], [0.45, 0.3], [0.6, 0.05], [0.9, 0.05], [0.98, 0.8]]) * [w, h]
        cv2.fillPoly(mask, [upper.astype(np.int32), sole.astype(np.int32)], 255, cv2.LINE_AA)
    else:
        pts = (_outline(garment) * [w - 1, h - 1]).astype(np.int32)
        cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def _details(cloth: np.ndarray, garment: str, rng: np.random.Generator) -> None:
    """Seams, buttons, pockets and soles drawn on the cloth (in place)."""
    h, w = cloth.shape[:2]
    dark = tuple(float(c) * 0.6 for c in cloth[h // 2, w // 2])
    t = max(2, w // 250)
    if garment in ("shirt", "jacket"):
        cv2.line(cloth, (w // 2, int(h * _NECK[garment])), (w // 2, h), dark, t, cv2.LINE_AA)
        for i in range(6):
            y = int(h * (0.18 + i * 0.13))
            cv2.circle(cloth, (w // 2 + t * 4, y), max(3, w // 70), (0.9, 0.88, 0.8), -1, cv2.LINE_AA)
    if garment == "jeans":
        cv2.line(cloth, (int(w * 0.15), int(h * 0.07)), (int(w * 0.85), int(h * 0.07)), (0.75, 0.55, 0.2), t)
        for x0 in (0.2, 0.8):
            cv2.ellipse(cloth, (int(w * x0), int(h * 0.07)), (int(w * 0.12), int(h * 0.12)), 0, 0, 180, dark, t)
    if garment == "shoes":
        cloth[int(h * 0.78) :] = cloth[int(h * 0.78) :] * 0.2 + 0.75
        for i in range(5):
            x = int(w * (0.5 + i * 0.07))
            cv2.line(cloth, (x, int(h * 0.25)), (x + w // 25, int(h * 0.35)), (0.95, 0.95, 0.95), t * 2)


def draw_garment(canvas: np.ndarray, spec: Spec, rng: np.random.Generator, box: tuple[int, int, int, int]) -> None:
    """Draw ``spec``'s garment (colour, pattern, print) filling ``box`` = (x, y, w, h) of ``canvas`` (in place).

    The box may reach far outside the canvas (a close shot): the garment is drawn at most
    560 px long and scaled into the canvas.  A soft shadow falls under it.
    """
    x, y, w, h = box
    k = min(1.0, 560.0 / max(w, h))
    sw, sh = max(8, int(w * k)), max(8, int(h * k))
    garment = spec.text("garment", "tee")
    alpha = _mask(garment, sw, sh)
    cloth = fabric(rng, sh, sw, spec.text("color", "#446688"), spec.text("pattern", "plain"), sw / rng.uniform(8, 30))
    _details(cloth, garment, rng)
    if spec.text("print"):
        _print(cloth, spec, rng)
    folds = low_noise(rng, sh, sw, 5, 0.12) + low_noise(rng, sh, sw, 16, 0.05)
    cloth *= np.clip(1.0 + folds, 0.6, 1.3)[..., None]
    shadow = cv2.GaussianBlur(alpha, (0, 0), max(2.0, sw * 0.02)) * 0.45
    m = np.array([[w / sw, 0, x + w // 60], [0, h / sh, y + h // 40]], np.float32)
    warp_blend(canvas, np.zeros_like(cloth), shadow, m)
    m[0, 2], m[1, 2] = x, y
    warp_blend(canvas, np.clip(cloth, 0.0, 1.0), alpha, m)


def _print(cloth: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A big screen print on the chest (``spec["print"]``: words or a number, ``|`` for lines)."""
    h, w = cloth.shape[:2]
    lines = spec.text("print").split("|")
    y = h * 0.3
    for line in lines:
        mask = font_text_mask(line, spec.text("print_font", "sans_bold"), int(w * 0.5 / max(3, len(line)) * 1.6), rng)
        mask = mask * np.clip(0.9 + low_noise(rng, mask.shape[0], mask.shape[1], 10, 0.2), 0, 1)
        paste_ink(cloth, mask, int(w / 2 - mask.shape[1] / 2), int(y), hex_rgb(spec.text("print_ink", "#f2f2f2")))
        y += mask.shape[0] * 1.1


def warp_blend(canvas: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, m: np.ndarray) -> None:
    """Blend ``rgb`` (h × w × 3) with ``alpha`` onto ``canvas`` through the affine ``m`` (2 × 3), in place.

    Only the box the transformed source covers is warped.
    """
    ch, cw = canvas.shape[:2]
    h, w = alpha.shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float32) @ m.T
    x0, y0 = np.clip(np.floor(corners.min(0)) - 2, 0, [cw, ch]).astype(int)
    x1, y1 = np.clip(np.ceil(corners.max(0)) + 2, 0, [cw, ch]).astype(int)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    shifted = m.astype(np.float32).copy()
    shifted[0, 2] -= x0
    shifted[1, 2] -= y0
    size = (int(x1 - x0), int(y1 - y0))
    a = cv2.warpAffine(alpha, shifted, size, flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    src = cv2.warpAffine(rgb, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    region = canvas[y0:y1, x0:x1]
    region += (src - region) * a
