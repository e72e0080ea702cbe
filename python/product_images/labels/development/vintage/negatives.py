"""Hard negatives drawn flat: things with text, numbers or codes that are NOT the shop's price tag.

Kinds: ``"care_label"`` (satin label, washing symbols, composition "100% coton"),
``"size_label"`` (woven size tab), ``"brand_label"`` (woven brand name), ``"retail_tag"``
(a brand's own printed hang tag: brand, size, a printed brand price such as "€39.99", an EAN-13
that is not in-store), ``"receipt"`` (a till receipt) and ``"shoe_box"`` (the end of a shoe box:
brand, size, EAN-13, no price).  Each returns a :class:`~.paper.Patch`.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .codes import linear_modules, render_modules
from .fonts import PRINT_FONTS, STAMP_FONTS
from .handwriting import font_text_mask, paste_ink
from .paper import Patch, hex_rgb, paper, rounded_rect_alpha, tag_alpha
from .spec import Spec

__all__ = ["negative_patch"]


def _put(img: np.ndarray, mask: np.ndarray, cx: float, cy: float, color: str, max_w: float) -> None:
    """Lay ``mask`` (shrunk to ``max_w`` if wider) centred on (cx, cy) in ``color``."""
    if mask.shape[1] > max_w:
        scale = max_w / mask.shape[1]
        mask = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = mask.shape
    paste_ink(img, mask, int(cx - w / 2), int(cy - h / 2), hex_rgb(color), 0.95)


def _weave(img: np.ndarray, rng: np.random.Generator, strength: float) -> None:
    """Woven-label texture: fine horizontal threads and a few vertical ones (in place)."""
    h, w = img.shape[:2]
    rows = (np.sin(np.arange(h, dtype=np.float32) * rng.uniform(1.2, 2.2)) * strength)[:, None]
    cols = (np.sin(np.arange(w, dtype=np.float32) * rng.uniform(0.5, 0.9)) * strength * 0.4)[None, :]
    img *= (1.0 + rows + cols)[..., None]
    np.clip(img, 0.0, 1.0, out=img)


def _care_symbols(img: np.ndarray, y: int, size: int, color: tuple[float, float, float]) -> None:
    """A row of five washing symbols (tub, triangle, tumble dryer, iron, dry-clean circle) at height ``y``."""
    w = img.shape[1]
    step = w // 6
    t = max(1, size // 14)
    for i in range(5):
        cx, s = step * (i + 1), size // 2
        if i == 0:
            pts = np.array(
                [[cx - s, y - s // 2], [cx - s * 3 // 4, y + s], [cx + s * 3 // 4, y + s], [cx + s, y - s // 2]]
            )
            cv2.polylines(img, [pts.astype(np.int32)], False, color, t, cv2.LINE_AA)
        elif i == 1:
            pts = np.array([[cx, y - s], [cx - s, y + s], [cx + s, y + s]], np.int32)
            cv2.polylines(img, [pts], True, color, t, cv2.LINE_AA)
            cv2.line(img, (cx - s // 2, y - s // 4), (cx + s // 2, y + s), color, t, cv2.LINE_AA)
        elif i == 2:
            cv2.rectangle(img, (cx - s, y - s), (cx + s, y + s), color, t, cv2.LINE_AA)
            cv2.circle(img, (cx, y), s * 3 // 4, color, t, cv2.LINE_AA)
        elif i == 3:
            pts = np.array(
                [[cx - s, y + s // 2], [cx + s, y + s // 2], [cx + s // 2, y - s // 2], [cx - s // 2, y - s // 2]]
            )
            cv2.polylines(img, [pts.astype(np.int32)], True, color, t, cv2.LINE_AA)
            cv2.circle(img, (cx, y + s // 8), max(1, t), color, -1, cv2.LINE_AA)
        else:
            cv2.circle(img, (cx, y), s, color, t, cv2.LINE_AA)
            cv2.line(img, (cx - s // 4, y + s // 2), (cx - s // 4, y - s // 2), color, t, cv2.LINE_AA)
            cv2.ellipse(img, (cx - s // 4, y - s // 4), (s // 2, s // 4), 0, -90, 90, color, t, cv2.LINE_AA)


def _care_label(spec: Spec, rng: np.random.Generator) -> Patch:
    """A satin care label: composition lines, origin, washing symbols."""
    w = int(rng.integers(180, 240))
    h = int(w * rng.uniform(1.8, 2.8))
    img = paper(rng, h, w, spec.text("paper", "#f3f0e6"), 0.015)
    _weave(img, rng, 0.02)
    ink = spec.text("ink", "#333333")
    key = PRINT_FONTS[int(rng.integers(len(PRINT_FONTS)))]
    lines = spec.text("text", "100% coton|100% cotton|Made in Portugal").split("|")
    y = h * 0.1
    for line in lines:
        mask = font_text_mask(line, key, int(w * 0.085), rng)
        _put(img, mask, w / 2, y, ink, w * 0.9)
        y += w * 0.13
    _care_symbols(img, int(min(h * 0.85, y + w * 0.15)), int(w * 0.13), hex_rgb(ink))
    return Patch(img, rounded_rect_alpha(h, w, 3), gloss=0.25)


def _woven(spec: Spec, rng: np.random.Generator, text: str, font_key: str, aspect: float) -> Patch:
    """A woven label of ``aspect`` (w/h) with ``text`` in the middle (size or brand)."""
    h = int(rng.integers(90, 130))
    w = int(h * aspect)
    img = paper(rng, h, w, spec.text("paper", "#111111"), 0.02)
    _weave(img, rng, 0.06)
    mask = font_text_mask(text, font_key, int(h * 0.48), rng)
    _put(img, mask, w / 2, h / 2, spec.text("ink", "#e8e0c8"), w * 0.86)
    img[:3] *= 0.7
    img[-3:] *= 0.7
    return Patch(img, rounded_rect_alpha(h, w, 2), gloss=0.15)


def _size_label(spec: Spec, rng: np.random.Generator) -> Patch:
    """A small woven size tab (``spec["text"]``, e.g. "M", "38", "W32 L34")."""
    text = spec.text("text", "M")
    return _woven(spec, rng, text, spec.text("font", "sans_bold"), max(1.2, 0.5 * len(text) + 0.7))


def _brand_label(spec: Spec, rng: np.random.Generator) -> Patch:
    """A woven brand label at the neck (``spec["text"]``: the brand)."""
    key = spec.text("font", STAMP_FONTS[int(rng.integers(len(STAMP_FONTS)))])
    return _woven(spec, rng, spec.text("text", "Brand"), key, rng.uniform(2.6, 3.6))


def _ean_block(img: np.ndarray, spec: Spec, rng: np.random.Generator, cx: float, y: int, module: int) -> None:
    """A printed EAN-13 (``spec["payload"]``) with its digits below, centred on ``cx`` from ``y`` down."""
    code = render_modules(linear_modules("ean13", spec.text("payload")), module, module * 22, quiet=9)
    ch, cw = code.shape
    x = int(cx - cw / 2)
    if x < 0 or y + ch > img.shape[0] or x + cw > img.shape[1]:
        return
    band = min(img.shape[0], y + ch + module * 9)
    img[y:band, x : x + cw] = 0.97
    img[y : y + ch, x : x + cw] = (code / 255.0)[..., None] * 0.97
    digits = font_text_mask(spec.text("payload"), "mono", int(module * 7), rng)
    _put(img, digits, cx, y + ch + module * 4, "#111111", cw)


def _retail_tag(spec: Spec, rng: np.random.Generator) -> Patch:
    """A brand's printed hang tag: brand name, size, printed price, EAN-13 (not in-store)."""
    w = int(rng.integers(300, 380))
    h = int(w * rng.uniform(1.6, 2.0))
    img = paper(rng, h, w, spec.text("paper", "#ffffff"), 0.008)
    ink = spec.text("ink", "#111111")
    hole = (w // 2, int(w * 0.12))
    brand = font_text_mask(spec.text("text", "BRAND"), spec.text("font", "sans_bold"), int(w * 0.16), rng)
    _put(img, brand, w / 2, h * 0.24, ink, w * 0.85)
    size = font_text_mask(spec.text("size_text", "M"), "sans_bold", int(w * 0.13), rng)
    _put(img, size, w / 2, h * 0.4, ink, w * 0.6)
    price = font_text_mask(spec.text("price", "€39.99"), spec.text("font", "sans_bold"), int(w * 0.12), rng)
    _put(img, price, w / 2, h * 0.53, ink, w * 0.85)
    _ean_block(img, spec, rng, w / 2, int(h * 0.63), 3)
    cv2.circle(img, hole, int(w * 0.05), (0.75, 0.75, 0.75), 3, cv2.LINE_AA)
    patch = Patch(img, tag_alpha(h, w, int(w * rng.uniform(0.0, 0.15)), hole, int(w * 0.035)), hole=hole, gloss=0.3)
    return patch


def _receipt(spec: Spec, rng: np.random.Generator) -> Patch:
    """A till receipt: shop name, item lines with prices, a total (thermal paper, a little curled)."""
    w = int(rng.integers(260, 320))
    h = int(w * rng.uniform(1.6, 2.4))
    img = paper(rng, h, w, "#f6f5f0", 0.01)
    key = "mono"
    lines = spec.text("text", "BOUTIQUE|1 PULL 12,00|TOTAL 12,00").split("|")
    y = h * 0.06
    for i, line in enumerate(lines):
        mask = font_text_mask(line, key if i else "mono_bold", int(w * (0.075 if i else 0.09)), rng)
        _put(img, mask, w / 2, y, "#262626", w * 0.9)
        y += w * 0.11
    fade = np.linspace(1.0, rng.uniform(0.9, 1.0), h, dtype=np.float32)[:, None, None]
    img = np.clip(img * fade, 0, 1)
    return Patch(img, rounded_rect_alpha(h, w, 0), gloss=0.2)


def _shoe_box(spec: Spec, rng: np.random.Generator) -> Patch:
    """The end of a shoe box: cardboard colour, brand, a white label with size, article code and EAN-13 (no price)."""
    w = int(rng.integers(560, 700))
    h = int(w * rng.uniform(0.38, 0.5))
    img = paper(rng, h, w, spec.text("paper", "#d9c7a4"), 0.04)
    brand = font_text_mask(spec.text("text", "BRAND"), spec.text("font", "sans_bold"), int(h * 0.3), rng)
    _put(img, brand, w * 0.25, h * 0.5, spec.text("ink", "#222222"), w * 0.42)
    lx, lw = int(w * 0.5), int(w * 0.46)
    ly, lh = int(h * 0.08), int(h * 0.84)
    img[ly : ly + lh, lx : lx + lw] = paper(rng, lh, lw, "#fafafa", 0.005)
    label = img[ly : ly + lh, lx : lx + lw]
    size = font_text_mask(spec.text("size_text", "EU 42  UK 8"), "sans_bold", int(lh * 0.15), rng)
    _put(label, size, lw / 2, lh * 0.14, "#111111", lw * 0.9)
    art = font_text_mask(spec.text("sku", "ART 123456"), "mono", int(lh * 0.09), rng)
    _put(label, art, lw / 2, lh * 0.3, "#111111", lw * 0.9)
    _ean_block(label, spec, rng, lw / 2, int(lh * 0.4), 2)
    return Patch(img, np.ones((h, w), np.float32), gloss=0.1)


_DRAWERS: dict[str, Callable[[Spec, np.random.Generator], Patch]] = {
    "care_label": _care_label,
    "size_label": _size_label,
    "brand_label": _brand_label,
    "retail_tag": _retail_tag,
    "receipt": _receipt,
    "shoe_box": _shoe_box,
}


def negative_patch(spec: Spec, rng: np.random.Generator) -> Patch:
    """The hard negative ``spec["object"]`` drawn flat (one of the kinds in the module docstring)."""
    return _DRAWERS[spec.text("object")](spec, rng)
