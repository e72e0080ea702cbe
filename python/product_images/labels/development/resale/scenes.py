"""The photo of each kind: a background, a garment or a surface, and the patch it shows.

:func:`draw_scene` paints the spec's ``kind`` on an ``H×W×3`` uint8 canvas (pixels). Tags and
labels are flat patches (:mod:`.tags`, :mod:`.negatives`) placed by their ``holder``: on a table
beside the garment, on the garment, in a hand, beside a ruler, small on a full garment shot
(``in_shot``), on a sneaker sole, on a shoe box lid, or sewn at a seam.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .drawing import fit_font, hex_rgb, paste_warped, smooth_noise
from .fonts import font
from .garments import draw_garment, fabric, sole_surface, weave_tile
from .negatives import negative_patch, tape_measure
from .placing import draw_hand, place, pose_of, ruler_beside
from .tags import shop_tag_patch

__all__ = ["draw_scene"]

Spec = dict[str, str | int | float | bool]
Box = tuple[int, int, int, int]


def _subject_box(h: int, w: int, spec: Spec) -> Box:
    """The garment's box: ``subject_scale`` of the frame, shifted by ``subject_dx/dy``."""
    s = float(spec["subject_scale"])
    shoes = spec["garment"] in ("sneakers", "boots")
    bw = int(w * s) if not shoes else int(w * s * 0.95)
    bh = int(h * s) if not shoes else int(bw * 0.55)
    bw, bh = (min(bw, int(bh * 1.2)), bh) if not shoes else (bw, min(bh, int(h * 0.9)))
    x = int((w - bw) / 2 + float(spec["subject_dx"]) * w)
    y = int((h - bh) / 2 + float(spec["subject_dy"]) * h)
    return x, y, bw, bh


def _garment(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """An ordinary product photo: the garment flat, on a hanger or a mannequin."""
    h, w = canvas.shape[:2]
    draw_garment(canvas, _subject_box(h, w, spec), spec, rng)


def _fill_fabric(canvas: np.ndarray, spec: Spec, rng: np.random.Generator, zoom: float) -> None:
    """Fill the whole canvas with the garment's fabric seen ``zoom`` times closer."""
    h, w = canvas.shape[:2]
    sh, sw = max(8, int(h / zoom)), max(8, int(w / zoom))
    cloth = fabric(sh, sw, spec, rng)
    big = cv2.resize(cloth, (w, h), interpolation=cv2.INTER_LINEAR)
    cell = max(4, int(3 * zoom))
    weave = weave_tile(cell, str(spec["pattern"]), rng)
    reps = (h // weave.shape[0] + 1, w // weave.shape[1] + 1)
    woven = np.asarray(big, np.float32) + np.tile(weave, reps)[:h, :w, None] * np.float32(12.0)
    canvas[:] = np.clip(woven, 0, 255).astype(np.uint8)


def _closeup(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A fabric close-up: the weave filling the frame."""
    _fill_fabric(canvas, spec, rng, float(spec["zoom"]))


def _detail(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A detail: the fabric close, with a button, a zip, a pocket, a seam or a collar on it."""
    _fill_fabric(canvas, spec, rng, float(spec["zoom"]) / 2)
    h, w = canvas.shape[:2]
    s = min(h, w)
    ink = tuple(int(c * 0.6) for c in hex_rgb(str(spec["garment_hex"])))
    detail = str(spec["detail"])
    if detail == "button":
        for k in range(3):
            c = (w // 2, int(h * (0.2 + 0.3 * k)))
            cv2.circle(canvas, c, s // 14, (225, 220, 205), -1)
            cv2.circle(canvas, c, s // 60, (90, 80, 70), -1)
    elif detail == "zip":
        cv2.line(canvas, (w // 2, 0), (w // 2, h), (150, 150, 155), max(6, s // 40))
        cv2.rectangle(canvas, (w // 2 - s // 30, h // 3), (w // 2 + s // 30, h // 3 + s // 8), (190, 190, 195), -1)
    elif detail == "pocket":
        cv2.rectangle(canvas, (w // 5, h // 4), (4 * w // 5, 4 * h // 5), ink, max(2, s // 200))
    else:
        cv2.line(canvas, (0, h // 2), (w, h // 2 + h // 10), ink, max(3, s // 150))


def _printed_tee(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A t-shirt with big printed text or numbers across the chest."""
    h, w = canvas.shape[:2]
    tee = dict(spec, garment="tee")
    box = _subject_box(h, w, tee)
    draw_garment(canvas, box, tee, rng)
    x, y, bw, bh = box
    text = str(spec["tee_text"])
    art = Image.new("RGBA", (bw, bh // 3), (0, 0, 0, 0))
    colour = hex_rgb(str(spec["garment_hex2"]))
    f = fit_font((str(spec["brand_font"]), bh // 7), text, int(bw * 0.45))
    ImageDraw.Draw(art).text((bw // 2, bh // 6), text, font=f, fill=colour + (255,), anchor="mm")
    paste_warped(canvas, art, (x + bw / 2, y + bh * 0.42), (float(bw), float(spec["subject_angle"]), 0.0, 0.0))


def _surface(canvas: np.ndarray, spec: Spec, rng: np.random.Generator, holder: str) -> None:
    """The surface a tag lies on for its ``holder`` (the background is already drawn)."""
    h, w = canvas.shape[:2]
    if holder in ("garment", "seam"):
        _fill_fabric(canvas, spec, rng, 1.5)
    elif holder == "sole":
        canvas[:] = sole_surface(h, w, rng)
    elif holder == "box_lid":
        card = np.array(hex_rgb("#b98f5e" if rng.random() < 0.5 else str(spec.get("box_hex", "#e8702a"))), np.float32)
        lid = card * (1 + smooth_noise(rng, h, w, 40)[..., None] * 0.04)
        canvas[:] = np.clip(lid, 0, 255).astype(np.uint8)
    elif holder in ("table", "in_shot", "ruler"):
        box = _subject_box(h, w, spec)
        if holder == "table":
            box = (box[0] + int(w * 0.45), box[1] + int(h * 0.3), box[2], box[3])
        draw_garment(canvas, box, spec, rng)


def _put_patch(canvas: np.ndarray, spec: Spec, patch: Image.Image, rng: np.random.Generator) -> None:
    """Place a tag/label patch by its holder: centre, pose, and a hand or ruler when asked."""
    h, w = canvas.shape[:2]
    holder = str(spec["holder"])
    pose = pose_of(spec, min(h, w))
    centre = (float(spec["patch_cx"]) * w, float(spec["patch_cy"]) * h)
    if holder == "in_shot":
        x, y, bw, bh = _subject_box(h, w, spec)
        centre = (x + bw * float(spec["patch_cx"]), y + bh * float(spec["patch_cy"]))
    if holder == "seam":
        pose = (pose[0], round(pose[1] / 90) * 90 + float(rng.normal(0, 4)), pose[2], pose[3])
    corners = place(canvas, patch, centre, pose)
    if holder == "hand":
        draw_hand(canvas, corners, spec, rng)
    elif holder == "ruler":
        ruler_beside(canvas, corners, rng)
    elif holder == "seam":
        a, b = corners[0], corners[1]
        cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), (60, 60, 60), max(2, int(pose[0]) // 80))


def _shop_tag(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """The shop's own tag on its holder."""
    _surface(canvas, spec, rng, str(spec["holder"]))
    long_px = int(pose_of(spec, min(canvas.shape[:2]))[0])
    _put_patch(canvas, spec, shop_tag_patch(spec, long_px, rng), rng)


def _labelled(kind: str) -> Callable[[np.ndarray, Spec, np.random.Generator], None]:
    """A scene drawer for a hard-negative patch ``kind`` (retail tag, care/size/brand label, receipt)."""

    def scene(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
        _surface(canvas, spec, rng, str(spec["holder"]))
        long_px = int(pose_of(spec, min(canvas.shape[:2]))[0])
        _put_patch(canvas, spec, negative_patch(kind, spec, long_px, rng), rng)

    scene.__doc__ = f"A photo of a {kind} (hard negative)."
    return scene


def _shoe_box(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A shoe box seen from its end: a coloured box face with a lid line and the brand's label."""
    h, w = canvas.shape[:2]
    box_c = hex_rgb(str(spec["box_hex"]))
    bw, bh = int(w * rng.uniform(0.6, 0.9)), int(h * rng.uniform(0.35, 0.6))
    face = Image.new("RGBA", (bw, bh), box_c + (255,))
    d = ImageDraw.Draw(face)
    d.rectangle((0, 0, bw, bh // 4), fill=tuple(int(c * 0.85) for c in box_c) + (255,))
    d.text(
        (bw // 20, bh // 8),
        str(spec["brand"]).upper(),
        font=font(str(spec["brand_font"]), bh // 7),
        fill=(250, 250, 250, 255),
        anchor="lm",
    )
    label = negative_patch("shoe_box_label", spec, int(bw * 0.45), rng)
    lw, lh = label.size
    scale = bw * 0.45 / lw
    label = label.resize((int(lw * scale), int(lh * scale)), Image.Resampling.BOX)
    face.alpha_composite(label, (bw - label.size[0] - bw // 20, bh - label.size[1] - bh // 12))
    pose = (float(max(bw, bh)), float(spec["subject_angle"]) * 0.5, float(spec["tilt_x"]), float(spec["tilt_y"]))
    place(canvas, face, (w * float(spec["patch_cx"]), h * float(spec["patch_cy"])), pose)


def _measuring_tape(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A garment flat with a measuring tape laid across it."""
    h, w = canvas.shape[:2]
    box = _subject_box(h, w, spec)
    draw_garment(canvas, box, spec, rng)
    strip = tape_measure(int(box[2] * 1.1), hex_rgb(str(spec["tape_hex"])))
    centre = (box[0] + box[2] / 2, box[1] + box[3] * float(rng.uniform(0.3, 0.7)))
    place(canvas, strip, centre, (box[2] * 1.1, float(rng.uniform(-20, 20)), 0.0, 0.0))


_SCENES: dict[str, Callable[[np.ndarray, Spec, np.random.Generator], None]] = {
    "garment": _garment,
    "detail": _detail,
    "closeup": _closeup,
    "printed_tee": _printed_tee,
    "shop_tag": _shop_tag,
    "retail_tag": _labelled("retail_tag"),
    "care_label": _labelled("care_label"),
    "size_label": _labelled("size_label"),
    "brand_label": _labelled("brand_label"),
    "receipt": _labelled("receipt"),
    "shoe_box": _shoe_box,
    "measuring_tape": _measuring_tape,
}


def draw_scene(canvas: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """Paint the photo of ``spec["kind"]`` onto ``canvas`` (``H×W×3`` uint8, the background drawn)."""
    _SCENES[str(spec["kind"])](canvas, spec, rng)
