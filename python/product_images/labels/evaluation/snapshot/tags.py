"""The shop's own internal price tag (kind ``shop_tag``): artwork and photo scenes.

Artwork functions take (rng, spec) and return an RGBA PIL image (tag pixels); the scene
function :func:`shop_tag_scene` returns a float32 (h, w, 3) RGB photo in [0, 1].
Spec keys used: shop, price, sku, ean, tag_style, tag_paper, tag_shape, tag_font,
tag_hand, tag_ink, tag_layout, tag_barcode, tag_qr, tag_setting, tag_glossy, size_text.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.random import Generator
from PIL import Image, ImageDraw

from .codes import draw_code128, draw_ean13, draw_qr
from .garments import fabric
from .paper import add_glare, card, draw_hand, draw_string, hand_text, print_text, ruler_patch, to_patch
from .scenes import detail_scene, quad_for
from .texture import SpecDict, cast_shadow, make_background, paste_warped

__all__ = ["tag_artwork", "shop_tag_scene", "printer_label", "place_on_setting"]


def _card_tag(rng: Generator, spec: SpecDict) -> Image.Image:
    """A card tag with a hole, the shop name printed, the price handwritten (px ~ 420 x 640)."""
    w, h = 420, int(420 * float(spec.get("tag_ratio", 1.5)))
    img = card(w, h, str(spec["tag_paper"]), str(spec["tag_shape"]), hole=True)
    layout, font, hand, ink = (
        int(spec["tag_layout"]),
        str(spec["tag_font"]),
        str(spec["tag_hand"]),
        str(spec["tag_ink"]),
    )
    top = int(min(w, h) * 0.13) + 70
    shop = str(spec["shop"])
    fsize = max(18, min(44, int(w * 1.5 / max(6, len(shop)))))
    if layout != 2:
        print_text(img, (w / 2, top), shop.upper() if layout == 0 else shop, font, fsize, "#2a2a2a", "ma")
    if layout == 1:
        y = top + fsize + 50
        for label in ("Taille / Size", "Prix / Price"):
            print_text(img, (28, y), label, font, 24, "#444444")
            ImageDraw.Draw(img).line([(28, y + 90), (w - 28, y + 90)], fill=(90, 90, 90), width=2)
            y += 150
        hand_text(img, (w * 0.55, top + fsize + 115), str(spec.get("size_text", "M")), hand, 56, ink, rng, 1)
        hand_text(img, (w * 0.55, top + fsize + 265), str(spec["price"]), hand, 84, ink, rng, 2)
    else:
        big = int(min(150, w * 1.6 / max(2.5, len(str(spec["price"])))))
        hand_text(img, (w / 2, h * 0.6), str(spec["price"]), hand, big, ink, rng, 3, float(rng.normal(0, 6)))
        if layout == 2:
            ImageDraw.Draw(img).ellipse([w * 0.3, top - 30, w * 0.7, top + 50], outline=(170, 60, 60), width=3)
            print_text(img, (w / 2, top + 10), shop[:10], font, 22, "#aa3c3c", "mm")
        hand_text(img, (w / 2, h * 0.86), str(spec["sku"])[-4:], hand, 34, ink, rng, 0)
    return img


def _tape(rng: Generator, spec: SpecDict) -> Image.Image:
    """A torn strip of masking tape with a marker price (px ~ 620 x 170)."""
    w, h = 620, 170
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    pts = [(0, 0), (w, 0)] + [(w - int(rng.integers(0, 14)), y) for y in range(0, h, 17)]
    pts += [(w, h), (0, h)] + [(int(rng.integers(0, 14)), y) for y in range(h, 0, -17)]
    ImageDraw.Draw(img).polygon(pts, fill=(226, 208, 160, 236))
    ink = str(spec["tag_ink"])
    hand_text(img, (w / 2, h / 2), str(spec["price"]), str(spec["tag_hand"]), 110, ink, rng, 4)
    return img


def _sticker(rng: Generator, spec: SpecDict) -> Image.Image:
    """A price-gun strip (printed) or a round sticker (handwritten) (px ~ 520 x 240)."""
    paper, font = str(spec["tag_paper"]), str(spec["tag_font"])
    if str(spec["tag_shape"]) == "round":
        img = card(360, 360, paper, "round", hole=False)
        hand_text(img, (180, 195), str(spec["price"]), str(spec["tag_hand"]), 120, str(spec["tag_ink"]), rng, 3)
        print_text(img, (180, 60), str(spec["shop"])[:12], font, 26, "#333333", "mm")
        return img
    img = card(520, 220, paper, "rounded", hole=False)
    print_text(img, (260, 34), str(spec["shop"]), font, 30, "#333333", "mm")
    d = ImageDraw.Draw(img)
    d.line([(20, 58), (500, 58)], fill=(120, 120, 120), width=2)
    print_text(img, (260, 140), str(spec["price"]), "dv_mono_bold", 96, "#111111", "mm")
    print_text(img, (28, 205), str(spec["sku"]), "dv_mono", 20, "#333333", "ls")
    return img


def printer_label(rng: Generator, spec: SpecDict) -> Image.Image:
    """A thermal label-printer label: shop, SKU, price, barcode, maybe a QR (px ~ 720 x 460)."""
    w, h = 720, 460
    img = card(w, h, str(spec["tag_paper"]), "rect" if rng.random() < 0.6 else "rounded", hole=False)
    font, layout, shop = str(spec["tag_font"]), int(spec["tag_layout"]), str(spec["shop"])
    if spec["tag_barcode"] == "ean13":
        code = draw_ean13(str(spec["ean"]), module=3, height=130)
    else:
        code = draw_code128(str(spec["sku"]), module=2, height=120)
    qr = draw_qr(str(spec["sku"]), module=6) if bool(spec["tag_qr"]) else None
    right = w - (qr.width + 20 if qr is not None else 0)
    if layout == 1:
        img.paste(code, (10, 12))
        print_text(img, (30, h - 110), shop, font, 36)
        print_text(img, (30, h - 60), str(spec["sku"]), "dv_mono", 26, "#222222")
        print_text(img, (right - 20, h - 30), str(spec["price"]), "dv_sans_bold", 76, "#000000", "rs")
    else:
        anchor_x = 30 if layout == 0 else right // 2
        anc = "la" if layout == 0 else "ma"
        print_text(img, (anchor_x, 24), shop.upper() if layout == 0 else shop, font, 40, "#000000", anc)
        print_text(img, (anchor_x, 78), f"Ref. {spec['sku']}", "dv_mono", 24, "#222222", anc)
        print_text(img, (right - 24, 190), str(spec["price"]), "dv_sans_bold", 84, "#000000", "rs")
        img.paste(code, (12, h - code.height - 8))
    if qr is not None:
        img.paste(qr, (w - qr.width - 14, 14))
    return img


def tag_artwork(rng: Generator, spec: SpecDict) -> Image.Image:
    """The RGBA artwork of the shop's tag for ``spec['tag_style']``."""
    style = str(spec["tag_style"])
    if style == "masking_tape":
        return _tape(rng, spec)
    if style == "sticker":
        return _sticker(rng, spec)
    if style == "printer_label":
        return printer_label(rng, spec)
    return _card_tag(rng, spec)


def _setting_background(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """Background (h, w, 3) for ``spec['tag_setting']``."""
    setting = str(spec["tag_setting"])
    if setting == "hand":
        if rng.random() < 0.5:
            return make_background(rng, "rack", h, w, str(spec.get("bg_color", "#b0a090")))
        img = fabric(rng, h, w, spec)
        return cv2.GaussianBlur(img, (0, 0), max(2.0, w / 120))
    if setting in ("garment", "leather"):
        return np.clip(fabric(rng, h, w, spec) * 0.95, 0, 1)
    if setting == "sole":
        return detail_scene(rng, {**spec, "detail": "sole"}, h, w)
    if setting == "cutting_mat":
        return make_background(rng, "cutting_mat", h, w, str(spec.get("mat_color", "#2f6b4f")))
    kind = "wood" if rng.random() < 0.5 else ("concrete" if rng.random() < 0.5 else "wall")
    return make_background(rng, kind, h, w, str(spec.get("table_color", "#b89570")))


def place_on_setting(
    rng: Generator, canvas: np.ndarray, patch: np.ndarray, spec: SpecDict, frac: float
) -> tuple[np.ndarray, np.ndarray]:
    """Place a tag ``patch`` (float RGBA) on ``canvas`` with hand/ruler/string as the setting says.

    ``frac``: tag width / canvas min side. Returns (alpha (H, W), quad (4, 2) px).
    """
    h, w = canvas.shape[:2]
    setting = str(spec["tag_setting"])
    width = min(w, h) * frac * (1.0 if patch.shape[1] >= patch.shape[0] else 0.75)
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.6)
    angle = float(rng.normal(0, 12)) if setting != "hand" else float(rng.normal(0, 20))
    quad = quad_for(patch.shape, cx, cy, width, angle, float(rng.uniform(0.0, 0.18)))
    grip = tuple(quad[3] * 0.55 + quad[2] * 0.45 + (quad[2] - quad[1]) * -0.05)
    skin = ("#f1c7a8", "#e0ac8a", "#c68863", "#8d5a3b", "#f5d5c0")[int(rng.integers(0, 5))]
    if setting == "hand":
        draw_hand(canvas, (float(grip[0]), float(grip[1])), width * 0.9, False, skin)
    if setting == "ruler":
        ruler = ruler_patch(rng, int(max(w, h) * 1.1))
        side = 1 if rng.random() < 0.5 else -1
        ry = cy + side * (width * patch.shape[0] / patch.shape[1] / 2 + ruler.shape[0] * 0.9)
        paste_warped(canvas, ruler, quad_for(ruler.shape, cx, ry, ruler.shape[1], angle * 0.5))
    alpha = paste_warped(canvas, patch, quad)
    if setting != "hand":
        cast_shadow(canvas, alpha, max(1, w // 250), max(1, h // 200), max(3, w // 120), 0.3)
    if str(spec["tag_style"]) in ("hand_string", "card_tag") and setting != "sole":
        hole = quad[0] * 0.5 + quad[1] * 0.5 + (quad[3] - quad[0]) * 0.12
        color = ("#f4f1ea", "#b0342c", "#a88150", "#222222")[int(rng.integers(0, 4))]
        draw_string(canvas, rng, (float(hole[0]), float(hole[1])), color, max(2, w // 300))
    if setting == "hand":
        draw_hand(canvas, (float(grip[0]), float(grip[1])), width * 0.9, True, skin)
    return alpha, quad


def shop_tag_scene(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A photo of the shop's internal price tag in its setting. Output float32 (h, w, 3)."""
    canvas = _setting_background(rng, spec, h, w)
    patch = to_patch(tag_artwork(rng, spec), rng)
    style = str(spec["tag_style"])
    frac = {"sticker": 0.45, "masking_tape": 0.55, "printer_label": 0.7}.get(style, 0.42)
    frac *= float(rng.uniform(0.8, 1.25))
    alpha, _ = place_on_setting(rng, canvas, patch, spec, frac)
    if bool(spec.get("tag_glossy", False)) or rng.random() < 0.15:
        add_glare(canvas, rng, alpha, float(rng.uniform(0.3, 0.8)))
    return canvas
