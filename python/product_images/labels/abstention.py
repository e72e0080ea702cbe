"""When the detector must not decide on the model's word alone, and when a shop's price decides.

The model's score is learned from drawn development sets, and on photos unlike them it
can be confidently wrong. Before a score decides anything, it is checked against
evidence that means "price tag" on any photo, whoever drew or took it. Per photo
(:func:`abstain_reason`):

* ``no_tag_evidence``: the score says "tag" (above the threshold), but nothing on the
  photo says price tag: no price read (an amount with cents, a price word, an amount
  with its currency sign, a price field in a decoded code), no in-store code (a decoded
  Code 128, a QR code of a stock number, an EAN-13 with the GS1 in-store prefix 20–29). A QR
  code of a web address or a contact card is no in-store code: brands, packaging and
  posters print them (on ZXing's real photos, 71% of such QR codes were hidden as tags
  while it counted); it counts only on a photo that matches the shop's confirmed tags
  (their payloads' shape is in the profile). A bare number ("12",
  "41") counts only when the shop's own confirmed tags look like the photo (its profile
  matches): on a printed tee, a measuring tape or a size label a number is no price.
* ``too_much_text``: the score says "tag", but more lines of text were read on the
  photo than a price tag holds (:data:`TAG_LINES`): a till receipt's "TOTAL 42.00", a
  tape measure's numbers, a booklet. Unless the shop's own confirmed tags look like it.
* ``retail_price``: the score says "tag", but the price is written as brands print it
  (currency sign first, ",95"–",99" cents, a retail EAN) and no in-store code or price
  field backs it: a brand's "new with tags" hang tag, which the listing may show, unless
  the shop's own confirmed tags look like it.
* ``price_without_tag``: the score says "no tag" (below the floor), but the photo holds
  a shop's kind of price: an amount (with cents, with its currency, or a bare number on
  short text without care or size words), a price word, a price in a code, an in-store
  EAN; and it is not written as brands print it. The model calls such a photo a garment
  on pixels alone.

Per product (:func:`assess_product`), **a shop's price decides where the model does
not know the photo** (``shop_price``): when exactly one photo of a product holds a price
only a shop writes on its own tags (:func:`shop_price`: a price word and an amount, a
decoded in-store EAN, a price in a decoded code, a Code 128 or a QR code of a stock number
beside an amount; not an amount with its sign alone, which is how brands print theirs too), or a
price on a photo that matches the shop's confirmed tags, that photo is the product's
label even when the model scored it low: its decision score is raised to
:data:`PROMOTED` of the band above the threshold. When the model confidently chose
another photo, the two disagree and the product is doubtful (``evidence_disagrees``).
A decoded in-store EAN whose digits, printed beside the bars, read as another, retail
EAN counts as neither: a barcode misread at an angle can pass the check digit.

An abstaining photo's *decision score* is moved into the doubtful band
``[floor, threshold]``, so its product is neither labelled nor cleared on the model's
word alone: a person decides (the review queue), and the legacy rule meanwhile. The
model's own score and the reason are kept in the photo's evidence
(``label_evidence.assessment``). Being unsure is allowed; being wrong with confidence is
not. These rules were written from what a price tag is, and checked on development
renderers only (``labels/development``, the demo's drawing): never on the evaluation
sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ABSTENTION_RULES",
    "PROMOTED",
    "REASONS",
    "TAG_LINES",
    "Assessment",
    "abstain_reason",
    "assess",
    "assess_product",
    "shop_price",
]

#: Version of the rules below: part of the detector's version, so a change rescores every photo.
ABSTENTION_RULES = "abstain-9"

#: Reason → what it means, as the review page and ``labels detect`` say it.
REASONS: dict[str, str] = {
    "no_tag_evidence": "scored as a tag, but no price, price word or in-store code was read on it"
    " (a QR code of a web address or a contact card is no in-store code)",
    "too_much_text": "scored as a tag, but it holds more lines of text than a tag (a receipt, a tape measure?)",
    "retail_price": "scored as a tag, but its price is written as brands print it (a retail tag?)",
    "price_without_tag": "scored as no tag, but a shop's kind of price was read on it",
    "evidence_disagrees": "the model chose one photo, the price read on another",
    "shop_price": "labelled on the shop's price read on it, whatever the model scored",
}

#: Most text lines a price tag holds (OCR lines read with confidence); a receipt or a booklet holds more.
TAG_LINES = 6
#: A promoted photo's decision score: this share of the way from the threshold to 1.
PROMOTED = 0.5
#: The shop-profile match (0–1) from which a photo "looks like the shop's own tags".
PROFILE_MATCH = 0.5

# A price read, as shops and brands write it.
_PRICE_CUES = (
    "price_dec",
    "price_word",
    "field_price",
    "price_sign",
    "euro_whole",
    "euro_dec",
    "second_price_word",
    "code_price",
)
# Codes a shop prints for itself: Code 128, a QR code of a stock number, an EAN-13 with an
# in-store prefix 20–29. (Any QR: only on a photo like the shop's confirmed tags.)
_INSTORE_CODE_CUES = ("code128", "qr_instore", "ean_instore")
# A bare number: a price only on a shop's kind of tag.
_BARE_NUMBER_CUES = ("price_int", "sign_blank", "small_number")
# Any amount.
_AMOUNT_CUES = ("price_dec", "euro_whole", "euro_dec", "price_sign", *_BARE_NUMBER_CUES)
# How brands print a retail price.
_RETAIL_CUES = ("sign_first", "euro_first", "cents_99", "euro_99", "ean_retail")
# What makes a price the shop's own, whatever else the photo shows. (Not ``field_price``: a
# misread price word then an amount also matches a brand's "REF154.6675".)
_INSTORE_CUES = ("code_price", *_INSTORE_CODE_CUES)
# Text that makes a number a size or a care instruction, not a price.
_NOT_PRICE_CUES = ("care", "size", "degree", "size_number")


def _trusted(cues: Mapping[str, float]) -> Mapping[str, float]:
    """The cues with a decoded in-store EAN dropped when the digits printed on the photo read
    as another, retail EAN: a barcode misread at an angle can pass the check digit."""
    if float(cues.get("ean_instore", 0.0)) >= 0.5 and float(cues.get("ocr_ean_retail", 0.0)) >= 0.5:
        return {**cues, "ean_instore": 0.0}
    return cues


def _any(cues: Mapping[str, float], names: tuple[str, ...]) -> bool:
    return any(float(cues.get(name, 0.0)) >= 0.5 for name in names)


def _retail(cues: Mapping[str, float]) -> bool:
    return _any(cues, _RETAIL_CUES) and not _any(cues, _INSTORE_CUES)


def _more_text_than_a_tag(cues: Mapping[str, float]) -> bool:
    return float(cues.get("n_lines", 0.0)) > TAG_LINES


def _short_text(cues: Mapping[str, float]) -> bool:
    return not _more_text_than_a_tag(cues) and not _any(cues, _NOT_PRICE_CUES)


def abstain_reason(
    cues: Mapping[str, float], score: float, threshold: float, floor: float, profile_match: float = 0.0
) -> str | None:
    """Why the photo's score must not decide, or None when its evidence backs it.

    Args:
        cues: the photo's text and code cues (:func:`product_images.labels.evidence.text_cues`
            keys: 0/1 values, ``n_lines`` a count).
        score: the model's score in [0, 1].
        threshold, floor: the model's ``label_score_threshold`` and ``label_score_floor`` (0–1).
        profile_match: how well the photo matches the shop's confirmed tags (0–1; 0 at
            cold start, no profile).

    Returns:
        ``"no_tag_evidence"``, ``"too_much_text"``, ``"retail_price"``, ``"price_without_tag"`` (see
        :data:`REASONS`) or None.
    """
    cues = _trusted(cues)
    shop_like = profile_match >= PROFILE_MATCH
    if score > threshold:
        has_price = _any(cues, _PRICE_CUES) or _any(cues, _INSTORE_CODE_CUES)
        if not has_price and not (shop_like and _any(cues, (*_BARE_NUMBER_CUES, "qr"))):
            return "no_tag_evidence"
        if _more_text_than_a_tag(cues) and not shop_like:
            return "too_much_text"
        if _retail(cues) and not shop_like:
            return "retail_price"
        return None
    if score < floor and not _retail(cues):
        priced = _any(cues, _PRICE_CUES) or _any(cues, ("ean_instore",))
        if priced or (_any(cues, _BARE_NUMBER_CUES) and _short_text(cues)):
            return "price_without_tag"
    return None


@dataclass(frozen=True)
class Assessment:
    """One photo's score as the decision uses it.

    Fields:
        score: the decision score in [0, 1]: the model's score; or, when the detector
            abstains, that score moved into ``[floor, threshold]`` (doubtful); or, for the
            photo a shop's price decides, a score above the threshold.
        model_score: the model's own score in [0, 1].
        abstain: the reason (a :data:`REASONS` key) or None.
    """

    score: float
    model_score: float
    abstain: str | None = None

    def to_json(self) -> dict[str, float | str | None]:
        """``{"model_score", "abstain"}`` as kept in ``label_evidence.assessment``."""
        return {"model_score": round(self.model_score, 6), "abstain": self.abstain}


def _top_of_band(threshold: float, floor: float) -> float:
    # 1% of the band inside it: a score stored as PostgreSQL `real` stays inside too.
    return threshold - 0.01 * (threshold - floor)


def _bottom_of_band(threshold: float, floor: float) -> float:
    return floor + 0.01 * (threshold - floor)


def assess(
    cues: Mapping[str, float], score: float, threshold: float, floor: float, profile_match: float = 0.0
) -> Assessment:
    """The :class:`Assessment` of one photo (arguments as :func:`abstain_reason`).

    An abstaining photo's decision score is just below ``threshold`` when the model said
    "tag" (no label) and just above ``floor`` when it said "no tag" (not cleared): 1% of
    the band inside it, so its product lands in the doubtful band.
    """
    reason = abstain_reason(cues, score, threshold, floor, profile_match)
    if reason is None:
        return Assessment(score, score)
    inside = _top_of_band(threshold, floor) if score > threshold else _bottom_of_band(threshold, floor)
    return Assessment(inside, score, reason)


def shop_price(cues: Mapping[str, float], profile_match: float = 0.0) -> bool:
    """Whether a photo holds a price as only a shop writes it on its own tag.

    Args:
        cues: the photo's text and code cues (0/1 values; ``n_lines`` a count).
        profile_match: how well the photo matches the shop's confirmed tags (0–1).

    Returns:
        True for: a price in a decoded code, a decoded in-store EAN, a price word beside
        an amount, a Code 128 or a QR code of a stock number beside an amount; or,
        on a photo matching the shop's confirmed tags, any amount or bare number. Never for
        a brand's retail price, text longer than :data:`TAG_LINES` lines, or care or size
        text. (Printed 13-digit runs do not count: a measuring tape's numbers hold them.)
    """
    cues = _trusted(cues)
    if not _short_text(cues) or _retail(cues):
        return False
    if _any(cues, ("code_price", "ean_instore")):
        return True
    if _any(cues, ("price_word", "second_price_word", "code128", "qr_instore")) and _any(cues, _AMOUNT_CUES):
        return True
    return profile_match >= PROFILE_MATCH and _any(cues, _AMOUNT_CUES)


def assess_product(
    assessments: list[Assessment],
    cues: list[Mapping[str, float]],
    threshold: float,
    floor: float,
    profile_matches: list[float] | None = None,
) -> list[Assessment]:
    """A product's photo assessments after the product-level rule (see the module's text).

    Args:
        assessments: each photo's :func:`assess` result, in photo order.
        cues: each photo's cues, same order.
        threshold, floor: as :func:`abstain_reason`.
        profile_matches: each photo's match with the shop's confirmed tags (0–1), or None.

    Returns:
        New assessments, same order: the one photo with a shop's price raised above the
        threshold (``shop_price``), or, when the model confidently chose another photo,
        both moved into the doubtful band (``evidence_disagrees``); else unchanged.
    """
    matches = profile_matches or [0.0] * len(cues)
    priced = [i for i, found in enumerate(cues) if shop_price(found, matches[i])]
    if len(priced) != 1:
        return assessments
    chosen = priced[0]
    confident = [i for i, a in enumerate(assessments) if a.score > threshold and i != chosen]
    out = list(assessments)
    if confident:
        for i in (chosen, *confident):
            out[i] = Assessment(_top_of_band(threshold, floor), assessments[i].model_score, "evidence_disagrees")
        return out
    promoted = threshold + PROMOTED * (1.0 - threshold)
    if assessments[chosen].score < promoted:
        out[chosen] = Assessment(promoted, assessments[chosen].model_score, "shop_price")
    return out
