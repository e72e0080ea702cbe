"""Barcodes (Code 128, EAN-13) and QR codes of the clothing renderer, drawn as pixels.

Module patterns come from ``python-barcode`` and QR matrices from ``segno``, so zxing-cpp
decodes them. Part of :mod:`product_images.labels.development.clothing`.
"""

from __future__ import annotations

import barcode as _pybarcode
import numpy as np
import segno
from PIL import Image, ImageDraw

from .clothing_text import _draw_text, _fit_size


def _barcode_modules(kind: str, data: str) -> str:
    """Module string ('1' = bar) for ``kind`` in {"code128", "ean13"} (EAN: 12 digits, check added)."""
    cls = _pybarcode.get_barcode_class(kind)
    return cls(data, writer=None).build()[0]


def ean13_full(data12: str) -> str:
    """The 13-digit EAN for 12 digits (the check digit computed by python-barcode)."""
    return _pybarcode.get_barcode_class("ean13")(data12, writer=None).get_fullcode()


def _draw_barcode(
    kind: str, data: str, module: int, height: int, ink=(0, 0, 0), paper=(255, 255, 255), text: str | None = None
) -> Image.Image:
    """A 1-D barcode as an RGB image: ``module`` px per module, bars ``height`` px, 10-module quiet zones."""
    mods = _barcode_modules(kind, data)
    quiet = 10 * module
    text_h = int(module * 9) if text else 0
    img = Image.new("RGB", (len(mods) * module + 2 * quiet, height + text_h + module * 2), paper)
    d = ImageDraw.Draw(img)
    x = quiet
    for i, m in enumerate(mods):
        if m == "1":
            d.rectangle((x + i * module, module, x + (i + 1) * module - 1, module + height), fill=ink)
    if text:
        size = _fit_size(text, len(mods) * module, text_h * 0.85)
        _draw_text(d, (img.size[0] / 2, module * 2 + height), text, size, ink, anchor="ma")
    return img


def _draw_qr(payload: str, module: int, ink=(0, 0, 0), paper=(255, 255, 255)) -> Image.Image:
    """A QR code (error level M, 4-module quiet zone) as an RGB image, ``module`` px per module."""
    qr = segno.make_qr(payload, error="m")
    mat = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
    n = mat.shape[0]
    img = np.empty((n + 8, n + 8, 3), dtype=np.uint8)
    img[:] = paper
    img[4 : 4 + n, 4 : 4 + n][mat.astype(bool)] = ink
    return Image.fromarray(img).resize(((n + 8) * module, (n + 8) * module), Image.Resampling.NEAREST)


def _paste_code(tag: Image.Image, code_img: Image.Image, box: tuple[int, int, int, int]) -> None:
    """Scale ``code_img`` (integer factors keep modules crisp) into ``box`` of ``tag``, centred."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    f = min(bw / code_img.size[0], bh / code_img.size[1])
    if f >= 1:
        k = int(f)
        code_img = code_img.resize((code_img.size[0] * k, code_img.size[1] * k), Image.Resampling.NEAREST)
    else:
        code_img = code_img.resize(
            (max(1, int(code_img.size[0] * f)), max(1, int(code_img.size[1] * f))), Image.Resampling.LANCZOS
        )
    tag.paste(code_img, (x0 + (bw - code_img.size[0]) // 2, y0 + (bh - code_img.size[1]) // 2))
