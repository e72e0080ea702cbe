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
"""

from __future__ import annotations

import io
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from product_images.labels.native_stderr import filtered_stderr

__all__ = [
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
    "require_french_tessdata",
    "SecondReaderUnavailable",
    "shape_of",
]

#: Target longest side (px) of the decoded image used for zxing and as OCR source.
DECODE_SIDE = 1000
#: Longest side (px) of the copy used for the cheap visual cues.
VISUAL_SIDE = 512
#: Largest side (px) of the crop handed to OCR (text detector runs at this size at most).
OCR_SIDE = 960
#: Longest side (px) of the crop handed to the second read (Tesseract).
SECOND_READ_SIDE = 640
#: A glyph at least this tall (fraction of the visual copy's shorter side) outside the text region is read too.
GLYPH_REGION_SIDE = 0.06
#: Where Tesseract's trained data is looked for when ``TESSDATA_PREFIX`` is unset (Debian's tesseract-ocr-fra).
DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"

cv2.setNumThreads(1)


class DecodeError(ValueError):
    """The bytes are not a decodable image (empty, truncated, not an image format)."""


@dataclass
class Code:
    """A decoded barcode/QR: zxing ``format`` name ("Code128", "EAN13", "QRCode"…) and ``text``."""

    format: str
    text: str


def has_strong_code(codes: Sequence[Code]) -> bool:
    """Whether a Code 128 or a QR code is among ``codes``: internal tags print them, retail
    tags and shoe boxes print EAN-13 (in the measurements behind the detector, a decoded
    Code 128 or QR never was a false positive)."""
    return any(("128" in c.format) or ("QR" in c.format.upper()) for c in codes)


@dataclass
class OcrLine:
    """One OCR text line: ``text``, recogniser confidence ``conf`` in [0, 1] and ``rel_h``,
    the line's height as a fraction of the photo's shorter side (0 when unknown)."""

    text: str
    conf: float
    rel_h: float = 0.0


@dataclass
class Evidence:
    """What one photo shows, as measured (JSON-serialisable through :meth:`to_json`).

    Size/decoding:
        width, height: original size in px; n_bytes: encoded size in bytes;
        decoded_side: longest side (px) actually decoded; decoded_pixels: pixels decoded;
        exposure_gain: the gain (1–3) an under-exposed photo was brightened by before any
            cue was measured (:func:`_normalise_exposure`; 1 = as taken).
    Visual (fractions are of the visual copy's area unless said otherwise):
        char_blobs: character-like stroke blobs; bar_blobs: thin upright bar blobs;
        code_blocks: 16×16-px blocks (at VISUAL_SIDE) with strong, coherent gradients;
        region: text region (x0, y0, x1, y1) as fractions of width/height, or None;
        region_frac: its area fraction; region_chars: char blobs inside it;
        paper_rgb: median colour of the region's background (its "paper");
        paper_light, paper_sat: its lightness (0–255) and saturation (0–1);
        kraft: 1.0 when the paper looks like kraft card, else a soft 0–1 degree;
        paper_contrast: colour distance (0–441) between the paper and the whole photo's median;
        edge_density: fraction of visual pixels on a strong edge;
        colourfulness: Hasler–Süsstrunk colourfulness of the photo;
        big_glyph: height of the region's tallest character blob / the photo's shorter side;
        n_big_glyphs: character blobs in the region at least half that tall;
        blob_frac, blob_fill, blob_circ, blob_border, blob_sat: the "paper" object holding the
            region (pixels close to the paper colour, text holes closed): its area fraction,
            area / bounding-box area, circularity 4πA/P², 1 when it touches the photo's border,
            and the paper's saturation × its contrast to the photo (a coloured sticker on a table);
        blob_box: that object's box (x0, y0, x1, y1) as fractions of width/height, or None;
        hist: 64-bin colour histogram (sums to 1).
    Codes:
        codes: decoded codes; code_stage: "" (none), "full", "rotated" or "upscaled".
    OCR:
        ocr_ran: OCR was run; lines: its lines.
        second_read: Tesseract's lines of the same crop joined by " | " ("" when it did not run:
            see :func:`wants_second_read`).
        glyph_region: big glyphs outside the text region (x0, y0, x1, y1) as fractions, or None;
        glyph_lines, glyph_second_read: what the two recognisers read there.
    Text cues (see :func:`text_cues`): cues: dict of named 0/1 or count features.
    Context (filled by :func:`product_context`): context_dist: colour-histogram distance
        (0–1) to the product's other photos (0 when alone); context_rank: 1 when this
        photo is the product's most unlike photo; context_other_strong: 1 when ANOTHER photo
        of the product has a decoded Code 128 / QR code; context_other_texty: how many other
        photos hold a text region with 3+ character blobs.
    Timings: ms: CPU milliseconds per stage ("decode", "visual", "codes", "ocr").
    """

    width: int = 0
    height: int = 0
    n_bytes: int = 0
    decoded_side: int = 0
    decoded_pixels: int = 0
    exposure_gain: float = 1.0
    char_blobs: int = 0
    bar_blobs: int = 0
    code_blocks: int = 0
    region: tuple[float, float, float, float] | None = None
    region_frac: float = 0.0
    region_chars: int = 0
    paper_rgb: tuple[int, int, int] = (0, 0, 0)
    paper_light: float = 0.0
    paper_sat: float = 0.0
    kraft: float = 0.0
    paper_contrast: float = 0.0
    edge_density: float = 0.0
    colourfulness: float = 0.0
    big_glyph: float = 0.0
    n_big_glyphs: int = 0
    blob_frac: float = 0.0
    blob_fill: float = 0.0
    blob_circ: float = 0.0
    blob_border: int = 0
    blob_sat: float = 0.0
    blob_box: tuple[float, float, float, float] | None = None
    hist: list[float] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    code_stage: str = ""
    ocr_ran: bool = False
    lines: list[OcrLine] = field(default_factory=list)
    second_read: str = ""
    glyph_region: tuple[float, float, float, float] | None = None
    glyph_lines: list[OcrLine] = field(default_factory=list)
    glyph_second_read: str = ""
    cues: dict[str, float] = field(default_factory=dict)
    context_dist: float = 0.0
    context_rank: int = 0
    context_other_strong: int = 0
    context_other_texty: int = 0
    ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """All OCR lines joined by " | "."""
        return " | ".join(line.text for line in self.lines)

    def to_json(self, with_hist: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (the histogram left out unless ``with_hist``)."""
        d = asdict(self)
        if not with_hist:
            d.pop("hist")
        return d


# --------------------------------------------------------------------------- decode


def _decode(data: bytes, side: int) -> tuple[Image.Image, int, int]:
    """Decode ``data`` to RGB, reduced by libjpeg's DCT scaling to >= ``side`` px where possible.

    Returns (image, original width, original height).

    Raises:
        DecodeError: when Pillow cannot identify or decode the bytes.
    """
    if not data:
        raise DecodeError("empty object")
    try:
        im: Image.Image = Image.open(io.BytesIO(data))
        w, h = im.size
        if im.format == "JPEG":
            d = 1
            while d < 8 and max(w, h) / (d * 2) >= side * 0.75:
                d *= 2
            im.draft("RGB", (-(-w // d), -(-h // d)))  # libjpeg DCT scaling by 1/d
        im = im.convert("RGB")
    except Exception as exc:  # PIL raises many types (UnidentifiedImageError, OSError, SyntaxError…)
        raise DecodeError(str(exc)) from exc
    if max(im.size) > side * 1.3:
        im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return im, w, h


# --------------------------------------------------------------------------- visual

#: An under-exposed photo (its 99th luma percentile below this) is brightened first.
EXPOSURE_TARGET = 200.0
#: The largest gain: more would mostly amplify sensor noise.
EXPOSURE_MAX_GAIN = 3.0


def _normalise_exposure(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """(photo, gain): an under-exposed photo scaled so its 99th luma percentile reaches :data:`EXPOSURE_TARGET`.

    A tag shot in low light keeps its colours' ratios but loses stroke contrast (the
    stroke masks use fixed thresholds) and its kraft lightness; a linear gain, as a
    camera's exposure compensation would apply, gives both back. Photos already exposed
    (the 99th percentile at or above the target) are returned unchanged with gain 1.
    """
    lum = cv2.cvtColor(rgb[::4, ::4], cv2.COLOR_RGB2GRAY)
    high = float(np.percentile(lum, 99)) if lum.size else 255.0
    if high >= EXPOSURE_TARGET or high <= 0:
        return rgb, 1.0
    gain = min(EXPOSURE_MAX_GAIN, EXPOSURE_TARGET / high)
    return cv2.convertScaleAbs(rgb, alpha=gain), round(gain, 3)


_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))


def _blobs(bin_img: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Character-like and bar-like components of a binary stroke mask.

    Returns (chars, bars): arrays of [x, y, w, h] rows in visual-copy pixels.
    """
    n, _, stats, _ = cv2.connectedComponentsWithStats(bin_img, connectivity=8)
    if n <= 1:
        e = np.zeros((0, 4), int)
        return e, e
    s = stats[1:]
    _x, _y, w, h, a = s[:, 0], s[:, 1], s[:, 2], s[:, 3], s[:, 4]
    fill = a / np.maximum(w * h, 1)
    chars = (h >= 5) & (h <= H * 0.2) & (w >= 2) & (w <= h * 2.5) & (a >= 10) & (fill > 0.12) & (fill < 0.95)
    bars = (h >= 10) & (h <= H * 0.3) & (w <= 6) & (h >= 4 * w)
    return s[chars, :4], s[bars, :4]


def _paper_blob(small: np.ndarray, paper: np.ndarray, box: tuple[int, int, int, int], ev: Evidence) -> None:
    """Fill ``ev.blob_*``: the connected object of paper-coloured pixels around ``box``."""
    H0, W0 = small.shape[:2]
    small = cv2.resize(small, (max(1, W0 // 2), max(1, H0 // 2)), interpolation=cv2.INTER_AREA)  # 256 px is enough
    box = tuple(v // 2 for v in box)  # type: ignore[assignment]
    h, w = small.shape[:2]
    d = cv2.absdiff(small, np.full_like(small, paper.astype(np.uint8)))
    r, g, b = cv2.split(d)
    m: np.ndarray = (cv2.max(cv2.max(r, g), b) < 38).astype(np.uint8)
    k = max(3, int(max(h, w) * 0.02)) | 1
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=4)
    if n <= 1:
        return
    x0, y0, x1, y1 = box
    sub = lab[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    counts = np.bincount(sub.ravel(), minlength=n)
    counts[0] = 0
    best = int(counts.argmax())
    if counts[best] == 0:
        return
    bx, by, bw, bh, area = (int(v) for v in stats[best])
    ev.blob_frac = float(area / (h * w))
    ev.blob_fill = float(area / max(1, bw * bh))
    ev.blob_border = int(bx <= 1 or by <= 1 or bx + bw >= w - 1 or by + bh >= h - 1)
    ev.blob_box = (bx / w, by / h, (bx + bw) / w, (by + bh) / h)
    comp = (lab[by : by + bh, bx : bx + bw] == best).astype(np.uint8)
    cs, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if cs:
        c = max(cs, key=cv2.contourArea)
        per = cv2.arcLength(c, True)
        ev.blob_circ = float(4 * math.pi * cv2.contourArea(c) / max(per * per, 1e-6))
    ev.blob_sat = float(ev.paper_sat * min(1.0, ev.paper_contrast / 120.0))


def _glyph_region(chars: np.ndarray, lab: np.ndarray, stats: np.ndarray, best: int, ev: Evidence) -> None:
    """Set ``ev.glyph_region``: the dilated component (not ``best``, the text region's) holding
    the tallest glyph at least :data:`GLYPH_REGION_SIDE` of the shorter side tall; strings and
    edges (blobs narrower than a third of their height) do not count."""
    h, w = lab.shape
    if not len(chars):
        return
    glyphs = chars[chars[:, 2] >= 0.35 * chars[:, 3]]
    glyphs = glyphs[glyphs[:, 3] >= GLYPH_REGION_SIDE * min(h, w)]
    if not len(glyphs):
        return
    comps = lab[(glyphs[:, 1] + glyphs[:, 3] // 2).clip(0, h - 1), (glyphs[:, 0] + glyphs[:, 2] // 2).clip(0, w - 1)]
    other = (comps != best) & (comps != 0)
    if not other.any():
        return
    comp = int(comps[other][int(np.argmax(glyphs[other][:, 3]))])
    ax, ay, aw, ah = (int(v) for v in stats[comp, :4])
    ev.glyph_region = (ax / w, ay / h, (ax + aw) / w, (ay + ah) / h)


def _visual(rgb: np.ndarray, ev: Evidence) -> tuple[tuple[int, int, int, int] | None, float]:
    """Fill the visual cues of ``ev`` from an RGB array (any size); return (region px box, bar angle°)."""
    H, W = rgb.shape[:2]
    f = VISUAL_SIDE / max(H, W)
    small = cv2.resize(rgb, (max(1, int(W * f)), max(1, int(H * f))), interpolation=cv2.INTER_AREA) if f < 1 else rgb
    h, w = small.shape[:2]
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    black = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _KERNEL)
    top = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, _KERNEL)
    cd, bd = _blobs((black > 45).astype(np.uint8), h)
    cl, bl = _blobs((top > 45).astype(np.uint8), h)
    # thick strokes (marker handwriting, big sticker digits): the same at half scale
    half = cv2.resize(grey, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    c2d, _ = _blobs((cv2.morphologyEx(half, cv2.MORPH_BLACKHAT, _KERNEL) > 45).astype(np.uint8), h // 2)
    c2l, _ = _blobs((cv2.morphologyEx(half, cv2.MORPH_TOPHAT, _KERNEL) > 45).astype(np.uint8), h // 2)
    big = np.vstack([c2d, c2l]) * 2
    big = big[big[:, 3] >= 16] if len(big) else big  # only glyphs the full-scale pass could miss
    chars = np.vstack([cd, cl, big])
    bars = np.vstack([bd, bl])
    ev.char_blobs, ev.bar_blobs = int(len(chars)), int(len(bars))
    # gradient coherence per 16x16 block → 1-D barcode texture at any angle
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx * gx + gy * gy)
    ev.edge_density = float((mag > 120).mean())
    bh, bw = h // 16, w // 16
    angle = 0.0
    if bh and bw:

        def blocks(a: np.ndarray) -> np.ndarray:
            return a[: bh * 16, : bw * 16].reshape(bh, 16, bw, 16).mean(axis=(1, 3))

        jxx, jyy, jxy = blocks(gx * gx), blocks(gy * gy), blocks(gx * gy)
        energy = jxx + jyy
        coh = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / np.maximum(energy, 1e-6)
        strong = (energy > 30000) & (coh > 0.85)
        ev.code_blocks = int(strong.sum())
        if ev.code_blocks:
            angle = 0.5 * math.degrees(math.atan2(2 * float(jxy[strong].sum()), float((jxx - jyy)[strong].sum())))
    # text/code region: dilate the blob boxes, keep the component holding most blobs
    region = None
    boxes = np.vstack([chars, bars]) if len(bars) else chars
    median = np.median(small.reshape(-1, 3), axis=0)
    if len(boxes) >= 2:
        m = np.zeros((h, w), np.uint8)
        for x, y, bw_, bh_ in boxes:
            m[y : y + bh_, x : x + bw_] = 255
        k = max(5, int(max(h, w) * 0.07))
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        n, lab, stats, _ = cv2.connectedComponentsWithStats(m)
        if n > 1:
            cx = boxes[:, 0] + boxes[:, 2] // 2
            cy = boxes[:, 1] + boxes[:, 3] // 2
            counts = np.bincount(lab[cy.clip(0, h - 1), cx.clip(0, w - 1)], minlength=n)
            counts[0] = 0
            best = int(counts.argmax())
            _glyph_region(chars, lab, stats, best, ev)
            x0, y0, ww, hh = stats[best, :4]
            ev.region_chars = int(counts[best])
            ev.region = (x0 / w, y0 / h, (x0 + ww) / w, (y0 + hh) / h)
            ev.region_frac = float(ww * hh / (w * h))
            region = (x0, y0, x0 + ww, y0 + hh)
            patch = small[y0 : y0 + hh, x0 : x0 + ww].reshape(-1, 3).astype(np.float32)
            # the paper: the patch's pixels that are not strokes (the brighter 60% for dark text)
            lum = patch @ np.array([0.299, 0.587, 0.114], np.float32)
            keep = lum >= np.percentile(lum, 40) if black.mean() >= top.mean() else lum <= np.percentile(lum, 60)
            paper = np.median(patch[keep], axis=0)
            ev.paper_rgb = tuple(int(v) for v in paper)  # type: ignore[assignment]
            mx, mn = float(paper.max()), float(paper.min())
            ev.paper_light = float(paper @ np.array([0.299, 0.587, 0.114]))
            ev.paper_sat = (mx - mn) / mx if mx > 0 else 0.0
            r, g, b = (float(v) for v in paper)
            hue_ok = r > g > b and (r - b) > 40 and 0.35 < (g - b) / max(r - b, 1) < 0.8
            ev.kraft = float(hue_ok and 120 < r < 230 and 0.25 < ev.paper_sat < 0.6)
            ev.paper_contrast = float(np.linalg.norm(paper - median))
            inside = boxes[
                (boxes[:, 0] >= x0)
                & (boxes[:, 1] >= y0)
                & (boxes[:, 0] + boxes[:, 2] <= x0 + ww)
                & (boxes[:, 1] + boxes[:, 3] <= y0 + hh)
            ]
            short = float(min(h, w))
            if len(inside):
                gh = inside[:, 3].astype(np.float32)
                ev.big_glyph = float(gh.max() / short)
                ev.n_big_glyphs = int((gh >= 0.5 * gh.max()).sum())
            _paper_blob(small, paper, (x0, y0, x0 + ww, y0 + hh), ev)
    # colourfulness (Hasler & Süsstrunk) and the 64-bin colour histogram
    sm = small.astype(np.float32)
    rg = sm[..., 0] - sm[..., 1]
    yb = 0.5 * (sm[..., 0] + sm[..., 1]) - sm[..., 2]
    ev.colourfulness = float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))
    q = (small[::4, ::4] // 64).reshape(-1, 3).astype(np.int32)
    hist = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(np.float64)
    ev.hist = (hist / hist.sum()).round(4).tolist()
    if region is not None:
        sx, sy = W / w, H / h
        region = (int(region[0] * sx), int(region[1] * sy), int(region[2] * sx), int(region[3] * sy))
    return region, angle


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


# --------------------------------------------------------------------------- text cues

_EURO_WHOLE = re.compile(r"(?<![\d,.])\d{1,3}\s?€")
_EURO_DEC = re.compile(r"\d{1,3}[,.]\d{2}\s?€")
_EURO_FIRST = re.compile(r"€\s?\d{1,3}")
_EURO_99 = re.compile(r"\d[,.]9\d\s?€|€\s?\d{1,3}[,.]9\d")
_SECOND_WORD = re.compile(r"\b(PRIX|TARIF)\b", re.I)


def second_read_cues(text: str) -> dict[str, float]:
    """Cues (0/1 each) from the second read, which reads "€": ``euro_whole`` ("12 €"),
    ``euro_dec`` ("12,50 €"), ``euro_first`` ("€49.99", retail), ``euro_99`` (",9x" cents
    next to "€", retail), ``euro_any`` and ``second_price_word`` ("PRIX", "TARIF")."""
    return {
        "euro_whole": float(bool(_EURO_WHOLE.search(text))),
        "euro_dec": float(bool(_EURO_DEC.search(text))),
        "euro_first": float(bool(_EURO_FIRST.search(text))),
        "euro_99": float(bool(_EURO_99.search(text))),
        "euro_any": float("€" in text),
        "second_price_word": float(bool(_SECOND_WORD.search(text))),
    }


# A price without the currency sign: "15,00", "15.00", "12", "5", optionally followed by
# what the recogniser makes of "€" ("C", "E", "e", "1", "€"), with or without a space.
_PRICE_DEC = re.compile(r"(?<![\d%])(\d{1,3})[,.](\d{2})(?!\d|%|°)")
_PRICE_INT = re.compile(r"^(?:PRIX|TARIF)?\s*:?\s*(\d{1,3})\s*[€CcEe仓元]?$", re.I)
_PRICE_WORD = re.compile(r"\b(PRIX|TARIF|PRICE|EUR)\b|€", re.I)
# the same words as misread ("Tarlf", "Tarf", "Tartf", "arif", "PRlX", "Prx"): a short field name, a colon
# or not, then an amount
_FIELD_PRICE = re.compile(
    r"^(?!REF\b|Ref\b|ref\b)(?:[PpRr][A-Za-z1]{1,3}[Xx]|[Tt]?[Aa]?[Rr]?[A-Za-z1]{0,2}[Ff])\s*:?\s*\d{1,3}(?:[,.]\d{2})?\s*[€CcEe]?\s*$"
)
_CARE = re.compile(r"%|COTON|COTTON|POLY|ELAST|LAINE|WOOL|VISCOSE|NYLON|\bLIN\b|MADE ?IN|\bRN ?\d", re.I)
_DEGREE = re.compile(r"\d{2}\s*°")
_SIZE = re.compile(r"^(XXS|XS|S|M|L|XL|XXL|\d{2}/\d{2}|T\.?\s?\d{2}|EU\s?\d{2}(\s?US\s?\d{1,2})?)$", re.I)
_SKU = re.compile(r"\b(?=[A-Z0-9-]{5,14}\b)(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
_REF = re.compile(r"\b(REF|ART)\b", re.I)
_LONG_DIGITS = re.compile(r"\d{8,14}")
# "5€" / "12 €" as the recogniser reads it: digits then a misread euro sign
_PRICE_SIGN = re.compile(r"^(?:PRIX|TARIF)?\s*:?\s*(\d{1,3})(?:[,.]\d{2})?\s*[€CcEe仓元]\s*$", re.I)
# "€49.99" read as "C49.99", "E49.99", "€49.99": a sign BEFORE the amount (retail style)
_SIGN_FIRST = re.compile(r"(?:^|\s)[€CE]\s?\d{1,3}[.,]\d{2}\b")
_CENTS = re.compile(r"(?<![\d%])\d{1,3}[,.](\d{2})(?!\d|%|°)")
_ONLY_NUMBER = re.compile(r"^\d{1,3}$")


def _ean_ok(digits: str) -> bool:
    """True when ``digits`` (13) carries a valid EAN-13 check digit."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits[:12]))
    return (10 - s % 10) % 10 == int(digits[12])


def shape_of(token: str) -> str:
    """Shape of a code/SKU: digits → ``9``, letters → ``A``, rest kept ("VT-12345" → "AA-99999")."""
    return "".join("9" if c.isdigit() else "A" if c.isalpha() else c for c in token.upper())


def text_cues(lines: Sequence[OcrLine], codes: Sequence[Code], second_read: str = "") -> dict[str, float]:
    """Named text/code cues from OCR lines and decoded codes (all 0/1 unless said otherwise).

    Keys: ``price_dec`` (a "15,00"-like amount), ``price_int`` (a line that is only a
    small whole number, maybe with a misread "€"), ``price_word`` ("PRIX", "TARIF"…),
    ``care`` (fibre %, "MADE IN", RN), ``degree`` ("40°"), ``size`` (a line that is only
    a size), ``sku`` (a SKU-shaped token), ``ref`` ("REF"/"ART"), ``long_digits`` (an
    8–14 digit number, e.g. a printed EAN), ``n_lines`` (count), ``n_words`` (count),
    ``code128``/``qr``/``ean13`` (decoded formats), ``ean_instore`` (an EAN-13 with GS1
    in-store prefix 20–29), ``ean_retail`` (any other EAN-13/UPC), ``code_price``
    (a decoded payload holding a price field), and the :func:`second_read_cues` of
    ``second_read`` (Tesseract's text, "" when it did not run).
    """
    c: dict[str, float] = dict.fromkeys(
        (
            "price_dec",
            "price_int",
            "price_word",
            "care",
            "degree",
            "size",
            "sku",
            "ref",
            "long_digits",
            "code128",
            "qr",
            "ean13",
            "ean_instore",
            "ean_retail",
            "code_price",
            "price_sign",
            "sign_first",
            "cents_99",
            "cents_round",
            "size_number",
            "small_number",
            "ocr_ean_instore",
            "ocr_ean_retail",
            "field_price",
            "sign_blank",
            "price_h",
            "number_h",
            "text_h",
            "n_alpha_words",
        ),
        0.0,
    )
    words = 0
    alpha = 0
    for ln in lines:
        t = ln.text.strip()
        if ln.conf < 0.5 or not t:
            continue
        words += len(t.split())
        alpha += sum(1 for x in re.findall(r"[A-Za-z]{3,}", t))
        c["text_h"] = max(c["text_h"], ln.rel_h)
        if re.match(r"^\d{1,3}\s+$", ln.text):
            c["sign_blank"] = 1.0
        tt = t.replace(" ", "")
        if _FIELD_PRICE.match(t):
            c["field_price"] = 1.0
        if _PRICE_SIGN.match(t):
            c["price_sign"] = 1.0
            c["price_h"] = max(c["price_h"], ln.rel_h)
        if _SIGN_FIRST.search(t):
            c["sign_first"] = 1.0
        for m in _CENTS.finditer(t):
            cc = int(m.group(1))
            if cc >= 95:
                c["cents_99"] = 1.0
            elif cc in (0, 50):
                c["cents_round"] = 1.0
        num = re.sub(r"[€CcEe仓元:]$", "", tt) if _PRICE_SIGN.match(t) else tt
        if _ONLY_NUMBER.match(num):
            v = int(num)
            c["number_h"] = max(c["number_h"], ln.rel_h)
            if 32 <= v <= 56 and v % 2 == 0:
                c["size_number"] = 1.0
            else:
                c["small_number"] = 1.0
        for d in re.findall(r"\d{12,14}", tt):
            if len(d) >= 13:
                d13 = d[:13]
                if d13[0] == "2":
                    c["ocr_ean_instore"] = 1.0
                elif _ean_ok(d13) or len(d) == 13:
                    c["ocr_ean_retail"] = 1.0
        if _PRICE_DEC.search(t):
            c["price_dec"] = 1.0
        if _PRICE_INT.match(t) and not _SIZE.match(t):
            c["price_int"] = 1.0
        if _PRICE_WORD.search(t):
            c["price_word"] = 1.0
        if _CARE.search(t):
            c["care"] = 1.0
        if _DEGREE.search(t):
            c["degree"] = 1.0
        if _SIZE.match(t.replace(" ", "")) or _SIZE.match(t):
            c["size"] = 1.0
        if _SKU.search(t.upper()) and not _LONG_DIGITS.fullmatch(t.replace(" ", "")):
            c["sku"] = 1.0
        if _REF.search(t):
            c["ref"] = 1.0
        if _LONG_DIGITS.search(t.replace(" ", "")):
            c["long_digits"] = 1.0
    c["n_lines"] = float(sum(1 for ln in lines if ln.conf >= 0.5))
    c["n_words"] = float(words)
    c["n_alpha_words"] = float(alpha)
    for code in codes:
        f = code.format.lower()
        if "128" in f:
            c["code128"] = 1.0
        elif "qr" in f:
            c["qr"] = 1.0
        elif "ean" in f or "upc" in f:
            c["ean13"] = 1.0
            if code.text[:1] == "2":
                c["ean_instore"] = 1.0
            else:
                c["ean_retail"] = 1.0
        if re.search(r"(?:P|PRIX|PRICE)[:=]\d+", code.text, re.I):
            c["code_price"] = 1.0
    c.update(second_read_cues(second_read))
    return c


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
    im, ev.width, ev.height = _decode(data, DECODE_SIDE)
    rgb = np.asarray(im)
    ev.decoded_side = max(rgb.shape[:2])
    ev.decoded_pixels = int(rgb.shape[0] * rgb.shape[1])
    rgb, ev.exposure_gain = _normalise_exposure(rgb)
    t1 = time.process_time()
    region, angle = _visual(rgb, ev)
    t2 = time.process_time()
    grey = None
    if ev.char_blobs >= 3 or ev.bar_blobs >= 4 or ev.code_blocks >= 2:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        ev.codes = _zxing(grey)
        if ev.codes:
            ev.code_stage = "full"
        elif ev.code_blocks >= 2 and region is not None and abs(angle) > 8:
            rot = _rotated_crop(grey, region, angle)
            ev.codes = _zxing(rot)
            ev.code_stage = "rotated" if ev.codes else ""
        if not ev.codes and region is not None and ev.decoded_side < 900 and (ev.code_blocks >= 1 or ev.bar_blobs >= 4):
            # small photos: too few pixels per module; zxing reads more on a 2-3x upscaled crop
            crop = _padded_crop(grey, region, 0.15, 4)
            if crop.size:
                f = min(3.0, 1100 / max(crop.shape))
                if f > 1.2:
                    up = cv2.resize(
                        crop, (int(crop.shape[1] * f), int(crop.shape[0] * f)), interpolation=cv2.INTER_CUBIC
                    )
                    ev.codes = _zxing(up)
                    if not ev.codes and abs(angle) > 8:
                        ev.codes = _zxing(_rotated_crop(up, (0, 0, up.shape[1], up.shape[0]), angle))
                    ev.code_stage = "upscaled" if ev.codes else ""
    t3 = time.process_time()
    strong_code = has_strong_code(ev.codes)
    want = (
        ocr
        if ocr is not None
        else (
            region is not None
            and (ev.region_chars >= 3 or (ev.region_chars >= 1 and ev.big_glyph >= 0.06))
            and not strong_code
        )
    )
    if want:
        if region is not None:
            x0, y0, x1, y1 = region
            H, W = rgb.shape[:2]
            bb = ev.blob_box
            if bb is not None and not ev.blob_border and 0.005 < ev.blob_frac < 0.5:
                # the whole paper object (a hang tag's handwritten price may sit apart from its printed name)
                x0, y0 = min(x0, int(bb[0] * W)), min(y0, int(bb[1] * H))
                x1, y1 = max(x1, int(bb[2] * W)), max(y1, int(bb[3] * H))
            crop = _padded_crop(rgb, (x0, y0, x1, y1), 0.1, 6)
        else:
            crop = rgb
        ev.lines = _ocr(crop, float(min(rgb.shape[:2])))
        ev.ocr_ran = True
        if wants_second_read(ev):
            ev.second_read = _second_read(crop, angle)
    if ev.glyph_region is not None and not strong_code:
        H, W = rgb.shape[:2]
        gx0, gy0, gx1, gy1 = ev.glyph_region
        glyphs = _padded_crop(rgb, (int(gx0 * W), int(gy0 * H), int(gx1 * W), int(gy1 * H)), 0.1, 6)
        ev.glyph_lines = _ocr(glyphs, float(min(rgb.shape[:2])))
        ev.glyph_second_read = _second_read(glyphs, angle)
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


def _hist_dist(a: Sequence[float], b: Sequence[float]) -> float:
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


def product_context(evs: Sequence[Evidence]) -> None:
    """Fill ``context_dist`` / ``context_rank`` of a product's photos in place.

    ``context_dist`` is the total-variation distance (0–1) between a photo's colour
    histogram and the mean histogram of the product's *other* photos (0 for a
    single-photo product); ``context_rank`` is 1 for the photo with the largest distance
    when the product has 3+ photos (2 photos are symmetric: both get 0).
    """
    strong = [int(has_strong_code(e.codes)) for e in evs]
    texty = [int(e.region is not None and e.region_chars >= 3) for e in evs]
    for i, e in enumerate(evs):
        e.context_other_strong = int(sum(strong) - strong[i] > 0)
        e.context_other_texty = int(sum(texty) - texty[i])
    if len(evs) < 2:
        for e in evs:
            e.context_dist, e.context_rank = 0.0, 0
        return
    H = np.array([e.hist for e in evs], dtype=np.float64)
    total = H.sum(axis=0)
    for i, e in enumerate(evs):
        others = (total - H[i]) / (len(evs) - 1)
        e.context_dist = round(_hist_dist(H[i], others), 4)
    if len(evs) >= 3:
        j = int(np.argmax([e.context_dist for e in evs]))
        for i, e in enumerate(evs):
            e.context_rank = int(i == j)
