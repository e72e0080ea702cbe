"""Props around a tag in the photo: the hand holding it, the string, a safety pin, a ruler or tape measure, a shoe sole.

All draw into an RGB ``float32`` canvas (0..1, (H, W, 3)) in place; points are (x, y) in canvas pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from .garments import warp_blend
from .paper import hex_rgb, low_noise

__all__ = ["draw_fingers", "draw_pin", "draw_sole", "draw_string", "draw_tape", "draw_thumb"]


def _pt(p: np.ndarray) -> tuple[int, int]:
    """A point as ints for OpenCV (sub-pixel shift of 2 bits)."""
    return (int(p[0] * 4), int(p[1] * 4))


def _skin_line(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, width: float, skin: tuple[float, ...]) -> None:
    """A finger: a thick round-capped line with a darker rim, from ``a`` to ``b``."""
    rim = tuple(c * 0.72 for c in skin)
    cv2.line(canvas, _pt(a), _pt(b), rim, max(2, int(width * 1.1)), cv2.LINE_AA, 2)
    cv2.line(canvas, _pt(a), _pt(b), skin, max(1, int(width)), cv2.LINE_AA, 2)


def draw_fingers(canvas: np.ndarray, corner: np.ndarray, centre: np.ndarray, size: float, skin: str) -> None:
    """The palm and fingers behind a tag held at ``corner`` (the tag's centre at ``centre``, ``size`` its long side)."""
    tone = hex_rgb(skin)
    d = corner - centre
    d = d / (np.linalg.norm(d) + 1e-6)
    n = np.array([-d[1], d[0]])
    palm = corner + d * size * 0.45
    cv2.ellipse(canvas, _pt(palm), (int(size * 0.4 * 4), int(size * 0.28 * 4)), 0, 0, 360, tone, -1, cv2.LINE_AA, 2)
    for k in (-0.18, 0.0, 0.18):
        _skin_line(canvas, palm + n * size * k, corner - d * size * 0.1 + n * size * k * 1.4, size * 0.12, tone)


def draw_thumb(canvas: np.ndarray, corner: np.ndarray, centre: np.ndarray, size: float, skin: str) -> None:
    """The thumb pressing on the tag near ``corner`` (drawn over the tag)."""
    tone = hex_rgb(skin)
    d = corner - centre
    d = d / (np.linalg.norm(d) + 1e-6)
    n = np.array([-d[1], d[0]])
    base = corner + d * size * 0.3 + n * size * 0.22
    tip = corner - d * size * 0.12
    _skin_line(canvas, base, tip, size * 0.14, tone)
    nail = tip + (base - tip) * 0.12
    cv2.circle(canvas, _pt(nail), int(size * 0.035 * 4), tuple(min(1.0, c * 1.12) for c in tone), -1, cv2.LINE_AA, 2)


def draw_string(canvas: np.ndarray, hole: np.ndarray, centre: np.ndarray, size: float, color: str) -> None:
    """The string through a hang tag's hole, running away from the tag in a loose curve."""
    d = hole - centre
    d = d / (np.linalg.norm(d) + 1e-6)
    n = np.array([-d[1], d[0]])
    pts = [hole + d * size * t * 1.4 + n * size * 0.25 * np.sin(t * 2.5) for t in np.linspace(0, 1.6, 12)]
    poly = (np.array(pts) * 4).astype(np.int32).reshape(-1, 1, 2)
    width = max(2, int(size * 0.018))
    cv2.polylines(canvas, [poly], False, tuple(c * 0.6 for c in hex_rgb(color)), width + 2, cv2.LINE_AA, 2)
    cv2.polylines(canvas, [poly], False, hex_rgb(color), width, cv2.LINE_AA, 2)


def draw_pin(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, size: float) -> None:
    """A safety pin from ``a`` to ``b`` (its head at ``b``)."""
    width = max(2, int(size * 0.015))
    steel = (0.78, 0.78, 0.8)
    n = np.array([-(b - a)[1], (b - a)[0]]) / (np.linalg.norm(b - a) + 1e-6)
    cv2.line(canvas, _pt(a), _pt(b), steel, width, cv2.LINE_AA, 2)
    cv2.line(canvas, _pt(a + n * size * 0.05), _pt(b + n * size * 0.05), steel, width, cv2.LINE_AA, 2)
    cv2.circle(canvas, _pt(a + n * size * 0.025), int(size * 0.03 * 4), steel, width, cv2.LINE_AA, 2)
    cv2.rectangle(
        canvas, _pt(b - n * size * 0.02), _pt(b + n * size * 0.08 + (b - a) * 0.08), steel, -1, cv2.LINE_AA, 2
    )


def draw_tape(canvas: np.ndarray, p0: np.ndarray, p1: np.ndarray, width: int, color: str, unit_px: float) -> None:
    """A tape measure or ruler from ``p0`` to ``p1``, ``width`` px wide, one cm every ``unit_px`` px, numbered."""
    length = int(np.linalg.norm(p1 - p0))
    if length < 20 or width < 6:
        return
    strip = np.empty((width, length, 3), np.uint8)
    strip[:] = np.asarray(hex_rgb(color)) * 255
    _ticks(strip, max(4.0, unit_px))
    ang = np.arctan2(p1[1] - p0[1], p1[0] - p0[0])
    c, s = np.cos(ang), np.sin(ang)
    m = np.array([[c, -s, p0[0] + s * width / 2], [s, c, p0[1] - c * width / 2]], np.float32)
    warp_blend(canvas, strip.astype(np.float32) / 255.0, np.ones((width, length), np.float32), m)


def _ticks(strip: np.ndarray, unit: float) -> None:
    """Centimetre ticks (longer every 5) and numbers on a uint8 tape strip (in place)."""
    width, length = strip.shape[:2]
    ink = (25, 25, 25)
    for i in range(int(length / unit) + 1):
        x = int(i * unit)
        cv2.line(strip, (x, 0), (x, width // 2 if i % 5 == 0 else width // 4), ink, 1)
        if (i % 10 == 0 and unit * 10 > 40) or (unit > 14 and width > 30):
            cv2.putText(strip, str(i % 200), (x + 2, int(width * 0.85)), cv2.FONT_HERSHEY_SIMPLEX, width / 90, ink, 1)


def draw_sole(canvas: np.ndarray, rng: np.random.Generator, color: str) -> None:
    """A shoe sole filling most of the frame: rubber with a tread pattern (the background of a sticker)."""
    h, w = canvas.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.42), int(h * 0.6)), float(rng.uniform(-30, 30)), 0, 360, 255, -1)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    tread = 1.0 + 0.18 * np.sign(np.sin(yy / max(4.0, h / 60)) * np.sin(xx / max(4.0, w / 40)))
    tread = tread * (1.0 + low_noise(rng, h, w, 10, 0.08))
    a = (mask.astype(np.float32) / 255.0)[..., None]
    rubber = np.asarray(hex_rgb(color), np.float32) * tread[..., None]
    canvas[:] = canvas * (1 - a) + rubber * a
