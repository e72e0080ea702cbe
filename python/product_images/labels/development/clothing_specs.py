"""What a clothing photo is: the kinds, the words and colours drawn from, a shop's tag style, a photo's spec.

Part of :mod:`product_images.labels.development.clothing` (which re-exports the public names).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Internal price-tag styles a shop may use.
TAG_STYLE_KINDS: tuple[str, ...] = ("thermal", "kraft", "qr", "sticker")
#: Hard negatives: photos that carry text/codes/labels but must be published.
NEGATIVE_KINDS: tuple[str, ...] = ("woven", "care", "size", "print", "shoebox", "brandtag")
#: Ordinary product photos.
PRODUCT_KINDS: tuple[str, ...] = ("flat", "hanger", "closeup")
#: Every ``PhotoSpec.kind``: ``"tag"`` is the only one that is an internal price tag.
PHOTO_KINDS: tuple[str, ...] = PRODUCT_KINDS + NEGATIVE_KINDS + ("tag",)

GARMENTS: tuple[str, ...] = ("tshirt", "jeans", "dress", "jacket", "shoes", "bag")


_SHOP_WORDS = ("FRIPE", "VINTAGE", "DEPOT", "TROC", "RETRO", "ATELIER", "BOUTIQUE", "SECONDE", "MODE", "STOCK")
_SHOP_NAMES = ("Lulu", "Margot", "Sol", "Brocante", "Paname", "Nina", "Kiki", "Lyon", "Oslo", "Zoe", "Belle", "Coco")
_BRANDS = ("NORDIK", "MAISON LUNE", "ALTURA", "KOVA", "BLEU MARIN", "SERENA", "OAKLEAF", "VERANO", "TOKKO", "LAGOM")
_FIBRES = ("COTON", "POLYESTER", "ELASTHANNE", "LAINE", "VISCOSE", "LIN", "NYLON")
_COUNTRIES = ("PORTUGAL", "TURQUIE", "CHINE", "MAROC", "ITALIE", "BANGLADESH", "INDE")
_SLOGANS = ("PARIS", "BROOKLYN", "GOOD VIBES", "CALIFORNIA", "NO LIMIT", "SUMMER", "ROCK", "1998", "ATHLETIC")

FABRIC_COLOUR_NAMES: dict[tuple[int, int, int], str] = {
    (30, 40, 70): "Navy",
    (200, 30, 40): "Red",
    (240, 240, 235): "White",
    (20, 20, 22): "Black",
    (60, 90, 140): "Denim blue",
    (120, 150, 90): "Khaki",
    (230, 200, 60): "Mustard",
    (150, 110, 80): "Camel",
    (200, 170, 190): "Pink",
    (90, 60, 110): "Plum",
    (40, 110, 110): "Teal",
    (180, 180, 185): "Grey",
    (220, 120, 60): "Orange",
    (100, 40, 50): "Burgundy",
    (70, 100, 180): "Blue",
    (245, 220, 200): "Cream",
}
"""The garments' RGB colours, with the name a product title gives each (in the order they are drawn from)."""
_FABRIC_COLOURS = tuple(FABRIC_COLOUR_NAMES)


@dataclass(frozen=True)
class TagStyle:
    """One shop's internal price-tag design (a tenant keeps it for all its tags).

    Fields:
        kind: one of :data:`TAG_STYLE_KINDS`.
        shop: the shop name printed/stamped on the tag ("" = none).
        paper, ink, accent: RGB colours (0–255) of the tag, its text and its band/frame.
        price_word: word before the price ("Prix :", "PRIX", "Tarif", "").
        price_fmt: "cents" ("15,00 €"), "euro" ("15 €") or "tight" ("15€").
        sku_fmt: SKU pattern, ``#`` = a digit, ``A`` = a capital letter, other characters literal.
        code: "code128", "ean13" (in-store, prefix 2), "qr" or "none".
        layout: 0 or 1 (where the code and price go).
        shape: "rect", "round" or "hang" (hang tag with a hole and string).
        font: one of :data:`FONT_FACES` for the tag's printed text.
    """

    kind: str
    shop: str
    paper: tuple[int, int, int]
    ink: tuple[int, int, int]
    accent: tuple[int, int, int]
    price_word: str
    price_fmt: str
    sku_fmt: str
    code: str
    layout: int
    shape: str
    font: str = "bold"


@dataclass(frozen=True)
class PhotoSpec:
    """Everything :func:`render_photo` needs to draw one photo (and its truth).

    Fields:
        kind: one of :data:`PHOTO_KINDS`; only ``"tag"`` is an internal price tag.
        seed: the photo's own seed (drives every random choice while drawing).
        width, height: final size in pixels.
        garment: one of :data:`GARMENTS` (what the product is).
        colour: the garment's RGB colour.
        style: the shop's :class:`TagStyle` for ``kind == "tag"``, else None.
        price_cents: the price printed on a tag / brand hang tag, in euro cents.
        sku: the SKU printed/encoded on an internal tag.
        on_garment: a tag/label photographed lying on the garment (else on a table).
        angle: in-plane rotation of the tag/label, degrees.
        perspective: 0 (flat) … 0.35 (strong keystone).
        blur: Gaussian blur radius in working-size pixels (0 = sharp).
        low_light: darker, warmer, noisier exposure.
        quality: JPEG quality (1–95).
    """

    kind: str
    seed: int
    width: int
    height: int
    garment: str
    colour: tuple[int, int, int]
    style: TagStyle | None = None
    price_cents: int | None = None
    sku: str | None = None
    on_garment: bool = False
    angle: float = 0.0
    perspective: float = 0.0
    blur: float = 0.0
    low_light: bool = False
    quality: int = 85

    @property
    def is_tag(self) -> bool:
        """True when this photo is an internal price tag (the truth)."""
        return self.kind == "tag"
