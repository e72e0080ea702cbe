"""Per-photo evidence for the price-tag ("label") detector: cheap cues first, OCR last.

Pipeline for one photo (encoded bytes in, :class:`Evidence` out):

1. **Decode** with Pillow, asking libjpeg for a reduced scale (``Image.draft``) so the
   result is about :data:`DECODE_SIDE` px on its longest side (2048 → 1024, 1600 → 800,
   small photos at full size). Only non-JPEG input is decoded at full size and shrunk.
2. **Visual cues** on a :data:`VISUAL_SIDE`-px grey/colour copy (~3–6 ms): dark-on-light
   and light-on-dark stroke blobs (black-hat / top-hat morphology) sorted into
   character-like and bar-like blobs, the densest text region and its paper colour
   (bright? kraft brown? saturated sticker colour?), gradient-coherent blocks (1-D
   barcode texture, any angle), the paper object around the region (area, fill,
   circularity, border contact) and glyph sizes, a 4×4×4 colour histogram for context.
3. **Codes** (zxing-cpp) on the ~1000 px grey image, only when stage 2 saw strokes or
   bar texture; when bar texture was seen but nothing decoded, once more on the
   region crop rotated so that the bars stand upright (zxing reads 1-D codes along
   rows: a tag photographed 15–35° off fails without this).
   Photos decoded under 900 px get one more try on the region upscaled 2–3×.
4. **OCR** (RapidOCR, PP-OCRv4 det + rec, ONNX Runtime, one thread) on the text region
   crop only — widened to the compact paper object holding it (a hang tag's handwritten
   price sits apart from its printed name) — at most :data:`OCR_SIDE` px, and only when
   stage 2 found a text region (3+ character blobs, or 1+ with a glyph >= 6 % of the
   short side) and stage 3 found no Code 128 / QR (those alone decide). Text cues never depend on
   reading "€" (the recogniser's dictionary has no € or £: "38 €" reads "381" or "38",
   "5€" reads "5" or "5C").
5. **Second read** (Tesseract 5 with its French model, through tesserocr) of the same
   crop at :data:`SECOND_READ_SIDE` px, when the first read holds a digit or the paper
   is kraft, and no Code 128 / QR decided: Tesseract reads "€" (about half the time on
   a tag), which tells a "12 €" sticker from a size "12" or a tee's "12".
6. **Glyph region**: big glyphs (at least :data:`GLYPH_REGION_SIDE` of the short side)
   outside the text region, e.g. a hang tag's large "5 €" beside a knit whose texture
   outnumbers its strokes, are read too (both recognisers), when no Code 128 / QR decided.

Everything is measured in pixels of the *original* photo unless said otherwise;
timings in milliseconds of process CPU time. :func:`extract` is the entry point;
:func:`product_context` adds the "unlike the product's other photos" cue.

One module per stage: ``records`` (what the evidence holds), ``visual`` (stages 1–2),
``codes`` (3), ``reading`` (4–6), ``cues`` (what the text read means), ``context`` (how a
photo stands among its product's others); this module runs them.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from product_images.labels.evidence.codes import _padded_crop, _rotated_crop, _zxing
from product_images.labels.evidence.context import product_context
from product_images.labels.evidence.cues import shape_of, text_cues
from product_images.labels.evidence.reading import (
    SecondReaderUnavailable,
    _ocr,
    _second_read,
    get_ocr,
    get_second_reader,
    require_french_tessdata,
    wants_second_read,
)
from product_images.labels.evidence.records import (
    DECODE_SIDE,
    OCR_SIDE,
    VISUAL_SIDE,
    Code,
    DecodeError,
    Evidence,
    OcrLine,
    has_strong_code,
    instore_qr_payload,
    settles_the_tag,
)
from product_images.labels.evidence.visual import _decode, _normalise_exposure, _visual

__all__ = [
    "EVIDENCE_VERSION",
    "DECODE_SIDE",
    "VISUAL_SIDE",
    "OCR_SIDE",
    "Code",
    "OcrLine",
    "Evidence",
    "DecodeError",
    "extract",
    "product_context",
    "text_cues",
    "get_ocr",
    "get_second_reader",
    "has_strong_code",
    "instore_qr_payload",
    "settles_the_tag",
    "require_french_tessdata",
    "SecondReaderUnavailable",
    "shape_of",
]


cv2.setNumThreads(1)

#: What the evidence measures and what its text cues mean, as one name: part of the detector's
#: version (:meth:`product_images.labels.scoring.Model.version`), so a change here makes
#: ``labels detect`` extract every photo's evidence again rather than mix old and new cues.
#: 2: two size systems read ("EUR", "UK", "US") make a size chart, and its "EUR" no price word.
#: 3: a QR code counts as the shop's own (cue ``qr_instore``, and no text read after it) only when its
#: payload is a stock number or stock fields, not a web address or a contact card.
EVIDENCE_VERSION = "evidence-3"


# --------------------------------------------------------------------------- entry points


def extract(data: bytes, *, ocr: bool | None = None) -> Evidence:
    """Measure one photo.

    Args:
        data: the encoded image (JPEG expected; PNG/WebP… work, decoded at full size).
        ocr: True = always OCR the text region (or the whole photo when none), False =
            never, None (default) = only when it can change the decision: a text region
            exists and no Code 128 / QR code was decoded.

    Returns:
        An :class:`Evidence` without product context (see :func:`product_context`).

    Raises:
        DecodeError: the bytes are not a decodable image.

    Cost (2 GHz-class core): ~10–20 ms without OCR, +100–400 ms when OCR runs.
    """
    ev = Evidence(n_bytes=len(data))
    t0 = time.process_time()
    rgb = _decoded(data, ev)
    t1 = time.process_time()
    region, angle = _visual(rgb, ev)
    t2 = time.process_time()
    if ev.char_blobs >= 3 or ev.bar_blobs >= 4 or ev.code_blocks >= 2:
        _read_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), region, angle, ev)
    t3 = time.process_time()
    settled = settles_the_tag(ev.codes)
    if _wants_ocr(ocr, region, settled, ev):
        _read_text(rgb, region, angle, ev)
    if ev.glyph_region is not None and not settled:
        _read_glyphs(rgb, ev.glyph_region, angle, ev)
    t4 = time.process_time()
    ev.cues = text_cues(
        list(ev.lines) + list(ev.glyph_lines),
        ev.codes,
        " | ".join(text for text in (ev.second_read, ev.glyph_second_read) if text),
    )
    ev.ms = {
        "decode": round((t1 - t0) * 1000, 2),
        "visual": round((t2 - t1) * 1000, 2),
        "codes": round((t3 - t2) * 1000, 2),
        "ocr": round((t4 - t3) * 1000, 2),
    }
    return ev


# --------------------------------------------------------------------------- the steps of extract


def _decoded(data: bytes, ev: Evidence) -> np.ndarray:
    """Stage 1: the photo as an RGB array of about :data:`DECODE_SIDE` px, brightened when under-exposed;
    fills ``ev``'s size and decoding fields. Raises :class:`DecodeError`."""
    im, ev.width, ev.height = _decode(data, DECODE_SIDE)
    rgb = np.asarray(im)
    ev.decoded_side = max(rgb.shape[:2])
    ev.decoded_pixels = int(rgb.shape[0] * rgb.shape[1])
    rgb, ev.exposure_gain = _normalise_exposure(rgb)
    return rgb


def _read_codes(grey: np.ndarray, region: tuple[int, int, int, int] | None, angle: float, ev: Evidence) -> None:
    """Stage 3: fill ``ev.codes`` / ``ev.code_stage``: the whole grey photo, then the region
    turned so that its bars stand upright, then (small photos) the region upscaled."""
    ev.codes = _zxing(grey)
    if ev.codes:
        ev.code_stage = "full"
    elif ev.code_blocks >= 2 and region is not None and abs(angle) > 8:
        rot = _rotated_crop(grey, region, angle)
        ev.codes = _zxing(rot)
        ev.code_stage = "rotated" if ev.codes else ""
    if not ev.codes and region is not None and ev.decoded_side < 900 and (ev.code_blocks >= 1 or ev.bar_blobs >= 4):
        _read_upscaled_codes(grey, region, angle, ev)


def _read_upscaled_codes(grey: np.ndarray, region: tuple[int, int, int, int], angle: float, ev: Evidence) -> None:
    """Small photos: too few pixels per module; zxing reads more on a 2-3x upscaled crop of the region."""
    crop = _padded_crop(grey, region, 0.15, 4)
    if not crop.size:
        return
    f = min(3.0, 1100 / max(crop.shape))
    if f > 1.2:
        up = cv2.resize(crop, (int(crop.shape[1] * f), int(crop.shape[0] * f)), interpolation=cv2.INTER_CUBIC)
        ev.codes = _zxing(up)
        if not ev.codes and abs(angle) > 8:
            ev.codes = _zxing(_rotated_crop(up, (0, 0, up.shape[1], up.shape[0]), angle))
        ev.code_stage = "upscaled" if ev.codes else ""


def _wants_ocr(ocr: bool | None, region: tuple[int, int, int, int] | None, settled: bool, ev: Evidence) -> bool:
    """Whether stage 4 runs: as ``ocr`` says, or (None) when a text region exists (3+ character
    blobs, or 1+ with a glyph >= 6 % of the short side) and no code settled the tag
    (:func:`settles_the_tag`: a Code 128, a QR code of a stock number)."""
    if ocr is not None:
        return ocr
    return (
        region is not None and (ev.region_chars >= 3 or (ev.region_chars >= 1 and ev.big_glyph >= 0.06)) and not settled
    )


def _ocr_crop(rgb: np.ndarray, region: tuple[int, int, int, int] | None, ev: Evidence) -> np.ndarray:
    """What OCR reads: the text region (widened to its compact paper object) with a margin, or the whole photo."""
    if region is None:
        return rgb
    x0, y0, x1, y1 = region
    H, W = rgb.shape[:2]
    bb = ev.blob_box
    if bb is not None and not ev.blob_border and 0.005 < ev.blob_frac < 0.5:
        # the whole paper object (a hang tag's handwritten price may sit apart from its printed name)
        x0, y0 = min(x0, int(bb[0] * W)), min(y0, int(bb[1] * H))
        x1, y1 = max(x1, int(bb[2] * W)), max(y1, int(bb[3] * H))
    return _padded_crop(rgb, (x0, y0, x1, y1), 0.1, 6)


def _read_text(rgb: np.ndarray, region: tuple[int, int, int, int] | None, angle: float, ev: Evidence) -> None:
    """Stages 4–5: fill ``ev.lines`` / ``ev.ocr_ran``, and ``ev.second_read`` when :func:`wants_second_read`."""
    crop = _ocr_crop(rgb, region, ev)
    ev.lines = _ocr(crop, float(min(rgb.shape[:2])))
    ev.ocr_ran = True
    if wants_second_read(ev):
        ev.second_read = _second_read(crop, angle)


def _read_glyphs(rgb: np.ndarray, glyph_region: tuple[float, float, float, float], angle: float, ev: Evidence) -> None:
    """Stage 6: fill ``ev.glyph_lines`` / ``ev.glyph_second_read``: both recognisers on the glyph region."""
    H, W = rgb.shape[:2]
    gx0, gy0, gx1, gy1 = glyph_region
    glyphs = _padded_crop(rgb, (int(gx0 * W), int(gy0 * H), int(gx1 * W), int(gy1 * H)), 0.1, 6)
    ev.glyph_lines = _ocr(glyphs, float(min(rgb.shape[:2])))
    ev.glyph_second_read = _second_read(glyphs, angle)
