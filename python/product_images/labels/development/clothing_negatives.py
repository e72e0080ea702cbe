"""Hard negatives of the clothing renderer: care, woven, size labels, brand hang tags, shoe boxes.

Part of :mod:`product_images.labels.development.clothing`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from .clothing_codes import _draw_barcode, _paste_code, ean13_full
from .clothing_specs import _BRANDS, _COUNTRIES, _FIBRES, PhotoSpec
from .clothing_tags import _tag_canvas
from .clothing_text import _draw_text, _fit_size


def _washing_symbols(d: ImageDraw.ImageDraw, x: float, y: float, s: float, ink, lw: int, rng: random.Random) -> None:
    """Draw 4–5 care symbols (tub, triangle, square-circle, iron, circle) of ``s`` px from (x, y)."""
    items = ["tub", "tri", "dry", "iron", "circle"]
    rng.shuffle(items)
    for i, k in enumerate(items[: rng.randint(4, 5)]):
        ox = x + i * s * 1.25
        if k == "tub":
            d.line(
                [(ox, y + s * 0.3), (ox + s * 0.15, y + s), (ox + s * 0.85, y + s), (ox + s, y + s * 0.3)],
                fill=ink,
                width=lw,
            )
            d.line(
                [
                    (ox + s * 0.1, y + s * 0.35),
                    (ox + s * 0.3, y + s * 0.25),
                    (ox + s * 0.5, y + s * 0.35),
                    (ox + s * 0.7, y + s * 0.25),
                    (ox + s * 0.9, y + s * 0.35),
                ],
                fill=ink,
                width=lw,
            )
        elif k == "tri":
            d.polygon([(ox + s / 2, y), (ox + s, y + s), (ox, y + s)], outline=ink, width=lw)
            d.line([(ox, y), (ox + s, y + s)], fill=ink, width=lw)
            d.line([(ox + s, y), (ox, y + s)], fill=ink, width=lw)
        elif k == "dry":
            d.rectangle((ox, y, ox + s, y + s), outline=ink, width=lw)
            d.ellipse((ox + s * 0.15, y + s * 0.15, ox + s * 0.85, y + s * 0.85), outline=ink, width=lw)
        elif k == "iron":
            d.polygon(
                [(ox, y + s), (ox + s, y + s), (ox + s * 0.85, y + s * 0.35), (ox + s * 0.25, y + s * 0.35)],
                outline=ink,
                width=lw,
            )
            d.ellipse((ox + s * 0.45, y + s * 0.6, ox + s * 0.55, y + s * 0.7), fill=ink)
        else:
            d.ellipse((ox, y, ox + s, y + s), outline=ink, width=lw)
            _draw_text(d, (ox + s / 2, y + s / 2), "P", int(s * 0.6), ink, 0, "mm")


def _care_label(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """A care label: fibres, origin, washing temperature, an RN number and the care symbols."""
    w, h = int(scale * 0.55), scale
    paper = rng.choice(((245, 245, 240), (240, 236, 225), (250, 250, 250)))
    tag, d = _tag_canvas(paper, (w, h), "rect", rng)
    ink = rng.choice(((40, 40, 40), (60, 60, 90)))
    lines = []
    fibres = rng.sample(_FIBRES, rng.randint(1, 2))
    if len(fibres) == 1:
        lines.append(f"100% {fibres[0]}")
    else:
        p = rng.choice((95, 80, 70, 65, 60))
        lines += [f"{p}% {fibres[0]}", f"{100 - p}% {fibres[1]}"]
    lines += [
        f"MADE IN {rng.choice(_COUNTRIES)}",
        f"{rng.choice((30, 40, 60))}°",
        f"RN {rng.randint(10000, 99999)}",
    ]
    y = h * 0.06
    for ln in lines:
        size = _fit_size(ln, w * 0.85, h * 0.07)
        _draw_text(d, (w / 2, y), ln, size, ink, 0, "ma")
        y += size * 1.5
    _washing_symbols(d, w * 0.08, y + h * 0.03, w * 0.15, ink, max(1, w // 120), rng)
    return tag


def _woven_label(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """A woven brand label: the brand (and maybe a line under it) on a ribbed ribbon."""
    w, h = scale, int(scale * rng.uniform(0.35, 0.5))
    paper = rng.choice(((20, 20, 25), (25, 35, 70), (240, 235, 220), (150, 20, 30)))
    tag, d = _tag_canvas(paper, (w, h), "rect", rng)
    arr = np.asarray(tag).copy()
    arr[::3, :, :3] = (arr[::3, :, :3] * 0.85).astype(np.uint8)  # weave rows
    tag = Image.fromarray(arr, "RGBA")
    d = ImageDraw.Draw(tag)
    ink = (230, 200, 120) if sum(paper) < 300 else (30, 30, 30)
    brand = rng.choice(_BRANDS)
    _draw_text(d, (w / 2, h * 0.42), brand, _fit_size(brand, w * 0.8, h * 0.4, 1), ink, 1, "mm")
    if rng.random() < 0.6:
        sub = rng.choice(("PARIS", "SINCE 1987", "MADE IN ITALY", "ORIGINAL"))
        _draw_text(d, (w / 2, h * 0.78), sub, _fit_size(sub, w * 0.5, h * 0.13), ink, 0, "mm")
    return tag


def _size_label(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """A size label: one size (M, EU 38, T.40…)."""
    w = int(scale * 0.45)
    h = int(w * rng.uniform(0.6, 1.0))
    paper = rng.choice(((20, 20, 25), (245, 245, 245), (200, 30, 40), (30, 60, 120)))
    tag, d = _tag_canvas(paper, (w, h), "rect", rng)
    ink = (250, 250, 250) if sum(paper) < 400 else (20, 20, 20)
    text = rng.choice(("M", "S", "L", "XL", "EU 38", "38", "T.40", "EU 42", "42", "36/38", "XS"))
    _draw_text(d, (w / 2, h / 2), text, _fit_size(text, w * 0.75, h * 0.5, 1), ink, 1, "mm")
    return tag


def _brand_tag(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """A brand's original hang tag: brand, retail price, a reference and a real EAN-13."""
    w, h = int(scale * 0.55), scale
    paper = rng.choice(((250, 250, 250), (20, 20, 20), (235, 225, 205), (40, 60, 90)))
    ink = (240, 240, 240) if sum(paper) < 300 else (20, 20, 20)
    tag, d = _tag_canvas(paper, (w, h), "hang", rng)
    brand = rng.choice(_BRANDS)
    _draw_text(d, (w / 2, h * 0.26), brand, _fit_size(brand, w * 0.85, h * 0.09, 1), ink, 1, "ma")
    cents = spec.price_cents or 4999
    price = f"{cents // 100},{cents % 100:02d} €" if rng.random() < 0.7 else f"€{cents // 100}.{cents % 100:02d}"
    _draw_text(d, (w / 2, h * 0.42), price, _fit_size(price, w * 0.7, h * 0.08, 1), ink, 1, "ma")
    ref = f"REF {rng.randint(100, 999)}.{rng.randint(1000, 9999)}  {rng.choice(('S', 'M', 'L', '38', '40'))}"
    _draw_text(d, (w / 2, h * 0.54), ref, _fit_size(ref, w * 0.8, h * 0.045), ink, 0, "ma")
    data = rng.choice(("3", "4", "5", "8")) + "".join(str(rng.randrange(10)) for _ in range(11))
    code = _draw_barcode("ean13", data, 2, 44, text=ean13_full(data))
    _paste_code(tag, code, (int(w * 0.08), int(h * 0.62), int(w * 0.92), int(h * 0.92)))
    return tag


def _shoe_box(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """The end of a shoe box: a sticker with sizes, article number and EAN-13, and the brand."""
    w, h = scale, int(scale * rng.uniform(0.45, 0.6))
    paper = rng.choice(((200, 160, 110), (230, 110, 40), (240, 240, 240), (30, 30, 30)))
    box, d = _tag_canvas(paper, (w, h), "rect", rng)
    d.rectangle((0, 0, w, int(h * 0.12)), fill=tuple(int(c * 0.8) for c in paper) + (255,))
    lw, lh = int(w * 0.5), int(h * 0.55)
    lx, ly = int(w * 0.45), int(h * 0.3)
    d.rectangle((lx, ly, lx + lw, ly + lh), fill=(250, 250, 250, 255))
    lines = [
        f"EU {rng.randint(36, 46)}  US {rng.randint(5, 12)}",
        f"ART. {chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}{rng.randint(1000, 9999)}",
    ]
    _draw_text(d, (lx + lw * 0.05, ly + lh * 0.05), lines[0], _fit_size(lines[0], lw * 0.9, lh * 0.13), (20, 20, 20))
    _draw_text(d, (lx + lw * 0.05, ly + lh * 0.22), lines[1], _fit_size(lines[1], lw * 0.9, lh * 0.1), (20, 20, 20))
    data = rng.choice(("4", "8", "0", "7")) + "".join(str(rng.randrange(10)) for _ in range(11))
    code = _draw_barcode("ean13", data, 2, 40, text=ean13_full(data))
    _paste_code(box, code, (lx + int(lw * 0.05), ly + int(lh * 0.4), lx + int(lw * 0.95), ly + int(lh * 0.95)))
    brand = rng.choice(_BRANDS)
    _draw_text(
        d,
        (w * 0.05, h * 0.4),
        brand,
        _fit_size(brand, w * 0.35, h * 0.12, 1),
        (255, 255, 255) if sum(paper) < 500 else (20, 20, 20),
        1,
    )
    return box


_NEGATIVE_DRAWERS: dict[str, Callable[[PhotoSpec, random.Random, int], Image.Image]] = {
    "care": _care_label,
    "woven": _woven_label,
    "size": _size_label,
    "brandtag": _brand_tag,
    "shoebox": _shoe_box,
}
"""The drawer of each label-like hard negative: (spec, generator, scale px) → RGBA layer."""


def _negative_layer(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:
    """The hard negative's label/box/print as an RGBA layer about ``scale`` px wide."""
    k = spec.kind
    drawer = _NEGATIVE_DRAWERS.get(k)
    if drawer is None:
        raise ValueError(f"not a label-like negative: {k!r}")
    return drawer(spec, rng, scale)
