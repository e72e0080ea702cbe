"""Photo composition of the atelier renderer: one builder per photo kind, then light and camera.

:func:`render` takes an EvalPhoto and returns encoded bytes. Randomness comes only from
``photo.seed`` and a CRC32 of ``photo.spec`` (never ``hash()``), so bytes are identical in
every process. Scenes are built at work size (long side ≤ 1024 px) then scaled to ``w``×``h``.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from ...evaluation.sets import EvalPhoto
from . import negatives as neg
from .camera import WORK_LONG, finish, glare, hexrgb, lighting, place_quad, smooth_noise, warp_paste
from .scene import background, draw_garment, fabric
from .shops import shop_style
from .tags import draw_tag

__all__ = ["render"]

Spec = dict
Builder = Callable[[Spec, np.random.Generator, random.Random, int, int], np.ndarray]


def _layer(img: Image.Image) -> np.ndarray:
    """A PIL RGBA image as float32 (h, w, 4) in 0..1."""
    return np.asarray(img.convert("RGBA"), np.float32) / 255.0


def _fabric_bg(spec: Spec, rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """The product's fabric filling the frame, with folds: (h, w, 3)."""
    pat = str(spec["pattern"]) if spec["shape"] not in ("shoes", "bag", "belt") else "plain"
    tex = fabric(rng, h, w, str(spec["color"]), str(spec["color2"]), pat, scale)
    folds = smooth_noise(rng, h, w, max(h, w) / rng.uniform(2, 5))
    return tex * (0.72 + 0.4 * folds)[..., None]


def _hanger(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """A hanger hook and shoulders at the top centre of a rail shot, in place."""
    H, W = canvas.shape[:2]
    col = tuple(float(c) for c in rng.choice([[0.15, 0.1, 0.05], [0.8, 0.8, 0.8], [0.55, 0.35, 0.2]]))
    t = max(2, W // 120)
    cx = W // 2
    cv2.line(canvas, (cx, int(H * 0.06)), (cx, int(H * 0.12)), col, t, cv2.LINE_AA)
    cv2.line(canvas, (cx, int(H * 0.12)), (int(cx - W * 0.28), int(H * 0.2)), col, t * 2, cv2.LINE_AA)
    cv2.line(canvas, (cx, int(H * 0.12)), (int(cx + W * 0.28), int(H * 0.2)), col, t * 2, cv2.LINE_AA)


def _garment(spec: Spec, rng: np.random.Generator, rnd: random.Random, w: int, h: int) -> np.ndarray:
    """A whole-product shot (garment, detail or printed tee) on the product's background."""
    canvas = background(str(spec["bg"]), rng, h, w)
    if spec["bg"] == "rail" and spec["shape"] in ("top", "dress"):
        _hanger(canvas, rng)
    draw_garment(canvas, spec, rng, float(spec.get("zoom", 1.0)) if spec.get("view") == "detail" else 1.0)
    return canvas


def _closeup(spec: Spec, rng: np.random.Generator, rnd: random.Random, w: int, h: int) -> np.ndarray:
    """A fabric close-up filling the frame (weave, knit, print)."""
    return _fabric_bg(spec, rng, h, w, rng.uniform(2, 4.5))


def _skin(rng: np.random.Generator) -> np.ndarray:
    """A skin tone (RGB 0..1) from light to deep."""
    tones = np.array([[0.96, 0.8, 0.7], [0.9, 0.7, 0.55], [0.78, 0.57, 0.42], [0.55, 0.37, 0.25], [0.36, 0.24, 0.16]])
    i = rng.uniform(0, len(tones) - 1)
    lo = int(i)
    return (tones[lo] * (1 - (i - lo)) + tones[min(lo + 1, len(tones) - 1)] * (i - lo)).astype(np.float32)


def _capsules(canvas: np.ndarray, segs: list[tuple[np.ndarray, np.ndarray, float]], col: np.ndarray) -> None:
    """Skin-coloured capsules (finger/palm segments: start, end, width px), edge-shaded; in place."""
    H, W = canvas.shape[:2]
    m = np.zeros((H, W), np.float32)
    for a, b, width in segs:
        pa, pb = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
        cv2.line(m, pa, pb, 1.0, max(2, int(width)), cv2.LINE_AA)
    widest = max(s[2] for s in segs)
    k = max(3, int(widest * 0.35) | 1)
    shade = cv2.GaussianBlur(m, (k, k), 0)
    a = np.clip(m, 0, 1)[..., None]
    canvas[:] = canvas * (1 - a) + col * (0.62 + 0.45 * shade)[..., None] * a


def _hand(canvas: np.ndarray, quad: np.ndarray, rng: np.random.Generator, front: bool) -> None:
    """A hand from the nearest frame edge: fingers under the tag (``front`` False), a thumb over it (True)."""
    H, W = canvas.shape[:2]
    col = _skin(rng) * np.float32(rng.uniform(0.85, 1.05))
    c = quad.mean(axis=0)
    size = float(np.linalg.norm(quad[2] - quad[0]))
    dists = {(-1.0, 0.0): c[0], (1.0, 0.0): W - c[0], (0.0, -1.0): c[1], (0.0, 1.0): H - c[1]}
    d = np.array(min(dists, key=lambda k: dists[k]), np.float32)
    d = d + rng.uniform(-0.35, 0.35, 2).astype(np.float32)
    d /= np.linalg.norm(d)
    perp = np.array([-d[1], d[0]], np.float32)
    fw = size * rng.uniform(0.1, 0.14)
    grip = c + d * size * rng.uniform(0.25, 0.4)
    palm = grip + d * size * 0.9
    if front:
        tip = grip - d * size * 0.12 + perp * fw * 1.6
        _capsules(canvas, [(palm + perp * fw * 2.2, tip, fw * 1.15)], col)
        return
    segs = [(palm, palm + d * size * 1.5, size * 0.95)]
    for i in range(4):
        off = perp * fw * (i - 1.8) * 1.05
        segs.append((palm + off, grip - d * size * rng.uniform(0.05, 0.18) + off, fw))
    _capsules(canvas, segs, col)


def _string(canvas: np.ndarray, start: tuple[float, float], rng: np.random.Generator, col: str) -> None:
    """A tag string or plastic barb from ``start`` (px) curving off the top of the frame, in place."""
    H, W = canvas.shape[:2]
    end = (start[0] + rng.uniform(-0.3, 0.3) * W, -10.0)
    mid = ((start[0] + end[0]) / 2 + rng.uniform(-0.1, 0.1) * W, start[1] * 0.5)
    t = np.linspace(0, 1, 40)[:, None]
    pts = (1 - t) ** 2 * np.array(start) + 2 * (1 - t) * t * np.array(mid) + t**2 * np.array(end)
    thick = max(2, int(min(H, W) * rng.uniform(0.003, 0.007)))
    c = tuple(float(v) for v in hexrgb(col))
    cv2.polylines(canvas, [np.round(pts).astype(np.int32)], False, (0.05, 0.05, 0.05), thick + 2, cv2.LINE_AA)
    cv2.polylines(canvas, [np.round(pts).astype(np.int32)], False, c, thick, cv2.LINE_AA)


def _pin(canvas: np.ndarray, p: np.ndarray, size: float, rng: np.random.Generator) -> None:
    """A safety pin through the tag's top at ``p`` (px), in place."""
    ang = rng.uniform(-30, 30)
    a = np.deg2rad(ang)
    d = np.array([np.cos(a), np.sin(a)]) * size
    p0, p1 = (p - d).astype(int), (p + d).astype(int)
    t = max(2, int(size / 18))
    cv2.line(canvas, tuple(int(v) for v in p0), tuple(int(v) for v in p1), (0.75, 0.75, 0.78), t, cv2.LINE_AA)
    cv2.line(
        canvas, tuple(int(v) for v in p0 + [0, -t * 3]), tuple(int(v) for v in p1), (0.6, 0.6, 0.63), t, cv2.LINE_AA
    )
    cv2.ellipse(canvas, tuple(int(v) for v in p1), (t * 3, t * 2), ang, 0, 360, (0.7, 0.7, 0.72), -1, cv2.LINE_AA)


def _tag_scene(spec: Spec, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """The backdrop a tag is shot on: the garment's fabric, the garment whole, or the shop's surface."""
    r = rng.random()
    if r < 0.55:
        return _fabric_bg(spec, rng, h, w, rng.uniform(1.5, 4))
    canvas = background(str(spec["bg"]), rng, h, w)
    if r < 0.8:
        draw_garment(canvas, spec, rng, rng.uniform(1.2, 2.5))
    return canvas


def _shop_tag(spec: Spec, rng: np.random.Generator, rnd: random.Random, w: int, h: int) -> np.ndarray:
    """The shop's price tag, flat / in a hand / pinned / hanging, rotated and tilted."""
    canvas = _tag_scene(spec, rng, w, h)
    img, hole = draw_tag(spec, rnd)
    layer = _layer(img)
    scale = float(spec["zoom"]) * min(w, h) / max(img.width, img.height) * (0.75 if spec["tag_kind"] == "dot" else 1)
    cx, cy = w / 2 + rng.uniform(-0.15, 0.15) * w, h / 2 + rng.uniform(-0.12, 0.15) * h
    quad = place_quad(img.width, img.height, cx, cy, scale, float(spec["angle"]), float(spec["tilt"]), rng)
    place = str(spec["place"])
    if place == "hand":
        _hand(canvas, quad, rng, False)
    alpha = warp_paste(canvas, layer, quad, rng.uniform(0.15, 0.45))
    if hole is not None and place in ("hanging", "hand", "flat"):
        src = np.array([[0, 0], [img.width, 0], [img.width, img.height], [0, img.height]], np.float32)
        m = cv2.getPerspectiveTransform(src, quad)
        hp = cv2.perspectiveTransform(np.array([[hole]], np.float32), m)[0, 0]
        _string(canvas, (float(hp[0]), float(hp[1])), rng, str(spec["tag_string"]))
    if place == "pinned":
        _pin(canvas, quad[0] * 0.7 + quad[1] * 0.3 + (quad[3] - quad[0]) * 0.08, scale * img.width * 0.18, rng)
    if place == "hand":
        _hand(canvas, quad, rng, True)
    if rng.random() < 0.3:
        glare(canvas, rng, alpha, rng.uniform(0.3, 0.85))
    return canvas


def _flat_item(
    canvas: np.ndarray, img: Image.Image, rng: np.random.Generator, frac: float, max_angle: float, tilt: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``img`` covering about ``frac`` of the frame's short side at a random angle; returns (quad, alpha)."""
    H, W = canvas.shape[:2]
    scale = frac * min(W, H) / max(img.width, img.height)
    quad = place_quad(
        img.width,
        img.height,
        W / 2 + rng.uniform(-0.1, 0.1) * W,
        H / 2 + rng.uniform(-0.1, 0.1) * H,
        scale,
        rng.uniform(-max_angle, max_angle),
        rng.uniform(0, tilt),
        rng,
    )
    return quad, warp_paste(canvas, _layer(img), quad, rng.uniform(0.15, 0.4))


def _label_neg(spec: Spec, rng: np.random.Generator, rnd: random.Random, w: int, h: int) -> np.ndarray:
    """A brand, size or care label sewn on the garment's fabric, seen close up."""
    canvas = _fabric_bg(spec, rng, h, w, rng.uniform(2, 4))
    kind = spec["_kind"]
    if kind == "brand_label":
        img = neg.brand_label(str(spec["brand"]), rnd)
    elif kind == "size_label":
        img = neg.size_label(rnd)
    else:
        img = neg.care_label(rnd)
    _flat_item(canvas, img, rng, rng.uniform(0.45, 0.8), 25, 0.3)
    return canvas


def _other_neg(spec: Spec, rng: np.random.Generator, rnd: random.Random, w: int, h: int) -> np.ndarray:
    """Shoe box, measuring tape, receipt or a brand's retail hang tag."""
    kind = spec["_kind"]
    if kind == "measuring_tape":
        canvas = _garment(spec, rng, rnd, w, h)
        _flat_item(canvas, neg.measuring_tape(rnd), rng, rng.uniform(0.9, 1.3), 40, 0.1)
        return canvas
    if kind == "shoe_box":
        canvas = background(str(spec["bg"]), rng, h, w)
        _flat_item(canvas, neg.shoe_box_label(str(spec["brand"]), rnd), rng, rng.uniform(0.6, 0.95), 15)
        return canvas
    if kind == "paper_insert":
        canvas = background(rnd.choice(("table", "wood", "bed")), rng, h, w)
        _flat_item(
            canvas,
            neg.receipt(rnd.choice(("Boutique", "Galeries", "Store", str(spec["brand"]))), rnd),
            rng,
            rng.uniform(0.55, 0.9),
            30,
        )
        return canvas
    canvas = _tag_scene(spec, rng, w, h)
    img, hole = neg.retail_tag(spec, rnd)
    quad, alpha = _flat_item(canvas, img, rng, rng.uniform(0.45, 0.8), 30)
    src = np.array([[0, 0], [img.width, 0], [img.width, img.height], [0, img.height]], np.float32)
    hp = cv2.perspectiveTransform(np.array([[hole]], np.float32), cv2.getPerspectiveTransform(src, quad))[0, 0]
    _string(canvas, (float(hp[0]), float(hp[1])), rng, rnd.choice(("#111111", "#eeeeee", "#c8a060")))
    if rng.random() < 0.3:
        glare(canvas, rng, alpha, rng.uniform(0.3, 0.8))
    return canvas


_BUILDERS: dict[str, Builder] = {
    "garment": _garment,
    "detail": _garment,
    "printed_tee": _garment,
    "closeup": _closeup,
    "shop_tag": _shop_tag,
    "brand_label": _label_neg,
    "size_label": _label_neg,
    "care_label": _label_neg,
}


def render(photo: EvalPhoto) -> bytes:
    """Encoded bytes (JPEG mostly, PNG or WebP) of ``photo``, ``spec['w']``×``spec['h']`` px."""
    spec: Spec = dict(photo.spec)
    spec["_kind"] = photo.kind
    crc = zlib.crc32(repr(photo.spec).encode("utf-8"))
    rng = np.random.default_rng([photo.seed & 0xFFFFFFFF, crc])
    rnd = random.Random(photo.seed * 1_000_003 + crc)
    shop = shop_style(int(spec["shop_seed"]))
    out_w, out_h = int(spec["w"]), int(spec["h"])
    s = min(1.0, WORK_LONG / max(out_w, out_h))
    w, h = max(64, round(out_w * s)), max(64, round(out_h * s))
    canvas = _BUILDERS.get(photo.kind, _other_neg)(spec, rng, rnd, w, h)
    dim = rng.uniform(0.45, 0.8) if rng.random() < 0.15 else rng.uniform(0.9, 1.08)
    canvas = lighting(canvas, rng, shop.warmth + rng.uniform(-0.25, 0.25), shop.brightness * dim)
    soft = rng.random() < shop.blur
    blur = rng.uniform(0.8, 3.5) * max(out_w, out_h) / 1200 if soft else rng.uniform(0, 0.9)
    noise = shop.noise * (1.8 if dim < 0.8 else 1.0) * rng.uniform(0.7, 1.3)
    return finish(canvas, out_w, out_h, rng, noise, blur, shop.jpeg_q)
