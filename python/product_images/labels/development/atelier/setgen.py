"""Set generation of the atelier renderer: shops, products, photo specs (no pixels drawn).

:func:`build_set` lays out ``n_products`` products over shops of ~80 products each
(tenants ``atelier_1``, ``atelier_2``, …). About 22% of products carry one shop-tag photo,
~25% one or two hard negatives and ~5% a brand's retail hang tag.
"""

from __future__ import annotations

import colorsys
import random
import zlib

from ...evaluation.sets import EvalPhoto, EvalProduct, EvalSet
from .catalog import CATEGORIES, PRINTS, make_title, random_category, retail_brand
from .shops import ShopStyle, ean13, format_price, make_sku, shop_price, shop_style

__all__ = ["build_set"]

RENDERER = "atelier"
Spec = dict[str, str | int | float | bool]
_NEG_KINDS = ("brand_label", "care_label", "size_label", "measuring_tape", "closeup", "paper_insert")
_SIZES = (640, 720, 800, 960, 1024, 1080, 1200, 1280, 1440, 1600, 1920, 2048)
_SIZE_W = (4, 3, 6, 8, 8, 9, 8, 6, 5, 4, 2, 2)


def _colour(rnd: random.Random) -> str:
    """A garment colour as "#rrggbb": neutrals, denim, earth tones or any hue."""
    m = rnd.random()
    if m < 0.3:
        v = rnd.choice((0.08, 0.15, 0.35, 0.6, 0.85, 0.95))
        r, g, b = colorsys.hsv_to_rgb(rnd.random(), rnd.uniform(0, 0.08), v)
    elif m < 0.5:
        r, g, b = colorsys.hsv_to_rgb(rnd.uniform(0.57, 0.62), rnd.uniform(0.3, 0.7), rnd.uniform(0.25, 0.7))
    elif m < 0.7:
        r, g, b = colorsys.hsv_to_rgb(rnd.uniform(0.05, 0.13), rnd.uniform(0.25, 0.7), rnd.uniform(0.3, 0.85))
    else:
        r, g, b = colorsys.hsv_to_rgb(rnd.random(), rnd.uniform(0.3, 0.9), rnd.uniform(0.3, 0.95))
    return "#" + "".join(f"{int(c * 255):02x}" for c in (r, g, b))


def _product_base(shop_seed: int, shop: ShopStyle, rnd: random.Random, cat: str) -> Spec:
    """Spec entries shared by every photo of one product (shape, colours, size, light)."""
    long_side = rnd.choices(_SIZES, _SIZE_W)[0]
    aspect = rnd.choice((0.75, 0.75, 0.75, 1.0, 1.333, 0.5625, 0.8))
    w, h = (long_side, round(long_side * aspect)) if aspect > 1 else (round(long_side * aspect), long_side)
    base: Spec = {
        "shop_seed": shop_seed,
        "cat": cat,
        "shape": CATEGORIES[cat][1],
        "color": _colour(rnd),
        "color2": _colour(rnd),
        "pattern": rnd.choice(("plain", "plain", "plain", "stripes", "check", "dots", "knit", "denim", "floral")),
        "bg": rnd.choice(shop.backgrounds),
        "w": int(w),
        "h": int(h),
    }
    if cat in ("jeans", "shorts", "jacket") and rnd.random() < 0.6:
        base["pattern"] = "denim"
    return base


def _tag_spec(shop: ShopStyle, cat: str, rnd: random.Random) -> Spec:
    """Spec entries of a shop-tag photo: the style, price text, stock number, placement."""
    style = dict(rnd.choice(shop.styles))
    amount = shop_price(shop, CATEGORIES[cat][0], rnd)
    sku = make_sku(shop.sku_fmt, rnd)
    spec: Spec = {"tag_" + k: v for k, v in style.items()}
    spec["price"] = format_price(amount, shop.price_fmt, rnd.randint(0, 1) if rnd.random() < 0.15 else 0)
    spec["sku"] = sku
    spec["ean"] = ean13("2" + str(rnd.randint(0, 9)) + f"{rnd.randint(0, 10**10 - 1):010d}")
    spec["place"] = rnd.choice(("flat", "flat", "hand", "hand", "pinned", "hanging", "hanging"))
    spec["angle"] = round(rnd.uniform(-35, 35) if rnd.random() < 0.8 else rnd.uniform(-180, 180), 2)
    spec["tilt"] = round(rnd.uniform(0, 0.35), 3)
    spec["zoom"] = round(rnd.uniform(0.3, 0.75), 3)
    return spec


def _retail_spec(cat: str, rnd: random.Random) -> Spec:
    """Spec entries of a brand's own hang tag: brand, printed retail price, retail EAN."""
    cur = rnd.choice(("eur", "eur", "usd", "gbp", "eur_after"))
    base = rnd.choice((19, 25, 29, 35, 39, 49, 59, 69, 79, 89, 99, 129, 149))
    cents = rnd.choice((".99", ".95", ".00", ".90"))
    text = {"eur": f"€{base}{cents}", "usd": f"${base}{cents}", "gbp": f"£{base}{cents}"}.get(
        cur, f"{base}{cents.replace('.', ',')} €"
    )
    prefix = rnd.choice(("40", "50", "84", "87", "30", "76", "00", "54"))
    body = prefix + f"{rnd.randint(0, 10**10 - 1):010d}"
    return {
        "brand": retail_brand(cat, rnd),
        "retail": text,
        "ean": ean13(body),
        "art": f"{rnd.randint(1000, 9999)}/{rnd.randint(100, 999)}",
    }


def _photo(kind: str, base: Spec, extra: Spec, rnd: random.Random) -> EvalPhoto:
    """An EvalPhoto of ``kind`` whose spec is ``base`` + ``extra`` sorted by name."""
    spec = dict(base)
    spec.update(extra)
    return EvalPhoto(
        renderer=RENDERER,
        seed=rnd.getrandbits(31),
        kind=kind,
        is_label=kind == "shop_tag",
        spec=tuple(sorted(spec.items())),
    )


def _negatives(cat: str, rnd: random.Random) -> list[str]:
    """Hard-negative kinds for one product: ~25% get one or two, ~5% a retail hang tag."""
    out: list[str] = []
    if rnd.random() < 0.25:
        pool = list(_NEG_KINDS)
        if cat in ("shoes", "boots"):
            pool += ["shoe_box", "shoe_box", "shoe_box"]
        if cat in ("tee", "sweater"):
            pool += ["printed_tee"] * 3
        out += rnd.sample(pool, 2 if rnd.random() < 0.3 else 1)
    if rnd.random() < 0.05:
        out.append("retail_tag")
    return list(dict.fromkeys(out))


def _product(tenant: str, pid: int, shop_seed: int, shop: ShopStyle, rnd: random.Random) -> EvalProduct:
    """One product: title and 1–8 photos, the shop tag (if any) at any position."""
    cat = random_category(rnd)
    title, _brand = make_title(cat, rnd)
    base = _product_base(shop_seed, shop, rnd, cat)
    negs = _negatives(cat, rnd)
    has_tag = rnd.random() < 0.22
    n = rnd.choices(range(1, 9), (5, 10, 16, 22, 18, 12, 9, 8))[0]
    n = max(n, len(negs) + int(has_tag) + 1)
    if "printed_tee" in negs:
        base["print"] = rnd.choice(PRINTS)
    plain = n - len(negs) - int(has_tag)
    photos = [_photo("garment", base, {"view": "front"}, rnd)]
    for _ in range(plain - 1):
        if rnd.random() < 0.35:
            photos.append(_photo("detail", base, {"view": "detail", "zoom": round(rnd.uniform(1.8, 3.5), 2)}, rnd))
        else:
            photos.append(_photo("garment", base, {"view": rnd.choice(("back", "side", "front"))}, rnd))
    for kind in negs:
        if kind == "printed_tee":
            photos[0] = _photo("printed_tee", base, {"view": "front"}, rnd)
            continue
        extra = _retail_spec(cat, rnd) if kind == "retail_tag" else {"brand": make_title(cat, rnd)[1]}
        photos.insert(rnd.randint(1, len(photos)), _photo(kind, base, extra, rnd))
    if has_tag:
        where = rnd.choice(("last", "last", "first", "middle", "middle"))
        idx = {"last": len(photos), "first": 0}.get(where, rnd.randint(1, max(1, len(photos) - 1)))
        photos.insert(idx, _photo("shop_tag", base, _tag_spec(shop, cat, rnd), rnd))
    return EvalProduct(tenant=tenant, product_id=pid, title=title, photos=tuple(photos))


def build_set(seed: int, n_products: int = 240) -> EvalSet:
    """The set for ``seed``: ``n_products`` products over ceil(n/80) shops, ordered by tenant then id."""
    n_shops = max(1, -(-n_products // 80))
    products: list[EvalProduct] = []
    for s in range(n_shops):
        shop_seed = zlib.crc32(f"atelier:{seed}:{s}".encode()) & 0x7FFFFFFF
        shop = shop_style(shop_seed)
        rnd = random.Random(shop_seed ^ 0x5EED)
        count = n_products // n_shops + (1 if s < n_products % n_shops else 0)
        tenant = f"atelier_{s + 1}"
        products += [_product(tenant, i + 1, shop_seed, shop, rnd) for i in range(count)]
    products.sort(key=lambda p: (p.tenant, p.product_id))
    return EvalSet(renderer=RENDERER, seed=seed, products=tuple(products))
