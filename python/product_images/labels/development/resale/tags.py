"""The shops' own price tags, drawn flat as RGBA patches (pixels), before they are placed.

:func:`shop_tag_patch` draws the spec's ``tag`` kind (see :mod:`.shops`) at a design size
whose long side is at least ``long_px`` pixels: thermal and in-store EAN stickers, QR labels,
printed hang tags, sneaker-sole stickers, colour price dots, masking tape, kraft hang tags
with a handwritten price. Glossy stickers get a specular streak.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from .drawing import RGB, hex_rgb, mix
from .inks import draw_code, hand_text, hole_and_string, printed, sticker_base

__all__ = ["shop_tag_patch"]

Spec = dict[str, str | int | float | bool]


def _dims(spec: Spec, long_px: int, portrait: bool = False) -> tuple[int, int]:
    """(width, height) of a tag whose long side is ``long_px`` (≥ 360) at the shop's aspect."""
    long_side = max(360, long_px)
    short = int(long_side / float(spec["aspect"]))
    return (short, long_side) if portrait else (long_side, short)


def _ink(spec: Spec) -> RGB:
    """The shop's ink colour."""
    return hex_rgb(str(spec["ink"]))


def _price_line(spec: Spec) -> str:
    """The printed price with the shop's word before it (``"Prix 12,00 €"``)."""
    word = str(spec["price_word"])
    return f"{word} {spec['price_text']}".strip()


def _thermal(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A label-printer sticker: shop name, Code 128 of the SKU with its text, a price; 3 layouts."""
    w, h = _dims(spec, long_px)
    paper, ink = hex_rgb(str(spec["paper"])), _ink(spec)
    img = sticker_base((w, h), paper, h // 12 if spec["rounded"] else 2)
    m = w // 20
    fp, ft = str(spec["font_price"]), str(spec["font_text"])
    layout = int(spec["layout"])
    ref = f"{spec['ref_word']} {spec['sku']}"
    if layout == 0:
        printed(img, (m, m), str(spec["shop"]), (ft, h // 9), ink, w - 2 * m)
        draw_code(img, (m, int(h * 0.22), w - 2 * m, int(h * 0.36)), spec, ink, paper)
        printed(img, (m, int(h * 0.62)), ref, (ft, h // 11), ink, w // 2)
        printed(img, (w - m, h - m), str(spec["price_text"]), (fp, h // 4), ink, w // 2, "rd")
    elif layout == 1:
        printed(img, (w // 2, m), _price_line(spec), (fp, h // 4), ink, w - 2 * m, "ma")
        draw_code(img, (m, int(h * 0.4), w - 2 * m, int(h * 0.34)), spec, ink, paper)
        printed(img, (m, h - m), ref, (ft, h // 12), ink, w // 2, "ld")
        printed(img, (w - m, h - m), str(spec["shop"]), (ft, h // 12), ink, w // 2 - m, "rd")
    else:
        draw_code(img, (m, m, int(w * 0.62), h - 3 * m - h // 8), spec, ink, paper)
        printed(img, (m, h - m), ref, (ft, h // 9), ink, int(w * 0.62), "ld")
        printed(img, (w - m, m), str(spec["shop"]), (ft, h // 10), ink, int(w * 0.32), "ra")
        printed(img, (w - m, h // 2), str(spec["price_text"]), (fp, h // 5), ink, int(w * 0.33), "rm")
    return img


def _ean_price(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A store-scale sticker: a coloured header with the shop name, a price, an in-store EAN-13."""
    w, h = _dims(spec, long_px)
    paper, ink, accent = hex_rgb(str(spec["paper"])), _ink(spec), hex_rgb(str(spec["accent"]))
    img = sticker_base((w, h), paper, h // 14 if spec["rounded"] else 2)
    m = w // 24
    ImageDraw.Draw(img).rectangle((0, 0, w, h // 5), fill=accent + (255,))
    printed(
        img,
        (m, h // 10),
        str(spec["shop"]).upper(),
        (str(spec["font_price"]), h // 8),
        (255, 255, 255),
        w - 2 * m,
        "lm",
    )
    price_left = int(spec["layout"]) != 1
    code_x = int(w * 0.45) if price_left else m
    draw_code(img, (code_x, int(h * 0.27), int(w * 0.52), int(h * 0.5)), spec, ink, paper)
    digits = str(spec["payload"])
    printed(
        img,
        (code_x + int(w * 0.26), int(h * 0.8)),
        f"{digits[0]} {digits[1:7]} {digits[7:]}",
        (str(spec["font_text"]), h // 11),
        ink,
        int(w * 0.5),
        "ma",
    )
    px = m if price_left else int(w * 0.6)
    printed(
        img,
        (px, int(h * 0.32)),
        str(spec["price_word"]) or "Prix",
        (str(spec["font_text"]), h // 10),
        ink,
        int(w * 0.38),
    )
    printed(
        img, (px, int(h * 0.62)), str(spec["price_text"]), (str(spec["font_price"]), h // 5), ink, int(w * 0.38), "lm"
    )
    printed(
        img,
        (px, h - m),
        f"{spec['ref_word']} {spec['sku']}",
        (str(spec["font_text"]), h // 13),
        ink,
        int(w * 0.38),
        "ld",
    )
    return img


def _qr(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A QR label: the QR of the SKU or URL on one side, the shop, SKU and price on the other."""
    w, h = _dims(spec, long_px)
    paper, ink = hex_rgb(str(spec["paper"])), _ink(spec)
    img = sticker_base((w, h), paper, h // 10 if spec["rounded"] else 2)
    m = h // 12
    side = h - 2 * m
    qr_left = int(spec["layout"]) != 2
    qx = m if qr_left else w - m - side
    draw_code(img, (qx, m, side, side), spec, ink, paper)
    tx = qx + side + m if qr_left else m
    tw = w - side - 3 * m
    ft, fp = str(spec["font_text"]), str(spec["font_price"])
    printed(img, (tx, m), str(spec["shop"]), (ft, h // 8), ink, tw)
    printed(img, (tx, h // 2), str(spec["price_text"]), (fp, h // 4), ink, tw, "lm")
    printed(img, (tx, h - m), str(spec["sku"]), (ft, h // 9), ink, tw, "ld")
    return img


def _printed_hang(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A printed card hang tag: the shop name as a logo, "Prix" and the price, maybe a Code 128."""
    w, h = _dims(spec, long_px, portrait=True)
    card = hex_rgb(str(spec["card"]))
    dark = sum(card) < 300
    ink = (245, 240, 230) if dark else _ink(spec)
    img = sticker_base((w, h), card, w // 10 if spec["rounded"] else 3)
    m = w // 10
    fp = str(spec["font_price"])
    printed(img, (w // 2, int(h * 0.18)), str(spec["shop"]), (fp, w // 6), ink, w - 2 * m, "ma")
    ImageDraw.Draw(img).line((m, int(h * 0.36), w - m, int(h * 0.36)), fill=ink + (255,), width=max(1, w // 150))
    printed(
        img,
        (w // 2, int(h * 0.42)),
        str(spec["price_word"]) or "Prix",
        (str(spec["font_text"]), w // 10),
        ink,
        w - 2 * m,
        "ma",
    )
    printed(img, (w // 2, int(h * 0.6)), str(spec["price_text"]), (fp, w // 5), ink, w - 2 * m, "mm")
    if spec["symbology"] != "none":
        draw_code(img, (m, int(h * 0.72), w - 2 * m, int(h * 0.16)), spec, (20, 20, 20), (250, 250, 248))
    printed(img, (w // 2, h - m // 2), str(spec["sku"]), (str(spec["font_text"]), w // 14), ink, w - 2 * m, "md")
    return hole_and_string(img, rng, mix(card, (90, 80, 60), 0.6))


def _kraft_hand(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A kraft hang tag with the price written by hand (marker or pen), sometimes a reference."""
    w, h = _dims(spec, long_px, portrait=rng.random() < 0.5)
    kraft = (int(rng.integers(185, 215)), int(rng.integers(150, 175)), int(rng.integers(105, 130)))
    img = sticker_base((w, h), kraft, min(w, h) // 8)
    pen = (25, 35, 110) if rng.random() < 0.4 else (25, 25, 25)
    hand_text(img, (w // 10, h // 2), str(spec["price_text"]), (str(spec["font_hand"]), min(w, h) // 3), pen, rng)
    if rng.random() < 0.5:
        hand_text(
            img, (w // 10, int(h * 0.82)), str(spec["sku"])[-5:], (str(spec["font_hand"]), min(w, h) // 8), pen, rng
        )
    return hole_and_string(img, rng, (230, 225, 215) if rng.random() < 0.5 else (170, 40, 40))


def _sole_sticker(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """The sneaker shop's small sticker: Code 128 (or in-store EAN), the price, the shop's name."""
    w, h = _dims(spec, long_px)
    paper, ink = hex_rgb(str(spec["paper"])), _ink(spec)
    img = sticker_base((w, h), paper, h // 8 if spec["rounded"] else 2)
    m = w // 22
    printed(img, (m, m), str(spec["shop"]).upper(), (str(spec["font_text"]), h // 9), ink, w // 2)
    printed(img, (w - m, m), str(spec["price_text"]), (str(spec["font_price"]), h // 5), ink, w // 2 - 2 * m, "ra")
    draw_code(img, (m, int(h * 0.36), w - 2 * m, int(h * 0.4)), spec, ink, paper)
    printed(img, (w // 2, h - m), str(spec["sku"]), (str(spec["font_text"]), h // 10), ink, w - 2 * m, "md")
    return img


def _color_dot(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A small colour price sticker, round or rectangular, with a printed or handwritten price."""
    size = max(240, long_px)
    round_shape = rng.random() < 0.6
    w, h = (size, size) if round_shape else (size, int(size * 0.6))
    colour = hex_rgb(str(rng.choice(["#f7d23e", "#ff8c42", "#7bd389", "#ff6fa3", "#ffffff", "#6ec6ff"])))
    img = sticker_base((w, h), colour, h // 6, "round" if round_shape else "rect")
    ink = (20, 20, 20)
    if rng.random() < 0.5:
        printed(
            img, (w // 2, h // 2), str(spec["price_text"]), (str(spec["font_price"]), h // 3), ink, int(w * 0.8), "mm"
        )
    else:
        hand_text(img, (w // 8, h // 2), str(spec["price_text"]), (str(spec["font_hand"]), h // 3), ink, rng)
    return img


def _tape(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """A strip of masking tape, torn ends, a price in marker."""
    w = max(400, long_px)
    h = int(w * rng.uniform(0.22, 0.32))
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    teeth = [(0, 0)] + [(int(rng.integers(0, w // 30)), int(k * h / 8)) for k in range(1, 8)] + [(0, h)]
    right = [(w - int(rng.integers(0, w // 30)), int(k * h / 8)) for k in range(8, -1, -1)]
    tone = (int(rng.integers(220, 238)), int(rng.integers(205, 222)), int(rng.integers(160, 185)), 235)
    ImageDraw.Draw(img).polygon(teeth + right, fill=tone)
    hand_text(
        img, (w // 10, h // 2), str(spec["price_text"]), (str(spec["font_hand"]), int(h * 0.6)), (20, 20, 20), rng
    )
    return img


_DRAWERS: dict[str, Callable[[Spec, int, np.random.Generator], Image.Image]] = {
    "thermal": _thermal,
    "ean_price": _ean_price,
    "qr": _qr,
    "printed_hang": _printed_hang,
    "kraft_hand": _kraft_hand,
    "sole_sticker": _sole_sticker,
    "color_dot": _color_dot,
    "tape": _tape,
}


def gloss(img: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """A glossy sticker's specular streak: a soft white band across the patch (alpha kept)."""
    arr = np.asarray(img, np.float32).copy()
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = float(rng.uniform(0, np.pi))
    d = (xx - w * float(rng.uniform(0.2, 0.8))) * np.cos(a) + (yy - h / 2) * np.sin(a)
    band = strength * np.exp(-((d / (0.12 * max(w, h))) ** 2))
    arr[..., :3] += (255 - arr[..., :3]) * band[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGBA")


def shop_tag_patch(spec: Spec, long_px: int, rng: np.random.Generator) -> Image.Image:
    """The RGBA patch of the shop's tag ``spec["tag"]``, long side ≥ ``long_px`` pixels."""
    img = _DRAWERS[str(spec["tag"])](spec, long_px, rng)
    if spec["glossy"] and float(spec["glare"]) > 0 and spec["tag"] not in ("kraft_hand", "tape"):
        img = gloss(img, rng, float(spec["glare"]) * 0.7)
    return img
