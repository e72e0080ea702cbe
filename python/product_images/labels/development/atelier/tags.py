"""The shop's own price tags of the atelier renderer, drawn flat as RGBA layers.

:func:`draw_tag` turns a photo spec's ``tag_*`` entries (one shop's style), ``price``,
``sku`` and ``ean`` into a PIL RGBA image (a few hundred px) and the hole position (x, y)
in that image (or None). Kinds: swing card, label-printer sticker, QR sticker, dot sticker,
masking tape, price-gun label.
"""

from __future__ import annotations

import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .codes import code128, ean13_img, qr
from .fonts import font

__all__ = ["draw_tag", "hand_text", "fit_text"]

Spec = dict
RGBA = tuple[int, int, int, int]


def _c(code: str, a: int = 255) -> RGBA:
    """``"#rrggbb"`` as an RGBA tuple with alpha ``a``."""
    return (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16), a)


def fit_text(key: str, text: str, max_w: float, max_h: float) -> int:
    """The largest font size (px) at which ``text`` in face ``key`` fits max_w × max_h."""
    size = max(6, int(max_h))
    for _ in range(12):
        left, top, right, bottom = font(key, size).getbbox(text)
        if right - left <= max_w and bottom - top <= max_h:
            return size
        size = max(6, int(size * min(max_w / max(1, right - left), max_h / max(1, bottom - top)) * 0.97))
    return size


def hand_text(
    img: Image.Image,
    centre: tuple[float, float],
    text: str,
    key: str,
    size: int,
    ink: RGBA,
    rnd: random.Random,
    marker: bool,
) -> None:
    """Write ``text`` centred at ``centre`` as handwriting: per-letter tilt, size and baseline jitter."""
    f = font(key, size)
    slant = rnd.uniform(-6, 6)
    widths = [f.getlength(ch) * rnd.uniform(0.9, 1.06) for ch in text]
    x = centre[0] - sum(widths) / 2
    stroke = max(1, size // 16) if marker else 0
    for ch, w in zip(text, widths, strict=True):
        if ch != " ":
            s = int(size * rnd.uniform(0.9, 1.1))
            fc = font(key, s)
            tile = Image.new("L", (int(s * 1.6), int(s * 1.6)), 0)
            ImageDraw.Draw(tile).text(
                (s * 0.8, s * 0.8), ch, font=fc, fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255
            )
            tile = tile.rotate(slant + rnd.uniform(-7, 7), resample=Image.Resampling.BILINEAR)
            y = centre[1] + rnd.uniform(-0.05, 0.05) * size
            px, py = int(x + w / 2 - tile.width / 2), int(y - tile.height / 2)
            img.paste(Image.new("RGBA", tile.size, ink), (px, py), tile)
        x += w


def _text(
    img: Image.Image,
    box: tuple[float, float, float, float],
    text: str,
    st: Spec,
    rnd: random.Random,
    hand: bool,
    key: str | None = None,
    ink: RGBA | None = None,
) -> None:
    """Fit ``text`` into ``box`` (x0, y0, x1, y1), printed in the style's font or handwritten."""
    x0, y0, x1, y1 = box
    ink = ink or _c(str(st["tag_ink"]), rnd.randint(215, 255))
    if hand:
        k = str(st["tag_hand_font"])
        size = fit_text(k, text, (x1 - x0) * 0.85, (y1 - y0) * 0.8)
        hand_text(img, ((x0 + x1) / 2, (y0 + y1) / 2), text, k, size, ink, rnd, bool(st["tag_marker"]))
        return
    k = key or str(st["tag_font"])
    size = fit_text(k, text, x1 - x0, y1 - y0)
    ImageDraw.Draw(img).text(((x0 + x1) / 2, (y0 + y1) / 2), text, font=font(k, size), fill=ink, anchor="mm")


def _shape_mask(w: int, h: int, shape: str) -> Image.Image:
    """The card outline (mode "L") of ``shape``: rect, rounded, clipped, round, oval or notched."""
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    c = int(min(w, h) * 0.18)
    if shape == "rounded":
        d.rounded_rectangle((0, 0, w - 1, h - 1), radius=c, fill=255)
    elif shape == "clipped":
        d.polygon([(c, 0), (w - c, 0), (w - 1, c), (w - 1, h - 1), (0, h - 1), (0, c)], fill=255)
    elif shape in ("round", "oval"):
        d.ellipse((0, 0, w - 1, h - 1), fill=255)
    elif shape == "notched":
        d.polygon(
            [(w * 0.25, 0), (w * 0.75, 0), (w - 1, h * 0.16), (w - 1, h - 1), (0, h - 1), (0, h * 0.16)], fill=255
        )
    else:
        d.rectangle((0, 0, w - 1, h - 1), fill=255)
    return m


def _finish_paper(img: Image.Image, rnd: random.Random, grain: float = 0.05) -> Image.Image:
    """Paper grain, a faint fold shadow and soft edges on an RGBA card."""
    arr = np.asarray(img, np.float32)
    h, w = arr.shape[:2]
    rng = np.random.default_rng(rnd.getrandbits(32))
    small = rng.random((h // 6 + 2, w // 6 + 2), dtype=np.float32)
    tex = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR))
    fine = rng.random((h, w), dtype=np.float32)
    shade = 1 - grain * (tex / 255.0) - grain * 0.5 * fine
    if rnd.random() < 0.4:
        shade *= 1 - 0.08 * np.clip(np.linspace(-1, 1, w) * rnd.choice((-1, 1)), 0, 1)[None, :]
    arr[..., :3] *= shade[..., None]
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGBA")
    alpha = out.getchannel("A").filter(ImageFilter.GaussianBlur(0.8))
    out.putalpha(alpha)
    return out


def _stamp(img: Image.Image, box: tuple[float, float, float, float], text: str, st: Spec, rnd: random.Random) -> None:
    """A rubber stamp of the shop name: outlined box or ring, patchy ink in the accent colour."""
    x0, y0, x1, y1 = (int(v) for v in box)
    w, h = x1 - x0, y1 - y0
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    lw = max(2, h // 14)
    if rnd.random() < 0.5:
        d.rounded_rectangle((lw, lw, w - lw, h - lw), radius=h // 6, outline=255, width=lw)
    else:
        d.ellipse((lw, lw, w - lw, h - lw), outline=255, width=lw)
    key = str(st["tag_head_font"])
    size = fit_text(key, text.upper(), w * 0.7, h * 0.4)
    d.text((w / 2, h / 2), text.upper(), font=font(key, size), fill=255, anchor="mm")
    m = m.rotate(rnd.uniform(-12, 12), resample=Image.Resampling.BILINEAR)
    rng = np.random.default_rng(rnd.getrandbits(32))
    patch = np.asarray(m, np.float32) * (0.45 + 0.55 * (rng.random((h, w)) > 0.3))
    ink = _c(str(st["tag_accent"]), 255)
    img.paste(Image.new("RGBA", (w, h), ink), (x0, y0), Image.fromarray((patch * 0.85).astype(np.uint8)))


def _extra_line(st: Spec, spec: Spec, rnd: random.Random) -> str:
    """The small line under the price: size, date, category code or stock number."""
    kind = str(st["tag_extra"])
    if kind == "size":
        return rnd.choice(("Taille ", "Gr. ", "Size ", "T. ", "")) + rnd.choice(("S", "M", "L", "38", "40", "XS", "42"))
    if kind == "date":
        return f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}" + rnd.choice(("", f"/{rnd.randint(21, 25)}"))
    if kind == "cat":
        return rnd.choice(("Robe", "Jeans", "Cat. B", "Hose", "Veste", "Top", "Pull", str(spec["cat"]).capitalize()))
    if kind == "sku":
        return str(spec["sku"])
    return ""


def _swing(spec: Spec, rnd: random.Random) -> tuple[Image.Image, tuple[float, float] | None]:
    """A card swing tag: shape, hole, optional ring, header (name/stamp/logo), price, one extra line."""
    shape = str(spec["tag_shape"])
    w = 420
    h = w if shape == "round" else int(w / float(spec["tag_aspect"]))
    if shape == "oval":
        h = int(w * 1.35)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (w, h), _c(str(spec["tag_paper"]))), (0, 0), _shape_mask(w, h, shape))
    d = ImageDraw.Draw(img)
    name = str(spec["tag_shop"]).upper() if spec["tag_upper"] else str(spec["tag_shop"])
    top = h * (0.2 if spec["tag_hole"] else 0.08)
    if spec["tag_border"]:
        inset = w * 0.06
        box, ink, lw = (inset, inset, w - inset, h - inset), _c(str(spec["tag_ink"])), max(2, w // 140)
        if shape in ("round", "oval"):
            d.ellipse(box, outline=ink, width=lw)
        else:
            d.rounded_rectangle(box, radius=int(inset), outline=ink, width=lw)
    head = str(spec["tag_header"])
    if head == "name":
        _text(img, (w * 0.12, top, w * 0.88, top + h * 0.13), name, spec, rnd, False, str(spec["tag_head_font"]))
    elif head == "stamp":
        _stamp(img, (w * 0.15, top - h * 0.02, w * 0.85, top + h * 0.22), str(spec["tag_shop"]), spec, rnd)
    elif head == "logo":
        r = w * 0.1
        cx, cy = w / 2, top + r
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=_c(str(spec["tag_accent"])), width=max(2, w // 90))
        _text(img, (cx - r, cy - r, cx + r, cy + r), name[:1], spec, rnd, False, str(spec["tag_head_font"]))
    pt = top + h * (0.25 if head != "none" else 0.1)
    _text(img, (w * 0.1, pt, w * 0.9, pt + h * 0.28), str(spec["price"]), spec, rnd, bool(spec["tag_hand"]))
    extra = _extra_line(spec, spec, rnd)
    if extra:
        _text(img, (w * 0.2, pt + h * 0.33, w * 0.8, pt + h * 0.43), extra, spec, rnd, bool(spec["tag_hand"]))
    hole = None
    if spec["tag_hole"]:
        hx, hy, r = w / 2, h * 0.08 if shape != "round" else h * 0.12, w * 0.035
        if spec["tag_ring"]:
            d.ellipse((hx - r * 2.1, hy - r * 2.1, hx + r * 2.1, hy + r * 2.1), fill=_c(str(spec["tag_accent"])))
        d.ellipse((hx - r, hy - r, hx + r, hy + r), fill=(0, 0, 0, 0))
        hole = (hx, hy)
    return _finish_paper(img, rnd), hole


def _label(spec: Spec, rnd: random.Random) -> Image.Image:
    """A label-printer sticker: shop name, item line, big price, stock number and a Code 128 / EAN-13."""
    w, h = 560, int(560 * rnd.uniform(0.5, 0.72))
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, w - 1, h - 1), radius=int(h * 0.07), fill=_c(str(spec["tag_paper"])))
    ink = (20, 20, 20, rnd.randint(200, 250))
    key = str(spec["tag_font"])
    _text(img, (w * 0.04, h * 0.04, w * 0.53, h * 0.18), str(spec["tag_shop"]).upper(), spec, rnd, False, key, ink)
    item = str(spec["cat"]).upper() + rnd.choice((" ", " / ", " - ")) + rnd.choice(("S", "M", "L", "38", "40", "TU"))
    _text(img, (w * 0.04, h * 0.2, w * 0.53, h * 0.33), item, spec, rnd, False, key, ink)
    _text(img, (w * 0.56, h * 0.03, w * 0.98, h * 0.4), str(spec["price"]), spec, rnd, False, key, ink)
    code = str(spec["tag_code"])
    if code != "none":
        bar = code128(str(spec["sku"]), 3, 80, True, key) if code == "code128" else ean13_img(str(spec["ean"]), 3, 80)
        bar = bar.resize((int(w * 0.9), int(h * 0.52)), Image.Resampling.NEAREST)
        img.paste(Image.new("RGBA", bar.size, ink), (int(w * 0.05), int(h * 0.43)), Image.eval(bar, lambda v: 255 - v))
    else:
        _text(img, (w * 0.1, h * 0.5, w * 0.9, h * 0.75), "SKU " + str(spec["sku"]), spec, rnd, False, key, ink)
    return _finish_paper(img, rnd, 0.02)


def _qr_sticker(spec: Spec, rnd: random.Random) -> Image.Image:
    """A QR sticker: the stock number (or a shop URL with it) as QR, the number printed beside/below."""
    data = (
        str(spec["sku"])
        if rnd.random() < 0.6
        else f"https://{str(spec['tag_shop']).lower().replace(' ', '')}.shop/p/{spec['sku']}"
    )
    code = qr(data, 8)
    side = bool(rnd.random() < 0.5)
    w, h = (560, 300) if side else (330, 420)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    shape = str(spec["tag_shape"])
    d.rounded_rectangle(
        (0, 0, w - 1, h - 1),
        radius=int(min(w, h) * (0.2 if shape in ("round", "oval") else 0.05)),
        fill=_c(str(spec["tag_paper"])),
    )
    q = min(h - 30, w - 30) if not side else h - 40
    q = int(q * (0.95 if side else 0.78))
    code = code.resize((q, q), Image.Resampling.NEAREST)
    x0, y0 = (20, (h - q) // 2) if side else ((w - q) // 2, 16)
    img.paste(Image.new("RGBA", code.size, (15, 15, 15, 255)), (x0, y0), Image.eval(code, lambda v: 255 - v))
    box = (x0 + q + 10, h * 0.15, w - 12, h * 0.5) if side else (14, y0 + q + 6, w - 14, h - 10)
    _text(img, box, str(spec["sku"]), spec, rnd, False)
    if side:
        _text(img, (x0 + q + 10, h * 0.55, w - 12, h * 0.85), str(spec["price"]), spec, rnd, bool(spec["tag_hand"]))
    return _finish_paper(img, rnd, 0.02)


def short_price(price: str) -> str:
    """A dot-sticker price: just the number, with € / £ / $ kept if it was there ("12,50 €" -> "12,50€")."""
    num = re.search(r"\d+(?:[.,]\d+)?", price)
    n = num.group(0) if num else price
    for sym in ("€", "£", "$"):
        if sym in price:
            return sym + n if price.strip().startswith(sym) else n + sym
    return n


def _dot(spec: Spec, rnd: random.Random) -> Image.Image:
    """A round colour-coded sticker with a short price."""
    s = 300
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((0, 0, s - 1, s - 1), fill=_c(str(spec["tag_paper"])))
    _text(
        img,
        (s * 0.14, s * 0.28, s * 0.86, s * 0.72),
        short_price(str(spec["price"])),
        spec,
        rnd,
        bool(spec["tag_hand"]),
    )
    return _finish_paper(img, rnd, 0.03)


def _tape(spec: Spec, rnd: random.Random) -> Image.Image:
    """A strip of masking/washi tape with torn ends and a marker price."""
    w, h = 620, int(620 * rnd.uniform(0.22, 0.32))
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    left = [(rnd.uniform(0, 14), y) for y in np.linspace(0, h, 9)]
    right = [(w - rnd.uniform(0, 14), y) for y in np.linspace(h, 0, 9)]
    ImageDraw.Draw(img).polygon(left + right, fill=_c(str(spec["tag_paper"]), rnd.randint(220, 245)))
    _text(img, (w * 0.08, h * 0.1, w * 0.92, h * 0.9), str(spec["price"]), spec, rnd, True)
    return _finish_paper(img, rnd, 0.06)


def _gun(spec: Spec, rnd: random.Random) -> Image.Image:
    """A price-gun label: die-cut ends, two lines "SHOP" / "12.00" in a dot-matrix-like mono face."""
    w, h = 400, 190
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rectangle((h * 0.12, 0, w - h * 0.12, h - 1), fill=_c(str(spec["tag_paper"])))
    for x in (h * 0.12, w - h * 0.12):
        d.ellipse((x - h * 0.12, 0, x + h * 0.12, h - 1), fill=_c(str(spec["tag_paper"])))
    num = re.search(r"\d+(?:[.,]\d+)?", str(spec["price"]))
    amount = float(num.group(0).replace(",", ".")) if num else 0.0
    ink = _c(rnd.choice(("#1a1a1a", "#3b2470", "#202a66")), rnd.randint(190, 240))
    key = str(spec["tag_font"])
    dy = rnd.uniform(-8, 8)
    _text(
        img,
        (w * 0.14, h * 0.08 + dy, w * 0.86, h * 0.36 + dy),
        str(spec["tag_shop"]).upper()[:14],
        spec,
        rnd,
        False,
        key,
        ink,
    )
    _text(img, (w * 0.12, h * 0.42 + dy, w * 0.88, h * 0.9 + dy), f"{amount:.2f}", spec, rnd, False, key, ink)
    return _finish_paper(img, rnd, 0.02)


def draw_tag(spec: Spec, rnd: random.Random) -> tuple[Image.Image, tuple[float, float] | None]:
    """The shop tag of ``spec`` as an RGBA image and its string hole (x, y px) or None."""
    kind = str(spec["tag_kind"])
    if kind == "swing":
        return _swing(spec, rnd)
    if kind == "label_printer":
        return _label(spec, rnd), None
    if kind == "qr_sticker":
        return _qr_sticker(spec, rnd), None
    if kind == "dot":
        return _dot(spec, rnd), None
    if kind == "tape":
        return _tape(spec, rnd), None
    return _gun(spec, rnd), None
