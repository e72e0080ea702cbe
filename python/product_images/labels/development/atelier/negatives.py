"""Hard negatives of the atelier renderer: labels and papers that are NOT the shop's price tag.

Each function returns a flat PIL RGBA layer (a few hundred px): woven brand label, care
label, size label, shoe-box end label, measuring tape, receipt, and a brand's retail hang
tag with a printed retail price and a retail EAN-13.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw

from .codes import ean13_img
from .fonts import GROUPS, font
from .tags import _finish_paper, fit_text

__all__ = ["brand_label", "care_label", "measuring_tape", "receipt", "retail_tag", "shoe_box_label", "size_label"]

RGBA = tuple[int, int, int, int]


def _put(img: Image.Image, box: tuple[float, float, float, float], text: str, key: str, ink: RGBA) -> None:
    """Fit ``text`` centred into ``box`` (x0, y0, x1, y1) in face ``key``."""
    x0, y0, x1, y1 = box
    size = fit_text(key, text, x1 - x0, y1 - y0)
    ImageDraw.Draw(img).text(((x0 + x1) / 2, (y0 + y1) / 2), text, font=font(key, size), fill=ink, anchor="mm")


def _woven(img: Image.Image, rnd: random.Random) -> Image.Image:
    """Fine horizontal weave lines and folded-edge shading on a woven/satin label."""
    arr = np.asarray(img, np.float32)
    h, w = arr.shape[:2]
    rows = (np.arange(h) % 3 == 0).astype(np.float32)[:, None]
    arr[..., :3] *= (1 - 0.07 * rows - 0.05 * np.random.default_rng(rnd.getrandbits(32)).random((h, w)))[..., None]
    edge = np.minimum(np.arange(w), np.arange(w)[::-1])[None, :] < w * 0.05
    arr[..., :3] *= np.where(edge, 0.8, 1.0)[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGBA")


def brand_label(brand: str, rnd: random.Random) -> Image.Image:
    """A woven neck label: the brand name (and maybe "MADE IN …") on satin black/white/navy/red."""
    bg, ink = rnd.choice(
        (
            ((20, 20, 22), (235, 230, 220)),
            ((245, 243, 236), (25, 25, 30)),
            ((25, 35, 70), (230, 200, 120)),
            ((150, 20, 30), (250, 250, 250)),
            ((210, 195, 170), (60, 40, 30)),
        )
    )
    w, h = 480, int(480 * rnd.uniform(0.3, 0.5))
    img = Image.new("RGBA", (w, h), (*bg, 255))
    key = rnd.choice(GROUPS["serif"] + GROUPS["display"] + ("sans_bold", "gothic_demi"))
    txt = brand.upper() if rnd.random() < 0.6 else brand
    _put(img, (w * 0.1, h * 0.15, w * 0.9, h * 0.62), txt, key, (*ink, 255))
    if rnd.random() < 0.6:
        tail = rnd.choice(("MADE IN ITALY", "PARIS", "EST. 1921", "COLLECTION", "ORIGINAL", "LONDON"))
        _put(img, (w * 0.25, h * 0.68, w * 0.75, h * 0.88), tail, "sans", (*ink, 255))
    return _woven(img, rnd)


def _care_symbols(d: ImageDraw.ImageDraw, x: float, y: float, s: float, ink: RGBA, rnd: random.Random) -> None:
    """Five laundry symbols (tub, triangle, square-circle, iron, circle) in a row from (x, y), ``s`` px each."""
    lw = max(2, int(s / 14))
    d.polygon(
        [(x, y + s * 0.2), (x + s * 0.9, y + s * 0.2), (x + s * 0.75, y + s * 0.9), (x + s * 0.15, y + s * 0.9)],
        outline=ink,
        width=lw,
    )
    d.text(
        (x + s * 0.45, y + s * 0.58),
        rnd.choice(("30", "40", "•")),
        font=font("sans_bold", int(s * 0.4)),
        fill=ink,
        anchor="mm",
    )
    x += s * 1.15
    d.polygon([(x + s * 0.45, y + s * 0.1), (x + s * 0.9, y + s * 0.9), (x, y + s * 0.9)], outline=ink, width=lw)
    d.line([(x, y + s * 0.1), (x + s * 0.9, y + s * 0.95)], fill=ink, width=lw)
    x += s * 1.15
    d.rectangle((x, y + s * 0.1, x + s * 0.85, y + s * 0.9), outline=ink, width=lw)
    d.ellipse((x + s * 0.15, y + s * 0.25, x + s * 0.7, y + s * 0.8), outline=ink, width=lw)
    x += s * 1.15
    d.polygon(
        [(x, y + s * 0.85), (x + s * 0.95, y + s * 0.85), (x + s * 0.8, y + s * 0.3), (x + s * 0.25, y + s * 0.3)],
        outline=ink,
        width=lw,
    )
    x += s * 1.2
    d.ellipse((x, y + s * 0.1, x + s * 0.8, y + s * 0.9), outline=ink, width=lw)
    d.text((x + s * 0.4, y + s * 0.5), "P", font=font("sans", int(s * 0.5)), fill=ink, anchor="mm")


def care_label(rnd: random.Random) -> Image.Image:
    """A long satin care label: fibre content in several languages, laundry symbols, origin, RN number."""
    w, h = 300, 620
    img = Image.new("RGBA", (w, h), (rnd.randint(235, 250), rnd.randint(235, 250), rnd.randint(228, 245), 255))
    d = ImageDraw.Draw(img)
    ink = (40, 40, 45, 255)
    fibre = rnd.choice(("100% COTTON", "100% POLYESTER", "80% WOOL 20% NYLON", "95% COTTON 5% ELASTANE"))
    lines = [
        fibre,
        "BAUMWOLLE / COTON",
        "ALGODÓN / COTONE",
        "",
        rnd.choice(("MADE IN BANGLADESH", "MADE IN PORTUGAL", "MADE IN CHINA", "MADE IN TURKEY")),
        f"RN {rnd.randint(10000, 99999)}",
        f"CA{rnd.randint(10000, 99999)}",
        f"{rnd.randint(1000, 9999)}/{rnd.randint(100, 999)}/{rnd.randint(100, 999)}",
    ]
    y = 30.0
    for ln in lines:
        if ln:
            _put(img, (18, y, w - 18, y + 34), ln, rnd.choice(("sans", "nimbus_sans", "dejavu")), ink)
        y += 44
    _care_symbols(d, 14, y + 10, 46, ink, rnd)
    return _woven(img, rnd)


def size_label(rnd: random.Random) -> Image.Image:
    """A small size label: "M", "38", or "EUR 40 / UK 12 / US 8"."""
    w, h = 300, int(300 * rnd.uniform(0.45, 0.9))
    bg = rnd.choice(((20, 20, 22), (245, 243, 236), (40, 60, 110), (230, 230, 230)))
    ink = (240, 240, 235, 255) if sum(bg) < 300 else (25, 25, 30, 255)
    img = Image.new("RGBA", (w, h), (*bg, 255))
    if rnd.random() < 0.5:
        _put(
            img,
            (w * 0.2, h * 0.12, w * 0.8, h * 0.88),
            rnd.choice(("S", "M", "L", "XL", "38", "40", "36", "XS")),
            "sans_bold",
            ink,
        )
    else:
        sizes = (
            "EUR",
            str(rnd.choice((36, 38, 40, 42))),
            "UK",
            str(rnd.choice((8, 10, 12))),
            "US",
            str(rnd.randint(2, 10)),
        )
        for i in range(3):
            _put(img, (w * 0.05, h * (0.08 + i * 0.3), w * 0.45, h * (0.3 + i * 0.3)), sizes[2 * i], "sans", ink)
            _put(
                img, (w * 0.55, h * (0.08 + i * 0.3), w * 0.95, h * (0.3 + i * 0.3)), sizes[2 * i + 1], "sans_bold", ink
            )
    return _woven(img, rnd)


def shoe_box_label(brand: str, rnd: random.Random) -> Image.Image:
    """The end of a cardboard shoe box with a white sticker: brand, model, sizes, colour code, EAN-13, no price."""
    w, h = 760, 420
    card = (rnd.randint(150, 200), rnd.randint(110, 150), rnd.randint(70, 100))
    if rnd.random() < 0.35:
        card = rnd.choice(((30, 30, 30), (235, 90, 40), (200, 200, 205), (40, 70, 140)))
    img = Image.new("RGBA", (w, h), (*card, 255))
    d = ImageDraw.Draw(img)
    sx0, sy0, sx1, sy1 = w * 0.3, h * 0.12, w * 0.95, h * 0.88
    d.rectangle((sx0, sy0, sx1, sy1), fill=(246, 246, 244, 255))
    ink = (15, 15, 15, 255)
    _put(img, (w * 0.03, h * 0.35, w * 0.27, h * 0.6), brand.upper(), "sans_bold", (250, 250, 250, 255))
    _put(
        img,
        (sx0 + 10, sy0 + 6, sx0 + 300, sy0 + 50),
        rnd.choice(("CLASSIC LEATHER", "ORIGINALS", "1460 SMOOTH", "RUNNER", "CHUCK 70 HI")),
        "sans_bold",
        ink,
    )
    _put(
        img,
        (sx0 + 10, sy0 + 56, sx1 - 10, sy0 + 92),
        f"UK {rnd.randint(3, 11)}  EUR {rnd.randint(36, 46)}  US {rnd.randint(5, 12)}",
        "mono_bold",
        ink,
    )
    _put(
        img,
        (sx0 + 10, sy0 + 98, sx1 - 150, sy0 + 126),
        f"ART. {rnd.randint(100000, 999999)}  COL. {rnd.randint(1, 99):03d}",
        "mono",
        ink,
    )
    body = rnd.choice(("40", "50", "88", "19", "00")) + f"{rnd.randint(0, 10**10 - 1):010d}"
    from .shops import ean13

    bar = ean13_img(ean13(body), 3, 70).resize((int((sx1 - sx0) * 0.62), 110), Image.Resampling.NEAREST)
    img.paste(Image.new("RGBA", bar.size, ink), (int(sx0 + 14), int(sy1 - 124)), Image.eval(bar, lambda v: 255 - v))
    return _finish_paper(img, rnd, 0.05)


def measuring_tape(rnd: random.Random, length_px: int = 1400) -> Image.Image:
    """A dressmaker's tape (yellow/white/pink) with cm ticks and numbers, ``length_px`` long, 60 px wide."""
    h = 64
    col = rnd.choice(((245, 215, 40), (250, 250, 245), (240, 160, 190), (230, 230, 230)))
    img = Image.new("RGBA", (length_px, h), (*col, 255))
    d = ImageDraw.Draw(img)
    cm = rnd.uniform(22, 34)
    start = rnd.randint(0, 120)
    f = font("sans_bold", 22)
    for i in range(int(length_px / cm) + 1):
        x = i * cm
        t = 22 if (start + i) % 5 == 0 else 12
        d.line([(x, 0), (x, t)], fill=(20, 20, 20, 255), width=2)
        d.line([(x, h - t), (x, h)], fill=(20, 20, 20, 255), width=2)
        if (start + i) % 1 == 0 and i % 1 == 0:
            d.text(
                (x, h / 2),
                str(start + i),
                font=f,
                fill=(200, 20, 20, 255) if (start + i) % 10 == 0 else (20, 20, 20, 255),
                anchor="mm",
            )
    return img


def receipt(shop_hint: str, rnd: random.Random) -> Image.Image:
    """A till receipt: store name, date, 2–5 items with prices, TOTAL, card line; thermal mono print."""
    w = 380
    items = rnd.randint(2, 5)
    h = 300 + items * 34 + 120
    img = Image.new("RGBA", (w, h), (rnd.randint(238, 250), rnd.randint(238, 250), rnd.randint(232, 245), 255))
    d = ImageDraw.Draw(img)
    ink = (40, 40, 50, rnd.randint(170, 240))
    f, fb = font("mono", 20), font("mono_bold", 26)
    d.text((w / 2, 30), shop_hint.upper()[:20], font=fb, fill=ink, anchor="mm")
    d.text(
        (w / 2, 60),
        f"{rnd.randint(1, 200)} RUE {rnd.choice(('VICTOR HUGO', 'DE LA PAIX', 'HAUTE'))}",
        font=f,
        fill=ink,
        anchor="mm",
    )
    d.text(
        (w / 2, 88),
        f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/20{rnd.randint(18, 25)} {rnd.randint(9, 19)}:"
        f"{rnd.randint(0, 59):02d}",
        font=f,
        fill=ink,
        anchor="mm",
    )
    y, total = 130, 0.0
    for _ in range(items):
        p = rnd.choice((4.99, 9.99, 12.5, 19.99, 29.0, 7.5, 39.9))
        total += p
        d.text((16, y), rnd.choice(("T-SHIRT", "JEAN", "ROBE", "PULL", "SAC", "ECHARPE", "CHEMISE")), font=f, fill=ink)
        d.text((w - 16, y), f"{p:.2f}", font=f, fill=ink, anchor="ra")
        y += 34
    d.line([(16, y + 6), (w - 16, y + 6)], fill=ink, width=2)
    d.text((16, y + 20), "TOTAL", font=fb, fill=ink)
    d.text((w - 16, y + 20), f"{total:.2f}", font=fb, fill=ink, anchor="ra")
    d.text((16, y + 70), f"CB **** {rnd.randint(1000, 9999)}", font=f, fill=ink)
    d.text((w / 2, y + 110), "MERCI DE VOTRE VISITE", font=f, fill=ink, anchor="mm")
    return _finish_paper(img, rnd, 0.03)


def retail_tag(spec: dict, rnd: random.Random) -> tuple[Image.Image, tuple[float, float]]:
    """A brand's own hang tag: logo-like brand name, printed retail price, size grid, retail EAN-13."""
    w, h = 380, int(380 * rnd.uniform(1.5, 1.9))
    dark = rnd.random() < 0.45
    bg = (
        rnd.choice(((18, 18, 18), (30, 40, 70), (120, 20, 30)))
        if dark
        else rnd.choice(((250, 250, 248), (235, 228, 215)))
    )
    fg = (245, 245, 240, 255) if dark else (20, 20, 20, 255)
    img = Image.new("RGBA", (w, h), (*bg, 255))
    d = ImageDraw.Draw(img)
    key = rnd.choice(("gothic_demi", "bookman", "nimbus_bold", "c059_bold", "free_serif_bold", "sans_bold"))
    _put(img, (w * 0.1, h * 0.1, w * 0.9, h * 0.24), str(spec["brand"]).upper(), key, fg)
    d.text((w / 2, h * 0.3), str(spec["art"]), font=font("sans", 18), fill=fg, anchor="mm")
    d.rectangle((w * 0.06, h * 0.5, w * 0.94, h * 0.95), fill=(252, 252, 252, 255))
    _put(img, (w * 0.1, h * 0.36, w * 0.9, h * 0.47), str(spec["retail"]), rnd.choice(("sans_bold", "nimbus_bold")), fg)
    ink = (10, 10, 10, 255)
    d.text((w * 0.1, h * 0.53), f"SIZE {rnd.choice(('S', 'M', 'L', '38', '40'))}", font=font("sans_bold", 24), fill=ink)
    bar = ean13_img(str(spec["ean"]), 3, 80).resize((int(w * 0.8), int(h * 0.25)), Image.Resampling.NEAREST)
    img.paste(Image.new("RGBA", bar.size, ink), (int(w * 0.1), int(h * 0.64)), Image.eval(bar, lambda v: 255 - v))
    hx, hy, r = w / 2, h * 0.045, 10
    d.ellipse((hx - r, hy - r, hx + r, hy + r), fill=(0, 0, 0, 0))
    return _finish_paper(img, rnd, 0.02), (hx, hy)
