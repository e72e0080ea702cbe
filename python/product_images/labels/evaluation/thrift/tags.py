"""Faces of the shops' own price tags in the ``thrift`` renderer.

:func:`tag_face` draws one tag flat, facing the camera: it returns ``(rgb, alpha, hole)``
where ``rgb`` is float32 (h, w, 3) 0–255, ``alpha`` float32 (h, w) 0–1 and ``hole`` the
(x, y) px of the string hole (or None). Styles: kraft hang tag with a handwritten price,
white thermal sticker with a barcode, QR label, small colour sticker.
"""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Arr, hex_rgb, ink, smooth, speckle, text_mask
from .codes import barcode_mask, qr_mask
from .garments import poly_mask

__all__ = ["tag_face"]

Face = tuple[Arr, Arr, tuple[int, int] | None]


def _paper(rng: np.random.Generator, h: int, w: int, colour: str, fibres: float) -> Arr:
    """Return paper of ``colour`` (h, w, 3) with fibre noise of strength ``fibres``."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = hex_rgb(colour)
    img *= (1.0 + fibres * speckle(rng, h, w, 1) + 0.4 * fibres * smooth(rng, h, w, 6))[..., None]
    return img


def _fit(mask: Arr, max_w: int, max_h: int) -> Arr:
    """Return ``mask`` (h, w) scaled down (never up) to fit max_w × max_h px."""
    h, w = mask.shape
    s = min(1.0, max_w / max(1, w), max_h / max(1, h))
    if s >= 1.0:
        return mask
    return cv2.resize(mask, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)


def _hand(rng: np.random.Generator, text: str, font_name: str, size: int, angle: float) -> Arr:
    """Return a handwritten-looking mask of ``text``: marker stroke, slight slant and wobble."""
    stroke = max(1, size // 28) if font_name == "z003" else max(0, size // 60)
    m = text_mask(text, font_name, size, stroke=stroke)
    h, w = m.shape
    pad = h // 4
    m = np.pad(m, pad)
    rot = cv2.getRotationMatrix2D((m.shape[1] / 2, m.shape[0] / 2), angle, 1.0)
    rot[0, 1] += rng.uniform(-0.15, 0.05)
    m = cv2.warpAffine(m, rot, (m.shape[1], m.shape[0]), flags=cv2.INTER_LINEAR)
    m = cv2.GaussianBlur(m, (0, 0), max(0.6, size / 120))
    m = np.clip(m * 1.6, 0, 1) * np.clip(0.8 + 0.25 * smooth(rng, m.shape[0], m.shape[1], 6), 0.5, 1.0)
    ys, xs = np.nonzero(m > 0.05)
    if len(ys) == 0:
        return m
    return m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _stamp(rng: np.random.Generator, img: Arr, spec: dict, cx: int, cy: int, width: int) -> None:
    """Stamp the shop name (rubber stamp: box, uneven ink) centred at (cx, cy), ``width`` px."""
    name = str(spec["shop"]).upper()
    m = _fit(text_mask(name, str(spec["st_label_font"]), max(8, width // 6)), int(width * 0.86), width)
    h, w = m.shape
    pad = max(3, h // 3)
    box = np.zeros((h + 2 * pad, w + 2 * pad), np.float32)
    box[pad : pad + h, pad : pad + w] = m
    t = max(1, h // 10)
    box[:t], box[-t:], box[:, :t], box[:, -t:] = 1, 1, 1, 1
    keep = np.asarray(rng.random(box.shape) > 0.25, np.float32)
    box *= keep * 0.3 + 0.55 + 0.15 * smooth(rng, box.shape[0], box.shape[1], 5)
    box = np.clip(box, 0, 1)
    ink(img, box, hex_rgb(str(spec["st_stamp_ink"])), cx - box.shape[1] // 2, cy - box.shape[0] // 2, 0.85)


def _kraft(rng: np.random.Generator, spec: dict, tw: int) -> Face:
    """Draw a kraft card hang tag with a handwritten price (and maybe a stamp) ``tw`` px wide."""
    th = int(tw * rng.uniform(1.5, 1.9))
    c = 0.18
    shape = ((c, 0.0), (1 - c, 0.0), (1.0, c * tw / th), (1.0, 1.0), (0.0, 1.0), (0.0, c * tw / th))
    alpha = poly_mask(shape, tw, th)
    img = _paper(rng, th, tw, str(spec["st_paper"]), 0.05)
    hole = (tw // 2, int(tw * 0.16))
    r = max(3, tw // 18)
    cv2.circle(img, hole, int(r * 1.9), (228.0, 222.0, 205.0), -1, cv2.LINE_AA)
    cv2.circle(alpha, hole, r, 0.0, -1, cv2.LINE_AA)
    layout = int(spec["st_layout"])
    inkc = hex_rgb(str(spec["st_ink"]))
    top = int(tw * 0.34)
    if int(spec["st_stamp"]):
        _stamp(rng, img, spec, tw // 2, top + tw // 10, int(tw * 0.8))
        top += tw // 4
    if layout == 1 and spec.get("size_txt"):
        m = _fit(
            _hand(rng, f"Gr. {spec['size_txt']}", str(spec["st_font"]), tw // 5, rng.uniform(-6, 6)), tw * 3 // 4, tw
        )
        ink(img, m, inkc, (tw - m.shape[1]) // 2, top, 0.9)
        top += m.shape[0] + tw // 12
    price = _fit(
        _hand(rng, str(spec["price"]), str(spec["st_font"]), int(tw * 0.42), rng.uniform(-9, 6)),
        int(tw * 0.86),
        th - top - 4,
    )
    py = top + max(0, (th - top - price.shape[0]) // 2 - (tw // 8 if layout == 2 else 0))
    ink(img, price, inkc, (tw - price.shape[1]) // 2, py, 0.93)
    if layout == 2:
        ref = _fit(
            _hand(rng, str(spec["sku"]).split("-")[-1].lstrip("0"), str(spec["st_font"]), tw // 6, 0), tw // 2, tw
        )
        ink(img, ref, inkc, tw - ref.shape[1] - tw // 10, th - ref.shape[0] - tw // 10, 0.8)
    return img, alpha, hole


def _round_rect(w: int, h: int, r: int) -> Arr:
    """Return a rounded-rectangle mask (h, w) float32 with corner radius ``r`` px."""
    m = np.zeros((h, w), np.uint8)
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(m, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return m.astype(np.float32) / 255.0


def _line(
    img: Arr,
    text: str,
    font_name: str,
    size: int,
    box: tuple[int, int, int, int],
    rgb: tuple[int, int, int],
    align: str,
) -> int:
    """Print one text line fitted into ``box`` (x, y, w, h) px with ``align`` l/c/r; return its height."""
    x, y, w, h = box
    m = _fit(text_mask(text, font_name, size), w, h)
    if align == "c":
        x += (w - m.shape[1]) // 2
    elif align == "r":
        x += w - m.shape[1]
    ink(img, m, rgb, x, y)
    return m.shape[0]


def _code_block(img: Arr, spec: dict, x: int, y: int, w: int, h: int) -> None:
    """Draw the style's barcode (EAN-13 or Code 128) with its human-readable line in a box."""
    sym = str(spec["st_symbology"])
    payload = str(spec["ean"]) if sym == "ean13" else str(spec["sku"])
    bw = w if sym == "code128" else int(w * 0.85)
    text_h = max(8, h // 5)
    mask, _ = barcode_mask(sym, payload, bw, h - text_h)
    ink(img, mask, (20, 20, 22), x + (w - bw) // 2, y)
    _line(img, payload, "dejavu_mono", text_h, (x, y + h - text_h, w, text_h), (25, 25, 25), "c")


def _thermal(rng: np.random.Generator, spec: dict, tw: int) -> Face:
    """Draw a white thermal-printer sticker ``tw`` px wide: shop, barcode, price and SKU."""
    th = int(tw * rng.uniform(0.62, 0.8))
    alpha = _round_rect(tw, th, max(2, tw // 30))
    img = _paper(rng, th, tw, str(spec["st_paper"]), 0.012)
    m = tw // 16
    inner = tw - 2 * m
    dark = (28, 28, 30)
    lf, pf = str(spec["st_label_font"]), str(spec["st_font"])
    layout = int(spec["st_layout"])
    y = m // 2
    y += _line(img, str(spec["shop"]).upper(), lf, th // 9, (m, y, inner, th // 8), dark, "l" if layout else "c")
    if layout == 2:
        cv2.line(img, (m, y + m // 3), (tw - m, y + m // 3), dark, max(1, th // 120))
    y += m // 2
    price_h = int(th * 0.22)
    code_h = int(th * 0.4)
    if layout == 1:
        _line(img, str(spec["price"]), pf, price_h, (m, y, inner, price_h), dark, "r")
        _code_block(img, spec, m, y + price_h + m // 3, inner, code_h)
    else:
        _code_block(img, spec, m, y, inner, code_h)
        py = y + code_h + m // 3
        _line(img, str(spec["price"]), pf, price_h, (tw // 3, py, tw - tw // 3 - m, price_h), dark, "r")
        small = max(8, th // 14)
        _line(img, str(spec["sku"]), "dejavu_mono", small, (m, py, tw // 3, small), dark, "l")
        if spec.get("size_txt"):
            _line(img, f"Gr/Size {spec['size_txt']}", lf, small, (m, py + small + 2, tw // 3, small), dark, "l")
    fade = np.clip(0.9 + 0.2 * smooth(rng, th, tw, 3), 0.7, 1.0)
    img = 255.0 - (255.0 - img) * fade[..., None]
    return img, alpha, None


def _qr(rng: np.random.Generator, spec: dict, tw: int) -> Face:
    """Draw a card label ``tw`` px wide with a QR code (SKU or shop URL), price and shop name."""
    layout = int(spec["st_layout"])
    th = int(tw * (0.55 if layout != 1 else 1.45))
    alpha = _round_rect(tw, th, max(2, tw // 40))
    img = _paper(rng, th, tw, str(spec["st_paper"]), 0.015)
    m = tw // 14
    dark = hex_rgb(str(spec["st_ink"]))
    lf, pf = str(spec["st_label_font"]), str(spec["st_font"])
    hole: tuple[int, int] | None = None
    if layout == 1:
        hole = (tw // 2, m)
        cv2.circle(alpha, hole, max(3, tw // 25), 0.0, -1, cv2.LINE_AA)
        y = 2 * m + _line(img, str(spec["shop"]), lf, tw // 9, (m, 2 * m, tw - 2 * m, tw // 8), dark, "c")
        q = int(tw * 0.62)
        ink(img, qr_mask(str(spec["qr"]), q), (15, 15, 15), (tw - q) // 2, y + m // 2)
        y += q + m
        _line(img, str(spec["price"]), pf, th // 8, (m, y, tw - 2 * m, th - y - m), dark, "c")
        return img, alpha, hole
    q = th - 2 * m
    ink(img, qr_mask(str(spec["qr"]), q), (15, 15, 15), m, m)
    x = 2 * m + q
    rest = tw - x - m
    y = m + _line(img, str(spec["shop"]), lf, th // 7, (x, m, rest, th // 6), dark, "l")
    y += _line(img, str(spec["price"]), pf, th // 3, (x, y + m, rest, th // 3), dark, "l") + m
    _line(img, str(spec["sku"]), "dejavu_mono", th // 10, (x, y + m, rest, th // 10), dark, "l")
    return img, alpha, hole


def _sticker(rng: np.random.Generator, spec: dict, tw: int) -> Face:
    """Draw a small round or rectangular colour price sticker ``tw`` px wide, price hand-written."""
    round_ = str(spec["st_shape"]) == "round"
    th = tw if round_ else int(tw * rng.uniform(0.6, 0.8))
    if round_:
        alpha = np.zeros((th, tw), np.float32)
        cv2.circle(alpha, (tw // 2, th // 2), tw // 2 - 1, 1.0, -1, cv2.LINE_AA)
    else:
        alpha = _round_rect(tw, th, max(2, tw // 12))
    img = _paper(rng, th, tw, str(spec["st_paper"]), 0.02)
    img *= (1.0 + 0.06 * smooth(rng, th, tw, 2))[..., None]
    price = _fit(
        _hand(rng, str(spec["price"]), str(spec["st_font"]), int(tw * 0.5), rng.uniform(-10, 10)),
        int(tw * 0.78),
        int(th * 0.72),
    )
    ink(img, price, hex_rgb(str(spec["st_ink"])), (tw - price.shape[1]) // 2, (th - price.shape[0]) // 2, 0.95)
    return img, alpha, None


def tag_face(rng: np.random.Generator, spec: dict, tw: int) -> Face:
    """Return the face of the shop's tag for ``spec`` (style ``st_family``), ``tw`` px wide."""
    family = str(spec["st_family"])
    if family == "kraft":
        return _kraft(rng, spec, tw)
    if family == "thermal":
        return _thermal(rng, spec, tw)
    if family == "qr":
        return _qr(rng, spec, tw)
    return _sticker(rng, spec, tw)
