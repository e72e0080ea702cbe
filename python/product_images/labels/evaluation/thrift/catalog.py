"""Products, shops and tag styles of the ``thrift`` renderer (no pixels drawn).

:func:`build_set` turns a seed into an :class:`EvalSet`: tenants ``thrift_1``, … (one shop
per about 80 products), each with one or two tag styles of its own, and products of 1 to 8
photos whose ``spec`` holds every choice the drawing code needs.
"""

from __future__ import annotations

import random

from product_images.labels.evaluation.sets import EvalPhoto, EvalProduct, EvalSet

__all__ = ["ITEMS", "build_set", "shop_styles"]

RENDERER = "thrift"

#: (brand, item words, garment type, size system)
ITEMS: tuple[tuple[str, str, str, str], ...] = (
    ("Levi's", "501 jeans", "jeans", "wl"),
    ("Levi's", "trucker denim jacket", "jacket", "letter"),
    ("Zara", "wool coat", "coat", "letter"),
    ("Zara", "satin midi skirt", "skirt", "eu"),
    ("H&M", "striped t-shirt", "tee", "letter"),
    ("H&M", "floral summer dress", "dress", "eu"),
    ("Mango", "linen shirt", "shirt", "letter"),
    ("Mango", "trench coat", "coat", "eu"),
    ("Uniqlo", "merino crew neck sweater", "sweater", "letter"),
    ("Ralph Lauren", "oxford shirt", "shirt", "letter"),
    ("Tommy Hilfiger", "polo shirt", "tee", "letter"),
    ("Patagonia", "fleece jacket", "jacket", "letter"),
    ("The North Face", "puffer jacket", "jacket", "letter"),
    ("COS", "wide linen trousers", "trousers", "eu"),
    ("Arket", "wool blend cardigan", "sweater", "letter"),
    ("Massimo Dutti", "chino trousers", "trousers", "wl"),
    ("Wrangler", "straight jeans", "jeans", "wl"),
    ("& Other Stories", "pleated skirt", "skirt", "eu"),
    ("Vintage", "knitted jumper", "sweater", "letter"),
    ("Vintage", "silk blouse", "shirt", "eu"),
    ("Nike", "Air Max 90 sneakers", "sneakers", "shoe"),
    ("Adidas", "Stan Smith trainers", "sneakers", "shoe"),
    ("Converse", "Chuck Taylor high tops", "sneakers", "shoe"),
    ("Dr. Martens", "1460 leather boots", "boots", "shoe"),
    ("Clarks", "desert boots", "boots", "shoe"),
    ("Longchamp", "Le Pliage tote bag", "bag", "none"),
    ("Vintage", "leather shoulder bag", "bag", "none"),
    ("Burberry", "check cashmere scarf", "scarf", "none"),
    ("Acne Studios", "wool scarf", "scarf", "none"),
    ("Carhartt WIP", "hooded sweatshirt", "sweater", "letter"),
    ("Adidas", "track jacket", "jacket", "letter"),
    ("Petit Bateau", "breton top", "tee", "eu"),
)

_SHOP_NAMES = (
    "Second Round",
    "Fripe & Co",
    "Vintage Loop",
    "Tweede Kans",
    "ReWear Studio",
    "La Petite Fripe",
    "Threadbare",
    "Secondo Tempo",
    "Moda Circular",
    "Kleiderwerk",
    "Hand me down",
    "Bis Boutique",
    "Stoffwechsel",
    "Good as New",
    "Encore",
)
_CURRENCIES = ("EUR", "EUR", "EUR", "GBP", "CHF")
_FAMILIES = ("kraft", "thermal", "qr", "sticker", "kraft_thermal")
_PAPERS = {
    "kraft": ("#b08a5e", "#a47c52", "#c19a6b", "#9c7650"),
    "thermal": ("#f4f3ee", "#fbfbf8", "#eef0ee", "#f6f1e6"),
    "qr": ("#ffffff", "#f2ede0", "#e8f0f5", "#fff6d8", "#f0e6f2"),
    "sticker": ("#f7d21c", "#f48a1e", "#f27ab0", "#7bcf4a", "#ffe14d", "#ff9f43"),
}
_INKS = ("#1b1b1b", "#1d2a6b", "#222222", "#2b2b2b", "#0d3b2e", "#5a1010")
_STAMP_INKS = ("#b3262e", "#2a3f8f", "#1f1f1f", "#6b2a7a")
_PRINT_FONTS = (
    "liberation_sans_bold",
    "nimbus_sans_bold",
    "dejavu_sans_bold",
    "nimbus_narrow_bold",
    "liberation_mono_bold",
    "dejavu_mono_bold",
    "nimbus_mono_bold",
)
_HAND_FONTS = ("z003", "z003", "dejavu_condensed_bold", "nimbus_narrow_bold")
_PRICE_FORMATS = {
    "EUR": ("{e}€", "{e},{c}", "{e}.-", "{e},{c} €", "EUR {e},{c}", "€{e}.{c}", "{e} €"),
    "GBP": ("£{e}", "£{e}.{c}", "{e}.{c}"),
    "CHF": ("{e} CHF", "CHF {e}.{c}", "{e}.-", "Fr. {e}.{c}"),
}


def _style(rng: random.Random, family: str, currency: str, index: int) -> dict[str, str | int]:
    """Return one tag style of a shop (dict of plain values) for tag ``family``."""
    paper_key = "kraft" if family == "kraft" else family
    if family == "kraft_thermal":
        paper_key, family = "thermal", "thermal"
    hand = family in ("kraft", "sticker")
    formats = _PRICE_FORMATS[currency]
    if hand:
        fmt = rng.choice([f for f in formats if "EUR " not in f])
    else:
        fmt = rng.choice([f for f in formats if "{c}" in f])
    return {
        "family": family,
        "paper": rng.choice(_PAPERS[paper_key]),
        "ink": rng.choice(_INKS),
        "stamp_ink": rng.choice(_STAMP_INKS),
        "stamp": int(family == "kraft" and rng.random() < 0.6),
        "font": rng.choice(_HAND_FONTS if hand else _PRINT_FONTS),
        "label_font": rng.choice(_PRINT_FONTS),
        "layout": rng.randrange(3),
        "price_fmt": fmt,
        "symbology": rng.choice(("ean13", "code128")) if family == "thermal" else "none",
        "shape": rng.choice(("round", "rect")) if family == "sticker" else "rect",
        "style_id": index,
    }


def shop_styles(rng: random.Random, n_shops: int) -> list[dict[str, object]]:
    """Return ``n_shops`` shops: dicts with name, currency, url, sku prefix and 1–2 styles."""
    families = list(_FAMILIES)
    rng.shuffle(families)
    names = list(_SHOP_NAMES)
    rng.shuffle(names)
    shops: list[dict[str, object]] = []
    for i in range(n_shops):
        currency = rng.choice(_CURRENCIES)
        two = n_shops * 2 <= len(families) + 1 or rng.random() < 0.4
        fams = [families[(2 * i) % len(families)]]
        if two:
            fams.append(families[(2 * i + 1) % len(families)])
        name = names[i % len(names)]
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        shops.append(
            {
                "name": name,
                "currency": currency,
                "url": f"https://{slug}.{rng.choice(('shop', 'com', 'eu', 'store'))}",
                "sku_prefix": rng.choice(("TS", "SR", "VL", "FR", "RW", "BX", "AR")),
                "styles": [_style(rng, f, currency, k) for k, f in enumerate(fams)],
            }
        )
    return shops


def _size_text(rng: random.Random, system: str) -> str:
    """Return a size string for a size ``system`` ("wl", "letter", "eu", "shoe", "none")."""
    if system == "wl":
        return f"W{rng.choice((26, 28, 29, 30, 31, 32, 33, 34, 36))} L{rng.choice((30, 32, 34))}"
    if system == "letter":
        return rng.choice(("XS", "S", "M", "M", "L", "XL"))
    if system == "eu":
        return f"EU {rng.choice((34, 36, 38, 40, 42, 44))}"
    if system == "shoe":
        return f"EU {rng.choice((37, 38, 39, 40, 41, 42, 43, 44, 45))}"
    return ""


def _title(rng: random.Random, item: tuple[str, str, str, str], size: str) -> str:
    """Return a realistic listing title (str) for an item and its size text."""
    brand, words, _, system = item
    if system == "letter":
        size = f"size {size}"
    extra = rng.choice(("", "", "", " - good condition", " vintage", " like new"))
    return f"{brand} {words}" + (f" {size}" if size else "") + extra


_COLOURS = (
    "#1f2a44",
    "#2e4a7d",
    "#3b5f8a",
    "#7a1f2b",
    "#b23a3a",
    "#d8cbb0",
    "#e9e4d8",
    "#f2f2ee",
    "#222222",
    "#4a4a4a",
    "#8a8f94",
    "#5b6b3a",
    "#2f5d50",
    "#c47a2c",
    "#e0a96d",
    "#6b4226",
    "#9c6b98",
    "#e8b4c0",
    "#f0d24a",
    "#4f8fbf",
    "#a33d5c",
    "#3e3e5e",
    "#c9c0a8",
    "#1d5e8c",
)
_PATTERNS = ("solid", "solid", "solid", "stripes", "check", "dots", "knit", "heather")
_BACKGROUNDS = ("wood", "sheet", "wall", "carpet", "concrete", "table", "sheet", "wood")
_LIGHTS = ("day", "day", "warm", "cool", "flash", "low", "warm")
_HANG_BG = ("wall", "wall", "door", "wall")
SpecDict = dict[str, str | int | float | bool]


def _camera(rng: random.Random) -> SpecDict:
    """Return the camera part of a photo spec: size (px), format, quality, light, noise, blur."""
    if rng.random() < 0.08:
        long_side = rng.randint(600, 680)
    else:
        long_side = int(min(2048, max(800, rng.triangular(800, 2048, 1000))))
    aspect = rng.choice((4 / 3, 4 / 3, 3 / 2, 1.0, 16 / 9, 5 / 4))
    short = int(round(long_side / aspect))
    portrait = rng.random() < 0.62
    w, h = (short, long_side) if portrait else (long_side, short)
    fmt = rng.choices(("jpeg", "png", "webp"), weights=(82, 8, 10))[0]
    return {
        "w": w,
        "h": h,
        "fmt": fmt,
        "quality": rng.randint(55, 93),
        "light": rng.choice(_LIGHTS),
        "noise": round(rng.uniform(1.5, 7.0), 2),
        "blur": round(rng.choice((0.0, 0.0, 0.0, 0.4, 0.8, 1.4)), 2),
        "roll": round(rng.gauss(0.0, 2.0), 2),
    }


def _ean13(body12: str) -> str:
    """Return the 13-digit EAN-13 (str) of a 12-digit body, with its check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _price(rng: random.Random, fmt: str, garment: str) -> str:
    """Return a price string in format ``fmt`` for a second-hand ``garment`` (str)."""
    top = 90 if garment in ("coat", "boots", "bag", "jacket") else 45
    euros = rng.choice((rng.randint(2, 12), rng.randint(5, top), rng.randint(5, 30)))
    cents = rng.choice(("00", "50", "90", "95", "00", "99"))
    if "{c}" not in fmt and rng.random() < 0.3:
        return fmt.format(e=euros, c="")
    return fmt.format(e=euros, c=cents)


def _tag_spec(rng: random.Random, shop: dict, product_id: int, garment: str) -> SpecDict:
    """Return the spec entries of a shop_tag photo: style, price, SKU, barcode, setting."""
    style = dict(rng.choice(shop["styles"]))
    year = rng.choice((2022, 2023, 2024, 2025))
    sku = f"{shop['sku_prefix']}-{year}-{rng.randint(10, 99999):05d}"
    spec: SpecDict = {f"st_{k}": v for k, v in style.items()}
    spec["shop"] = shop["name"]
    spec["price"] = _price(rng, str(style["price_fmt"]), garment)
    if style["family"] == "sticker":
        euros = rng.choice((1, 2, 3, 4, 5, 5, 6, 8, 10, 12, 15))
        fmt = str(style["price_fmt"]).replace(",{c}", "").replace(".{c}", "")
        spec["price"] = str(euros) if int(style["layout"]) == 2 else fmt.format(e=euros)
    spec["sku"] = sku
    spec["ean"] = _ean13("2" + str(rng.randint(0, 9)) + f"{rng.randint(0, 10**10 - 1):010d}")
    spec["qr"] = rng.choice((sku, f"{shop['url']}/p/{product_id:05d}", f"{shop['url']}/i/{sku}"))
    spec["size_txt"] = rng.choice(("", "", "M", "38", "L", "S/M"))
    is_shoe = garment in ("sneakers", "boots")
    settings: tuple[str, ...]
    if style["family"] == "sticker":
        settings = ("on_garment", "sole", "on_garment") if is_shoe else ("on_garment",)
    else:
        settings = ("on_garment", "on_garment", "in_hand", "ruler", "table", "hanging")
    spec["setting"] = rng.choice(settings)
    spec["rot"] = rng.choice((0, 0, 0, 0, 90, -90, 180)) if rng.random() < 0.3 else 0
    spec["tilt"] = round(rng.choice((0.0, 0.05, 0.12, 0.2, 0.3)), 3)
    spec["spin"] = round(rng.gauss(0.0, 12.0), 2)
    spec["glare"] = rng.random() < 0.2
    spec["tag_scale"] = round(rng.uniform(0.35, 0.75), 3)
    if style["family"] == "sticker":
        spec["tag_scale"] = round(rng.uniform(0.06, 0.16), 3)
    return spec


def _negative_kinds(garment: str) -> tuple[str, ...]:
    """Return the hard-negative kinds that fit a ``garment`` type (tuple of str)."""
    if garment in ("sneakers", "boots"):
        return ("shoe_box", "shoe_box", "size_label", "closeup", "brand_label")
    if garment in ("bag", "scarf"):
        return ("brand_label", "care_label", "closeup", "measuring_tape")
    kinds = ["brand_label", "care_label", "size_label", "measuring_tape", "closeup"]
    if garment == "tee":
        kinds += ["printed_tee", "printed_tee"]
    return tuple(kinds)


def _views(garment: str) -> tuple[str, ...]:
    """Return the whole-item views a ``garment`` type is photographed in (tuple of str)."""
    if garment in ("sneakers", "boots"):
        return ("pair", "pair", "side")
    if garment in ("bag", "scarf"):
        return ("flat", "flat")
    if garment in ("jeans", "trousers", "skirt"):
        return ("flat", "flat", "hanger")
    return ("hanger", "flat", "mannequin", "hanger", "flat")


def _details(garment: str) -> tuple[str, ...]:
    """Return the detail subjects that fit a ``garment`` type (tuple of str)."""
    if garment in ("sneakers", "boots"):
        return ("sole", "sole", "heel", "stain")
    if garment in ("shirt", "coat", "jacket", "sweater"):
        return ("buttons", "buttons", "stain", "seam", "zipper")
    return ("stain", "seam", "zipper", "seam")


def _item_spec(rng: random.Random, garment: str) -> SpecDict:
    """Return the spec entries shared by a product's photos: garment, colours, pattern."""
    pattern = rng.choice(_PATTERNS)
    if garment in ("jeans",):
        pattern = "denim"
    if garment in ("sneakers", "boots", "bag"):
        pattern = "solid"
    return {
        "garment": garment,
        "color": rng.choice(_COLOURS),
        "color2": rng.choice(_COLOURS),
        "pattern": pattern,
    }


def _photo(rng: random.Random, kind: str, base: SpecDict, extra: SpecDict) -> EvalPhoto:
    """Return one EvalPhoto of ``kind`` with camera, item and ``extra`` spec entries."""
    spec: SpecDict = dict(_camera(rng))
    spec.update(base)
    spec["bg"] = rng.choice(_BACKGROUNDS)
    spec.update(extra)
    if kind in ("shop_tag",) and spec.get("setting") == "hanging":
        spec["bg"] = rng.choice(_HANG_BG)
    return EvalPhoto(
        renderer=RENDERER,
        seed=rng.getrandbits(31),
        kind=kind,
        is_label=kind == "shop_tag",
        spec=tuple(sorted(spec.items())),
    )


def _plain_photo(rng: random.Random, base: SpecDict, first: bool) -> EvalPhoto:
    """Return a garment (whole item) or detail photo of the product described by ``base``."""
    garment = str(base["garment"])
    if first or rng.random() < 0.55:
        view = rng.choice(_views(garment))
        if view == "hanger" or view == "mannequin":
            return _photo(rng, "garment", base, {"view": view, "bg": rng.choice(_HANG_BG)})
        return _photo(rng, "garment", base, {"view": view})
    return _photo(rng, "detail", base, {"view": rng.choice(_details(garment))})


def _negative_photo(rng: random.Random, kind: str, base: SpecDict, size: str) -> EvalPhoto:
    """Return a hard-negative photo of ``kind`` (care label, shoe box, retail tag, …)."""
    extra: SpecDict = {"size_txt": size or rng.choice(("M", "EU 38", "L"))}
    extra["brand"] = str(base["brand"])
    if kind == "printed_tee":
        extra["print"] = rng.choice(("41", "SALE", "23", "BROOKLYN 1987", "NYC", "7", "99", "LOVE"))
        extra["view"] = rng.choice(("flat", "hanger"))
    if kind == "retail_tag":
        cur = rng.choice(("€{e}.99", "€{e},95", "{e},99 €", "£{e}.00", "$ {e}.90", ""))
        extra["retail_price"] = cur.format(e=rng.randint(19, 129)) if cur else ""
        extra["ean"] = _ean13(rng.choice(("40", "50", "84", "87", "54", "76")) + f"{rng.randint(0, 10**10 - 1):010d}")
    if kind == "shoe_box":
        extra["ean"] = _ean13(rng.choice(("00", "88", "40", "50")) + f"{rng.randint(0, 10**10 - 1):010d}")
        extra["article"] = f"{rng.choice('ABCDFGH')}{rng.randint(10000, 99999)}-{rng.randint(100, 999)}"
    return _photo(rng, kind, base, extra)


def _product(rng: random.Random, shop: dict, tenant: str, pid: int) -> EvalProduct:
    """Return product ``pid`` of a shop: title and 1–8 photos, maybe a shop tag and negatives."""
    item = rng.choice(ITEMS)
    size = _size_text(rng, item[3])
    base = _item_spec(rng, item[2])
    base["brand"] = item[0]
    n = rng.choices(range(1, 9), weights=(7, 12, 18, 21, 17, 12, 8, 5))[0]
    photos = [_plain_photo(rng, base, i == 0) for i in range(n)]
    if rng.random() < 0.25 and n >= 2:
        kinds = _negative_kinds(item[2])
        for _ in range(rng.choice((1, 1, 2))):
            kind = rng.choice(kinds)
            photos[rng.randrange(1, n) if kind != "printed_tee" else 0] = _negative_photo(rng, kind, base, size)
    if rng.random() < 0.04 and item[2] not in ("sneakers", "boots"):
        photos[rng.randrange(n)] = _negative_photo(rng, "retail_tag", base, size)
    if rng.random() < 0.22:
        tag = _photo(rng, "shop_tag", base, _tag_spec(rng, shop, pid, item[2]))
        where = rng.random()
        if len(photos) == 1 or where < 0.55:
            photos.append(tag)
        elif where < 0.75:
            photos.insert(0, tag)
        else:
            photos.insert(rng.randrange(1, len(photos)), tag)
        if len(photos) > 8:
            del photos[-2 if photos[-1].is_label else -1]
    return EvalProduct(tenant=tenant, product_id=pid, title=_title(rng, item, size), photos=tuple(photos))


def build_set(seed: int, n_products: int = 240) -> EvalSet:
    """Return the EvalSet of ``n_products`` products for ``seed`` (deterministic, no pixels)."""
    rng = random.Random(seed)
    n_shops = max(1, round(n_products / 80))
    shops = shop_styles(rng, n_shops)
    products: list[EvalProduct] = []
    counts = [n_products // n_shops + (1 if i < n_products % n_shops else 0) for i in range(n_shops)]
    for s, shop in enumerate(shops):
        for pid in range(1, counts[s] + 1):
            products.append(_product(rng, shop, f"thrift_{s + 1}", pid))
    products.sort(key=lambda p: (p.tenant, p.product_id))
    return EvalSet(renderer=RENDERER, seed=seed, products=tuple(products))
