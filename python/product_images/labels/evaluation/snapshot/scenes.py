"""Ordinary product photos: the item flat, on a hanger, on a mannequin, or a detail.

Every scene function takes (rng, spec, h, w) and returns a float32 (h, w, 3) RGB image
in [0, 1] at the working resolution; ``spec`` is the photo's spec as a dict.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.random import Generator

from .garments import ASPECT, fabric, item_patch, polygon_mask
from .texture import SpecDict, cast_shadow, make_background, paste_warped, rgb

__all__ = ["quad_for", "place", "garment_scene", "detail_scene", "TOPS", "BOTTOMS"]

TOPS = ("tee", "shirt", "sweater", "jacket", "coat", "dress")
BOTTOMS = ("jeans", "shorts", "skirt")


def quad_for(shape: tuple[int, ...], cx: float, cy: float, width: float, angle: float, skew: float = 0.0) -> np.ndarray:
    """Corners (4, 2) float32 px (TL, TR, BR, BL) of a patch of ``shape`` (h, w, …) placed
    centred at (cx, cy), ``width`` px wide, rotated ``angle`` deg, far edge narrowed by ``skew``.
    """
    ph, pw = shape[:2]
    hw, hh = width / 2, width * ph / pw / 2
    corners = np.array([[-hw * (1 - skew), -hh], [hw * (1 - skew), -hh], [hw, hh], [-hw, hh]], np.float32)
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    return (corners @ rot.T + np.array([cx, cy], np.float32)).astype(np.float32)


def place(
    canvas: np.ndarray, patch: np.ndarray, cx: float, cy: float, width: float, angle: float, skew: float = 0.0
) -> np.ndarray:
    """Paste RGBA ``patch`` centred at (cx, cy) px, ``width`` px wide, rotated ``angle`` deg.

    ``skew`` (0..0.3) narrows the far edge for a perspective look. Returns alpha (H, W).
    """
    return paste_warped(canvas, patch, quad_for(patch.shape, cx, cy, width, angle, skew))


def _hanger(canvas: np.ndarray, rng: Generator, cx: int, top: int, span: int) -> None:
    """Draw a hanger (hook + shoulders) in place; ``span`` px wide, hook at y=``top``."""
    style = int(rng.integers(0, 3))
    col = [(0.55, 0.36, 0.2), (0.1, 0.1, 0.1), (0.75, 0.75, 0.78)][style]
    t = max(2, span // (25 if style < 2 else 90))
    hook_r = max(6, span // 14)
    cv2.ellipse(
        canvas, (cx, top + hook_r), (hook_r, hook_r), 0, 180, 400, (0.7, 0.7, 0.72), max(2, span // 110), cv2.LINE_AA
    )
    y = top + hook_r * 3
    cv2.line(canvas, (cx, top + hook_r * 2), (cx, y), (0.7, 0.7, 0.72), max(2, span // 110), cv2.LINE_AA)
    cv2.line(canvas, (cx, y), (cx - span // 2, y + span // 6), col, t, cv2.LINE_AA)
    cv2.line(canvas, (cx, y), (cx + span // 2, y + span // 6), col, t, cv2.LINE_AA)


def _mannequin(canvas: np.ndarray, rng: Generator, cx: int, top: int, height: int) -> tuple[int, int, int]:
    """Draw a person-like mannequin in place; returns (shoulder_y, shoulder_w, hip_y) px."""
    tone = [(0.93, 0.91, 0.88), (0.12, 0.12, 0.13), (0.85, 0.7, 0.58), (0.78, 0.64, 0.48)][int(rng.integers(0, 4))]
    u = height / 8.0
    head = (cx, int(top + u * 0.5))
    sh_y, sh_w, hip_y = int(top + u * 1.45), int(u * 2.0), int(top + u * 3.9)
    mask = np.zeros(canvas.shape[:2], np.uint8)
    if rng.random() < 0.6:
        cv2.ellipse(mask, head, (int(u * 0.36), int(u * 0.48)), 0, 0, 360, 255, -1, cv2.LINE_AA)
    cv2.rectangle(mask, (cx - int(u * 0.15), head[1]), (cx + int(u * 0.15), sh_y + 4), 255, -1)
    torso = np.array(
        [
            [cx - sh_w // 2, sh_y],
            [cx + sh_w // 2, sh_y],
            [cx + int(u * 0.7), int(top + u * 2.9)],
            [cx + int(u * 0.85), hip_y],
            [cx - int(u * 0.85), hip_y],
            [cx - int(u * 0.7), int(top + u * 2.9)],
        ],
        np.int32,
    )
    cv2.fillPoly(mask, [torso], 255, cv2.LINE_AA)
    for s in (-1, 1):
        cv2.line(
            mask,
            (cx + s * sh_w // 2, sh_y + int(u * 0.2)),
            (cx + s * int(u * 1.2), int(top + u * 4.1)),
            255,
            int(u * 0.3),
            cv2.LINE_AA,
        )
        cv2.line(
            mask,
            (cx + s * int(u * 0.45), hip_y),
            (cx + s * int(u * 0.5), int(top + u * 8.2)),
            255,
            int(u * 0.55),
            cv2.LINE_AA,
        )
    m = mask.astype(np.float32) / 255.0
    cast_shadow(canvas, m, int(u * 0.25), int(u * 0.1), int(u * 0.6), 0.35)
    xs = np.linspace(-1, 1, canvas.shape[1], dtype=np.float32)
    body = (
        np.array(tone, np.float32)
        * (0.8 + 0.25 * np.cos(np.clip((xs - (cx / canvas.shape[1] * 2 - 1)) * 2.5, -1.5, 1.5)))[None, :, None]
    )
    canvas *= 1 - m[..., None]
    canvas += m[..., None] * body
    return sh_y, sh_w, hip_y


def _background(rng: Generator, spec: SpecDict, h: int, w: int, view: str) -> np.ndarray:
    """Background for ``view``: the spec's own setting, or a door/wall for hung items."""
    bg = str(spec.get("bg", "wood"))
    if view in ("hanger", "mannequin") and bg not in ("door", "wall", "rack"):
        bg = "door" if rng.random() < 0.6 else "wall"
    return make_background(rng, bg, h, w, str(spec.get("bg_color", "#c8b89a")))


def garment_scene(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """The whole item: flat lay, hanger, mannequin, pair of shoes, etc. Output (h, w, 3)."""
    cat, view = str(spec["category"]), str(spec.get("view", "flat"))
    canvas = _background(rng, spec, h, w, view)
    back = bool(spec.get("back", False))
    aspect = ASPECT[cat]
    fill = float(rng.uniform(0.62, 0.9))
    width = min(w * fill, h * fill * aspect)
    cx, cy = w * rng.uniform(0.44, 0.56), h * rng.uniform(0.45, 0.56)
    angle = float(rng.normal(0, 4))
    if view == "mannequin" and cat in TOPS + BOTTOMS:
        return _on_mannequin(rng, canvas, spec, cat, back)
    if view == "hanger" and cat in TOPS + ("scarf",):
        width = min(w * 0.8, h * 0.78 * aspect)
        top = int(h * 0.05)
        _hanger(canvas, rng, int(cx), top, int(width * 0.62))
        cy = top + width * 0.06 + width / aspect / 2 + width * 0.06
        angle = float(rng.normal(0, 1.5))
    patch = item_patch(rng, spec, max(16, int(width)), back)
    if view == "pair" and cat in ("sneakers", "boots", "heels"):
        place(canvas, patch, cx - width * 0.06, cy - h * 0.12, width * 0.85, angle)
        cy += h * 0.08
    alpha = place(canvas, patch, cx, cy, width, angle, float(rng.uniform(0, 0.08)))
    flat = view not in ("hanger", "mannequin")
    cast_shadow(
        canvas,
        alpha,
        int(w * (0.008 if flat else 0.02)),
        int(h * (0.01 if flat else 0.015)),
        int(w * (0.02 if flat else 0.04)),
        0.35 if flat else 0.3,
    )
    return canvas


def _on_mannequin(rng: Generator, canvas: np.ndarray, spec: SpecDict, cat: str, back: bool) -> np.ndarray:
    """Dress a mannequin in the item (a top or a bottom). Output: ``canvas`` (h, w, 3)."""
    h, w = canvas.shape[:2]
    height = int(h * rng.uniform(1.0, 1.5)) if cat in TOPS else int(h * rng.uniform(0.95, 1.05))
    top = int(h * 0.03) if cat in TOPS else int(h * 0.97) - height
    cx = int(w * rng.uniform(0.42, 0.58))
    sh_y, sh_w, hip_y = _mannequin(canvas, rng, cx, top, height)
    u = height / 8.0
    if cat in TOPS:
        width = sh_w * (1.75 if cat != "dress" else 1.45)
        patch = item_patch(rng, spec, max(16, int(width)), back)
        cy = sh_y - u * 0.1 + patch.shape[0] * width / patch.shape[1] / 2
    else:
        width = u * 2.2
        patch = item_patch(rng, spec, max(16, int(width)), back)
        cy = hip_y - u * 0.5 + patch.shape[0] * width / patch.shape[1] / 2
    alpha = place(canvas, patch, cx, cy, width, 0.0)
    cast_shadow(canvas, alpha, int(u * 0.2), int(u * 0.1), int(u * 0.5), 0.25)
    return canvas


def detail_scene(rng: Generator, spec: SpecDict, h: int, w: int) -> np.ndarray:
    """A close detail of the item (zip, buttons, sole, flaw, seam, buckle). Output (h, w, 3)."""
    what = str(spec.get("detail", "seam"))
    img = fabric(rng, h, w, spec)
    img *= (0.9 + smooth_shade(rng, h, w))[..., None]
    dark = tuple(float(v) for v in rgb(str(spec["color"])) * 0.5)
    t = max(2, w // 300)
    img = _DETAILS.get(what, _seam)(rng, img, h, w, dark, t)
    return np.clip(img, 0, 1)


def _zip(rng: Generator, img: np.ndarray, h: int, w: int, dark: tuple[float, ...], t: int) -> np.ndarray:
    """A zip down the fabric: tape, teeth and the slider."""
    x = int(w * rng.uniform(0.35, 0.65))
    cv2.rectangle(img, (x - w // 40, 0), (x + w // 40, h), dark, -1)
    for y in range(0, h, max(4, h // 70)):
        cv2.rectangle(img, (x - w // 70, y), (x + w // 70, y + max(2, h // 160)), (0.75, 0.72, 0.62), -1)
    py = int(h * rng.uniform(0.3, 0.7))
    cv2.rectangle(img, (x - w // 30, py), (x + w // 30, py + h // 8), (0.7, 0.68, 0.6), -1, cv2.LINE_AA)
    return img


def _buttons(rng: Generator, img: np.ndarray, h: int, w: int, dark: tuple[float, ...], t: int) -> np.ndarray:
    """Three four-hole buttons, each dark or light."""
    for i in range(3):
        c = (int(w * 0.5), int(h * (0.2 + 0.3 * i)))
        r = max(8, w // 14)
        cv2.circle(img, c, r, (0.2, 0.15, 0.1) if rng.random() < 0.5 else (0.9, 0.88, 0.82), -1, cv2.LINE_AA)
        for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            cv2.circle(
                img, (c[0] + dx * r // 3, c[1] + dy * r // 3), max(2, r // 8), (0.35, 0.35, 0.35), -1, cv2.LINE_AA
            )
    return img


def _sole_detail(rng: Generator, img: np.ndarray, h: int, w: int, dark: tuple[float, ...], t: int) -> np.ndarray:
    """A shoe's sole instead of the fabric (drawn after it, so the fabric's draws still happen)."""
    return _sole(rng, h, w)


def _flaw(rng: Generator, img: np.ndarray, h: int, w: int, dark: tuple[float, ...], t: int) -> np.ndarray:
    """A soft stain on the fabric."""
    c = (int(w * rng.uniform(0.3, 0.7)), int(h * rng.uniform(0.3, 0.7)))
    blob = np.zeros((h, w), np.float32)
    cv2.ellipse(blob, c, (w // 14, h // 18), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    blob = np.asarray(cv2.GaussianBlur(blob, (0, 0), max(2, w / 60)), np.float32)
    img *= (1 - 0.35 * blob)[..., None]
    return img


def _buckle(rng: Generator, img: np.ndarray, h: int, w: int, dark: tuple[float, ...], t: int) -> np.ndarray:
    """A brass buckle's frame."""
    cv2.rectangle(
        img,
        (int(w * 0.3), int(h * 0.25)),
        (int(w * 0.7), int(h * 0.75)),
        (0.8, 0.74, 0.55),
        max(6, w // 25),
        cv2.LINE_AA,
    )
    return img


def _seam(rng: Generator, img: np.ndarray, h: int, w: int, dark: tuple[float, ...], t: int) -> np.ndarray:
    """Two stitched seams across the fabric (any other detail)."""
    for k in range(2):
        y = int(h * rng.uniform(0.3, 0.7)) + k * max(6, h // 40)
        img[y - t : y + t] *= 0.8
        for x in range(0, w, max(6, w // 50)):
            cv2.line(img, (x, y + 3 * t), (x + max(3, w // 100), y + 3 * t), dark, t, cv2.LINE_AA)
    return img


_DETAILS: dict[str, Callable[[Generator, np.ndarray, int, int, tuple[float, ...], int], np.ndarray]] = {
    "zip": _zip,
    "buttons": _buttons,
    "sole": _sole_detail,
    "flaw": _flaw,
    "buckle": _buckle,
}
"""The drawer of each ``spec["detail"]`` (a seam for any other): (rng, fabric, h, w, dark colour, line px) → image."""


def smooth_shade(rng: Generator, h: int, w: int) -> np.ndarray:
    """A gentle brightness field (h, w), values about -0.1..0.1."""
    small = rng.standard_normal((3, 3)).astype(np.float32) * 0.06
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _sole(rng: Generator, h: int, w: int) -> np.ndarray:
    """The rubber sole of a shoe seen from below, filling the frame: (h, w, 3)."""
    bg = make_background(rng, "wood" if rng.random() < 0.5 else "concrete", h, w, "#a08060")
    rubber = np.array([0.15, 0.14, 0.13] if rng.random() < 0.5 else [0.85, 0.8, 0.7], np.float32)
    poly = [
        (0.38, 0.02),
        (0.55, 0.01),
        (0.68, 0.06),
        (0.74, 0.18),
        (0.74, 0.35),
        (0.66, 0.55),
        (0.64, 0.75),
        (0.66, 0.9),
        (0.6, 0.98),
        (0.45, 0.99),
        (0.37, 0.92),
        (0.36, 0.75),
        (0.32, 0.55),
        (0.27, 0.35),
        (0.27, 0.18),
        (0.3, 0.07),
    ]
    mask = polygon_mask(poly, w, h)
    tread = np.ones((h, w), np.float32)
    pitch = max(6, h // 40)
    zig = bool(rng.random() < 0.5)
    for y in range(0, h, pitch):
        if zig:
            pts = np.array(
                [[x, y + (pitch // 2 if (x // pitch) % 2 else 0)] for x in range(0, w + pitch, pitch)], np.int32
            )
            cv2.polylines(tread, [pts], False, 0.65, max(2, pitch // 3), cv2.LINE_AA)
        else:
            for x in range((y // pitch % 2) * pitch // 2, w, pitch):
                cv2.circle(tread, (x, y), max(2, pitch // 3), 0.65, -1, cv2.LINE_AA)
    k = max(3, (w // 60) | 1)
    edge = cv2.GaussianBlur(mask, (k, k), 0)
    tread *= 0.75 + 0.25 * edge
    layer = rubber * tread[..., None]
    bg *= 1 - mask[..., None]
    bg += mask[..., None] * layer
    return bg
