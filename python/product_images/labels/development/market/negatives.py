"""Hard negatives: things in shop photos that carry text, numbers or codes but are not the shop's tag.

Each drawer returns a uint8 RGBA sprite (rows × cols × 4) at ``ppm`` pixels per millimetre:
woven brand labels, care labels, size labels, a brand's retail hang tag (with a printed
retail price), a shoe-box end label (barcode, sizes, no price) and a measuring tape.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .codes import barcode_image
from .ink import card, fit_text, ink, paper_grain, text

__all__ = ["draw_negative"]


def _woven(img: np.ndarray, ppm: float) -> None:
    """Give a label a woven look: fine horizontal ribs every ~0.3 mm, in place."""
    h = img.shape[0]
    period = max(2, int(0.3 * ppm))
    rib = (np.arange(h) % period == 0)[:, None, None]
    img[..., :3] = np.where(rib, (img[..., :3] * 0.85).astype(np.uint8), img[..., :3])


def _brand_label(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A woven brand label (about 45 × 16 mm): brand name, sometimes a small second line."""
    w, h = int(45 * ppm), int(16 * ppm)
    bg, fg = (str(spec["label_bg"]), str(spec["label_fg"]))
    img = card(w, h, bg)
    brand = str(spec["brand"])
    fname = str(spec.get("label_font", "serif_bold"))
    text(img, (w / 2, h * 0.45), brand, fname, fit_text(brand, fname, 0.8 * w, 0.5 * h), fg)
    if rng.random() < 0.5:
        sub = str(spec.get("label_sub", "MADE IN PORTUGAL"))
        text(img, (w / 2, h * 0.82), sub, "sans", fit_text(sub, "sans", 0.6 * w, 0.14 * h), fg)
    _woven(img, ppm)
    return img


def _care_symbol(img: np.ndarray, kind: int, cx: float, cy: float, r: float, temp: str) -> None:
    """Draw one laundry symbol (0 tub, 1 triangle, 2 iron, 3 square-circle, 4 circle) at (cx, cy), size r px."""
    c, t = (30, 30, 30, 255), max(1, int(r * 0.12))
    if kind == 0:
        pts = np.array(
            [
                [cx - r, cy - r * 0.5],
                [cx - r * 0.7, cy + r * 0.6],
                [cx + r * 0.7, cy + r * 0.6],
                [cx + r, cy - r * 0.5],
            ],
            np.int32,
        )
        cv2.polylines(img, [pts], False, c, t, cv2.LINE_AA)
        text(img, (cx, cy + r * 0.1), temp, "sans", int(r * 0.9), "#1e1e1e")
    elif kind == 1:
        pts = np.array([[cx, cy - r], [cx + r, cy + r * 0.7], [cx - r, cy + r * 0.7]], np.int32)
        cv2.polylines(img, [pts], True, c, t, cv2.LINE_AA)
        cv2.line(img, (int(cx - r), int(cy - r)), (int(cx + r), int(cy + r)), c, t, cv2.LINE_AA)
    elif kind == 2:
        pts = np.array(
            [
                [cx - r, cy + r * 0.5],
                [cx - r * 0.6, cy - r * 0.4],
                [cx + r * 0.8, cy - r * 0.4],
                [cx + r, cy + r * 0.5],
            ],
            np.int32,
        )
        cv2.polylines(img, [pts], True, c, t, cv2.LINE_AA)
        cv2.circle(img, (int(cx), int(cy + r * 0.1)), max(1, int(r * 0.1)), c, -1, cv2.LINE_AA)
    elif kind == 3:
        cv2.rectangle(img, (int(cx - r), int(cy - r)), (int(cx + r), int(cy + r)), c, t, cv2.LINE_AA)
        cv2.circle(img, (int(cx), int(cy)), int(r * 0.8), c, t, cv2.LINE_AA)
    else:
        cv2.circle(img, (int(cx), int(cy)), int(r), c, t, cv2.LINE_AA)
        text(img, (cx, cy), "P", "sans", int(r * 1.2), "#1e1e1e")


def _care_label(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A satin care label (about 30 × 70 mm): composition in several languages and laundry symbols."""
    w, h = int(30 * ppm), int(70 * ppm)
    img = card(w, h, "#f4f2ee")
    paper_grain(img, rng, 0.015)
    lines = str(spec["care_text"]).split("|")
    y = 0.06 * h
    for line in lines:
        text(
            img, (w / 2, y), line, "condensed", fit_text(line, "condensed", 0.88 * w, 0.05 * h), "#2b2b2b", anchor="mt"
        )
        y += 0.065 * h
    r = w * 0.08
    for i in range(5):
        _care_symbol(img, i, w * (0.12 + 0.19 * i), h * 0.9, r, str(spec.get("wash", "30")))
    return img


def _size_label(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A small printed or woven size label (about 20 × 16 mm) with e.g. "M", "38", "W32 L34"."""
    size = str(spec["size_text"])
    w, h = int(max(20, 6 * len(size)) * ppm), int(16 * ppm)
    img = card(w, h, str(spec["label_bg"]))
    text(img, (w / 2, h / 2), size, "sans_bold", fit_text(size, "sans_bold", 0.8 * w, 0.6 * h), str(spec["label_fg"]))
    _woven(img, ppm)
    return img


def _retail_tag(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A brand's printed retail hang tag (about 50 × 90 mm): logo, size, printed RRP, EAN-13 barcode."""
    w, h = int(50 * ppm), int(90 * ppm)
    bg, fg = str(spec["label_bg"]), str(spec["label_fg"])
    img = card(w, h, bg, radius=3 * ppm)
    cv2.circle(img, (w // 2, int(0.08 * h)), int(2.5 * ppm), (0, 0, 0, 0), -1, cv2.LINE_AA)
    brand = str(spec["brand"]).upper()
    text(img, (w / 2, 0.22 * h), brand, "display_bold", fit_text(brand, "display_bold", 0.85 * w, 0.1 * h), fg)
    white = card(w - int(8 * ppm), int(0.42 * h), "#fdfdfb")
    y0 = int(0.52 * h)
    img[y0 : y0 + white.shape[0], int(4 * ppm) : int(4 * ppm) + white.shape[1]] = white
    k = "#151515"
    art = str(spec["article"])
    text(img, (w * 0.12, y0 + 0.05 * h), "ART. " + art, "condensed", int(0.035 * h), k, anchor="lm")
    text(
        img,
        (w * 0.12, y0 + 0.1 * h),
        "SIZE " + str(spec["size_text"]),
        "condensed_bold",
        int(0.045 * h),
        k,
        anchor="lm",
    )
    rrp = str(spec["retail_price"])
    text(
        img, (w * 0.88, y0 + 0.09 * h), rrp, "sans_bold", fit_text(rrp, "sans_bold", 0.45 * w, 0.07 * h), k, anchor="rm"
    )
    bar = barcode_image("ean13", str(spec["retail_ean"])[:12], max(1, int(0.75 * w / 113)), int(0.14 * h), quiet=9)
    ink(img, 255 - bar, (w - bar.shape[1]) // 2, y0 + int(0.16 * h), k)
    code = str(spec["retail_ean"])
    text(img, (w / 2, y0 + 0.33 * h), code, "mono", fit_text(code, "mono", 0.7 * w, 0.04 * h), k, anchor="mt")
    return img


def _shoe_box(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A shoe-box end label (about 95 × 45 mm): brand, model, size run, style code, EAN-13; no price."""
    w, h = int(95 * ppm), int(45 * ppm)
    img = card(w, h, "#f7f7f3")
    paper_grain(img, rng, 0.01)
    k = "#161616"
    brand, model = str(spec["brand"]).upper(), str(spec["model"]).upper()
    text(
        img,
        (0.04 * w, 0.12 * h),
        brand,
        "dejavu_bold",
        fit_text(brand, "dejavu_bold", 0.4 * w, 0.13 * h),
        k,
        anchor="lm",
    )
    text(img, (0.04 * w, 0.3 * h), model, "condensed", fit_text(model, "condensed", 0.5 * w, 0.1 * h), k, anchor="lm")
    sizes = str(spec["size_run"]).split("|")
    for i, s in enumerate(sizes):
        x = w * (0.06 + 0.13 * i)
        lab, val = s.split(" ")
        text(img, (x, 0.5 * h), lab, "sans", int(0.08 * h), k)
        text(img, (x, 0.68 * h), val, "sans_bold", int(0.13 * h), k)
    style = str(spec["article"])
    text(img, (0.04 * w, 0.9 * h), style, "mono_bold", fit_text(style, "mono_bold", 0.35 * w, 0.1 * h), k, anchor="lm")
    bar = barcode_image("ean13", str(spec["retail_ean"])[:12], max(1, int(0.36 * w / 113)), int(0.4 * h), quiet=9)
    ink(img, 255 - bar, int(0.6 * w), int(0.38 * h), k)
    code = str(spec["retail_ean"])
    text(img, (0.6 * w + bar.shape[1] / 2, 0.85 * h), code, "mono", fit_text(code, "mono", 0.35 * w, 0.09 * h), k)
    return img


def _measuring_tape(spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """A tailor's measuring tape (16 mm wide, about 25 cm long) with mm ticks and cm numbers."""
    start = int(spec.get("tape_start", 20))
    length_cm = 25
    w, h = int(length_cm * 10 * ppm), int(16 * ppm)
    img = card(w, h, str(spec.get("tape_color", "#f2d43a")))
    k = (25, 25, 25, 255)
    for mm in range(length_cm * 10):
        x = int((mm + 0.5) * ppm)
        ln = 0.32 if mm % 10 == 0 else (0.22 if mm % 5 == 0 else 0.14)
        for y0, y1 in ((0, int(ln * h)), (h - int(ln * h), h)):
            cv2.line(img, (x, y0), (x, y1), k, max(1, int(0.15 * ppm)))
        if mm % 10 == 0:
            text(
                img,
                (x, h / 2),
                str(start + mm // 10),
                "sans_bold",
                int(0.32 * h),
                "#c01818" if (start + mm // 10) % 10 == 0 else "#1a1a1a",
            )
    return img


def draw_negative(kind: str, spec: dict[str, Any], rng: np.random.Generator, ppm: float) -> np.ndarray:
    """Draw the sprite of negative ``kind`` at ``ppm`` px/mm; returns uint8 RGBA."""
    drawer = {
        "brand_label": _brand_label,
        "care_label": _care_label,
        "size_label": _size_label,
        "retail_tag": _retail_tag,
        "shoe_box": _shoe_box,
        "measuring_tape": _measuring_tape,
    }[kind]
    return drawer(spec, rng, ppm)
