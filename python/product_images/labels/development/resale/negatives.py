"""Hard negatives drawn flat as RGBA patches (pixels): things that look like a tag but are not the shop's.

* ``retail_tag``: a brand's own hang tag: brand name, its printed price (``"€39.99"``, ``"$49"``),
  size, an EAN-13 that is not in-store (prefix 30–99 or 00–19).
* ``care_label``: a satin label with washing symbols and the composition (``"100% coton"``).
* ``size_label``: a small woven label with the size only.
* ``brand_label``: a woven brand label (the brand's name on a coloured ribbon).
* ``receipt``: a shop receipt on thermal paper: lines of items, a total, a barcode-free footer.
* ``shoe_box_label``: the end label of a shoe box: brand, model, sizes EU/UK/US, EAN, no price.
* ``tape_measure``: a measuring tape strip with cm graduations and numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from .drawing import RGB, hex_rgb
from .inks import draw_code, hole_and_string, printed, sticker_base

__all__ = ["negative_patch", "tape_measure"]

Spec = dict[str, str | int | float | bool]


def _contrast(colour: RGB) -> RGB:
    """Near-white on a dark colour, near-black on a light one."""
    return (240, 236, 228) if sum(colour) < 360 else (25, 25, 30)


def _retail_tag(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A brand's hang tag: brand, size, its own price, a non-in-store EAN-13."""
    h = max(420, long_px)
    w = int(h * rng.uniform(0.45, 0.62))
    card = hex_rgb(str(spec["card"]))
    ink = _contrast(card)
    img = sticker_base((w, h), card, w // 14)
    m = w // 10
    printed(
        img,
        (w // 2, int(h * 0.12)),
        str(spec["brand"]).upper(),
        (str(spec["brand_font"]), w // 5),
        ink,
        w - 2 * m,
        "ma",
    )
    printed(img, (w // 2, int(h * 0.34)), f"SIZE {spec['size_text']}", ("dejavu-sans", w // 10), ink, w - 2 * m, "ma")
    printed(img, (w // 2, int(h * 0.5)), str(spec["brand_price"]), ("dejavu-sans-bold", w // 6), ink, w - 2 * m, "ma")
    draw_code(img, (m, int(h * 0.68), w - 2 * m, int(h * 0.18)), spec, (15, 15, 15), (252, 252, 250))
    digits = str(spec["payload"])
    printed(img, (w // 2, h - m // 2), digits, ("dejavu-mono", w // 14), ink, w - 2 * m, "md")
    return hole_and_string(img, rng, (30, 30, 30))


def _care_symbols(img: Image.Image, box: tuple[int, int, int, int], n: int, ink: RGB) -> None:
    """Draw ``n`` washing symbols (tub, triangle, square, iron, circle) in a row inside ``box``."""
    x, y, w, h = box
    d = ImageDraw.Draw(img)
    step = w // max(1, n)
    s = int(min(step * 0.8, h))
    lw = max(1, s // 14)
    for k in range(n):
        cx = x + k * step + step // 2
        x0, y0, x1, y1 = cx - s // 2, y + (h - s) // 2, cx + s // 2, y + (h + s) // 2
        shape = k % 5
        if shape == 0:
            d.polygon(
                [(x0, y0 + s // 4), (x1, y0 + s // 4), (x1 - s // 6, y1), (x0 + s // 6, y1)],
                outline=ink + (255,),
                width=lw,
            )
            d.text((cx, (y0 + y1) // 2 + s // 8), "30", fill=ink + (255,), anchor="mm")
        elif shape == 1:
            d.polygon([(cx, y0), (x1, y1), (x0, y1)], outline=ink + (255,), width=lw)
        elif shape == 2:
            d.rectangle((x0, y0, x1, y1), outline=ink + (255,), width=lw)
            d.ellipse((x0 + s // 6, y0 + s // 6, x1 - s // 6, y1 - s // 6), outline=ink + (255,), width=lw)
        elif shape == 3:
            d.polygon(
                [(x0, y1), (x1, y1), (x1 - s // 5, y0 + s // 3), (x0 + s // 3, y0 + s // 3)],
                outline=ink + (255,),
                width=lw,
            )
        else:
            d.ellipse((x0, y0, x1, y1), outline=ink + (255,), width=lw)
        if k % 3 == 1:
            d.line((x0, y0, x1, y1), fill=ink + (255,), width=lw)


def _care_label(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A satin care label: composition lines and washing symbols, portrait."""
    h = max(420, long_px)
    w = int(h * rng.uniform(0.38, 0.5))
    satin = (246, 244, 238) if rng.random() < 0.7 else (30, 30, 34)
    ink = _contrast(satin)
    img = sticker_base((w, h), satin, 2)
    m = w // 10
    lines = [str(spec["composition"]), "Fabriqué au Portugal", "Made in Portugal", "RN 52469"]
    y = int(h * 0.08)
    for line in lines:
        y += printed(img, (w // 2, y), line, ("dejavu-sans", w // 11), ink, w - 2 * m, "ma") + h // 30
    _care_symbols(img, (m, int(h * 0.62), w - 2 * m, int(h * 0.16)), int(spec["symbols"]), ink)
    return img


def _woven(spec: Spec, long_px: int, text: str, font_key: str) -> Image.Image:
    """A woven ribbon label with ``text`` centred, weave lines across."""
    w = max(360, long_px)
    h = int(w * 0.38)
    ribbon = hex_rgb(str(spec["label_hex"]))
    ink = _contrast(ribbon)
    img = sticker_base((w, h), ribbon, 2)
    d = ImageDraw.Draw(img)
    shade = tuple(max(0, c - 12) for c in ribbon) + (255,)
    for yy in range(0, h, 4):
        d.line((0, yy, w, yy), fill=shade, width=1)
    d.line((w // 20, 0, w // 20, h), fill=shade, width=max(2, w // 120))
    d.line((w - w // 20, 0, w - w // 20, h), fill=shade, width=max(2, w // 120))
    printed(img, (w // 2, h // 2), text, (font_key, int(h * 0.45)), ink, int(w * 0.8), "mm")
    return img


def _size_label(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A small woven size label (``"M"``, ``"38"``, ``"W32 L34"``)."""
    return _woven(spec, long_px, str(spec["size_text"]).replace("EU ", ""), "dejavu-sans-bold")


def _brand_label(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A woven brand label: the brand's name in its font."""
    return _woven(spec, long_px, str(spec["brand"]), str(spec["brand_font"]))


def _receipt(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A thermal till receipt: header, item lines with prices, a total, a thank-you."""
    h = max(560, long_px)
    w = int(h * 0.42)
    img = sticker_base((w, h), (247, 246, 242), 0)
    ink = (60, 60, 65)
    m = w // 12
    fk = "dejavu-mono"
    y = m
    y += printed(img, (w // 2, y), str(spec["brand"]).upper(), ("dejavu-sans-bold", w // 9), ink, w - 2 * m, "ma") + m
    for _ in range(int(rng.integers(3, 7))):
        item = str(rng.choice(["ARTICLE", "T-SHIRT", "PULL", "SAC", "JEAN", "ROBE"]))
        price = f"{int(rng.integers(3, 60))},{int(rng.choice([0, 50, 99])):02d}"
        printed(img, (m, y), item, (fk, w // 14), ink, w // 2)
        y += printed(img, (w - m, y), price, (fk, w // 14), ink, w // 3, "ra") + m // 2
    y += m
    printed(img, (m, y), "TOTAL EUR", ("dejavu-mono-bold", w // 12), ink, w // 2)
    y += printed(img, (w - m, y), str(spec["receipt_total"]), ("dejavu-mono-bold", w // 12), ink, w // 3, "ra") + m
    printed(img, (w // 2, y), "MERCI DE VOTRE VISITE", (fk, w // 16), ink, w - 2 * m, "ma")
    return img


def _shoe_box_label(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A shoe box's end label: brand, model, EU/UK/US sizes, colour code, the brand's EAN; no price."""
    w = max(480, long_px)
    h = int(w * 0.5)
    img = sticker_base((w, h), (250, 250, 247), 2)
    ink = (20, 20, 20)
    m = w // 24
    size = str(spec["size_text"]).replace("EU ", "")
    printed(img, (m, m), str(spec["brand"]).upper(), ("dejavu-sans-bold", h // 7), ink, w // 2)
    printed(
        img,
        (m, int(h * 0.28)),
        f"EU {size}   UK {int(size[:2] or 40) - 33}   US {int(size[:2] or 40) - 32}",
        ("dejavu-sans", h // 10),
        ink,
        w - 2 * m,
    )
    printed(
        img,
        (m, int(h * 0.45)),
        f"STYLE {int(rng.integers(100000, 999999))}-{int(rng.integers(100, 999))}",
        ("dejavu-mono", h // 12),
        ink,
        w // 2,
    )
    draw_code(img, (w // 2, int(h * 0.5), w // 2 - m, int(h * 0.34)), spec, ink, (250, 250, 247))
    printed(img, (w - m, h - m // 2), str(spec["payload"]), ("dejavu-mono", h // 14), ink, w // 2 - m, "rd")
    return img


def tape_measure(length_px: int, colour: RGB) -> Image.Image:
    """A measuring tape (or ruler) strip ``length_px`` long in ``colour``: cm ticks, every 10 cm a number."""
    h = max(24, length_px // 18)
    img = sticker_base((length_px, h), colour, 2)
    d = ImageDraw.Draw(img)
    cm = max(4.0, length_px / 150)
    for k in range(int(length_px / cm) + 1):
        x = int(k * cm)
        tick = h // 2 if k % 10 == 0 else h // 3 if k % 5 == 0 else h // 5
        d.line((x, 0, x, tick), fill=(20, 20, 20, 255), width=1)
        if k % 10 == 0 and k:
            printed(img, (x, h - 2), str(k), ("dejavu-sans-bold", int(h * 0.45)), (170, 20, 20), int(cm * 8), "md")
    return img


_DRAWERS: dict[str, Callable[[Spec, int, np.random.Generator], Image.Image]] = {
    "retail_tag": _retail_tag,
    "care_label": _care_label,
    "size_label": _size_label,
    "brand_label": _brand_label,
    "receipt": _receipt,
    "shoe_box_label": _shoe_box_label,
}


def negative_patch(kind: str, spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """The RGBA patch of hard negative ``kind`` (see the module docstring), long side ≥ ``long_px``."""
    return _DRAWERS[kind](spec, long_px, rng)
