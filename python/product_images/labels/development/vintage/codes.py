"""Machine-readable codes drawn as pixel arrays: EAN-13, Code 128 and QR.

Bars and modules come from python-barcode and segno (real, decodable codes); this module
only turns them into ``uint8`` arrays (0 = ink, 255 = paper) with a quiet zone, at an integer
number of pixels per module so that a phone photo of the tag still decodes.
"""

from __future__ import annotations

import barcode
import numpy as np
import segno

__all__ = ["ean13_check_digit", "ean13_full", "linear_modules", "qr_modules", "render_modules"]


def ean13_check_digit(digits12: str) -> int:
    """The EAN-13 check digit of 12 digits (weights 1, 3, 1, 3… from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return (10 - total % 10) % 10


def ean13_full(digits12: str) -> str:
    """The 13-digit EAN of 12 digits (the check digit appended)."""
    return digits12 + str(ean13_check_digit(digits12))


def linear_modules(symbology: str, payload: str) -> np.ndarray:
    """The bars of ``payload`` (``"ean13"``: 12 or 13 digits, ``"code128"``: ASCII) as a bool row (True = bar)."""
    if symbology == "ean13":
        code = barcode.EAN13(payload[:12])
    elif symbology == "code128":
        code = barcode.Code128(payload)
    else:
        raise ValueError(f"unknown linear symbology {symbology!r}")
    row = code.build()[0]
    return np.frombuffer(row.encode("ascii"), dtype=np.uint8) == ord("1")


def qr_modules(payload: str) -> np.ndarray:
    """The QR code of ``payload`` (error correction M) as a square bool matrix (True = dark module)."""
    qr = segno.make_qr(payload, error="m")
    return np.array([list(row) for row in qr.matrix], dtype=bool)


def render_modules(modules: np.ndarray, module_px: int, bar_height_px: int = 0, quiet: int = 10) -> np.ndarray:
    """A grey ``uint8`` image of modules: a 1-D row becomes bars ``bar_height_px`` tall, a 2-D matrix a QR.

    ``module_px`` pixels per module; ``quiet`` modules of white margin on every side
    (linear codes keep a small top/bottom margin instead).  Output shape: (height, width).
    """
    px = max(1, int(module_px))
    if modules.ndim == 1:
        row = np.repeat(np.where(modules, 0, 255).astype(np.uint8), px)
        row = np.pad(row, quiet * px, constant_values=255)
        img = np.tile(row, (max(8, bar_height_px), 1))
        return np.pad(img, ((px * 2, px * 2), (0, 0)), constant_values=255)
    grid = np.where(modules, 0, 255).astype(np.uint8)
    img = np.kron(grid, np.ones((px, px), dtype=np.uint8))
    return np.pad(img, quiet * px // 2 + px, constant_values=255)
