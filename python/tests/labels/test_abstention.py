"""The detector abstains when a photo's own evidence does not back the model's score, and a shop's
price decides where the model does not know the photo."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from product_images.labels.abstention import Assessment, abstain_reason, assess, assess_product, shop_price

T, F = 0.88, 0.0015


@pytest.mark.parametrize(
    ("cues", "score", "match", "reason"),
    [
        ({}, 0.97, 0.0, "no_tag_evidence"),  # a confident score, nothing read
        ({"price_int": 1}, 0.97, 0.0, "no_tag_evidence"),  # "41" on a printed tee, "16 18" on a tape measure
        ({"price_int": 1}, 0.97, 0.8, None),  # the shop's own tags look like this
        ({"euro_dec": 1}, 0.97, 0.0, None),  # "12,50 €"
        ({"code128": 1}, 0.97, 0.0, None),  # a SKU code
        ({"qr": 1, "qr_instore": 1}, 0.97, 0.0, None),  # a QR code of a stock number
        ({"qr": 1}, 0.97, 0.0, "no_tag_evidence"),  # a QR code of a web address, a contact card
        ({"qr": 1}, 0.97, 0.8, None),  # ... on what looks like the shop's own QR labels
        ({"qr": 1, "price_dec": 1, "cents_99": 1, "sign_first": 1}, 0.97, 0.0, "retail_price"),  # a brand's QR tag
        ({"price_dec": 1, "price_word": 1, "n_lines": 10}, 0.94, 0.0, "too_much_text"),  # a receipt's "TOTAL 42.00"
        ({"euro_whole": 1, "n_lines": 11}, 0.90, 0.0, "too_much_text"),  # a tape measure's numbers
        ({"euro_dec": 1, "n_lines": 6}, 0.97, 0.0, None),  # a tag's six lines
        ({"euro_dec": 1, "n_lines": 9}, 0.97, 0.8, None),  # the shop's own tags hold that much
        ({"price_dec": 1, "cents_99": 1, "sign_first": 1}, 0.97, 0.0, "retail_price"),  # "€49.99"
        ({"price_dec": 1, "cents_99": 1, "price_word": 1, "ean_retail": 1}, 0.97, 0.0, "retail_price"),  # "EUR 59.99"
        ({"price_dec": 1, "cents_99": 1, "ean_instore": 1}, 0.97, 0.0, None),  # an in-store code backs it
        ({"price_dec": 1, "cents_99": 1, "sign_first": 1}, 0.97, 0.9, None),  # the shop prices like that
        ({"euro_whole": 1}, 0.0001, 0.0, "price_without_tag"),  # "12 €" scored as a garment
        ({"price_int": 1, "n_lines": 1}, 0.0001, 0.0, "price_without_tag"),  # "14" alone on a sticker
        ({"price_int": 1, "size": 1}, 0.0001, 0.0, None),  # a size label
        ({"price_int": 1, "n_lines": 9}, 0.0001, 0.0, None),  # a number in a page of text
        ({"price_dec": 1, "cents_99": 1}, 0.0001, 0.0, None),  # a brand's tag scored low: fine
        ({}, 0.0001, 0.0, None),
        ({"euro_whole": 1}, 0.5, 0.0, None),  # already doubtful
    ],
)
def test_abstain_reason(cues, score, match, reason):
    assert abstain_reason(cues, score, T, F, match) == reason


@given(st.floats(0, 1), st.sampled_from([{}, {"euro_whole": 1.0}, {"price_int": 1.0}, {"sign_first": 1.0}]))
def test_an_abstaining_score_lands_strictly_inside_the_doubtful_band(score, cues):
    found = assess(cues, score, T, F)
    assert found.model_score == score
    if found.abstain is None:
        assert found.score == score
    else:
        assert F < found.score < T
        # stored as PostgreSQL real (float4), it stays inside too
        stored = struct.unpack("f", struct.pack("f", found.score))[0]
        assert F < stored < T


def _product(*scores: float) -> list[Assessment]:
    return [Assessment(s, s) for s in scores]


def test_the_one_photo_with_a_shop_price_is_the_label_whatever_the_model_scored():
    cues = [{"n_lines": 0}, {"n_lines": 3, "price_word": 1, "price_dec": 1}, {"n_lines": 0}]
    out = assess_product(_product(0.0, 0.02, 0.0), cues, T, F)
    assert [a.abstain for a in out] == [None, "shop_price", None]
    assert out[1].score > T and out[1].model_score == 0.02


def test_two_photos_with_a_price_promote_neither():
    cues = [{"price_word": 1, "price_int": 1}, {"ean_instore": 1}]
    assert assess_product(_product(0.02, 0.3), cues, T, F) == _product(0.02, 0.3)
    # one of them alone is promoted
    assert assess_product(_product(0.02, 0.3), [cues[0], {}], T, F)[0].abstain == "shop_price"


def test_the_model_confident_on_another_photo_makes_the_product_doubtful():
    cues = [{"code_price": 1}, {}]
    out = assess_product(_product(0.02, 0.97), cues, T, F)
    assert [a.abstain for a in out] == ["evidence_disagrees", "evidence_disagrees"]
    assert all(F < a.score < T for a in out)


@pytest.mark.parametrize(
    ("cues", "match", "expected"),
    [
        ({"price_word": 1, "price_int": 1, "n_lines": 2}, 0.0, True),  # "PRIX 12"
        ({"price_word": 1, "n_lines": 2}, 0.0, False),  # "PRIX" and nothing read beside it
        ({"ocr_ean_instore": 1}, 0.0, False),  # a 13-digit run read off a tape measure
        ({"field_price": 1, "price_dec": 1, "cents_99": 1}, 0.0, False),  # a brand's "REF154.6675" and "39,95"
        ({"euro_whole": 1, "n_lines": 12}, 0.0, False),  # a receipt: too much text
        ({"euro_dec": 1, "care": 1}, 0.0, False),  # care text
        ({"euro_dec": 1, "euro_99": 1}, 0.0, False),  # "19,99 €": a brand's price
        ({"code128": 1, "price_int": 1}, 0.0, True),  # a SKU label with an amount
        ({"code128": 1}, 0.0, False),  # a code alone says nothing of a price
        ({"qr": 1, "qr_instore": 1, "price_dec": 1}, 0.0, True),  # a QR stock label with its price
        ({"qr": 1, "price_dec": 1}, 0.0, False),  # a brand's QR (its web address) beside "49,90"
        ({"qr": 1, "price_dec": 1}, 0.7, True),  # ... unless the shop's own labels look like it
        ({"price_int": 1}, 0.0, False),  # a bare number, cold
        ({"price_int": 1}, 0.7, True),  # a bare number on what looks like the shop's own tags
        ({"ean_instore": 1}, 0.0, True),
        ({"ean_retail": 1, "price_dec": 1}, 0.0, False),  # a shoe box
        # a brand's barcode misread as an in-store EAN, its printed digits read as the retail one, "39,95 €"
        ({"ean_instore": 1, "ocr_ean_retail": 1, "euro_dec": 1, "cents_99": 1, "n_lines": 4}, 0.0, False),
    ],
)
def test_shop_price(cues, match, expected):
    assert shop_price(cues, match) is expected


def _read(*texts: str) -> dict[str, float]:
    from product_images.labels.evidence import OcrLine, text_cues

    return text_cues([OcrLine(text, 0.9, 0.1) for text in texts], [])


def test_a_size_chart_is_no_shop_price():
    """A size label printing "EUR 38 / UK 5 / US 6": its "EUR" is a size system, not a currency
    (the shipped detector labelled such a label on a development set, promoted as a shop's price)."""
    chart = _read("EUR", "UK", "US", "38")
    assert (chart["size"], chart["price_word"]) == (1.0, 0.0)
    assert not shop_price(chart)
    assert abstain_reason(chart, 0.0001, T, F) is None
    one_line = _read("EUR 38 UK 5 US 6")
    assert (one_line["size"], one_line["price_word"]) == (1.0, 0.0)


def test_a_price_in_euros_beside_a_size_chart_is_still_a_price():
    tag = _read("EUR", "12,00")
    assert (tag["size"], tag["price_word"]) == (0.0, 1.0)
    assert shop_price(tag)
    both = _read("PRIX", "12,00", "EUR 38 UK 5")
    assert (both["size"], both["price_word"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("payload", "instore"),
    [
        ("VT-12345", True),  # a stock number
        ("100234", True),
        ("SKU:VT-12345;P:1500", True),  # a label printer's fields
        ("ref=A12|prix=15", True),
        ("https://fripes12.fr/p/VT-12345", False),  # a web address: a shop's, or a brand's product page
        ("fripes12.fr/p/VT-12345", False),  # the same without its scheme
        ("www.example.com", False),
        ("MECARD:N:Owen,Sean;TEL:+12125551212;;", False),  # a contact card
        ("BEGIN:VCARD\nN:Doe;John\nEND:VCARD", False),
        ("MEBKM:TITLE:ZXing;URL:zxing.org;;", False),  # a bookmark
        ("WIFI:S:shop;T:WPA;P:secret12;;", False),  # Wi-Fi settings (its "P:" is a password)
        ("tel:+33123456789", False),
        ("Hello 42 world", False),  # free text
        ("ABCDEF", False),  # no digit: a word, not a stock number
        ("", False),
    ],
)
def test_a_qr_code_is_the_shops_own_only_when_it_holds_a_stock_number(payload, instore):
    from product_images.labels.evidence import Code, instore_qr_payload, settles_the_tag, text_cues

    assert instore_qr_payload(payload) is instore
    cues = text_cues([], [Code("QRCode", payload)])
    assert (cues["qr"], cues["qr_instore"]) == (1.0, float(instore))
    # only a QR of a stock number spares the text read; a Code 128 always does
    assert settles_the_tag([Code("QRCode", payload)]) is instore
    assert settles_the_tag([Code("Code128", payload or "X")])


def test_a_shops_web_address_qr_labels_are_learned_from_three_confirmed_ones():
    """Cold, a QR code of a web address is no in-store code; once people have confirmed three of
    the shop's labels holding its own web address, a fourth like them matches the shop's profile,
    and the same QR code then backs a confident score."""
    from product_images.labels.evidence import Code, Evidence, text_cues
    from product_images.labels.shop_profile import learn_profile, shop_match

    def photo(payload: str | None, paper: tuple[int, int, int]) -> Evidence:
        codes = [Code("QR Code", payload)] if payload else []
        ev = Evidence(region=(0.3, 0.3, 0.6, 0.6), paper_rgb=paper, codes=codes)
        ev.cues = text_cues([], codes)
        return ev

    white = (241, 240, 236)
    tags = [photo(f"https://fripes12.fr/p/VT-{n}", white) for n in (10234, 10771, 11302)]
    garments = [photo(None, (60, 70, 90)) for _ in range(6)]
    profile = learn_profile("user_1", [(ev, True) for ev in tags] + [(ev, False) for ev in garments])
    assert profile.usable

    fourth = photo("https://fripes12.fr/p/VT-12045", white)
    brand = photo("https://brand.example/authenticity?id=Z81", white)
    assert abstain_reason(fourth.cues, 0.97, T, F) == "no_tag_evidence"  # cold
    assert shop_match(fourth, profile) >= 0.5
    assert abstain_reason(fourth.cues, 0.97, T, F, shop_match(fourth, profile)) is None
    # a brand's QR code of another shape stays doubtful, on the same white paper
    assert shop_match(brand, profile) < 0.5
    assert abstain_reason(brand.cues, 0.97, T, F, shop_match(brand, profile)) == "no_tag_evidence"
