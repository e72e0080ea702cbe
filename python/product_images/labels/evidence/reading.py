"""Stages 4–6: reading the text (RapidOCR), the second read (Tesseract, French), and their engines."""

from __future__ import annotations

import os

import cv2
import numpy as np
from PIL import Image

from product_images.labels.evidence.codes import _rotated_crop
from product_images.labels.evidence.records import (
    DEFAULT_TESSDATA,
    OCR_SIDE,
    SECOND_READ_SIDE,
    Evidence,
    OcrLine,
    has_strong_code,
)
from product_images.labels.native_stderr import filtered_stderr

# --------------------------------------------------------------------------- OCR


_OCR = None


def get_ocr():
    """The process's RapidOCR engine (created once; ONNX Runtime with 1 intra-op thread).

    The det model runs at most :data:`OCR_SIDE` px on the longest side ("max" limit),
    not the package default (shortest side >= 736 px, which upsizes small crops).
    """
    global _OCR
    if _OCR is None:
        from rapidocr_onnxruntime import RapidOCR

        _OCR = RapidOCR(
            intra_op_num_threads=1,
            inter_op_num_threads=1,
            det_limit_type="max",
            det_limit_side_len=OCR_SIDE,
        )
    return _OCR


def _ocr(rgb: np.ndarray, short_side: float | None = None) -> list[OcrLine]:
    """OCR lines of ``rgb``; ``rel_h`` is each line's height / ``short_side`` (px of ``rgb``'s scale)."""
    h, w = rgb.shape[:2]
    if min(h, w) < 16:
        return []
    f = 1.0
    if max(h, w) > OCR_SIDE:
        f = OCR_SIDE / max(h, w)
        rgb = cv2.resize(rgb, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
    elif max(h, w) < 480:  # small photos: give the detector/recogniser more pixels per glyph
        f = min(3.0, 480 / max(h, w))
        rgb = cv2.resize(rgb, (int(w * f), int(h * f)), interpolation=cv2.INTER_CUBIC)
    res, _ = get_ocr()(np.ascontiguousarray(rgb[:, :, ::-1]))
    ss = (short_side or min(h, w)) * f
    out = []
    for r in res or []:
        ys = [pt[1] for pt in r[0]]
        xs = [pt[0] for pt in r[0]]
        lh = min(max(ys) - min(ys), max(xs) - min(xs)) if len(r[1]) <= 2 else max(ys) - min(ys)
        out.append(OcrLine(str(r[1]), round(float(r[2]), 3), round(float(lh) / max(ss, 1.0), 4)))
    return out


class SecondReaderUnavailable(RuntimeError):
    """Tesseract's French trained data (``fra.traineddata``) was not found: the detector's
    evidence would differ from what its model was fitted on, so it does not run without it."""


_TESSERACT = None


def tessdata_dir() -> str:
    """Where Tesseract's trained data is read from: ``TESSDATA_PREFIX``, else :data:`DEFAULT_TESSDATA`."""
    return os.environ.get("TESSDATA_PREFIX") or DEFAULT_TESSDATA


def require_french_tessdata() -> str:
    """The folder holding Tesseract's French model ``fra.traineddata`` (:func:`tessdata_dir`).

    A file check only, cheap enough for a command's start (no engine is created).

    Raises:
        SecondReaderUnavailable: the file is not there; the message says what to install or set.
    """
    folder = tessdata_dir()
    if not os.path.isfile(os.path.join(folder, "fra.traineddata")):
        raise SecondReaderUnavailable(
            f"the price-tag detector needs Tesseract's French data: no fra.traineddata in {folder}; "
            "install it (Debian/Ubuntu: apt-get install tesseract-ocr-fra) or set TESSDATA_PREFIX "
            "to the folder that holds it"
        )
    return folder


def get_second_reader():
    """The process's Tesseract engine (French model, sparse text), created once.

    Raises:
        SecondReaderUnavailable: as :func:`require_french_tessdata`.
    """
    global _TESSERACT
    if _TESSERACT is None:
        folder = require_french_tessdata()
        import tesserocr

        _TESSERACT = tesserocr.PyTessBaseAPI(path=folder, lang="fra", psm=tesserocr.PSM.SPARSE_TEXT)
    return _TESSERACT


def wants_second_read(ev: Evidence) -> bool:
    """Whether the second read can change the decision: no Code 128 / QR decided, and the
    first read holds a digit (a price read without its "€"?) or the paper is kraft."""
    if has_strong_code(ev.codes):
        return False
    return any(ch.isdigit() for line in ev.lines for ch in line.text) or ev.kraft >= 0.5


def _second_read(rgb: np.ndarray, angle: float) -> str:
    """Tesseract's lines of ``rgb`` (resized to :data:`SECOND_READ_SIDE`, straightened when
    tilted over 8°), joined by " | "."""
    h, w = rgb.shape[:2]
    if min(h, w) < 16:
        return ""
    f = SECOND_READ_SIDE / max(h, w)
    size = (max(1, int(w * f)), max(1, int(h * f)))
    img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if abs(angle) > 8:
        grey = _rotated_crop(grey, (0, 0, grey.shape[1], grey.shape[0]), angle)
    reader = get_second_reader()
    with filtered_stderr():  # Leptonica's "Error in boxClipToRectangle" lines are noise
        reader.SetImage(Image.fromarray(grey))
        text = reader.GetUTF8Text()
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())
