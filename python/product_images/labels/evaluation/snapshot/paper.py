"""Paper helpers shared by shop tags and paper hard negatives.

Tag artwork is drawn with PIL on RGBA images (pixels), then turned into float32 RGBA
arrays (h, w, 4) in [0, 1] by :func:`to_patch`. Hands, strings, rulers and glare are
drawn straight onto float32 (H, W, 3) canvases.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.random import Generator
from PIL import Image, ImageChops, ImageDraw

from .fonts import load_font
from .texture import rgb, smooth_noise

__all__ = [
    "ink_tuple",
    "card",
    "hand_text",
    "print_text",
    "to_patch",
    "draw_string",
    "draw_hand",
    "ruler_patch",
    "add_glare",
]

SKIN = ("#f1c7a8", "#e0ac8a", "#c68863", "#8d5a3b", "#f5d5c0", "#a86b47")


def ink_tuple(hex_color: str) -> tuple[int, int, int]:
    """Convert ``"#rrggbb"`` to an (r, g, b) tuple of 0..255 ints."""
    c = hex_color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


def card(w: int, h: int, paper: str, shape: str, hole: bool) -> Image.Image:
    """A blank RGBA tag ``w`` x ``h`` px of colour ``paper``.

    ``shape``: "rect", "rounded", "notched" (top corners cut) or "round" (ellipse).
    ``hole``: punch a string hole near the top (with a reinforcement ring).
    """
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    fill = ink_tuple(paper) + (255,)
    if shape == "round":
        d.ellipse([0, 0, w - 1, h - 1], fill=fill)
    elif shape == "rounded":
        d.rounded_rectangle([0, 0, w - 1, h - 1], radius=min(w, h) // 8, fill=fill)
    elif shape == "notched":
        c = min(w, h) // 5
        d.polygon([(c, 0), (w - 1 - c, 0), (w - 1, c), (w - 1, h - 1), (0, h - 1), (0, c)], fill=fill)
    else:
        d.rectangle([0, 0, w - 1, h - 1], fill=fill)
    if hole:
        r = max(4, min(w, h) // 22)
        cx, cy = w // 2, int(min(w, h) * 0.13) + r
        d.ellipse(
            [cx - r * 2, cy - r * 2, cx + r * 2, cy + r * 2], fill=(235, 235, 228, 255), outline=(200, 200, 190, 255)
        )
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(0, 0, 0, 0))
    return img


def hand_text(
    img: Image.Image,
    center: tuple[float, float],
    text: str,
    font: str,
    size: int,
    ink: str,
    rng: Generator,
    stroke: int = 0,
    slant: float = 0.0,
) -> None:
    """Write ``text`` by hand (jittered glyphs) centred at ``center`` px on ``img`` in place.

    ``size``: glyph em height px; ``stroke``: extra pen width px; ``slant``: line angle deg.
    """
    f = load_font(font, size)
    pad = size // 2 + stroke
    width = int(f.getlength(text) * 1.15) + 2 * pad
    line = Image.new("L", (width, int(size * 1.6) + 2 * pad), 0)
    x = float(pad)
    for ch in text:
        adv = f.getlength(ch)
        if ch != " ":
            g = Image.new("L", (int(adv) + 2 * pad, int(size * 1.5) + 2 * pad), 0)
            ImageDraw.Draw(g).text((pad, pad), ch, font=f, fill=255, stroke_width=stroke, stroke_fill=255)
            g = g.rotate(float(rng.normal(0, 5)), resample=Image.Resampling.BICUBIC)
            dy = int(rng.normal(0, size * 0.04))
            box = (int(x) - pad, max(0, pad + dy))
            line.paste(ImageChops.lighter(line.crop((*box, box[0] + g.width, box[1] + g.height)), g), box)
        x += adv * float(rng.uniform(0.92, 1.06))
    line = line.crop((0, 0, min(width, int(x) + 2 * pad), line.height))
    line = line.rotate(slant + float(rng.normal(0, 2)), resample=Image.Resampling.BICUBIC, expand=True)
    alpha = line.point(lambda v: int(v * 0.92))
    pos = (int(center[0] - line.width / 2), int(center[1] - line.height / 2))
    img.paste(Image.new("RGB", line.size, ink_tuple(ink)), pos, alpha)


def print_text(
    img: Image.Image, xy: tuple[float, float], text: str, font: str, size: int, ink: str = "#111111", anchor: str = "la"
) -> None:
    """Print ``text`` (crisp font) at ``xy`` px with PIL ``anchor`` on ``img`` in place."""
    ImageDraw.Draw(img).text(xy, text, font=load_font(font, size), fill=ink_tuple(ink), anchor=anchor)


def to_patch(img: Image.Image, rng: Generator, grain: float = 0.03, curl: float = 0.06) -> np.ndarray:
    """RGBA PIL ``img`` -> float32 (h, w, 4) with paper grain and a soft bend shading."""
    arr = np.asarray(img, dtype=np.float32) / 255.0
    h, w = arr.shape[:2]
    field = 1.0 + smooth_noise(rng, h, w, 50, grain * 0.5) + smooth_noise(rng, h, w, 3, curl)
    arr[..., :3] *= field[..., None]
    np.clip(arr, 0, 1, out=arr)
    return arr


def draw_string(canvas: np.ndarray, rng: Generator, start: tuple[float, float], color: str, thick: int) -> None:
    """Draw a loose string from ``start`` (px) out of the frame on ``canvas`` (H, W, 3) in place."""
    h, w = canvas.shape[:2]
    ang = float(rng.uniform(-2.6, -0.5))
    pts = [np.array(start, np.float64)]
    step = max(h, w) / 10
    for _ in range(14):
        ang += float(rng.normal(0, 0.25))
        pts.append(pts[-1] + step * np.array([np.cos(ang), np.sin(ang)]))
    poly = np.round(np.array(pts) * 4).astype(np.int32)
    c = rgb(color)
    cv2.polylines(canvas, [poly], False, (c * 0.6).tolist(), thick + 2, cv2.LINE_AA, shift=2)
    cv2.polylines(canvas, [poly], False, c.tolist(), thick, cv2.LINE_AA, shift=2)


def _capsule(mask: np.ndarray, p0: np.ndarray, p1: np.ndarray, r: float) -> None:
    """Draw a filled capsule (finger) from p0 to p1 with radius ``r`` px on uint8 ``mask``."""
    cv2.line(mask, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), 255, max(2, int(2 * r)), cv2.LINE_AA)
    cv2.circle(mask, (int(p1[0]), int(p1[1])), int(r), 255, -1, cv2.LINE_AA)


def draw_hand(canvas: np.ndarray, grip: tuple[float, float], size: float, front: bool, skin: str) -> None:
    """Draw a hand holding a tag at ``grip`` px; ``size`` = palm width px.

    ``front`` False: palm and fingers behind the tag (call before pasting it); True: the
    thumb on top with its nail (call after). Draws onto ``canvas`` (H, W, 3) in place.
    The hand always comes from the image edge nearest to ``grip`` (bottom preferred).
    """
    h, w = canvas.shape[:2]
    g = np.array(grip, np.float64)
    edges = [(h - g[1]) * 0.7, g[0], w - g[0]]
    d = [np.array([0.0, 1.0]), np.array([-1.0, 0.0]), np.array([1.0, 0.0])][int(np.argmin(edges))]
    d = d + 0.3 * float(np.sin(g[0] * 0.013 + g[1] * 0.007)) * np.abs(d[::-1])
    d /= np.linalg.norm(d)
    perp = np.array([-d[1], d[0]])
    palm = g + d * size * 0.95
    r = size * 0.14
    mask = np.zeros((h, w), np.uint8)
    if front:
        tip = g - d * r * 0.4
        _capsule(mask, palm + perp * size * 0.45, tip, r * 1.15)
    else:
        cv2.ellipse(
            mask,
            (int(palm[0]), int(palm[1])),
            (int(size * 0.62), int(size * 0.55)),
            float(np.degrees(np.arctan2(d[1], d[0]))),
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
        )
        _capsule(mask, palm, palm + d * size * 3, size * 0.45)
        for k in (-1.5, -0.5, 0.5):
            base = palm + perp * k * r * 1.75
            _capsule(mask, base, g - d * size * 0.5 + perp * k * r * 1.75, r)
    m = mask.astype(np.float32) / 255.0
    k = max(3, int(r * 0.8) | 1)
    soft = cv2.GaussianBlur(m, (k * 2 + 1, k * 2 + 1), 0)
    tone = rgb(skin) * (0.68 + 0.38 * soft)[..., None]
    if front:
        nail = np.zeros((h, w), np.uint8)
        nc = tip + d * r * 0.45
        ang = float(np.degrees(np.arctan2(d[1], d[0])))
        cv2.ellipse(nail, (int(nc[0]), int(nc[1])), (int(r * 0.75), int(r * 0.6)), ang, 0, 360, 255, -1, cv2.LINE_AA)
        nm = cv2.GaussianBlur(nail.astype(np.float32) / 255.0, (5, 5), 0)[..., None]
        tone = tone * (1 - nm) + nm * np.clip(rgb(skin) * 1.1 + 0.1, 0, 1)
        c0, c1 = tip + d * r * 1.6 + perp * r * 0.8, tip + d * r * 1.6 - perp * r * 0.8
        cv2.line(
            tone,
            (int(c0[0]), int(c0[1])),
            (int(c1[0]), int(c1[1])),
            (rgb(skin) * 0.75).tolist(),
            max(1, int(r / 12)),
            cv2.LINE_AA,
        )
    canvas *= 1 - m[..., None]
    canvas += m[..., None] * tone


def ruler_patch(rng: Generator, length: int) -> np.ndarray:
    """A ruler ``length`` px long with mm ticks and cm numbers: float32 RGBA (h, length, 4)."""
    h = max(20, length // 9)
    kind = int(rng.integers(0, 3))
    colors = [(222, 196, 140), (200, 204, 208), (240, 240, 232)]
    img = Image.new("RGBA", (length, h), colors[kind] + ((255,) if kind < 2 else (200,)))
    d = ImageDraw.Draw(img)
    cm = length / float(rng.uniform(15, 30))
    font = load_font("dv_sans", max(8, int(h * 0.28)))
    for i in range(int(length / cm * 10) + 1):
        x = int(i * cm / 10)
        tick = h * (0.42 if i % 10 == 0 else 0.28 if i % 5 == 0 else 0.16)
        d.line([(x, 0), (x, int(tick))], fill=(30, 30, 30, 255), width=1)
        if i % 10 == 0 and i > 0:
            d.text((x, int(h * 0.45)), str(i // 10), font=font, fill=(30, 30, 30, 255), anchor="ma")
    return to_patch(img, rng, 0.02, 0.02)


def add_glare(canvas: np.ndarray, rng: Generator, alpha: np.ndarray, strength: float) -> None:
    """Add a lamp reflection (soft white ellipse) inside ``alpha`` (H, W) on ``canvas`` in place."""
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return
    h, w = alpha.shape
    i = int(rng.integers(0, len(xs)))
    spot = np.zeros((h // 4 + 1, w // 4 + 1), np.float32)
    ax = int((xs.max() - xs.min()) * rng.uniform(0.08, 0.25)) // 4 + 2
    cv2.ellipse(
        spot,
        (int(xs[i]) // 4, int(ys[i]) // 4),
        (ax, int(ax * rng.uniform(0.3, 0.8))),
        float(rng.uniform(0, 180)),
        0,
        360,
        1.0,
        -1,
    )
    spot = cv2.GaussianBlur(spot, (0, 0), ax * 0.5 + 1)
    spot = cv2.resize(spot, (w, h), interpolation=cv2.INTER_LINEAR)
    canvas += (strength * spot * alpha)[..., None]
    np.clip(canvas, 0, 1, out=canvas)
