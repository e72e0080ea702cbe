"""House styles of the resale shops: what each shop's own price tag looks like, and its studio.

A shop (tenant ``resale_N``) is drawn once per set from its own ``random.Random``: its name,
its main kind of tag (and sometimes a second one), paper and ink colours, fonts, layout, the
words printed ("Prix", "Réf", …), its SKU pattern, price format and its studio (backgrounds,
flash, white balance). Every value is a plain str/int/float/bool so it can go into a spec.

Main tag kinds (``tag``):

* ``thermal``: a direct-thermal label-printer sticker, shop name, Code 128 of the SKU, price.
* ``ean_price``: a store-scale style sticker with an in-store EAN-13 (prefix 20–29) and a price.
* ``qr``: a QR label carrying the SKU or the product URL, with the SKU and price printed.
* ``printed_hang``: a printed card hang tag on a string (shop logo, "Prix", Code 128 or none).
* ``sole_sticker``: the sneaker shop's small sticker (Code 128 + price) on a sole or a box lid.

Second kinds (``tag2``): ``color_dot`` (small round/rectangular colour price sticker),
``tape`` (masking tape with a marker price), ``kraft_hand`` (kraft hang tag, handwritten price).
"""

from __future__ import annotations

import random

from .fonts import ROLES

__all__ = ["Style", "draw_shops"]

Style = dict[str, str | int | float | bool]

_NAMES = (
    "Seconde Vie Studio",
    "REVIVE",
    "Kilo Loop",
    "Le Dressing Circulaire",
    "Fripe & Co",
    "ReWear Lab",
    "Encore Vintage",
    "Maison Reprise",
    "Boucle Market",
    "Deuxième Tour",
    "Atelier Refait",
    "Vintage Nord",
)
_SNEAKER_NAMES = ("Sneak Again", "Resole Club", "Kicks Reloaded", "Second Step", "Pair Two")
_MAIN_KINDS = ("thermal", "ean_price", "qr", "printed_hang")
_PAPERS = ("#f6f5f0", "#fbfbf7", "#f1efe6", "#fffdf2", "#eef3f6")
_CARDS = ("#fbfaf6", "#c9a878", "#1f1f1f", "#e9e2d2", "#f2d7d9", "#d8e6dc")
_INKS = ("#111111", "#1a1a2e", "#202020", "#2b2b2b")
_ACCENTS = ("#d62828", "#1d4e89", "#2a9d8f", "#f4a261", "#6a4c93", "#111111", "#e76f51")
_PRICE_FORMATS = ("{e},{c:02d} €", "{e}€", "€{e}.{c:02d}", "{e},{c:02d}", "EUR {e},{c:02d}", "{e} €", "€ {e}")
_PRICE_WORDS = ("Prix", "PRIX", "Prix :", "Price", "", "Prix TTC")
_REF_WORDS = ("Réf", "REF", "Réf.", "SKU", "Art.", "N°")
_STUDIOS = (
    ("seamless_white", "lightbox"),
    ("seamless_grey", "seamless_white"),
    ("lightbox", "seamless_grey"),
    ("seamless_white", "wood"),
    ("seamless_grey", "tiles"),
    ("seamless_white", "bed"),
)


def _sku_pattern(rnd: random.Random, name: str) -> str:
    """A SKU template: a prefix from the shop's initials (or ``RS``) and ``#`` for digits."""
    initials = "".join(w[0] for w in name.replace("&", "").split() if w[0].isalpha()).upper()
    prefix = rnd.choice((initials[:3] or "RS", "RS", initials[:2] + "24", "A"))
    digits = rnd.choice((4, 5, 6))
    sep = rnd.choice(("-", "-", "", "/"))
    return f"{prefix}{sep}{'#' * digits}"


def _base_style(rnd: random.Random, name: str, tag: str) -> Style:
    """The values every shop has: name, tag kind, colours, fonts, words, SKU and price formats."""
    return {
        "shop": name,
        "tag": tag,
        "paper": rnd.choice(_PAPERS),
        "card": rnd.choice(_CARDS),
        "ink": rnd.choice(_INKS),
        "accent": rnd.choice(_ACCENTS),
        "font_price": rnd.choice(ROLES["label"] + ROLES["display"]),
        "font_text": rnd.choice(ROLES["printer"] + ROLES["body"]),
        "font_hand": rnd.choice(ROLES["hand"]),
        "layout": rnd.randrange(3),
        "price_format": rnd.choice(_PRICE_FORMATS),
        "price_word": rnd.choice(_PRICE_WORDS),
        "ref_word": rnd.choice(_REF_WORDS),
        "sku_pattern": _sku_pattern(rnd, name),
        "qr_url": rnd.random() < 0.5,
        "domain": name.lower().replace(" ", "").replace("&", "")[:14] + rnd.choice((".fr", ".com", ".shop")),
        "aspect": round(rnd.uniform(1.25, 2.1), 2),
        "rounded": rnd.random() < 0.5,
        "glossy": rnd.random() < 0.6,
    }


def _studio(rnd: random.Random) -> Style:
    """A shop's photo studio: preferred backgrounds, flash habit, white-balance bias."""
    bg_main, bg_other = rnd.choice(_STUDIOS)
    return {
        "bg_main": bg_main,
        "bg_other": bg_other,
        "flash": round(rnd.uniform(0.1, 0.7), 2),
        "wb_bias": round(rnd.uniform(-0.08, 0.08), 3),
        "rot90_rate": round(rnd.uniform(0.03, 0.15), 2),
    }


def _second_kind(rnd: random.Random) -> tuple[str, float]:
    """A shop's occasional second tag kind and how often it is used (or ``("", 0.0)``)."""
    if rnd.random() < 0.45:
        return rnd.choice(("color_dot", "tape", "kraft_hand")), round(rnd.uniform(0.15, 0.35), 2)
    return "", 0.0


def draw_shops(rnd: random.Random, n_shops: int) -> list[Style]:
    """``n_shops`` (3 or 4) house styles, all different; the last one sells mostly sneakers."""
    names = rnd.sample(_NAMES, n_shops - 1) + [rnd.choice(_SNEAKER_NAMES)]
    kinds = rnd.sample(_MAIN_KINDS, n_shops - 1) + ["sole_sticker"]
    shops: list[Style] = []
    for i, (name, tag) in enumerate(zip(names, kinds, strict=True)):
        style = _base_style(rnd, name, tag) | _studio(rnd)
        tag2, tag2_rate = _second_kind(rnd)
        style["tag2"] = tag2
        style["tag2_rate"] = tag2_rate
        style["sneakers"] = i == n_shops - 1
        style["tag_rate"] = round(rnd.uniform(0.19, 0.27), 3)
        shops.append(style)
    return shops
