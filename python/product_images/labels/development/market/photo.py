"""Composing one photo of a given kind from its spec: scene, product, tag or negative, camera.

:func:`render` is the renderer's ``render_photo``: it seeds its generator from the photo's
seed and a CRC of its spec (never ``hash()``), draws at a working resolution of at most
1024 px on the long side, and encodes at the spec's output size.
"""

from __future__ import annotations

import zlib
from typing import Any

import cv2
import numpy as np

from ...evaluation.sets import EvalPhoto
from .camera import blur, encode, glare, light, noise, paste
from .garments import draw_product
from .ink import card, fit_text, text
from .negatives import draw_negative
from .scenes import background, fabric, hex_rgb, shade, smooth_noise
from .tags import draw_tag

__all__ = ["render"]

WORK_MAX = 1024
_SKIN = ("#e8b996", "#d9a27c", "#b57a55", "#8a5a3b", "#f1c8a8", "#6b4530")


def _fabric_fill(spec: dict[str, Any], rng: np.random.Generator, h: int, w: int, seam: bool) -> np.ndarray:
    """A frame filled with the product's fabric (a close view), with soft folds and maybe a seam."""
    unit = float(spec.get("unit", 0.05)) * max(h, w) * rng.uniform(1.5, 3.0)
    img = fabric(str(spec["pattern"]), h, w, rng, str(spec["color"]), str(spec["color2"]), unit)
    img = shade(img, smooth_noise(h, w, rng, max(h, w) * 0.25, 0.07, 0.98))
    if seam:
        y = int(h * rng.uniform(0.12, 0.3))
        dark = tuple(int(v * 0.7) for v in hex_rgb(str(spec["color"])))
        cv2.line(img, (0, y), (w, y + int(rng.uniform(-0.05, 0.05) * h)), dark, max(2, h // 60), cv2.LINE_AA)
        for x in range(0, w, max(6, w // 70)):
            yy = y + int(h * 0.02)
            cv2.line(img, (x, yy), (x + max(3, w // 140), yy), (220, 210, 180), max(1, h // 400), cv2.LINE_AA)
    return img


def _product_scene(spec: dict[str, Any], rng: np.random.Generator, h: int, w: int, back: bool) -> np.ndarray:
    """The product lying (or hanging) on the spec's background, filling most of the frame."""
    frame = background(str(spec["bg"]), h, w, rng, str(spec["bg_color"]))
    cat = str(spec["category"])
    k = 0.62 if cat in ("shoes", "bag", "jewellery") else 0.88
    size = min(h, w) * rng.uniform(k - 0.12, k)
    cx, cy = w / 2 + rng.normal(0, 0.04) * w, h / 2 + rng.normal(0, 0.03) * h
    if str(spec["bg"]) == "wall" and cat not in ("shoes", "bag", "jewellery"):
        top = cy - size / 2
        pts = np.array(
            [[cx - size * 0.36, top + size * 0.1], [cx, top - size * 0.02], [cx + size * 0.36, top + size * 0.1]],
            np.int32,
        )
        cv2.polylines(frame, [pts], False, (70, 50, 35), max(2, int(size * 0.012)), cv2.LINE_AA)
        cv2.ellipse(
            frame,
            (int(cx), int(top - size * 0.07)),
            (int(size * 0.03), int(size * 0.05)),
            0,
            180,
            420,
            (150, 150, 150),
            max(2, int(size * 0.006)),
            cv2.LINE_AA,
        )
    draw_product(frame, spec, rng, cx, cy, size, float(rng.uniform(-8, 8)), back)
    return frame


def _detail_scene(spec: dict[str, Any], rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A zoomed view of part of the product: it is drawn about 2.5× larger than the frame."""
    frame = background(str(spec["bg"]), h, w, rng, str(spec["bg_color"]))
    size = max(h, w) * rng.uniform(1.8, 2.8)
    draw_product(
        frame,
        spec,
        rng,
        w / 2 + rng.uniform(-0.4, 0.4) * size / 2,
        h / 2 + rng.uniform(-0.4, 0.4) * size / 2,
        size,
        float(rng.uniform(-15, 15)),
    )
    return frame


def _printed_tee(spec: dict[str, Any], rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A flat-lay tee with a big print (numbers or words) across the chest."""
    frame = _product_scene(dict(spec, category="tee", pattern="plain"), rng, h, w, False)
    ink_col = str(spec["print_color"])
    if abs(float(hex_rgb(ink_col).mean()) - float(hex_rgb(str(spec["color"])).mean())) < 90:
        ink_col = "#1f1f22" if hex_rgb(str(spec["color"])).mean() > 128 else "#f0ece0"
    words = str(spec["print_text"]).split("|")
    pw = int(min(h, w) * 0.42)
    sprite = np.full((int(pw * 0.26 * len(words)) + 4, pw, 4), 255, np.uint8)
    for i, wd in enumerate(words):
        fname = str(spec.get("print_font", "display_bold"))
        text(sprite, (pw / 2, pw * 0.13 * (2 * i + 1)), wd, fname, fit_text(wd, fname, 0.95 * pw, 0.22 * pw), "#000000")
    # the text is inked black on white: its coverage becomes the print's alpha, the colour is flat
    cover = 255 - cv2.cvtColor(sprite[..., :3], cv2.COLOR_RGB2GRAY)
    sprite[..., 3] = (cover.astype(np.float32) * 0.92).astype(np.uint8)
    sprite[..., :3] = hex_rgb(ink_col).astype(np.uint8)
    paste(frame, sprite, w / 2, h / 2 - min(h, w) * 0.02, pw, float(rng.uniform(-6, 6)), 0.05, rng, shadow=0)
    return frame


def _label_scene(kind: str, spec: dict[str, Any], rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A label (brand, care, size, retail tag, tape) photographed on the garment or beside it."""
    if kind == "measuring_tape":
        frame = _product_scene(spec, rng, h, w, False)
        ppm = min(h, w) * 1.1 / 250
        sprite = draw_negative(kind, spec, rng, ppm)
        paste(frame, sprite, w / 2, h / 2, sprite.shape[1], float(rng.uniform(-30, 30)), 0.05, rng, 0.25)
        return frame
    if kind == "shoe_box":
        frame = background(str(spec["bg"]), h, w, rng, str(spec["bg_color"]))
        box = card(int(w * 0.9), int(h * 0.5), str(spec["box_color"]))
        paste(frame, box, w / 2, h * 0.55, w * 0.9, float(rng.uniform(-4, 4)), 0.1, rng, 0.45)
        sprite = draw_negative(kind, spec, rng, 6.0)
        paste(
            frame,
            sprite,
            w / 2 + rng.uniform(-0.1, 0.1) * w,
            h * 0.55,
            w * rng.uniform(0.45, 0.7),
            float(rng.uniform(-5, 5)),
            0.1,
            rng,
            0.1,
        )
        return frame
    on_garment = kind != "retail_tag" or rng.random() < 0.6
    frame = (
        _fabric_fill(spec, rng, h, w, kind != "retail_tag")
        if on_garment
        else background(str(spec["bg"]), h, w, rng, str(spec["bg_color"]))
    )
    sprite = draw_negative(kind, spec, rng, 8.0)
    frac = {"brand_label": 0.6, "care_label": 0.35, "size_label": 0.3, "retail_tag": 0.4}[kind]
    width = min(h, w) * frac * rng.uniform(0.8, 1.3)
    paste(
        frame,
        sprite,
        w / 2 + rng.normal(0, 0.08) * w,
        h / 2 + rng.normal(0, 0.08) * h,
        width,
        float(rng.uniform(-20, 20)),
        0.25,
        rng,
        0.3,
    )
    return frame


def _hand(frame: np.ndarray, rng: np.random.Generator, cx: float, cy: float, r: float, front: bool) -> None:
    """Draw fingers behind a tag (``front`` False) or a thumb over its edge (``front`` True), in place.

    Fingers are shaded capsules (a darker rim, a lighter ridge, a nail) in one of a few skin tones.
    """
    skin = hex_rgb(_SKIN[int(rng.integers(0, len(_SKIN)))])
    h, w = frame.shape[:2]
    if front:
        ends = [((cx - 0.1 * r, cy + 0.2 * r), (cx - 0.9 * r, h + r))]
    else:
        ang = rng.uniform(-0.3, 0.3)
        ends = [
            (
                (cx + (0.6 + 0.1 * i) * r, cy + (i - 1.2) * 0.62 * r),
                (cx + 4 * r, cy + (i - 1.2) * 0.62 * r + ang * 4 * r),
            )
            for i in range(4)
        ]
    for (x0, y0), (x1, y1) in ends:
        t = max(6, int(r * 0.55))
        col = skin * rng.uniform(0.93, 1.05)
        p0, p1 = (int(x0), int(y0)), (int(x1), int(y1))
        cv2.line(
            frame, (p0[0] + t // 5, p0[1] + t // 4), (p1[0] + t // 5, p1[1] + t // 4), (45, 40, 38), t, cv2.LINE_AA
        )
        cv2.line(frame, p0, p1, tuple(float(v) * 0.78 for v in col), t, cv2.LINE_AA)
        cv2.line(frame, p0, p1, tuple(float(v) for v in col), int(t * 0.75), cv2.LINE_AA)
        cv2.line(frame, p0, p1, tuple(min(255.0, float(v) * 1.08) for v in col), max(1, int(t * 0.3)), cv2.LINE_AA)
        d = np.array([x1 - x0, y1 - y0], np.float32)
        d /= max(1e-6, float(np.hypot(*d)))
        nail = (int(x0 + d[0] * t * 0.35), int(y0 + d[1] * t * 0.35))
        ang_deg = float(np.degrees(np.arctan2(d[1], d[0])))
        cv2.ellipse(
            frame,
            nail,
            (int(t * 0.32), int(t * 0.24)),
            ang_deg,
            0,
            360,
            tuple(min(255.0, float(v) * 1.12 + 10) for v in col),
            -1,
            cv2.LINE_AA,
        )


def _tag_scene(spec: dict[str, Any], rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """The shop's tag: flat on the background, on the garment, or held in a hand; angle, glare."""
    style, scene = str(spec["tag_style"]), str(spec["tag_scene"])
    if scene == "garment" or style in ("dot", "tape"):
        frame = _fabric_fill(spec, rng, h, w, rng.random() < 0.4)
    else:
        frame = background(str(spec["bg"]), h, w, rng, str(spec["bg_color"]))
        if scene == "hand":
            frame = cv2.GaussianBlur(frame, (0, 0), 3)
        elif rng.random() < 0.5:
            draw_product(
                frame,
                spec,
                rng,
                w * rng.choice([0.0, 1.0]),
                h * rng.uniform(0.2, 0.8),
                min(h, w) * 1.1,
                float(rng.uniform(-30, 30)),
            )
    mm = {"swing": 45, "printer": 50, "qr": 40, "dot": 19, "tape": 60}[style] * float(spec.get("tag_scale", 1.0))
    frac = float(spec["tag_frac"])
    target = min(h, w) * frac
    sprite = draw_tag(spec, rng, max(3.0, target / mm * 1.15))
    cx, cy = w / 2 + rng.normal(0, 0.08) * w, h / 2 + rng.normal(0, 0.08) * h
    angle = float(spec["tag_angle"])
    if scene == "hand":
        _hand(frame, rng, cx, cy, target * 0.35, False)
    corners = paste(
        frame,
        sprite,
        cx,
        cy,
        target * sprite.shape[1] / max(sprite.shape[1], 1),
        angle,
        float(spec["tag_tilt"]),
        rng,
        0.3 if scene != "hand" else 0.5,
    )
    if scene == "hand":
        bx, by = corners[[2, 3]].mean(0)
        _hand(frame, rng, float(bx), float(by), target * 0.35, True)
    if bool(spec.get("glare", False)):
        gx, gy = corners.mean(0) + rng.normal(0, 0.15, 2) * target
        glare(frame, rng, float(gx), float(gy), target * rng.uniform(0.15, 0.35))
    return frame


def _scene(kind: str, spec: dict[str, Any], rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Dispatch on the photo's kind; returns the drawn uint8 RGB frame before the camera effects."""
    if kind == "shop_tag":
        return _tag_scene(spec, rng, h, w)
    if kind == "detail":
        return _detail_scene(spec, rng, h, w)
    if kind == "closeup":
        return _fabric_fill(spec, rng, h, w, rng.random() < 0.5)
    if kind == "printed_tee":
        return _printed_tee(spec, rng, h, w)
    if kind in ("brand_label", "care_label", "size_label", "retail_tag", "shoe_box", "measuring_tape"):
        return _label_scene(kind, spec, rng, h, w)
    return _product_scene(spec, rng, h, w, str(spec.get("view", "front")) == "back")


def render(photo: EvalPhoto) -> bytes:
    """Draw and encode one photo (``render_photo``): same bytes for the same photo in any process."""
    spec = dict(photo.spec)
    crc = zlib.crc32(repr(photo.spec).encode("utf-8"))
    rng = np.random.default_rng([int(photo.seed) & 0xFFFFFFFF, crc])
    out_w, out_h = int(spec["width"]), int(spec["height"])
    s = min(1.0, WORK_MAX / max(out_w, out_h))
    w, h = max(64, int(out_w * s)), max(64, int(out_h * s))
    frame = _scene(photo.kind, spec, rng, h, w)
    frame = light(frame, rng, str(spec["light"]))
    frame = blur(frame, rng, str(spec["blur"]))
    sigma = float(spec["noise"]) * (2.2 if spec["light"] == "dim" else 1.0)
    if sigma > 0:
        frame = noise(frame, rng, sigma)
    return encode(frame, out_w, out_h, str(spec["fmt"]), int(spec["quality"]))
