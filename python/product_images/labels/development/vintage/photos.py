"""Every photo's ``spec``: the camera and scene (shared by all kinds), then a shop tag's or a negative's own values.

Values are plain (str, int, float, bool), floats rounded to 3 decimals; the random source is
the set's :class:`random.Random`, so the set is the same for a seed in any process.
"""

from __future__ import annotations

import random

from .codes import ean13_full
from .fonts import PRINT_FONTS, STAMP_FONTS
from .shops import Shop
from .spec import SpecValue

__all__ = ["negative_spec", "photo_spec", "tag_spec"]

_LONG_SIDES = (800, 960, 1024, 1080, 1200, 1280, 1440, 1600)
_SKINS = ("#f1c7a8", "#d9a788", "#b98063", "#8d5a3c", "#5f3b25", "#e8b896")
_DROP = ("sku_pattern", "price_format", "sticker_colors", "qr_url", "size_on_tag", "gun_sep", "write_sku_every")
_TAG_SIZES = {
    "hang_card": (0.25, 0.7),
    "masking_tape": (0.2, 0.5),
    "round_sticker": (0.05, 0.3),
    "gun_sticker": (0.06, 0.32),
    "thermal_label": (0.3, 0.6),
    "qr_label": (0.3, 0.6),
}
_NEG_SIZES = {
    "care_label": (0.3, 0.7),
    "size_label": (0.1, 0.35),
    "brand_label": (0.2, 0.5),
    "retail_tag": (0.3, 0.7),
    "receipt": (0.4, 0.8),
    "shoe_box": (0.6, 0.95),
}


def _frame(r: random.Random, shop: Shop) -> dict[str, SpecValue]:
    """Image size (long side 800–1600 px) and file format (JPEG 60–92, ~10 % PNG, ~5 % WebP)."""
    long = int(shop.numbers["long"]) if r.random() < 0.7 else r.choice(_LONG_SIDES)
    ratio = r.choices((0.75, 1.0, 0.5625), (85, 10, 5))[0]
    short = int(long * ratio)
    w, h = (short, long) if r.random() < 0.7 else (long, short)
    u = r.random()
    fmt = "png" if u < 0.1 else "webp" if u < 0.15 else "jpeg"
    return {"w": w, "h": h, "fmt": fmt, "quality": r.randint(60, 92), "work": r.randrange(560, 900)}


def _camera(r: random.Random, shop: Shop) -> dict[str, SpecValue]:
    """Light, exposure, focus, shake, noise, vignette and sharpening of an old phone in a shop or a flat."""
    dark = r.random() < shop.numbers["dark"]
    blurry = r.random() < shop.numbers["blurry"]
    return {
        "light": r.choice(shop.habits["light"]),
        "exposure": round(r.uniform(0.45, 0.7) if dark else r.uniform(0.85, 1.15), 3),
        "noise": round(r.uniform(0.03, 0.06) if dark else r.uniform(0.008, 0.03), 3),
        "blur": round(r.uniform(1.2, 3.0) if blurry else r.uniform(0.0, 0.9), 3),
        "motion": r.choice((0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 7, 11)),
        "motion_angle": round(r.uniform(0, 180), 1),
        "vignette": round(r.uniform(0.1, 0.6), 3),
        "sharpen": r.random() < 0.4,
        "gamma": round(r.uniform(0.88, 1.1), 3),
        "glare": round(r.uniform(0.5, 1.0) if r.random() < 0.35 else 0.0, 3),
    }


def _garment_values(r: random.Random, info: dict[str, SpecValue]) -> dict[str, SpecValue]:
    """The garment's look (shared by the product's photos): kind, colour, fabric, print."""
    values = {k: info[k] for k in ("garment", "color", "pattern") if k in info}
    if "print" in info:
        values.update({"print": info["print"], "print_font": "sans_bold", "print_ink": "#f2f2f2"})
        if str(info["color"]) in ("#f0ece0", "#d8cfc0", "#b0b8c0", "#c8a040"):
            values["print_ink"] = "#1e1e24"
    return values


def _shot(r: random.Random, shop: Shop, kind: str) -> dict[str, SpecValue]:
    """How the scene is framed: garment shots (flat, hanger, form), details, or an object's presentation."""
    if kind in ("garment", "printed_tee", "measuring_tape"):
        shot = "flat" if kind == "measuring_tape" else r.choice(("flat", "hanger", "form", "flat", "hanger"))
        return {
            "shot": shot,
            "zoom": round(r.uniform(0.7, 0.95), 3),
            "gx": round(r.uniform(-0.06, 0.06), 3),
            "gy": round(r.uniform(-0.05, 0.08), 3),
            "angle": round(r.uniform(0, 180), 1),
            "hanger": "#6b4a2b",
        }
    if kind in ("detail", "closeup"):
        return {
            "shot": "flat",
            "zoom": round(r.uniform(1.8, 3.2), 3),
            "gx": round(r.uniform(-0.3, 0.3), 3),
            "gy": round(r.uniform(-0.3, 0.3), 3),
            "angle": round(r.uniform(0, 180), 1),
        }
    upright = r.random() < 0.55
    return {
        "shot": r.choice(shop.habits["shot"]),
        "zoom": round(r.uniform(1.3, 3.0), 3),
        "gx": round(r.uniform(-0.3, 0.3), 3),
        "gy": round(r.uniform(-0.3, 0.3), 3),
        "angle": round(r.uniform(-25, 25) if upright else r.uniform(0, 360), 1),
        "tilt_x": round(r.uniform(-0.35, 0.35), 3),
        "tilt_y": round(r.uniform(-0.35, 0.35), 3),
        "cx": round(r.uniform(0.35, 0.65), 3),
        "cy": round(r.uniform(0.35, 0.65), 3),
        "corner": r.randrange(4),
        "skin": r.choice(_SKINS),
    }


def photo_spec(r: random.Random, shop: Shop, info: dict[str, SpecValue], kind: str) -> dict[str, SpecValue]:
    """The values every photo has: frame, camera, background, garment and framing."""
    values = _frame(r, shop)
    values.update(_camera(r, shop))
    values.update({"bg": r.choice(shop.habits["bg"]), "bg_color": r.choice(shop.habits["bg_color"])})
    values.update(_garment_values(r, info))
    values.update(_shot(r, shop, kind))
    if info["garment"] == "shoes" and values["shot"] in ("hanger", "form"):
        values["shot"] = "flat"
    return values


def tag_spec(r: random.Random, tag: dict[str, SpecValue], info: dict[str, SpecValue]) -> dict[str, SpecValue]:
    """The shop tag's values: house style, price, SKU, code payload, size written, its size in the frame."""
    values = {k: v for k, v in tag.items() if k not in _DROP}
    if tag["tag"] == "round_sticker":
        values["paper"] = r.choice(str(tag["sticker_colors"]).split("|"))
    if tag.get("size_on_tag") and r.random() < 0.7:
        values["size_text"] = f"T.{info['size']}" if r.random() < 0.5 else str(info["size"])
    lo, hi = _TAG_SIZES[str(tag["tag"])]
    values["obj_size"] = round(r.uniform(lo, hi), 3)
    if tag["tag"] in ("round_sticker", "gun_sticker") and info["garment"] == "shoes" and r.random() < 0.5:
        values["shot"] = "sole"
    if tag.get("code"):
        values.update({"blur": round(r.uniform(0.0, 0.6), 3), "motion": 0, "quality": r.randint(75, 92)})
        values.update({"tilt_x": round(r.uniform(-0.2, 0.2), 3), "tilt_y": round(r.uniform(-0.2, 0.2), 3)})
    return values


def _retail_ean(r: random.Random) -> str:
    """A brand's EAN-13 (not in-store: prefix 00–19 or 30–99)."""
    prefix = r.choice((r.randrange(0, 20), r.randrange(30, 100)))
    return ean13_full(f"{prefix:02d}{r.randrange(10**10):010d}")


def _retail_price(r: random.Random) -> str:
    """A price printed by a brand (with cents, currency before or after)."""
    euros = r.choice((19, 25, 29, 35, 39, 49, 59, 69, 89, 119))
    return r.choice((f"€{euros}.99", f"${euros}", f"{euros},99 €", f"£{euros}", f"{euros}.95 EUR", f"€ {euros},00"))


def _negative_text(r: random.Random, kind: str, info: dict[str, SpecValue]) -> str:
    """The text on a negative: composition lines, a size, a brand, receipt lines."""
    if kind == "care_label":
        fibres = r.choice(
            (
                "100% coton|100% cotton",
                "80% laine 20% polyamide|80% wool 20% polyamide",
                "65% polyester 35% coton",
                "100% viscose|Lavage à la main",
            )
        )
        origin = r.choice(("Portugal", "Italy", "Bangladesh", "France", "Tunisie"))
        return f"{fibres}|Made in {origin}|RN {r.randrange(10000, 99999)}"
    if kind == "size_label":
        return str(info["size"]) if r.random() < 0.7 else f"EU {r.randrange(34, 48, 2)}"
    if kind == "receipt":
        total = r.randrange(5, 80)
        when = f"{r.randrange(1, 28):02d}/0{r.randrange(1, 9)}/2023 14:{r.randrange(10, 59)}"
        lines = (str(info["brand"]).upper(), when, f"1 ARTICLE {total},00", f"TVA 20% {total / 6:.2f}")
        return "|".join((*lines, f"TOTAL {total},00", f"CB {total},00", "MERCI"))
    return str(info["brand"]).upper() if r.random() < 0.5 else str(info["brand"])


def negative_spec(r: random.Random, kind: str, info: dict[str, SpecValue]) -> dict[str, SpecValue]:
    """The values of a hard negative photo (``object``, its text, code, colours, size in the frame)."""
    if kind == "measuring_tape":
        return {"tape_color": r.choice(("#f2d33c", "#f5f5f0", "#e8c020"))}
    if kind == "closeup":
        return {"pattern": r.choice(("knit", "denim", "check", "cord", "stripes", str(info["pattern"])))}
    lo, hi = _NEG_SIZES[kind]
    values: dict[str, SpecValue] = {
        "object": kind,
        "text": _negative_text(r, kind, info),
        "obj_size": round(r.uniform(lo, hi), 3),
    }
    if kind in ("size_label", "brand_label"):
        values.update(
            {
                "paper": r.choice(("#111111", "#f2efe6", "#1c2a4a", "#7a1a1a")),
                "font": r.choice(STAMP_FONTS + PRINT_FONTS),
            }
        )
        values["ink"] = "#f0e8d0" if values["paper"] != "#f2efe6" else r.choice(("#111111", "#8a1a1a", "#1c2a6a"))
    if kind in ("retail_tag", "shoe_box"):
        values.update({"payload": _retail_ean(r), "font": r.choice(PRINT_FONTS), "text": str(info["brand"]).upper()})
        values["size_text"] = (
            f"EU {info['size']}  UK {max(3, int(str(info['size'])) - 33)}"
            if info["garment"] == "shoes"
            else str(info["size"])
        )
    if kind == "retail_tag":
        values.update({"price": _retail_price(r), "paper": r.choice(("#ffffff", "#1a1a1a", "#c8102e", "#e8e0d0"))})
        values["ink"] = "#ffffff" if values["paper"] in ("#1a1a1a", "#c8102e") else "#111111"
    if kind == "shoe_box":
        values.update(
            {
                "sku": f"ART {r.randrange(100000, 999999)}",
                "paper": r.choice(("#d9c7a4", "#e05a2a", "#2a2a2a", "#f0f0f0")),
            }
        )
        values["ink"] = "#f0f0f0" if values["paper"] == "#2a2a2a" else "#222222"
    return values
