"""Ink on paper: prices written by hand (jittered pen strokes, or a handwriting font) and printed text.

Every function returns an ink *mask* (a ``float32`` array, 0 = no ink, 1 = full ink, shape
(height, width) in pixels) that :func:`paste_ink` lays on an RGB ``float32`` image (0..1).
The stroke font covers digits, ``€ , . - / =`` and a space: the way prices are written on
charity-shop tags with a marker or a ballpoint; letters go through a handwriting-like font.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .fonts import font

__all__ = ["STROKE_CHARS", "font_text_mask", "paste_ink", "stroke_text_mask"]

_Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float, n: int = 14) -> _Stroke:
    """Points of an elliptic arc in the glyph box (y down; 270° is the top)."""
    ts = np.linspace(math.radians(start_deg), math.radians(end_deg), n)
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in ts]


# Glyphs in a box 0.6 wide, 1.0 tall (y down): a list of strokes, each a polyline.
_GLYPHS: dict[str, list[_Stroke]] = {
    "0": [_arc(0.3, 0.5, 0.27, 0.49, 250, 610, 22)],
    "1": [[(0.1, 0.24), (0.33, 0.0), (0.33, 1.0)]],
    "2": [_arc(0.3, 0.28, 0.26, 0.26, 190, 380) + [(0.03, 1.0), (0.6, 0.98)]],
    "3": [_arc(0.3, 0.25, 0.23, 0.24, 200, 450), _arc(0.3, 0.73, 0.28, 0.26, 270, 510)],
    "4": [[(0.46, 1.0), (0.46, 0.0), (0.02, 0.68), (0.62, 0.68)]],
    "5": [[(0.56, 0.02), (0.13, 0.02), (0.09, 0.47)], _arc(0.3, 0.69, 0.28, 0.3, 215, 510)],
    "6": [_arc(0.72, 0.7, 0.68, 0.66, 250, 180), _arc(0.32, 0.72, 0.27, 0.27, 180, 540, 18)],
    "7": [[(0.02, 0.03), (0.6, 0.03), (0.2, 1.0)]],
    "8": [_arc(0.3, 0.25, 0.22, 0.24, 0, 360, 16), _arc(0.3, 0.74, 0.27, 0.26, 0, 360, 16)],
    "9": [_arc(0.3, 0.3, 0.26, 0.28, 0, 360, 16), [(0.56, 0.3), (0.5, 0.7), (0.42, 1.0)]],
    "€": [_arc(0.42, 0.5, 0.38, 0.48, 40, 320, 18), [(0.0, 0.42), (0.5, 0.42)], [(0.0, 0.6), (0.46, 0.6)]],
    ",": [[(0.12, 0.88), (0.04, 1.12)]],
    ".": [[(0.08, 0.96), (0.1, 0.99)]],
    "-": [[(0.05, 0.55), (0.42, 0.53)]],
    "/": [[(0.55, 0.0), (0.05, 1.0)]],
    "=": [[(0.05, 0.42), (0.45, 0.42)], [(0.05, 0.62), (0.45, 0.62)]],
    " ": [],
}
_ADVANCE: dict[str, float] = {"1": 0.45, ",": 0.22, ".": 0.2, " ": 0.35, "-": 0.5, "=": 0.5}

STROKE_CHARS = frozenset(_GLYPHS)
"""The characters :func:`stroke_text_mask` can write."""


def _glyph_strokes(char: str, x0: float, height: float, rng: np.random.Generator, slant: float) -> list[np.ndarray]:
    """The strokes of one character in pixels, jittered (size, baseline, per-point wobble), from x0."""
    scale = height * rng.uniform(0.9, 1.08)
    dy = rng.normal(0, 0.03) * height
    wobble = 0.012 * scale
    strokes = []
    for stroke in _GLYPHS[char]:
        pts = np.array(stroke, dtype=np.float64) * scale
        pts[:, 0] += x0 + (height - pts[:, 1]) * slant
        pts[:, 1] += dy + height * 0.15
        pts += rng.normal(0, wobble, pts.shape) + rng.normal(0, wobble * 1.5, 2)
        strokes.append(pts)
    return strokes


def stroke_text_mask(text: str, height_px: float, pen_px: float, rng: np.random.Generator) -> np.ndarray:
    """The ink mask of ``text`` written with a pen of ``pen_px`` pixels, characters ``height_px`` tall.

    Output: float32 (H, W), about 1.4 × height tall.  Unknown characters are skipped.
    """
    slant = rng.uniform(-0.05, 0.3)
    chars = [c for c in text if c in _GLYPHS]
    width = int(height_px * (0.85 * len(chars) + 1.0) + pen_px * 2 + 4)
    size = (int(height_px * 1.45 + pen_px * 2 + 4), width)
    mask = np.zeros(size, dtype=np.uint8)
    x = pen_px + 2.0
    thickness = max(1, round(pen_px))
    for char in chars:
        for pts in _glyph_strokes(char, x, height_px, rng, slant):
            if len(pts) == 2 and np.allclose(pts[0], pts[1], atol=height_px * 0.05):
                cv2.circle(mask, (int(pts[0][0] * 4), int(pts[0][1] * 4)), thickness * 2, 255, -1, cv2.LINE_AA, 2)
                continue
            poly = np.round(pts * 4).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(mask, [poly], False, 255, thickness, cv2.LINE_AA, 2)
        x += height_px * (_ADVANCE.get(char, 0.68) + rng.uniform(-0.04, 0.06))
    return _crop(mask.astype(np.float32) / 255.0)


def font_text_mask(
    text: str, key: str, size_px: int, rng: np.random.Generator, jitter: float = 0.0, bold_px: int = 0
) -> np.ndarray:
    """The ink mask of ``text`` in font ``key`` at ``size_px``; ``jitter`` > 0 moves each character (handwriting).

    ``bold_px`` thickens the strokes (a marker).  Output: float32 (H, W).
    """
    face = font(key, size_px)
    width = int(face.getlength(text) * 1.15 + size_px + bold_px * 4 + 8)
    img = Image.new("L", (width, int(size_px * 1.6 + bold_px * 2 + 8)), 0)
    draw = ImageDraw.Draw(img)
    x = 4.0 + bold_px
    for char in text:
        dy = rng.normal(0, jitter * size_px * 0.06) if jitter else 0.0
        draw.text((x, 4 + bold_px + dy), char, font=face, fill=255, stroke_width=bold_px, stroke_fill=255)
        x += face.getlength(char) * (1 + (rng.uniform(-0.08, 0.1) * jitter if jitter else 0.0))
    mask = np.asarray(img, dtype=np.float32) / 255.0
    if jitter:
        shear = rng.uniform(-0.12, 0.12) * jitter
        h, w = mask.shape
        m = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], dtype=np.float32)
        mask = np.asarray(cv2.warpAffine(mask, m, (w, h)), np.float32)
    return _crop(mask)


def _crop(mask: np.ndarray, pad: int = 2) -> np.ndarray:
    """The mask cut to its inked box plus ``pad`` pixels (a 4×4 empty mask if nothing is inked)."""
    ys, xs = np.nonzero(mask > 0.02)
    if len(ys) == 0:
        return np.zeros((4, 4), dtype=np.float32)
    y0, y1 = max(0, ys.min() - pad), min(mask.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(mask.shape[1], xs.max() + pad + 1)
    return np.ascontiguousarray(mask[y0:y1, x0:x1])


def paste_ink(
    img: np.ndarray, mask: np.ndarray, x: int, y: int, color: tuple[float, float, float], opacity: float = 1.0
) -> None:
    """Lay ``mask`` in ``color`` (RGB 0..1) on ``img`` (float32 H×W×3, in place) with its top-left at (x, y).

    Parts outside the image are clipped; ink multiplies with the paper a little (marker on kraft).
    """
    h, w = mask.shape
    ih, iw = img.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(iw, x + w), min(ih, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    a = (mask[y0 - y : y1 - y, x0 - x : x1 - x] * opacity)[..., None]
    region = img[y0:y1, x0:x1]
    ink = np.asarray(color, dtype=np.float32) * (0.75 + 0.25 * region)
    img[y0:y1, x0:x1] = region * (1 - a) + ink * a
