"""Products drawn straight into a photo: garments, shoes, bags and jewellery.

A product is a set of polygons in a unit box (x right, y down, 0–1), placed in the frame
by a centre, a size in pixels and an angle; it is filled with a fabric from
:mod:`.scenes`, shaded (folds, darker edges), stitched, and casts a soft shadow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .scenes import fabric, hex_rgb, shade, smooth_noise, soft

__all__ = ["CATEGORIES", "draw_product", "outline"]

_TOP_SHORT = [
    (0.3, 0.05),
    (0.4, 0.1),
    (0.5, 0.12),
    (0.6, 0.1),
    (0.7, 0.05),
    (0.98, 0.2),
    (0.88, 0.4),
    (0.78, 0.33),
    (0.79, 0.98),
    (0.21, 0.98),
    (0.22, 0.33),
    (0.12, 0.4),
    (0.02, 0.2),
]
_TOP_LONG = [
    (0.33, 0.04),
    (0.42, 0.09),
    (0.5, 0.1),
    (0.58, 0.09),
    (0.67, 0.04),
    (0.84, 0.1),
    (0.99, 0.86),
    (0.88, 0.9),
    (0.77, 0.36),
    (0.78, 0.98),
    (0.22, 0.98),
    (0.23, 0.36),
    (0.12, 0.9),
    (0.01, 0.86),
    (0.16, 0.1),
]
_SHAPES: dict[str, list[list[tuple[float, float]]]] = {
    "tee": [_TOP_SHORT],
    "sweater": [_TOP_LONG],
    "shirt": [_TOP_LONG],
    "jacket": [_TOP_LONG],
    "hoodie": [_TOP_LONG],
    "dress": [
        [
            (0.36, 0.02),
            (0.5, 0.09),
            (0.64, 0.02),
            (0.7, 0.24),
            (0.65, 0.4),
            (0.92, 0.98),
            (0.08, 0.98),
            (0.35, 0.4),
            (0.3, 0.24),
        ]
    ],
    "jeans": [[(0.2, 0.02), (0.8, 0.02), (0.86, 0.98), (0.58, 0.98), (0.5, 0.3), (0.42, 0.98), (0.14, 0.98)]],
    "skirt": [[(0.27, 0.06), (0.73, 0.06), (0.93, 0.94), (0.07, 0.94)]],
    "shoes": [
        [(0.02, 0.5), (0.1, 0.32), (0.22, 0.3), (0.3, 0.12), (0.44, 0.1), (0.48, 0.4), (0.49, 0.58), (0.03, 0.6)],
        [(0.52, 0.9), (0.6, 0.72), (0.72, 0.7), (0.8, 0.52), (0.94, 0.5), (0.98, 0.8), (0.99, 0.98), (0.53, 0.99)],
    ],
    "bag": [[(0.12, 0.35), (0.88, 0.35), (0.96, 0.95), (0.04, 0.95)]],
    "jewellery": [],
}
CATEGORIES = tuple(_SHAPES)


def outline(category: str, cx: float, cy: float, size: float, angle: float) -> list[np.ndarray]:
    """The product's polygons in frame pixels: unit shapes scaled to ``size`` px, rotated ``angle`` degrees."""
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    out = []
    for poly in _SHAPES[category]:
        p = (np.asarray(poly, np.float32) - 0.5) * size
        out.append(p @ rot.T + np.array([cx, cy], np.float32))
    return out


def _dashes(img: np.ndarray, pts: np.ndarray, color: tuple[int, ...], step: float, width: int) -> None:
    """Stitch a dashed seam along the polyline ``pts`` (N×2 px) onto ``img`` in place."""
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        n = max(1, int(np.hypot(*(q - p)) / step))
        for i in range(0, n, 2):
            a, b = p + (q - p) * i / n, p + (q - p) * min(n, i + 1) / n
            cv2.line(img, tuple(int(v) for v in a), tuple(int(v) for v in b), color, width, cv2.LINE_AA)


def _details(tex: np.ndarray, category: str, to_px: Any, size: float, spec: dict[str, Any]) -> None:
    """Draw seams, buttons, zips and pockets of ``category`` onto the crop ``tex`` (``to_px`` maps unit → crop px)."""
    thread = tuple(int(v) for v in np.clip(hex_rgb(str(spec.get("thread", "#d9b36a"))), 0, 255))
    w = max(1, int(size * 0.004))
    dark = tuple(int(v * 0.6) for v in hex_rgb(str(spec["color"])))
    drawer = _DETAILS.get(category)
    if drawer is not None:
        drawer(_Stitching(tex, category, to_px, size, thread, dark, w))


@dataclass(frozen=True)
class _Stitching:
    """What a product's details are drawn with: the crop, its category, unit → crop px, size, colours, line px."""

    tex: np.ndarray
    category: str
    to_px: Any
    size: float
    thread: tuple[int, ...]
    dark: tuple[int, ...]
    w: int


def _jeans_details(s: _Stitching) -> None:
    """Waistband seam, fly and the two front pockets' seams."""
    tex, to_px, size, thread, w = s.tex, s.to_px, s.size, s.thread, s.w
    _dashes(tex, to_px([(0.2, 0.08), (0.8, 0.08)]), thread, size * 0.01, w)
    _dashes(tex, to_px([(0.5, 0.08), (0.5, 0.24), (0.44, 0.27)]), thread, size * 0.01, w)
    for side in (0.28, 0.72):
        _dashes(tex, to_px([(side - 0.08, 0.09), (side, 0.2), (side + 0.08, 0.09)]), thread, size * 0.01, w)


def _placket(s: _Stitching) -> None:
    """The front opening; a shirt also gets seven buttons and its collar points."""
    tex, to_px, size, dark, w = s.tex, s.to_px, s.size, s.dark, s.w
    a, b = (tuple(int(v) for v in p) for p in to_px([(0.5, 0.1), (0.5, 0.98)]))
    cv2.line(tex, a, b, dark, w * 2, cv2.LINE_AA)
    if s.category == "shirt":
        for y in np.linspace(0.18, 0.9, 7):
            c = tuple(int(v) for v in to_px([(0.52, y)])[0])
            cv2.circle(tex, c, max(2, int(size * 0.008)), (235, 232, 225), -1, cv2.LINE_AA)
        cv2.fillPoly(tex, [to_px([(0.36, 0.05), (0.5, 0.14), (0.44, 0.2)]).astype(np.int32)], dark, cv2.LINE_AA)
        cv2.fillPoly(tex, [to_px([(0.64, 0.05), (0.5, 0.14), (0.56, 0.2)]).astype(np.int32)], dark, cv2.LINE_AA)


def _hoodie_details(s: _Stitching) -> None:
    """The hood's opening and the front pocket's seam."""
    tex, to_px, size, dark, w = s.tex, s.to_px, s.size, s.dark, s.w
    cv2.ellipse(
        tex,
        tuple(int(v) for v in to_px([(0.5, 0.08)])[0]),
        (int(size * 0.12), int(size * 0.07)),
        0,
        0,
        180,
        dark,
        w * 3,
        cv2.LINE_AA,
    )
    _dashes(tex, to_px([(0.33, 0.8), (0.38, 0.62), (0.62, 0.62), (0.67, 0.8)]), dark, size * 0.012, w)


def _neckline(s: _Stitching) -> None:
    """A round neckline."""
    cv2.ellipse(
        s.tex,
        tuple(int(v) for v in s.to_px([(0.5, 0.06)])[0]),
        (int(s.size * 0.1), int(s.size * 0.055)),
        0,
        0,
        180,
        s.dark,
        s.w * 2,
        cv2.LINE_AA,
    )


def _bag_seam(s: _Stitching) -> None:
    """The seam across a bag's front."""
    _dashes(s.tex, s.to_px([(0.1, 0.42), (0.9, 0.42)]), s.thread, s.size * 0.012, s.w)


def _soles(s: _Stitching) -> None:
    """The two shoes' light soles."""
    for poly in ([(0.03, 0.56), (0.49, 0.54)], [(0.53, 0.95), (0.99, 0.94)]):
        a, b = (tuple(int(v) for v in p) for p in s.to_px(poly))
        cv2.line(s.tex, a, b, (240, 240, 236), max(2, int(s.size * 0.03)))


_DETAILS: dict[str, Callable[[_Stitching], None]] = {
    "jeans": _jeans_details,
    "shirt": _placket,
    "jacket": _placket,
    "hoodie": _hoodie_details,
    "tee": _neckline,
    "sweater": _neckline,
    "dress": _neckline,
    "bag": _bag_seam,
    "shoes": _soles,
}
"""The details of each category that has some."""


def _jewellery(frame: np.ndarray, cx: float, cy: float, size: float, rng: np.random.Generator, color: str) -> None:
    """A necklace: a chain of small metallic links along a U curve and a pendant, drawn in place."""
    metal = hex_rgb(color)
    t = np.linspace(-1.0, 1.0, 90)
    xs, ys = cx + 0.38 * size * np.sin(t * 1.4), cy + 0.3 * size - 0.55 * size * (1 - np.cos(t * 1.2))
    r = max(2, int(size * 0.008))
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        c = tuple(int(v) for v in np.clip(metal * (0.75 + 0.35 * (i % 2)), 0, 255))
        cv2.circle(frame, (int(x + 2), int(y + 3)), r, (40, 40, 40), 1, cv2.LINE_AA)
        cv2.circle(frame, (int(x), int(y)), r, c, max(1, r // 2), cv2.LINE_AA)
    px, py = int(xs[45]), int(ys[45] + size * 0.06)
    cv2.circle(frame, (px + 3, py + 4), int(size * 0.05), (50, 50, 50), -1, cv2.LINE_AA)
    stone = tuple(int(v) for v in rng.integers(40, 230, 3))
    cv2.circle(frame, (px, py), int(size * 0.05), tuple(int(v) for v in metal), -1, cv2.LINE_AA)
    cv2.circle(frame, (px, py), int(size * 0.035), stone, -1, cv2.LINE_AA)
    cv2.circle(
        frame,
        (px - int(size * 0.012), py - int(size * 0.012)),
        max(1, int(size * 0.008)),
        (255, 255, 255),
        -1,
        cv2.LINE_AA,
    )


def draw_product(
    frame: np.ndarray,
    spec: dict[str, Any],
    rng: np.random.Generator,
    cx: float,
    cy: float,
    size: float,
    angle: float = 0.0,
    back: bool = False,
) -> np.ndarray:
    """Draw the product of ``spec`` (category, colours, pattern) into ``frame`` (uint8 RGB, in place).

    ``size`` is the product's bounding box in pixels, (cx, cy) its centre, ``angle`` degrees;
    ``back`` leaves out front-only details. Returns the product's coverage mask (h × w uint8).
    """
    h, w = frame.shape[:2]
    category = str(spec["category"])
    full = np.zeros((h, w), np.uint8)
    if category == "jewellery":
        _jewellery(frame, cx, cy, size, rng, str(spec["color"]))
        return full
    polys = outline(category, cx, cy, size, angle)
    cv2.fillPoly(full, [p.astype(np.int32) for p in polys], 255, cv2.LINE_AA)
    x, y, bw, bh = cv2.boundingRect(full)
    if bw == 0 or bh == 0:
        return full
    pad = int(size * 0.06)
    x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)
    mask = full[y0:y1, x0:x1]
    off = np.array([cx - x0, cy - y0], np.float32)
    sh = soft(mask, size * 0.015 + 1)
    sh = np.roll(sh, (int(size * 0.012), int(size * 0.008)), axis=(0, 1))
    frame[y0:y1, x0:x1] = shade(frame[y0:y1, x0:x1], 1 - 0.35 * sh.astype(np.float32) / 255)
    unit = float(spec.get("unit", 0.05)) * size
    tex = fabric(str(spec["pattern"]), y1 - y0, x1 - x0, rng, str(spec["color"]), str(spec["color2"]), unit)
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)

    def to_px(pts: Any) -> np.ndarray:
        return (np.asarray(pts, np.float32) - 0.5) * size @ rot.T + off

    if not back:
        _details(tex, category, to_px, size, spec)
    edge = soft(mask, size * 0.02 + 1).astype(np.float32) / 255
    folds = smooth_noise(y1 - y0, x1 - x0, rng, size * 0.15, 0.05, 0.84)
    tex = shade(tex, cv2.add(folds, edge * 0.18))
    m = mask.astype(np.float32)[..., None] / 255
    frame[y0:y1, x0:x1] = (tex * m + frame[y0:y1, x0:x1] * (1 - m)).astype(np.uint8)
    if category == "bag":
        c = tuple(int(v) for v in (to_px([(0.5, 0.36)])[0] + np.array([x0, y0])))
        col = tuple(int(v * 0.7) for v in hex_rgb(str(spec["color"])))
        cv2.ellipse(
            frame, c, (int(size * 0.26), int(size * 0.28)), angle, 180, 360, col, max(3, int(size * 0.03)), cv2.LINE_AA
        )
    return full
