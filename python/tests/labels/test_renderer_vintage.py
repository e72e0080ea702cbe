"""The vintage development renderer: deterministic sets and photos, label invariants, decodable codes."""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image

from product_images.labels.development.vintage import RENDERER, SEEDS, generate_set, render_photo


def test_set_is_deterministic() -> None:
    assert generate_set(SEEDS["small"], 40) == generate_set(SEEDS["small"], 40)
    assert len(generate_set(SEEDS["small"], 40).products) == 40
    assert SEEDS["small"] != SEEDS["full"]


def test_tenants_products_and_labels() -> None:
    eval_set = generate_set(SEEDS["full"], 240)
    assert eval_set.renderer == RENDERER == "vintage"
    products = eval_set.products
    assert len(products) == 240
    assert list(products) == sorted(products, key=lambda p: (p.tenant, p.product_id))
    tenants = sorted({p.tenant for p in products})
    assert 3 <= len(tenants) <= 4 and all(re.fullmatch(r"vintage_\d", t) for t in tenants)
    for tenant in tenants:
        ids = [p.product_id for p in products if p.tenant == tenant]
        assert ids == list(range(1, len(ids) + 1))
    for product in products:
        assert 1 <= len(product.photos) <= 20 and product.title
        assert sum(photo.is_label for photo in product.photos) <= 1
        for photo in product.photos:
            assert photo.is_label == (photo.kind == "shop_tag")
            assert photo.renderer == RENDERER
            assert list(photo.spec) == sorted(photo.spec)
    share = sum(p.label_index is not None for p in products) / len(products)
    assert 0.15 <= share <= 0.35


def test_render_is_deterministic_and_sized() -> None:
    photos = [ph for p in generate_set(SEEDS["small"], 40).products for ph in p.photos]
    picked = {ph.kind: ph for ph in photos}
    for kind in ("shop_tag", "garment", "detail"):
        photo = picked[kind]
        data = render_photo(photo)
        assert data == render_photo(photo)
        image = Image.open(io.BytesIO(data))
        image.load()
        assert image.format in ("JPEG", "PNG", "WEBP")
        assert 800 <= max(image.size) <= 1600


def test_shop_tag_codes_decode() -> None:
    products = generate_set(SEEDS["small"], 240).products
    coded = [ph for p in products for ph in p.photos if ph.kind == "shop_tag" and dict(ph.spec).get("payload")][:4]
    assert len(coded) == 4
    for photo in coded:
        payload = dict(photo.spec)["payload"]
        image = Image.open(io.BytesIO(render_photo(photo)))
        assert payload in [result.text for result in zxingcpp.read_barcodes(image)]
