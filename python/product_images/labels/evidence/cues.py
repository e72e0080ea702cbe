"""What the text read means: price, currency, SKU, care and size cues, from the lines and the codes."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from product_images.labels.evidence.records import Code, OcrLine, instore_qr_payload

# --------------------------------------------------------------------------- text cues

_EURO_WHOLE = re.compile(r"(?<![\d,.])\d{1,3}\s?€")
_EURO_DEC = re.compile(r"\d{1,3}[,.]\d{2}\s?€")
_EURO_FIRST = re.compile(r"€\s?\d{1,3}")
_EURO_99 = re.compile(r"\d[,.]9\d\s?€|€\s?\d{1,3}[,.]9\d")
_SECOND_WORD = re.compile(r"\b(PRIX|TARIF)\b", re.I)


def second_read_cues(text: str) -> dict[str, float]:
    """Cues (0/1 each) from the second read, which reads "€": ``euro_whole`` ("12 €"),
    ``euro_dec`` ("12,50 €"), ``euro_first`` ("€49.99", retail), ``euro_99`` (",9x" cents
    next to "€", retail), ``euro_any`` and ``second_price_word`` ("PRIX", "TARIF")."""
    return {
        "euro_whole": float(bool(_EURO_WHOLE.search(text))),
        "euro_dec": float(bool(_EURO_DEC.search(text))),
        "euro_first": float(bool(_EURO_FIRST.search(text))),
        "euro_99": float(bool(_EURO_99.search(text))),
        "euro_any": float("€" in text),
        "second_price_word": float(bool(_SECOND_WORD.search(text))),
    }


# A price without the currency sign: "15,00", "15.00", "12", "5", optionally followed by
# what the recogniser makes of "€" ("C", "E", "e", "1", "€"), with or without a space.
_PRICE_DEC = re.compile(r"(?<![\d%])(\d{1,3})[,.](\d{2})(?!\d|%|°)")
_PRICE_INT = re.compile(r"^(?:PRIX|TARIF)?\s*:?\s*(\d{1,3})\s*[€CcEe仓元]?$", re.I)
_PRICE_WORD = re.compile(r"\b(PRIX|TARIF|PRICE|EUR)\b|€", re.I)
# the same words as misread ("Tarlf", "Tarf", "Tartf", "arif", "PRlX", "Prx"): a short field name, a colon
# or not, then an amount
_FIELD_PRICE = re.compile(
    r"^(?!REF\b|Ref\b|ref\b)(?:[PpRr][A-Za-z1]{1,3}[Xx]|[Tt]?[Aa]?[Rr]?[A-Za-z1]{0,2}[Ff])\s*:?\s*\d{1,3}(?:[,.]\d{2})?\s*[€CcEe]?\s*$"
)
_CARE = re.compile(r"%|COTON|COTTON|POLY|ELAST|LAINE|WOOL|VISCOSE|NYLON|\bLIN\b|MADE ?IN|\bRN ?\d", re.I)
_DEGREE = re.compile(r"\d{2}\s*°")
_SIZE = re.compile(r"^(XXS|XS|S|M|L|XL|XXL|\d{2}/\d{2}|T\.?\s?\d{2}|EU\s?\d{2}(\s?US\s?\d{1,2})?)$", re.I)
# Size systems as a size label or a shoe box prints them side by side ("EUR 38 / UK 5 / US 6"):
# two of them on a photo make it a size chart, and its "EUR" no currency.
_SIZE_SYSTEM = re.compile(r"\b(EUR?|UK|US)\b")
_SKU = re.compile(r"\b(?=[A-Z0-9-]{5,14}\b)(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
_REF = re.compile(r"\b(REF|ART)\b", re.I)
_LONG_DIGITS = re.compile(r"\d{8,14}")
# "5€" / "12 €" as the recogniser reads it: digits then a misread euro sign
_PRICE_SIGN = re.compile(r"^(?:PRIX|TARIF)?\s*:?\s*(\d{1,3})(?:[,.]\d{2})?\s*[€CcEe仓元]\s*$", re.I)
# "€49.99" read as "C49.99", "E49.99", "€49.99": a sign BEFORE the amount (retail style)
_SIGN_FIRST = re.compile(r"(?:^|\s)[€CE]\s?\d{1,3}[.,]\d{2}\b")
_CENTS = re.compile(r"(?<![\d%])\d{1,3}[,.](\d{2})(?!\d|%|°)")
_ONLY_NUMBER = re.compile(r"^\d{1,3}$")


def _ean_ok(digits: str) -> bool:
    """True when ``digits`` (13) carries a valid EAN-13 check digit."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits[:12]))
    return (10 - s % 10) % 10 == int(digits[12])


def shape_of(token: str) -> str:
    """Shape of a code/SKU: digits → ``9``, letters → ``A``, rest kept ("VT-12345" → "AA-99999")."""
    return "".join("9" if c.isdigit() else "A" if c.isalpha() else c for c in token.upper())


#: Every key :func:`text_cues` returns before the counts, in the order the dict holds them.
_CUE_KEYS: tuple[str, ...] = (
    "price_dec",
    "price_int",
    "price_word",
    "care",
    "degree",
    "size",
    "sku",
    "ref",
    "long_digits",
    "code128",
    "qr",
    "ean13",
    "ean_instore",
    "ean_retail",
    "code_price",
    "price_sign",
    "sign_first",
    "cents_99",
    "cents_round",
    "size_number",
    "small_number",
    "ocr_ean_instore",
    "ocr_ean_retail",
    "field_price",
    "sign_blank",
    "price_h",
    "number_h",
    "text_h",
    "n_alpha_words",
    "qr_instore",
)

#: The 0/1 cues one read line (stripped) sets by itself: (cue, does the line show it).
_LINE_FLAGS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("field_price", lambda t: bool(_FIELD_PRICE.match(t))),
    ("sign_first", lambda t: bool(_SIGN_FIRST.search(t))),
    ("price_dec", lambda t: bool(_PRICE_DEC.search(t))),
    ("price_int", lambda t: bool(_PRICE_INT.match(t)) and not _SIZE.match(t)),
    ("price_word", lambda t: bool(_PRICE_WORD.search(t))),
    ("care", lambda t: bool(_CARE.search(t))),
    ("degree", lambda t: bool(_DEGREE.search(t))),
    ("size", lambda t: bool(_SIZE.match(t.replace(" ", "")) or _SIZE.match(t))),
    ("sku", lambda t: bool(_SKU.search(t.upper())) and not _LONG_DIGITS.fullmatch(t.replace(" ", ""))),
    ("ref", lambda t: bool(_REF.search(t))),
    ("long_digits", lambda t: bool(_LONG_DIGITS.search(t.replace(" ", "")))),
)


def text_cues(lines: Sequence[OcrLine], codes: Sequence[Code], second_read: str = "") -> dict[str, float]:
    """Named text/code cues from OCR lines and decoded codes (all 0/1 unless said otherwise).

    Keys: ``price_dec`` (a "15,00"-like amount), ``price_int`` (a line that is only a
    small whole number, maybe with a misread "€"), ``price_word`` ("PRIX", "TARIF"…),
    ``care`` (fibre %, "MADE IN", RN), ``degree`` ("40°"), ``size`` (a line that is only
    a size), ``sku`` (a SKU-shaped token), ``ref`` ("REF"/"ART"), ``long_digits`` (an
    8–14 digit number, e.g. a printed EAN), ``n_lines`` (count), ``n_words`` (count),
    ``code128``/``qr``/``ean13`` (decoded formats), ``qr_instore`` (a QR code whose payload is a
    stock number, not a web address or a contact card), ``ean_instore`` (an EAN-13 with GS1
    in-store prefix 20–29), ``ean_retail`` (any other EAN-13/UPC), ``code_price``
    (a decoded payload holding a price field), and the :func:`second_read_cues` of
    ``second_read`` (Tesseract's text, "" when it did not run).
    """
    c: dict[str, float] = dict.fromkeys(_CUE_KEYS, 0.0)
    words = 0
    alpha = 0
    for ln in lines:
        t = ln.text.strip()
        if ln.conf < 0.5 or not t:
            continue
        words += len(t.split())
        alpha += len(re.findall(r"[A-Za-z]{3,}", t))
        _line_cues(c, ln, t)
    c["n_lines"] = float(sum(1 for ln in lines if ln.conf >= 0.5))
    c["n_words"] = float(words)
    c["n_alpha_words"] = float(alpha)
    _size_chart_cues(c, [ln.text.strip() for ln in lines if ln.conf >= 0.5])
    _code_cues(c, codes)
    c.update(second_read_cues(second_read))
    return c


def _size_chart_cues(c: dict[str, float], texts: Sequence[str]) -> None:
    """Two size systems read on a photo ("EUR", "UK", "US"): a size chart. It sets ``size``, and
    ``price_word`` only stays when a line says price without the size systems' "EUR"."""
    systems = {m.group(1).upper().rstrip("R") for t in texts for m in _SIZE_SYSTEM.finditer(t.upper())}
    if len(systems) < 2:
        return
    c["size"] = 1.0
    c["price_word"] = float(any(_PRICE_WORD.search(_SIZE_SYSTEM.sub(" ", t.upper())) for t in texts))


def _line_cues(c: dict[str, float], ln: OcrLine, t: str) -> None:
    """Set in ``c`` the cues one confident line ``ln`` shows (``t``: its stripped text)."""
    c["text_h"] = max(c["text_h"], ln.rel_h)
    for name, shows in _LINE_FLAGS:
        if shows(t):
            c[name] = 1.0
    _amount_cues(c, ln, t)
    _cents_cues(c, t)
    _printed_ean_cues(c, t.replace(" ", ""))


def _amount_cues(c: dict[str, float], ln: OcrLine, t: str) -> None:
    """A bare amount: with a misread "€" (``price_sign``, ``price_h``) or the recogniser's blank
    (``sign_blank``), and a line that is only a number (``number_h``; ``size_number`` or ``small_number``)."""
    if re.match(r"^\d{1,3}\s+$", ln.text):  # the raw text: the trailing blank is the cue
        c["sign_blank"] = 1.0
    signed = _PRICE_SIGN.match(t)
    if signed:
        c["price_sign"] = 1.0
        c["price_h"] = max(c["price_h"], ln.rel_h)
    tt = t.replace(" ", "")
    num = re.sub(r"[€CcEe仓元:]$", "", tt) if signed else tt
    if _ONLY_NUMBER.match(num):
        v = int(num)
        c["number_h"] = max(c["number_h"], ln.rel_h)
        if 32 <= v <= 56 and v % 2 == 0:
            c["size_number"] = 1.0
        else:
            c["small_number"] = 1.0


def _cents_cues(c: dict[str, float], t: str) -> None:
    """``cents_99`` (",95"–",99": retail pricing) and ``cents_round`` (",00" / ",50") of one line."""
    for m in _CENTS.finditer(t):
        cc = int(m.group(1))
        if cc >= 95:
            c["cents_99"] = 1.0
        elif cc in (0, 50):
            c["cents_round"] = 1.0


def _printed_ean_cues(c: dict[str, float], tt: str) -> None:
    """``ocr_ean_instore`` / ``ocr_ean_retail``: a printed 13-digit number in ``tt`` (a line without its spaces)."""
    for d in re.findall(r"\d{12,14}", tt):
        if len(d) >= 13:
            d13 = d[:13]
            if d13[0] == "2":
                c["ocr_ean_instore"] = 1.0
            elif _ean_ok(d13) or len(d) == 13:
                c["ocr_ean_retail"] = 1.0


def _code_cues(c: dict[str, float], codes: Sequence[Code]) -> None:
    """The decoded codes' cues: ``code128``, ``qr`` (any QR), ``qr_instore`` (a QR of a stock number,
    :func:`~product_images.labels.evidence.records.instore_qr_payload`), ``ean13`` (in-store or
    retail) and ``code_price``."""
    for code in codes:
        f = code.format.lower()
        if code.is_code128:
            c["code128"] = 1.0
        elif code.is_qr:
            c["qr"] = 1.0
            if instore_qr_payload(code.text):
                c["qr_instore"] = 1.0
        elif "ean" in f or "upc" in f:
            c["ean13"] = 1.0
            if code.text[:1] == "2":
                c["ean_instore"] = 1.0
            else:
                c["ean_retail"] = 1.0
        if re.search(r"(?:P|PRIX|PRICE)[:=]\d+", code.text, re.I):
            c["code_price"] = 1.0
