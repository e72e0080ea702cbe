"""Barcodes and QR codes of the atelier renderer, drawn as crisp greyscale PIL images.

Bar patterns come from python-barcode's ``build()`` (Code 128, EAN-13), QR matrices from
segno; every image is mode "L" (0 = ink, 255 = paper) with a quiet zone, sized in pixels.
"""

from __future__ import annotations

import barcode
import numpy as np
import segno
from PIL import Image, ImageDraw

from .fonts import font

__all__ = ["code128", "ean13_img", "qr"]


def _bars(pattern: str, module: int, height: int, quiet: int) -> np.ndarray:
    """A (height, width) uint8 array of ``pattern`` ('1' = bar) with ``quiet`` modules each side."""
    row = np.array([0 if c == "1" else 255 for c in pattern], np.uint8)
    row = np.concatenate([np.full(quiet, 255, np.uint8), row, np.full(quiet, 255, np.uint8)])
    return np.repeat(np.tile(row, (height, 1)), module, axis=1)


def code128(data: str, module: int = 3, height: int = 90, text: bool = True, text_font: str = "mono") -> Image.Image:
    """Code 128 of ``data`` (bars ``module`` px wide, ``height`` px tall), the text under it when ``text``."""
    pattern = barcode.get("code128", data).build()[0]
    arr = _bars(pattern, module, height, 10)
    img = Image.fromarray(arr, "L")
    if not text:
        return img
    f = font(text_font, max(10, int(height * 0.28)))
    out = Image.new("L", (img.width, height + int(height * 0.36)), 255)
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((out.width // 2, height + 2), data, font=f, fill=0, anchor="mt")
    return out


def ean13_img(digits: str, module: int = 3, height: int = 90, text_font: str = "mono") -> Image.Image:
    """EAN-13 of 13 ``digits`` (guard bars longer, digits printed under it), about 113 modules wide."""
    pattern = barcode.get("ean13", digits[:12]).build()[0]
    quiet = 11
    arr = _bars(pattern, module, height + height // 8, quiet)
    short = np.ones(len(pattern) + 2 * quiet, bool)
    for s, e in ((0, 3), (45, 50), (92, 95)):
        short[quiet + s : quiet + e] = False
    mask = np.repeat(short, module)
    arr[height:, mask] = 255
    img = Image.fromarray(arr, "L")
    d = ImageDraw.Draw(img)
    f = font(text_font, max(10, int(height * 0.2)))
    y = height + 1
    d.text(((quiet - 7) * module, y), digits[0], font=f, fill=0)
    d.text(((quiet + 24) * module, y), digits[1:7], font=f, fill=0, anchor="mt")
    d.text(((quiet + 71) * module, y), digits[7:13], font=f, fill=0, anchor="mt")
    return img


def qr(data: str, module: int = 6) -> Image.Image:
    """QR code of ``data`` (error level M) with a 3-module quiet zone, ``module`` px per module."""
    code = segno.make(data, error="m", micro=False)
    m = np.array([[0 if v else 255 for v in row] for row in code.matrix], np.uint8)
    m = np.pad(m, 3, constant_values=255)
    return Image.fromarray(np.repeat(np.repeat(m, module, 0), module, 1), "L")
