"""The resale development renderer: deterministic sets and photos, label invariants, decodable codes."""

from __future__ import annotations

import io
from collections import Counter

import pytest
import zxingcpp
from PIL import Image

from product_images.labels.development import resale
from product_images.labels.evaluation.sets import EvalSet


@pytest.fixture(scope="module")
def full_set() -> EvalSet:
    return resale.generate_set(resale.SEEDS["small"], 240)


def test_generate_set_is_deterministic() -> None:
    assert resale.generate_set(resale.SEEDS["small"], 40) == resale.generate_set(resale.SEEDS["small"], 40)
    assert resale.generate_set(resale.SEEDS["small"], 40) != resale.generate_set(resale.SEEDS["full"], 40)


def test_seeds_and_names() -> None:
    assert resale.RENDERER == "resale"
    assert set(resale.SEEDS) == {"small", "full"}
    assert resale.SEEDS["small"] != resale.SEEDS["full"]
    assert all(10_000 <= s <= 99_999 for s in resale.SEEDS.values())


def test_tenants_products_and_labels(full_set: EvalSet) -> None:
    products = full_set.products
    assert len(products) == 240
    assert full_set.renderer == "resale"
    assert [(p.tenant, p.product_id) for p in products] == sorted((p.tenant, p.product_id) for p in products)
    tenants = sorted({p.tenant for p in products})
    assert tenants == [f"resale_{i}" for i in range(1, len(tenants) + 1)]
    assert 3 <= len(tenants) <= 4
    for tenant in tenants:
        ids = [p.product_id for p in products if p.tenant == tenant]
        assert ids == list(range(1, len(ids) + 1))
    for p in products:
        assert 1 <= len(p.photos) <= 20
        assert sum(ph.is_label for ph in p.photos) <= 1
        for ph in p.photos:
            assert ph.renderer == "resale"
            assert ph.is_label == (ph.kind == "shop_tag")
            assert list(ph.spec) == sorted(ph.spec)
    share = sum(p.label_index is not None for p in products) / len(products)
    assert 0.15 <= share <= 0.35
    positions = Counter(
        "last" if p.label_index == len(p.photos) - 1 else "first" if p.label_index == 0 else "middle"
        for p in products
        if p.label_index is not None and len(p.photos) > 2
    )
    assert len(positions) == 3


def test_render_photo_is_deterministic_and_sized(full_set: EvalSet) -> None:
    photos = [ph for p in full_set.products[:40] for ph in p.photos][::9][:6]
    for photo in photos:
        data = resale.render_photo(photo)
        assert data == resale.render_photo(photo)
        image = Image.open(io.BytesIO(data))
        image.load()
        assert image.format in ("JPEG", "PNG", "WEBP")
        assert 800 <= max(image.size) <= 1600


def test_drawn_codes_decode_to_their_payload(full_set: EvalSet) -> None:
    legible = [ph for p in full_set.products for ph in p.photos if ph.is_label and dict(ph.spec)["legible"]][:4]
    assert len(legible) >= 3
    symbologies = {
        "code128": zxingcpp.BarcodeFormat.Code128,
        "ean13": zxingcpp.BarcodeFormat.EAN13,
        "qr": zxingcpp.BarcodeFormat.QRCode,
    }
    for photo in legible:
        spec = dict(photo.spec)
        image = Image.open(io.BytesIO(resale.render_photo(photo)))
        found = {(r.format, r.text) for r in zxingcpp.read_barcodes(image)}
        assert (symbologies[str(spec["symbology"])], spec["payload"]) in found, (photo.seed, spec["tag"], found)


def test_retail_eans_are_never_in_store(full_set: EvalSet) -> None:
    for p in full_set.products:
        for ph in p.photos:
            spec = dict(ph.spec)
            if ph.kind in ("retail_tag", "shoe_box"):
                assert not str(spec["payload"]).startswith(tuple("2")), spec["payload"]
            if ph.is_label and spec["symbology"] == "ean13":
                assert 20 <= int(str(spec["payload"])[:2]) <= 29
