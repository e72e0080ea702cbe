"""Whole-item, detail and close-up scenes of the ``thrift`` renderer (no labels).

Each scene function takes a numpy Generator, the photo spec (dict) and the frame size
(w, h in px) and returns a float32 (h, w, 3) image with values 0–255.
"""

from __future__ import annotations

import cv2
import numpy as np

from .canvas import Arr, background, fabric, hex_rgb, ink, smooth, speckle, text_mask
from .garments import SHAPES, draw_item

__all__ = [
    "closeup_scene",
    "detail_scene",
    "fabric_scene",
    "garment_scene",
    "garment_scene_box",
    "printed_tee_scene",
    "sole_scene",
]


def _hanger(img: Arr, cx: int, top: int, width: int, rng: np.random.Generator) -> int:
    """Draw a hanger (hook and bar) centred at ``cx``; return the y (px) of its shoulder bar."""
    kinds = ((120, 80, 45), (30, 30, 30), (235, 235, 235), (170, 170, 175))
    col = tuple(float(c) for c in kinds[rng.integers(len(kinds))])
    t = max(2, width // 60)
    bar = top + width // 5
    cv2.ellipse(img, (cx, top + t * 3), (t * 3, t * 3), 0, 180, 400, (160, 160, 165), max(1, t // 2), cv2.LINE_AA)
    cv2.line(img, (cx, top + t * 6), (cx, bar - t * 2), (160, 160, 165), max(1, t // 2), cv2.LINE_AA)
    cv2.line(img, (cx - width // 2, bar), (cx, bar - t * 3), col, t, cv2.LINE_AA)
    cv2.line(img, (cx + width // 2, bar), (cx, bar - t * 3), col, t, cv2.LINE_AA)
    return bar


def _mannequin(img: Arr, cx: int, top: int, width: int, height: int, rng: np.random.Generator) -> None:
    """Draw a dress-form torso (neck, shoulders, pole) centred at ``cx`` from ``top`` px."""
    tones = ((235, 232, 225), (40, 40, 40), (200, 185, 160))
    col = tuple(float(c) for c in tones[rng.integers(len(tones))])
    neck = max(4, width // 8)
    cv2.rectangle(img, (cx - neck // 2, top - width // 6), (cx + neck // 2, top + 5), col, -1)
    cv2.ellipse(img, (cx, top - width // 6), (neck // 2 + 2, neck // 4 + 1), 0, 0, 360, tuple(c * 0.8 for c in col), -1)
    cv2.ellipse(img, (cx, top + width // 10), (width // 2, width // 8), 0, 180, 360, col, -1, cv2.LINE_AA)
    cv2.line(img, (cx, top + height), (cx, img.shape[0]), (70, 60, 50), max(3, width // 25), cv2.LINE_AA)


def garment_scene(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return a whole-item photo: hanger, flat lay, mannequin or a pair of shoes (h, w, 3)."""
    return garment_scene_box(rng, spec, w, h)[0]


def garment_scene_box(rng: np.random.Generator, spec: dict, w: int, h: int) -> tuple[Arr, tuple[int, int, int, int]]:
    """Return (whole-item photo (h, w, 3), the item's box (x, y, w, h) px)."""
    view = str(spec.get("view", "flat"))
    img = background(rng, str(spec["bg"]), h, w)
    garment = str(spec["garment"])
    _, aspect = SHAPES[garment]
    fill = rng.uniform(0.55, 0.85)
    bw = int(min(w * fill, h * fill / aspect))
    bh = int(bw * aspect)
    cx = int(w / 2 + rng.uniform(-0.08, 0.08) * w)
    y = int((h - bh) / 2 + rng.uniform(-0.05, 0.05) * h)
    if view == "hanger":
        y = _hanger(img, cx, max(2, y - bw // 4), int(bw * 0.7), rng)
    elif view == "mannequin":
        _mannequin(img, cx, y, int(bw * 0.62), bh, rng)
    if garment in ("sneakers", "boots"):
        if view == "pair":
            draw_item(rng, img, spec, (cx - bw // 2 - bw // 10, y - bh // 3, int(bw * 0.9), int(bh * 0.9)), True)
            draw_item(rng, img, spec, (cx - bw // 2 + bw // 10, y + bh // 3, bw, bh), True)
            return img, (cx - bw // 2 + bw // 10, y + bh // 3, bw, bh)
    draw_item(rng, img, spec, (cx - bw // 2, y, bw, bh), view == "flat")
    return img, (cx - bw // 2, y, bw, bh)


def fabric_scene(rng: np.random.Generator, spec: dict, w: int, h: int, unit: float) -> Arr:
    """Return the item's fabric filling the frame, with soft folds; ``unit`` is pattern scale px."""
    pattern = str(spec.get("pattern", "solid"))
    if str(spec.get("garment")) in ("sneakers", "boots", "bag"):
        pattern = "heather"
    img = fabric(rng, h, w, (str(spec["color"]), str(spec["color2"])), pattern, unit)
    img *= (1.0 + 0.13 * smooth(rng, h, w, rng.uniform(2, 5)))[..., None]
    return img


def _stain(rng: np.random.Generator, img: Arr) -> None:
    """Darken an irregular blob (a stain) somewhere near the middle of ``img``."""
    h, w = img.shape[:2]
    blob = smooth(rng, h, w, 10)
    yy = (np.arange(h, dtype=np.float32)[:, None] - h * rng.uniform(0.35, 0.65)) / (0.15 * min(h, w))
    xx = (np.arange(w, dtype=np.float32)[None, :] - w * rng.uniform(0.35, 0.65)) / (0.15 * min(h, w))
    m = np.clip(1.2 - np.sqrt(yy * yy + xx * xx) + 0.5 * blob, 0, 1) ** 0.7
    tint = np.array(rng.choice([[0.75, 0.7, 0.6], [0.8, 0.8, 0.8], [0.85, 0.75, 0.7]]), np.float32)
    img *= 1 - m[..., None] * (1 - tint)


def _zipper(img: Arr, rng: np.random.Generator) -> None:
    """Draw a vertical metal zipper (teeth and pull) across ``img`` (h, w, 3)."""
    h, w = img.shape[:2]
    x = int(w * rng.uniform(0.35, 0.65))
    tw = max(4, w // 40)
    metal = (175.0, 170.0, 160.0) if rng.random() < 0.5 else (190.0, 160.0, 80.0)
    cv2.rectangle(img, (x - tw * 2, 0), (x + tw * 2, h), (40, 40, 42), -1)
    for yy in range(0, h, max(3, tw)):
        off = tw // 2 if (yy // max(3, tw)) % 2 else -tw // 2
        cv2.rectangle(img, (x - tw + off, yy), (x + tw + off, yy + max(2, tw // 2)), metal, -1)
    py = int(h * rng.uniform(0.3, 0.6))
    cv2.rectangle(img, (x - tw * 2, py), (x + tw * 2, py + tw * 6), metal, -1, cv2.LINE_AA)


def sole_scene(rng: np.random.Generator, w: int, h: int) -> Arr:
    """Return a shoe sole filling the frame: rubber with tread grooves (h, w, 3)."""
    tones = ((235, 232, 225), (40, 40, 42), (150, 110, 70), (90, 90, 92))
    base = tones[rng.integers(len(tones))]
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    img *= (1.0 + 0.04 * speckle(rng, h, w, 2))[..., None]
    dark = tuple(float(c) * 0.6 for c in base)
    step = max(8, min(w, h) // int(rng.integers(10, 22)))
    for k in range(-h, w + h, step):
        cv2.line(img, (k, 0), (k + h // 2, h), dark, max(2, step // 4), cv2.LINE_AA)
    return img


def detail_scene(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return a detail photo (buttons, stain, seam, zipper, sole, heel) of the item (h, w, 3)."""
    view = str(spec.get("view", "seam"))
    if view == "sole":
        return sole_scene(rng, w, h)
    if view == "heel":
        img = background(rng, str(spec["bg"]), h, w)
        s = max(w, h)
        draw_item(rng, img, spec, (-s // 3, h // 6, int(s * 1.2), int(s * 1.2 * SHAPES[str(spec["garment"])][1])), True)
        return img
    img = fabric_scene(rng, spec, w, h, max(w, h) / rng.uniform(4, 9))
    if view == "stain":
        _stain(rng, img)
    elif view == "zipper":
        _zipper(img, rng)
    elif view == "buttons":
        x = int(w * rng.uniform(0.35, 0.65))
        r = max(6, min(w, h) // 14)
        col = (230.0, 225.0, 215.0) if rng.random() < 0.5 else (60.0, 45.0, 35.0)
        for k in range(3):
            cy = int(h * (0.2 + 0.3 * k))
            cv2.circle(img, (x, cy), r, col, -1, cv2.LINE_AA)
            for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
                cv2.circle(img, (x + dx * r // 3, cy + dy * r // 3), max(1, r // 8), tuple(c * 0.5 for c in col), -1)
    if view in ("seam", "buttons"):
        x = int(w * rng.uniform(0.2, 0.8))
        thread = tuple(float(c) * 0.7 for c in hex_rgb(str(spec["color"])))
        for yy in range(0, h, max(6, h // 60)):
            cv2.line(img, (x, yy), (x, yy + max(3, h // 150)), thread, max(1, w // 400), cv2.LINE_AA)
    return img


def closeup_scene(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return an extreme close-up of the fabric weave filling the frame (h, w, 3)."""
    img = fabric_scene(rng, spec, w, h, max(w, h) / rng.uniform(1.5, 3))
    period = max(4.0, min(w, h) / rng.uniform(25, 60))
    ys = np.sin(np.arange(h, dtype=np.float32) * 2 * np.pi / period)
    xs = np.sin(np.arange(w, dtype=np.float32) * 2 * np.pi / period)
    weave = ys[:, None] * xs[None, :]
    img *= (1.0 + 0.18 * weave + 0.06 * speckle(rng, h, w, 1))[..., None]
    return img


def printed_tee_scene(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return a t-shirt photo (flat or hanger) with a big printed number or word on the chest."""
    spec = dict(spec)
    spec["garment"], spec["pattern"] = "tee", "solid"
    img, (bx, by, bw, bh) = garment_scene_box(rng, spec, w, h)
    text = str(spec.get("print", "41"))
    base = hex_rgb(str(spec["color"]))
    col = (250, 250, 245) if sum(base) < 380 else (30, 30, 35)
    if rng.random() < 0.4:
        col = (200, 40, 40)
    fonts = ("liberation_sans_bold", "nimbus_roman_bold", "dejavu_sans_bold", "nimbus_narrow_bold")
    size = int(bw * (0.3 if len(text) <= 3 else 0.1))
    mask = text_mask(text, fonts[rng.integers(len(fonts))], size)
    if mask.shape[1] > bw * 0.5:
        mask = cv2.resize(
            mask, (int(bw * 0.5), max(1, int(mask.shape[0] * bw * 0.5 / mask.shape[1]))), interpolation=cv2.INTER_AREA
        )
    mask *= np.clip(0.85 + 0.2 * speckle(rng, mask.shape[0], mask.shape[1], 1), 0, 1)
    ink(img, mask, col, bx + bw // 2 - mask.shape[1] // 2, by + int(bh * 0.4) - mask.shape[0] // 2)
    return img
