"""Scenes: what is in front of the phone for each kind of photo, drawn into an RGB ``float32`` canvas.

* ``garment``: the whole garment flat on a surface, on a hanger against a wall or rail, or on a dress form.
* ``detail`` / ``closeup``: part of the garment filling the frame / the fabric alone.
* ``printed_tee``: a tee with a big print; ``measuring_tape``: a flat lay with a tape across it.
* Objects (the shop's tag and the flat hard negatives of :mod:`.negatives`): the object in
  front of part of the garment, presented the way ``spec["shot"]`` says: ``hand`` (held between
  finger and thumb), ``on_garment`` (lying on it, string running off), ``pinned`` (a safety pin),
  ``sole`` (a sticker on a shoe sole), ``ruler`` (flat beside a ruler) or ``table``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .backgrounds import background
from .garments import draw_garment, fabric
from .negatives import negative_patch
from .paper import Patch, hex_rgb
from .props import draw_fingers, draw_pin, draw_sole, draw_string, draw_tape, draw_thumb
from .spec import Spec
from .tags import shop_tag_patch

__all__ = ["OBJECT_KINDS", "compose"]

OBJECT_KINDS = frozenset({"shop_tag", "retail_tag", "care_label", "size_label", "brand_label", "receipt", "shoe_box"})
"""Kinds whose photo shows one flat object (a patch) in front of the garment."""


def _garment_box(spec: Spec, h: int, w: int, zoom: float) -> tuple[int, int, int, int]:
    """The garment's box (x, y, w, h) for a frame (h, w): ``zoom`` × the frame, shifted by ``spec`` gx/gy."""
    garment = spec.text("garment", "tee")
    aspect = {"jeans": 0.62, "dress": 0.6, "skirt": 0.85, "shoes": 2.2}.get(garment, 0.95)
    bh = int(min(h, w / aspect) * zoom)
    bw = int(bh * aspect)
    x = int(w / 2 - bw / 2 + spec.number("gx") * bw)
    y = int(h / 2 - bh / 2 + spec.number("gy") * bh)
    return (x, y, bw, bh)


def _hanger(canvas: np.ndarray, box: tuple[int, int, int, int], color: str) -> None:
    """A coat hanger above the garment box (hook and shoulders)."""
    x, y, bw, _ = box
    t = max(3, bw // 45)
    top = (x + bw // 2, y - bw // 8)
    ink = hex_rgb(color)
    cv2.line(canvas, (x + bw // 6, y + bw // 20), top, ink, t, cv2.LINE_AA)
    cv2.line(canvas, (x + bw * 5 // 6, y + bw // 20), top, ink, t, cv2.LINE_AA)
    cv2.ellipse(canvas, (top[0], top[1] - bw // 14), (bw // 20, bw // 14), 0, 90, 400, (0.7, 0.7, 0.72), t, cv2.LINE_AA)


def _form(canvas: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """A dress form's neck and stand behind the garment."""
    x, y, bw, bh = box
    cx = x + bw // 2
    cv2.rectangle(canvas, (cx - bw // 10, y - bw // 6), (cx + bw // 10, y + bw // 8), (0.82, 0.76, 0.66), -1)
    cv2.line(canvas, (cx, y + bh), (cx, y + bh + bh // 2), (0.25, 0.2, 0.15), max(4, bw // 30))


def _garment_scene(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """The whole garment, flat, on a hanger or on a form (``spec["shot"]``), at ``spec["zoom"]``."""
    h, w = canvas.shape[:2]
    box = _garment_box(spec, h, w, spec.number("zoom", 0.8))
    shot = spec.text("shot", "flat")
    if shot == "form":
        _form(canvas, box)
    draw_garment(canvas, spec, rng, box)
    if shot == "hanger":
        _hanger(canvas, box, spec.text("hanger", "#6b4a2b"))


def _closeup(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """The fabric filling the frame, slightly rotated (pattern large enough to read)."""
    h, w = canvas.shape[:2]
    cloth = fabric(rng, h // 2, w // 2, spec.text("color"), spec.text("pattern"), w / rng.uniform(6, 20))
    cloth = cv2.resize(cloth, (w, h), interpolation=cv2.INTER_LINEAR)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), spec.number("angle") % 30, 1.25)
    canvas[:] = cv2.warpAffine(cloth, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def _tape_scene(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A flat lay with a tape measure laid across the garment."""
    _garment_scene(canvas, spec, rng)
    h, w = canvas.shape[:2]
    ang = np.radians(spec.number("angle"))
    d = np.array([np.cos(ang), np.sin(ang)]) * max(h, w)
    c = np.array([w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)])
    width = int(max(h, w) * rng.uniform(0.025, 0.05))
    draw_tape(canvas, c - d, c + d, width, spec.text("tape_color", "#f2d33c"), width * rng.uniform(0.35, 0.6))


def _quad(patch: Patch, spec: Spec, h: int, w: int) -> np.ndarray:
    """The patch's four corners in the photo (4 × 2 float32): size, perspective tilt, rotation, position."""
    ph, pw = patch.alpha.shape
    long_px = max(spec.number("obj_size", 0.4) * max(h, w), patch.min_long_px)
    s = long_px / max(ph, pw)
    half = np.array([[-pw, -ph], [pw, -ph], [pw, ph], [-pw, ph]], np.float64) * s / 2
    tx, ty = spec.number("tilt_x"), spec.number("tilt_y")
    denom = 1.0 + tx * half[:, 0] / (pw * s / 2) * 0.5 + ty * half[:, 1] / (ph * s / 2) * 0.5
    pts = half / denom[:, None]
    a = np.radians(spec.number("angle"))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.array([spec.number("cx", 0.5) * w, spec.number("cy", 0.5) * h])
    return (pts @ rot.T + centre).astype(np.float32)


def _place(canvas: np.ndarray, patch: Patch, quad: np.ndarray, glare: float) -> np.ndarray:
    """Warp ``patch`` onto ``canvas`` at ``quad`` with a soft shadow and glare; returns the 3 × 3 homography."""
    ph, pw = patch.alpha.shape
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    h, w = canvas.shape[:2]
    x0, y0 = np.clip(np.floor(quad.min(0)) - 40, 0, [w, h]).astype(int)
    x1, y1 = np.clip(np.ceil(quad.max(0)) + 40, 0, [w, h]).astype(int)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return cv2.getPerspectiveTransform(src, quad)
    m = cv2.getPerspectiveTransform(src, quad - np.array([x0, y0], np.float32))
    size = (int(x1 - x0), int(y1 - y0))
    rgb = cv2.warpPerspective(patch.rgb, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpPerspective(patch.alpha, m, size, flags=cv2.INTER_LINEAR, borderValue=0)
    region = canvas[y0:y1, x0:x1]
    off = max(2, int(0.015 * max(size)))
    shadow = cv2.GaussianBlur(np.roll(a, (off, off), (0, 1)), (0, 0), off) * 0.4
    region *= (1 - shadow)[..., None]
    if glare > 0 and patch.gloss > 0:
        rgb = _glare(rgb, a, glare * patch.gloss)
    region[:] = region * (1 - a[..., None]) + rgb * a[..., None]
    return cv2.getPerspectiveTransform(src, quad)


def _glare(rgb: np.ndarray, a: np.ndarray, strength: float) -> np.ndarray:
    """A specular highlight (a soft bright blob) across a glossy patch."""
    h, w = a.shape
    ys, xs = np.nonzero(a > 0.5)
    if len(ys) == 0:
        return rgb
    i = (len(ys) * 7) // 13
    blob = np.zeros((h, w), np.float32)
    cv2.ellipse(blob, (int(xs[i]), int(ys[i])), (max(2, w // 5), max(2, h // 9)), 30.0, 0, 360, 1.0, -1)
    blob = np.asarray(cv2.GaussianBlur(blob, (0, 0), max(2.0, w / 16)), np.float32)
    return np.clip(rgb + (blob * strength * 0.9)[..., None], 0.0, 1.0)


def _object_scene(canvas: np.ndarray, spec: Spec, rng: np.random.Generator, kind: str) -> None:
    """A tag or flat object in front of part of the garment, presented as ``spec["shot"]`` says."""
    h, w = canvas.shape[:2]
    shot = spec.text("shot", "on_garment")
    if shot == "sole":
        draw_sole(canvas, rng, spec.text("sole_color", "#3a3330"))
    elif shot not in ("table", "ruler"):
        draw_garment(canvas, spec, rng, _garment_box(spec, h, w, spec.number("zoom", 1.8)))
    patch = shop_tag_patch(spec, rng) if kind == "shop_tag" else negative_patch(spec, rng)
    quad = _quad(patch, spec, h, w)
    centre = quad.mean(0)
    size = float(np.linalg.norm(quad[2] - quad[0]))
    corner = quad[int(spec.integer("corner")) % 4]
    if shot == "hand":
        draw_fingers(canvas, corner, centre, size, spec.text("skin", "#d9a788"))
    if shot == "ruler":
        p0 = quad[3] + (quad[3] - quad[0]) * 0.25
        draw_tape(
            canvas,
            p0 - (quad[1] - quad[0]) * 0.5,
            p0 + (quad[1] - quad[0]) * 2,
            int(size * 0.12),
            "#e9d9a8",
            size * 0.05,
        )
    m = _place(canvas, patch, quad, spec.number("glare"))
    if patch.hole is not None and spec.text("string"):
        hole = cv2.perspectiveTransform(np.array([[patch.hole]], np.float32), m)[0, 0]
        draw_string(canvas, hole, centre, size, spec.text("string"))
    if shot == "hand":
        draw_thumb(canvas, corner, centre, size, spec.text("skin", "#d9a788"))
    if shot == "pinned":
        draw_pin(canvas, quad[0] + (quad[1] - quad[0]) * 0.2, quad[0] + (quad[1] - quad[0]) * 0.75, size)


def compose(spec: Spec, kind: str, rng: np.random.Generator) -> np.ndarray:
    """The scene of a photo of ``kind``, an RGB float32 array (0..1), before the camera.

    Drawn at a working size whose long side is ``spec["work"]`` px (the photo's ``h`` × ``w``
    scaled down); the camera scales it up to the photo's size.
    """
    full_h, full_w = spec.integer("h", 900), spec.integer("w", 1200)
    k = min(1.0, spec.number("work", 720) / max(full_h, full_w))
    h, w = int(full_h * k), int(full_w * k)
    canvas = background(rng, h, w, spec.text("bg", "wall"), spec.text("bg_color", "#c8c0b0"))
    if kind in OBJECT_KINDS:
        _object_scene(canvas, spec, rng, kind)
    elif kind == "closeup":
        _closeup(canvas, spec, rng)
    elif kind == "measuring_tape":
        _tape_scene(canvas, spec, rng)
    else:
        _garment_scene(canvas, spec, rng)
    return canvas
