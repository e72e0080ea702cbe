"""The shop's own price tags (the labels the detector must find), drawn as RGBA sprites.

Each drawer takes the photo's spec (a dict of plain values chosen by :mod:`.catalog`), a
random generator and ``ppm`` (pixels per millimetre) and returns a uint8 RGBA sprite
(rows × cols × 4, transparent outside the tag). Styles:

* ``swing``: a card swing tag on a string, printed shop name, price written with a pen;
* ``printer``: a white label-printer sticker, price, SKU, Code 128 or in-store EAN-13;
* ``qr``: a small label with a QR code of the SKU;
* ``dot``: a round coloured sticker with a short marker price;
* ``tape``: a strip of masking tape with a marker price.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .codes import barcode_image, qr_image
from .hand import hand_mask
from .ink import card, fit_text, ink, paper_grain, place, text

__all__ = ["PENS", "TAG_STYLES", "draw_tag"]

TAG_STYLES = ("swing", "printer", "qr", "dot", "tape")

# pen name -> (ink colour, stroke weight as a fraction of the digit height)
PENS: dict[str, tuple[str, float]] = {
    "ballpoint_blue": ("#1f3a8a", 0.055),
    "ballpoint_black": ("#202028", 0.055),
    "felt_black": ("#15151a", 0.1),
    "marker_black": ("#101012", 0.16),
    "marker_red": ("#c0262d", 0.15),
    "marker_blue": ("#1c3f9e", 0.15),
}


def _pen(spec: dict[str, Any]) -> tuple[str, float]:
    """The (colour, weight) of the shop's pen."""
    return PENS.get(str(spec.get("tag_pen", "felt_black")), PENS["felt_black"])


def _logo(img: np.ndarray, kind: str, cx: float, cy: float, r: float, color: str, initials: str) -> None:
    """Print a small logo (``circle`` with initials, ``hanger``, ``star``) centred at (cx, cy), radius r px."""
    c = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)) + (255,)
    t = max(1, int(r * 0.12))
    if kind == "circle":
        cv2.circle(img, (int(cx), int(cy)), int(r), c, t, cv2.LINE_AA)
        text(img, (cx, cy), initials, "serif_bold", max(6, int(r * 0.9)), color)
    elif kind == "hanger":
        pts = np.array([[cx - r, cy + r * 0.5], [cx, cy - r * 0.2], [cx + r, cy + r * 0.5], [cx - r, cy + r * 0.5]])
        cv2.polylines(img, [pts.astype(np.int32)], False, c, t, cv2.LINE_AA)
        cv2.ellipse(img, (int(cx), int(cy - r * 0.45)), (int(r * 0.22), int(r * 0.25)), 0, 180, 450, c, t, cv2.LINE_AA)
    elif kind == "star":
        a = np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:-1]
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        pts = np.stack([cx + rad * np.cos(a), cy + rad * np.sin(a)], 1).astype(np.int32)
        cv2.fillPoly(img, [pts], c, cv2.LINE_AA)


def _swing(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A card swing tag with a string loop above its hole (portrait, about 45 × 80 mm)."""
    w, h = int(float(spec.get("tag_w", 45)) * ppm), int(float(spec.get("tag_h", 80)) * ppm)
    top = int(0.45 * w)
    body = card(w, h, str(spec["tag_paper"]), clip=0.2 * w)
    paper_grain(body, rng, 0.025, fibres=int(40 * (spec["tag_paper"] == "#b9905e")))
    img = np.zeros((h + top, w, 4), np.uint8)
    img[top:] = body
    hx, hy = w // 2, top + int(0.16 * w)
    cv2.circle(img, (hx, hy), int(4.2 * ppm), (236, 232, 222, 255), -1, cv2.LINE_AA)
    cv2.circle(img, (hx, hy), int(2.2 * ppm), (0, 0, 0, 0), -1, cv2.LINE_AA)
    twine = (225, 214, 190, 255) if rng.random() < 0.6 else (190, 40, 40, 255)
    sway = rng.uniform(-0.3, 0.3) * w
    pts = np.array([[hx, hy], [hx + sway * 0.4, top * 0.55], [hx + sway, 0]], np.float32)
    curve = np.array([(1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2] for t in np.linspace(0, 1, 20)])
    cv2.polylines(img, [curve.astype(np.int32)], False, twine, max(1, int(0.8 * ppm)), cv2.LINE_AA)
    ink_col, fname = str(spec["tag_ink"]), str(spec["tag_font"])
    y = top + 0.3 * w
    if spec.get("tag_logo", "none") != "none":
        _logo(img, str(spec["tag_logo"]), w / 2, y + 0.1 * w, 0.1 * w, ink_col, str(spec["shop_name"])[:1])
        y += 0.24 * w
    name = str(spec["shop_name"])
    text(img, (w / 2, y + 0.06 * w), name, fname, fit_text(name, fname, 0.84 * w, 0.13 * w), ink_col)
    y += 0.16 * w
    tagline = str(spec.get("shop_tagline", ""))
    if tagline:
        text(img, (w / 2, y + 0.03 * w), tagline, "sans", fit_text(tagline, "sans", 0.8 * w, 0.06 * w), ink_col)
        y += 0.1 * w
    pen, weight = _pen(spec)
    layout = str(spec.get("tag_layout", "free"))
    slant = float(rng.uniform(0.0, 0.3))
    if layout == "fields":
        labels = [("Size", str(spec.get("size_text", "M"))), ("Price", str(spec["price"]))]
        for i, (lab, val) in enumerate(labels):
            ly = y + (0.28 + 0.3 * i) * w
            text(img, (0.08 * w, ly), lab + ":", "sans", int(0.075 * w), ink_col, anchor="ls")
            cv2.line(img, (int(0.35 * w), int(ly)), (int(0.92 * w), int(ly)), (60, 60, 60, 255), 1, cv2.LINE_AA)
            m = hand_mask(val, 0.16 * w, rng, weight, slant)
            place(img, m, 0.63 * w, ly - 0.09 * w, 0.58 * w, 0.3 * w, pen)
    else:
        cy = top + h * 0.62 if layout == "free" else y + 0.35 * w
        m = hand_mask(str(spec["price"]), 0.24 * w, rng, weight, slant)
        place(img, m, w / 2 + rng.uniform(-0.05, 0.05) * w, cy, 0.86 * w, 0.4 * w, pen)
        if rng.random() < 0.5:
            sku = "#" + str(spec.get("sku", "123"))[-4:]
            place(img, hand_mask(sku, 0.08 * w, rng, weight * 1.2, slant), w / 2, top + h * 0.9, 0.6 * w, 0.12 * w, pen)
    return img


def _printer(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A thermal label-printer sticker (about 50 × 30 mm) with price, SKU and a barcode."""
    w, h = int(float(spec.get("tag_w", 50)) * ppm), int(float(spec.get("tag_h", 30)) * ppm)
    img = card(w, h, str(spec["tag_paper"]), radius=2 * ppm)
    paper_grain(img, rng, 0.01)
    k, f_bold = "#1b1b1b", "dejavu_bold"
    name = str(spec["shop_name"]).upper()
    text(img, (0.05 * w, 0.05 * h), name, f_bold, fit_text(name, f_bold, 0.9 * w, 0.1 * h), k, anchor="lt")
    item = str(spec.get("item_short", "ARTIKEL"))
    text(img, (0.05 * w, 0.2 * h), item, "condensed", fit_text(item, "condensed", 0.9 * w, 0.07 * h), k, anchor="lm")
    price = str(spec["price"])
    size = fit_text(price, str(spec["tag_font"]), 0.9 * w, 0.17 * h)
    text(img, (0.95 * w, 0.35 * h), price, str(spec["tag_font"]), size, k, anchor="rm")
    sku = str(spec["sku"])
    code = str(spec.get("tag_code", "code128"))
    data = str(spec["ean"])[:12] if code == "ean13" else sku
    n_mod = 95 + 18 if code == "ean13" else 11 * (len(sku) + 3) + 2 + 18
    mod = max(1, int(0.9 * w / n_mod))
    bar = barcode_image("ean13" if code == "ean13" else "code128", data, mod, int(0.3 * h), quiet=9)
    bx = (w - bar.shape[1]) // 2
    ink(img, 255 - bar, bx, int(0.46 * h), k)
    hr = str(spec["ean"]) if code == "ean13" else sku
    text(img, (w / 2, 0.8 * h), hr, "mono", fit_text(hr, "mono", 0.6 * w, 0.09 * h), k, anchor="mt")
    extra = str(spec.get("consignor", ""))
    if extra:
        text(img, (0.05 * w, 0.95 * h), extra, "condensed", int(0.08 * h), k, anchor="lb")
    if rng.random() < 0.3:  # a dry print head leaves a faint streak
        y = int(rng.integers(0, h))
        img[y : y + max(1, int(0.3 * ppm)), :, :3] = np.maximum(img[y : y + max(1, int(0.3 * ppm)), :, :3], 200)
    return img


def _qr(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A small label (about 40 × 25 mm) with the SKU as a QR code and as text."""
    w, h = int(float(spec.get("tag_w", 40)) * ppm), int(float(spec.get("tag_h", 25)) * ppm)
    img = card(w, h, str(spec["tag_paper"]), radius=1.5 * ppm)
    paper_grain(img, rng, 0.01)
    data = str(spec["qr_data"])
    q0 = qr_image(data, 1, border=1)
    mod = max(2, int(0.82 * h / q0.shape[0]))
    q = qr_image(data, mod, border=1)
    k = "#151515"
    ink(img, 255 - q, int(0.06 * h), (h - q.shape[0]) // 2, k)
    x0 = 0.1 * h + q.shape[1]
    rest = w - x0 - 0.04 * w
    sku = str(spec["sku"])
    name = str(spec["shop_name"])
    text(img, (x0, 0.2 * h), name, "sans_bold", fit_text(name, "sans_bold", rest, 0.14 * h), k, anchor="lm")
    text(img, (x0, 0.45 * h), "SKU", "sans", int(0.11 * h), k, anchor="lm")
    text(img, (x0, 0.62 * h), sku, "mono_bold", fit_text(sku, "mono_bold", rest, 0.15 * h), k, anchor="lm")
    if spec.get("tag_layout") == "price":
        price = str(spec["price"])
        text(img, (x0, 0.85 * h), price, "sans_bold", fit_text(price, "sans_bold", rest, 0.18 * h), k, anchor="lm")
    return img


def _dot(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A round coloured sticker (13–25 mm) with a short price in marker, and a soft gloss."""
    d = int(float(spec.get("tag_w", 19)) * ppm)
    img = np.zeros((d, d, 4), np.uint8)
    col = str(spec["tag_paper"])
    c = tuple(int(col[i : i + 2], 16) for i in (1, 3, 5))
    cv2.circle(img, (d // 2, d // 2), d // 2 - 1, (*c, 255), -1, cv2.LINE_AA)
    paper_grain(img, rng, 0.012)
    pen, weight = _pen(spec)
    m = hand_mask(str(spec["price_short"]), 0.42 * d, rng, max(weight, 0.12), float(rng.uniform(0, 0.25)))
    place(img, m, d / 2, d / 2, 0.78 * d, 0.6 * d, pen)
    return img


def _tape(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A strip of masking tape (about 60 × 19 mm) with torn ends and a marker price."""
    w, h = int(float(spec.get("tag_w", 60)) * ppm), int(float(spec.get("tag_h", 19)) * ppm)
    img = card(w, h, str(spec["tag_paper"]), alpha=238)
    paper_grain(img, rng, 0.03)
    for x_edge in (0, w):  # torn ends: zig-zag alpha
        ys = np.arange(h)
        depth = (np.abs(np.cumsum(rng.normal(0, 0.6, h))) % 3 + rng.uniform(0, 2, h)) * ppm * 0.6
        for y, dd in zip(ys, depth, strict=True):
            if x_edge == 0:
                img[y, : int(dd), 3] = 0
            else:
                img[y, w - int(dd) :, 3] = 0
    pen, weight = _pen(spec)
    m = hand_mask(str(spec["price"]), 0.55 * h, rng, max(weight, 0.11), float(rng.uniform(0, 0.3)))
    place(img, m, w / 2, h / 2, 0.82 * w, 0.8 * h, pen)
    return img


def draw_tag(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """Draw the shop tag of style ``spec["tag_style"]`` at ``ppm`` px/mm; returns uint8 RGBA."""
    drawer = {"swing": _swing, "printer": _printer, "qr": _qr, "dot": _dot, "tape": _tape}[str(spec["tag_style"])]
    return drawer(spec, rng, ppm)
