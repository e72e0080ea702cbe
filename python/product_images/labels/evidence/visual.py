"""Stages 1–2: decoding at a reduced scale, and the cheap visual cues (strokes, text region, paper, bars)."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from PIL import Image

from product_images.labels.evidence.records import GLYPH_REGION_SIDE, VISUAL_SIDE, DecodeError, Evidence

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
    """Fill the visual cues of ``ev`` from an RGB array (any size); return (region px box, bar angle°).

    Steps, on a :data:`VISUAL_SIDE`-px copy: stroke blobs → bar texture (and its angle) →
    the text region (its paper, glyphs and paper object) → colour; the region's box is
    returned in ``rgb``'s pixels.
    """
    H, W = rgb.shape[:2]
    f = VISUAL_SIDE / max(H, W)
    small = cv2.resize(rgb, (max(1, int(W * f)), max(1, int(H * f))), interpolation=cv2.INTER_AREA) if f < 1 else rgb
    h, w = small.shape[:2]
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    chars, bars, dark_text = _strokes(grey)
    ev.char_blobs, ev.bar_blobs = int(len(chars)), int(len(bars))
    angle = _bar_texture(grey, ev)
    region = _text_region(small, chars, bars, dark_text, ev)
    _colour(small, ev)
    if region is not None:
        sx, sy = W / w, H / h
        region = (int(region[0] * sx), int(region[1] * sy), int(region[2] * sx), int(region[3] * sy))
    return region, angle


def _strokes(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(character blobs, bar blobs, dark text?) of the visual copy's grey image.

    Dark-on-light (black-hat) and light-on-dark (top-hat) strokes, plus thick strokes
    (marker handwriting, big sticker digits) found at half scale; "dark text" when the
    black-hat response is at least the top-hat one.
    """
    h, w = grey.shape[:2]
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
    return np.vstack([cd, cl, big]), np.vstack([bd, bl]), bool(black.mean() >= top.mean())


def _bar_texture(grey: np.ndarray, ev: Evidence) -> float:
    """Fill ``ev.edge_density`` and ``ev.code_blocks`` (gradient coherence per 16×16 block: 1-D
    barcode texture at any angle); return the bars' dominant gradient angle in degrees (0 when none)."""
    h, w = grey.shape[:2]
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
    return angle


def _text_region(
    small: np.ndarray, chars: np.ndarray, bars: np.ndarray, dark_text: bool, ev: Evidence
) -> tuple[int, int, int, int] | None:
    """The text/code region in visual-copy px, or None; fills ``ev``'s region, glyph-region, paper and blob cues.

    The blob boxes are dilated and the connected component holding most blobs is the region.
    """
    h, w = small.shape[:2]
    boxes = np.vstack([chars, bars]) if len(bars) else chars
    median = np.median(small.reshape(-1, 3), axis=0)
    if len(boxes) < 2:
        return None
    m: np.ndarray = np.zeros((h, w), np.uint8)
    for x, y, bw_, bh_ in boxes:
        m[y : y + bh_, x : x + bw_] = 255
    k = max(5, int(max(h, w) * 0.07))
    m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m)
    if n <= 1:
        return None
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
    box = (x0, y0, x0 + ww, y0 + hh)
    paper = _paper(small[y0 : y0 + hh, x0 : x0 + ww], dark_text, median, ev)
    _region_glyphs(boxes, box, float(min(h, w)), ev)
    _paper_blob(small, paper, box, ev)
    return box


def _paper(region: np.ndarray, dark_text: bool, median: np.ndarray, ev: Evidence) -> np.ndarray:
    """The region's paper colour (float32 RGB); fills ``ev``'s ``paper_*`` and ``kraft`` cues.

    The paper is the median of the region's pixels that are not strokes: the brighter 60 %
    for dark text, the darker 60 % for light text. ``median`` is the whole photo's median colour.
    """
    patch = region.reshape(-1, 3).astype(np.float32)
    lum = patch @ np.array([0.299, 0.587, 0.114], np.float32)
    keep = lum >= np.percentile(lum, 40) if dark_text else lum <= np.percentile(lum, 60)
    paper = np.median(patch[keep], axis=0)
    ev.paper_rgb = tuple(int(v) for v in paper)  # type: ignore[assignment]
    mx, mn = float(paper.max()), float(paper.min())
    ev.paper_light = float(paper @ np.array([0.299, 0.587, 0.114]))
    ev.paper_sat = (mx - mn) / mx if mx > 0 else 0.0
    r, g, b = (float(v) for v in paper)
    hue_ok = r > g > b and (r - b) > 40 and 0.35 < (g - b) / max(r - b, 1) < 0.8
    ev.kraft = float(hue_ok and 120 < r < 230 and 0.25 < ev.paper_sat < 0.6)
    ev.paper_contrast = float(np.linalg.norm(paper - median))
    return paper


def _region_glyphs(boxes: np.ndarray, box: tuple[int, int, int, int], short: float, ev: Evidence) -> None:
    """Fill ``ev.big_glyph`` (tallest blob inside ``box`` / ``short``, the shorter side) and ``ev.n_big_glyphs``."""
    x0, y0, x1, y1 = box
    inside = boxes[
        (boxes[:, 0] >= x0)
        & (boxes[:, 1] >= y0)
        & (boxes[:, 0] + boxes[:, 2] <= x1)
        & (boxes[:, 1] + boxes[:, 3] <= y1)
    ]
    if len(inside):
        gh = inside[:, 3].astype(np.float32)
        ev.big_glyph = float(gh.max() / short)
        ev.n_big_glyphs = int((gh >= 0.5 * gh.max()).sum())


def _colour(small: np.ndarray, ev: Evidence) -> None:
    """Fill ``ev.colourfulness`` (Hasler & Süsstrunk) and ``ev.hist`` (64-bin colour histogram, sums to 1)."""
    sm = small.astype(np.float32)
    rg = sm[..., 0] - sm[..., 1]
    yb = 0.5 * (sm[..., 0] + sm[..., 1]) - sm[..., 2]
    ev.colourfulness = float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))
    q = (small[::4, ::4] // 64).reshape(-1, 3).astype(np.int32)
    hist = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(np.float64)
    ev.hist = (hist / hist.sum()).round(4).tolist()
