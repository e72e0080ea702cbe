"""The set description: shops, products and each photo's spec, drawn without any pixels.

:func:`describe_set` turns a seed into an :class:`EvalSet`: 3 or 4 shops (``resale_1`` …),
products split among them, each with 1–8 photos (mostly 3–5). About a fifth to a quarter of
the products carry one photo of the shop's own tag (kind ``shop_tag``, the only label); about a
quarter carry one or more hard negatives. Each photo's ``spec`` is a sorted tuple of
``(name, value)`` pairs which, with its seed, fixes every pixel.
"""

from __future__ import annotations

import random

from product_images.labels.evaluation.sets import EvalPhoto, EvalProduct, EvalSet

from . import photo_specs
from .garments_catalog import Item, draw_item
from .shops import Style, draw_shops

__all__ = ["describe_set"]

RENDERER = "resale"

_NEGATIVES_CLOTHES = (
    "care_label",
    "care_label",
    "size_label",
    "brand_label",
    "brand_label",
    "retail_tag",
    "retail_tag",
    "measuring_tape",
    "closeup",
    "closeup",
    "receipt",
)
_NEGATIVES_SHOES = ("shoe_box", "shoe_box", "shoe_box", "retail_tag", "measuring_tape", "closeup", "size_label")


def _photo(seed: int, kind: str, spec: dict[str, str | int | float | bool]) -> EvalPhoto:
    """An :class:`EvalPhoto` of ``kind`` whose spec is ``spec`` sorted by name."""
    full = dict(spec, kind=kind)
    return EvalPhoto(RENDERER, seed, kind, kind == "shop_tag", tuple(sorted(full.items())))


def _n_photos(rnd: random.Random) -> int:
    """How many photos a product has: 1–8, mostly 3–5."""
    return rnd.choices((1, 2, 3, 4, 5, 6, 7, 8), weights=(3, 8, 24, 28, 20, 9, 5, 3))[0]


def _ordinary_kinds(rnd: random.Random, item: Item, n: int) -> list[str]:
    """The kinds of a product's ``n`` ordinary photos: garment views first, then details."""
    first = "printed_tee" if item["category"] == "tee" and rnd.random() < 0.3 else "garment"
    kinds = [first]
    for _ in range(n - 1):
        kinds.append(rnd.choices(("garment", "detail", "closeup"), weights=(6, 3, 1))[0])
    return kinds


def _negatives(rnd: random.Random, item: Item, room: int) -> list[str]:
    """The hard-negative kinds of a product (one or more, at most ``room``) or none."""
    if room <= 0 or rnd.random() >= 0.28:
        return []
    pool = _NEGATIVES_SHOES if item["category"] in ("sneakers", "boots") else _NEGATIVES_CLOTHES
    count = min(room, rnd.choices((1, 2, 3), weights=(6, 3, 1))[0])
    return rnd.sample(pool, count)


def _insert_at(rnd: random.Random, photos: list[EvalPhoto], tag: EvalPhoto) -> list[EvalPhoto]:
    """``photos`` with ``tag`` inserted: often last, sometimes first or in the middle."""
    where = rnd.choices(("last", "first", "middle"), weights=(55, 20, 25))[0]
    if where == "last" or len(photos) < 2:
        index = len(photos) if where != "first" else 0
    elif where == "first":
        index = 0
    else:
        index = rnd.randint(1, len(photos) - 1)
    return photos[:index] + [tag] + photos[index:]


def _product(rnd: random.Random, shop: Style, tenant: str, product_id: int) -> EvalProduct:
    """One product of ``shop``: its garment, its photos in the shop's order."""
    item = draw_item(rnd, bool(shop["sneakers"]))
    sku = photo_specs.make_sku(rnd, str(shop["sku_pattern"]))
    has_tag = rnd.random() < float(shop["tag_rate"])
    n = _n_photos(rnd)
    if has_tag and n == 1 and rnd.random() < 0.7:
        n = 2
    n_plain = n - 1 if has_tag else n
    negatives = _negatives(rnd, item, n_plain - 1)
    kinds = _ordinary_kinds(rnd, item, n_plain - len(negatives)) + negatives
    photos = [_photo(rnd.randrange(1 << 31), k, photo_specs.photo_spec(rnd, k, shop, item, sku)) for k in kinds]
    if has_tag:
        spec = photo_specs.photo_spec(rnd, "shop_tag", shop, item, sku)
        photos = _insert_at(rnd, photos, _photo(rnd.randrange(1 << 31), "shop_tag", spec))
    return EvalProduct(tenant, product_id, str(item["title"]), tuple(photos))


def describe_set(seed: int, n_products: int) -> EvalSet:
    """The set of ``n_products`` products for ``seed``: shops, products and photo specs."""
    rnd = random.Random(seed)
    n_shops = 3 if n_products < 120 or rnd.random() < 0.4 else 4
    shops = draw_shops(rnd, n_shops)
    weights = [rnd.uniform(0.7, 1.3) for _ in shops]
    first = list(range(min(n_shops, n_products)))
    owners = sorted(first + rnd.choices(range(n_shops), weights=weights, k=n_products - len(first)))
    counters = [0] * n_shops
    products: list[EvalProduct] = []
    for owner in owners:
        counters[owner] += 1
        products.append(_product(rnd, shops[owner], f"resale_{owner + 1}", counters[owner]))
    return EvalSet(RENDERER, seed, tuple(products))
