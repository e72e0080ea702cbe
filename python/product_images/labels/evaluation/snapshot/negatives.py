"""Hard-negative photos: labels, boxes, tapes and papers that are NOT the shop's price tag.

Kinds: ``brand_label``, ``care_label``, ``size_label``, ``printed_tee``, ``shoe_box``,
``measuring_tape``, ``closeup``, ``paper_insert`` (a receipt or care booklet) and
``retail_tag`` (the brand's own "new with tags" hang tag). Each scene takes
(rng, spec, h, w) and returns a float32 (h, w, 3) RGB image in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.random import Generator
from PIL import Image, ImageDraw

from .codes import draw_ean13
from .fonts import load_font
from .garments import fabric, item_patch
from .paper import card, ink_tuple, print_text, to_patch
from .scenes import garment_scene, place
from .tags import place_on_setting
from .texture import SpecDict, cast_shadow, make_background

__all__ = ["NEGATIVE_SCENES"]

_WOVEN = (("#111111", "#f2efe6"), ("#f4f1e8", "#1a1a2e"), ("#1d2a4d", "#e8d9a8"), ("#7a1f24", "#f0e6d0"))


def _inside(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """The inside of the garment near the collar/seam: fabric with a seam line. (h, w, 3)."""
    img = fabric(rng, h, w, spec) * 0.88
    y = int(h * rng.uniform(0.08, 0.22))
    img[:y] *= 0.8
    cv2.line(img, (0, y), (w, y + int(rng.normal(0, h * 0.03))), (0.2, 0.2, 0.2), max(2, w // 250), cv2.LINE_AA)
    return np.clip(img, 0, 1)


def _woven(img: Image.Image, rng: Generator) -> np.ndarray:
    """Give label artwork a woven look (horizontal threads, soft edges): float RGBA."""
    arr = to_patch(img, rng, 0.02, 0.05)
    h = arr.shape[0]
    threads = 1.0 - 0.08 * ((np.arange(h) // 2) % 2)[:, None]
    arr[..., :3] *= threads[..., None]
    arr[..., :3] = cv2.GaussianBlur(arr[..., :3], (3, 3), 0)
    return arr


def _brand_label(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A woven brand label sewn inside the neck or waistband."""
    canvas = _inside(rng, spec, h, w)
    bg, fg = _WOVEN[int(rng.integers(0, len(_WOVEN)))]
    brand = str(spec["brand"]) if spec["brand"] != "Vintage" else str(spec.get("label_name", "St Michael"))
    lw, lh = 640, int(640 * rng.uniform(0.3, 0.5))
    img = card(lw, lh, bg, "rect", False)
    font = ("serif_bold", "sans_bold", "dv_serif_bold", "serif_italic")[int(rng.integers(0, 4))]
    size = min(int(lh * 0.42), int(lw * 1.5 / max(4, len(brand))))
    print_text(img, (lw / 2, lh * 0.45), brand, font, size, fg, "mm")
    if rng.random() < 0.6:
        where = ("MADE IN ITALY", "MADE IN PORTUGAL", "MADE IN CHINA", "DESIGNED IN PARIS")[int(rng.integers(0, 4))]
        print_text(img, (lw / 2, lh * 0.85), where, "sans", int(lh * 0.11), fg, "mm")
    d = ImageDraw.Draw(img)
    for x in (12, lw - 12):
        for y in range(6, lh, 14):
            d.line([(x, y), (x, y + 7)], fill=ink_tuple(fg), width=3)
    patch = _woven(img, rng)
    width = w * rng.uniform(0.5, 0.8)
    alpha = place(
        canvas,
        patch,
        w * rng.uniform(0.4, 0.6),
        h * rng.uniform(0.35, 0.55),
        width,
        float(rng.normal(0, 8)),
        float(rng.uniform(0, 0.15)),
    )
    cast_shadow(canvas, alpha, 2, 3, max(3, w // 150), 0.3)
    return canvas


def _symbols(d: ImageDraw.ImageDraw, x: int, y: int, s: int, rng: Generator) -> None:
    """Draw a row of five laundry symbols, each ``s`` px, starting at (x, y)."""
    ink = (40, 40, 40)
    t = max(2, s // 14)
    d.line([(x, y), (x + s * 0.12, y + s), (x + s * 0.88, y + s), (x + s, y)], fill=ink, width=t)
    d.arc([x + s * 0.05, y - s * 0.1, x + s * 0.5, y + s * 0.25], 0, 180, fill=ink, width=t)
    d.text(
        (x + s * 0.5, y + s * 0.62),
        ("30", "40", "60")[int(rng.integers(0, 3))],
        font=load_font("dv_sans", s // 3),
        fill=ink,
        anchor="mm",
    )
    x += int(s * 1.3)
    d.polygon([(x, y + s), (x + s / 2, y), (x + s, y + s)], outline=ink, width=t)
    d.line([(x, y), (x + s, y + s)], fill=ink, width=t)
    d.line([(x + s, y), (x, y + s)], fill=ink, width=t)
    x += int(s * 1.3)
    d.rectangle([x, y, x + s, y + s], outline=ink, width=t)
    d.ellipse([x + s * 0.15, y + s * 0.15, x + s * 0.85, y + s * 0.85], outline=ink, width=t)
    x += int(s * 1.3)
    d.polygon(
        [(x, y + s), (x + s * 0.2, y + s * 0.3), (x + s * 0.85, y + s * 0.3), (x + s, y + s)], outline=ink, width=t
    )
    d.ellipse([x + s * 0.45, y + s * 0.6, x + s * 0.58, y + s * 0.73], fill=ink)
    x += int(s * 1.3)
    d.ellipse([x, y, x + s, y + s], outline=ink, width=t)
    d.text((x + s / 2, y + s / 2), "P", font=load_font("dv_sans", s // 2), fill=ink, anchor="mm")


def _care_label(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A satin care label with fibre composition and washing symbols, hanging from a seam."""
    canvas = _inside(rng, spec, h, w)
    lw, lh = 420, 760
    img = card(lw, lh, ("#f7f6f2", "#ece8dc", "#fafafa")[int(rng.integers(0, 3))], "rect", False)
    d = ImageDraw.Draw(img)
    pct = int(rng.choice([100, 95, 80, 70, 60, 55]))
    fib1, fib2 = [("COTTON", "ELASTANE"), ("POLYESTER", "VISCOSE"), ("WOOL", "POLYAMIDE"), ("LINEN", "COTTON")][
        int(rng.integers(0, 4))
    ]
    lines = [f"{pct}% {fib1}", f"{pct}% {fib1.title()}o" if rng.random() < 0.5 else f"{pct}% BAUMWOLLE"]
    if pct < 100:
        lines += [f"{100 - pct}% {fib2}"]
    lines += [
        "",
        "MADE IN " + ("BANGLADESH", "TURKEY", "INDIA", "CHINA", "VIETNAM")[int(rng.integers(0, 5))],
        f"RN {int(rng.integers(10000, 150000))}",
        f"CA {int(rng.integers(10000, 60000))}",
        "WASH INSIDE OUT",
        "LAVER A L'ENVERS",
    ]
    font = ("sans", "dv_sans", "mono")[int(rng.integers(0, 3))]
    y = 40
    for line in lines:
        print_text(img, (lw / 2, y), line, font, 30, "#333333", "ma")
        y += 40
    _symbols(d, 24, lh - 140, 62, rng)
    patch = _woven(img, rng)
    width = min(w, h) * rng.uniform(0.35, 0.55)
    alpha = place(
        canvas,
        patch,
        w * rng.uniform(0.4, 0.6),
        h * rng.uniform(0.45, 0.55),
        width,
        float(rng.normal(0, 15)),
        float(rng.uniform(0, 0.15)),
    )
    cast_shadow(canvas, alpha, 3, 4, max(3, w // 120), 0.3)
    return canvas


def _size_label(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A size tag ("L", "42", "US 9") sewn in, or a shoe's tongue size table."""
    canvas = _inside(rng, spec, h, w)
    size = str(spec["size_text"])
    bg, fg = _WOVEN[int(rng.integers(0, len(_WOVEN)))]
    if str(spec["category"]) in ("sneakers", "boots", "heels"):
        img = card(560, 420, "#f4f4f0", "rounded", False)
        rows = [f"US {size}", f"UK {spec.get('uk', '8')}", f"EUR {spec.get('eu', '42')}", f"CM {spec.get('cm', '27')}"]
        for i, row in enumerate(rows):
            print_text(img, (40 + (i % 2) * 260, 60 + (i // 2) * 110), row, "sans_bold", 54, "#222222")
        print_text(
            img,
            (40, 300),
            f"{str(spec['brand']).upper()[:8]} {int(rng.integers(100000, 999999))}-{int(rng.integers(100, 999))}",
            "dv_mono",
            36,
            "#222222",
        )
        print_text(img, (40, 360), "MADE IN VIETNAM", "sans", 28, "#444444")
    else:
        img = card(300, 300, bg, "rect", False)
        print_text(img, (150, 150), size, "sans_bold", int(min(200, 420 / max(1, len(size)))), fg, "mm")
    patch = _woven(img, rng)
    width = min(w, h) * rng.uniform(0.3, 0.55)
    alpha = place(
        canvas,
        patch,
        w * rng.uniform(0.4, 0.6),
        h * rng.uniform(0.4, 0.6),
        width,
        float(rng.normal(0, 12)),
        float(rng.uniform(0, 0.2)),
    )
    cast_shadow(canvas, alpha, 2, 3, max(3, w // 150), 0.3)
    return canvas


def _printed_tee(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A t-shirt flat lay with a printed number or slogan on the chest."""
    text = str(spec.get("print_text", "23"))
    tee = {**spec, "category": "tee", "pattern": "plain"}
    canvas = make_background(rng, str(spec.get("bg", "wood")), h, w, str(spec.get("bg_color", "#c8b89a")))
    width = min(w * 0.85, h * 0.85 * 0.95)
    patch = item_patch(rng, tee, int(width))
    pil = Image.fromarray((patch[..., :3] * 255).astype(np.uint8))
    ink = ("#f2f2f2", "#111111", "#c0282d", "#f0c419", "#1f4e9c")[int(rng.integers(0, 5))]
    font = ("sans_bold", "serif_bold", "dv_sans_bold", "mono_bold")[int(rng.integers(0, 4))]
    pw = pil.width
    size = int(min(pw * 0.32, pw * 0.9 / max(2, len(text)) * 1.6))
    for i, part in enumerate(text.split("\n")):
        print_text(pil, (pw / 2, pil.height * 0.3 + i * size * 1.1), part, font, size, ink, "ma")
    patch[..., :3] = np.asarray(pil, np.float32) / 255.0 * (0.85 + 0.15 * patch[..., 3:4])
    alpha = place(canvas, patch, w / 2, h / 2, width, float(rng.normal(0, 3)), float(rng.uniform(0, 0.08)))
    cast_shadow(canvas, alpha, w // 120, h // 100, w // 50, 0.3)
    return canvas


def _shoe_box(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """The end of a shoe box with its label: brand, style, size, barcode; no price."""
    canvas = make_background(rng, "concrete" if rng.random() < 0.5 else "wood", h, w, "#9a8a78")
    box_col = ("#e8682a", "#c9a77c", "#f2f2f2", "#202020", "#2b4a8b")[int(rng.integers(0, 5))]
    bw, bh = 1000, 380
    box = card(bw, bh, box_col, "rect", False)
    lab = card(560, 320, "#fbfbf8", "rect", False)
    brand = str(spec["brand"]).upper()
    print_text(lab, (20, 16), brand, "sans_bold", 40)
    print_text(lab, (20, 66), f"STYLE {int(rng.integers(100000, 999999))}-{int(rng.integers(100, 999))}", "dv_mono", 24)
    print_text(lab, (20, 98), str(spec.get("model", "RUNNER")).upper()[:24], "sans", 24)
    size = str(spec["size_text"])
    print_text(lab, (540, 16), f"US {size}", "sans_bold", 52, "#000000", "ra")
    print_text(lab, (540, 80), f"UK {spec.get('uk', '8')}  EUR {spec.get('eu', '42')}", "sans", 24, "#000000", "ra")
    first = str(spec.get("box_ean", "088544012345"))
    lab.paste(draw_ean13(first, module=2, height=100), (20, 140))
    print_text(lab, (540, 290), "MADE IN VIETNAM", "sans", 20, "#333333", "rs")
    box.paste(lab, (bw - 600, 30))
    print_text(
        box,
        (40, bh - 60),
        brand,
        "sans_bold",
        90,
        "#ffffff" if box_col in ("#202020", "#2b4a8b", "#e8682a") else "#222222",
        "ls",
    )
    patch = to_patch(box, rng, 0.05, 0.05)
    alpha = place(
        canvas, patch, w / 2, h / 2, w * rng.uniform(0.75, 0.98), float(rng.normal(0, 6)), float(rng.uniform(0, 0.2))
    )
    cast_shadow(canvas, alpha, w // 80, h // 60, w // 40, 0.4)
    return canvas


def _tape_patch(rng: Generator, length: int, start_cm: int) -> np.ndarray:
    """A tailor's measuring tape ``length`` px long, numbered every cm: float RGBA."""
    h = max(24, length // 16)
    col = ((245, 220, 40), (250, 250, 245), (250, 250, 245))[int(rng.integers(0, 3))]
    img = Image.new("RGBA", (length, h), col + (255,))
    d = ImageDraw.Draw(img)
    cm = length / float(rng.uniform(20, 45))
    font = load_font("dv_sans_bold", int(h * 0.42))
    for i in range(int(length / cm) + 1):
        x = int(i * cm)
        d.line([(x, 0), (x, h * 0.3)], fill=(20, 20, 20), width=2)
        d.line([(x + cm / 2, 0), (x + cm / 2, h * 0.18)], fill=(20, 20, 20), width=1)
        num = start_cm + i
        d.text(
            (x + cm / 2, h * 0.65),
            str(num),
            font=font,
            fill=(200, 30, 30) if num % 10 == 0 else (20, 20, 20),
            anchor="mm",
        )
    return to_patch(img, rng, 0.02, 0.03)


def _measuring_tape(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """The item flat with a tailor's tape measuring across it."""
    canvas = garment_scene(rng, {**spec, "view": "flat"}, h, w)
    tape = _tape_patch(rng, int(max(w, h) * 1.3), int(rng.integers(0, 60)))
    place(
        canvas, tape, w * rng.uniform(0.4, 0.6), h * rng.uniform(0.3, 0.7), tape.shape[1], float(rng.uniform(-30, 30))
    )
    return canvas


def _closeup(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A macro close-up of the fabric or leather, sometimes softly focused."""
    small = fabric(rng, max(8, h // 4), max(8, w // 4), spec)
    img = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    img *= (0.85 + 0.3 * np.linspace(0, 1, w, dtype=np.float32))[None, :, None]
    if rng.random() < 0.4:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), w / 300), np.float32)
    return np.clip(img, 0, 1)


def _paper_insert(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A thermal receipt or a small care booklet lying on the table."""
    canvas = make_background(rng, "wood", h, w, str(spec.get("table_color", "#b89570")))
    brand = str(spec["brand"]) if spec["brand"] != "Vintage" else str(spec.get("label_name", "Gap"))
    if rng.random() < 0.5:
        img = card(420, 900, "#f6f5f0", "rect", False)
        print_text(img, (210, 40), brand.upper(), "dv_sans_bold", 38, "#222222", "ma")
        y = 120
        for _ in range(int(rng.integers(4, 9))):
            print_text(img, (30, y), f"{int(rng.integers(1000000, 9999999))} ART", "dv_mono", 24, "#333333")
            print_text(img, (390, y), f"{rng.uniform(5, 80):.2f}", "dv_mono", 24, "#333333", "ra")
            y += 40
        print_text(img, (30, y + 40), f"VISA ****{int(rng.integers(1000, 9999))}", "dv_mono", 24, "#333333")
        print_text(
            img,
            (30, y + 80),
            f"{int(rng.integers(1, 28)):02d}/{int(rng.integers(1, 12)):02d}/20{int(rng.integers(15, 24))}",
            "dv_mono",
            24,
            "#333333",
        )
    else:
        img = card(600, 420, ("#ffffff", "#efe9dc", "#1b1b1b")[int(rng.integers(0, 3))], "rect", False)
        dark = np.asarray(img)[10, 10, 0] < 100
        ink = "#eeeeee" if dark else "#222222"
        print_text(img, (300, 90), brand, "serif_bold", 64, ink, "mm")
        print_text(img, (300, 200), "CARE INSTRUCTIONS", "sans", 30, ink, "mm")
        print_text(img, (300, 250), "Thank you for choosing us", "serif_italic", 26, ink, "mm")
    patch = to_patch(img, rng, 0.03, 0.07)
    width = min(w, h) * rng.uniform(0.45, 0.75) * (patch.shape[1] / max(patch.shape[:2]))
    alpha = place(canvas, patch, w / 2, h / 2, width * 1.4, float(rng.normal(0, 15)), float(rng.uniform(0, 0.2)))
    cast_shadow(canvas, alpha, w // 150, h // 120, w // 60, 0.35)
    return canvas


def _retail_artwork(rng: Generator, spec: SpecDict) -> Image.Image:
    """The brand's hang tag: logo, style number, size, barcode, maybe a retail price."""
    paper = str(spec.get("rt_paper", "#111111"))
    img = card(440, 720, paper, ("rect", "rounded", "notched")[int(spec.get("rt_shape", 0))], hole=True)
    dark = ink_tuple(paper)[0] < 100
    ink = "#f5f5f5" if dark else "#151515"
    brand = str(spec["brand"]) if spec["brand"] != "Vintage" else str(spec.get("label_name", "Gap"))
    size = min(84, int(440 * 1.6 / max(4, len(brand))))
    print_text(img, (220, 190), brand, str(spec.get("rt_font", "serif_bold")), size, ink, "mm")
    print_text(img, (220, 300), f"STYLE {spec.get('style_no', '4471-203')}", "dv_sans", 24, ink, "mm")
    print_text(
        img, (220, 340), f"SIZE {spec['size_text']}   COL. {spec.get('color_code', '001')}", "dv_sans", 24, ink, "mm"
    )
    if str(spec.get("retail_price", "")):
        print_text(img, (220, 420), str(spec["retail_price"]), "dv_sans_bold", 52, ink, "mm")
    white = Image.new("RGB", (360, 200), (255, 255, 255))
    bc = draw_ean13(str(spec.get("box_ean", "400638133393")), module=2, height=120)
    white.paste(bc, ((360 - bc.width) // 2, 20))
    img.paste(white, (40, 480))
    return img


def _retail_tag(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A brand's own retail hang tag, in hand or on the garment or table."""
    setting = str(spec.get("neg_setting", "garment"))
    canvas = (
        np.clip(fabric(rng, h, w, spec), 0, 1)
        if setting in ("garment", "hand")
        else make_background(rng, "wood", h, w, str(spec.get("table_color", "#b89570")))
    )
    patch = to_patch(_retail_artwork(rng, spec), rng)
    spec2 = {**spec, "tag_setting": setting, "tag_style": "card_tag"}
    place_on_setting(rng, canvas, patch, spec2, float(rng.uniform(0.35, 0.55)))
    return canvas


NEGATIVE_SCENES = {
    "brand_label": _brand_label,
    "care_label": _care_label,
    "size_label": _size_label,
    "printed_tee": _printed_tee,
    "shoe_box": _shoe_box,
    "measuring_tape": _measuring_tape,
    "closeup": _closeup,
    "paper_insert": _paper_insert,
    "retail_tag": _retail_tag,
}
