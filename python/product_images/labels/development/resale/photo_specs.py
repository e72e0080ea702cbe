"""Each photo's spec: the camera, the scene and what the photo shows, as plain values.

:func:`photo_spec` returns a dict (sorted into the photo's spec by the catalog) holding every
value the drawing needs: image size and format, white balance, exposure, blur, noise, glare,
rotation by 90°, the background, the garment, and for tags and hard negatives their content
(price text, SKU, barcode payload and symbology) and their placement (holder, size, angle,
perspective). ``legible`` says whether a drawn barcode/QR is meant to be decodable.
"""

from __future__ import annotations

import random

from .codes import ean13_full
from .garments_catalog import Item
from .shops import Style

__all__ = ["BACKGROUNDS", "Spec", "make_sku", "photo_spec"]

Spec = dict[str, str | int | float | bool]

BACKGROUNDS = ("seamless_white", "seamless_grey", "lightbox", "wood", "tiles", "bed", "tablecloth", "wall", "concrete")
_BG_HEX = {
    "seamless_white": ("#f4f4f2", "#e4e4e0"),
    "seamless_grey": ("#b9bbbd", "#8e9194"),
    "lightbox": ("#fdfdfd", "#f0f0f0"),
    "wood": ("#a0714f", "#6e4a33"),
    "tiles": ("#e8e4dc", "#9a9690"),
    "bed": ("#e9e6e1", "#c9c5bd"),
    "tablecloth": ("#c0392b", "#f5f0e6"),
    "wall": ("#d9d2c5", "#c2b9a8"),
    "concrete": ("#9c9a96", "#7a7874"),
}
_TAG_HOLDERS = {
    "thermal": ("table", "table", "garment", "garment", "hand", "ruler", "in_shot"),
    "ean_price": ("table", "garment", "garment", "hand", "ruler", "in_shot"),
    "qr": ("table", "garment", "hand", "hand", "ruler"),
    "printed_hang": ("garment", "garment", "hand", "table"),
    "kraft_hand": ("garment", "hand", "table"),
    "sole_sticker": ("sole", "sole", "box_lid", "hand"),
    "color_dot": ("garment", "in_shot", "table"),
    "tape": ("garment", "table", "box_lid"),
}
_NEG_HOLDERS = {
    "retail_tag": ("garment", "hand", "table"),
    "care_label": ("seam",),
    "size_label": ("seam",),
    "brand_label": ("seam",),
    "receipt": ("table",),
    "shoe_box": ("floor",),
}
_SKIN = ("#f1c7a5", "#e0ac89", "#c68642", "#8d5524", "#ffdbc0", "#d9a27e")
_FOREIGN_EAN = ("30", "34", "37", "40", "42", "50", "54", "76", "80", "84", "87", "00", "03", "06", "08")


def make_sku(rnd: random.Random, pattern: str) -> str:
    """A SKU from ``pattern``: each ``#`` replaced by a digit (e.g. ``"RS-######"`` → ``"RS-004512"``)."""
    return "".join(str(rnd.randrange(10)) if c == "#" else c for c in pattern)


def _size(rnd: random.Random) -> tuple[int, int]:
    """Image (width, height) in pixels: long side 800–1600, landscape, portrait or square."""
    long_side = rnd.randrange(800, 1601, 8)
    ratio = rnd.choice((4 / 3, 3 / 2, 1.0, 4 / 3, 16 / 9))
    short = int(round(long_side / ratio / 8) * 8)
    return (long_side, short) if rnd.random() < 0.35 else (short, long_side)


def _camera(rnd: random.Random, shop: Style) -> Spec:
    """The photo's camera: size, format, quality, light, white balance, blur, noise, glare, 90° turn."""
    width, height = _size(rnd)
    fmt = rnd.choices(("jpeg", "png", "webp"), weights=(85, 10, 5))[0]
    low = rnd.random() < 0.1
    blurred = rnd.random() < 0.15
    bias = float(shop["wb_bias"])
    return {
        "width": width,
        "height": height,
        "fmt": fmt,
        "quality": rnd.randint(60, 92),
        "rot90": rnd.choice((1, 3)) if rnd.random() < float(shop["rot90_rate"]) else 0,
        "wb_r": round(1.0 + bias + rnd.uniform(-0.06, 0.06), 3),
        "wb_b": round(1.0 - bias + rnd.uniform(-0.06, 0.06), 3),
        "exposure": round(rnd.uniform(0.45, 0.7) if low else rnd.uniform(0.85, 1.1), 3),
        "noise": round(rnd.uniform(6.0, 14.0) if low else rnd.uniform(1.0, 5.0), 2),
        "blur": round(rnd.uniform(1.2, 3.0) if blurred else rnd.uniform(0.0, 0.7), 2),
        "motion": rnd.randint(4, 12) if rnd.random() < 0.05 else 0,
        "glare": round(rnd.uniform(0.3, 0.9), 2) if rnd.random() < float(shop["flash"]) else 0.0,
        "glare_x": round(rnd.uniform(0.2, 0.8), 3),
        "glare_y": round(rnd.uniform(0.2, 0.8), 3),
        "light_angle": rnd.randrange(360),
        "light_strength": round(rnd.uniform(0.0, 0.35), 3),
        "vignette": round(rnd.uniform(0.0, 0.4), 3),
    }


def _scene(rnd: random.Random, shop: Style, item: Item) -> Spec:
    """The background and the garment: its category, colours, pattern, pose and framing."""
    pick = rnd.random()
    bg = str(shop["bg_main"]) if pick < 0.6 else str(shop["bg_other"]) if pick < 0.85 else rnd.choice(BACKGROUNDS)
    bg_hex, bg_hex2 = _BG_HEX[bg]
    poses = ("flat", "flat", "hanger", "mannequin")
    return {
        "bg": bg,
        "bg_hex": bg_hex,
        "bg_hex2": bg_hex2,
        "garment": str(item["category"]),
        "garment_hex": str(item["garment_hex"]),
        "garment_hex2": str(item["garment_hex2"]),
        "pattern": str(item["pattern"]),
        "pose": rnd.choice(poses),
        "subject_scale": round(rnd.uniform(0.6, 0.92), 3),
        "subject_dx": round(rnd.uniform(-0.08, 0.08), 3),
        "subject_dy": round(rnd.uniform(-0.06, 0.06), 3),
        "subject_angle": round(rnd.uniform(-12, 12), 2),
    }


def _placement(rnd: random.Random, holder: str, small: bool) -> Spec:
    """Where a tag or a label lies: holder, size (share of the short side), angle, perspective."""
    if holder == "in_shot" or small:
        scale = rnd.uniform(0.07, 0.2)
    else:
        scale = rnd.uniform(0.35, 0.8)
    if holder == "hand":
        angle = rnd.uniform(-35, 35) if rnd.random() < 0.5 else rnd.uniform(-8, 8)
    elif rnd.random() < 0.5:
        angle = rnd.choice((0, 90, 180, 270)) + rnd.uniform(-8, 8)
    else:
        angle = rnd.uniform(0, 360)
    return {
        "holder": holder,
        "patch_scale": round(scale, 3),
        "patch_angle": round(angle, 2),
        "tilt_x": round(rnd.triangular(-0.25, 0.25, 0.0), 3),
        "tilt_y": round(rnd.triangular(-0.25, 0.25, 0.0), 3),
        "patch_cx": round(rnd.uniform(0.38, 0.62), 3),
        "patch_cy": round(rnd.uniform(0.38, 0.62), 3),
        "skin_hex": rnd.choice(_SKIN),
    }


def _legible(spec: Spec) -> bool:
    """Whether a drawn code should decode: large enough, sharp, lit and not too tilted."""
    if spec.get("symbology", "none") == "none" or spec["holder"] == "in_shot" or spec["tag"] == "printed_hang":
        return False
    sharp = float(spec["blur"]) <= 0.8 and int(spec["motion"]) == 0 and float(spec["noise"]) <= 5.0
    flat = abs(float(spec["tilt_x"])) <= 0.15 and abs(float(spec["tilt_y"])) <= 0.15
    off_axis = abs((float(spec["patch_angle"]) + 45) % 90 - 45)
    upright = spec["symbology"] == "qr" or off_axis <= 8
    glossy = bool(spec.get("glossy", False)) and float(spec["glare"]) > 0.4
    return (
        sharp
        and flat
        and upright
        and not glossy
        and float(spec["patch_scale"]) >= 0.4
        and float(spec["exposure"]) >= 0.8
    )


_HAND_PRICES = ("{e} €", "{e}€", "{e},{c:02d}", "€ {e}", "{e}", "{e}.-", "{e} e")
_BRAND_PRICES = ("€{e}.99", "${e}", "{e},95 €", "£{e}", "{e},99 EUR", "€ {e},00")
_TEE_TEXTS = (
    "NYC 84",
    "23",
    "BROOKLYN",
    "SUMMER VIBES",
    "100% VINTAGE",
    "PARIS 1998",
    "No. 7",
    "CALIFORNIA",
    "TEAM 10",
)
_COMPOSITIONS = (
    "100% coton",
    "100% COTTON",
    "80% laine 20% polyamide",
    "95% coton 5% élasthanne",
    "100% lin",
    "65% polyester 35% coton",
)
_TAG_KINDS_2 = {"color_dot", "tape", "kraft_hand"}


def _price_text(rnd: random.Random, shop: Style, item: Item, hand: bool) -> str:
    """The shop's price for the item, printed in its format or written by hand."""
    fmt = rnd.choice(_HAND_PRICES) if hand else str(shop["price_format"])
    return fmt.format(e=int(item["euros"]), c=int(item["cents"]))


def _in_store_ean(rnd: random.Random, sku: str, item: Item) -> str:
    """An in-store EAN-13 (prefix 20–29): article from the SKU's digits, price in cents."""
    digits = "".join(c for c in sku if c.isdigit())[-5:].rjust(5, "0")
    cents = int(item["euros"]) * 100 + int(item["cents"])
    return ean13_full(f"2{rnd.randrange(10)}{digits}{cents % 100000:05d}")


def _foreign_ean(rnd: random.Random) -> str:
    """A brand's EAN-13, never in-store: prefix 30–99 or 00–19."""
    prefix = rnd.choice(_FOREIGN_EAN)
    return ean13_full(prefix + "".join(str(rnd.randrange(10)) for _ in range(10)))


def _code(rnd: random.Random, tag: str, shop: Style, sku: str, item: Item) -> tuple[str, str]:
    """The (symbology, payload) of a shop's tag: ``code128`` SKU, ``ean13`` in-store, ``qr`` or none."""
    if tag == "thermal" or (tag == "sole_sticker" and rnd.random() < 0.7):
        return "code128", sku
    if tag in ("ean_price", "sole_sticker"):
        return "ean13", _in_store_ean(rnd, sku, item)
    if tag == "qr":
        return "qr", f"https://{shop['domain']}/p/{sku}" if shop["qr_url"] else sku
    if tag == "printed_hang" and rnd.random() < 0.5:
        return "code128", sku
    return "none", ""


def _shop_tag(rnd: random.Random, shop: Style, item: Item, sku: str) -> Spec:
    """The content and placement of the shop's own tag (its main kind or its second one)."""
    tag = str(shop["tag2"]) if shop["tag2"] and rnd.random() < float(shop["tag2_rate"]) else str(shop["tag"])
    symbology, payload = _code(rnd, tag, shop, sku, item)
    keys = ("shop", "paper", "card", "ink", "accent", "font_price", "font_text", "font_hand", "layout")
    spec: Spec = {k: shop[k] for k in keys}
    spec.update({k: shop[k] for k in ("price_word", "ref_word", "aspect", "rounded", "glossy", "domain")})
    spec.update(tag=tag, symbology=symbology, payload=payload, sku=sku)
    spec["price_text"] = _price_text(rnd, shop, item, tag in _TAG_KINDS_2)
    holder = rnd.choice(_TAG_HOLDERS[tag])
    spec.update(_placement(rnd, holder, tag == "color_dot" and rnd.random() < 0.5))
    return spec


def _brand_content(rnd: random.Random, item: Item) -> Spec:
    """A brand's own labels: brand, fonts, colours, its price, its EAN, composition, size."""
    return {
        "brand": str(item["brand"]),
        "brand_font": rnd.choice(
            ("c059-bold", "liberation-serif-bold", "noto-serif-bold", "urw-gothic-demi", "nimbus-sans-bold")
        ),
        "label_hex": rnd.choice(("#f7f7f2", "#101010", "#1b2a4a", "#e8dcc4", "#8b1e1e", "#ffffff")),
        "card": rnd.choice(("#ffffff", "#1a1a1a", "#c8a46e", "#f3e9dc", "#20324f")),
        "accent": rnd.choice(("#d62828", "#111111", "#e9c46a", "#2a9d8f")),
        "brand_price": rnd.choice(_BRAND_PRICES).format(e=rnd.randint(9, 129)),
        "symbology": "ean13",
        "payload": _foreign_ean(rnd),
        "composition": rnd.choice(_COMPOSITIONS),
        "size_text": str(item["size"]),
        "symbols": rnd.randint(3, 6),
        "box_hex": rnd.choice(("#e8702a", "#1c3f94", "#f2f2f2", "#222222", "#b5895b", "#8c1c13")),
        "tee_text": rnd.choice(_TEE_TEXTS),
        "tape_hex": rnd.choice(("#f2d13c", "#f5f5f0", "#f29e38")),
        "receipt_total": f"{rnd.randint(5, 90)},{rnd.choice(('00', '50', '90', '99'))}",
        "zoom": round(rnd.uniform(1.8, 3.5), 2),
        "detail": rnd.choice(("button", "zip", "pocket", "seam", "collar")),
    }


def _negative(rnd: random.Random, kind: str, item: Item) -> Spec:
    """The content and placement of a hard negative (or of an ordinary garment/detail photo)."""
    spec = _brand_content(rnd, item)
    holder = rnd.choice(_NEG_HOLDERS.get(kind, ("scene",)))
    spec.update(_placement(rnd, holder, False))
    if kind not in ("retail_tag", "shoe_box"):
        spec["symbology"] = "none"
        spec["payload"] = ""
    return spec


def photo_spec(rnd: random.Random, kind: str, shop: Style, item: Item, sku: str) -> Spec:
    """Every value a photo of ``kind`` needs (camera, scene and content), as a plain dict."""
    spec = _camera(rnd, shop) | _scene(rnd, shop, item)
    if kind == "shop_tag":
        spec |= _shop_tag(rnd, shop, item, sku)
    else:
        spec |= _negative(rnd, kind, item)
    spec["legible"] = _legible(spec) if kind == "shop_tag" else False
    return spec
