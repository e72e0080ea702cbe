"""What the resale shops sell: garment categories, brands, titles and prices (no pixels).

A product is one garment (or pair of shoes) with a title like ``"Levi's 501 jeans W32 L34"``,
a colour, a fabric pattern and a price in euros; its photos are drawn from these values.
"""

from __future__ import annotations

import random

__all__ = ["APPAREL", "BRANDS", "COLOURS", "Item", "draw_item"]

Item = dict[str, str | int | float | bool]

#: category -> (title templates, size choices); ``{b}`` brand, ``{s}`` size.
APPAREL: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tee": (("{b} t-shirt {s}", "T-shirt {b} col rond {s}", "{b} tee oversize {s}"), ("XS", "S", "M", "L", "XL")),
    "shirt": (("Chemise {b} {s}", "{b} oxford shirt {s}", "Chemise lin {b} {s}"), ("S", "M", "L", "40", "42")),
    "jeans": (("{b} 501 jeans {s}", "Jean {b} slim {s}", "{b} mom jeans {s}"), ("W28 L32", "W30 L32", "W32 L34", "38")),
    "dress": (("Robe midi {b} {s}", "{b} robe fleurie {s}", "Robe {b} en lin {s}"), ("34", "36", "38", "40", "M")),
    "jacket": (("Veste {b} {s}", "{b} trench {s}", "Blouson {b} {s}"), ("S", "M", "L", "38", "40")),
    "sweater": (("Pull {b} laine {s}", "{b} cardigan {s}", "Sweat {b} {s}"), ("S", "M", "L", "XL")),
    "skirt": (("Jupe {b} plissée {s}", "{b} mini jupe {s}"), ("34", "36", "38", "S", "M")),
    "sneakers": (
        ("{b} Air Max 90 {s}", "{b} Stan Smith {s}", "{b} 574 {s}", "{b} Old Skool {s}"),
        ("EU 38", "EU 40", "EU 42", "EU 44"),
    ),
    "boots": (("Bottines {b} cuir {s}", "{b} Chelsea boots {s}"), ("37", "38", "39", "41")),
}

BRANDS: dict[str, tuple[str, ...]] = {
    "tee": ("Petit Bateau", "Carhartt", "Uniqlo", "H&M", "Levi's", "Kiabi"),
    "shirt": ("Ralph Lauren", "Zara", "Uniqlo", "Celio", "Sézane"),
    "jeans": ("Levi's", "Lee", "Wrangler", "Diesel", "Zara"),
    "dress": ("Sézane", "Mango", "Zara", "Rouje", "Sandro"),
    "jacket": ("Comptoir des Cotonniers", "Zara", "The North Face", "Levi's", "Barbour"),
    "sweater": ("Maje", "Uniqlo", "Ralph Lauren", "Benetton", "Des Petits Hauts"),
    "skirt": ("Mango", "Zara", "Claudie Pierlot", "Naf Naf"),
    "sneakers": ("Nike", "Adidas", "New Balance", "Vans", "Asics", "Veja"),
    "boots": ("Minelli", "Dr. Martens", "Bocage", "Clarks"),
}

COLOURS = (
    "#1f2a44",
    "#2e4a7d",
    "#6b8fb5",
    "#b8c7d9",
    "#8a2b2b",
    "#c8553d",
    "#e8d5b7",
    "#f2f2f2",
    "#222222",
    "#4f6d3a",
    "#a3a380",
    "#d4a5a5",
    "#7d5a50",
    "#e0b84d",
    "#5c4b8a",
    "#9e9e9e",
    "#3e6259",
)
_PATTERNS = ("plain", "plain", "plain", "denim", "knit", "stripes", "check", "dots", "floral")


def _price(rnd: random.Random, category: str) -> tuple[int, int]:
    """A resale price in (euros, cents) for ``category``."""
    high = {"sneakers": 120, "boots": 90, "jacket": 110, "dress": 70}.get(category, 45)
    euros = rnd.randint(3, high)
    cents = rnd.choice((0, 0, 0, 50, 90, 99, 95))
    return euros, cents


def draw_item(rnd: random.Random, sneaker_shop: bool) -> Item:
    """One product's garment: category, brand, title, colour, pattern and price."""
    if sneaker_shop and rnd.random() < 0.8:
        category = "sneakers"
    else:
        category = rnd.choice(("tee", "tee", "shirt", "jeans", "dress", "jacket", "sweater", "skirt", "boots"))
    templates, sizes = APPAREL[category]
    brand = rnd.choice(BRANDS[category])
    size = rnd.choice(sizes)
    euros, cents = _price(rnd, category)
    pattern = "denim" if category == "jeans" else rnd.choice(_PATTERNS)
    if category in ("sneakers", "boots"):
        pattern = "leather" if rnd.random() < 0.4 else "mesh"
    return {
        "category": category,
        "brand": brand,
        "size": size,
        "title": rnd.choice(templates).format(b=brand, s=size),
        "garment_hex": rnd.choice(COLOURS),
        "garment_hex2": rnd.choice(COLOURS),
        "pattern": pattern,
        "euros": euros,
        "cents": cents,
    }
