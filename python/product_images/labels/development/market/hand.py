"""Handwriting: prices written with a ballpoint, felt pen or marker, as stroked glyphs.

Each glyph is a few polylines in a unit box (x to the right, y down, 0 = cap line,
1 = baseline). Every character is jittered (slant, size, baseline, wobble of each point),
smoothed, and stroked with OpenCV's anti-aliased lines, so no two written prices match.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["GLYPHS", "hand_mask"]

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12) -> Stroke:
    """Points of an elliptic arc from angle ``a0`` to ``a1`` (degrees, counter-clockwise as seen)."""
    out = []
    for i in range(n + 1):
        a = math.radians(a0 + (a1 - a0) * i / n)
        out.append((cx + rx * math.cos(a), cy - ry * math.sin(a)))
    return out


GLYPHS: dict[str, tuple[float, list[Stroke]]] = {
    "0": (0.62, [_arc(0.3, 0.5, 0.25, 0.5, 95, 455, 18)]),
    "1": (0.42, [[(0.08, 0.25), (0.3, 0.02), (0.3, 1.0)]]),
    "2": (0.62, [_arc(0.29, 0.28, 0.25, 0.27, 160, -30, 9) + [(0.03, 1.0), (0.6, 0.98)]]),
    "3": (0.6, [_arc(0.28, 0.25, 0.22, 0.24, 150, -90, 9) + _arc(0.28, 0.73, 0.26, 0.27, 90, -150, 9)]),
    "4": (0.62, [[(0.44, 1.0), (0.44, 0.0), (0.02, 0.68), (0.6, 0.68)]]),
    "5": (0.6, [[(0.55, 0.02), (0.13, 0.02), (0.08, 0.45)] + _arc(0.3, 0.7, 0.26, 0.3, 140, -150, 10)]),
    "6": (0.6, [[(0.5, 0.04), (0.28, 0.04), (0.1, 0.3), (0.05, 0.7)] + _arc(0.3, 0.72, 0.24, 0.27, 180, 530, 14)]),
    "7": (0.58, [[(0.02, 0.03), (0.58, 0.03), (0.22, 1.0)]]),
    "8": (0.6, [_arc(0.3, 0.25, 0.2, 0.24, -90, 270, 14), _arc(0.3, 0.74, 0.26, 0.26, 90, 450, 14)]),
    "9": (0.6, [_arc(0.29, 0.28, 0.24, 0.27, -10, 350, 14) + [(0.5, 0.65), (0.38, 0.95), (0.15, 1.0)]]),
    ",": (0.22, [[(0.1, 0.88), (0.12, 0.98), (0.04, 1.14)]]),
    ".": (0.2, [[(0.08, 0.96), (0.1, 0.98), (0.09, 0.95)]]),
    "-": (0.5, [[(0.05, 0.6), (0.45, 0.58)]]),
    "/": (0.45, [[(0.42, 0.0), (0.03, 1.0)]]),
    " ": (0.3, []),
    "€": (0.68, [_arc(0.4, 0.5, 0.3, 0.5, 50, 310, 12), [(0.0, 0.4), (0.5, 0.4)], [(0.0, 0.6), (0.46, 0.6)]]),
    "£": (
        0.6,
        [
            [(0.5, 0.12), (0.38, 0.0), (0.22, 0.05), (0.18, 0.3), (0.2, 0.7), (0.05, 1.0), (0.56, 1.0)],
            [(0.02, 0.52), (0.4, 0.52)],
        ],
    ),
    "$": (
        0.6,
        [
            _arc(0.28, 0.27, 0.22, 0.25, 30, 270, 8) + _arc(0.28, 0.73, 0.22, 0.25, 90, -150, 8),
            [(0.28, -0.1), (0.28, 1.1)],
        ],
    ),
    "S": (0.58, [_arc(0.28, 0.27, 0.22, 0.25, 30, 270, 8) + _arc(0.28, 0.73, 0.22, 0.25, 90, -150, 8)]),
    "C": (0.6, [_arc(0.34, 0.5, 0.3, 0.5, 45, 315, 12)]),
    "H": (0.6, [[(0.05, 0.0), (0.05, 1.0)], [(0.52, 0.0), (0.52, 1.0)], [(0.05, 0.5), (0.52, 0.5)]]),
    "F": (0.52, [[(0.5, 0.0), (0.05, 0.0), (0.05, 1.0)], [(0.05, 0.48), (0.4, 0.48)]]),
    "M": (0.75, [[(0.03, 1.0), (0.08, 0.0), (0.37, 0.7), (0.64, 0.0), (0.7, 1.0)]]),
    "L": (0.5, [[(0.06, 0.0), (0.06, 1.0), (0.48, 1.0)]]),
    "X": (0.6, [[(0.02, 0.0), (0.56, 1.0)], [(0.56, 0.0), (0.02, 1.0)]]),
    "r": (0.42, [[(0.05, 0.42), (0.05, 1.0)], [(0.05, 0.66), (0.2, 0.46), (0.38, 0.44)]]),
    "#": (
        0.6,
        [
            [(0.2, 0.1), (0.14, 0.95)],
            [(0.44, 0.1), (0.38, 0.95)],
            [(0.0, 0.35), (0.58, 0.35)],
            [(0.0, 0.68), (0.56, 0.68)],
        ],
    ),
}


def _chaikin(pts: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Corner-cut a polyline (N×2 floats) ``rounds`` times; ends are kept."""
    for _ in range(rounds):
        if len(pts) < 3:
            return pts
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 2), dtype=pts.dtype)
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid, pts[-1:]])
    return pts


def _layout(text: str, rng: np.random.Generator, slant: float, wobble: float) -> tuple[list[np.ndarray], float]:
    """Place the jittered strokes of ``text`` in glyph units; returns (strokes, total advance)."""
    strokes: list[np.ndarray] = []
    x = 0.0
    for ch in text:
        adv, glyph = GLYPHS.get(ch, GLYPHS[" "])
        scale = float(rng.uniform(0.9, 1.1))
        base = float(rng.normal(0.0, 0.03))
        sl = slant + float(rng.normal(0.0, 0.04))
        for stroke in glyph:
            p = np.asarray(stroke, dtype=np.float32)
            p = p + rng.normal(0.0, wobble, p.shape).astype(np.float32)
            p[:, 0] = x + p[:, 0] * scale + (1.0 - p[:, 1]) * sl
            p[:, 1] = 1.0 - (1.0 - p[:, 1]) * scale + base
            strokes.append(_chaikin(p))
        x += adv * scale * float(rng.uniform(0.95, 1.12)) + 0.06
    return strokes, x


def hand_mask(
    text: str, height_px: float, rng: np.random.Generator, weight: float = 0.09, slant: float = 0.15
) -> np.ndarray:
    """Draw ``text`` as handwriting; returns a uint8 coverage mask (rows × cols, 0–255).

    ``height_px`` is the digit height in pixels, ``weight`` the pen width as a fraction of it
    (ballpoint ≈ 0.06, felt pen ≈ 0.1, marker ≈ 0.16), ``slant`` the forward lean (x per y).
    """
    strokes, advance = _layout(text, rng, slant, 0.022)
    pen = max(1.0, weight * height_px)
    pad = pen + 0.3 * height_px
    w = int(advance * height_px + 2 * pad + abs(slant) * height_px) + 2
    h = int(1.3 * height_px + 2 * pad) + 2
    mask: np.ndarray = np.zeros((h, w), np.uint8)
    shift = 3
    for s in strokes:
        pts = ((s * height_px + pad) * (1 << shift)).astype(np.int32)
        if len(pts) == 1:
            pts = np.vstack([pts, pts + 1])
        cv2.polylines(mask, [pts.reshape(-1, 1, 2)], False, 255, int(round(pen)), cv2.LINE_AA, shift)
    if weight > 0.13:  # markers bleed a little
        mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * pen + 0.3)
    return mask
