"""The shops' own price tags (the labels), drawn flat as :class:`~.paper.Patch` objects.

Kinds (``spec["tag"]``): ``"hang_card"`` (kraft or white card on a string, a price written by
hand, maybe a rubber-stamped shop name and printed "Prix"/"Réf" fields), ``"masking_tape"``
(a strip of tape with a marker price), ``"round_sticker"`` (a colour dot with a marker price),
``"gun_sticker"`` (a pricing gun's small white sticker, printed digits, no currency),
``"thermal_label"`` (a label printer's sticker: Code 128 of the SKU or an in-store EAN-13
and a printed price) and ``"qr_label"`` (a QR code of a SKU or URL, the price by hand).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .codes import linear_modules, qr_modules, render_modules
from .handwriting import STROKE_CHARS, font_text_mask, paste_ink, stroke_text_mask
from .paper import Patch, hex_rgb, paper, rounded_rect_alpha, stamp, tag_alpha, torn_strip_alpha
from .spec import Spec

__all__ = ["code_image", "shop_tag_patch", "written"]


def written(spec: Spec, text: str, height: float, rng: np.random.Generator) -> np.ndarray:
    """``text`` written by the shop's hand (``spec["pen"]``: ``"strokes"`` or a handwriting font), a mask."""
    pen_w = spec.number("pen_w", 0.08)
    if spec.text("pen") == "strokes" and all(c in STROKE_CHARS for c in text):
        return stroke_text_mask(text, height, max(1.0, height * pen_w), rng)
    key = spec.text("pen") if spec.text("pen") != "strokes" else "comic_bold"
    bold = int(height * max(0.0, pen_w - 0.06) * 0.6)
    return font_text_mask(text, key, int(height * 1.25), rng, jitter=1.0, bold_px=bold)


def code_image(spec: Spec, module_px: int, bar_h: int) -> np.ndarray | None:
    """The grey image of the tag's code (``spec["code"]``: ``ean13``, ``code128``, ``qr``), or None."""
    kind, payload = spec.text("code"), spec.text("payload")
    if not kind or not payload:
        return None
    if kind == "qr":
        return render_modules(qr_modules(payload), module_px, quiet=4)
    return render_modules(linear_modules(kind, payload), module_px, bar_h, quiet=9)


def _put(img: np.ndarray, mask: np.ndarray, cx: float, cy: float, color: str, opacity: float = 0.95) -> None:
    """Lay ``mask`` centred on (cx, cy) in ``color``."""
    h, w = mask.shape
    paste_ink(img, mask, int(cx - w / 2), int(cy - h / 2), hex_rgb(color), opacity)


def _fit(mask: np.ndarray, max_w: float) -> float:
    """The scale that brings ``mask`` within ``max_w`` pixels wide (1 when it already fits)."""
    return min(1.0, max_w / max(1, mask.shape[1]))


def _stamp_on(img: np.ndarray, spec: Spec, rng: np.random.Generator, cx: float, cy: float, max_w: float) -> None:
    """The shop's rubber stamp centred on (cx, cy), at most ``max_w`` wide (nothing if the shop has none)."""
    if not spec.text("stamp"):
        return
    size = int(max_w / max(4, len(spec.text("shop"))) * 1.5)
    mask = stamp(rng, spec.text("shop"), spec.text("stamp_font", "bookman"), max(10, size), spec.text("stamp"))
    scale = _fit(mask, max_w)
    if scale < 1.0:
        mask = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _put(img, mask, cx, cy, spec.text("stamp_ink", "#2a3f8f"), rng.uniform(0.6, 0.9))


def _field(img: np.ndarray, spec: Spec, rng: np.random.Generator, label: str, value: str, y: float) -> None:
    """A pre-printed field (``label`` and a dotted line) with ``value`` written by hand on it, at height ``y``."""
    w = img.shape[1]
    size = int(w * 0.09)
    lab = font_text_mask(label, spec.text("print_font", "sans"), size, rng)
    paste_ink(img, lab, int(w * 0.08), int(y - lab.shape[0]), hex_rgb("#222222"), 0.9)
    x0 = int(w * 0.1 + lab.shape[1])
    img[int(y) : int(y) + max(1, size // 12), x0 : int(w * 0.92) : 3] *= 0.55
    val = written(spec, value, w * 0.15, rng)
    val = val[:, : int(w * 0.9 - x0)]
    paste_ink(img, val, x0 + int(w * 0.03), int(y - val.shape[0] * 0.85), hex_rgb(spec.text("ink")), 0.92)


def _hang_card(spec: Spec, rng: np.random.Generator) -> Patch:
    """A hang tag: card with a hole, stamp on top, the price (or fields) written by hand."""
    w = int(rng.integers(330, 430))
    h = int(w * rng.uniform(1.35, 1.9))
    hole = (w // 2, int(w * 0.16))
    img = paper(rng, h, w, spec.text("paper"), 0.05 if spec.flag("kraft") else 0.02)
    alpha = tag_alpha(h, w, int(w * 0.18), hole, int(w * 0.045))
    _ring(img, hole, int(w * 0.045), spec)
    top = h * 0.3
    if spec.text("stamp"):
        _stamp_on(img, spec, rng, w / 2, h * 0.32, w * 0.82)
        top = h * 0.45
    if spec.text("fields"):
        _field(img, spec, rng, "Prix", spec.text("price"), top + h * 0.14)
        second = "Réf" if spec.text("fields") == "prix_ref" else "Taille"
        value = spec.text("sku") if second == "Réf" else spec.text("size_text", "M")
        _field(img, spec, rng, second, value, top + h * 0.32)
    else:
        price = written(spec, spec.text("price"), w * 0.26, rng)
        _put(img, _scaled(price, _fit(price, w * 0.86)), w / 2, (top + h) / 2 - h * 0.05, spec.text("ink"))
        _small_lines(img, spec, rng, h * 0.86)
    return _with_code(Patch(img, alpha, hole=hole), spec, rng)


def _ring(img: np.ndarray, hole: tuple[int, int], r: int, spec: Spec) -> None:
    """A reinforcement ring (or just a darker rim) around the hole."""
    color = (0.85, 0.8, 0.7) if spec.flag("kraft") else (0.8, 0.8, 0.8)
    cv2.circle(img, hole, int(r * 2.1), color, max(2, r // 2), cv2.LINE_AA)


def _small_lines(img: np.ndarray, spec: Spec, rng: np.random.Generator, y: float) -> None:
    """The size and SKU written small at the bottom of a card (when the shop writes them)."""
    w = img.shape[1]
    bits = [b for b in (spec.text("size_text"), spec.text("sku") if spec.flag("write_sku") else "") if b]
    if not bits:
        return
    mask = written(spec, "  ".join(bits), w * 0.1, rng)
    _put(img, _scaled(mask, _fit(mask, w * 0.85)), w / 2, y, spec.text("ink"), 0.85)


def _scaled(mask: np.ndarray, scale: float) -> np.ndarray:
    """``mask`` resized by ``scale`` (unchanged at 1)."""
    if abs(scale - 1.0) < 1e-3:
        return mask
    return np.asarray(cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


def _with_code(patch: Patch, spec: Spec, rng: np.random.Generator) -> Patch:
    """Stick a small printed QR sticker on a card when the shop codes its stock (``spec["code"] == "qr"``)."""
    code = code_image(spec, 4, 0)
    if code is None:
        return patch
    h, w = patch.alpha.shape
    ch, cw = code.shape
    x, y = int(w * 0.5 - cw / 2), int(h * 0.97 - ch)
    y = max(int(h * 0.45), y)
    patch.rgb[y : y + ch, x : x + cw] = (code.astype(np.float32) / 255.0)[..., None] * 0.96
    patch.min_long_px = int(h / ch * code.shape[0] / 4 * 2.6)
    return patch


def _masking_tape(spec: Spec, rng: np.random.Generator) -> Patch:
    """A strip of masking tape with the price in marker (translucent, torn ends)."""
    h = int(rng.integers(90, 130))
    w = int(h * rng.uniform(2.6, 4.2))
    img = paper(rng, h, w, spec.text("paper", "#e6d9b0"), 0.03)
    alpha = torn_strip_alpha(rng, h, w) * rng.uniform(0.86, 0.95)
    text = spec.text("price") + (f"  {spec.text('size_text')}" if spec.text("size_text") else "")
    mask = written(spec, text, h * 0.55, rng)
    _put(img, _scaled(mask, _fit(mask, w * 0.86)), w / 2, h / 2, spec.text("ink"))
    return Patch(img, alpha, gloss=0.2)


def _round_sticker(spec: Spec, rng: np.random.Generator) -> Patch:
    """A round colour sticker (charity-shop colour code) with the price written in marker."""
    d = int(rng.integers(150, 210))
    img = paper(rng, d, d, spec.text("paper"), 0.015)
    mask = np.zeros((d, d), dtype=np.uint8)
    cv2.circle(mask, (d // 2, d // 2), d // 2 - 2, 255, -1, cv2.LINE_AA)
    price = written(spec, spec.text("price"), d * 0.36, rng)
    _put(img, _scaled(price, _fit(price, d * 0.8)), d / 2, d / 2, spec.text("ink"))
    return Patch(img, mask.astype(np.float32) / 255.0, gloss=0.5)


def _gun_sticker(spec: Spec, rng: np.random.Generator) -> Patch:
    """A pricing gun's sticker: small white rounded rectangle, printed digits (no currency), slits."""
    h = int(rng.integers(80, 100))
    w = int(h * rng.uniform(1.8, 2.3))
    img = paper(rng, h, w, spec.text("paper", "#f7f5ef"), 0.01)
    if spec.flag("stripes"):
        img[: h // 7] = hex_rgb("#d8342c")
        img[-h // 7 :] = hex_rgb("#d8342c")
    digits = font_text_mask(spec.text("price"), spec.text("print_font", "narrow_bold"), int(h * 0.62), rng)
    digits *= np.clip(0.8 + rng.normal(0, 0.15, digits.shape), 0, 1).astype(np.float32)
    dx, dy = rng.normal(0, w * 0.04), rng.normal(0, h * 0.04)
    _put(img, _scaled(digits, _fit(digits, w * 0.86)), w / 2 + dx, h / 2 + dy, spec.text("ink", "#1a1a1a"), 0.9)
    for x in (int(w * 0.3), int(w * 0.7)):
        img[int(h * 0.86) : h, x : x + 2] *= 0.7
    return Patch(img, rounded_rect_alpha(h, w, h // 6), gloss=0.4)


def _thermal_label(spec: Spec, rng: np.random.Generator) -> Patch:
    """A label printer's sticker: shop name, a barcode of the SKU (or in-store EAN-13), printed price."""
    module = 3
    code = code_image(spec, module, 90)
    assert code is not None, "a thermal label needs spec code and payload"
    ch, cw = code.shape
    w = int(cw * 1.12)
    h = int(ch + w * 0.42)
    img = paper(rng, h, w, spec.text("paper", "#fbfbf8"), 0.008)
    key = spec.text("print_font", "sans_bold")
    name = font_text_mask(spec.text("shop").upper(), key, int(w * 0.07), rng)
    _put(img, _scaled(name, _fit(name, w * 0.9)), w / 2, h * 0.1, "#111111")
    y = int(h * 0.19)
    x = (w - cw) // 2
    img[y : y + ch, x : x + cw] = np.minimum(img[y : y + ch, x : x + cw], (code / 255.0)[..., None])
    text = spec.text("payload") if spec.text("code") == "code128" else spec.text("sku")
    human = font_text_mask(text, "mono", int(w * 0.06), rng)
    _put(img, _scaled(human, _fit(human, w * 0.9)), w / 2, y + ch + h * 0.05, "#111111")
    price = font_text_mask(spec.text("price"), key, int(w * 0.12), rng)
    _put(img, _scaled(price, _fit(price, w * 0.9)), w / 2, h * 0.88, "#111111")
    patch = Patch(img, rounded_rect_alpha(h, w, 8), gloss=0.35)
    patch.min_long_px = int(2.8 * w / module)
    return patch


def _qr_label(spec: Spec, rng: np.random.Generator) -> Patch:
    """A stock label: a QR code (SKU or URL) on the left, SKU printed and price written by hand on the right."""
    module = 6
    code = code_image(spec, module, 0)
    assert code is not None, "a QR label needs spec code and payload"
    ch, cw = code.shape
    h, w = int(ch * 1.1), int(cw * 2.3)
    img = paper(rng, h, w, spec.text("paper", "#fafafa"), 0.01)
    y, x = (h - ch) // 2, int(w * 0.03)
    img[y : y + ch, x : x + cw] = np.minimum(img[y : y + ch, x : x + cw], (code / 255.0)[..., None])
    right = x + cw + (w - x - cw) / 2
    sku = font_text_mask(spec.text("sku"), spec.text("print_font", "mono_bold"), int(h * 0.13), rng)
    _put(img, _scaled(sku, _fit(sku, (w - cw) * 0.85)), right, h * 0.25, "#111111")
    price = written(spec, spec.text("price"), h * 0.28, rng)
    _put(img, _scaled(price, _fit(price, (w - cw) * 0.85)), right, h * 0.65, spec.text("ink"))
    patch = Patch(img, rounded_rect_alpha(h, w, 10), gloss=0.3)
    patch.min_long_px = int(3.0 * w / module)
    return patch


_DRAWERS: dict[str, Callable[[Spec, np.random.Generator], Patch]] = {
    "hang_card": _hang_card,
    "masking_tape": _masking_tape,
    "round_sticker": _round_sticker,
    "gun_sticker": _gun_sticker,
    "thermal_label": _thermal_label,
    "qr_label": _qr_label,
}


def shop_tag_patch(spec: Spec, rng: np.random.Generator) -> Patch:
    """The shop's tag described by ``spec`` (its ``tag`` kind and house style), drawn flat."""
    return _DRAWERS[spec.text("tag")](spec, rng)
