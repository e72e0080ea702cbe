"""Stage 3: barcodes and QR codes, with zxing-cpp, on the whole photo and on crops of its text region."""

from __future__ import annotations

import cv2
import numpy as np

from product_images.labels.evidence.records import Code

# --------------------------------------------------------------------------- codes


def _zxing(grey: np.ndarray) -> list[Code]:
    import zxingcpp  # imported lazily: keeps module import cheap

    out = []
    for r in zxingcpp.read_barcodes(grey):
        fmt = str(r.format).split(".")[-1]
        out.append(Code(fmt, r.text))
    return out


def _padded_crop(image: np.ndarray, box: tuple[int, int, int, int], share: float, extra: int) -> np.ndarray:
    """``image[box]`` widened on each side by ``share`` of the box's size plus ``extra`` px,
    clipped to the image (``box`` = (x0, y0, x1, y1) in px of ``image``)."""
    x0, y0, x1, y1 = box
    H, W = image.shape[:2]
    px, py = int((x1 - x0) * share) + extra, int((y1 - y0) * share) + extra
    return image[max(0, y0 - py) : min(H, y1 + py), max(0, x0 - px) : min(W, x1 + px)]


def _rotated_crop(grey: np.ndarray, box: tuple[int, int, int, int], angle: float) -> np.ndarray:
    """The ``box`` of ``grey`` (padded 15%) rotated so that a gradient at ``angle``° becomes horizontal."""
    x0, y0, x1, y1 = box
    pw, ph = int((x1 - x0) * 0.15) + 8, int((y1 - y0) * 0.15) + 8
    H, W = grey.shape
    crop = grey[max(0, y0 - ph) : min(H, y1 + ph), max(0, x0 - pw) : min(W, x1 + pw)]
    ch, cw = crop.shape
    M = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
    cos, sin = abs(M[0, 0]), abs(M[0, 1])
    nw, nh = int(ch * sin + cw * cos), int(ch * cos + cw * sin)
    M[0, 2] += nw / 2 - cw / 2
    M[1, 2] += nh / 2 - ch / 2
    return cv2.warpAffine(crop, M, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)
