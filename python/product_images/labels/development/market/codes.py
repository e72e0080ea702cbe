"""Machine-readable codes drawn on tags: Code 128, EAN-13 (python-barcode) and QR (segno).

All images are uint8 grey arrays (rows × cols, 0 = ink, 255 = paper) with a quiet zone.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import segno
from barcode import get_barcode_class

__all__ = ["barcode_image", "ean13_full", "qr_image"]


@lru_cache(maxsize=1024)
def _bits(symbology: str, data: str) -> tuple[str, str]:
    """Return (module string of '1' bars / '0' spaces, the human-readable text) for a code."""
    code = get_barcode_class(symbology)(data)
    bits = code.build()[0]
    return bits, code.get_fullcode()


def ean13_full(digits12: str) -> str:
    """Return the 13-digit EAN for 12 given digits (check digit appended)."""
    return _bits("ean13", digits12)[1]


def barcode_image(symbology: str, data: str, module_px: float, height_px: int, quiet: int = 10) -> np.ndarray:
    """Draw a 1-D barcode; ``symbology`` is "code128" or "ean13" (``data``: 12 digits).

    ``module_px`` is the narrow-bar width in pixels (rounded to a whole pixel, at least 1),
    ``height_px`` the bar height; ``quiet`` modules of white are left either side.
    Returns a uint8 grey image of height ``height_px``.
    """
    bits, _ = _bits(symbology, data)
    row = np.array([0 if b == "1" else 255 for b in bits], np.uint8)
    row = np.concatenate([np.full(quiet, 255, np.uint8), row, np.full(quiet, 255, np.uint8)])
    line = np.repeat(row, max(1, int(round(module_px))))
    return np.repeat(line[None, :], max(1, int(height_px)), axis=0)


@lru_cache(maxsize=256)
def _qr_matrix(data: str, error: str) -> np.ndarray:
    """The QR symbol of ``data`` as a bool array (True = dark module), without border."""
    return np.array(segno.make(data, error=error, micro=False).matrix, dtype=bool)


def qr_image(data: str, module_px: int, border: int = 2, error: str = "m") -> np.ndarray:
    """Draw a QR code; ``module_px`` pixels per module, ``border`` modules of white.

    Returns a uint8 grey square image ((n + 2·border)·module_px pixels a side).
    """
    m = _qr_matrix(data, error)
    m = np.pad(m, border, constant_values=False)
    img = np.where(m, 0, 255).astype(np.uint8)
    k = max(1, int(module_px))
    return np.repeat(np.repeat(img, k, axis=0), k, axis=1)
