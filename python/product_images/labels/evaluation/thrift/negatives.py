"""Faces of labels that are not the shop's price tag (hard negatives) in ``thrift``.

Each face function returns ``(rgb, alpha)``: rgb float32 (h, w, 3) 0–255 and alpha float32
(h, w) 0–1, drawn flat; ``w`` arguments are widths in px. The shoe-box end is a full scene.
"""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Arr, background, hex_rgb, ink, smooth, speckle, text_mask
from .codes import barcode_mask
from .tags import _fit, _line, _paper, _round_rect

__all__ = ["brand_label", "care_label", "retail_tag", "shoe_box_scene", "size_label"]

_LABEL_COLOURS = ((20, 20, 22), (245, 243, 236), (25, 35, 70), (150, 25, 30), (230, 225, 205))
_SERIF = ("nimbus_roman_bold", "liberation_serif_bold", "nimbus_roman_italic", "dejavu_serif")
_SANS = ("liberation_sans_bold", "nimbus_sans_bold", "dejavu_sans_bold", "nimbus_narrow_bold")


def _woven(rng: np.random.Generator, h: int, w: int, rgb: tuple[int, int, int]) -> Arr:
    """Return woven label cloth (h, w, 3): fine horizontal threads over ``rgb``."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = rgb
    period = max(2.0, h / 40)
    rows = 1.0 + 0.08 * np.sin(np.arange(h, dtype=np.float32) * 2 * np.pi / period)
    img *= rows[:, None, None] * (1.0 + 0.03 * speckle(rng, h, w, 1))[..., None]
    return img


def _contrast(rgb: tuple[int, int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    """Return a text colour (r, g, b) readable on a label of colour ``rgb``."""
    if sum(rgb) > 450:
        return (20, 20, 25) if rng.random() < 0.7 else (160, 30, 35)
    return (240, 236, 225) if rng.random() < 0.7 else (210, 180, 90)


def brand_label(rng: np.random.Generator, brand: str, size: str, w: int) -> tuple[Arr, Arr]:
    """Return a woven brand label (brand name, maybe the size) ``w`` px wide."""
    h = int(w * rng.uniform(0.35, 0.55))
    rgb = _LABEL_COLOURS[rng.integers(len(_LABEL_COLOURS))]
    img = _woven(rng, h, w, rgb)
    col = _contrast(rgb, rng)
    fonts = _SERIF + _SANS
    name = brand.upper() if rng.random() < 0.6 else brand
    main = h * 2 // 3 if not size or rng.random() < 0.5 else h // 2
    _line(
        img,
        name,
        fonts[rng.integers(len(fonts))],
        h // 2,
        (w // 10, (h - main) // 2 - (h // 8 if main < h * 2 // 3 else 0), w * 8 // 10, main),
        col,
        "c",
    )
    if main < h * 2 // 3 and size:
        _line(img, size, "dejavu_sans", h // 5, (w // 3, h * 3 // 4 - h // 10, w // 3, h // 5), col, "c")
    for x in (w // 30, w - w // 30):
        for y in range(0, h, max(3, h // 12)):
            cv2.line(img, (x, y), (x, y + max(2, h // 24)), tuple(c * 0.7 for c in col), max(1, w // 150))
    return img, np.ones((h, w), np.float32)


def size_label(rng: np.random.Generator, brand: str, size: str, w: int, leather: bool) -> tuple[Arr, Arr]:
    """Return a size label ``w`` px wide: small woven tab, or a leather waistband patch (W/L)."""
    if not leather:
        h = int(w * rng.uniform(0.5, 0.8))
        rgb = _LABEL_COLOURS[rng.integers(len(_LABEL_COLOURS))]
        img = _woven(rng, h, w, rgb)
        _line(
            img,
            size or "M",
            _SANS[rng.integers(len(_SANS))],
            int(h * 0.6),
            (w // 8, h // 6, w * 3 // 4, h * 2 // 3),
            _contrast(rgb, rng),
            "c",
        )
        return img, np.ones((h, w), np.float32)
    h = int(w * 0.55)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (150, 100, 60) if rng.random() < 0.6 else (200, 170, 130)
    img *= (1.0 + 0.12 * smooth(rng, h, w, 12) + 0.05 * speckle(rng, h, w, 1))[..., None]
    dark = (70, 40, 20)
    _line(
        img, brand.upper(), _SERIF[rng.integers(len(_SERIF))], h // 3, (w // 8, h // 8, w * 3 // 4, h // 3), dark, "c"
    )
    _line(img, size or "W32 L34", "liberation_sans_bold", h // 4, (w // 6, h * 11 // 20, w * 2 // 3, h // 4), dark, "c")
    cv2.rectangle(img, (w // 30, h // 20), (w - w // 30, h - h // 20), (60.0, 35.0, 20.0), max(1, w // 160))
    return img, _round_rect(w, h, max(2, w // 40))


def _wash_symbols(img: Arr, x: int, y: int, s: int, rng: np.random.Generator) -> None:
    """Draw five laundry symbols (tub 40, triangle, square, iron, circle) in a row, ``s`` px each."""
    c = (25.0, 25.0, 30.0)
    t = max(1, s // 14)
    pts = np.array([[x, y + s // 4], [x + s // 8, y + s], [x + s * 7 // 8, y + s], [x + s, y + s // 4]], np.int32)
    cv2.polylines(img, [pts], False, c, t, cv2.LINE_AA)
    ink(
        img,
        _fit(text_mask(rng.choice(["30", "40", "60"]), "dejavu_sans", s // 2), s * 2 // 3, s // 2),
        (25, 25, 30),
        x + s // 4,
        y + s // 3,
    )
    x += int(s * 1.3)
    tri = np.array([[x, y + s], [x + s // 2, y + s // 8], [x + s, y + s]], np.int32)
    cv2.polylines(img, [tri], True, c, t, cv2.LINE_AA)
    cv2.line(img, (x, y), (x + s, y + s), c, t, cv2.LINE_AA)
    x += int(s * 1.3)
    cv2.rectangle(img, (x, y + s // 8), (x + s, y + s), c, t, cv2.LINE_AA)
    cv2.circle(img, (x + s // 2, y + s * 9 // 16), s * 3 // 8, c, t, cv2.LINE_AA)
    x += int(s * 1.3)
    iron = np.array([[x, y + s], [x + s // 6, y + s // 3], [x + s, y + s // 3], [x + s, y + s]], np.int32)
    cv2.polylines(img, [iron], True, c, t, cv2.LINE_AA)
    cv2.circle(img, (x + s // 2, y + s * 3 // 4), max(1, s // 14), c, -1)
    x += int(s * 1.3)
    cv2.circle(img, (x + s // 2, y + s // 2 + s // 8), s * 7 // 16, c, t, cv2.LINE_AA)
    ink(img, _fit(text_mask("P", "dejavu_sans", s // 2), s // 2, s // 2), (25, 25, 30), x + s * 5 // 16, y + s // 3)


def care_label(rng: np.random.Generator, w: int) -> tuple[Arr, Arr]:
    """Return a white satin care label ``w`` px wide: fibre content, 40°, wash symbols, origin."""
    h = int(w * rng.uniform(1.3, 1.9))
    img = _paper(rng, h, w, "#f3f1ea", 0.01)
    img *= (1.0 + 0.05 * np.sin(np.linspace(0, 3 * np.pi, w, dtype=np.float32)))[None, :, None]
    fibre = rng.choice(
        ["100% COTTON", "100% BAUMWOLLE", "80% WOOL 20% POLYAMIDE", "100% POLYESTER", "95% COTTON 5% ELASTANE"]
    )
    lines = [
        fibre,
        "100% COTON" if "COTTON" in fibre else "LAINE / WOLLE",
        rng.choice(["40°", "30° WASH", "MACHINE WASH 40°C"]),
        "",
    ]
    lines += [
        rng.choice(["MADE IN BANGLADESH", "MADE IN TURKEY", "MADE IN PORTUGAL", "MADE IN CHINA"]),
        f"RN {rng.integers(10000, 99999)}  CA{rng.integers(10000, 99999)}",
    ]
    dark = (35, 35, 40)
    y = w // 8
    for text in lines:
        if text:
            y += (
                _line(img, text, "dejavu_sans", max(7, w // 12), (w // 10, y, w * 8 // 10, w // 10), dark, "c")
                + w // 25
            )
        else:
            s = w // 8
            _wash_symbols(img, (w - int(s * 6.2)) // 2, y + w // 20, s, rng)
            y += s + w // 8
    return img, np.ones((h, w), np.float32)


def retail_tag(rng: np.random.Generator, spec: dict, w: int) -> tuple[Arr, Arr, tuple[int, int]]:
    """Return (rgb, alpha, hole) of a brand's new-with-tags card ``w`` px wide: brand, EAN, size, price."""
    h = int(w * rng.uniform(1.5, 2.0))
    colours = ("#141414", "#f6f4ef", "#1d2b4f", "#c8b69a", "#ffffff", "#8b1e2d")
    paper = str(rng.choice(colours))
    img = _paper(rng, h, w, paper, 0.008)
    col = _contrast(hex_rgb(paper), rng)
    hole = (w // 2, w // 9)
    alpha = _round_rect(w, h, max(2, w // 25))
    cv2.circle(alpha, hole, max(3, w // 28), 0.0, -1, cv2.LINE_AA)
    fonts = _SERIF + _SANS
    _line(
        img,
        str(spec["brand"]).upper(),
        fonts[rng.integers(len(fonts))],
        w // 5,
        (w // 10, w // 4, w * 8 // 10, w // 4),
        col,
        "c",
    )
    y = w // 4 + w // 3
    _line(
        img, f"SIZE {spec.get('size_txt', 'M')}", "liberation_sans", w // 12, (w // 8, y, w * 3 // 4, w // 10), col, "c"
    )
    y += w // 6
    if spec.get("retail_price"):
        _line(img, str(spec["retail_price"]), "liberation_sans_bold", w // 7, (w // 8, y, w * 3 // 4, w // 6), col, "c")
        y += w // 5
    card_h = min(h - y - w // 10, int(w * 0.55))
    white = np.array([250.0, 250.0, 248.0], np.float32)
    img[y : y + card_h, w // 10 : w - w // 10] = white
    mask, _ = barcode_mask("ean13", str(spec["ean"]), w * 7 // 10, int(card_h * 0.72))
    ink(img, mask, (15, 15, 15), w * 3 // 20, y + card_h // 20)
    _line(
        img,
        str(spec["ean"]),
        "dejavu_mono",
        card_h // 6,
        (w // 8, y + card_h * 4 // 5, w * 3 // 4, card_h // 6),
        (20, 20, 20),
        "c",
    )
    return img, alpha, hole


def _box_sticker(rng: np.random.Generator, spec: dict, sw: int, sh: int) -> Arr:
    """Return the white size sticker of a shoe box (sh, sw, 3): article, sizes, origin, EAN."""
    sticker = _paper(rng, sh, sw, "#f8f8f5", 0.01)
    dark = (20, 20, 22)
    size = str(spec.get("size_txt") or "EU 42")
    eu = int(size.split()[-1]) if size.split()[-1].isdigit() else 42
    origin = str(rng.choice(["MADE IN VIETNAM", "MADE IN INDONESIA", "MADE IN CHINA"]))
    rows = (
        (str(spec["article"]), "liberation_sans_bold", sh // 9),
        (f"US {eu - 33}   UK {eu - 34}   {size}", "liberation_sans", sh // 10),
        (origin, "liberation_sans", sh // 14),
    )
    y = sh // 20
    for text, font_name, px in rows:
        y += _line(sticker, text, font_name, px, (sw // 20, y, sw * 9 // 10, px + px // 4), dark, "l") + sh // 25
    code_h = sh - y - sh // 6
    mask, _ = barcode_mask("ean13", str(spec["ean"]), int(sw * 0.7), max(8, code_h))
    ink(sticker, mask, dark, sw // 20, y)
    box = (sw // 20, sh - sh // 9, int(sw * 0.7), sh // 12)
    _line(sticker, str(spec["ean"]), "dejavu_mono", sh // 12, box, dark, "c")
    return sticker


def shoe_box_scene(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return the end of a shoe box filling most of the frame (h, w, 3): brand, size sticker, EAN."""
    colours = ((200, 120, 50), (190, 160, 120), (30, 30, 32), (240, 240, 236), (200, 40, 40), (60, 90, 150))
    img = background(rng, str(spec.get("bg", "wood")), h, w)
    bx, by = int(w * rng.uniform(0.02, 0.1)), int(h * rng.uniform(0.15, 0.3))
    bw, bh = w - 2 * bx, int(h * rng.uniform(0.45, 0.6))
    rgb = colours[rng.integers(len(colours))]
    box = np.empty((bh, bw, 3), np.float32)
    box[:] = rgb
    box *= (1.0 + 0.05 * speckle(rng, bh, bw, 2) + 0.04 * smooth(rng, bh, bw, 4))[..., None]
    img[by + bh : by + bh + h // 60, bx : bx + bw] *= 0.6
    img[by : by + bh, bx : bx + bw] = box
    col = _contrast(rgb, rng)
    font_name = _SANS[rng.integers(len(_SANS))]
    _line(
        img, str(spec["brand"]).upper(), font_name, bh // 3, (bx + bw // 20, by + bh // 5, bw // 3, bh // 3), col, "l"
    )
    sw, sh = int(bw * 0.5), int(bh * 0.8)
    sx, sy = bx + bw - sw - bw // 20, by + (bh - sh) // 2
    img[sy : sy + sh, sx : sx + sw] = _box_sticker(rng, spec, sw, sh)
    return img
