"""The set description (no pixels): shops, products, titles and every photo's ``spec``.

``generate_set(seed, n)`` draws 3 or 4 shops (``vintage_1``…), then ``n`` products shared
among them.  A product has 1 to 8 photos (mostly 3 to 5): garment shots, details, about 22 %
of products one shop-tag photo (last, first or in the middle), about 25 % one or two hard
negatives.  Each photo's ``spec`` holds everything its pixels depend on besides its seed.
"""

from __future__ import annotations

import random

from product_images.labels.evaluation.sets import EvalPhoto, EvalProduct, EvalSet

from .codes import ean13_full
from .garments import GARMENTS, PATTERNS
from .photos import negative_spec, photo_spec, tag_spec
from .shops import ARCHETYPES, Shop, make_shop
from .spec import SpecValue, freeze

__all__ = ["RENDERER", "build_set"]

RENDERER = "vintage"

_BRANDS = (
    "Levi's",
    "Lee",
    "Wrangler",
    "Benetton",
    "Petit Bateau",
    "Naf Naf",
    "Lacoste",
    "Ralph Lauren",
    "Adidas",
    "Carhartt",
    "Tommy Hilfiger",
    "Armor Lux",
    "Saint James",
    "Agnès b.",
    "Cacharel",
    "Kookaï",
    "Burton",
    "Dr. Martens",
    "Clarks",
    "Converse",
    "Esprit",
    "Chevignon",
)
_TYPES = {
    "tee": ("T-shirt", "Tee-shirt imprimé", "T-shirt vintage"),
    "shirt": ("Chemise", "Chemise à carreaux", "Chemisier"),
    "sweater": ("Pull en laine", "Pull marin", "Gilet"),
    "jacket": ("Veste en jean", "Blouson", "Veste en velours"),
    "dress": ("Robe fleurie", "Robe vintage", "Robe longue"),
    "skirt": ("Jupe plissée", "Jupe en jean", "Jupe midi"),
    "jeans": ("jeans", "Jean droit", "Pantalon"),
    "shoes": ("Baskets", "Bottines", "Chaussures"),
}
_COLORS = (
    "#2f4f7f",
    "#7f2f2f",
    "#2f6f4f",
    "#d8cfc0",
    "#1e1e24",
    "#c8a040",
    "#8a5a9a",
    "#b0b8c0",
    "#e07050",
    "#f0ece0",
    "#40607a",
    "#6a4a30",
)
_PHOTO_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8)
_PHOTO_WEIGHTS = (6, 14, 28, 26, 14, 6, 4, 2)


def _size(r: random.Random, garment: str) -> str:
    """A size as written in a title and on labels."""
    if garment == "jeans":
        return f"W{r.randrange(26, 38, 2)} L{r.choice((30, 32, 34))}"
    if garment == "shoes":
        return str(r.randrange(36, 46))
    return r.choice(("XS", "S", "M", "L", "XL", "36", "38", "40", "42"))


def _product_basics(r: random.Random) -> dict[str, SpecValue]:
    """A garment: kind, brand, size, colour, fabric, maybe a print; its title under ``title``."""
    garment = r.choice(GARMENTS)
    brand = r.choice(_BRANDS)
    size = _size(r, garment)
    pattern = "denim" if garment == "jeans" or r.random() < 0.08 else r.choice(PATTERNS)
    title = f"{brand} {r.choice(_TYPES[garment])} {size}"
    if brand == "Levi's" and garment == "jeans":
        title = f"Levi's 501 jeans {size}"
    info: dict[str, SpecValue] = {
        "garment": garment,
        "brand": brand,
        "size": size,
        "title": title,
        "color": r.choice(_COLORS),
        "pattern": pattern,
    }
    if garment == "tee" and r.random() < 0.45:
        info["print"] = r.choice(("23", "BROOKLYN|1985", "VINTAGE", "PARIS", "No 7", "ROCK|TOUR 92", "50", "SURF|CLUB"))
    return info


def _price_text(r: random.Random, style: dict[str, SpecValue]) -> str:
    """A price in the shop's way of writing it (``price_format``; the gun prints digits only)."""
    euros = r.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 25, 30, 35, 45, 60))
    cents = r.choice((0, 0, 0, 50, 90)) if euros < 20 else 0
    fmt = str(style["price_format"])
    if fmt == "gun":
        return f"{euros}{style.get('gun_sep', '.')}{cents:02d}"
    short = f"{euros},{cents:02d}" if cents else str(euros)
    return fmt.format(e=short, c=f"{euros},{cents:02d}")


def _codes(r: random.Random, shop: Shop, style: dict[str, SpecValue], number: int) -> dict[str, SpecValue]:
    """The SKU and, for coded tags, the payload (Code 128 SKU, in-store EAN-13 20–29, QR SKU or URL)."""
    sku = str(style["sku_pattern"]).format(n=number)
    out: dict[str, SpecValue] = {"sku": sku}
    code = str(style.get("code", ""))
    if code == "ean13":
        out["payload"] = ean13_full(f"2{r.randrange(10)}{number:05d}{r.randrange(100000):05d}")
        out["sku"] = f"{number:05d}"
    elif code == "code128":
        out["payload"] = sku
    elif code == "qr":
        url = f"https://fripes{int(shop.numbers['domain'])}.fr/p/{sku}"
        out["payload"] = url if style.get("qr_url") else sku
    return out


def _pick_style(r: random.Random, shop: Shop) -> dict[str, SpecValue]:
    """One of the shop's tag styles, by weight."""
    weights = [w for w, _ in shop.styles]
    return dict(r.choices([s for _, s in shop.styles], weights)[0])


def _kinds(r: random.Random, shop: Shop, info: dict[str, SpecValue]) -> list[str]:
    """The kinds of a product's photos in order (``shop_tag`` at most once)."""
    n = r.choices(_PHOTO_COUNTS, _PHOTO_WEIGHTS)[0]
    main = "printed_tee" if info.get("print") else "garment"
    kinds = [main] + [r.choice((main, main, "detail")) for _ in range(n - 1)]
    if r.random() < shop.numbers["neg_rate"]:
        for _ in range(r.choice((1, 1, 2))):
            kinds.insert(r.randrange(1, len(kinds) + 1), _negative_kind(r, info))
    kinds = kinds[:7]
    if r.random() < shop.numbers["tag_rate"]:
        where = r.random()
        at = len(kinds) if where < 0.55 else 0 if where < 0.75 else r.randrange(1, len(kinds) + 1)
        kinds.insert(at, "shop_tag")
    return kinds


def _negative_kind(r: random.Random, info: dict[str, SpecValue]) -> str:
    """A hard negative that fits the garment."""
    if info["garment"] == "shoes":
        return r.choice(("shoe_box", "shoe_box", "retail_tag", "closeup", "receipt"))
    return r.choice(
        (
            "care_label",
            "size_label",
            "brand_label",
            "retail_tag",
            "measuring_tape",
            "closeup",
            "receipt",
            "care_label",
            "retail_tag",
        )
    )


def _product(r: random.Random, shop: Shop, product_id: int) -> EvalProduct:
    """One product of ``shop``: its title and photos (seeds and specs)."""
    info = _product_basics(r)
    kinds = _kinds(r, shop, info)
    style = _pick_style(r, shop)
    tag_values = {**style, **_codes(r, shop, style, r.randrange(1, 9999)), "price": _price_text(r, style)}
    photos = []
    for kind in kinds:
        values = photo_spec(r, shop, info, kind)
        if kind == "shop_tag":
            values.update(tag_spec(r, tag_values, info))
        elif kind not in ("garment", "detail", "printed_tee"):
            values.update(negative_spec(r, kind, info))
        photos.append(EvalPhoto(RENDERER, r.getrandbits(31), kind, kind == "shop_tag", freeze(values)))
    return EvalProduct(shop.tenant, product_id, str(info["title"]), tuple(photos))


def build_set(seed: int, n_products: int = 240) -> EvalSet:
    """The vintage set of ``seed``: ``n_products`` products over 3–4 shops, ordered by (tenant, product_id)."""
    r = random.Random(seed)
    others = [a for a in ARCHETYPES if a != "gun"]
    archetypes = ["gun", *r.sample(others, r.choice((2, 3)))]
    r.shuffle(archetypes)
    shops = [make_shop(r, i + 1, a) for i, a in enumerate(archetypes)]
    shares = [r.uniform(0.6, 1.4) for _ in shops]
    owners = r.choices(range(len(shops)), shares, k=n_products)
    products: list[EvalProduct] = []
    for index, shop in enumerate(shops):
        count = owners.count(index)
        products.extend(_product(r, shop, pid) for pid in range(1, count + 1))
    return EvalSet(RENDERER, seed, tuple(sorted(products, key=lambda p: (p.tenant, p.product_id))))
