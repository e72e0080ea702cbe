"""Placing a flat tag or label into a photo: perspective, string, hand, ruler and glare.

Images are float32 (H, W, 3) 0–255; masks float32 0–1; angles in degrees; sizes in px.
"""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Arr, ink, paste, smooth, text_mask

__all__ = ["Quad", "glare", "hand_under", "quad", "ruler_face", "string", "thumb_over", "warp_onto"]

Quad = np.ndarray  # (4, 2) float32 corners: top-left, top-right, bottom-right, bottom-left


def quad(
    rng: np.random.Generator, centre: tuple[float, float], size: tuple[int, int], angle: float, tilt: float
) -> Quad:
    """Return the frame corners (4, 2) of a w × h px face at ``centre``, rotated and tilted."""
    w, h = size
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32)
    if tilt > 0:
        side = int(rng.integers(4))
        shrink = np.float32(1.0 - tilt)
        if side == 0:
            pts[0:2, 0] *= shrink
            pts[:, 1] *= np.float32(1.0 - tilt / 2)
        elif side == 1:
            pts[2:4, 0] *= shrink
            pts[:, 1] *= np.float32(1.0 - tilt / 2)
        elif side == 2:
            pts[[0, 3], 1] *= shrink
            pts[:, 0] *= np.float32(1.0 - tilt / 2)
        else:
            pts[[1, 2], 1] *= shrink
            pts[:, 0] *= np.float32(1.0 - tilt / 2)
    pts += rng.normal(0, 0.01 * max(w, h), pts.shape).astype(np.float32)
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    return (pts @ rot.T + np.array(centre, np.float32)).astype(np.float32)


def warp_onto(img: Arr, rgb: Arr, alpha: Arr, corners: Quad, shade: float = 0.3) -> tuple[np.ndarray, Arr, int, int]:
    """Warp a face (rgb (h, w, 3), alpha (h, w)) onto ``corners`` of ``img`` with a soft shadow.

    Returns (homography 3×3 from face px to frame px, warped alpha (bh, bw), x0, y0).
    """
    H, W = img.shape[:2]
    h, w = alpha.shape
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    x0, y0 = np.floor(corners.min(0)).astype(int) - 8
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 8
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    full = cv2.getPerspectiveTransform(src, corners)
    if x1 <= x0 or y1 <= y0:
        return full, np.zeros((1, 1), np.float32), 0, 0
    m = cv2.getPerspectiveTransform(src, corners - np.array([x0, y0], np.float32))
    size = (x1 - x0, y1 - y0)
    wr = cv2.warpPerspective(rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    wa = cv2.warpPerspective(alpha, m, size, flags=cv2.INTER_LINEAR)
    if shade > 0:
        soft = max(1.0, 0.02 * max(size))
        sh = cv2.GaussianBlur(wa, (0, 0), soft)
        sh = np.roll(sh, (int(soft), int(soft * 0.6)), axis=(0, 1))
        img[y0:y1, x0:x1] *= (1.0 - shade * sh)[..., None]
    paste(img, wr, wa, x0, y0)
    return full, wa, x0, y0


def _map(hom: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """Return the frame point (x, y) px of face point (x, y) through homography ``hom``."""
    p = hom @ np.array([x, y, 1.0])
    return float(p[0] / p[2]), float(p[1] / p[2])


def string(
    rng: np.random.Generator, img: Arr, hom: np.ndarray, hole: tuple[int, int], end: tuple[float, float], width: int
) -> None:
    """Draw a string from the face's ``hole`` (face px) to frame point ``end``, ``width`` px thick."""
    sx, sy = _map(hom, *hole)
    ex, ey = end
    mx = (sx + ex) / 2 + rng.uniform(-0.2, 0.2) * abs(ey - sy + 1)
    my = (sy + ey) / 2 + rng.uniform(-0.1, 0.2) * abs(ex - sx + 1)
    t = np.linspace(0, 1, 40)[:, None]
    pts = (1 - t) ** 2 * np.array([sx, sy]) + 2 * (1 - t) * t * np.array([mx, my]) + t**2 * np.array([ex, ey])
    cols = ((235.0, 230.0, 215.0), (200.0, 40.0, 40.0), (60.0, 60.0, 60.0), (190.0, 160.0, 110.0))
    col = cols[rng.integers(len(cols))]
    arr = np.round(pts).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [arr], False, tuple(c * 0.6 for c in col), width + 2, cv2.LINE_AA)
    cv2.polylines(img, [arr], False, col, width, cv2.LINE_AA)


def _skin(rng: np.random.Generator) -> tuple[float, float, float]:
    """Return a skin tone (r, g, b) 0–255."""
    tones = ((224, 180, 150), (200, 150, 115), (160, 110, 80), (110, 75, 55), (236, 200, 175))
    r, g, b = tones[rng.integers(len(tones))]
    return float(r), float(g), float(b)


def hand_under(rng: np.random.Generator, img: Arr, corners: Quad) -> tuple[float, float, float]:
    """Draw fingers behind the lower part of a face at ``corners``; return the skin colour."""
    skin = _skin(rng)
    bl, br = corners[3], corners[2]
    width = float(np.linalg.norm(br - bl))
    finger = max(6, int(width * 0.2))
    palm = (int(bl[0] + (br - bl)[0] * 0.7 + width * 0.3), int(max(bl[1], br[1]) + width * 0.6))
    cv2.ellipse(
        img, palm, (int(width * 0.55), int(width * 0.7)), 20.0, 0, 360, tuple(c * 0.9 for c in skin), -1, cv2.LINE_AA
    )
    for k in range(4):
        p = bl + (br - bl) * (0.45 + 0.17 * k)
        tip = (int(p[0] + finger * 0.9), int(p[1] - finger * 0.5 - (finger * 0.4 if k in (1, 2) else 0)))
        col = tuple(c * (0.88 + 0.04 * k) for c in skin)
        cv2.line(img, tip, palm, tuple(c * 0.75 for c in col), finger + 3, cv2.LINE_AA)
        cv2.line(img, tip, palm, col, finger, cv2.LINE_AA)
    return skin


def thumb_over(img: Arr, corners: Quad, skin: tuple[float, float, float]) -> None:
    """Draw a thumb pressing on the lower-left part of a face at ``corners`` (over the face)."""
    bl, br, tl = corners[3], corners[2], corners[0]
    width = float(np.linalg.norm(br - bl))
    th = max(8, int(width * 0.24))
    tip = bl + (br - bl) * 0.22 + (tl - bl) * 0.12
    base = (int(tip[0] + width * 0.2), int(max(bl[1], br[1]) + width * 0.7))
    cv2.line(img, base, (int(tip[0]), int(tip[1])), tuple(c * 0.8 for c in skin), th + 4, cv2.LINE_AA)
    cv2.line(img, base, (int(tip[0]), int(tip[1])), skin, th, cv2.LINE_AA)
    cv2.circle(
        img, (int(tip[0] + th * 0.1), int(tip[1])), th // 3, tuple(min(255.0, c * 1.08) for c in skin), -1, cv2.LINE_AA
    )


def ruler_face(rng: np.random.Generator, length: int, tape: bool) -> tuple[Arr, Arr]:
    """Return (rgb, alpha) of a ruler (or a tailor's tape) ``length`` px long, cm ticks and numbers."""
    cm = int(rng.integers(15, 31)) if not tape else int(rng.integers(20, 40))
    width = max(12, length // (10 if not tape else 22))
    colours = (
        ((230, 200, 140), (240, 240, 235), (250, 215, 40), (200, 205, 210))
        if not tape
        else ((250, 210, 30), (245, 245, 240), (240, 140, 60))
    )
    img = np.empty((width, length, 3), np.float32)
    img[:] = colours[rng.integers(len(colours))]
    img *= (1.0 + 0.04 * smooth(rng, width, length, 6))[..., None]
    per = length / cm
    for mm in range(cm * 10):
        x = int(mm * per / 10 + per * 0.2)
        tick = width * (0.45 if mm % 10 == 0 else 0.3 if mm % 5 == 0 else 0.18)
        if per / 10 >= 2 or mm % 5 == 0:
            cv2.line(img, (x, 0), (x, int(tick)), (25.0, 25.0, 25.0), 1, cv2.LINE_AA)
    font_px = max(6, int(width * 0.38))
    for c in range(1, cm):
        num = text_mask(str(c), "dejavu_sans", font_px)
        x = int(c * per + per * 0.2) - num.shape[1] // 2
        ink(img, num, (30, 30, 30), x, int(width * 0.5))
    return img, np.ones((width, length), np.float32)


def glare(rng: np.random.Generator, img: Arr, alpha: Arr, x0: int, y0: int) -> None:
    """Add a bright specular highlight over part of a placed face (``alpha`` at x0, y0)."""
    h, w = alpha.shape
    if h < 4 or w < 4:
        return
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    ry, rx = rng.uniform(0.1, 0.35) * h, rng.uniform(0.1, 0.35) * w
    yy = ((np.arange(h, dtype=np.float32) - cy) / ry)[:, None]
    xx = ((np.arange(w, dtype=np.float32) - cx) / rx)[None, :]
    blob = np.exp(-(yy * yy + xx * xx)) * alpha * np.float32(rng.uniform(90, 190))
    region = img[y0 : y0 + h, x0 : x0 + w]
    region += blob[: region.shape[0], : region.shape[1], None]
