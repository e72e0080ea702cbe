"""Text on the clothing renderer's tags and labels: its fonts, printed text and "handwriting".

Part of :mod:`product_images.labels.development.clothing`.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT_DIR = Path(__file__).resolve().parent / "clothing_fonts"
#: Font faces: Pillow's bundled Aileron (no € glyph) and DejaVu Sans / Sans Bold
#: (Debian ``fonts-dejavu-core`` 2.37, free licence in ``clothing_fonts/DEJAVU-COPYRIGHT.txt``).
FONT_FACES: tuple[str, ...] = ("sans", "bold", "aileron")
_current_face = ["bold"]


@functools.lru_cache(maxsize=512)
def _font_face(size: int, face: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = max(6, int(size))
    if face == "aileron":
        return ImageFont.load_default(size=size)
    name = "DejaVuSans-Bold.ttf" if face == "bold" else "DejaVuSans.ttf"
    return ImageFont.truetype(str(_FONT_DIR / name), size)


def _font(size: int, face: str | None = None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font at ``size`` px: ``face`` or the face set by :func:`_set_face` (DejaVu when unknown)."""
    return _font_face(int(size), face or _current_face[0])


def _set_face(face: str) -> None:
    _current_face[0] = face


def _face_for(text: str) -> str | None:
    return "bold" if ("€" in text and _current_face[0] == "aileron") else None


def _text_size(text: str, size: int, stroke: int = 0) -> tuple[int, int]:
    box = _font(size, _face_for(text)).getbbox(text, stroke_width=stroke)
    return int(box[2] - box[0]), int(box[3] - box[1])  # Pillow's boxes are whole pixels, typed as floats


def _draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill, stroke: int = 0, anchor: str = "la"
) -> None:
    draw.text(
        xy, text, font=_font(size, _face_for(text)), fill=fill, stroke_width=stroke, stroke_fill=fill, anchor=anchor
    )


def _fit_size(text: str, max_w: float, max_h: float, stroke: int = 0) -> int:
    """Largest font size (px) at which ``text`` fits in ``max_w`` × ``max_h`` pixels."""
    size = max(6, int(max_h))
    w, h = _text_size(text, size, stroke)
    if w > max_w:
        size = max(6, int(size * max_w / max(w, 1)))
    return size


def _handwrite(text: str, height: int, ink: tuple[int, int, int], rng: random.Random) -> Image.Image:
    """``text`` drawn like a marker: per character rotation/scale/baseline jitter, thick strokes.

    Returns an RGBA image about ``height`` pixels tall.
    """
    stroke = max(1, height // 14)
    glyphs: list[Image.Image | None] = []
    for ch in text:
        if ch == " ":
            glyphs.append(None)
            continue
        size = int(height * rng.uniform(0.85, 1.12))
        w, h = _text_size(ch, size, stroke)
        g = Image.new("L", (w + 4 * stroke + 6, int(size * 1.4) + 4 * stroke), 0)
        ImageDraw.Draw(g).text(
            (2 * stroke + 3, 2 * stroke), ch, font=_font(size, "sans"), fill=255, stroke_width=stroke, stroke_fill=255
        )
        g = g.rotate(rng.uniform(-14, 14), resample=Image.Resampling.BILINEAR, expand=True)
        shear = rng.uniform(-0.25, 0.05)
        g = g.transform(
            g.size,
            Image.Transform.AFFINE,
            (1, shear, -shear * g.size[1] / 2, 0, 1, 0),
            resample=Image.Resampling.BILINEAR,
        )
        bb = g.getbbox()
        if bb:  # keep the glyph's own height band so baselines stay comparable
            g = g.crop((bb[0], 0, bb[2], g.size[1]))
        glyphs.append(g)
    space = int(height * 0.35)
    total_w = sum((g.size[0] + int(height * 0.1)) if g else space for g in glyphs) + height
    total_h = int(height * 2.0)
    mask = Image.new("L", (max(total_w, 1), total_h), 0)
    x = height // 4
    for glyph in glyphs:
        if glyph is None:
            x += space
            continue
        y = int(total_h / 2 - glyph.size[1] / 2 + rng.uniform(-0.08, 0.08) * height)
        mask.paste(255, (x, y), glyph)
        x += glyph.size[0] + int(height * rng.uniform(-0.04, 0.08))
    mask = mask.crop(mask.getbbox() or (0, 0, 1, 1))
    out = Image.new("RGBA", mask.size, ink + (0,))
    out.putalpha(mask.point(lambda v: int(v * 0.92)))
    return out
