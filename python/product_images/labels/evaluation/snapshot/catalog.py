"""Products, shops and photo plans of the ``snapshot`` renderer (no pixels drawn).

:func:`build_set` turns a seed into an :class:`EvalSet`: shops ("tenants") with their
own tag styles, products with realistic titles, and 1-10 photo descriptions each
whose ``spec`` holds every parameter the drawing code needs (plain values only).
"""

from __future__ import annotations

import numpy as np
from numpy.random import Generator

from ..sets import EvalPhoto, EvalProduct, EvalSet
from .fonts import HAND_FONTS, PRINT_FONTS

__all__ = ["build_set", "RENDERER_NAME"]

RENDERER_NAME = "snapshot"
Spec = dict[str, "str | int | float | bool"]

# category -> (weight, [(brand, model words)], sizes, materials, patterns, price range)
CATALOG: dict[str, tuple[int, list[tuple[str, str]], list[str], list[str], list[str], tuple[int, int]]] = {
    "tee": (
        10,
        [
            ("Nike", "logo t-shirt"),
            ("Adidas", "trefoil tee"),
            ("Carhartt", "pocket tee"),
            ("Uniqlo", "U crew neck tee"),
            ("Champion", "reverse weave tee"),
            ("Levi's", "batwing tee"),
        ],
        ["S", "M", "L", "XL"],
        ["cotton"],
        ["plain", "plain", "stripes"],
        (4, 18),
    ),
    "shirt": (
        8,
        [
            ("Ralph Lauren", "oxford shirt"),
            ("Tommy Hilfiger", "striped shirt"),
            ("COS", "linen shirt"),
            ("Gant", "flannel shirt"),
            ("Uniqlo", "flannel shirt"),
        ],
        ["S", "M", "L", "XL", "39", "41"],
        ["cotton"],
        ["plain", "stripes", "checks"],
        (8, 30),
    ),
    "sweater": (
        8,
        [
            ("Benetton", "wool jumper"),
            ("Massimo Dutti", "cashmere sweater"),
            ("Gap", "cable knit"),
            ("& Other Stories", "mohair cardigan"),
            ("Tommy Hilfiger", "cotton sweater"),
        ],
        ["XS", "S", "M", "L"],
        ["knit"],
        ["plain", "plain", "stripes"],
        (10, 45),
    ),
    "jacket": (
        7,
        [
            ("Levi's", "trucker jacket"),
            ("The North Face", "fleece jacket"),
            ("Barbour", "waxed jacket"),
            ("Zara", "blazer"),
            ("Patagonia", "Retro-X jacket"),
        ],
        ["S", "M", "L", "38", "40"],
        ["denim", "cotton", "suede"],
        ["plain"],
        (20, 90),
    ),
    "coat": (
        5,
        [("Max Mara", "wool coat"), ("Mango", "trench coat"), ("COS", "wool coat"), ("Zara", "long coat")],
        ["34", "36", "38", "40", "M"],
        ["cotton", "knit"],
        ["plain", "checks"],
        (30, 120),
    ),
    "dress": (
        9,
        [
            ("Mango", "linen dress"),
            ("Zara", "floral midi dress"),
            ("Sézane", "wrap dress"),
            ("Reformation", "slip dress"),
            ("H&M", "shirt dress"),
        ],
        ["34", "36", "38", "40", "S", "M"],
        ["cotton"],
        ["plain", "floral", "dots", "stripes"],
        (12, 60),
    ),
    "skirt": (
        5,
        [("Zara", "pleated skirt"), ("Levi's", "denim skirt"), ("Mango", "midi skirt")],
        ["34", "36", "38", "S", "M"],
        ["cotton", "denim"],
        ["plain", "checks", "floral"],
        (8, 35),
    ),
    "jeans": (
        10,
        [
            ("Levi's", "501 jeans"),
            ("Levi's", "505 jeans"),
            ("Wrangler", "Texas jeans"),
            ("Lee", "Brooklyn jeans"),
            ("Diesel", "Zatiny jeans"),
            ("Acne Studios", "1996 jeans"),
        ],
        ["W28 L32", "W30 L32", "W32 L34", "W34 L32", "W36 L30"],
        ["denim"],
        ["plain"],
        (15, 60),
    ),
    "shorts": (
        3,
        [("Levi's", "cut-off shorts"), ("Carhartt", "chino shorts")],
        ["W28", "W30", "W32"],
        ["denim", "cotton"],
        ["plain"],
        (6, 22),
    ),
    "sneakers": (
        10,
        [
            ("Nike", "Air Max 90"),
            ("Nike", "Air Force 1"),
            ("Adidas", "Stan Smith"),
            ("Adidas", "Gazelle"),
            ("New Balance", "574"),
            ("Converse", "Chuck 70"),
            ("Vans", "Old Skool"),
        ],
        ["US 7", "US 8", "US 9", "US 10", "US 11"],
        ["leather", "suede"],
        ["plain"],
        (20, 90),
    ),
    "boots": (
        5,
        [("Dr. Martens", "1460 boots"), ("Timberland", "6-inch boots"), ("Blundstone", "500 boots")],
        ["UK 5", "UK 6", "UK 8", "UK 9"],
        ["leather"],
        ["plain"],
        (30, 110),
    ),
    "heels": (
        4,
        [("Kurt Geiger", "pumps"), ("Zara", "slingback heels"), ("Mango", "leather pumps")],
        ["36", "37", "38", "39", "40"],
        ["leather", "suede"],
        ["plain"],
        (12, 55),
    ),
    "bag": (
        8,
        [
            ("Longchamp", "Le Pliage tote"),
            ("Coach", "leather shoulder bag"),
            ("Michael Kors", "tote"),
            ("Furla", "mini crossbody"),
            ("Vintage", "leather handbag"),
        ],
        [""],
        ["leather", "suede", "cotton"],
        ["plain"],
        (15, 150),
    ),
    "belt": (
        4,
        [("Levi's", "leather belt"), ("Vintage", "braided belt"), ("Tommy Hilfiger", "belt")],
        ["85 cm", "90 cm", "95 cm", "100 cm"],
        ["leather"],
        ["plain"],
        (5, 25),
    ),
    "scarf": (
        4,
        [
            ("Hermès", "silk carré"),
            ("Burberry", "check scarf"),
            ("Vintage", "silk scarf"),
            ("Acne Studios", "wool scarf"),
        ],
        [""],
        ["cotton", "knit"],
        ["floral", "checks", "dots", "stripes"],
        (5, 80),
    ),
}

COLORS = {
    "denim": ["#2f4a6e", "#3d5f8c", "#5b7aa3", "#1e2a3d", "#7f9bbf", "#24272c"],
    "leather": ["#2b1a12", "#5a3620", "#8b5a2b", "#111111", "#a0522d", "#c9b79c", "#7a1f24"],
    "suede": ["#8a6a4a", "#b08d63", "#4c3b2b", "#6d6d6d"],
    "sneakers": ["#f2f2f0", "#e9e6df", "#111111", "#8a8f96", "#2a3f6b", "#b3262d"],
    "any": [
        "#f3f1ea",
        "#111111",
        "#2a3f6b",
        "#8b1e2d",
        "#5a6b3a",
        "#c9a66b",
        "#d9a3b0",
        "#7aa3c8",
        "#e0ddd0",
        "#4a4a4a",
        "#b35a2a",
        "#e8c547",
        "#6d4c7d",
        "#9dc3a9",
        "#f08080",
        "#3b5f4b",
    ],
}

SHOP_NAMES = [
    "Second Round",
    "Kilo Vintage",
    "Frip'Ok",
    "Re-Wear Atelier",
    "Twice Loved",
    "Closet Revival",
    "La Friperie",
    "Retro Rack",
    "Secondo Giro",
    "Thrift & Co",
    "Vintage Vault",
    "Good Old Days",
    "Rummage Room",
    "Pre-Loved Paris",
    "Encore Boutique",
    "Cherry Pickers",
    "Stitch Again",
    "Oldies Goldies",
]

TAG_STYLES = ("hand_string", "printer_label", "sticker", "card_tag", "masking_tape")
PAPERS = {
    "hand_string": ["#f6f1e4", "#d8b98f", "#ffffff", "#f7c6d6", "#bfe0f2", "#c8c8c8"],
    "card_tag": ["#f7c6d6", "#bfe0f2", "#ffffff", "#c8c8c8", "#f9e79f", "#c9e4c5"],
    "sticker": ["#ffffff", "#ffef5c", "#ff9f43", "#9cf06b", "#ff7eb6"],
    "printer_label": ["#ffffff", "#fbfaf3", "#f4f4f4"],
    "masking_tape": ["#e2d0a0"],
}
HAND_FORMATS = [
    ("€", "{i}€"),
    ("€", "€ {i}"),
    ("CHF", "{i}.-"),
    ("€", "{i},{c}"),
    ("£", "£{i}"),
    ("CHF", "CHF {i}"),
    ("$", "${i}"),
    ("kr", "{i} kr"),
]
PRINT_FORMATS = {
    "€": ["€ {i},{c}", "{i},{c} €", "{i}.{c} EUR"],
    "£": ["£{i}.{c}"],
    "CHF": ["CHF {i}.{c}"],
    "$": ["${i}.{c}", "USD {i}.{c}"],
    "kr": ["{i},{c} kr", "SEK {i}"],
}
LIGHTS = ("warm", "daylight", "flash", "dim", "overcast", "shade")
BGS = {
    "door": ["#f2f0ea", "#dcd7cc", "#8fa3ad", "#5c4a3a", "#ffffff"],
    "wood": ["#b89570", "#8a6a4a", "#d2b48c"],
    "bed": ["#f5f5f0", "#c9d6df", "#e8dcc8", "#7d8a96"],
    "wall": ["#efefe9", "#e6e1d6", "#d8e1e6"],
    "concrete": ["#9c9a96", "#bdb8b0"],
    "rack": ["#c0b6a8", "#8d8d8d"],
}


def _pick(rng: Generator, items: list[str] | tuple[str, ...]) -> str:
    """Pick one of ``items`` uniformly."""
    return items[int(rng.integers(0, len(items)))]


def _price_text(fmt: str, i: int, c: int) -> str:
    """Format price ``i`` units + ``c`` cents (0..99) with ``fmt`` ({i}, {c} placeholders)."""
    return fmt.replace("{i}", str(i)).replace("{c}", f"{c:02d}")


def _shop(rng: Generator, index: int, styles: list[str]) -> Spec:
    """A shop's fixed parameters: name, price formats, tag look, SKU scheme, photo habits."""
    cur, hand_fmt = HAND_FORMATS[int(rng.integers(0, len(HAND_FORMATS)))]
    bg = _pick(rng, list(BGS))
    s: Spec = {
        "shop": SHOP_NAMES[(index * 7 + int(rng.integers(0, 3))) % len(SHOP_NAMES)],
        "currency": cur,
        "hand_fmt": hand_fmt,
        "print_fmt": _pick(rng, PRINT_FORMATS[cur]),
        "sku_prefix": _pick(rng, ["", "A", "SR", "K", "V-", "FR"]),
        "sku_base": int(rng.integers(1000, 90000)),
        "ean_shop": int(rng.integers(10, 99)),
        "shop_bg": bg,
        "shop_bg_color": _pick(rng, BGS[bg]),
        "n_styles": len(styles),
    }
    for k, style in enumerate(styles):
        p = f"s{k}_"
        s[p + "tag_style"] = style
        s[p + "tag_paper"] = _pick(rng, PAPERS[style])
        s[p + "tag_shape"] = _pick(rng, ["round", "rounded"] if style == "sticker" else ["notched", "rounded", "rect"])
        s[p + "tag_font"] = _pick(rng, PRINT_FONTS)
        s[p + "tag_hand"] = _pick(rng, HAND_FONTS)
        s[p + "tag_ink"] = _pick(rng, ["#1b1b1b", "#1f2f8f", "#111111", "#b3171c", "#0b5d1e"])
        s[p + "tag_layout"] = int(rng.integers(0, 3))
        s[p + "tag_barcode"] = _pick(rng, ["ean13", "code128"])
        s[p + "tag_qr"] = bool(rng.random() < 0.35)
        s[p + "tag_glossy"] = bool(rng.random() < 0.3)
        s[p + "tag_ratio"] = float(round(rng.uniform(1.3, 1.8), 2))
        s[p + "tag_setting"] = _pick(rng, ["hand", "hand", "ruler", "cutting_mat", "table", "garment"])
        s[p + "mat_color"] = _pick(rng, ["#2f6b4f", "#1f3b5a", "#3a3a3a", "#2a6e8a"])
        s[p + "table_color"] = _pick(rng, ["#b89570", "#f0efe9", "#8a6a4a", "#d9d4c7"])
    return s


SLOGANS = [
    "23",
    "10",
    "1987",
    "BROOKLYN\nATHLETIC",
    "NO BAD\nDAYS",
    "SURF CLUB",
    "NYC 88",
    "CALIFORNIA",
    "07",
    "GOOD\nVIBES",
    "UNIVERSITY\nOF OREGON",
    "99",
]
NEG_BY_GROUP = {
    "clothes": ["brand_label", "care_label", "size_label", "measuring_tape", "closeup", "paper_insert"],
    "shoes": ["shoe_box", "size_label", "closeup", "paper_insert"],
    "bag": ["brand_label", "closeup", "paper_insert", "measuring_tape"],
    "belt": ["closeup", "measuring_tape", "brand_label"],
    "scarf": ["brand_label", "care_label", "closeup"],
}
DETAILS = {
    "clothes": ["flaw", "seam", "buttons", "zip"],
    "shoes": ["sole", "seam", "flaw"],
    "bag": ["buckle", "seam", "flaw"],
    "belt": ["buckle", "flaw"],
    "scarf": ["seam", "flaw"],
}


def _group(cat: str) -> str:
    """Coarse group of a category: clothes, shoes, bag, belt or scarf."""
    if cat in ("sneakers", "boots", "heels"):
        return "shoes"
    return cat if cat in ("bag", "belt", "scarf") else "clothes"


def _foreign_ean(rng: Generator) -> str:
    """12 digits of a manufacturer EAN/UPC (never the in-store prefix 2)."""
    prefix = _pick(rng, ["400", "401", "505", "843", "800", "871", "0", "0", "590"])
    return prefix + "".join(str(int(d)) for d in rng.integers(0, 10, 12 - len(prefix)))


def _item(rng: Generator, shop: Spec) -> tuple[str, Spec]:
    """Draw one product: (title, item spec with category, brand, size, colours, material…)."""
    cats = list(CATALOG)
    weights = np.array([CATALOG[c][0] for c in cats], np.float64)
    cat = cats[int(rng.choice(len(cats), p=weights / weights.sum()))]
    _, models, sizes, materials, patterns, (lo, hi) = CATALOG[cat]
    brand, model = models[int(rng.integers(0, len(models)))]
    size, material = _pick(rng, sizes), _pick(rng, materials)
    palette = COLORS["sneakers"] if cat == "sneakers" and material == "leather" else COLORS.get(material, COLORS["any"])
    number = size.split()[-1] if size else "M"
    spec: Spec = {
        "category": cat,
        "brand": brand,
        "model": model,
        "size_text": number if _group(cat) == "shoes" else (size or "M"),
        "material": material,
        "pattern": _pick(rng, patterns),
        "color": _pick(rng, palette),
        "color2": _pick(rng, COLORS["any"]),
        "price_units": int(rng.integers(lo, hi + 1)),
        "print_text": _pick(rng, SLOGANS),
        "label_name": _pick(rng, ["St Michael", "C&A", "Jaeger", "Laura Ashley", "Escada", "Gap"]),
        "box_ean": _foreign_ean(rng),
    }
    if _group(cat) == "shoes":
        n = float(number) if number.replace(".", "").isdigit() else 9.0
        us = n if size.startswith("US") else n + 1 if size.startswith("UK") else n - 31
        eu = us + 33 if size.startswith(("US", "UK")) else n
        spec.update({"size_text": f"{us:g}", "uk": f"{us - 1:g}", "eu": f"{eu:g}", "cm": f"{us + 18:g}"})
    use_shop_bg = rng.random() < 0.65
    bg = str(shop["shop_bg"]) if use_shop_bg else _pick(rng, list(BGS))
    spec["bg"] = bg
    spec["bg_color"] = str(shop["shop_bg_color"]) if use_shop_bg else _pick(rng, BGS[bg])
    title = f"{brand} {model} {size}".strip() if brand != "Vintage" else f"Vintage {model} {size}".strip()
    return title, spec


def _camera(rng: Generator) -> Spec:
    """Phone-camera parameters of one photo: size (px), rotation, light, blur, noise, file."""
    longest = int(
        rng.choice(
            [640, 720, 800, 960, 1024, 1080, 1200, 1280, 1440, 1600, 2048],
            p=[0.07, 0.05, 0.1, 0.08, 0.12, 0.12, 0.1, 0.12, 0.08, 0.08, 0.08],
        )
    )
    ratio = float(rng.choice([0.75, 1.333, 1.0, 0.5625, 1.778], p=[0.5, 0.2, 0.15, 0.1, 0.05]))
    fmt = str(rng.choice(["jpeg", "png", "webp"], p=[0.85, 0.07, 0.08]))
    if fmt == "png":
        longest = min(longest, 1280)
    w, h = (longest, int(longest / ratio)) if ratio >= 1 else (int(longest * ratio), longest)
    heavy = rng.random() < 0.12
    return {
        "width": w,
        "height": h,
        "fmt": fmt,
        "rot": int(rng.choice([0, 90, 180, 270], p=[0.86, 0.06, 0.04, 0.04])),
        "light": str(rng.choice(LIGHTS, p=[0.25, 0.3, 0.15, 0.1, 0.1, 0.1])),
        "quality": int(rng.integers(22, 50) if heavy else rng.integers(72, 96)),
        "persp": float(round(rng.uniform(0.02, 0.08), 3)) if rng.random() < 0.3 else 0.0,
        "motion": int(rng.integers(5, 22)) if rng.random() < 0.1 else 0,
        "defocus": float(round(rng.uniform(1.0, 4.0), 2)) if rng.random() < 0.12 else 0.0,
        "noise": float(round(rng.uniform(0.8, 4.0), 2)),
    }


def _tag_spec(rng: Generator, shop: Spec, item: Spec, pid: int) -> Spec:
    """Spec of the shop's price tag for one product: style keys, price text, SKU, EAN."""
    k = 0 if int(shop["n_styles"]) == 1 or rng.random() < 0.65 else 1
    spec: Spec = {key[3:]: val for key, val in shop.items() if key.startswith(f"s{k}_")}
    style, cat = str(spec["tag_style"]), str(item["category"])
    if style == "sticker":
        spec["tag_setting"] = {"shoes": "sole", "bag": "leather", "belt": "leather"}.get(
            _group(cat), _pick(rng, ["garment", "table"])
        )
    elif style == "masking_tape":
        spec["tag_setting"] = _pick(rng, ["garment", "garment", "table", "hand"])
    elif style == "hand_string" and rng.random() < 0.6:
        spec["tag_setting"] = "hand"
    elif rng.random() < 0.3:
        spec["tag_setting"] = _pick(rng, ["hand", "hand", "ruler", "cutting_mat", "table", "garment"])
    units = int(item["price_units"])
    printed = style == "printer_label" or (style == "sticker" and spec["tag_shape"] != "round")
    fmt = str(shop["print_fmt"] if printed else shop["hand_fmt"])
    cents = int(_pick(rng, ["0", "0", "50", "90", "95", "99"])) if printed or "{c}" in fmt else 0
    if style == "masking_tape" and rng.random() < 0.5:
        fmt = "{i}"
    number = int(shop["sku_base"]) + pid
    spec["price"] = _price_text(fmt, units, cents)
    spec["sku"] = f"{shop['sku_prefix']}{number:06d}"
    spec["ean"] = f"2{int(shop['ean_shop']):02d}{number:09d}"
    spec["shop"] = str(shop["shop"])
    return spec


def _retail_spec(rng: Generator) -> Spec:
    """Spec of a brand's retail hang tag: paper, font, style number, maybe a printed price."""
    price = ""
    if rng.random() < 0.6:
        units, cents = int(rng.integers(19, 160)), int(_pick(rng, ["0", "0", "95", "99", "50"]))
        price = _price_text(_pick(rng, ["${i}.{c}", "{i},{c} €", "£{i}.{c}", "€ {i},{c}"]), units, cents)
    return {
        "retail_price": price,
        "rt_paper": _pick(rng, ["#111111", "#ffffff", "#c8a97e", "#e8e2d0", "#1d2a4d"]),
        "rt_shape": int(rng.integers(0, 3)),
        "rt_font": _pick(rng, ["serif_bold", "sans_bold", "dv_serif_bold", "serif_italic"]),
        "style_no": f"{int(rng.integers(1000, 9999))}-{int(rng.integers(100, 999))}",
        "color_code": f"{int(rng.integers(1, 999)):03d}",
        "neg_setting": _pick(rng, ["hand", "garment", "table"]),
    }


def _views(rng: Generator, cat: str, n: int) -> list[Spec]:
    """Specs of ``n`` ordinary photos of the item: the front first, then back, details."""
    group = _group(cat)
    main = {
        "clothes": ["flat", "hanger", "mannequin"],
        "shoes": ["side", "pair"],
        "bag": ["flat"],
        "belt": ["flat"],
        "scarf": ["flat", "hanger"],
    }[group]
    if cat in ("jeans", "shorts", "skirt"):
        main = ["flat", "mannequin"]
    first = _pick(rng, main)
    out: list[Spec] = [{"view": first, "back": False}]
    for i in range(1, n):
        r = rng.random()
        if i == 1 and r < 0.6:
            out.append({"view": first, "back": True})
        elif r < 0.45:
            out.append({"view": _pick(rng, main), "back": bool(rng.random() < 0.4)})
        else:
            out.append({"detail": _pick(rng, DETAILS[group])})
    return out


def _plan(rng: Generator, cat: str) -> list[str]:
    """Kinds of a product's photos in shop order (``garment``/``detail``/negatives/``shop_tag``)."""
    n = int(rng.choice(np.arange(1, 11), p=[0.09, 0.14, 0.19, 0.2, 0.14, 0.1, 0.07, 0.04, 0.02, 0.01]))
    negs: list[str] = []
    if rng.random() < 0.25:
        pool = NEG_BY_GROUP[_group(cat)]
        negs = [str(x) for x in rng.choice(pool, size=min(len(pool), int(rng.integers(1, 3))), replace=False)]
        special = {"tee": "printed_tee", "sneakers": "shoe_box", "boots": "shoe_box", "heels": "shoe_box"}.get(cat)
        if special and special not in negs and rng.random() < 0.5:
            negs[0] = special
    if rng.random() < 0.04:
        negs.append("retail_tag")
    has_tag = rng.random() < 0.22
    n = min(10, max(n, len(negs) + int(has_tag) + 1))
    kinds = ["garment"] * (n - len(negs) - int(has_tag))
    for neg in negs:
        kinds.insert(int(rng.integers(1, len(kinds) + 1)), neg)
    if has_tag:
        r = rng.random()
        pos = (
            0
            if r < 0.25 or not kinds
            else len(kinds)
            if r < 0.6 or len(kinds) < 2
            else int(rng.integers(1, len(kinds)))
        )
        kinds.insert(pos, "shop_tag")
    return kinds


def _photos(rng: Generator, shop: Spec, item: Spec, pid: int) -> tuple[EvalPhoto, ...]:
    """All photos of one product, each with its full plain-valued spec."""
    kinds = _plan(rng, str(item["category"]))
    views = _views(rng, str(item["category"]), kinds.count("garment"))
    retail = _retail_spec(rng)
    photos = []
    for kind in kinds:
        spec: Spec = {**item, **_camera(rng), "shop": str(shop["shop"])}
        if kind == "garment":
            view = views.pop(0)
            kind = "detail" if "detail" in view else "garment"
            spec.update(view)
        elif kind == "shop_tag":
            spec.update(_tag_spec(rng, shop, item, pid))
        elif kind == "retail_tag":
            spec.update(retail)
        spec["table_color"] = str(spec.get("table_color", _pick(rng, ["#b89570", "#f0efe9", "#8a6a4a"])))
        seed = int(rng.integers(0, 2**31 - 1))
        photos.append(EvalPhoto(RENDERER_NAME, seed, kind, kind == "shop_tag", tuple(sorted(spec.items()))))
    return tuple(photos)


def _shop_styles(rng: Generator, n_shops: int) -> list[list[str]]:
    """One or two tag styles per shop, cycling through all styles so every one is used."""
    order = [TAG_STYLES[int(i)] for i in rng.permutation(len(TAG_STYLES))]
    out, k = [], 0
    for _ in range(n_shops):
        count = 2 if (n_shops < 3 or rng.random() < 0.5) else 1
        styles = []
        for _ in range(count):
            styles.append(order[k % len(order)])
            k += 1
        out.append(styles)
    return out


def build_set(seed: int, n_products: int = 240) -> EvalSet:
    """Draw the evaluation set for ``seed``: ``n_products`` products over ~1 shop per 80."""
    rng = np.random.default_rng([seed, 0x5A7])
    n_shops = max(1, round(n_products / 80))
    shops = [_shop(rng, i, styles) for i, styles in enumerate(_shop_styles(rng, n_shops))]
    counters = [0] * n_shops
    products = []
    for _ in range(n_products):
        s = int(rng.integers(0, n_shops))
        counters[s] += 1
        title, item = _item(rng, shops[s])
        photos = _photos(rng, shops[s], item, counters[s])
        products.append(EvalProduct(f"snapshot_{s + 1}", counters[s], title, photos))
    products.sort(key=lambda p: (p.tenant, p.product_id))
    return EvalSet(RENDERER_NAME, seed, tuple(products))
