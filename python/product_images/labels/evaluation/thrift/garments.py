"""Garment, shoe and accessory drawings of the ``thrift`` renderer.

Shapes are polygons in a unit box (x, y in 0–1) scaled to a pixel box. Images are float32
(H, W, 3) 0–255 arrays, masks float32 (H, W) 0–1; ``rng`` is a numpy Generator.
"""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Arr, fabric, hex_rgb, paste, shadow, smooth

__all__ = ["SHAPES", "draw_item", "poly_mask"]

_TEE = (
    (0.36, 0.0),
    (0.43, 0.07),
    (0.5, 0.09),
    (0.57, 0.07),
    (0.64, 0.0),
    (0.84, 0.05),
    (1.0, 0.27),
    (0.86, 0.36),
    (0.78, 0.27),
    (0.79, 1.0),
    (0.21, 1.0),
    (0.22, 0.27),
    (0.14, 0.36),
    (0.0, 0.27),
    (0.16, 0.05),
)
_LONG = (
    (0.37, 0.0),
    (0.5, 0.07),
    (0.63, 0.0),
    (0.83, 0.04),
    (0.93, 0.45),
    (1.0, 0.9),
    (0.9, 0.93),
    (0.8, 0.42),
    (0.79, 1.0),
    (0.21, 1.0),
    (0.2, 0.42),
    (0.1, 0.93),
    (0.0, 0.9),
    (0.07, 0.45),
    (0.17, 0.04),
)
_DRESS = (
    (0.36, 0.0),
    (0.5, 0.08),
    (0.64, 0.0),
    (0.72, 0.04),
    (0.7, 0.28),
    (0.65, 0.42),
    (0.92, 1.0),
    (0.08, 1.0),
    (0.35, 0.42),
    (0.3, 0.28),
    (0.28, 0.04),
)
_SKIRT = ((0.24, 0.0), (0.76, 0.0), (0.8, 0.08), (0.97, 1.0), (0.03, 1.0), (0.2, 0.08))
_TROUSERS = ((0.12, 0.0), (0.88, 0.0), (0.93, 1.0), (0.57, 1.0), (0.5, 0.3), (0.43, 1.0), (0.07, 1.0))
_SCARF = ((0.3, 0.0), (0.7, 0.0), (0.72, 1.0), (0.28, 1.0))
_BAG = ((0.05, 0.3), (0.95, 0.3), (1.0, 1.0), (0.0, 1.0))
_SHOE = (
    (0.0, 0.62),
    (0.03, 0.35),
    (0.25, 0.3),
    (0.45, 0.0),
    (0.62, 0.0),
    (0.7, 0.25),
    (0.95, 0.55),
    (1.0, 0.78),
    (1.0, 0.9),
    (0.0, 0.9),
)
_BOOT = ((0.02, 0.0), (0.45, 0.0), (0.5, 0.45), (0.9, 0.6), (1.0, 0.78), (1.0, 0.92), (0.0, 0.92))

#: garment type -> (polygon in unit box, height / width aspect of its box)
SHAPES: dict[str, tuple[tuple[tuple[float, float], ...], float]] = {
    "tee": (_TEE, 1.1),
    "shirt": (_LONG, 1.15),
    "sweater": (_LONG, 1.05),
    "jacket": (_LONG, 1.1),
    "coat": (_LONG, 1.5),
    "dress": (_DRESS, 1.7),
    "skirt": (_SKIRT, 0.9),
    "jeans": (_TROUSERS, 1.45),
    "trousers": (_TROUSERS, 1.5),
    "scarf": (_SCARF, 2.2),
    "bag": (_BAG, 0.85),
    "sneakers": (_SHOE, 0.45),
    "boots": (_BOOT, 0.85),
}


def poly_mask(points: tuple[tuple[float, float], ...], w: int, h: int) -> Arr:
    """Return the anti-aliased mask (h, w) float32 0–1 of a unit-box polygon scaled to w × h px."""
    m = np.zeros((h, w), np.uint8)
    pts = np.array([[x * (w - 1) * 16, y * (h - 1) * 16] for x, y in points], np.int32)
    cv2.fillPoly(m, [pts], 255, lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255.0


def _shade(rng: np.random.Generator, tex: Arr, mask: Arr, flat: bool) -> None:
    """Shade ``tex`` (h, w, 3) in place: folds and darker rim along the edge of ``mask``."""
    h, w = mask.shape
    small = cv2.resize(mask, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    rim = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)
    folds = smooth(rng, h, w, rng.uniform(4, 9))
    amount = 0.08 if flat else 0.16
    tex *= ((0.72 + 0.28 * rim) * (1.0 + amount * folds))[..., None]


def _buttons(img: Arr, x: int, y: int, w: int, h: int, colour: tuple[int, int, int], n: int) -> None:
    """Draw ``n`` buttons and a placket line down the centre of a garment box (x, y, w, h) px."""
    cx = x + w // 2
    r = max(2, w // 45)
    dark = tuple(int(c * 0.6) for c in colour)
    cv2.line(img, (cx + r * 2, y + h // 12), (cx + r * 2, y + h - 4), dark, max(1, r // 3), cv2.LINE_AA)
    for i in range(n):
        cy = y + int(h * (0.12 + 0.8 * i / max(1, n)))
        cv2.circle(img, (cx, cy), r, colour, -1, cv2.LINE_AA)
        cv2.circle(img, (cx, cy), r, dark, max(1, r // 4), cv2.LINE_AA)


def _decorate(img: Arr, garment: str, box: tuple[int, int, int, int], rgb: tuple[int, int, int]) -> None:
    """Draw collars, buttons, waistbands, soles and handles on a drawn item in box (x, y, w, h)."""
    x, y, w, h = box
    dark = tuple(int(c * 0.55) for c in rgb)
    t = max(1, w // 200)
    if garment in ("shirt", "jacket", "coat"):
        bright = (235, 230, 220) if sum(rgb) < 300 else (60, 50, 45)
        _buttons(img, x, y, w, h, bright if garment != "shirt" else (240, 238, 230), 6 if garment == "coat" else 5)
        cv2.line(img, (x + int(w * 0.37), y), (x + int(w * 0.47), y + int(h * 0.18)), dark, t * 2, cv2.LINE_AA)
        cv2.line(img, (x + int(w * 0.63), y), (x + int(w * 0.53), y + int(h * 0.18)), dark, t * 2, cv2.LINE_AA)
    if garment in ("jeans", "trousers"):
        cv2.line(
            img,
            (x + int(w * 0.12), y + int(h * 0.06)),
            (x + int(w * 0.88), y + int(h * 0.06)),
            dark,
            t * 2,
            cv2.LINE_AA,
        )
        cv2.line(
            img, (x + int(w * 0.5), y + int(h * 0.06)), (x + int(w * 0.5), y + int(h * 0.25)), dark, t * 2, cv2.LINE_AA
        )
        stitch = (200, 150, 60) if garment == "jeans" else dark
        cv2.ellipse(
            img, (x + int(w * 0.2), y + int(h * 0.06)), (int(w * 0.12), int(h * 0.1)), 0, 0, 90, stitch, t, cv2.LINE_AA
        )
    if garment in ("sweater", "tee"):
        cv2.ellipse(img, (x + w // 2, y), (int(w * 0.14), int(h * 0.085)), 0, 0, 180, dark, t * 3, cv2.LINE_AA)
    if garment == "sneakers":
        cv2.rectangle(img, (x, y + int(h * 0.8)), (x + w, y + int(h * 0.92)), (238, 236, 230), -1)
        for i in range(4):
            px = x + int(w * (0.42 + 0.06 * i))
            cv2.line(
                img, (px, y + int(h * 0.08)), (px + w // 12, y + int(h * 0.3)), (240, 240, 240), t * 2, cv2.LINE_AA
            )
    if garment == "boots":
        cv2.rectangle(img, (x, y + int(h * 0.86)), (x + w, y + int(h * 0.93)), (40, 35, 30), -1)
        cv2.line(img, (x, y + int(h * 0.84)), (x + w, y + int(h * 0.84)), (230, 210, 90), t, cv2.LINE_AA)
    if garment == "bag":
        cv2.ellipse(
            img, (x + w // 2, y + int(h * 0.3)), (int(w * 0.3), int(h * 0.28)), 0, 180, 360, dark, t * 6, cv2.LINE_AA
        )
    if garment == "scarf":
        for i in range(12):
            fx = x + int(w * (0.3 + 0.42 * i / 11))
            cv2.line(img, (fx, y + h - 2), (fx, y + h + h // 25), rgb, t * 2, cv2.LINE_AA)


def draw_item(rng: np.random.Generator, img: Arr, spec: dict, box: tuple[int, int, int, int], flat: bool) -> Arr:
    """Draw the product's item into ``img`` (H, W, 3) in ``box`` (x, y, w, h) px; return its mask (h, w)."""
    garment = str(spec["garment"])
    points, _ = SHAPES[garment]
    x, y, w, h = box
    mask = poly_mask(points, w, h)
    unit = max(6.0, w / rng.uniform(10, 24))
    tex = fabric(rng, h, w, (str(spec["color"]), str(spec["color2"])), str(spec["pattern"]), unit)
    if garment in ("sneakers", "boots", "bag"):
        tex *= (1.0 + 0.05 * smooth(rng, h, w, 12))[..., None]
    _shade(rng, tex, mask, flat)
    full = np.zeros(img.shape[:2], np.float32)
    ys, xs = slice(max(0, y), max(0, y + h)), slice(max(0, x), max(0, x + w))
    sub = mask[ys.start - y : ys.stop - y, xs.start - x : xs.stop - x]
    full[ys, xs] = sub[: full[ys, xs].shape[0], : full[ys, xs].shape[1]]
    shadow(img, full, int(w * 0.01) + 2, int(h * 0.015) + 3, w * (0.01 if flat else 0.04), 0.35 if flat else 0.25)
    paste(img, tex, mask, x, y)
    _decorate(img, garment, box, hex_rgb(str(spec["color"])))
    return mask
