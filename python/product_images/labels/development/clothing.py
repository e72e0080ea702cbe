"""Deterministic renderer of a clothing reseller's photos, with the truth about each one.

A development renderer: the price-tag model is trained on sets it draws
(``labels/training.py``), and ``make demo`` draws its shop with it (the demo imports
it; nothing here imports the demo). Its sets are for training and tuning, never for
measuring (``labels/evaluation/`` holds the renderers that measure).

What it draws (all with Pillow + numpy, from a seed; nothing reads the clock, the C
library's random numbers or system fonts):

* product photos: t-shirts, jeans, dresses, jackets, shoes and bags, flat-lay or on a
  hanger, and close-ups of fabric/details;
* internal price tags ("labels", which must never reach a marketplace) in four shop
  styles: ``thermal`` (printed sticker with a Code 128 or in-store EAN-13 and
  "Prix : 15,00 €"), ``kraft`` (kraft hang tag with a handwritten-looking "12 €"),
  ``qr`` (label with a QR code and a SKU) and ``sticker`` (small "5€" sticker); a tag
  may be photographed on the garment, at an angle, blurred or in low light;
* hard negatives that buyers want and that must NOT be flagged: a woven brand label,
  a care label, a size label, a t-shirt with a printed number/slogan, a shoe box with
  a barcode but no price, and a brand's original hang tag (retail price + EAN-13).

Barcodes are real: module patterns come from PyPI ``python-barcode`` (Code 128,
EAN-13, check digits included) and QR matrices from ``segno``; they are drawn as
pixels here, so zxing-cpp decodes them.

Fonts: only Pillow's bundled font (``ImageFont.load_default(size=...)``, i.e. the
Aileron Regular TrueType font shipped inside Pillow's wheel, SIL Open Font Licence);
"handwriting" is that font drawn thick, per character, with random rotation, scale
and baseline jitter.

Sizes: 1600 or 2048 px on the longest side, a configurable share (default a quarter)
300–640 px. Scenes are drawn at most 1024 px wide and then resized, camera-like
camera-like Gaussian grain is added to the luma at the final size (a window of a cached
seeded noise tile), and the picture is encoded by OpenCV as baseline JPEG, quality 80–90
(typically 0.25–0.7 MB at 1600–2048 px). Cost: ~50–60 ms of one core per photo.

Entry points: :func:`render_photo` (a :class:`PhotoSpec` → JPEG bytes),
:func:`generate_dataset` (a seed + :class:`DatasetParams` → tenants, products,
ordered photo specs with the truth), :func:`demo_params` (the demo's shape: 4
tenants, 3,282 products, 611 internal tags).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import barcode as _pybarcode
import cv2
import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "FABRIC_COLOUR_NAMES",
    "TAG_STYLE_KINDS",
    "NEGATIVE_KINDS",
    "PRODUCT_KINDS",
    "PHOTO_KINDS",
    "TagStyle",
    "PhotoSpec",
    "Product",
    "Tenant",
    "Dataset",
    "DatasetParams",
    "render_photo",
    "generate_dataset",
    "demo_params",
    "make_tag_style",
]

#: Internal price-tag styles a shop may use.
TAG_STYLE_KINDS: tuple[str, ...] = ("thermal", "kraft", "qr", "sticker")
#: Hard negatives: photos that carry text/codes/labels but must be published.
NEGATIVE_KINDS: tuple[str, ...] = ("woven", "care", "size", "print", "shoebox", "brandtag")
#: Ordinary product photos.
PRODUCT_KINDS: tuple[str, ...] = ("flat", "hanger", "closeup")
#: Every ``PhotoSpec.kind``: ``"tag"`` is the only one that is an internal price tag.
PHOTO_KINDS: tuple[str, ...] = PRODUCT_KINDS + NEGATIVE_KINDS + ("tag",)

GARMENTS: tuple[str, ...] = ("tshirt", "jeans", "dress", "jacket", "shoes", "bag")

_WORK_MAX = 1024  # scenes are drawn at most this many pixels on the longest side

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


# --------------------------------------------------------------------------- fonts


DEMO_SEED = 20261122
"""The seed ``make demo`` draws its shop with: never a development set's (training holds it out)."""

_FONT_DIR = Path(__file__).resolve().parent / "clothing_fonts"
#: Font faces: Pillow's bundled Aileron (no € glyph) and DejaVu Sans / Sans Bold
#: (Debian ``fonts-dejavu-core`` 2.37, free licence in ``clothing_fonts/DEJAVU-COPYRIGHT.txt``).
FONT_FACES: tuple[str, ...] = ("sans", "bold", "aileron")
_current_face = ["bold"]


@functools.lru_cache(maxsize=512)
def _font_face(size: int, face: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = max(6, int(size))
    if face == "aileron":
        return ImageFont.load_default(size=size)
    name = "DejaVuSans-Bold.ttf" if face == "bold" else "DejaVuSans.ttf"
    return ImageFont.truetype(str(_FONT_DIR / name), size)


def _font(size: int, face: str | None = None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font at ``size`` px: ``face`` or the face set by :func:`_set_face` (DejaVu when unknown)."""
    return _font_face(int(size), face or _current_face[0])


def _set_face(face: str) -> None:
    _current_face[0] = face


def _face_for(text: str) -> str | None:
    return "bold" if ("€" in text and _current_face[0] == "aileron") else None


def _text_size(text: str, size: int, stroke: int = 0) -> tuple[int, int]:
    box = _font(size, _face_for(text)).getbbox(text, stroke_width=stroke)
    return int(box[2] - box[0]), int(box[3] - box[1])  # Pillow's boxes are whole pixels, typed as floats


def _draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill, stroke: int = 0, anchor: str = "la"
) -> None:
    draw.text(
        xy, text, font=_font(size, _face_for(text)), fill=fill, stroke_width=stroke, stroke_fill=fill, anchor=anchor
    )


def _fit_size(text: str, max_w: float, max_h: float, stroke: int = 0) -> int:
    """Largest font size (px) at which ``text`` fits in ``max_w`` × ``max_h`` pixels."""
    size = max(6, int(max_h))
    w, h = _text_size(text, size, stroke)
    if w > max_w:
        size = max(6, int(size * max_w / max(w, 1)))
    return size


def _handwrite(text: str, height: int, ink: tuple[int, int, int], rng: random.Random) -> Image.Image:
    """``text`` drawn like a marker: per character rotation/scale/baseline jitter, thick strokes.

    Returns an RGBA image about ``height`` pixels tall.
    """
    stroke = max(1, height // 14)
    glyphs: list[Image.Image | None] = []
    for ch in text:
        if ch == " ":
            glyphs.append(None)
            continue
        size = int(height * rng.uniform(0.85, 1.12))
        w, h = _text_size(ch, size, stroke)
        g = Image.new("L", (w + 4 * stroke + 6, int(size * 1.4) + 4 * stroke), 0)
        ImageDraw.Draw(g).text(
            (2 * stroke + 3, 2 * stroke), ch, font=_font(size, "sans"), fill=255, stroke_width=stroke, stroke_fill=255
        )
        g = g.rotate(rng.uniform(-14, 14), resample=Image.Resampling.BILINEAR, expand=True)
        shear = rng.uniform(-0.25, 0.05)
        g = g.transform(
            g.size,
            Image.Transform.AFFINE,
            (1, shear, -shear * g.size[1] / 2, 0, 1, 0),
            resample=Image.Resampling.BILINEAR,
        )
        bb = g.getbbox()
        if bb:  # keep the glyph's own height band so baselines stay comparable
            g = g.crop((bb[0], 0, bb[2], g.size[1]))
        glyphs.append(g)
    space = int(height * 0.35)
    total_w = sum((g.size[0] + int(height * 0.1)) if g else space for g in glyphs) + height
    total_h = int(height * 2.0)
    mask = Image.new("L", (max(total_w, 1), total_h), 0)
    x = height // 4
    for glyph in glyphs:
        if glyph is None:
            x += space
            continue
        y = int(total_h / 2 - glyph.size[1] / 2 + rng.uniform(-0.08, 0.08) * height)
        mask.paste(255, (x, y), glyph)
        x += glyph.size[0] + int(height * rng.uniform(-0.04, 0.08))
    mask = mask.crop(mask.getbbox() or (0, 0, 1, 1))
    out = Image.new("RGBA", mask.size, ink + (0,))
    out.putalpha(mask.point(lambda v: int(v * 0.92)))
    return out


# --------------------------------------------------------------------------- codes


def _barcode_modules(kind: str, data: str) -> str:
    """Module string ('1' = bar) for ``kind`` in {"code128", "ean13"} (EAN: 12 digits, check added)."""
    cls = _pybarcode.get_barcode_class(kind)
    return cls(data, writer=None).build()[0]


def ean13_full(data12: str) -> str:
    """The 13-digit EAN for 12 digits (the check digit computed by python-barcode)."""
    return _pybarcode.get_barcode_class("ean13")(data12, writer=None).get_fullcode()


def _draw_barcode(
    kind: str, data: str, module: int, height: int, ink=(0, 0, 0), paper=(255, 255, 255), text: str | None = None
) -> Image.Image:
    """A 1-D barcode as an RGB image: ``module`` px per module, bars ``height`` px, 10-module quiet zones."""
    mods = _barcode_modules(kind, data)
    quiet = 10 * module
    text_h = int(module * 9) if text else 0
    img = Image.new("RGB", (len(mods) * module + 2 * quiet, height + text_h + module * 2), paper)
    d = ImageDraw.Draw(img)
    x = quiet
    for i, m in enumerate(mods):
        if m == "1":
            d.rectangle((x + i * module, module, x + (i + 1) * module - 1, module + height), fill=ink)
    if text:
        size = _fit_size(text, len(mods) * module, text_h * 0.85)
        _draw_text(d, (img.size[0] / 2, module * 2 + height), text, size, ink, anchor="ma")
    return img


def _draw_qr(payload: str, module: int, ink=(0, 0, 0), paper=(255, 255, 255)) -> Image.Image:
    """A QR code (error level M, 4-module quiet zone) as an RGB image, ``module`` px per module."""
    qr = segno.make_qr(payload, error="m")
    mat = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
    n = mat.shape[0]
    img = np.empty((n + 8, n + 8, 3), dtype=np.uint8)
    img[:] = paper
    img[4 : 4 + n, 4 : 4 + n][mat.astype(bool)] = ink
    return Image.fromarray(img).resize(((n + 8) * module, (n + 8) * module), Image.Resampling.NEAREST)


# --------------------------------------------------------------------------- styles


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


def _fill_pattern(pattern: str, rng: random.Random) -> str:
    return "".join(
        str(rng.randrange(10)) if c == "#" else chr(65 + rng.randrange(26)) if c == "A" else c for c in pattern
    )


def make_tag_style(kind: str, rng: random.Random) -> TagStyle:
    """A random but plausible shop tag style of ``kind`` (one of :data:`TAG_STYLE_KINDS`).

    Raises:
        ValueError: unknown ``kind``.
    """
    return replace(_make_tag_style(kind, rng), font=rng.choice(FONT_FACES))


def _make_tag_style(kind: str, rng: random.Random) -> TagStyle:
    shop = f"{rng.choice(_SHOP_WORDS)} {rng.choice(_SHOP_NAMES)}"
    sku_fmt = rng.choice(("VT-#####", "A##-####", "AA####", "####-AA", "SKU ######", "R#####A"))
    if kind == "thermal":
        return TagStyle(
            kind,
            shop,
            (rng.randint(238, 252),) * 2 + (rng.randint(230, 246),),
            (20, 20, 20),
            (20, 20, 20),
            rng.choice(("Prix :", "PRIX", "Prix", "Tarif :")),
            rng.choice(("cents", "cents", "euro")),
            sku_fmt,
            rng.choice(("code128", "code128", "ean13")),
            rng.randrange(2),
            "rect",
        )
    if kind == "kraft":
        ink = rng.choice(((25, 25, 30), (20, 40, 120), (160, 20, 30), (30, 30, 30)))
        r, g_, b_ = rng.randint(180, 205), rng.randint(140, 165), rng.randint(95, 120)
        kraft = (r, int(r * 0.8 + (g_ - 152) * 0.2), int(r * 0.58 + (b_ - 107) * 0.3))  # kraft card brown
        return TagStyle(
            kind,
            shop if rng.random() < 0.6 else "",
            kraft,
            ink,
            (rng.randint(90, 120), rng.randint(60, 80), rng.randint(40, 55)),
            "",
            rng.choice(("euro", "tight")),
            sku_fmt,
            "none",
            rng.randrange(2),
            "hang",
        )
    if kind == "qr":
        paper = rng.choice(((250, 250, 250), (255, 245, 200), (225, 240, 255), (255, 228, 235)))
        accent = rng.choice(((200, 40, 60), (30, 90, 160), (30, 130, 80), (90, 40, 130), (230, 120, 20)))
        return TagStyle(
            kind,
            shop,
            paper,
            (25, 25, 25),
            accent,
            rng.choice(("Prix :", "PRIX", "")),
            rng.choice(("cents", "euro")),
            sku_fmt,
            "qr",
            rng.randrange(2),
            rng.choice(("rect", "hang")),
        )
    if kind == "sticker":
        paper = rng.choice(
            ((250, 220, 40), (255, 140, 40), (250, 120, 170), (120, 210, 90), (250, 250, 250), (240, 60, 60))
        )
        ink = (20, 20, 20) if sum(paper) > 500 else (255, 255, 255)
        return TagStyle(
            kind,
            shop if rng.random() < 0.3 else "",
            paper,
            ink,
            ink,
            "",
            rng.choice(("tight", "euro")),
            sku_fmt,
            "none",
            rng.randrange(2),
            rng.choice(("round", "rect")),
        )
    raise ValueError(f"unknown tag style kind {kind!r}")


def _price_text(fmt: str, cents: int) -> str:
    euros, c = divmod(cents, 100)
    if fmt == "cents":
        return f"{euros},{c:02d} €"
    if fmt == "euro":
        return f"{euros} €"
    return f"{euros}€"


# --------------------------------------------------------------------------- specs


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


# --------------------------------------------------------------------------- drawing helpers


def _noise_field(rng: random.Random, size: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Smooth noise in [0, 1], float32, shape (h, w): random ``cells`` grid upscaled bicubically."""
    g = np.random.default_rng(rng.getrandbits(32)).random((cells[1], cells[0])).astype(np.float32)
    return np.clip(cv2.resize(g, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _soft(mask: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur of ``radius`` px done at 1/4 size and scaled back (cheap soft shadows)."""
    small = mask.resize((max(1, mask.size[0] // 4), max(1, mask.size[1] // 4)), Image.Resampling.BILINEAR)
    return small.filter(ImageFilter.GaussianBlur(radius / 4)).resize(mask.size, Image.Resampling.BILINEAR)


def _tint(tone: np.ndarray | list[np.ndarray], colour) -> np.ndarray:
    """uint8 RGB image ``colour × tone`` (tone: float32 (h, w), or per-channel list of arrays)."""
    chans = tone if isinstance(tone, list) else [tone] * 3
    return cv2.merge([cv2.convertScaleAbs(t, alpha=float(c)) for t, c in zip(chans, colour, strict=False)])


@functools.lru_cache(maxsize=2)
def _texture_tile(k: int) -> np.ndarray:
    """A 1280×1280 float32 tile of uniform [0, 1) noise, seeded by ``k`` (cached; sliced at random offsets)."""
    return np.random.default_rng(500 + k).random((1280, 1280), dtype=np.float32)


def _tile_view(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A (h, w) window of a cached noise tile at a seeded offset (a view, do not modify)."""
    w, h = size
    t = _texture_tile(rng.randrange(2))
    y, x = rng.randrange(max(1, t.shape[0] - h + 1)), rng.randrange(max(1, t.shape[1] - w + 1))
    if h > t.shape[0] or w > t.shape[1]:
        return np.resize(t, (h, w))
    return t[y : y + h, x : x + w]


def _background(rng: random.Random, size: tuple[int, int], kind: str | None = None) -> Image.Image:
    """A surface: ``wood``, ``white``, ``sheet``, ``floor`` or ``wall`` (random when None)."""
    w, h = size
    kind = kind or rng.choice(("wood", "white", "sheet", "floor", "wall"))
    if kind == "wood":
        base = (rng.randint(120, 175), rng.randint(80, 120), rng.randint(45, 75))
        tone = 0.75 + 0.45 * _noise_field(rng, size, (6, 90))  # long horizontal grain
    elif kind == "floor":
        base = (rng.randint(150, 200), rng.randint(120, 160), rng.randint(85, 115))
        tone = 0.8 + 0.3 * _noise_field(rng, size, (4, 60))
        plank = max(20, h // rng.randint(4, 7))
        rows = np.arange(h) % plank < 2
        tone[rows] *= 0.6
    elif kind == "sheet":
        base = rng.choice(((225, 225, 230), (200, 210, 225), (230, 220, 205), (190, 190, 195)))
        tone = 0.8 + 0.25 * _noise_field(rng, size, (5, 4))
    else:  # white backdrop or a wall
        v = rng.randint(200, 245) if kind == "white" else rng.randint(170, 230)
        base = (v, v - rng.randint(0, 8), v - rng.randint(0, 18))
        tone = 0.85 + 0.2 * _noise_field(rng, size, (3, 3))
    # light fall-off from a random corner
    sw, shh = max(2, w // 16), max(2, h // 16)
    yy, xx = np.mgrid[0:shh, 0:sw].astype(np.float32)
    cx, cy = rng.uniform(0, sw), rng.uniform(0, shh)
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / max(sw, shh)
    light = cv2.resize((1.08 - 0.35 * d).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(_tint(tone * light, base), "RGB")


def _fabric(
    rng: random.Random, size: tuple[int, int], colour: tuple[int, int, int], pattern: str | None = None
) -> Image.Image:
    """A fabric texture in ``colour``: ``plain``, ``stripes``, ``checks``, ``denim`` or ``knit``."""
    w, h = size
    pattern = pattern or rng.choice(("plain", "plain", "stripes", "checks", "denim", "knit"))
    tone = 0.85 + 0.25 * _noise_field(rng, size, (4, 4))
    if pattern == "stripes":
        period = rng.randint(max(4, w // 60), max(6, w // 15))
        other = rng.choice(_FABRIC_COLOURS)
        if rng.random() < 0.5:
            on = ((np.arange(w) // period) % 2).astype(np.float32)[None, :]
        else:
            on = ((np.arange(h) // period) % 2).astype(np.float32)[:, None]
        chans = [tone * (c + (o - c) * on) for c, o in zip(colour, other, strict=False)]
        return Image.fromarray(_tint(chans, (1.0, 1.0, 1.0)), "RGB")
    if pattern == "checks":
        period = rng.randint(max(5, w // 40), max(8, w // 10))
        cx = ((np.arange(w) // period) % 2)[None, :]
        cy = ((np.arange(h) // period) % 2)[:, None]
        tone = tone * (0.7 + 0.3 * ((cx + cy) % 2)).astype(np.float32)
    elif pattern == "denim":
        n = _tile_view(rng, size)
        diag = (np.add.outer(np.arange(h, dtype=np.int32), np.arange(w, dtype=np.int32)) & 3) < 2
        tone = tone * (0.8 + 0.15 * n + 0.1 * diag)
    elif pattern == "knit":
        rows = (np.arange(h) % 6 < 3).astype(np.float32)[:, None]
        cols = (np.arange(w) % 5 < 2).astype(np.float32)[None, :]
        tone = tone * (0.88 + 0.08 * rows + 0.06 * cols)
    return Image.fromarray(_tint(tone, colour), "RGB")


def _garment_polygon(
    garment: str, box: tuple[float, float, float, float], rng: random.Random
) -> list[list[tuple[float, float]]]:
    """Polygons (list of point lists, pixels) of a garment silhouette in ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    W, H = x1 - x0, y1 - y0
    P = lambda u, v: (x0 + u * W, y0 + v * H)  # noqa: E731
    j = lambda a: a + rng.uniform(-0.02, 0.02)  # noqa: E731
    if garment == "tshirt":
        return [
            [
                P(j(0.35), 0),
                P(0.5, j(0.08)),
                P(j(0.65), 0),
                P(1, j(0.18)),
                P(j(0.88), j(0.38)),
                P(0.78, 0.3),
                P(0.78, 1),
                P(0.22, 1),
                P(0.22, 0.3),
                P(j(0.12), j(0.38)),
                P(0, j(0.18)),
            ]
        ]
    if garment == "jacket":
        return [
            [
                P(0.36, 0),
                P(0.5, 0.1),
                P(0.64, 0),
                P(0.9, 0.12),
                P(1, 0.95),
                P(0.88, 0.97),
                P(0.78, 0.35),
                P(0.78, 1),
                P(0.22, 1),
                P(0.22, 0.35),
                P(0.12, 0.97),
                P(0, 0.95),
                P(0.1, 0.12),
            ]
        ]
    if garment == "jeans":
        return [[P(0.2, 0), P(0.8, 0), P(j(0.88), 1), P(0.58, 1), P(0.5, 0.3), P(0.42, 1), P(j(0.12), 1)]]
    if garment == "dress":
        return [
            [
                P(0.38, 0),
                P(0.42, 0),
                P(0.45, 0.1),
                P(0.55, 0.1),
                P(0.58, 0),
                P(0.62, 0),
                P(0.66, 0.35),
                P(j(0.95), 1),
                P(j(0.05), 1),
                P(0.34, 0.35),
            ]
        ]
    if garment == "bag":
        return [[P(0.1, 0.35), P(0.9, 0.35), P(0.95, 1), P(0.05, 1)]]
    if garment == "shoes":
        a = [P(0.02, 0.55), P(0.25, 0.4), P(0.4, 0.45), P(0.47, 0.7), P(0.45, 0.85), P(0.02, 0.85)]
        b = [P(0.53, 0.5), P(0.76, 0.35), P(0.9, 0.4), P(0.98, 0.65), P(0.97, 0.8), P(0.53, 0.8)]
        return [a, b]
    raise ValueError(f"unknown garment {garment!r}")


def _paste_garment(
    canvas: Image.Image, spec_garment: str, colour, box, rng: random.Random, shadow: bool = True
) -> None:
    """Draw a shaded, textured garment silhouette onto ``canvas`` (in place) inside ``box``."""
    polys = _garment_polygon(spec_garment, box, rng)
    mask = Image.new("L", canvas.size, 0)
    md = ImageDraw.Draw(mask)
    for p in polys:
        md.polygon(p, fill=255)
    if spec_garment == "bag":  # handle
        x0, y0, x1, y1 = box
        md.arc(
            (x0 + (x1 - x0) * 0.3, y0, x1 - (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.7),
            180,
            360,
            fill=255,
            width=max(3, int((x1 - x0) * 0.04)),
        )
    if shadow:
        sh = _soft(mask, canvas.size[0] / 80)
        off = int(canvas.size[0] / 90)
        canvas.paste((0, 0, 0), (off, off), sh.point(lambda v: v * 0.45))
    pattern = "denim" if spec_garment == "jeans" else None
    bb = mask.getbbox() or (0, 0, 1, 1)  # texture only the garment's bounding box
    tex = _fabric(rng, (bb[2] - bb[0], bb[3] - bb[1]), colour, pattern)
    canvas.paste(tex, bb[:2], mask.crop(bb))
    d = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = box
    lw = max(1, int((x1 - x0) / 250))
    dark = tuple(max(0, int(c * 0.6)) for c in colour)
    if spec_garment in ("jacket",):
        d.line([((x0 + x1) / 2, y0 + (y1 - y0) * 0.1), ((x0 + x1) / 2, y1)], fill=(190, 190, 190), width=lw * 3)
    if spec_garment == "jeans":
        d.line(
            [(x0 + (x1 - x0) * 0.2, y0 + (y1 - y0) * 0.08), (x0 + (x1 - x0) * 0.8, y0 + (y1 - y0) * 0.08)],
            fill=dark,
            width=lw * 2,
        )
        d.ellipse(
            ((x0 + x1) / 2 - 6 * lw, y0 + (y1 - y0) * 0.03, (x0 + x1) / 2 + 6 * lw, y0 + (y1 - y0) * 0.03 + 12 * lw),
            fill=(190, 160, 80),
        )
    if spec_garment == "tshirt":
        d.arc(
            (x0 + (x1 - x0) * 0.35, y0 - (y1 - y0) * 0.08, x0 + (x1 - x0) * 0.65, y0 + (y1 - y0) * 0.1),
            0,
            180,
            fill=dark,
            width=lw * 3,
        )


def _tag_canvas(
    style_paper, size: tuple[int, int], shape: str, rng: random.Random
) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """An RGBA tag blank of ``size`` px in ``shape`` ("rect", "round", "hang"), with paper grain."""
    w, h = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    mask = Image.new("L", size, 0)
    md = ImageDraw.Draw(mask)
    if shape == "round":
        md.ellipse((0, 0, w - 1, h - 1), fill=255)
    elif shape == "hang":
        c = int(min(w, h) * 0.18)
        md.polygon([(c, 0), (w - c, 0), (w, c), (w, h), (0, h), (0, c)], fill=255)
    else:
        md.rounded_rectangle((0, 0, w - 1, h - 1), radius=int(min(w, h) * 0.05), fill=255)
    grain = np.random.default_rng(rng.getrandbits(32)).normal(0, 4, (h, w, 1)).astype(np.float32)
    paper = np.clip(np.array(style_paper, np.float32) + grain, 0, 255).astype(np.uint8)
    img.paste(Image.fromarray(paper, "RGB"), (0, 0), mask)
    if shape == "hang":
        d = ImageDraw.Draw(img)
        r = int(min(w, h) * 0.05)
        cx, cy = w // 2, int(min(w, h) * 0.12)
        d.ellipse(
            (cx - 2 * r, cy - 2 * r, cx + 2 * r, cy + 2 * r), fill=tuple(int(c * 0.85) for c in style_paper) + (255,)
        )
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _paste_code(tag: Image.Image, code_img: Image.Image, box: tuple[int, int, int, int]) -> None:
    """Scale ``code_img`` (integer factors keep modules crisp) into ``box`` of ``tag``, centred."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    f = min(bw / code_img.size[0], bh / code_img.size[1])
    if f >= 1:
        k = int(f)
        code_img = code_img.resize((code_img.size[0] * k, code_img.size[1] * k), Image.Resampling.NEAREST)
    else:
        code_img = code_img.resize(
            (max(1, int(code_img.size[0] * f)), max(1, int(code_img.size[1] * f))), Image.Resampling.LANCZOS
        )
    tag.paste(code_img, (x0 + (bw - code_img.size[0]) // 2, y0 + (bh - code_img.size[1]) // 2))


# --------------------------------------------------------------------------- tag / label layers


def _internal_tag(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:  # noqa: C901, PLR0912, PLR0915
    """The shop's internal tag as an RGBA layer, about ``scale`` px wide."""
    st = spec.style
    assert st is not None and spec.price_cents is not None and spec.sku is not None
    price = _price_text(st.price_fmt, spec.price_cents)
    if st.kind == "thermal":
        w, h = scale, int(scale * rng.uniform(0.55, 0.7))
        tag, d = _tag_canvas(st.paper, (w, h), "rect", rng)
        pad = int(w * 0.06)
        if st.shop:
            _draw_text(
                d, (w / 2, pad), st.shop.upper(), _fit_size(st.shop.upper(), w - 2 * pad, h * 0.11, 1), st.ink, 1, "ma"
            )
        line = f"{st.price_word} {price}".strip()
        py = h * (0.2 if st.layout == 0 else 0.62)
        _draw_text(d, (w / 2, py), line, _fit_size(line, w - 2 * pad, h * 0.17, 1), st.ink, 1, "ma")
        _draw_text(
            d, (pad, h * (0.41 if st.layout == 0 else 0.2)), spec.sku, _fit_size(spec.sku, w * 0.6, h * 0.09), st.ink
        )
        if st.code == "ean13":
            data = "2" + str(rng.randint(10, 99)) + "".join(c for c in spec.sku if c.isdigit()).rjust(9, "0")[-9:]
            code = _draw_barcode("ean13", data, 2, 50, text=ean13_full(data))
        else:
            code = _draw_barcode("code128", spec.sku, 2, 50, text=spec.sku)
        cy0 = h * (0.52 if st.layout == 0 else 0.3)
        _paste_code(tag, code, (pad, int(cy0), w - pad, int(cy0 + h * 0.38 if st.layout == 0 else cy0 + h * 0.32)))
        return tag
    if st.kind == "kraft":
        w, h = int(scale * 0.62), scale
        tag, d = _tag_canvas(st.paper, (w, h), "hang", rng)
        if st.shop:
            _draw_text(
                d, (w / 2, h * 0.22), st.shop.upper(), _fit_size(st.shop.upper(), w * 0.8, h * 0.06), st.accent, 0, "ma"
            )
        hw = _handwrite(price, int(h * rng.uniform(0.17, 0.22)), st.ink, rng)
        if hw.size[0] > w * 0.9:
            hw = hw.resize((int(w * 0.9), int(hw.size[1] * w * 0.9 / hw.size[0])), Image.Resampling.BILINEAR)
        tag.alpha_composite(hw, (max(0, (w - hw.size[0]) // 2), int(h * (0.42 if st.layout == 0 else 0.5))))
        if st.layout == 1:
            sk = _handwrite(spec.sku, int(h * 0.07), st.ink, rng)
            if sk.size[0] > w * 0.85:
                sk = sk.resize(
                    (int(w * 0.85), max(1, int(sk.size[1] * w * 0.85 / sk.size[0]))), Image.Resampling.BILINEAR
                )
            tag.alpha_composite(sk, (max(0, (w - sk.size[0]) // 2), int(h * 0.82)))
        return tag
    if st.kind == "qr":
        w, h = scale, int(scale * rng.uniform(0.55, 0.68))
        tag, d = _tag_canvas(st.paper, (w, h), st.shape, rng)
        band = int(h * 0.16)
        d.rectangle((0, h - band, w, h), fill=st.accent + (255,)) if st.layout == 0 else d.rectangle(
            (0, int(h * 0.18), int(w * 0.04), h), fill=st.accent + (255,)
        )
        payload = (
            f"{st.shop.split()[0].lower()}.fr/p/{spec.sku.replace(' ', '')}"
            if st.layout == 0
            else f"SKU:{spec.sku};P:{spec.price_cents}"
        )
        q = _draw_qr(payload, 3)
        side = int(h * 0.62)
        _paste_code(tag, q, (int(w * 0.06), int(h * 0.12), int(w * 0.06) + side, int(h * 0.12) + side))
        tx = int(w * 0.1) + side
        _draw_text(d, (tx, h * 0.16), spec.sku, _fit_size(spec.sku, w - tx - w * 0.05, h * 0.1), st.ink)
        line = f"{st.price_word} {price}".strip()
        _draw_text(d, (tx, h * 0.4), line, _fit_size(line, w - tx - w * 0.05, h * 0.14, 1), st.ink, 1)
        if st.shop:
            _draw_text(
                d,
                (w / 2, h - band * 0.85),
                st.shop,
                _fit_size(st.shop, w * 0.8, band * 0.6),
                (255, 255, 255) if st.layout == 0 else st.accent,
                0,
                "ma",
            )
        return tag
    if st.kind == "sticker":
        w = int(scale * 0.5)
        h = w if st.shape == "round" else int(w * 0.7)
        tag, d = _tag_canvas(st.paper, (w, h), st.shape, rng)
        text = price
        _draw_text(d, (w / 2, h / 2), text, _fit_size(text, w * 0.72, h * 0.4, 1), st.ink, max(1, w // 60), "mm")
        if st.shop:
            _draw_text(
                d,
                (w / 2, h * 0.8),
                st.shop.split()[0],
                _fit_size(st.shop.split()[0], w * 0.5, h * 0.1),
                st.ink,
                0,
                "mm",
            )
        return tag
    raise ValueError(f"unknown tag style {st.kind!r}")


def _washing_symbols(d: ImageDraw.ImageDraw, x: float, y: float, s: float, ink, lw: int, rng: random.Random) -> None:
    """Draw 4–5 care symbols (tub, triangle, square-circle, iron, circle) of ``s`` px from (x, y)."""
    items = ["tub", "tri", "dry", "iron", "circle"]
    rng.shuffle(items)
    for i, k in enumerate(items[: rng.randint(4, 5)]):
        ox = x + i * s * 1.25
        if k == "tub":
            d.line(
                [(ox, y + s * 0.3), (ox + s * 0.15, y + s), (ox + s * 0.85, y + s), (ox + s, y + s * 0.3)],
                fill=ink,
                width=lw,
            )
            d.line(
                [
                    (ox + s * 0.1, y + s * 0.35),
                    (ox + s * 0.3, y + s * 0.25),
                    (ox + s * 0.5, y + s * 0.35),
                    (ox + s * 0.7, y + s * 0.25),
                    (ox + s * 0.9, y + s * 0.35),
                ],
                fill=ink,
                width=lw,
            )
        elif k == "tri":
            d.polygon([(ox + s / 2, y), (ox + s, y + s), (ox, y + s)], outline=ink, width=lw)
            d.line([(ox, y), (ox + s, y + s)], fill=ink, width=lw)
            d.line([(ox + s, y), (ox, y + s)], fill=ink, width=lw)
        elif k == "dry":
            d.rectangle((ox, y, ox + s, y + s), outline=ink, width=lw)
            d.ellipse((ox + s * 0.15, y + s * 0.15, ox + s * 0.85, y + s * 0.85), outline=ink, width=lw)
        elif k == "iron":
            d.polygon(
                [(ox, y + s), (ox + s, y + s), (ox + s * 0.85, y + s * 0.35), (ox + s * 0.25, y + s * 0.35)],
                outline=ink,
                width=lw,
            )
            d.ellipse((ox + s * 0.45, y + s * 0.6, ox + s * 0.55, y + s * 0.7), fill=ink)
        else:
            d.ellipse((ox, y, ox + s, y + s), outline=ink, width=lw)
            _draw_text(d, (ox + s / 2, y + s / 2), "P", int(s * 0.6), ink, 0, "mm")


def _negative_layer(spec: PhotoSpec, rng: random.Random, scale: int) -> Image.Image:  # noqa: PLR0915
    """The hard negative's label/box/print as an RGBA layer about ``scale`` px wide."""
    k = spec.kind
    if k == "care":
        w, h = int(scale * 0.55), scale
        paper = rng.choice(((245, 245, 240), (240, 236, 225), (250, 250, 250)))
        tag, d = _tag_canvas(paper, (w, h), "rect", rng)
        ink = rng.choice(((40, 40, 40), (60, 60, 90)))
        lines = []
        fibres = rng.sample(_FIBRES, rng.randint(1, 2))
        if len(fibres) == 1:
            lines.append(f"100% {fibres[0]}")
        else:
            p = rng.choice((95, 80, 70, 65, 60))
            lines += [f"{p}% {fibres[0]}", f"{100 - p}% {fibres[1]}"]
        lines += [
            f"MADE IN {rng.choice(_COUNTRIES)}",
            f"{rng.choice((30, 40, 60))}°",
            f"RN {rng.randint(10000, 99999)}",
        ]
        y = h * 0.06
        for ln in lines:
            size = _fit_size(ln, w * 0.85, h * 0.07)
            _draw_text(d, (w / 2, y), ln, size, ink, 0, "ma")
            y += size * 1.5
        _washing_symbols(d, w * 0.08, y + h * 0.03, w * 0.15, ink, max(1, w // 120), rng)
        return tag
    if k == "woven":
        w, h = scale, int(scale * rng.uniform(0.35, 0.5))
        paper = rng.choice(((20, 20, 25), (25, 35, 70), (240, 235, 220), (150, 20, 30)))
        tag, d = _tag_canvas(paper, (w, h), "rect", rng)
        arr = np.asarray(tag).copy()
        arr[::3, :, :3] = (arr[::3, :, :3] * 0.85).astype(np.uint8)  # weave rows
        tag = Image.fromarray(arr, "RGBA")
        d = ImageDraw.Draw(tag)
        ink = (230, 200, 120) if sum(paper) < 300 else (30, 30, 30)
        brand = rng.choice(_BRANDS)
        _draw_text(d, (w / 2, h * 0.42), brand, _fit_size(brand, w * 0.8, h * 0.4, 1), ink, 1, "mm")
        if rng.random() < 0.6:
            sub = rng.choice(("PARIS", "SINCE 1987", "MADE IN ITALY", "ORIGINAL"))
            _draw_text(d, (w / 2, h * 0.78), sub, _fit_size(sub, w * 0.5, h * 0.13), ink, 0, "mm")
        return tag
    if k == "size":
        w = int(scale * 0.45)
        h = int(w * rng.uniform(0.6, 1.0))
        paper = rng.choice(((20, 20, 25), (245, 245, 245), (200, 30, 40), (30, 60, 120)))
        tag, d = _tag_canvas(paper, (w, h), "rect", rng)
        ink = (250, 250, 250) if sum(paper) < 400 else (20, 20, 20)
        text = rng.choice(("M", "S", "L", "XL", "EU 38", "38", "T.40", "EU 42", "42", "36/38", "XS"))
        _draw_text(d, (w / 2, h / 2), text, _fit_size(text, w * 0.75, h * 0.5, 1), ink, 1, "mm")
        return tag
    if k == "brandtag":
        w, h = int(scale * 0.55), scale
        paper = rng.choice(((250, 250, 250), (20, 20, 20), (235, 225, 205), (40, 60, 90)))
        ink = (240, 240, 240) if sum(paper) < 300 else (20, 20, 20)
        tag, d = _tag_canvas(paper, (w, h), "hang", rng)
        brand = rng.choice(_BRANDS)
        _draw_text(d, (w / 2, h * 0.26), brand, _fit_size(brand, w * 0.85, h * 0.09, 1), ink, 1, "ma")
        cents = spec.price_cents or 4999
        price = f"{cents // 100},{cents % 100:02d} €" if rng.random() < 0.7 else f"€{cents // 100}.{cents % 100:02d}"
        _draw_text(d, (w / 2, h * 0.42), price, _fit_size(price, w * 0.7, h * 0.08, 1), ink, 1, "ma")
        ref = f"REF {rng.randint(100, 999)}.{rng.randint(1000, 9999)}  {rng.choice(('S', 'M', 'L', '38', '40'))}"
        _draw_text(d, (w / 2, h * 0.54), ref, _fit_size(ref, w * 0.8, h * 0.045), ink, 0, "ma")
        data = rng.choice(("3", "4", "5", "8")) + "".join(str(rng.randrange(10)) for _ in range(11))
        code = _draw_barcode("ean13", data, 2, 44, text=ean13_full(data))
        _paste_code(tag, code, (int(w * 0.08), int(h * 0.62), int(w * 0.92), int(h * 0.92)))
        return tag
    if k == "shoebox":
        w, h = scale, int(scale * rng.uniform(0.45, 0.6))
        paper = rng.choice(((200, 160, 110), (230, 110, 40), (240, 240, 240), (30, 30, 30)))
        box, d = _tag_canvas(paper, (w, h), "rect", rng)
        d.rectangle((0, 0, w, int(h * 0.12)), fill=tuple(int(c * 0.8) for c in paper) + (255,))
        lw, lh = int(w * 0.5), int(h * 0.55)
        lx, ly = int(w * 0.45), int(h * 0.3)
        d.rectangle((lx, ly, lx + lw, ly + lh), fill=(250, 250, 250, 255))
        lines = [
            f"EU {rng.randint(36, 46)}  US {rng.randint(5, 12)}",
            f"ART. {chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}{rng.randint(1000, 9999)}",
        ]
        _draw_text(
            d, (lx + lw * 0.05, ly + lh * 0.05), lines[0], _fit_size(lines[0], lw * 0.9, lh * 0.13), (20, 20, 20)
        )
        _draw_text(d, (lx + lw * 0.05, ly + lh * 0.22), lines[1], _fit_size(lines[1], lw * 0.9, lh * 0.1), (20, 20, 20))
        data = rng.choice(("4", "8", "0", "7")) + "".join(str(rng.randrange(10)) for _ in range(11))
        code = _draw_barcode("ean13", data, 2, 40, text=ean13_full(data))
        _paste_code(box, code, (lx + int(lw * 0.05), ly + int(lh * 0.4), lx + int(lw * 0.95), ly + int(lh * 0.95)))
        brand = rng.choice(_BRANDS)
        _draw_text(
            d,
            (w * 0.05, h * 0.4),
            brand,
            _fit_size(brand, w * 0.35, h * 0.12, 1),
            (255, 255, 255) if sum(paper) < 500 else (20, 20, 20),
            1,
        )
        return box
    raise ValueError(f"not a label-like negative: {k!r}")


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for ``Image.transform(..., PERSPECTIVE)`` mapping output ``dst`` points to input ``src``."""
    a = []
    b = []
    for (x, y), (u, v) in zip(dst, src, strict=False):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return np.linalg.solve(np.array(a, float), np.array(b, float)).tolist()


def _warp_layer(layer: Image.Image, angle: float, persp: float, rng: random.Random) -> Image.Image:
    """Rotate ``layer`` by ``angle`` degrees and apply a keystone of strength ``persp`` (0–0.35)."""
    if persp > 0:
        w, h = layer.size
        e = persp
        dst: list[tuple[float, float]] = [(0, 0), (w, 0), (w, h), (0, h)]
        side = rng.randrange(4)
        src = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
        # shrink one edge
        if side == 0:
            dst = [(w * e / 2, 0), (w - w * e / 2, 0), (w, h), (0, h)]
        elif side == 1:
            dst = [(0, 0), (w, h * e / 2), (w, h - h * e / 2), (0, h)]
        elif side == 2:
            dst = [(0, 0), (w, 0), (w - w * e / 2, h), (w * e / 2, h)]
        else:
            dst = [(0, h * e / 2), (w, 0), (w, h), (0, h - h * e / 2)]
        layer = layer.transform(
            layer.size, Image.Transform.PERSPECTIVE, _perspective_coeffs(src, dst), resample=Image.Resampling.BICUBIC
        )
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return layer


def _paste_layer(canvas: Image.Image, layer: Image.Image, center: tuple[float, float], shadow: bool = True) -> None:
    """Alpha-paste an RGBA ``layer`` centred at ``center`` (px) with a soft drop shadow."""
    x = int(center[0] - layer.size[0] / 2)
    y = int(center[1] - layer.size[1] / 2)
    alpha = layer.getchannel("A")
    if shadow:
        sh = _soft(alpha, max(2, layer.size[0] / 60)).point(lambda v: v * 0.4)
        off = max(2, layer.size[0] // 70)
        canvas.paste((0, 0, 0), (x + off, y + off), sh)
    canvas.paste(layer.convert("RGB"), (x, y), alpha)


# --------------------------------------------------------------------------- grain & encode


@functools.lru_cache(maxsize=4)
def _grain_tile(k: int) -> np.ndarray:
    """A 2560×2560 float32 luminance noise tile (σ = 1), seeded by ``k`` (cached per process)."""
    return np.random.default_rng(1000 + k).standard_normal((2560, 2560), dtype=np.float32)


def _add_grain_y(y: np.ndarray, rng: random.Random, sigma: float) -> np.ndarray:
    """``y`` (uint8 luma, h × w) plus Gaussian grain of ``sigma`` grey levels (seeded tile window)."""
    h, w = y.shape
    tile = _grain_tile(rng.randrange(4))
    oy, ox = rng.randrange(tile.shape[0] - h + 1), rng.randrange(tile.shape[1] - w + 1)
    return cv2.addWeighted(y, 1.0, tile[oy : oy + h, ox : ox + w], float(sigma), 0.0, dtype=cv2.CV_8U)


def _finish(canvas: Image.Image, spec: PhotoSpec, rng: random.Random) -> bytes:
    """Blur / low light at working size, resize to the final size, add grain, encode JPEG.

    Grain is luminance noise added at the final size (the same on R, G and B, i.e. on
    the luma channel only); the JPEG is baseline, 4:2:0 below quality 90, else 4:4:4.
    """
    upscale = max(spec.width, spec.height) / max(canvas.size)
    if spec.blur > 0:
        canvas = canvas.filter(ImageFilter.GaussianBlur(spec.blur))
    elif upscale < 1.3:
        canvas = canvas.filter(ImageFilter.BoxBlur(0.5))  # lens softness (upscaling softens the others)
    arr = np.asarray(canvas)
    if spec.low_light:
        f = rng.uniform(0.28, 0.5)
        arr = cv2.merge(
            [
                cv2.convertScaleAbs(c, alpha=f * m, beta=4)
                for c, m in zip(cv2.split(arr), (1.0, 0.92, 0.78), strict=False)
            ]
        )
    if canvas.size != (spec.width, spec.height):
        interp = cv2.INTER_LINEAR if upscale >= 1 else cv2.INTER_AREA
        arr = cv2.resize(arr, (spec.width, spec.height), interpolation=interp)
    sigma = (7.0 if spec.low_light else rng.uniform(3.0, 5.5)) * (0.6 if max(spec.width, spec.height) < 700 else 1.0)
    ycc = cv2.cvtColor(arr, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = cv2.split(ycc)
    bgr = cv2.cvtColor(cv2.merge([_add_grain_y(y, rng, sigma), cr, cb]), cv2.COLOR_YCrCb2BGR)
    sub = cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420 if spec.quality < 90 else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
    ok, buf = cv2.imencode(
        ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(spec.quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sub]
    )
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


# --------------------------------------------------------------------------- render


def render_photo(spec: PhotoSpec) -> bytes:  # noqa: C901, PLR0912, PLR0915
    """Draw the photo described by ``spec`` and return it as JPEG bytes.

    Deterministic: the same spec gives the same bytes with the same Pillow/numpy build.
    Cost: ~50–60 ms of one core on average (a 2048 px photo: ~25 ms of resize, grain and
    JPEG encoding on top of the scene).

    Raises:
        ValueError: unknown ``spec.kind``, garment or tag style.
    """
    rng = random.Random(spec.seed)
    _set_face(spec.style.font if spec.style is not None else rng.choice(FONT_FACES))
    f = min(1.0, _WORK_MAX / max(spec.width, spec.height))
    ws = (max(64, int(spec.width * f)), max(64, int(spec.height * f)))
    W, H = ws
    k = spec.kind
    if k == "flat" or k == "print":
        canvas = _background(rng, ws, rng.choice(("wood", "white", "sheet", "floor")))
        g = "tshirt" if k == "print" else spec.garment
        m = rng.uniform(0.06, 0.14)
        box = (W * m, H * m, W * (1 - m), H * (1 - m))
        _paste_garment(canvas, g, spec.colour, box, rng)
        if k == "print":
            text = rng.choice(_SLOGANS + (str(rng.randint(1, 99)),) * 4)
            ink = (
                (250, 250, 250)
                if sum(spec.colour) < 380
                else (rng.randint(0, 60), rng.randint(0, 60), rng.randint(0, 140))
            )
            size = _fit_size(text, (box[2] - box[0]) * 0.42, (box[3] - box[1]) * 0.22, 2)
            d = ImageDraw.Draw(canvas)
            _draw_text(d, ((box[0] + box[2]) / 2, box[1] + (box[3] - box[1]) * 0.52), text, size, ink, 2, "mm")
    elif k == "hanger":
        canvas = _background(rng, ws, "wall")
        d = ImageDraw.Draw(canvas)
        cx = W / 2 + rng.uniform(-0.05, 0.05) * W
        top = H * 0.08
        lw = max(2, W // 200)
        d.arc((cx - W * 0.03, top - H * 0.05, cx + W * 0.03, top + H * 0.02), 180, 90, fill=(90, 90, 95), width=lw)
        d.line(
            [
                (cx, top + H * 0.02),
                (cx - W * 0.3, top + H * 0.12),
                (cx + W * 0.3, top + H * 0.12),
                (cx, top + H * 0.02),
            ],
            fill=(120, 90, 60),
            width=lw * 2,
        )
        g = spec.garment if spec.garment not in ("shoes", "bag") else "tshirt"
        _paste_garment(canvas, g, spec.colour, (cx - W * 0.34, top + H * 0.1, cx + W * 0.34, H * 0.97), rng)
    elif k == "closeup":
        canvas = _fabric(rng, ws, spec.colour, "denim" if spec.garment == "jeans" else None)
        d = ImageDraw.Draw(canvas)
        lw = max(2, W // 150)
        dark = tuple(int(c * 0.55) for c in spec.colour)
        for _ in range(rng.randint(1, 3)):
            y = rng.uniform(0.1, 0.9) * H
            d.line([(0, y), (W, y + rng.uniform(-0.1, 0.1) * H)], fill=dark, width=lw)
        for _ in range(rng.randint(0, 4)):
            r = W * rng.uniform(0.025, 0.05)
            x, y = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H
            d.ellipse(
                (x - r, y - r, x + r, y + r),
                fill=rng.choice(((230, 230, 225), (60, 50, 40), (200, 170, 80))),
                outline=dark,
                width=lw,
            )
    elif k in ("tag", "care", "woven", "size", "brandtag", "shoebox"):
        if spec.on_garment or k in ("care", "woven", "size", "brandtag"):
            canvas = _fabric(rng, ws, spec.colour, "denim" if spec.garment == "jeans" else None)
            if rng.random() < 0.5:  # a fold of the garment across the frame
                sh = _noise_field(rng, ws, (3, 3))
                fold = 0.8 + 0.3 * sh
                canvas = Image.fromarray(
                    cv2.merge([cv2.multiply(c, fold, dtype=cv2.CV_8U) for c in cv2.split(np.asarray(canvas))])
                )
        else:
            canvas = _background(rng, ws, rng.choice(("wood", "white", "sheet", "floor")))
            if rng.random() < 0.5:  # part of the garment in the frame
                _paste_garment(
                    canvas,
                    spec.garment,
                    spec.colour,
                    (W * rng.uniform(-0.4, 0.1), H * rng.uniform(-0.3, 0.3), W * rng.uniform(0.5, 0.9), H * 1.2),
                    rng,
                    shadow=True,
                )
        if k == "tag":
            big = spec.style is not None and spec.style.kind == "sticker"
            scale = int(min(W, H) * (rng.uniform(0.55, 0.95) if big else rng.uniform(0.5, 0.8)))
            layer = _internal_tag(spec, rng, scale)
        elif k == "shoebox":
            layer = _negative_layer(spec, rng, int(max(W, H) * rng.uniform(0.8, 1.0)))
        else:
            layer = _negative_layer(spec, rng, int(min(W, H) * rng.uniform(0.45, 0.75)))
        layer = _warp_layer(layer, spec.angle, spec.perspective, rng)
        if max(layer.size[0] / W, layer.size[1] / H) > 0.98:
            fct = 0.98 / max(layer.size[0] / W, layer.size[1] / H)
            layer = layer.resize(
                (max(1, int(layer.size[0] * fct)), max(1, int(layer.size[1] * fct))), Image.Resampling.BICUBIC
            )
        if (k == "tag" and spec.style is not None and spec.style.shape == "hang") or k == "brandtag":
            d = ImageDraw.Draw(canvas)
            d.line(
                [(W / 2 + rng.uniform(-0.1, 0.1) * W, 0), (W / 2, H / 2 - layer.size[1] * 0.38)],
                fill=rng.choice(((230, 230, 230), (40, 40, 40), (200, 40, 40))),
                width=max(1, W // 250),
            )
        cx = W / 2 + rng.uniform(-0.5, 0.5) * max(0, W - layer.size[0]) / 2
        cy = H / 2 + rng.uniform(-0.5, 0.5) * max(0, H - layer.size[1]) / 2
        _paste_layer(canvas, layer, (cx, cy))
    else:
        raise ValueError(f"unknown photo kind {k!r}")
    return _finish(canvas, spec, rng)


# --------------------------------------------------------------------------- data set


@dataclass(frozen=True)
class Tenant:
    """A seller: schema-like ``name`` and the 1–2 internal tag styles it uses."""

    name: str
    styles: tuple[TagStyle, ...]


@dataclass(frozen=True)
class Product:
    """One product: its tenant, id, ordered photos and the truth.

    Fields:
        tenant: the tenant's name.
        product_id: int id, unique within the tenant.
        photos: the ordered photo specs (position 0 first).
        label_index: index in ``photos`` of the internal tag, or None.
    """

    tenant: str
    product_id: int
    photos: tuple[PhotoSpec, ...]
    label_index: int | None

    @property
    def style_kind(self) -> str | None:
        """The internal tag's style kind, or None when the product has no tag."""
        return None if self.label_index is None else self.photos[self.label_index].style.kind  # type: ignore[union-attr]


@dataclass(frozen=True)
class Dataset:
    """A generated data set: the seed and params that made it, tenants and products."""

    seed: int
    params: DatasetParams
    tenants: tuple[Tenant, ...]
    products: tuple[Product, ...]

    def photos(self) -> Iterator[tuple[Product, int, PhotoSpec]]:
        """Every (product, position, spec), in product then position order."""
        for p in self.products:
            for i, s in enumerate(p.photos):
                yield p, i, s


@dataclass(frozen=True)
class DatasetParams:
    """Distribution parameters of :func:`generate_dataset` (every rate is a probability).

    Fields:
        tenant_products: products per tenant (its length = number of tenants).
        tenant_tags: exact number of products with an internal tag per tenant, or None
            to draw each product's tag with ``tag_rate``.
        tag_rate: probability that a product has an internal tag (when ``tenant_tags`` is None).
        style_weights: weight of each :data:`TAG_STYLE_KINDS` when choosing a tenant's styles.
        two_styles_rate: probability that a tenant uses two tag styles (else one).
        photos_tagged: (min, max) product photos of a tagged product (the tag comes on top).
        untagged_single_rate: probability that an untagged product has a single photo.
        photos_untagged: (min, max) photos of an untagged product with more than one.
        hard_negative_rate: probability that a product gets one hard-negative photo.
        negative_weights: weight of each :data:`NEGATIVE_KINDS`.
        tag_not_last_rate: probability that the tag is not the last photo (default 0: the
            shop's convention, every tag is the product's last photo).
        on_garment_rate, angle_rate, blur_rate, low_light_rate: tag/label photo conditions.
        max_angle: largest in-plane rotation, degrees, when angled.
        max_blur: largest blur radius (working-size px) when blurred.
        small_rate: probability that a product's photos are small (300–640 px).
        large_sides: longest sides (px) to pick from for large photos.
        quality: (min, max) JPEG quality.
    """

    tenant_products: tuple[int, ...] = (200, 200, 200, 200, 200, 200)
    tenant_tags: tuple[int, ...] | None = None
    tag_rate: float = 0.2
    style_weights: tuple[float, ...] = (0.4, 0.25, 0.2, 0.15)
    two_styles_rate: float = 0.35
    photos_tagged: tuple[int, int] = (1, 7)
    untagged_single_rate: float = 0.6
    photos_untagged: tuple[int, int] = (2, 8)
    hard_negative_rate: float = 0.15
    negative_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.7, 1.2)
    tag_not_last_rate: float = 0.0
    on_garment_rate: float = 0.3
    angle_rate: float = 0.4
    max_angle: float = 35.0
    blur_rate: float = 0.12
    max_blur: float = 2.5
    low_light_rate: float = 0.12
    small_rate: float = 0.25
    large_sides: tuple[int, ...] = (1600, 2048)
    quality: tuple[int, int] = (80, 90)


def demo_params(**overrides) -> DatasetParams:
    """The demo's shape: 4 tenants, 3,282 products, 611 with an internal tag (~9,000 photos).

    Keyword overrides replace any :class:`DatasetParams` field.
    """
    base = DatasetParams(
        tenant_products=(1203, 987, 645, 447),
        tenant_tags=(224, 184, 120, 83),
        photos_tagged=(1, 7),
        untagged_single_rate=0.7,
        photos_untagged=(2, 8),
    )
    return replace(base, **overrides)


def _size(rng: random.Random, params: DatasetParams) -> tuple[int, int]:
    if rng.random() < params.small_rate:
        long = rng.randint(300, 640)
    else:
        long = rng.choice(params.large_sides)
    aspect = rng.choice((4 / 3, 4 / 3, 1.0, 3 / 2))
    short = int(long / aspect)
    return (short, long) if rng.random() < 0.7 else (long, short)


def generate_dataset(seed: int, params: DatasetParams | None = None, tenant_prefix: str = "user_") -> Dataset:  # noqa: C901, PLR0912, PLR0915
    """Generate tenants → products → ordered photo specs with the truth (no pixels yet).

    Args:
        seed: drives every random choice (styles, products, photo seeds).
        params: distributions; :class:`DatasetParams` defaults when None.
        tenant_prefix: tenant names are ``f"{tenant_prefix}{i}"`` (1-based).

    Returns:
        A :class:`Dataset`; render a photo with :func:`render_photo`.

    Raises:
        ValueError: ``tenant_tags`` longer/shorter than ``tenant_products`` or a count
            larger than the tenant's products.
    """
    params = params or DatasetParams()
    rng = random.Random(seed)
    if params.tenant_tags is not None and len(params.tenant_tags) != len(params.tenant_products):
        raise ValueError("tenant_tags and tenant_products differ in length")
    tenants: list[Tenant] = []
    products: list[Product] = []
    # the first tenants' main styles cover every style kind (then weighted draws)
    cover = [k for k, wgt in zip(TAG_STYLE_KINDS, params.style_weights, strict=False) if wgt > 0]
    rng.shuffle(cover)
    for t, count in enumerate(params.tenant_products):
        name = f"{tenant_prefix}{t + 1}"
        n_styles = 2 if rng.random() < params.two_styles_rate else 1
        kinds: list[str] = [cover[t]] if t < len(cover) else []
        while len(kinds) < n_styles:
            kd = rng.choices(TAG_STYLE_KINDS, weights=params.style_weights)[0]
            if kd not in kinds:
                kinds.append(kd)
        styles = tuple(make_tag_style(kd, rng) for kd in kinds)
        style_w = (0.75, 0.25) if n_styles == 2 else (1.0,)
        tenants.append(Tenant(name, styles))
        if params.tenant_tags is not None:
            if params.tenant_tags[t] > count:
                raise ValueError(f"tenant {name}: more tags than products")
            tagged = set(rng.sample(range(1, count + 1), params.tenant_tags[t]))
        else:
            tagged = {pid for pid in range(1, count + 1) if rng.random() < params.tag_rate}
        for pid in range(1, count + 1):
            garment = rng.choice(GARMENTS)
            colour = rng.choice(_FABRIC_COLOURS)
            w, h = _size(rng, params)
            quality = rng.randint(*params.quality)

            product_look = {"width": w, "height": h, "garment": garment, "colour": colour, "quality": quality}

            def spec(kind: str, look: dict = product_look, **kw) -> PhotoSpec:
                return PhotoSpec(kind=kind, seed=rng.getrandbits(48), **look, **kw)

            def conditions() -> dict:
                return dict(
                    on_garment=rng.random() < params.on_garment_rate,
                    angle=rng.uniform(-params.max_angle, params.max_angle)
                    if rng.random() < params.angle_rate
                    else rng.uniform(-4, 4),
                    perspective=rng.uniform(0.05, 0.3) if rng.random() < params.angle_rate else 0.0,
                    blur=rng.uniform(1.0, params.max_blur) if rng.random() < params.blur_rate else 0.0,
                    low_light=rng.random() < params.low_light_rate,
                )

            is_tagged = pid in tagged
            if is_tagged:
                n = rng.randint(*params.photos_tagged)
            else:
                n = 1 if rng.random() < params.untagged_single_rate else rng.randint(*params.photos_untagged)
            views = ["flat", "hanger", "closeup"]
            photos: list[PhotoSpec] = []
            for i in range(n):
                kind = views[0] if i == 0 else rng.choices(views, weights=(0.45, 0.3, 0.25))[0]
                if garment in ("shoes", "bag") and kind == "hanger":
                    kind = "flat"
                photos.append(spec(kind))
            if rng.random() < params.hard_negative_rate and n >= 1:
                nk = rng.choices(NEGATIVE_KINDS, weights=params.negative_weights)[0]
                if nk == "shoebox" and garment != "shoes":
                    nk = "brandtag" if rng.random() < 0.5 else "care"
                kw = conditions()
                kw["low_light"] = kw["low_light"] and rng.random() < 0.5
                neg = spec(nk, price_cents=rng.choice((1999, 2999, 3995, 4999, 5999, 7990, 8999, 12900)), **kw)
                if n == 1:
                    photos.append(neg)
                else:
                    photos[rng.randint(1, n - 1)] = neg
            label_index = None
            if is_tagged:
                style = rng.choices(styles, weights=style_w)[0]
                cents = rng.choice((300, 500, 500, 800, 1000, 1200, 1500, 1800, 2000, 2500, 3000, 3500, 4500)) + (
                    rng.choice((0, 0, 0, 50, 90)) if style.price_fmt == "cents" else 0
                )
                tag = spec("tag", style=style, price_cents=cents, sku=_fill_pattern(style.sku_fmt, rng), **conditions())
                if rng.random() < params.tag_not_last_rate and len(photos) >= 1:
                    label_index = rng.randint(0, len(photos) - 1)
                else:
                    label_index = len(photos)
                photos.insert(label_index, tag)
            products.append(Product(name, pid, tuple(photos), label_index))
    return Dataset(seed, params, tuple(tenants), tuple(products))
