"""Small drawing helpers shared by tags and labels: cards, printed text, ink, paper grain.

Sprites are uint8 RGBA numpy arrays (rows × cols × 4); sizes are in pixels, and a tag's
pixel size comes from its size in millimetres times ``ppm`` (pixels per millimetre).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .fonts import font
from .scenes import hex_rgb

__all__ = ["card", "fit_text", "ink", "paper_grain", "place", "text"]


def card(w: int, h: int, color: str, radius: float = 0.0, clip: float = 0.0, alpha: int = 255) -> np.ndarray:
    """A blank RGBA card (h × w) in ``color`` (hex): rounded by ``radius`` px or top corners clipped by ``clip`` px."""
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    if clip > 0:
        d.polygon([(clip, 0), (w - 1 - clip, 0), (w - 1, clip), (w - 1, h - 1), (0, h - 1), (0, clip)], fill=alpha)
    else:
        d.rounded_rectangle((0, 0, w - 1, h - 1), radius=max(0.0, radius), fill=alpha)
    out = np.zeros((h, w, 4), np.uint8)
    out[..., :3] = hex_rgb(color).astype(np.uint8)
    out[..., 3] = np.asarray(mask)
    return out


def fit_text(label: str, font_name: str, max_w: float, max_h: float) -> int:
    """The largest font size (px) at which ``label`` fits in ``max_w`` × ``max_h`` pixels."""
    size = max(6, int(max_h))
    f = font(font_name, size)
    left, top, right, bottom = f.getbbox(label)
    scale = min(max_w / max(1, right - left), max_h / max(1, bottom - top), 1.0)
    return max(6, int(size * scale))


def text(
    img: np.ndarray,
    xy: tuple[float, float],
    label: str,
    font_name: str,
    size: int,
    color: str,
    anchor: str = "mm",
    opacity: float = 1.0,
) -> None:
    """Print ``label`` onto RGBA ``img`` in place at pixel ``xy`` (Pillow ``anchor``), ``size`` px, ``color`` hex."""
    f = font(font_name, size)
    left, top, right, bottom = f.getbbox(label, anchor=anchor)
    x0, y0 = int(xy[0] + left) - 2, int(xy[1] + top) - 2
    w, h = int(right - left) + 4, int(bottom - top) + 4
    m = Image.new("L", (w, h), 0)
    ImageDraw.Draw(m).text((xy[0] - x0, xy[1] - y0), label, font=f, fill=255, anchor=anchor)
    ink(img, np.asarray(m), x0, y0, color, opacity)


def ink(img: np.ndarray, mask: np.ndarray, x0: int, y0: int, color: str, opacity: float = 1.0) -> None:
    """Lay ink of ``color`` (hex) through a uint8 coverage ``mask`` with its top-left at (x0, y0), in place.

    Ink darkens paper (multiplicative), so it keeps the card's texture; parts outside ``img`` are cut.
    """
    h, w = mask.shape[:2]
    ih, iw = img.shape[:2]
    ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(iw, x0 + w), min(ih, y0 + h)
    if ax1 <= ax0 or ay1 <= ay0:
        return
    m = mask[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0].astype(np.float32)[..., None] * (opacity / 255.0)
    region = img[ay0:ay1, ax0:ax1, :3].astype(np.float32)
    c = hex_rgb(color)
    dark = region * (c / 255.0) if c.mean() < 140 else np.broadcast_to(c, region.shape)
    img[ay0:ay1, ax0:ax1, :3] = (region * (1 - m) + dark * m).astype(np.uint8)


def place(
    img: np.ndarray,
    mask: np.ndarray,
    cx: float,
    cy: float,
    max_w: float,
    max_h: float,
    color: str,
    opacity: float = 1.0,
) -> None:
    """Scale ``mask`` down (never up) to fit ``max_w`` × ``max_h`` and ink it centred at (cx, cy)."""
    h, w = mask.shape[:2]
    s = min(1.0, max_w / max(1, w), max_h / max(1, h))
    if s < 1.0:
        mask = cv2.resize(mask, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    ink(img, mask, int(cx - mask.shape[1] / 2), int(cy - mask.shape[0] / 2), color, opacity)


def paper_grain(img: np.ndarray, rng: np.random.Generator, amount: float, fibres: int = 0) -> None:
    """Add grain (± ``amount`` of brightness) and ``fibres`` short dark fibres to an RGBA card, in place."""
    h, w = img.shape[:2]
    g: np.ndarray = rng.normal(1.0, amount, (h // 2 + 1, w // 2 + 1)).astype(np.float32)
    g = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)
    img[..., :3] = np.clip(img[..., :3].astype(np.float32) * g[..., None], 0, 255).astype(np.uint8)
    for _ in range(fibres):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        a = rng.uniform(0, np.pi)
        ln = rng.uniform(2, 6) * max(1.0, w / 200)
        col = tuple(int(v) for v in img[y, x, :3] * 0.7)
        cv2.line(
            img, (x, y), (int(x + ln * np.cos(a)), int(y + ln * np.sin(a))), (*col, int(img[y, x, 3])), 1, cv2.LINE_AA
        )
