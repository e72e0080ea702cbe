"""Products of the atelier renderer's shops: categories, brands, realistic listing titles.

``CATEGORIES`` maps a category to (price factor, drawn shape). :func:`make_title` writes a
resale-listing title such as ``"Levi's 501 jeans W32 L34"`` from a ``random.Random``.
"""

from __future__ import annotations

import random

__all__ = ["CATEGORIES", "PRINTS", "make_title", "retail_brand"]

#: category -> (price factor relative to the shop's level, shape drawn by scene.py)
CATEGORIES: dict[str, tuple[float, str]] = {
    "tee": (0.5, "top"),
    "shirt": (0.8, "top"),
    "sweater": (1.0, "top"),
    "jacket": (1.8, "top"),
    "coat": (2.4, "top"),
    "dress": (1.3, "dress"),
    "skirt": (0.9, "skirt"),
    "jeans": (1.2, "trousers"),
    "trousers": (1.0, "trousers"),
    "shorts": (0.6, "trousers"),
    "shoes": (1.4, "shoes"),
    "boots": (2.0, "shoes"),
    "bag": (1.6, "bag"),
    "hat": (0.6, "hat"),
    "scarf": (0.5, "scarf"),
    "belt": (0.5, "belt"),
}
_CAT_WEIGHTS = (9, 8, 9, 7, 5, 9, 5, 7, 5, 3, 6, 4, 6, 3, 3, 2)

_BRANDS = {
    "apparel": (
        "Zara",
        "H&M",
        "Mango",
        "COS",
        "Arket",
        "Uniqlo",
        "Sézane",
        "Petit Bateau",
        "Comptoir des Cotonniers",
        "Ralph Lauren",
        "Tommy Hilfiger",
        "Lacoste",
        "Massimo Dutti",
        "& Other Stories",
        "Esprit",
        "Marc O'Polo",
        "Acne Studios",
        "Ganni",
        "Maje",
        "Sandro",
        "Vero Moda",
        "Benetton",
        "Fred Perry",
        "Barbour",
        "Patagonia",
    ),
    "denim": ("Levi's", "Lee", "Wrangler", "Diesel", "G-Star Raw", "Pepe Jeans", "Weekday", "Nudie Jeans"),
    "shoes": ("Dr. Martens", "Nike", "Adidas", "Converse", "Birkenstock", "Clarks", "Veja", "New Balance", "Vans"),
    "bags": ("Longchamp", "Fossil", "Michael Kors", "Coach", "Fjällräven", "Herschel", "Kipling", "Lancel"),
}
_ITEMS = {
    "tee": ("T-shirt", "tee", "graphic tee", "striped T-shirt", "long-sleeve top"),
    "shirt": ("shirt", "Oxford shirt", "linen shirt", "blouse", "flannel shirt", "silk blouse"),
    "sweater": ("jumper", "wool sweater", "cardigan", "cashmere jumper", "cable-knit sweater", "hoodie"),
    "jacket": ("denim jacket", "blazer", "leather jacket", "bomber jacket", "waxed jacket", "fleece"),
    "coat": ("wool coat", "trench coat", "parka", "puffer coat", "duffle coat"),
    "dress": ("midi dress", "wrap dress", "summer dress", "knit dress", "slip dress", "shirt dress"),
    "skirt": ("pleated skirt", "denim skirt", "midi skirt", "mini skirt", "wrap skirt"),
    "jeans": ("501 jeans", "straight jeans", "mom jeans", "slim jeans", "bootcut jeans", "flared jeans"),
    "trousers": ("chinos", "wide-leg trousers", "corduroy trousers", "cargo pants", "linen trousers"),
    "shorts": ("denim shorts", "chino shorts", "cycling shorts", "linen shorts"),
    "shoes": ("sneakers", "loafers", "ballet flats", "Chuck Taylor All Star", "trainers", "sandals"),
    "boots": ("1460 boots", "Chelsea boots", "ankle boots", "hiking boots", "knee-high boots"),
    "bag": ("Le Pliage tote", "crossbody bag", "leather handbag", "backpack", "shoulder bag", "clutch"),
    "hat": ("bucket hat", "beanie", "wool beret", "straw hat", "baseball cap", "fedora"),
    "scarf": ("silk scarf", "wool scarf", "cashmere scarf", "bandana", "printed foulard"),
    "belt": ("leather belt", "braided belt", "western belt", "chain belt"),
}
_COLOURS = ("black", "navy", "cream", "beige", "grey", "khaki", "burgundy", "olive", "red", "white", "camel", "blue")
PRINTS = (
    "23",
    "1987",
    "No. 9",
    "PARIS",
    "BROOKLYN",
    "88",
    "CALIFORNIA",
    "07",
    "NEW YORK",
    "ATHLETIC 12",
    "2004",
    "LOVE",
)


def _size(cat: str, rnd: random.Random) -> str:
    """A size phrase for ``cat``: "size M", "EU 39", "W32 L34", "FR 38", "UK 10", or ""."""
    if cat in ("shoes", "boots"):
        return rnd.choice((f"EU {rnd.randint(36, 45)}", f"size {rnd.randint(36, 45)}", f"UK {rnd.randint(3, 11)}"))
    if cat in ("jeans", "trousers"):
        return rnd.choice((f"W{rnd.randint(25, 36)} L{rnd.choice((30, 32, 34))}", f"size {rnd.randint(34, 46)}"))
    if cat in ("bag", "scarf", "belt"):
        return rnd.choice(("", "", "one size", f"{rnd.randint(75, 105)} cm" if cat == "belt" else ""))
    if cat == "hat":
        return rnd.choice(("one size", "", f"size {rnd.choice(('S', 'M', 'L'))}"))
    return rnd.choice(
        (
            f"size {rnd.choice(('XS', 'S', 'M', 'L', 'XL'))}",
            rnd.choice(("XS", "S", "M", "L", "XL")),
            f"FR {rnd.choice((34, 36, 38, 40, 42))}",
            f"UK {rnd.choice((6, 8, 10, 12, 14))}",
            f"Gr. {rnd.choice((36, 38, 40, 42))}",
        )
    )


def _brand(cat: str, rnd: random.Random) -> str:
    """A brand plausible for ``cat``, or "Vintage"/"Unbranded" now and then."""
    if rnd.random() < 0.12:
        return rnd.choice(("Vintage", "Handmade", "Unbranded", "Vintage 90s", "Y2K"))
    if cat in ("jeans", "shorts") and rnd.random() < 0.7:
        return rnd.choice(_BRANDS["denim"])
    if cat in ("shoes", "boots"):
        return rnd.choice(_BRANDS["shoes"])
    if cat == "bag" and rnd.random() < 0.7:
        return rnd.choice(_BRANDS["bags"])
    return rnd.choice(_BRANDS["apparel"])


def make_title(cat: str, rnd: random.Random) -> tuple[str, str]:
    """A listing title for category ``cat`` and the brand in it, e.g. ("Levi's 501 jeans W32 L34", "Levi's")."""
    brand = _brand(cat, rnd)
    item = rnd.choice(_ITEMS[cat])
    colour = rnd.choice(_COLOURS) + " " if rnd.random() < 0.4 else ""
    size = _size(cat, rnd)
    tail = rnd.choice(("", "", "", " – like new", " – good condition", ", barely worn", " (vintage)"))
    parts = [brand, colour + item]
    title = " ".join(p for p in parts if p)
    if size:
        title += rnd.choice((" ", ", ", " – ")) + size
    return title + tail, brand


def random_category(rnd: random.Random) -> str:
    """A category drawn with the shop's usual mix (more tops and dresses than belts)."""
    return rnd.choices(list(CATEGORIES), _CAT_WEIGHTS)[0]


def retail_brand(cat: str, rnd: random.Random) -> str:
    """A brand that prints its own hang tags (never "Vintage")."""
    b = _brand(cat, rnd)
    return b if b not in ("Vintage", "Handmade", "Unbranded", "Vintage 90s", "Y2K") else rnd.choice(_BRANDS["apparel"])
