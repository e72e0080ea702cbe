"""The set's products, drawn as specs only (no pixels): shops, titles, photo kinds and parameters.

:func:`generate_set` is the renderer's ``generate_set``. Every product gets 1–8 photos
(about 4); about 22 % carry one photo of their shop's own tag, about 25 % hard negatives,
about 4 % a brand's retail hang tag. One shop (tenant ``market_<n>``) per ~80 products,
each with one or two consistent tag styles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...evaluation.sets import EvalPhoto, EvalProduct, EvalSet
from .codes import ean13_full
from .tags import PENS

__all__ = ["fmt_price", "make_set", "shop_style"]

RENDERER = "market"
_SHOP_NAMES = (
    "Kleiderkiste",
    "Second Chance",
    "Fripe & Co",
    "Thrift Theory",
    "Vintage Vault",
    "Kilo Kram",
    "La Seconde Main",
    "ReWear Studio",
    "Hand Me Down",
    "Trödel Eck",
    "Encore Closet",
    "Marché Vintage",
)
_TAGLINES = ("Second Hand · Vintage", "pre-loved fashion", "Secondhand & Kommission", "friperie", "", "since 1998")
_FORMATS = ("eur_comma", "eur_prefix", "dash", "plain", "gbp", "usd", "chf", "eur_suffix")
_COLORS = (
    ("black", "#1f1f22"),
    ("navy", "#1d2b4a"),
    ("white", "#ecebe6"),
    ("grey", "#8c8f93"),
    ("red", "#a8232e"),
    ("burgundy", "#6e1f2b"),
    ("green", "#355e3b"),
    ("olive", "#6b6b3a"),
    ("beige", "#d8c6a5"),
    ("camel", "#b98a58"),
    ("brown", "#6a4327"),
    ("pink", "#e2a3b5"),
    ("blue", "#3d6fb0"),
    ("mustard", "#d0a32c"),
    ("cream", "#f0e6cf"),
    ("denim", "#3b5b8c"),
)
_CATS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # category: (items, brands, patterns)
    "tee": (
        ("T-shirt", "basic tee", "striped tee", "oversized tee"),
        ("H&M", "Uniqlo", "Levi's", "Nike", "COS"),
        ("plain", "plain", "stripes"),
    ),
    "sweater": (
        ("wool jumper", "cardigan", "knit sweater", "cashmere sweater"),
        ("COS", "Zara", "Benetton", "Mango"),
        ("knit", "knit", "plain"),
    ),
    "shirt": (
        ("oxford shirt", "flannel shirt", "blouse", "linen shirt"),
        ("Ralph Lauren", "Tommy Hilfiger", "Gap"),
        ("plain", "stripes", "check", "dots"),
    ),
    "jacket": (
        ("denim jacket", "blazer", "rain jacket", "wool coat", "bomber jacket"),
        ("Levi's", "Barbour", "Zara", "The North Face", "Massimo Dutti"),
        ("denim", "plain", "corduroy"),
    ),
    "hoodie": (("hoodie", "zip hoodie", "sweatshirt"), ("Adidas", "Champion", "Carhartt", "Nike"), ("plain", "knit")),
    "dress": (
        ("midi dress", "floral summer dress", "wrap dress", "maxi dress"),
        ("Zara", "Mango", "Vero Moda", "Esprit"),
        ("floral", "plain", "dots", "stripes"),
    ),
    "jeans": (
        ("501 jeans", "mom jeans", "skinny jeans", "cord trousers", "chinos"),
        ("Levi's", "Wrangler", "Lee", "Only"),
        ("denim", "denim", "corduroy", "plain"),
    ),
    "skirt": (
        ("pleated skirt", "denim skirt", "midi skirt"),
        ("Zara", "& Other Stories", "Mango"),
        ("plain", "check", "floral"),
    ),
    "shoes": (
        ("sneakers", "Chelsea boots", "loafers", "ankle boots", "trainers"),
        ("Nike", "Adidas", "Dr. Martens", "Vans", "New Balance", "Clarks"),
        ("leather", "plain"),
    ),
    "bag": (
        ("leather handbag", "tote bag", "crossbody bag", "shopper"),
        ("Longchamp", "Michael Kors", "Fossil", "Guess"),
        ("leather", "plain", "check"),
    ),
    "jewellery": (
        ("silver necklace", "pendant necklace", "gold-plated chain"),
        ("Pandora", "Thomas Sabo", "Swarovski"),
        ("plain",),
    ),
}
_NEGATIVES = {
    "clothes": ("brand_label", "care_label", "size_label", "measuring_tape", "closeup", "printed_tee"),
    "shoes": ("shoe_box", "shoe_box", "closeup", "measuring_tape", "size_label"),
    "bag": ("brand_label", "closeup", "measuring_tape"),
    "jewellery": ("closeup", "brand_label"),
}
_PRINTS = (
    "23",
    "1987",
    "NYC|78",
    "BROOKLYN|ATHLETIC",
    "VINTAGE|SURF CLUB",
    "No. 5",
    "CALIFORNIA|1984",
    "99",
    "ATHLETIC DEPT.|84",
    "TOUR 2019|PARIS · BERLIN",
    "COLLEGE|07",
    "12",
)
_BG = (
    ("tablecloth", "#b8323a"),
    ("tablecloth", "#2f5fa0"),
    ("grass", "#4a7a2a"),
    ("tiles", "#d8d4cc"),
    ("tiles", "#9fb7c4"),
    ("cardboard", "#b08a5a"),
    ("bed", "#e8e6e2"),
    ("bed", "#c9d3dc"),
    ("wood", "#9a6b42"),
    ("concrete", "#8d8a86"),
    ("wall", "#ece6da"),
    ("rug", "#7a3b2e"),
)


def _pick(rng: np.random.Generator, seq: Any, p: Any = None) -> Any:
    """One element of ``seq`` (optionally weighted by ``p``), as a plain Python value."""
    i = int(rng.choice(len(seq), p=None if p is None else np.asarray(p, float) / np.sum(p)))
    return seq[i]


def fmt_price(value: float, fmt: str) -> str:
    """Write a price (in whole or half units) as a shop would: ``"12,50 €"``, ``"€12"``, ``"12.-"``, ``"CHF 8.-"``…"""
    whole = abs(value - round(value)) < 1e-6
    n = f"{int(round(value))}" if whole else f"{value:.2f}"
    return {
        "eur_comma": n.replace(".", ",") + " €",
        "eur_prefix": "€" + n,
        "dash": n + (".-" if whole else ""),
        "plain": n,
        "gbp": "£" + n,
        "usd": "$" + n,
        "chf": "CHF " + n + (".-" if whole else ""),
        "eur_suffix": n + "€",
    }[fmt]


def shop_style(rng: np.random.Generator, index: int) -> dict[str, Any]:
    """The consistent look of shop ``index``: name, price format, one or two tag styles and their materials."""
    styles = ("swing", "printer", "qr", "dot", "tape")
    first = _pick(rng, styles, [0.3, 0.26, 0.12, 0.18, 0.14])
    second = _pick(rng, [s for s in styles if s != first]) if rng.random() < 0.5 else first
    return {
        "shop_name": _SHOP_NAMES[index % len(_SHOP_NAMES)],
        "shop_tagline": _pick(rng, _TAGLINES),
        "price_fmt": _pick(rng, _FORMATS, [3, 2, 2, 1, 2, 1, 1, 1]),
        "styles": (first, second),
        "swing_paper": _pick(rng, ("#b9905e", "#f3efe4", "#f6f3ea", "#f2c9cf", "#cfe8d8", "#f3e08a")),
        "tag_ink": _pick(rng, ("#2a2a2a", "#1d2b4a", "#6e1f2b", "#2f4f3a")),
        "tag_font": _pick(rng, ("serif_bold", "serif_display", "sans_bold", "display_bold", "dejavu_serif")),
        "tag_pen": _pick(rng, tuple(PENS)),
        "tag_logo": _pick(rng, ("none", "circle", "hanger", "star")),
        "tag_layout": _pick(rng, ("free", "fields", "below")),
        "tag_code": _pick(rng, ("code128", "ean13")),
        "dot_color": _pick(rng, ("#ff7f2a", "#ffe135", "#7fdc4a", "#ff5fa2", "#e8343a", "#3f8fe0", "#f4f4f0")),
        "sku_prefix": _pick(rng, ("", "MK", "A-", "KS", "SC")),
        "consignor": bool(rng.random() < 0.5),
        "qr_price": bool(rng.random() < 0.5),
        "domain": _SHOP_NAMES[index % len(_SHOP_NAMES)].lower().replace(" ", ""),
    }


def _tag_spec(shop: dict[str, Any], rng: np.random.Generator, price: float, pid: int, item: str) -> dict[str, Any]:
    """The spec of one shop-tag photo: style (one of the shop's), texts, codes, and how it is photographed."""
    style = _pick(rng, shop["styles"])
    fmt = shop["price_fmt"]
    short_price = float(max(1, round(price)))
    short = fmt_price(short_price, fmt if fmt in ("dash", "plain", "eur_suffix", "gbp", "usd") else "plain")
    sku_num = int(rng.integers(1000, 99999))
    sku = f"{shop['sku_prefix']}{sku_num:05d}"
    ean12 = f"20{sku_num:05d}{int(round(price * 100)) % 100000:05d}"
    paper = {
        "swing": shop["swing_paper"],
        "printer": "#fbfbf7",
        "qr": _pick(rng, ("#ffffff", "#fff6c4")),
        "dot": shop["dot_color"],
        "tape": _pick(rng, ("#e6dab4", "#eee3c2", "#d9cba2")),
    }[style]
    scene = _pick(rng, ("flat", "garment", "hand"), [0.45, 0.3, 0.25])
    lo, hi = {"swing": (0.3, 0.6), "printer": (0.45, 0.85), "qr": (0.4, 0.8), "dot": (0.15, 0.4), "tape": (0.4, 0.75)}[
        style
    ]
    return {
        "shop_name": shop["shop_name"],
        "shop_tagline": shop["shop_tagline"],
        "tag_style": style,
        "tag_paper": paper,
        "tag_ink": shop["tag_ink"],
        "tag_font": shop["tag_font"],
        "tag_pen": shop["tag_pen"],
        "tag_logo": shop["tag_logo"],
        "tag_layout": "price" if style == "qr" and shop["qr_price"] else shop["tag_layout"],
        "tag_code": shop["tag_code"],
        "price": fmt_price(price, fmt),
        "price_short": short,
        "sku": sku,
        "ean": ean13_full(ean12),
        "qr_data": f"https://{shop['domain']}.example/i/{sku}" if rng.random() < 0.6 else sku,
        "item_short": item.upper()[:18],
        "consignor": f"Kom. {int(rng.integers(10, 400))}" if shop["consignor"] else "",
        "tag_scene": scene,
        "tag_frac": round(float(rng.uniform(lo, hi)), 3),
        "tag_angle": round(float(rng.uniform(-180, 180) if rng.random() < 0.3 else rng.normal(0, 15)), 2),
        "tag_tilt": round(float(rng.choice([0.0, 0.1, 0.25, 0.4], p=[0.3, 0.35, 0.25, 0.1])), 2),
        "glare": bool(rng.random() < (0.35 if style != "swing" else 0.12)),
    }


def _size(rng: np.random.Generator, cat: str) -> str:
    """A size as written on a label of this category (``"M"``, ``"38"``, ``"W32 L34"``, ``"EU 42"``)."""
    if cat == "jeans":
        return f"W{int(rng.integers(26, 37))} L{int(_pick(rng, (30, 32, 34)))}"
    if cat == "shoes":
        return f"EU {int(rng.integers(36, 47))}"
    if cat in ("bag", "jewellery"):
        return "One Size"
    return str(_pick(rng, ("XS", "S", "M", "L", "XL", "34", "36", "38", "40", "42", "44")))


def _negative_spec(rng: np.random.Generator, brand: str, size: str) -> dict[str, Any]:
    """Texts of the product's labels, retail tag and box (used only by hard-negative photos)."""
    label_bg, label_fg = _pick(
        rng,
        (
            ("#1b1b1f", "#f0ece0"),
            ("#f4f1ea", "#1b1b1f"),
            ("#1d2b4a", "#e8d8b0"),
            ("#f4f1ea", "#a8232e"),
            ("#6e1f2b", "#f0e6cf"),
        ),
    )
    cc = _pick(
        rng,
        (
            "100% COTTON|100% BAUMWOLLE|100% COTON",
            "80% WOOL 20% POLYAMIDE|80% WOLLE 20% POLYAMID",
            "65% POLYESTER 35% COTTON|65% POLYESTER 35% BAUMWOLLE",
            "100% VISCOSE|100% VISKOSE",
        ),
    )
    origin = _pick(rng, ("MADE IN BANGLADESH", "MADE IN PORTUGAL", "MADE IN CHINA", "MADE IN TURKEY"))
    rrp = float(_pick(rng, (29.95, 39.99, 49.95, 59.0, 79.9, 119.0, 24.99)))
    return {
        "brand": brand,
        "label_bg": label_bg,
        "label_fg": label_fg,
        "label_font": _pick(rng, ("serif_bold", "display_bold", "serif_display_italic", "dejavu_bold")),
        "label_sub": origin,
        "care_text": f"{cc}|{origin}|RN 52469  CA 17897|{size}",
        "wash": _pick(rng, ("30", "40", "60")),
        "size_text": size,
        "article": f"{_pick(rng, ('CW', 'DD', 'AR', 'BQ'))}{int(rng.integers(1000, 9999))}"
        f"-{int(rng.integers(100, 999))}",
        "retail_price": _pick(
            rng, (f"€ {rrp:.2f}".replace(".", ","), f"RRP £{rrp:.2f}", f"${rrp:.2f}", f"{rrp:.2f} EUR")
        ),
        "retail_ean": ean13_full(f"{_pick(rng, ('40', '50', '87', '00', '59'))}{int(rng.integers(0, 10**10)):010d}"),
        "model": _pick(rng, ("AIR MAX 90", "STAN SMITH", "1460 SMOOTH", "OLD SKOOL", "574 CORE", "DESERT BOOT")),
        "size_run": _pick(rng, ("US 9|UK 8|EUR 42|CM 27", "US 7|UK 6|EUR 39|CM 25", "US 10|UK 9|EUR 44|CM 28")),
        "box_color": _pick(rng, ("#e3622b", "#2b2b2b", "#b58a5a", "#d9d6cf", "#1f3f7a")),
        "print_text": _pick(rng, _PRINTS),
        "print_color": _pick(rng, ("#f0ece0", "#c0262d", "#1f1f22", "#d0a32c")),
        "print_font": _pick(rng, ("display_bold", "serif_bold", "dejavu_bold", "condensed_bold")),
        "tape_start": int(rng.integers(0, 120)),
        "tape_color": _pick(rng, ("#f2d43a", "#f4f2ea", "#ffffff")),
    }


def _product_spec(rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """A random product: (title, spec of what every photo of it shares)."""
    cat = _pick(rng, tuple(_CATS), [10, 9, 9, 9, 6, 9, 10, 5, 11, 8, 4])
    items, brands, patterns = _CATS[cat]
    item, brand, pattern = _pick(rng, items), _pick(rng, brands), _pick(rng, patterns)
    cname, color = _pick(rng, _COLORS)
    if pattern == "denim":
        cname, color = "blue", _pick(rng, ("#3b5b8c", "#2c4266", "#6f8fb8"))
    if cat == "jewellery":
        cname, color = _pick(rng, (("silver", "#c8c8cc"), ("gold", "#d4af37")))
    size = _size(rng, cat)
    extra = _pick(rng, ("", "", "vintage", "like new", "NWT", "90s"))
    title = " ".join(t for t in (brand, cname, item, "" if size == "One Size" else size, extra) if t)
    bg, bg_color = _pick(rng, _BG)
    long_side = int(_pick(rng, (640, 800, 960, 1024, 1080, 1200, 1280, 1440, 1600, 2048)))
    ax, ay = _pick(rng, ((4, 3), (3, 4), (3, 4), (1, 1), (16, 9), (9, 16)))
    w, h = (long_side, long_side * ay // ax) if ax >= ay else (long_side * ax // ay, long_side)
    spec = {
        "category": cat,
        "item": item,
        "color": color,
        "color2": _pick(rng, _COLORS)[1],
        "pattern": pattern,
        "unit": round(float(rng.uniform(0.03, 0.08)), 3),
        "thread": _pick(rng, ("#d9b36a", "#e8e4da", "#2a2a2a")),
        "bg": bg,
        "bg_color": bg_color,
        "width": int(w),
        "height": int(h),
        **_negative_spec(rng, brand, size),
    }
    return title, spec


def _kinds(rng: np.random.Generator, cat: str, n: int, has_tag: bool, negatives: int, retail: bool) -> list[str]:
    """The ordered kinds of a product's ``n`` photos: product views first, negatives and tag in between."""
    group = cat if cat in ("shoes", "bag", "jewellery") else "clothes"
    kinds = ["garment"] + [_pick(rng, ("garment", "garment", "detail")) for _ in range(n - 1)]
    slots = list(range(1, n)) if n > 1 else [0]
    specials = [_pick(rng, _NEGATIVES[group]) for _ in range(negatives)] + (["retail_tag"] if retail else [])
    for kind in specials:
        if kind == "printed_tee":
            kinds[0] = "printed_tee"
        else:
            kinds[_pick(rng, slots)] = kind
    if has_tag:
        pos = _pick(rng, ("last", "first", "middle"), [0.5, 0.15, 0.35])
        i = {"last": n - 1, "first": 0, "middle": int(rng.integers(1, max(2, n - 1)))}[pos]
        kinds[min(i, n - 1)] = "shop_tag"
    return kinds


def _photo_spec(rng: np.random.Generator, kind: str, base: dict[str, Any]) -> dict[str, Any]:
    """Per-photo parameters: view, light, blur, noise, file format and JPEG quality."""
    tag = kind == "shop_tag"
    return {
        "view": _pick(rng, ("front", "back")),
        "light": _pick(rng, ("day", "warm", "cool", "dim", "flash", "shade"), [40, 18, 10, 12, 12, 8]),
        "blur": _pick(rng, ("none", "soft", "strong", "motion"), [55, 25, 8, 12] if tag else [65, 25, 3, 7]),
        "noise": round(float(rng.uniform(1, 7)), 2),
        "fmt": _pick(rng, ("jpeg", "png", "webp"), [88, 5, 7]),
        "quality": int(rng.integers(45, 96)),
        "width": base["width"] if rng.random() < 0.85 else base["height"],
        "height": base["height"] if rng.random() < 0.85 else base["width"],
    }


def make_set(seed: int, n_products: int) -> EvalSet:
    """Draw ``n_products`` product specs for ``seed`` (no pixels); products ordered by (tenant, id)."""
    rng = np.random.default_rng([seed, 4242])
    n_shops = max(1, int(round(n_products / 80)))
    shops = [shop_style(np.random.default_rng([seed, 77, i]), i) for i in range(n_shops)]
    owners = sorted(int(rng.integers(0, n_shops)) for _ in range(n_products))
    counters = [0] * n_shops
    products = []
    for shop_i in owners:
        counters[shop_i] += 1
        title, base = _product_spec(rng)
        n = int(_pick(rng, range(1, 9), [5, 11, 18, 24, 18, 12, 7, 5]))
        has_tag = rng.random() < 0.22 / 0.95 and n >= 2
        negatives = int(rng.random() < 0.25) * (1 + int(rng.random() < 0.3))
        retail = bool(rng.random() < 0.04) and base["category"] != "shoes"
        if "printed_tee" in _NEGATIVES["clothes"] and negatives and base["category"] == "tee" and rng.random() < 0.5:
            base["item"] = "graphic tee"
        kinds = _kinds(rng, str(base["category"]), n, has_tag, negatives, retail)
        photos = []
        for kind in kinds:
            spec = {**base, **_photo_spec(rng, kind, base)}
            if kind == "shop_tag":
                spec.update(_tag_spec(shops[shop_i], rng, _price(rng), counters[shop_i], str(base["item"])))
            photos.append(
                EvalPhoto(
                    RENDERER, int(rng.integers(0, 2**31 - 1)), kind, kind == "shop_tag", tuple(sorted(spec.items()))
                )
            )
        products.append(EvalProduct(f"market_{shop_i + 1}", counters[shop_i], title, tuple(photos)))
    return EvalSet(RENDERER, seed, tuple(products))


def _price(rng: np.random.Generator) -> float:
    """A second-hand price: mostly whole units from 1 to 80, sometimes with ,50 / ,90 / ,95."""
    whole = float(
        _pick(rng, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 18, 20, 22, 25, 29, 30, 35, 39, 45, 49, 60, 80))
    )
    return whole + float(_pick(rng, (0.0, 0.0, 0.0, 0.5, 0.9, 0.95)))
