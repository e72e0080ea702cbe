"""Drawing one ``thrift`` photo from its EvalPhoto: scene by kind, then the camera look.

:func:`render` returns the encoded bytes; every random choice comes from a numpy Generator
seeded with ``photo.seed`` and a stable digest of the spec (no process-dependent hashing).
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from product_images.labels.evaluation.sets import EvalPhoto

from .camera import develop
from .canvas import Arr, background
from .negatives import brand_label, care_label, retail_tag, shoe_box_scene, size_label
from .scenes import (
    closeup_scene,
    detail_scene,
    fabric_scene,
    garment_scene,
    garment_scene_box,
    printed_tee_scene,
    sole_scene,
)
from .shoot import glare, hand_under, quad, ruler_face, string, thumb_over, warp_onto
from .tags import tag_face

__all__ = ["render"]

_ASPECT = {"kraft": 1.9, "thermal": 0.8, "qr": 1.0, "sticker": 1.0}


def _rng(photo: EvalPhoto) -> np.random.Generator:
    """Return the photo's Generator, seeded from its seed and a CRC of its spec (stable)."""
    digest = zlib.crc32(repr(photo.spec).encode("utf-8"))
    return np.random.default_rng([photo.seed & 0xFFFFFFFF, digest, 7])


def _soft(img: Arr, factor: int) -> Arr:
    """Return ``img`` (H, W, 3) strongly defocused (downscale by ``factor`` and back up)."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _tag_ground(rng: np.random.Generator, spec: dict, w: int, h: int) -> tuple[Arr, tuple[float, float]]:
    """Return (scene behind the shop's tag (h, w, 3), tag centre (x, y) px) for the setting."""
    setting = str(spec["setting"])
    centre = (w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.6))
    if setting == "sole":
        return sole_scene(rng, w, h), centre
    if setting in ("on_garment", "hanging"):
        if str(spec["st_family"]) == "sticker":
            g = dict(spec)
            g["view"] = "flat" if spec["garment"] not in ("sneakers", "boots") else "side"
            img, (bx, by, bw, bh) = garment_scene_box(rng, g, w, h)
            return img, (bx + bw * rng.uniform(0.35, 0.65), by + bh * rng.uniform(0.3, 0.6))
        return fabric_scene(rng, spec, w, h, min(w, h) / rng.uniform(4, 12)), centre
    img = background(rng, str(spec["bg"]), h, w)
    if setting == "in_hand":
        img = _soft(img, 12)
    return img, centre


def _shop_tag(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return the scene of the shop's own price tag (h, w, 3) in its setting, angle and light."""
    img, centre = _tag_ground(rng, spec, w, h)
    short = min(w, h)
    family = str(spec["st_family"])
    aspect = _ASPECT[family] * (1.45 if family == "qr" and int(spec["st_layout"]) == 1 else 1.0)
    tw = int(max(24, min(float(spec["tag_scale"]) * short * 1.25, 0.82 * short / max(1.0, aspect))))
    rgb, alpha, hole = tag_face(rng, spec, tw)
    angle = float(spec["spin"]) + float(spec["rot"])
    corners = quad(rng, centre, (alpha.shape[1], alpha.shape[0]), angle, float(spec["tilt"]))
    setting = str(spec["setting"])
    skin = hand_under(rng, img, corners) if setting == "in_hand" else None
    if setting == "ruler":
        length = int(max(alpha.shape) * rng.uniform(1.2, 1.6))
        r_rgb, r_alpha = ruler_face(rng, length, False)
        off = (alpha.shape[1] / 2 + r_alpha.shape[0] * 1.2) * (1 if rng.random() < 0.5 else -1)
        a = np.deg2rad(angle)
        rc = (centre[0] + off * np.cos(a), centre[1] + off * np.sin(a))
        warp_onto(img, r_rgb, r_alpha, quad(rng, rc, (length, r_alpha.shape[0]), angle + 90, 0.0), 0.35)
    hom, wa, x0, y0 = warp_onto(img, rgb, alpha, corners, 0.25 if family != "sticker" else 0.1)
    if hole is not None:
        end = (
            (centre[0] + rng.uniform(-0.3, 0.3) * w, -10.0)
            if setting == "hanging" or rng.random() < 0.6
            else (w + 10.0, h * rng.uniform(0, 0.5))
        )
        string(rng, img, hom, hole, end, max(2, tw // 45))
    if skin is not None:
        thumb_over(img, corners, skin)
    if spec.get("glare"):
        glare(rng, img, wa, x0, y0)
    return img


def _label_scene(rng: np.random.Generator, spec: dict, kind: str, w: int, h: int) -> Arr:
    """Return a hard-negative label photo (brand, care, size, retail tag) on the item's fabric."""
    short = min(w, h)
    img = fabric_scene(rng, spec, w, h, short / rng.uniform(4, 10))
    if kind in ("brand_label", "size_label"):
        band = int(h * rng.uniform(0.15, 0.35))
        img[:band] *= np.float32(0.7)
    size = str(spec.get("size_txt", ""))
    hole = None
    lw = int(short * rng.uniform(0.3, 0.55))
    if kind == "brand_label":
        rgb, alpha = brand_label(rng, str(spec["brand"]), size if rng.random() < 0.4 else "", lw)
    elif kind == "size_label":
        leather = str(spec["garment"]) in ("jeans", "trousers") and "W" in size
        rgb, alpha = size_label(rng, str(spec["brand"]), size, lw if leather else lw // 2, leather)
    elif kind == "care_label":
        rgb, alpha = care_label(rng, int(lw * 0.7))
    else:
        rgb, alpha, hole = retail_tag(rng, spec, int(lw * 0.85))
    if alpha.shape[0] > 0.9 * h:
        s = 0.9 * h / alpha.shape[0]
        rgb = cv2.resize(rgb, (int(alpha.shape[1] * s), int(alpha.shape[0] * s)), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
    centre = (w * rng.uniform(0.4, 0.6), h * rng.uniform(0.35, 0.6))
    angle = rng.normal(0, 10) + (90.0 if rng.random() < 0.1 else 0.0)
    hom, _, _, _ = warp_onto(
        img,
        rgb,
        alpha,
        quad(rng, centre, (alpha.shape[1], alpha.shape[0]), angle, float(rng.choice([0.0, 0.1, 0.2]))),
        0.2,
    )
    if hole is not None:
        string(rng, img, hom, hole, (centre[0] + rng.uniform(-0.2, 0.2) * w, -10.0), max(1, lw // 90))
    return img


def _tape_scene(rng: np.random.Generator, spec: dict, w: int, h: int) -> Arr:
    """Return a flat lay of the item with a tailor's measuring tape laid across it (h, w, 3)."""
    g = dict(spec)
    g["view"] = "flat"
    img = garment_scene(rng, g, w, h)
    length = int(max(w, h) * rng.uniform(0.7, 1.1))
    rgb, alpha = ruler_face(rng, length, True)
    centre = (w * rng.uniform(0.35, 0.65), h * rng.uniform(0.3, 0.7))
    angle = float(rng.choice([0.0, 90.0])) + rng.normal(0, 8)
    warp_onto(img, rgb, alpha, quad(rng, centre, (length, alpha.shape[0]), angle, 0.0), 0.25)
    return img


def _scene(rng: np.random.Generator, kind: str, spec: dict) -> Arr:
    """Return the scene (h, w, 3) float32 of a photo of ``kind`` described by ``spec``."""
    w, h = int(spec["w"]), int(spec["h"])
    if kind == "shop_tag":
        return _shop_tag(rng, spec, w, h)
    if kind == "detail":
        return detail_scene(rng, spec, w, h)
    if kind == "closeup":
        return closeup_scene(rng, spec, w, h)
    if kind == "printed_tee":
        return printed_tee_scene(rng, spec, w, h)
    if kind == "shoe_box":
        return shoe_box_scene(rng, spec, w, h)
    if kind == "measuring_tape":
        return _tape_scene(rng, spec, w, h)
    if kind in ("brand_label", "size_label", "care_label", "retail_tag"):
        return _label_scene(rng, spec, kind, w, h)
    return garment_scene(rng, spec, w, h)


def render(photo: EvalPhoto) -> bytes:
    """Return the encoded file (bytes: JPEG, PNG or WebP) of ``photo``; deterministic."""
    rng = _rng(photo)
    spec = dict(photo.spec)
    img = np.ascontiguousarray(_scene(rng, photo.kind, spec), dtype=np.float32)
    return develop(rng, img, spec)
