"""Tests for the marketplace photo filters (pure: no database)."""

from __future__ import annotations

import pickle
from collections import Counter
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from product_images.app import marketplaces
from product_images.app.images import ProductImage
from product_images.app.marketplaces import (
    MARKETPLACE_RULES,
    DropReason,
    LabelInPayloadError,
    MarketplaceRules,
    NoPublishablePhotoError,
    PhotoSelection,
    assert_no_labels,
    ebay_image_payload,
    ebay_image_urls,
    select_photos,
    vinted_photo_payload,
    vinted_photos,
)

CDN = "https://cdn.example.com/p1"


def img(
    id: int,
    position: int | None = None,
    *,
    url: str | None = None,
    is_label: bool = False,
    width: int | None = None,
    height: int | None = None,
    mime_type: str | None = None,
    product_id: int = 1,
) -> ProductImage:
    """A product photo; position defaults to ``id`` and url to a unique https URL."""
    return ProductImage(
        id=id,
        product_id=product_id,
        url=url if url is not None else f"{CDN}/{id}.jpg",
        position=id if position is None else position,
        is_label=is_label,
        width=width,
        height=height,
        mime_type=mime_type,
    )


def reasons(selection: PhotoSelection) -> list[tuple[int, DropReason]]:
    return [(d.image.id, d.reason) for d in selection.dropped]


def kept_ids(selection: PhotoSelection) -> list[int]:
    return [image.id for image in selection.kept]


# --------------------------------------------------------------------------- #
# ProductImage
# --------------------------------------------------------------------------- #


def test_product_image_freezes_tags_and_is_hashable() -> None:
    tags: list[str] = ["a", "b"]
    image = ProductImage(
        id=1,
        product_id=1,
        url="u",
        position=0,
        is_label=False,
        tags=tags,  # type: ignore[arg-type]
    )
    assert image.tags == ("a", "b")
    assert hash(image) == hash(image)


def test_longest_side_needs_both_dimensions() -> None:
    assert img(1, width=499, height=300).longest_side_px == 499
    assert img(1, width=300, height=800).longest_side_px == 800
    assert img(1, width=800).longest_side_px is None
    assert img(1).longest_side_px is None


# --------------------------------------------------------------------------- #
# The rules table
# --------------------------------------------------------------------------- #


def test_rules_table_rows() -> None:
    assert set(MARKETPLACE_RULES) == {"vinted", "ebay"}
    vinted, ebay = MARKETPLACE_RULES["vinted"], MARKETPLACE_RULES["ebay"]
    assert (vinted.name, vinted.max_photos, vinted.min_longest_side_px) == ("vinted", 20, None)
    assert vinted.https_only is False
    assert vinted.allowed_mime_types is None
    assert (ebay.name, ebay.max_photos, ebay.min_longest_side_px) == ("ebay", 24, 500)
    assert ebay.https_only is True
    assert ebay.allowed_mime_types == frozenset(
        {
            "image/jpeg",
            "image/gif",
            "image/png",
            "image/bmp",
            "image/tiff",
            "image/avif",
            "image/heic",
            "image/webp",
        }
    )
    for row in MARKETPLACE_RULES.values():
        assert row.source, f"{row.name} must say where its limits come from"


def test_rules_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        MARKETPLACE_RULES["etsy"] = MARKETPLACE_RULES["vinted"]  # type: ignore[index]


def test_rules_row_rejects_impossible_limits() -> None:
    with pytest.raises(ValueError, match="max_photos"):
        MarketplaceRules(name="x", max_photos=0)
    with pytest.raises(ValueError, match="min_longest_side_px"):
        MarketplaceRules(name="x", max_photos=1, min_longest_side_px=0)


def test_new_marketplace_is_a_new_row_only(monkeypatch: pytest.MonkeyPatch) -> None:
    etsy = MarketplaceRules(
        name="etsy",
        max_photos=2,
        min_longest_side_px=2000,
        allowed_mime_types=frozenset({"image/png"}),
        source="test row",
    )
    monkeypatch.setattr(marketplaces, "MARKETPLACE_RULES", MappingProxyType({**MARKETPLACE_RULES, "etsy": etsy}))
    images = [
        img(0, width=2000, height=10, mime_type="image/png"),
        img(1, width=1999, height=10),
        img(2, mime_type="image/jpeg"),
        img(3),
        img(4),
    ]
    selection = select_photos(images, "etsy")
    assert selection.marketplace == "etsy"
    assert kept_ids(selection) == [0, 3]
    assert reasons(selection) == [
        (1, DropReason.TOO_SMALL),
        (2, DropReason.UNSUPPORTED_TYPE),
        (4, DropReason.OVER_LIMIT),
    ]


def test_unknown_marketplace_lists_allowed_values() -> None:
    with pytest.raises(ValueError) as excinfo:
        select_photos([img(0)], "etsy")
    assert str(excinfo.value) == "marketplace must be one of 'ebay', 'vinted'; got 'etsy'"


def test_marketplace_name_is_case_sensitive() -> None:
    with pytest.raises(ValueError, match="marketplace must be one of"):
        select_photos([img(0)], "eBay")


# --------------------------------------------------------------------------- #
# select_photos: each drop reason
# --------------------------------------------------------------------------- #


def test_label_is_dropped() -> None:
    selection = vinted_photos([img(0, is_label=True), img(1)])
    assert kept_ids(selection) == [1]
    assert reasons(selection) == [(0, DropReason.LABEL)]
    assert selection.dropped[0].detail == "price-tag label photo (is_label = true)"


def test_product_row_sharing_a_label_url_is_dropped_as_label() -> None:
    shared = f"{CDN}/tag.jpg"
    images = [img(0, url=shared), img(1), img(2, url=shared, is_label=True)]
    for selection in (vinted_photos(images), ebay_image_urls(images)):
        assert kept_ids(selection) == [1]
        assert reasons(selection) == [(0, DropReason.LABEL), (2, DropReason.LABEL)]
        assert selection.dropped[0].detail == "url is also the url of label image id=2"


def test_duplicate_url_keeps_first_by_position() -> None:
    dup = f"{CDN}/same.jpg"
    images = [img(7, position=2, url=dup), img(3, position=0), img(5, position=1, url=dup)]
    selection = vinted_photos(images)
    assert kept_ids(selection) == [3, 5]
    assert reasons(selection) == [(7, DropReason.DUPLICATE)]
    assert selection.dropped[0].detail == "same url as image id=5 at position 1"


def test_duplicate_of_a_dropped_photo_is_still_a_duplicate() -> None:
    url = "http://cdn.example.com/p1/a.jpg"
    selection = ebay_image_urls([img(0, url=url), img(1, url=url), img(2)])
    assert kept_ids(selection) == [2]
    assert reasons(selection) == [(0, DropReason.NOT_HTTPS), (1, DropReason.DUPLICATE)]


def test_http_is_dropped_on_ebay_and_kept_on_vinted() -> None:
    images = [
        img(0, url="http://cdn.example.com/p1/0.jpg"),
        img(1),
        img(2, url="HTTPS://cdn.example.com/2.jpg"),
    ]
    ebay = ebay_image_urls(images)
    assert kept_ids(ebay) == [1, 2]
    assert reasons(ebay) == [(0, DropReason.NOT_HTTPS)]
    assert ebay.dropped[0].detail == "ebay accepts https URLs only"
    vinted = vinted_photos(images)
    assert kept_ids(vinted) == [0, 1, 2]
    assert vinted.dropped == ()


def test_too_small_only_when_dimensions_known() -> None:
    images = [
        img(0, width=499, height=300),
        img(1, width=500, height=300),
        img(2, width=300, height=500),
        img(3),
        img(4, width=499),
        img(5, width=300, height=499),
    ]
    ebay = ebay_image_urls(images)
    assert kept_ids(ebay) == [1, 2, 3, 4]
    assert reasons(ebay) == [(0, DropReason.TOO_SMALL), (5, DropReason.TOO_SMALL)]
    assert ebay.dropped[0].detail == "longest side 499 px < 500 px minimum for ebay (499x300 px)"
    assert kept_ids(vinted_photos(images)) == [0, 1, 2, 3, 4, 5]


def test_unsupported_type_when_known() -> None:
    images = [
        img(0, mime_type="image/svg+xml"),
        img(1, mime_type="image/jpeg"),
        img(2),
        img(3, mime_type="image/jpg"),
        img(4, mime_type="IMAGE/PNG; charset=binary"),
        img(5, mime_type="application/pdf"),
    ]
    ebay = ebay_image_urls(images)
    assert kept_ids(ebay) == [1, 2, 3, 4]
    assert reasons(ebay) == [(0, DropReason.UNSUPPORTED_TYPE), (5, DropReason.UNSUPPORTED_TYPE)]
    assert ebay.dropped[0].detail.startswith("'image/svg+xml' is not accepted by ebay (accepted: ")
    assert kept_ids(vinted_photos(images)) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "mime_type",
    [
        "image/jpeg",
        "image/gif",
        "image/png",
        "image/bmp",
        "image/tiff",
        "image/avif",
        "image/heic",
        "image/webp",
    ],
)
def test_every_documented_ebay_format_is_kept(mime_type: str) -> None:
    assert kept_ids(ebay_image_urls([img(0, mime_type=mime_type)])) == [0]


def test_first_failing_check_wins() -> None:
    http = "http://cdn.example.com/p1/small.gif"
    selection = ebay_image_urls([img(0, url=http, width=10, height=10, mime_type="image/x-icon"), img(1)])
    assert reasons(selection) == [(0, DropReason.NOT_HTTPS)]
    selection = ebay_image_urls([img(0, width=10, height=10, mime_type="image/x-icon"), img(1)])
    assert reasons(selection) == [(0, DropReason.TOO_SMALL)]


def test_drop_reason_values() -> None:
    assert [reason.value for reason in DropReason] == [
        "label",
        "duplicate",
        "not_https",
        "too_small",
        "unsupported_type",
        "over_limit",
    ]
    assert DropReason.OVER_LIMIT == "over_limit"


# --------------------------------------------------------------------------- #
# select_photos: limits and order
# --------------------------------------------------------------------------- #


def test_vinted_keeps_20_of_21() -> None:
    selection = vinted_photos([img(i) for i in reversed(range(21))])
    assert kept_ids(selection) == list(range(20))
    assert reasons(selection) == [(20, DropReason.OVER_LIMIT)]
    assert selection.dropped[0].detail == "vinted allows at most 20 photos per listing"


def test_ebay_keeps_24_of_25() -> None:
    selection = ebay_image_urls([img(i) for i in range(25)])
    assert kept_ids(selection) == list(range(24))
    assert reasons(selection) == [(24, DropReason.OVER_LIMIT)]


def test_over_limit_rest_in_position_order() -> None:
    images = [img(i) for i in range(30)]
    selection = vinted_photos(reversed(images))
    assert kept_ids(selection) == list(range(20))
    assert reasons(selection) == [(i, DropReason.OVER_LIMIT) for i in range(20, 30)]


def test_dropped_photos_do_not_count_towards_the_limit() -> None:
    images = [img(0, is_label=True)] + [img(i) for i in range(1, 22)]
    selection = vinted_photos(images)
    assert kept_ids(selection) == list(range(1, 21))
    assert reasons(selection) == [(0, DropReason.LABEL), (21, DropReason.OVER_LIMIT)]


def test_ordered_by_position_not_input_or_id() -> None:
    images = [img(10, position=2), img(30, position=0), img(20, position=1)]
    selection = vinted_photos(iter(images))
    assert kept_ids(selection) == [30, 20, 10]
    assert selection.urls == (f"{CDN}/30.jpg", f"{CDN}/20.jpg", f"{CDN}/10.jpg")


def test_accepts_any_iterable_and_empty_input() -> None:
    assert select_photos((), "vinted") == PhotoSelection("vinted", (), ())
    selection = select_photos((i for i in [img(1), img(0)]), "ebay")
    assert kept_ids(selection) == [0, 1]


def test_select_photos_returns_empty_selection_instead_of_raising() -> None:
    selection = select_photos([img(0, is_label=True)], "ebay")
    assert selection.kept == ()
    assert reasons(selection) == [(0, DropReason.LABEL)]


# --------------------------------------------------------------------------- #
# Payload builders
# --------------------------------------------------------------------------- #


def test_ebay_image_payload_shape() -> None:
    images = [img(2), img(0, is_label=True), img(1, url="http://cdn.example.com/p1/1.jpg"), img(3)]
    assert ebay_image_payload(images) == {"product": {"imageUrls": [f"{CDN}/2.jpg", f"{CDN}/3.jpg"]}}


def test_ebay_image_payload_accepts_a_generator() -> None:
    payload = ebay_image_payload(i for i in [img(1), img(0, is_label=True, url=f"{CDN}/tag.jpg")])
    assert payload == {"product": {"imageUrls": [f"{CDN}/1.jpg"]}}


def test_vinted_photo_payload_shape_renumbers_positions() -> None:
    images = [img(0, is_label=True), img(1), img(2, url="http://cdn.example.com/p1/2.jpg")]
    assert vinted_photo_payload(images) == {
        "photos": [
            {"url": f"{CDN}/1.jpg", "position": 0},
            {"url": "http://cdn.example.com/p1/2.jpg", "position": 1},
        ]
    }


def test_vinted_payload_caps_at_20() -> None:
    payload = vinted_photo_payload([img(i) for i in range(21)])
    assert len(payload["photos"]) == 20
    assert [photo["position"] for photo in payload["photos"]] == list(range(20))


def test_no_publishable_photo_raises_with_selection() -> None:
    images = [
        img(0, is_label=True, product_id=7),
        img(1, url="http://cdn.example.com/p1/1.jpg", product_id=7),
    ]
    with pytest.raises(NoPublishablePhotoError) as excinfo:
        ebay_image_payload(images)
    error = excinfo.value
    assert isinstance(error, ValueError)
    assert error.selection.marketplace == "ebay"
    assert error.selection.kept == ()
    assert reasons(error.selection) == [(0, DropReason.LABEL), (1, DropReason.NOT_HTTPS)]
    assert str(error) == ("no publishable photo for ebay (product 7): 2 image(s) dropped (label: 1, not_https: 1)")


def test_no_publishable_photo_on_vinted_and_on_empty_input() -> None:
    expected = r"vinted \(product 1\): 1 image\(s\) dropped \(label: 1\)"
    with pytest.raises(NoPublishablePhotoError, match=expected):
        vinted_photo_payload([img(0, is_label=True)])
    with pytest.raises(NoPublishablePhotoError, match="no images given") as excinfo:
        vinted_photo_payload([])
    assert excinfo.value.selection == PhotoSelection("vinted", (), ())


def test_errors_survive_pickling() -> None:
    selection = PhotoSelection("ebay", (), ())
    error = pickle.loads(pickle.dumps(NoPublishablePhotoError(selection)))
    assert error.selection == selection
    label_error = pickle.loads(pickle.dumps(LabelInPayloadError(["u"])))
    assert label_error.urls == ("u",)


def test_payload_builders_run_the_label_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    label = img(0, is_label=True)
    leaky = PhotoSelection("ebay", (label,), ())
    monkeypatch.setattr(marketplaces, "ebay_image_urls", lambda images: leaky)
    with pytest.raises(LabelInPayloadError, match="0.jpg"):
        ebay_image_payload([label])


# --------------------------------------------------------------------------- #
# assert_no_labels
# --------------------------------------------------------------------------- #


def test_assert_no_labels_raises_naming_the_url() -> None:
    tag = f"{CDN}/tag.jpg"
    images = [img(0, url=tag, is_label=True), img(1)]
    with pytest.raises(LabelInPayloadError) as excinfo:
        assert_no_labels([f"{CDN}/1.jpg", tag, tag], images)
    assert isinstance(excinfo.value, RuntimeError)
    assert not isinstance(excinfo.value, AssertionError)
    assert excinfo.value.urls == (tag,)
    assert tag in str(excinfo.value)
    assert str(excinfo.value) == (f"1 price-tag label URL(s) in an outgoing marketplace payload: '{tag}'")


def test_assert_no_labels_counts_a_url_shared_with_a_product_row() -> None:
    shared = f"{CDN}/shared.jpg"
    images = [img(0, url=shared), img(1, url=shared, is_label=True)]
    with pytest.raises(LabelInPayloadError, match="shared.jpg"):
        assert_no_labels([shared], images)


def test_assert_no_labels_passes_otherwise() -> None:
    images = [img(0, is_label=True), img(1), img(2)]
    assert assert_no_labels([f"{CDN}/1.jpg", f"{CDN}/2.jpg"], images) is None
    assert assert_no_labels([], images) is None
    assert assert_no_labels([f"{CDN}/0.jpg"], [img(0)]) is None


# --------------------------------------------------------------------------- #
# Property test
# --------------------------------------------------------------------------- #

_URL_POOL = [f"{scheme}://cdn.example.com/{name}.jpg" for scheme in ("http", "https") for name in "abcde"]


@st.composite
def image_lists(draw: st.DrawFn) -> list[ProductImage]:
    size = draw(st.integers(min_value=0, max_value=40))
    return [
        ProductImage(
            id=i,
            product_id=1,
            url=draw(st.sampled_from(_URL_POOL)),
            position=draw(st.integers(min_value=0, max_value=30)),
            is_label=draw(st.booleans()),
            mime_type=draw(st.sampled_from([None, "image/jpeg", "image/svg+xml"])),
            width=draw(st.none() | st.integers(min_value=1, max_value=1000)),
            height=draw(st.none() | st.integers(min_value=1, max_value=1000)),
        )
        for i in range(size)
    ]


@settings(max_examples=300, deadline=None)  # timing belongs to bench/, not to tests
@given(
    images=image_lists(),
    extra=st.integers(min_value=0, max_value=30),
    marketplace=st.sampled_from(sorted(MARKETPLACE_RULES)),
)
def test_selection_invariants(images: list[ProductImage], extra: int, marketplace: str) -> None:
    """Labels never kept, limit respected, order kept, every image accounted for once.

    ``extra`` appends distinct https photos so the photo limits are reached too.
    """
    images = images + [
        ProductImage(
            id=100 + i,
            product_id=1,
            url=f"https://cdn.example.com/many/{i}.jpg",
            position=i,
            is_label=False,
        )
        for i in range(extra)
    ]
    selection = select_photos(images, marketplace)
    rules = MARKETPLACE_RULES[marketplace]
    label_urls = {image.url for image in images if image.is_label}

    assert selection.marketplace == marketplace
    assert not label_urls & set(selection.urls)
    assert len(selection.kept) <= rules.max_photos
    positions = [image.position for image in selection.kept]
    assert positions == sorted(positions)
    assert len(set(selection.urls)) == len(selection.urls)
    accounted = Counter([*selection.kept, *(dropped.image for dropped in selection.dropped)])
    assert accounted == Counter(images)
    if rules.https_only:
        assert all(url.startswith("https://") for url in selection.urls)
    assert_no_labels(selection.urls, images)
