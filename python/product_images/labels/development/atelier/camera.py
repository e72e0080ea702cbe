"""Compositing and phone-camera effects of the atelier renderer.

Canvases are ``float32`` arrays of shape (H, W, 3), RGB in 0..1, at a *work size* (long side
at most 1024 px); :func:`finish` scales to the photo's output size, adds sensor noise and
encodes. Layers are RGBA ``float32`` arrays (h, w, 4) placed by a destination quadrilateral.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

__all__ = ["finish", "hexrgb", "lighting", "place_quad", "smooth_noise", "warp_paste", "glare"]

WORK_LONG = 896


def hexrgb(code: str) -> np.ndarray:
    """``"#rrggbb"`` as a float32 array (3,) in 0..1."""
    return np.array([int(code[i : i + 2], 16) for i in (1, 3, 5)], np.float32) / 255.0


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Value noise of shape (h, w) in 0..1 with blobs about ``cell`` px wide (bicubic upsampled)."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    small = rng.random((gh, gw), dtype=np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def place_quad(
    lw: int, lh: int, cx: float, cy: float, scale: float, angle: float, tilt: float, rng: np.random.Generator
) -> np.ndarray:
    """Destination corners (4, 2) of an lw×lh layer centred at (cx, cy), scaled, rotated (deg), tilted.

    ``tilt`` (0..0.5) shrinks one random side to fake a perspective view.
    """
    hw, hh = lw * scale / 2, lh * scale / 2
    pts = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]], np.float32)
    side = int(rng.integers(0, 4))
    a, b = side, (side + 1) % 4
    mid = (pts[a] + pts[b]) / 2
    pts[a] = mid + (pts[a] - mid) * (1 - tilt)
    pts[b] = mid + (pts[b] - mid) * (1 - tilt)
    t = np.deg2rad(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    return (pts @ rot.T + np.array([cx, cy], np.float32)).astype(np.float32)


def warp_paste(
    canvas: np.ndarray, layer: np.ndarray, quad: np.ndarray, shadow: float = 0.35, soft: float = 0.012
) -> np.ndarray:
    """Paste RGBA ``layer`` (h, w, 4) onto ``canvas`` (H, W, 3) at corners ``quad`` (4, 2); in place.

    A blurred, offset copy of the alpha darkens the canvas by up to ``shadow`` first. Returns
    the warped alpha (H, W) so callers can light the pasted area.
    """
    H, W = canvas.shape[:2]
    h, w = layer.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(layer, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = warped[..., 3]
    if shadow > 0:
        k = max(3, int(max(H, W) * soft) | 1)
        off = max(1, int(max(H, W) * soft * 0.6))
        sh = cv2.GaussianBlur(alpha, (k, k), 0)
        sh = np.roll(sh, (off, off // 2), axis=(0, 1))
        canvas *= (1.0 - shadow * sh)[..., None]
    a = alpha[..., None]
    canvas *= 1.0 - a
    canvas += warped[..., :3] * a
    return alpha


def glare(canvas: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None, strength: float) -> None:
    """Add a soft specular blob (a lamp's reflection) of ``strength`` 0..1, restricted to ``mask``; in place."""
    H, W = canvas.shape[:2]
    cx, cy = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H
    rx, ry = rng.uniform(0.05, 0.25) * W, rng.uniform(0.03, 0.15) * H
    yy, xx = np.ogrid[:H, :W]
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    blob = np.exp(-d).astype(np.float32) * strength
    if mask is not None:
        blob *= mask
    canvas += (1.0 - canvas) * blob[..., None]


def lighting(canvas: np.ndarray, rng: np.random.Generator, warmth: float, brightness: float) -> np.ndarray:
    """Colour temperature (``warmth`` -1..1), exposure gain, a directional light gradient, vignette."""
    H, W = canvas.shape[:2]
    gain = np.array([1 + 0.12 * warmth, 1 + 0.02 * warmth, 1 - 0.15 * warmth], np.float32) * brightness
    gx, gy = rng.uniform(-1, 1), rng.uniform(-1, 1)
    yy = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    grad = 1.0 + rng.uniform(0.05, 0.3) * (gx * xx + gy * yy) / 2
    vig = 1.0 - rng.uniform(0.05, 0.35) * (xx**2 + yy**2) / 2
    out = canvas * (grad * vig)[..., None]
    out *= gain
    return out


def _blur(img: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Defocus (Gaussian) or hand-shake (line kernel) blur of ``amount`` px on a uint8 image."""
    if amount < 0.6:
        return img
    if rng.random() < 0.6:
        k = int(amount * 3) | 1
        return cv2.GaussianBlur(img, (k, k), amount)
    n = max(3, int(amount * 2.5) | 1)
    kern = np.zeros((n, n), np.float32)
    t = rng.uniform(0, np.pi)
    c = n // 2
    dx, dy = np.cos(t) * c, np.sin(t) * c
    cv2.line(kern, (int(c - dx), int(c - dy)), (int(c + dx), int(c + dy)), 1.0, 1)
    kern /= max(kern.sum(), 1e-6)
    return cv2.filter2D(img, -1, kern)


def finish(
    canvas: np.ndarray, out_w: int, out_h: int, rng: np.random.Generator, noise: float, blur: float, jpeg_q: int
) -> bytes:
    """Add noise to ``canvas`` (float RGB 0..1, modified), scale to out_w×out_h, blur, encode (JPEG/PNG/WebP).

    ``noise``: sensor noise sigma (0..1 scale); ``blur``: blur radius in output px; ``jpeg_q``:
    the lowest JPEG quality this shop's phone produces.
    """
    H, W = canvas.shape[:2]
    if noise > 0.002:
        lum = rng.standard_normal((H, W), dtype=np.float32) * noise
        canvas += lum[..., None] * (1 + rng.normal(0, 0.3, 3).astype(np.float32))
    canvas *= 255.0
    np.clip(canvas, 0, 255, out=canvas)
    img: np.ndarray = canvas.astype(np.uint8)
    gamma = rng.uniform(0.85, 1.15)
    lut = (255.0 * (np.arange(256) / 255.0) ** gamma + 0.5).astype(np.uint8)
    img = cv2.LUT(img, lut)
    img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    img = _blur(img, rng, blur)
    pil = Image.fromarray(img)
    buf = io.BytesIO()
    r = rng.random()
    if r < 0.05 and max(out_w, out_h) <= 1100:
        pil.save(buf, "PNG", compress_level=1)
    elif r < 0.1:
        pil.save(buf, "WEBP", quality=int(rng.integers(60, 90)), method=0)
    else:
        q = int(rng.integers(jpeg_q, 96))
        pil.save(buf, "JPEG", quality=q, subsampling=int(rng.choice([0, 2, 2])))
    return buf.getvalue()
