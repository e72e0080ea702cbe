"""What one photo's evidence holds (:class:`Evidence`, its codes and read lines), and the sizes the stages work at."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

#: Target longest side (px) of the decoded image used for zxing and as OCR source.
DECODE_SIDE = 1000
#: Longest side (px) of the copy used for the cheap visual cues.
VISUAL_SIDE = 512
#: Largest side (px) of the crop handed to OCR (text detector runs at this size at most).
OCR_SIDE = 960
#: Longest side (px) of the crop handed to the second read (Tesseract).
SECOND_READ_SIDE = 640
#: A glyph at least this tall (fraction of the visual copy's shorter side) outside the text region is read too.
GLYPH_REGION_SIDE = 0.06
#: Where Tesseract's trained data is looked for when ``TESSDATA_PREFIX`` is unset (Debian's tesseract-ocr-fra).
DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


class DecodeError(ValueError):
    """The bytes are not a decodable image (empty, truncated, not an image format)."""


@dataclass
class Code:
    """A decoded barcode/QR: zxing ``format`` name ("Code128", "EAN13", "QRCode"…) and ``text``."""

    format: str
    text: str

    @property
    def is_code128(self) -> bool:
        """Whether zxing's format name is Code 128's ("Code128")."""
        return "128" in self.format

    @property
    def is_qr(self) -> bool:
        """Whether zxing's format name is a QR code's ("QRCode", "QR Code", "MicroQRCode")."""
        return "QR" in self.format.upper()


def has_strong_code(codes: Sequence[Code]) -> bool:
    """Whether a Code 128 or a QR code is among ``codes``: internal tags print them, retail
    tags and shoe boxes print EAN-13. (The model's ``strong_code`` feature; whether the code
    is the shop's own is :func:`settles_the_tag`.)"""
    return any(c.is_code128 or c.is_qr for c in codes)


# What brands, packaging, posters and business cards put in a QR code: a web address (with
# its scheme, or a domain and a path), a contact card, a bookmark, Wi-Fi settings, a phone
# number, an e-mail, a message. The schemes are ZXing's result types (its ``ResultParser``s).
_NOT_STOCK_SCHEME = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|www\.|(?:mecard|mebkm|bizcard|begin|wifi|mailto|matmsg|tel|sms|smsto|mms|mmsto"
    r"|geo|market|otpauth|bitcoin|upi)\s*:)",
    re.I,
)
_DOMAIN = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:[/?#:]|$)", re.I)
# A stock number alone: letters, digits and separators, at least one digit, no space ("VT-12345", "100234").
_STOCK_NUMBER = re.compile(r"^(?=[^\d]*\d)[A-Za-z0-9][A-Za-z0-9_./#-]{2,31}$")
# Fields a shop's label printer writes: a stock number or a price ("SKU:VT-12345;P:1500", "ref=A12|prix=15").
_STOCK_FIELD = re.compile(r"(?:^|[;,|&\s])(?:SKU|REF|ART|STOCK|ITEM|LOT|P|PRIX|PRICE)\s*[:=#]\s*[A-Za-z0-9-]*\d", re.I)


def instore_qr_payload(text: str) -> bool:
    """Whether a decoded QR code's payload has the shape a shop prints on its own stock label.

    Args:
        text: the payload as decoded (any string).

    Returns:
        True for a stock number alone ("VT-12345", "100234": 3–32 letters, digits and
        ``_./#-``, at least one digit, no space and no domain) or fields naming a stock
        number or a price ("SKU:VT-12345;P:1500"). False for a web address, with or without
        its scheme, a contact card (``MECARD:``, ``BEGIN:VCARD``), a bookmark (``MEBKM:``),
        Wi-Fi settings, a phone number, an e-mail, a message or free text: what brands,
        packaging, posters and cards carry. A shop whose labels hold its own web address
        is recognised by its profile (the payload's shape) once people have confirmed some.
    """
    payload = text.strip()
    if not payload or _NOT_STOCK_SCHEME.match(payload) or _DOMAIN.match(payload):
        return False
    return bool(_STOCK_NUMBER.match(payload) or _STOCK_FIELD.search(payload))


def settles_the_tag(codes: Sequence[Code]) -> bool:
    """Whether ``codes`` hold a code only a shop's own tag carries, so that the text need not be
    read: a Code 128, or a QR code whose payload is a stock number (:func:`instore_qr_payload`).
    A QR code of a web address or a contact card settles nothing: brands print them too."""
    return any(c.is_code128 or (c.is_qr and instore_qr_payload(c.text)) for c in codes)


@dataclass
class OcrLine:
    """One OCR text line: ``text``, recogniser confidence ``conf`` in [0, 1] and ``rel_h``,
    the line's height as a fraction of the photo's shorter side (0 when unknown)."""

    text: str
    conf: float
    rel_h: float = 0.0


@dataclass
class Evidence:
    """What one photo shows, as measured (JSON-serialisable through :meth:`to_json`).

    Size/decoding:
        width, height: original size in px; n_bytes: encoded size in bytes;
        decoded_side: longest side (px) actually decoded; decoded_pixels: pixels decoded;
        exposure_gain: the gain (1–3) an under-exposed photo was brightened by before any
            cue was measured (:func:`_normalise_exposure`; 1 = as taken).
    Visual (fractions are of the visual copy's area unless said otherwise):
        char_blobs: character-like stroke blobs; bar_blobs: thin upright bar blobs;
        code_blocks: 16×16-px blocks (at VISUAL_SIDE) with strong, coherent gradients;
        region: text region (x0, y0, x1, y1) as fractions of width/height, or None;
        region_frac: its area fraction; region_chars: char blobs inside it;
        paper_rgb: median colour of the region's background (its "paper");
        paper_light, paper_sat: its lightness (0–255) and saturation (0–1);
        kraft: 1.0 when the paper looks like kraft card, else a soft 0–1 degree;
        paper_contrast: colour distance (0–441) between the paper and the whole photo's median;
        edge_density: fraction of visual pixels on a strong edge;
        colourfulness: Hasler–Süsstrunk colourfulness of the photo;
        big_glyph: height of the region's tallest character blob / the photo's shorter side;
        n_big_glyphs: character blobs in the region at least half that tall;
        blob_frac, blob_fill, blob_circ, blob_border, blob_sat: the "paper" object holding the
            region (pixels close to the paper colour, text holes closed): its area fraction,
            area / bounding-box area, circularity 4πA/P², 1 when it touches the photo's border,
            and the paper's saturation × its contrast to the photo (a coloured sticker on a table);
        blob_box: that object's box (x0, y0, x1, y1) as fractions of width/height, or None;
        hist: 64-bin colour histogram (sums to 1).
    Codes:
        codes: decoded codes; code_stage: "" (none), "full", "rotated" or "upscaled".
    OCR:
        ocr_ran: OCR was run; lines: its lines.
        second_read: Tesseract's lines of the same crop joined by " | " ("" when it did not run:
            see :func:`wants_second_read`).
        glyph_region: big glyphs outside the text region (x0, y0, x1, y1) as fractions, or None;
        glyph_lines, glyph_second_read: what the two recognisers read there.
    Text cues (see :func:`text_cues`): cues: dict of named 0/1 or count features.
    Context (filled by :func:`product_context`): context_dist: colour-histogram distance
        (0–1) to the product's other photos (0 when alone); context_rank: 1 when this
        photo is the product's most unlike photo; context_other_strong: 1 when ANOTHER photo
        of the product has a decoded Code 128 / QR code; context_other_texty: how many other
        photos hold a text region with 3+ character blobs.
    Timings: ms: CPU milliseconds per stage ("decode", "visual", "codes", "ocr").
    """

    width: int = 0
    height: int = 0
    n_bytes: int = 0
    decoded_side: int = 0
    decoded_pixels: int = 0
    exposure_gain: float = 1.0
    char_blobs: int = 0
    bar_blobs: int = 0
    code_blocks: int = 0
    region: tuple[float, float, float, float] | None = None
    region_frac: float = 0.0
    region_chars: int = 0
    paper_rgb: tuple[int, int, int] = (0, 0, 0)
    paper_light: float = 0.0
    paper_sat: float = 0.0
    kraft: float = 0.0
    paper_contrast: float = 0.0
    edge_density: float = 0.0
    colourfulness: float = 0.0
    big_glyph: float = 0.0
    n_big_glyphs: int = 0
    blob_frac: float = 0.0
    blob_fill: float = 0.0
    blob_circ: float = 0.0
    blob_border: int = 0
    blob_sat: float = 0.0
    blob_box: tuple[float, float, float, float] | None = None
    hist: list[float] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    code_stage: str = ""
    ocr_ran: bool = False
    lines: list[OcrLine] = field(default_factory=list)
    second_read: str = ""
    glyph_region: tuple[float, float, float, float] | None = None
    glyph_lines: list[OcrLine] = field(default_factory=list)
    glyph_second_read: str = ""
    cues: dict[str, float] = field(default_factory=dict)
    context_dist: float = 0.0
    context_rank: int = 0
    context_other_strong: int = 0
    context_other_texty: int = 0
    ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """All OCR lines joined by " | "."""
        return " | ".join(line.text for line in self.lines)

    def to_json(self, with_hist: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (the histogram left out unless ``with_hist``)."""
        d = asdict(self)
        if not with_hist:
            d.pop("hist")
        return d
