"""Barcodes and QR codes drawn as real, decodable symbols.

EAN-13 and Code 128 module patterns come from python-barcode, QR matrices from segno; they are
drawn here as black-on-transparent PIL images (``"L"`` masks: 255 = ink) at an integer module
width in pixels, with the quiet zones the symbologies need.
"""

from __future__ import annotations

import barcode
import numpy as np
import segno
from PIL import Image

__all__ = ["ean13_full", "linear_mask", "qr_mask"]


def ean13_full(first12: str) -> str:
    """The 13-digit EAN of 12 digits ``first12`` (its check digit appended)."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"an EAN-13 needs 12 digits before its check digit, not {first12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def _linear_pattern(symbology: str, payload: str) -> str:
    """The module string (``"1"`` = bar) of ``payload`` in ``symbology`` (``"ean13"`` or ``"code128"``)."""
    code = barcode.get(symbology, payload)
    return "".join(code.build())


def linear_mask(symbology: str, payload: str, module_px: int, height_px: int) -> Image.Image:
    """An ``"L"`` mask (255 = bar) of a linear barcode, quiet zones included.

    Width = (modules + 2 * 10) * ``module_px`` pixels, height = ``height_px`` pixels.
    """
    pattern = _linear_pattern(symbology, payload)
    quiet = 10
    bars = np.array([c == "1" for c in pattern], dtype=np.uint8) * 255
    row = np.concatenate([np.zeros(quiet, np.uint8), bars, np.zeros(quiet, np.uint8)])
    row = np.repeat(row, max(1, module_px))
    mask = np.repeat(row[None, :], max(4, height_px), axis=0)
    return Image.fromarray(mask, "L")


def qr_mask(payload: str, module_px: int) -> Image.Image:
    """An ``"L"`` mask (255 = dark module) of a QR code of ``payload``, with a 2-module quiet zone."""
    qr = segno.make(payload, error="m", micro=False)
    matrix = np.array([list(r) for r in qr.matrix], dtype=np.uint8) * 255
    matrix = np.pad(matrix, 2)
    big = np.kron(matrix, np.ones((max(1, module_px), max(1, module_px)), np.uint8))
    return Image.fromarray(big, "L")
