"""Barcodes (EAN-13, Code 128) and QR codes drawn as crisp greyscale PIL images.

Every function returns a PIL image of mode ``"L"`` (0 = ink, 255 = paper), sized in
whole modules so the code stays decodable; the caller scales and warps it.
"""

from __future__ import annotations

import barcode
import segno
from PIL import Image, ImageDraw

from .fonts import load_font

__all__ = ["ean13_digits", "draw_ean13", "draw_code128", "draw_qr"]


def ean13_digits(first12: str) -> str:
    """Return the 13-digit EAN for ``first12`` (12 digits), its check digit appended."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def _bars(pattern: str, module: int, height: int, quiet: int) -> Image.Image:
    """Draw a '1'/'0' module ``pattern``: (height) x (len*module + 2*quiet*module) px."""
    width = (len(pattern) + 2 * quiet) * module
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    x = quiet * module
    for bit in pattern:
        if bit == "1":
            draw.rectangle([x, 0, x + module - 1, height - 1], fill=0)
        x += module
    return img


def draw_ean13(first12: str, module: int = 3, height: int = 80, digits: bool = True) -> Image.Image:
    """Draw the EAN-13 of ``first12`` (12 digits; check digit added).

    Output: L image, width (95 + 22) * module px, height ``height`` (+ digit row).
    """
    code = barcode.get("ean13", first12)
    pattern = code.build()[0]
    bars = _bars(pattern, module, height, 11)
    if not digits:
        return bars
    full = ean13_digits(first12)
    font = load_font("dv_mono", int(module * 9))
    text_h = int(module * 10)
    img = Image.new("L", (bars.width, height + text_h), 255)
    img.paste(bars, (0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle([14 * module, height - module * 5, 56 * module - 1, height + text_h], fill=255)
    draw.rectangle([61 * module, height - module * 5, 103 * module - 1, height + text_h], fill=255)
    y = height - module * 4
    draw.text((3 * module, y), full[0], font=font, fill=0)
    draw.text((16 * module, y), " ".join(full[1:7]), font=font, fill=0)
    draw.text((63 * module, y), " ".join(full[7:]), font=font, fill=0)
    return img


def draw_code128(payload: str, module: int = 2, height: int = 60) -> Image.Image:
    """Draw the Code 128 of ``payload`` (ASCII). Output: L image, (n + 20) * module wide."""
    code = barcode.get("code128", payload)
    pattern = code.build()[0]
    return _bars(pattern, module, height, 10)


def draw_qr(payload: str, module: int = 4) -> Image.Image:
    """Draw the QR code of ``payload`` with a 2-module quiet zone. Output: square L image."""
    qr = segno.make(payload, error="m")
    rows = list(qr.matrix_iter(scale=1, border=2))
    side = len(rows)
    img = Image.new("L", (side, side), 255)
    img.putdata([0 if bit else 255 for row in rows for bit in row])
    return img.resize((side * module, side * module), Image.Resampling.NEAREST)
