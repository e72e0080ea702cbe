"""Backgrounds, fabrics and garment silhouettes of the atelier renderer.

Everything returns ``float32`` RGB arrays (H, W, 3) in 0..1 or masks (H, W) in 0..1 at
work size. Garments are polygons in a unit box, filled with a fabric texture, shaded with
folds and given a soft contact shadow.
"""

from __future__ import annotations

import cv2
import numpy as np

from .camera import hexrgb, smooth_noise

__all__ = ["background", "fabric", "draw_garment"]


def _tint(rng: np.random.Generator, base: tuple[float, float, float], spread: float) -> np.ndarray:
    """``base`` RGB jittered by ``spread`` per channel."""
    return np.clip(np.array(base, np.float32) + rng.uniform(-spread, spread, 3).astype(np.float32), 0, 1)


def _wood(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Floor or table planks (horizontal or vertical) with grain and dark gaps."""
    vertical = rng.random() < 0.5
    L, S = (h, w) if vertical else (w, h)
    base = _tint(rng, (0.55, 0.38, 0.22), 0.15) * rng.uniform(0.6, 1.25)
    plank = int(S / rng.uniform(3, 8)) + 4
    rows = np.arange(S)[:, None]
    idx = rows // plank
    jitter = (np.sin(idx * 12.9898) * 43758.5453) % 1.0
    grain = smooth_noise(rng, S, L, max(4, S / 40))[:, :]
    grain = cv2.resize(cv2.resize(grain, (max(2, L // 30), S)), (L, S))
    streak = 0.5 + 0.5 * np.sin(rows * 0.9 + grain * 14)
    val = 0.8 + 0.25 * jitter + 0.12 * streak
    val = np.where(rows % plank < 2, 0.45, val).astype(np.float32)
    img = val[..., None] * base
    if vertical:
        img = img.transpose(1, 0, 2)
    return np.ascontiguousarray(img, dtype=np.float32)


def background(name: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """The named scene background (wall, wood, bed, concrete, rail, backdrop, tiles, rug, table), (h, w, 3)."""
    if name == "wood":
        return _wood(rng, h, w)
    n1 = smooth_noise(rng, h, w, max(h, w) / rng.uniform(2, 6))
    if name in ("wall", "rail"):
        col = _tint(rng, (0.9, 0.88, 0.84), 0.07)
        img = col * (0.9 + 0.12 * n1)[..., None]
        if name == "rail":
            y = int(h * rng.uniform(0.04, 0.1))
            t = max(3, h // 90)
            img[y : y + t] = np.linspace(0.9, 0.35, t, dtype=np.float32)[:, None, None]
        return img.astype(np.float32)
    if name == "bed":
        col = _tint(rng, (0.88, 0.87, 0.86), 0.12)
        creases = smooth_noise(rng, h, w, max(h, w) / 7)
        fold = 1 - 0.25 * np.abs(cv2.Sobel(creases, cv2.CV_32F, 1, 1, ksize=5)) * max(h, w) / 60
        return (col * np.clip(fold * (0.88 + 0.12 * n1), 0.5, 1.05)[..., None]).astype(np.float32)
    if name == "concrete":
        fine = smooth_noise(rng, h, w, 3)
        g = 0.55 + 0.15 * n1 + 0.08 * fine
        return (_tint(rng, (0.62, 0.61, 0.6), 0.04) * g[..., None] / 0.6).astype(np.float32)
    if name == "tiles":
        col = _tint(rng, (0.85, 0.84, 0.8), 0.12)
        step = int(min(h, w) / rng.uniform(3, 7)) + 8
        yy, xx = np.ogrid[:h, :w]
        grout = ((yy % step) < 3) | ((xx % step) < 3)
        img = np.broadcast_to(col, (h, w, 3)) * (0.92 + 0.1 * n1)[..., None]
        return np.where(grout[..., None], col * 0.6, img).astype(np.float32)
    if name == "rug":
        fine = rng.random((h // 2 + 1, w // 2 + 1), dtype=np.float32)
        fine = cv2.resize(fine, (w, h))
        col = hexrgb("#" + "".join(f"{int(c):02x}" for c in rng.integers(60, 220, 3)))
        return (col * (0.75 + 0.2 * fine + 0.1 * n1)[..., None]).astype(np.float32)
    if name == "table":
        col = _tint(rng, (0.8, 0.8, 0.8), 0.18)
        return (col * (0.85 + 0.2 * n1)[..., None]).astype(np.float32)
    col = np.array(rng.uniform(0.3, 0.95, 3), np.float32)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    return (col * (0.85 + 0.2 * yy + 0.05 * n1)[..., None]).astype(np.float32)


def fabric(rng: np.random.Generator, h: int, w: int, c1: str, c2: str, pattern: str, scale: float) -> np.ndarray:
    """A fabric texture (h, w, 3), computed at half size and upsampled; see :func:`_fabric`."""
    hh, hw = (h + 1) // 2, (w + 1) // 2
    small = _fabric(rng, hh, hw, c1, c2, pattern, scale / 2)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _fabric(rng: np.random.Generator, h: int, w: int, c1: str, c2: str, pattern: str, scale: float) -> np.ndarray:
    """A fabric texture (h, w, 3): plain, stripes, check, dots, knit, denim or floral, in colours c1/c2.

    ``scale``: pattern size multiplier (1 = a garment seen whole; 3 = a close-up).
    """
    a, b = hexrgb(c1), hexrgb(c2)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    p = max(3.0, min(h, w) / 14 * scale * 2)
    if pattern == "stripes":
        m = ((yy // p) % 2 == 0).astype(np.float32) * np.ones_like(xx)
    elif pattern == "check":
        m = (((yy // p) % 2) * 0.5 + ((xx // p) % 2) * 0.5).astype(np.float32)
    elif pattern == "dots":
        m = ((((yy % p) - p / 2) ** 2 + ((xx % p) - p / 2) ** 2) < (p / 5) ** 2).astype(np.float32)
    elif pattern == "floral":
        m = (smooth_noise(rng, h, w, p * 0.7) > 0.62).astype(np.float32)
    else:
        m = np.zeros((h, w), np.float32)
    img = a * (1 - m[..., None]) + b * m[..., None]
    if pattern == "denim":
        img = np.broadcast_to(hexrgb(c1) * 0.6 + np.array([0.05, 0.12, 0.3], np.float32) * 0.4, (h, w, 3))
        tw = 0.5 + 0.5 * np.sin((xx + yy) * (2.2 / scale))
        grain = rng.random((h, w), dtype=np.float32)
        img = img * (0.8 + 0.12 * tw + 0.12 * grain)[..., None] + 0.08 * (grain > 0.8)[..., None]
    elif pattern == "knit":
        rib = 0.5 + 0.5 * np.sin(xx * (1.4 / scale)) * np.cos(yy * (0.7 / scale))
        img = img * (0.82 + 0.2 * rib)[..., None]
    else:
        img = img * (0.95 + 0.06 * rng.random((h, w), dtype=np.float32))[..., None]
        if scale >= 1:
            f = 2 * np.pi / (1.2 * scale)
            weave = np.sin(xx * f) * np.sin(yy * f * rng.uniform(0.8, 1.2))
            img = img * (0.93 + 0.07 * weave)[..., None]
    return np.asarray(img, np.float32)


def _top_points(cat: str) -> list[tuple[float, float]]:
    """Outline of a top (tee, shirt, sweater, jacket, coat) in a unit box; long sleeves but for tees."""
    long = cat in ("shirt", "sweater", "jacket", "coat")
    hem = 1.0 if cat == "coat" else 0.82
    body = [(0.62, 0.0), (0.56, 0.07), (0.5, 0.09), (0.44, 0.07), (0.38, 0.0), (0.22, 0.05)]
    if long:
        body += [(0.04, 0.55), (0.02, 0.78), (0.12, 0.8), (0.24, 0.4), (0.24, hem)]
        body += [(0.76, hem), (0.76, 0.4), (0.88, 0.8), (0.98, 0.78), (0.96, 0.55), (0.78, 0.05)]
    else:
        body += [(0.02, 0.28), (0.14, 0.38), (0.23, 0.3), (0.23, hem)]
        body += [(0.77, hem), (0.77, 0.3), (0.86, 0.38), (0.98, 0.28), (0.78, 0.05)]
    return body


def _shape_points(shape: str, cat: str, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Outline of a garment shape in a unit box, (x, y) pairs."""
    if shape == "top":
        return _top_points(cat)
    if shape == "dress":
        return [
            (0.4, 0.0),
            (0.45, 0.06),
            (0.55, 0.06),
            (0.6, 0.0),
            (0.68, 0.05),
            (0.64, 0.3),
            (0.62, 0.38),
            (0.85, 1.0),
            (0.15, 1.0),
            (0.38, 0.38),
            (0.36, 0.3),
            (0.32, 0.05),
        ]
    if shape == "skirt":
        return [(0.3, 0.05), (0.7, 0.05), (0.72, 0.12), (0.9, 0.8), (0.1, 0.8), (0.28, 0.12)]
    if shape == "trousers":
        leg = 0.55 if cat == "shorts" else 1.0
        return [
            (0.28, 0.0),
            (0.72, 0.0),
            (0.76, 0.1),
            (0.8, leg),
            (0.55, leg),
            (0.5, 0.28),
            (0.45, leg),
            (0.2, leg),
            (0.24, 0.1),
        ]
    if shape == "bag":
        return [(0.12, 0.35), (0.88, 0.35), (0.92, 0.92), (0.08, 0.92)]
    if shape == "scarf":
        return [(0.3, 0.0), (0.55, 0.0), (0.62, 0.5), (0.7, 1.0), (0.45, 1.0), (0.4, 0.5)]
    if shape == "belt":
        return [(0.05, 0.45), (0.95, 0.4), (0.95, 0.48), (0.05, 0.53)]
    if shape == "hat":
        return [
            (0.05, 0.62),
            (0.25, 0.55),
            (0.3, 0.25),
            (0.5, 0.18),
            (0.7, 0.25),
            (0.75, 0.55),
            (0.95, 0.62),
            (0.8, 0.7),
            (0.5, 0.72),
            (0.2, 0.7),
        ]
    return [(0.05, 0.55), (0.2, 0.5), (0.3, 0.35), (0.42, 0.4), (0.45, 0.6), (0.47, 0.72), (0.05, 0.72)]


def _details(mask: np.ndarray, shape: str, box: tuple[int, int, int, int], shade: np.ndarray) -> None:
    """Darken seams (placket, waistband, handle, sole) on ``shade`` (H, W) in place."""
    x0, y0, bw, bh = box
    t = max(1, bw // 180)
    if shape == "top":
        cv2.line(shade, (x0 + bw // 2, y0 + int(bh * 0.09)), (x0 + bw // 2, y0 + int(bh * 0.8)), 0.82, t)
    elif shape in ("trousers", "skirt"):
        cv2.line(shade, (x0 + int(bw * 0.26), y0 + int(bh * 0.1)), (x0 + int(bw * 0.74), y0 + int(bh * 0.1)), 0.8, t)
    elif shape == "bag":
        cv2.ellipse(
            shade,
            (x0 + bw // 2, y0 + int(bh * 0.35)),
            (int(bw * 0.25), int(bh * 0.25)),
            0,
            180,
            360,
            0.35,
            max(3, bw // 30),
        )
    elif shape == "shoes":
        cv2.line(
            shade,
            (x0 + int(bw * 0.05), y0 + int(bh * 0.7)),
            (x0 + int(bw * 0.47), y0 + int(bh * 0.7)),
            0.5,
            max(2, bh // 40),
        )
    elif shape == "belt":
        cv2.rectangle(
            shade,
            (x0 + int(bw * 0.1), y0 + int(bh * 0.36)),
            (x0 + int(bw * 0.18), y0 + int(bh * 0.57)),
            1.6,
            max(2, bw // 150),
        )


def draw_garment(canvas: np.ndarray, spec: dict, rng: np.random.Generator, zoom: float = 1.0) -> np.ndarray:
    """Draw the product of ``spec`` (shape, cat, color, color2, pattern) on ``canvas`` in place.

    ``zoom`` > 1 frames a detail (the garment larger than the frame). Returns its mask (H, W).
    """
    H, W = canvas.shape[:2]
    shape, cat = str(spec["shape"]), str(spec["cat"])
    pts = np.array(_shape_points(shape, cat, rng), np.float32)
    if shape == "shoes":
        pts = np.concatenate([pts, pts + np.array([0.48, 0.05], np.float32)])
    size = min(H, W) * rng.uniform(0.7, 0.9) * zoom
    cx = W / 2 + rng.uniform(-0.05, 0.05) * W * zoom
    cy = H / 2 + rng.uniform(-0.05, 0.05) * H * zoom
    ang = np.deg2rad(rng.uniform(-6, 6))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32)
    xy = ((pts - 0.5) * size) @ rot.T + np.array([cx, cy], np.float32)
    mask = np.zeros((H, W), np.float32)
    polys = [xy[: len(xy) // 2], xy[len(xy) // 2 :]] if shape == "shoes" else [xy]
    for poly in polys:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    pattern = "plain" if shape in ("shoes", "bag", "belt") and spec["pattern"] != "denim" else str(spec["pattern"])
    tex = fabric(rng, H, W, str(spec["color"]), str(spec["color2"]), pattern, zoom)
    folds = smooth_noise(rng, H, W, size / 5)
    shade = (0.78 + 0.34 * folds).astype(np.float32)
    bx, by = int(xy[:, 0].min()), int(xy[:, 1].min())
    _details(mask, shape, (bx, by, int(size), int(size)), shade)
    if spec.get("print") and shape == "top":
        _print_area(tex, spec, (cx, cy - size * 0.05), size)
    k = max(3, int(min(H, W) * 0.03) | 1)
    sh = np.roll(cv2.GaussianBlur(mask, (k, k), 0), (k // 3, k // 4), axis=(0, 1))
    canvas *= (1 - 0.35 * sh)[..., None]
    a = mask[..., None]
    canvas *= 1 - a
    canvas += tex * shade[..., None] * a
    return mask


def _print_area(tex: np.ndarray, spec: dict, centre: tuple[float, float], size: float) -> None:
    """Screen-print ``spec['print']`` (a number or word) across a tee's chest, in place on ``tex``."""
    from PIL import Image, ImageDraw

    from .fonts import GROUPS, font

    txt = str(spec["print"])
    keys = GROUPS["display"] + GROUPS["serif"] + ("sans_bold", "nimbus_bold", "dejavu_cond")
    key = keys[len(txt) * 7 % len(keys)]
    from .tags import fit_text

    f = font(key, fit_text(key, txt, size * 0.36, size * 0.16))
    x0, t, r, b = f.getbbox(txt)
    img = Image.new("L", (int(r - x0 + 4), int(b - t + 4)), 0)
    ImageDraw.Draw(img).text((2 - x0, 2 - t), txt, font=f, fill=255)
    m = np.asarray(img, np.float32) / 255.0
    H, W = tex.shape[:2]
    x0, y0 = int(centre[0] - m.shape[1] / 2), int(centre[1] - m.shape[0] / 2)
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(W, x0 + m.shape[1]), min(H, y0 + m.shape[0])
    if xe <= xs or ye <= ys:
        return
    sub = m[ys - y0 : ye - y0, xs - x0 : xe - x0, None]
    ink = (
        np.array([0.95, 0.95, 0.92], np.float32)
        if tex[int(centre[1]), int(centre[0])].mean() < 0.5
        else np.array([0.1, 0.1, 0.15], np.float32)
    )
    tex[ys:ye, xs:xe] = tex[ys:ye, xs:xe] * (1 - sub * 0.9) + ink * sub * 0.9
