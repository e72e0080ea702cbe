"""Per-shop look of the atelier renderer: name, currency, price format, tag styles, light, camera.

A shop is fixed by one int (``shop_seed``): :func:`shop_style` draws every choice from wide
ranges with ``random.Random(shop_seed)``, so every seed gives a different-looking shop. A
shop's 1–2 tag styles are plain dicts of str/int/float/bool (they go into photo specs).
"""

from __future__ import annotations

import colorsys
import random
from dataclasses import dataclass

from .fonts import GROUPS

__all__ = ["ShopStyle", "format_price", "make_sku", "shop_price", "shop_style", "TAG_KINDS"]

TAG_KINDS = ("swing", "label_printer", "qr_sticker", "dot", "tape", "price_gun")

_NAME_A = (
    "Atelier",
    "Maison",
    "Studio",
    "Kleider",
    "Fripe",
    "Second",
    "Velvet",
    "Loop",
    "Retro",
    "Circle",
    "Boutique",
    "Rosa",
    "Nord",
    "Lumen",
    "Petite",
    "Vintage",
    "Moth",
    "Hanger",
    "Thread",
    "Linen",
    "Rag",
    "Bonne",
    "Elli",
    "Wardrobe",
    "Juno",
    "Kiosk",
    "Rue",
    "Cotton",
    "Blue",
    "Otto",
)
_NAME_B = (
    "& Co",
    "Store",
    "Vintage",
    "Closet",
    "Chic",
    "Sept",
    "Market",
    "Room",
    "Studio",
    "Depot",
    "Love",
    "Again",
    "Lab",
    "Corner",
    "Trove",
    "Twice",
    "Bazar",
    "Reloved",
    "Stock",
    "Haus",
)

_CURRENCY_FORMATS = {
    "EUR": ("eur_comma_after", "eur_before", "dash", "bare", "code_after", "prix", "eur_dot_after"),
    "GBP": ("gbp", "gbp", "bare"),
    "USD": ("usd", "usd", "bare"),
    "CHF": ("chf_before", "dash", "chf_after", "bare"),
    "SEK": ("kr_after", "kr_colon", "kr_before"),
    "DKK": ("kr_after", "kr_before", "dash"),
    "NOK": ("kr_after", "kr_before", "dash"),
}
_CURRENCY_WEIGHTS = (("EUR", 9), ("GBP", 3), ("USD", 3), ("CHF", 2), ("SEK", 1), ("DKK", 1), ("NOK", 1))


@dataclass(frozen=True)
class ShopStyle:
    """One shop's fixed look.

    Fields: name (shop name), currency (ISO code), price_fmt (a :func:`format_price` key),
    rounding ("whole", "half", "ninety", "cents"), price_level (typical price, currency units),
    sku_fmt (a :func:`make_sku` key), styles (1–2 tag style dicts), backgrounds (names of
    scene backgrounds), warmth (-1 cold .. 1 warm), brightness (0.55..1.15 gain), noise
    (sensor noise sigma, 0..1 scale), blur (probability of a soft photo), jpeg_q (low JPEG quality).
    """

    name: str
    currency: str
    price_fmt: str
    rounding: str
    price_level: float
    sku_fmt: str
    styles: tuple[dict[str, str | int | float | bool], ...]
    backgrounds: tuple[str, ...]
    warmth: float
    brightness: float
    noise: float
    blur: float
    jpeg_q: int


def _hex(rgb: tuple[float, float, float]) -> str:
    """An RGB triple in 0..1 as ``"#rrggbb"``."""
    return "#" + "".join(f"{max(0, min(255, int(round(c * 255)))):02x}" for c in rgb)


def _paper(rnd: random.Random) -> str:
    """Any hue of card: white, cream, kraft, pastel, saturated or dark; as ``"#rrggbb"``."""
    mode = rnd.random()
    h = rnd.random()
    if mode < 0.22:
        s, v = rnd.uniform(0.0, 0.08), rnd.uniform(0.9, 1.0)
    elif mode < 0.38:
        h, s, v = rnd.uniform(0.07, 0.11), rnd.uniform(0.3, 0.55), rnd.uniform(0.55, 0.8)
    elif mode < 0.68:
        s, v = rnd.uniform(0.1, 0.35), rnd.uniform(0.85, 1.0)
    elif mode < 0.9:
        s, v = rnd.uniform(0.4, 0.9), rnd.uniform(0.6, 0.98)
    else:
        s, v = rnd.uniform(0.0, 0.6), rnd.uniform(0.1, 0.3)
    return _hex(colorsys.hsv_to_rgb(h, s, v))


def _ink(rnd: random.Random, paper: str) -> str:
    """An ink contrasting with ``paper``: black, blue, red, green, purple, or white on dark card."""
    lum = 0.3 * int(paper[1:3], 16) + 0.59 * int(paper[3:5], 16) + 0.11 * int(paper[5:7], 16)
    if lum < 120:
        return rnd.choice(("#f4f1ea", "#ffffff", "#e8d9a8", "#d8d8d8"))
    return rnd.choice(("#111111", "#1b1b1b", "#20307a", "#132a8f", "#a01818", "#1f5a2a", "#4a1d6e", "#333333"))


def _tag_style(rnd: random.Random, name: str, kind: str) -> dict[str, str | int | float | bool]:
    """One tag style of kind ``kind`` with every look parameter drawn from a wide range."""
    paper = _paper(rnd)
    if kind in ("label_printer", "qr_sticker", "price_gun"):
        light = rnd.random() < 0.65
        s = rnd.uniform(0, 0.12) if light else rnd.uniform(0.15, 0.6)
        paper = _hex(colorsys.hsv_to_rgb(rnd.random(), s, rnd.uniform(0.9, 1.0)))
    if kind == "tape":
        paper = _hex(colorsys.hsv_to_rgb(rnd.uniform(0.08, 0.14), rnd.uniform(0.15, 0.4), rnd.uniform(0.8, 0.95)))
        if rnd.random() < 0.35:
            paper = _hex(colorsys.hsv_to_rgb(rnd.random(), rnd.uniform(0.2, 0.6), rnd.uniform(0.8, 1.0)))
    hand = kind in ("tape",) or (kind in ("swing", "dot") and rnd.random() < 0.5)
    group = rnd.choice(("sans", "sans", "serif", "mono", "display"))
    if kind in ("label_printer", "price_gun"):
        group = rnd.choice(("mono", "sans", "sans"))
    return {
        "kind": kind,
        "paper": paper,
        "ink": _ink(rnd, paper),
        "accent": _hex(colorsys.hsv_to_rgb(rnd.random(), rnd.uniform(0.4, 0.9), rnd.uniform(0.3, 0.8))),
        "font": rnd.choice(GROUPS[group]),
        "head_font": rnd.choice(GROUPS[rnd.choice(("sans", "serif", "display", "hand"))]),
        "hand": hand,
        "hand_font": rnd.choice(GROUPS["hand"]),
        "marker": rnd.random() < 0.55,
        "shape": rnd.choice(("rect", "rounded", "clipped", "round", "oval", "notched")),
        "hole": rnd.random() < 0.85,
        "ring": rnd.random() < 0.3,
        "string": rnd.choice(("#f2efe6", "#c8b28a", "#222222", "#b21e1e", "#d8c9a3", "#2a5db0", "#c0c0c0")),
        "header": rnd.choice(("name", "name", "stamp", "logo", "none")),
        "code": rnd.choice(("code128", "ean13", "none")) if kind == "label_printer" else "none",
        "aspect": round(rnd.uniform(0.45, 0.8), 3),
        "extra": rnd.choice(("size", "date", "cat", "sku", "none", "none")),
        "border": rnd.random() < 0.35,
        "upper": rnd.random() < 0.4,
        "shop": name,
    }


def shop_style(shop_seed: int) -> ShopStyle:
    """The shop fixed by ``shop_seed`` (any int): every look choice drawn from wide ranges."""
    rnd = random.Random(shop_seed * 7919 + 17)
    name = f"{rnd.choice(_NAME_A)} {rnd.choice(_NAME_B)}"
    if rnd.random() < 0.3:
        name = rnd.choice(_NAME_A) + rnd.choice(("", "'s", " N°" + str(rnd.randint(1, 9))))
    currency = rnd.choices([c for c, _ in _CURRENCY_WEIGHTS], [w for _, w in _CURRENCY_WEIGHTS])[0]
    kinds = rnd.sample(TAG_KINDS, 2)
    n_styles = 1 if rnd.random() < 0.55 else 2
    styles = tuple(_tag_style(rnd, name, k) for k in kinds[:n_styles])
    bgs = ("wall", "wood", "bed", "concrete", "rail", "backdrop", "tiles", "rug", "table")
    return ShopStyle(
        name=name,
        currency=currency,
        price_fmt=rnd.choice(_CURRENCY_FORMATS[currency]),
        rounding=rnd.choice(("whole", "whole", "half", "ninety", "cents")),
        price_level=rnd.uniform(6, 45) * (10 if currency in ("SEK", "DKK", "NOK") else 1),
        sku_fmt=rnd.choice(("alpha_dash", "digits", "date_dash", "letter_num", "hash")),
        styles=styles,
        backgrounds=tuple(rnd.sample(bgs, 3)),
        warmth=rnd.uniform(-0.7, 0.9),
        brightness=rnd.uniform(0.6, 1.12),
        noise=rnd.uniform(0.004, 0.035),
        blur=rnd.uniform(0.05, 0.45),
        jpeg_q=rnd.randint(55, 88),
    )


def shop_price(shop: ShopStyle, factor: float, rnd: random.Random) -> float:
    """A price for an item worth ``factor`` × the shop's level, rounded the shop's way."""
    raw = max(1.0, shop.price_level * factor * rnd.uniform(0.5, 1.6))
    if shop.rounding == "whole" or raw > 150:
        return float(round(raw))
    if shop.rounding == "half":
        return round(raw * 2) / 2
    if shop.rounding == "ninety":
        return float(int(raw)) + 0.9
    return round(raw, 1)


def _num(amount: float, sep: str, always: bool) -> str:
    """``amount`` with 2 decimals and separator ``sep``; whole amounts bare unless ``always``."""
    if amount == int(amount) and not always:
        return str(int(amount))
    return f"{amount:.2f}".replace(".", sep)


def format_price(amount: float, fmt: str, variant: int = 0) -> str:
    """``amount`` written as format ``fmt`` (e.g. "12,50 €", "€12", "12.-", "CHF 12.50", "120 kr")."""
    whole = amount == int(amount)
    i = int(amount)
    table = {
        "eur_comma_after": f"{_num(amount, ',', variant % 2 == 0)} €",
        "eur_dot_after": f"{_num(amount, '.', False)}€",
        "eur_before": f"€{_num(amount, '.', False)}",
        "dash": f"{i}.-" if whole else f"{_num(amount, '.', True)}",
        "bare": _num(amount, "," if variant % 2 else ".", False),
        "code_after": f"{_num(amount, ',', False)} EUR",
        "prix": f"Prix {_num(amount, ',', False)}" + (" €" if variant % 2 else ""),
        "gbp": f"£{_num(amount, '.', variant % 2 == 1)}",
        "usd": f"${_num(amount, '.', variant % 2 == 1)}",
        "chf_before": f"CHF {i}.-" if whole and variant % 2 == 0 else f"CHF {_num(amount, '.', True)}",
        "chf_after": f"{_num(amount, '.', True)} CHF",
        "kr_after": f"{i} kr",
        "kr_colon": f"{i}:-",
        "kr_before": f"kr {i},-",
    }
    return table[fmt]


def make_sku(fmt: str, rnd: random.Random) -> str:
    """A shop-internal stock number in format ``fmt`` (e.g. "A-10234", "004512", "2307-118")."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if fmt == "alpha_dash":
        return f"{rnd.choice(letters)}-{rnd.randint(1000, 99999)}"
    if fmt == "digits":
        return f"{rnd.randint(0, 999999):06d}"
    if fmt == "date_dash":
        return f"{rnd.randint(19, 25)}{rnd.randint(1, 12):02d}-{rnd.randint(1, 999):03d}"
    if fmt == "letter_num":
        return f"{rnd.choice(letters)}{rnd.choice(letters)}{rnd.randint(100, 9999)}"
    return f"#{rnd.randint(100, 99999)}"


def ean13(body12: str) -> str:
    """The 13-digit EAN of a 12-digit body (check digit appended)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)
