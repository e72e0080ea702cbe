"""What the review page says of a photo's stored evidence (labels/review/evidence_lines.py)."""

from __future__ import annotations

from product_images.labels.review.evidence_lines import evidence_lines


def test_a_qr_code_of_a_web_address_is_said_as_the_reason_it_did_not_decide():
    evidence = {
        "codes": [{"format": "QR Code", "text": "https://brand.example/authenticity?id=Z81"}],
        "cues": {"qr": 1.0, "qr_instore": 0.0},
        "assessment": {"model_score": 0.97, "abstain": "no_tag_evidence"},
    }
    assert evidence_lines(evidence) == [
        "detector: scored as a tag, but no price, price word or in-store code was read on it"
        " (a QR code of a web address or a contact card is no in-store code) (model score 0.97)",
        "codes: QR Code https://brand.example/authenticity?id=Z81",
        "cues: QR code",
    ]


def test_a_qr_code_of_a_stock_number_is_said_so():
    evidence = {"codes": [{"format": "QR Code", "text": "VT-12345"}], "cues": {"qr": 1.0, "qr_instore": 1.0}}
    assert evidence_lines(evidence) == ["codes: QR Code VT-12345", "cues: QR code, a stock number in the QR code"]
