"""Ink on paper: printed text lines, handwriting, barcodes and QR codes drawn on a tag patch.

Patches are RGBA PIL images; positions and sizes are pixels within the patch.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .codes import linear_mask, qr_mask
from .drawing import RGB, fit_font, text_size
from .fonts import font

__all__ = ["draw_code", "hand_text", "hole_and_string", "printed", "sticker_base"]

Spec = dict[str, str | int | float | bool]


def sticker_base(size: tuple[int, int], colour: RGB, radius: int, shape: str = "rect") -> Image.Image:
    """An RGBA patch of ``size`` pixels: a rounded rectangle or an ellipse of ``colour``, transparent outside."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    box = (0, 0, size[0] - 1, size[1] - 1)
    if shape == "round":
        d.ellipse(box, fill=colour + (255,))
    else:
        d.rounded_rectangle(box, radius=radius, fill=colour + (255,))
    return img


def printed(
    img: Image.Image,
    xy: tuple[int, int],
    text: str,
    font_size: tuple[str, int],
    colour: RGB,
    max_w: int,
    anchor: str = "la",
) -> int:
    """Print ``text`` at ``xy`` (PIL ``anchor``), shrinking the font to ``max_w`` pixels; returns its height."""
    if not text:
        return 0
    f = fit_font(font_size, text, max_w)
    d = ImageDraw.Draw(img)
    d.text(xy, text, font=f, fill=colour + (255,), anchor=anchor)
    return text_size(d, text, f)[1]


def hand_text(
    img: Image.Image, xy: tuple[int, int], text: str, font_size: tuple[str, int], colour: RGB, rng: np.random.Generator
) -> None:
    """Write ``text`` by hand from ``xy`` (left, middle): each character jittered in place, size and slant."""
    key, size = font_size
    d = ImageDraw.Draw(img)
    x, y = float(xy[0]), float(xy[1])
    slope = float(rng.uniform(-0.08, 0.08))
    for ch in text:
        s = int(size * rng.uniform(0.9, 1.1))
        f = font(key, s)
        dy = float(rng.normal(0, size * 0.04))
        d.text(
            (x, y + dy),
            ch,
            font=f,
            fill=colour + (255,),
            anchor="lm",
            stroke_width=max(1, s // 28),
            stroke_fill=colour + (255,),
        )
        x += d.textlength(ch, font=f) * rng.uniform(0.95, 1.08)
        y += slope * s * 0.5


def draw_code(img: Image.Image, box: tuple[int, int, int, int], spec: Spec, ink: RGB, paper: RGB) -> None:
    """Draw the spec's barcode/QR (``symbology``, ``payload``) centred in ``box`` (x, y, w, h) on ``paper``."""
    symbology, payload = str(spec["symbology"]), str(spec["payload"])
    x, y, w, h = box
    if symbology == "qr":
        mask = qr_mask(payload, 1)
        module = max(1, min(w, h) // mask.size[0])
        mask = qr_mask(payload, module)
    else:
        mask = linear_mask(symbology, payload, 1, 4)
        module = max(1, w // mask.size[0])
        mask = linear_mask(symbology, payload, module, h)
    if mask.size[0] > w * 1.05:
        mask = mask.resize((w, int(mask.size[1] * w / mask.size[0])), Image.Resampling.BOX)
    ox = x + (w - mask.size[0]) // 2
    oy = y + (h - mask.size[1]) // 2
    ImageDraw.Draw(img).rectangle((ox, oy, ox + mask.size[0] - 1, oy + mask.size[1] - 1), fill=paper + (255,))
    img.paste(Image.new("RGBA", mask.size, ink + (255,)), (ox, oy), mask)


def hole_and_string(img: Image.Image, rng: np.random.Generator, string: RGB) -> Image.Image:
    """A hang tag: a punched hole near the top edge and a string leaving it; returns a taller patch."""
    w, h = img.size
    extra = h // 3
    out = Image.new("RGBA", (w, h + extra), (0, 0, 0, 0))
    out.alpha_composite(img, (0, extra))
    d = ImageDraw.Draw(out)
    r = max(4, w // 18)
    cx, cy = w // 2, extra + r * 2
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0, 0, 0, 0))
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(200, 200, 190, 255), width=max(1, r // 3))
    end = (int(cx + rng.uniform(-w * 0.4, w * 0.4)), 0)
    d.line([(cx, cy), ((cx + end[0]) // 2, extra // 2), end], fill=string + (255,), width=max(2, w // 60))
    return out
