"""Barcode and QR-code bitmaps of the ``thrift`` renderer (EAN-13, Code 128, QR).

Each function returns a float32 mask (h, w) in 0–1 where 1 is a dark module, drawn
with exact module widths and the quiet zones the symbology needs.
"""

from __future__ import annotations

import barcode
import cv2
import numpy as np
import segno

__all__ = ["barcode_mask", "qr_mask"]


def _modules(symbology: str, payload: str) -> str:
    """Return the bar modules of ``payload`` as a '0'/'1' string (EAN-13 or Code 128)."""
    if symbology == "ean13":
        code = barcode.get("ean13", payload[:12])
        if code.get_fullcode() != payload:
            raise ValueError(f"bad EAN-13 check digit in {payload!r}")
    else:
        code = barcode.get("code128", payload)
    return "".join(code.build())


def barcode_mask(symbology: str, payload: str, width_px: int, height_px: int) -> tuple[np.ndarray, float]:
    """Return (mask (height_px, width_px), module width px) of a barcode with quiet zones.

    ``width_px`` is the whole width including quiet zones (10 modules each side).
    """
    mods = np.frombuffer(_modules(symbology, payload).encode(), np.uint8) - ord("0")
    quiet = 10
    row = np.concatenate([np.zeros(quiet, np.uint8), mods, np.zeros(quiet, np.uint8)]).astype(np.float32)
    scale = 8
    fine = np.repeat(row, scale)[None, :]
    line = cv2.resize(fine, (width_px, 1), interpolation=cv2.INTER_AREA)
    return np.repeat(line, height_px, axis=0), width_px / len(row)


def qr_mask(payload: str, size_px: int) -> np.ndarray:
    """Return the mask (size_px, size_px) of a QR code of ``payload`` with a 2-module border."""
    qr = segno.make(payload, error="m", micro=False)
    mat = np.array(qr.matrix, np.float32)
    mat = np.pad(mat, 2)
    n = mat.shape[0]
    scale = max(1, int(np.ceil(size_px * 2 / n)))
    big = np.kron(mat, np.ones((scale, scale), np.float32))
    return cv2.resize(big, (size_px, size_px), interpolation=cv2.INTER_AREA)
