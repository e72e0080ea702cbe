"""Second-hand items (clothes, shoes, bags, belts, scarves) drawn as RGBA patches.

A patch is a float32 array (h, w, 4) in [0, 1]: RGB plus alpha (1 inside the item).
Shapes are polygons in unit coordinates (x, y in [0, 1] of the item's box), scaled to
pixels; fabrics are procedural textures; shading is low-frequency noise plus folds.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.random import Generator

from .texture import SpecDict, rgb, smooth_noise, stretched_noise

__all__ = ["ASPECT", "item_patch", "fabric", "polygon_mask"]

Poly = list[tuple[float, float]]

_TEE: Poly = [
    (0.38, 0.02),
    (0.2, 0.06),
    (0.0, 0.3),
    (0.12, 0.4),
    (0.22, 0.3),
    (0.22, 1.0),
    (0.78, 1.0),
    (0.78, 0.3),
    (0.88, 0.4),
    (1.0, 0.3),
    (0.8, 0.06),
    (0.62, 0.02),
    (0.5, 0.08),
]
_LONG: Poly = [
    (0.39, 0.02),
    (0.22, 0.05),
    (0.1, 0.25),
    (0.0, 0.86),
    (0.11, 0.88),
    (0.2, 0.4),
    (0.22, 1.0),
    (0.78, 1.0),
    (0.8, 0.4),
    (0.89, 0.88),
    (1.0, 0.86),
    (0.9, 0.25),
    (0.78, 0.05),
    (0.61, 0.02),
    (0.5, 0.07),
]
_DRESS: Poly = [
    (0.32, 0.02),
    (0.4, 0.0),
    (0.5, 0.07),
    (0.6, 0.0),
    (0.68, 0.02),
    (0.7, 0.28),
    (0.64, 0.4),
    (0.95, 1.0),
    (0.05, 1.0),
    (0.36, 0.4),
    (0.3, 0.28),
]
_SKIRT: Poly = [(0.24, 0.0), (0.76, 0.0), (0.98, 1.0), (0.02, 1.0)]
_JEANS: Poly = [
    (0.1, 0.0),
    (0.9, 0.0),
    (0.96, 0.3),
    (0.94, 1.0),
    (0.57, 1.0),
    (0.5, 0.34),
    (0.43, 1.0),
    (0.06, 1.0),
    (0.04, 0.3),
]
_SHORTS: Poly = [(0.08, 0.0), (0.92, 0.0), (1.0, 0.9), (0.55, 1.0), (0.5, 0.55), (0.45, 1.0), (0.0, 0.9)]
_SHOE: Poly = [
    (0.02, 0.86),
    (0.0, 0.55),
    (0.03, 0.3),
    (0.1, 0.22),
    (0.2, 0.3),
    (0.3, 0.3),
    (0.33, 0.1),
    (0.43, 0.13),
    (0.45, 0.3),
    (0.55, 0.36),
    (0.68, 0.45),
    (0.82, 0.52),
    (0.93, 0.6),
    (0.99, 0.72),
    (1.0, 0.84),
    (0.97, 0.95),
    (0.05, 0.95),
]
_BOOT: Poly = [
    (0.02, 0.0),
    (0.38, 0.0),
    (0.42, 0.55),
    (0.75, 0.65),
    (0.97, 0.75),
    (1.0, 0.9),
    (0.98, 0.97),
    (0.0, 0.97),
]
_HEEL: Poly = [
    (0.0, 0.2),
    (0.12, 0.15),
    (0.3, 0.25),
    (0.55, 0.55),
    (0.85, 0.62),
    (1.0, 0.78),
    (0.95, 0.86),
    (0.55, 0.8),
    (0.2, 0.6),
    (0.13, 1.0),
    (0.08, 1.0),
    (0.06, 0.6),
]
_BAG: Poly = [(0.12, 0.3), (0.88, 0.3), (1.0, 1.0), (0.0, 1.0)]

#: category -> (polygon, width / height of its box)
SHAPES: dict[str, tuple[Poly, float]] = {
    "tee": (_TEE, 0.95),
    "shirt": (_LONG, 0.8),
    "sweater": (_LONG, 0.85),
    "jacket": (_LONG, 0.8),
    "coat": (_LONG, 0.6),
    "dress": (_DRESS, 0.62),
    "skirt": (_SKIRT, 1.0),
    "jeans": (_JEANS, 0.52),
    "shorts": (_SHORTS, 1.1),
    "sneakers": (_SHOE, 2.3),
    "boots": (_BOOT, 1.1),
    "heels": (_HEEL, 1.6),
    "bag": (_BAG, 1.05),
    "belt": ([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)], 1.3),
    "scarf": ([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)], 1.0),
}
ASPECT = {k: v[1] for k, v in SHAPES.items()}


def polygon_mask(poly: Poly, w: int, h: int, pad: int = 0) -> np.ndarray:
    """Rasterise unit polygon ``poly`` into a float32 (h, w) mask, inset by ``pad`` px."""
    pts = np.array([[pad + x * (w - 2 * pad), pad + y * (h - 2 * pad)] for x, y in poly])
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(pts * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    return m.astype(np.float32) / 255.0


def fabric(rng: Generator, h: int, w: int, spec: SpecDict) -> np.ndarray:
    """Texture of the item's material/pattern: float32 (h, w, 3) in [0, 1]."""
    base = rgb(str(spec["color"]))
    alt = rgb(str(spec["color2"]))
    pattern, material = str(spec["pattern"]), str(spec["material"])
    img = np.broadcast_to(base, (h, w, 3)).astype(np.float32).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) if pattern in ("checks", "dots") else (None, None)
    period = max(6.0, min(h, w) * float(rng.uniform(0.03, 0.09)))
    if pattern == "stripes":
        row = (np.arange(h) // int(period)) % 2 == 1
        img[row] = alt
    elif pattern == "checks" and yy is not None and xx is not None:
        band = (((yy // period) % 2) + ((xx // period) % 2)) / 2.0
        img = img * (1 - band[..., None] * 0.6) + alt * band[..., None] * 0.6
    elif pattern == "dots" and yy is not None and xx is not None:
        d = (np.mod(xx, period) - period / 2) ** 2 + (
            np.mod(yy + (xx // period) * period / 2, period) - period / 2
        ) ** 2
        img[d < (period * 0.22) ** 2] = alt
    elif pattern == "floral":
        for _ in range(int(h * w / (period * period * 3))):
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            col = (alt * rng.uniform(0.7, 1.2)).clip(0, 1).tolist()
            cv2.circle(img, c, int(period * rng.uniform(0.2, 0.5)), col, -1, cv2.LINE_AA)
    grain = _material_grain(rng, h, w, material)[..., None]
    return np.clip(img * grain + (grain - 1.0) * 0.12 + 0.012, 0, 1)


def _material_grain(rng: Generator, h: int, w: int, material: str) -> np.ndarray:
    """Multiplicative grain (h, w) around 1.0 for ``material``."""
    if material == "denim":
        diag = stretched_noise(rng, h, w, True, 8)
        m = cv2.warpAffine(diag, np.array([[1, 0.6, 0], [0, 1, 0]], np.float32), (w, h), borderMode=cv2.BORDER_REFLECT)
        return 1.0 + 0.09 * m + smooth_noise(rng, h, w, 12, 0.05)
    if material == "knit":
        return 1.0 + 0.08 * stretched_noise(rng, h, w, False, 5) + 0.04 * smooth_noise(rng, h, w, 30)
    if material == "leather":
        return 1.0 + 0.04 * smooth_noise(rng, h, w, 60) + 0.07 * smooth_noise(rng, h, w, 5)
    if material == "suede":
        return 1.0 + 0.06 * smooth_noise(rng, h, w, 40) + 0.05 * smooth_noise(rng, h, w, 7)
    return 1.0 + 0.025 * stretched_noise(rng, h, w, bool(rng.random() < 0.5), 4)


def _shade(rng: Generator, rgb_img: np.ndarray, mask: np.ndarray, material: str) -> np.ndarray:
    """Apply folds, soft edge darkening and (for leather) highlights; returns (h, w, 3)."""
    h, w = mask.shape
    folds = smooth_noise(rng, h, w, 7, 0.07)
    ridge = np.exp(-np.abs(smooth_noise(rng, h, w, 5, 1.0)) * 8.0)
    k = max(3, (min(h, w) // 12) | 1)
    edge = cv2.GaussianBlur(mask, (k, k), 0)
    light = 0.82 + 0.18 * edge + folds - 0.08 * ridge
    if material == "leather":
        light += 0.25 * np.maximum(smooth_noise(rng, h, w, 4, 1.0) - 1.0, 0)
    return np.clip(rgb_img * light[..., None], 0, 1)


def _stitch(img: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], color: tuple[float, ...], t: int) -> None:
    """Draw a dashed seam from p0 to p1 (px) on ``img`` in place."""
    n = max(2, int(np.hypot(p1[0] - p0[0], p1[1] - p0[1]) / (t * 4)))
    for i in range(0, n, 2):
        a = (int(p0[0] + (p1[0] - p0[0]) * i / n), int(p0[1] + (p1[1] - p0[1]) * i / n))
        b = (int(p0[0] + (p1[0] - p0[0]) * (i + 1) / n), int(p0[1] + (p1[1] - p0[1]) * (i + 1) / n))
        cv2.line(img, a, b, color, t, cv2.LINE_AA)


def _details(rng: Generator, img: np.ndarray, cat: str, back: bool, spec: SpecDict) -> None:
    """Draw category details (collar, buttons, pockets, laces, buckle…) on ``img`` in place."""
    h, w = img.shape[:2]
    dark = tuple(float(v) for v in rgb(str(spec["color"])) * 0.55)
    t = max(1, w // 250)
    if cat in ("shirt", "jacket", "coat") and not back:
        _placket(img, cat, dark, t)
    if cat in ("tee", "sweater", "dress"):
        cv2.ellipse(
            img,
            (w // 2, int(h * 0.02)),
            (int(w * 0.12), int(h * (0.02 if back else 0.07))),
            0,
            0,
            180,
            dark,
            t * 2,
            cv2.LINE_AA,
        )
    if cat == "sweater":
        img[int(h * 0.94) :] *= 0.9
    if cat in ("jeans", "shorts"):
        _denim_details(img, back, dark, t)
    if cat in ("sneakers", "boots", "heels"):
        _shoe_details(rng, img, cat)
    if cat == "bag":
        _bag_details(img, back)
    if cat == "belt":
        _belt_details(rng, img)
    if cat == "scarf":
        for x in range(0, w, max(3, w // 80)):
            cv2.line(img, (x, h - h // 30), (x, h), dark, t, cv2.LINE_AA)


def _placket(img: np.ndarray, cat: str, dark: tuple[float, ...], t: int) -> None:
    """The front of a shirt, jacket or coat: placket, buttons (6 small light or 4 big dark) and collar, in place."""
    h, w = img.shape[:2]
    cv2.line(img, (w // 2, int(h * 0.07)), (w // 2, h), dark, max(2, t * 2), cv2.LINE_AA)
    for i in range(6 if cat == "shirt" else 4):
        y = int(h * (0.14 + i * (0.8 / (6 if cat == "shirt" else 4))))
        cv2.circle(
            img,
            (w // 2 + 3 * t, y),
            max(3, w // (70 if cat == "shirt" else 35)),
            (0.85, 0.83, 0.78) if cat == "shirt" else (0.15, 0.13, 0.1),
            -1,
            cv2.LINE_AA,
        )
    cv2.line(img, (int(w * 0.39), int(h * 0.02)), (w // 2, int(h * 0.16)), dark, t * 2, cv2.LINE_AA)
    cv2.line(img, (int(w * 0.61), int(h * 0.02)), (w // 2, int(h * 0.16)), dark, t * 2, cv2.LINE_AA)


def _belt_details(rng: Generator, img: np.ndarray) -> None:
    """The buckle (brass or steel) and five holes of a belt patch, in place."""
    h, w = img.shape[:2]
    metal = (0.8, 0.74, 0.55) if rng.random() < 0.6 else (0.75, 0.76, 0.78)
    cv2.rectangle(
        img, (int(w * 0.03), int(h * 0.38)), (int(w * 0.13), int(h * 0.62)), metal, max(3, w // 45), cv2.LINE_AA
    )
    for i in range(5):
        a = np.deg2rad(200 + i * 12)
        c = (int(w / 2 + np.cos(a) * w * 0.42), int(h / 2 + np.sin(a) * h * 0.42))
        cv2.circle(img, c, max(2, w // 110), (0.08, 0.06, 0.05), -1, cv2.LINE_AA)


def _denim_details(img: np.ndarray, back: bool, dark: tuple[float, ...], t: int) -> None:
    """Waistband seam, pockets, fly and button of jeans/shorts (``t`` = line px) in place."""
    h, w = img.shape[:2]
    thread = (0.8, 0.55, 0.2)
    _stitch(img, (int(w * 0.1), int(h * 0.06)), (int(w * 0.9), int(h * 0.06)), thread, t)
    if back:
        for cx in (0.3, 0.7):
            x0, x1 = int(w * (cx - 0.14)), int(w * (cx + 0.14))
            _stitch(img, (x0, int(h * 0.12)), (x1, int(h * 0.12)), thread, t)
            _stitch(img, (x0, int(h * 0.12)), (int(w * cx), int(h * 0.24)), thread, t)
            _stitch(img, (x1, int(h * 0.12)), (int(w * cx), int(h * 0.24)), thread, t)
    else:
        _stitch(img, (int(w * 0.55), int(h * 0.08)), (int(w * 0.55), int(h * 0.28)), thread, t)
        cv2.ellipse(
            img, (int(w * 0.1), int(h * 0.08)), (int(w * 0.2), int(h * 0.1)), 0, 0, 90, dark, t * 2, cv2.LINE_AA
        )
        cv2.ellipse(
            img, (int(w * 0.9), int(h * 0.08)), (int(w * 0.2), int(h * 0.1)), 0, 90, 180, dark, t * 2, cv2.LINE_AA
        )
        cv2.circle(img, (w // 2, int(h * 0.035)), max(3, w // 40), (0.7, 0.6, 0.4), -1, cv2.LINE_AA)


def _shoe_details(rng: Generator, img: np.ndarray, cat: str) -> None:
    """Sole, laces and logo stripe of a shoe patch (side view) in place."""
    h, w = img.shape[:2]
    sole = (0.95, 0.94, 0.9) if cat == "sneakers" else (0.12, 0.1, 0.09)
    top = int(h * (0.8 if cat != "boots" else 0.88))
    img[top:] = img[top:] * 0.0 + np.array(sole, np.float32)
    cv2.line(img, (0, top), (w, top), (0.3, 0.3, 0.3), max(1, h // 120), cv2.LINE_AA)
    if cat == "sneakers":
        for i in range(5):
            x = int(w * (0.33 + i * 0.055))
            cv2.line(
                img,
                (x, int(h * 0.3 + i * h * 0.02)),
                (x + int(w * 0.05), int(h * 0.42 + i * h * 0.02)),
                (0.95, 0.95, 0.95),
                max(2, h // 60),
                cv2.LINE_AA,
            )
        swoosh = tuple(float(v) for v in rng.uniform(0.0, 1.0, 3))
        cv2.ellipse(
            img,
            (int(w * 0.5), int(h * 0.55)),
            (int(w * 0.25), int(h * 0.12)),
            -8,
            10,
            170,
            swoosh,
            max(3, h // 30),
            cv2.LINE_AA,
        )
    if cat == "boots":
        for i in range(6):
            y = int(h * (0.1 + i * 0.08))
            cv2.circle(img, (int(w * 0.36), y), max(2, h // 80), (0.8, 0.7, 0.3), -1, cv2.LINE_AA)


def _bag_details(img: np.ndarray, back: bool) -> None:
    """Handle, flap and clasp of a bag patch in place."""
    h, w = img.shape[:2]
    col = tuple(float(v) for v in img[int(h * 0.6), w // 2] * 0.7)
    cv2.ellipse(
        img, (w // 2, int(h * 0.3)), (int(w * 0.28), int(h * 0.27)), 0, 180, 360, col, max(4, w // 40), cv2.LINE_AA
    )
    if not back:
        cv2.line(
            img, (int(w * 0.12), int(h * 0.55)), (int(w * 0.88), int(h * 0.55)), col, max(2, w // 200), cv2.LINE_AA
        )
        cv2.rectangle(
            img, (int(w * 0.46), int(h * 0.52)), (int(w * 0.54), int(h * 0.6)), (0.8, 0.72, 0.45), -1, cv2.LINE_AA
        )


def item_patch(rng: Generator, spec: SpecDict, w: int, back: bool = False) -> np.ndarray:
    """Draw the item of ``spec`` (category, color, color2, pattern, material) ``w`` px wide.

    Output: float32 RGBA (h, w, 4), h = w / aspect of the category.
    """
    cat = str(spec["category"])
    poly, aspect = SHAPES[cat]
    h = max(8, int(w / aspect))
    mask = polygon_mask(poly, w, h)
    if cat == "belt":
        ring = np.zeros((h, w), np.uint8)
        cv2.ellipse(
            ring, (w // 2, h // 2), (int(w * 0.42), int(h * 0.42)), 0, 0, 360, 255, max(6, int(w * 0.09)), cv2.LINE_AA
        )
        mask = ring.astype(np.float32) / 255.0
    if cat == "bag":
        handle = np.zeros((h, w), np.uint8)
        cv2.ellipse(
            handle,
            (w // 2, int(h * 0.3)),
            (int(w * 0.28), int(h * 0.27)),
            0,
            180,
            360,
            255,
            max(4, w // 40),
            cv2.LINE_AA,
        )
        mask = np.maximum(mask, handle.astype(np.float32) / 255.0)
    img = fabric(rng, h, w, spec)
    _details(rng, img, cat, back, spec)
    img = _shade(rng, img, mask, str(spec["material"]))
    return np.dstack([img, mask]).astype(np.float32)
