"""The phone camera: placing sprites in perspective, light, flash, glare, blur, noise and encoding.

Frames are uint8 RGB arrays (rows × cols × 3) at the working resolution; :func:`encode`
resizes to the output size and returns the file's bytes.
"""

from __future__ import annotations

import cv2
import numpy as np

from .scenes import shade, soft

__all__ = ["blur", "encode", "glare", "light", "noise", "paste"]


def paste(
    frame: np.ndarray,
    sprite: np.ndarray,
    cx: float,
    cy: float,
    width: float,
    angle: float,
    tilt: float,
    rng: np.random.Generator,
    shadow: float = 0.35,
) -> np.ndarray:
    """Warp an RGBA ``sprite`` into ``frame`` in place and return its 4 corners in frame pixels (4×2).

    The sprite is scaled to ``width`` px, rotated ``angle`` degrees about (cx, cy), and its
    corners moved by up to ``tilt`` × size (perspective). ``shadow`` darkens a soft offset copy.
    """
    sh, sw = sprite.shape[:2]
    s = width / sw
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    c = (src - [sw / 2, sh / 2]) * s
    shrink = 1 - tilt * rng.uniform(0.3, 1.0)
    side = int(rng.integers(0, 4))  # the edge further from the camera is shorter
    idx = [(side + i) % 4 for i in (0, 1)]
    c[idx] *= shrink
    c = c + rng.normal(0, tilt * 0.05 * width, c.shape)
    dst = (c @ rot.T + [cx, cy]).astype(np.float32)
    h, w = frame.shape[:2]
    x0, y0 = np.floor(dst.min(0)).astype(int) - 8
    x1, y1 = np.ceil(dst.max(0)).astype(int) + 8
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return dst
    m = cv2.getPerspectiveTransform(src, (dst - [x0, y0]).astype(np.float32))
    warped = cv2.warpPerspective(
        sprite, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0)
    )
    alpha = warped[..., 3]
    region = frame[y0:y1, x0:x1]
    if shadow > 0:
        blur_r = 0.012 * width + 1
        sd = np.roll(soft(alpha, blur_r), (int(blur_r * 0.8), int(blur_r * 0.5)), axis=(0, 1))
        region[:] = shade(region, 1 - shadow * sd.astype(np.float32) / 255)
    af = alpha.astype(np.float32)[..., None] / 255
    region[:] = (warped[..., :3] * af + region * (1 - af)).astype(np.uint8)
    return dst


def light(frame: np.ndarray, rng: np.random.Generator, mode: str) -> np.ndarray:
    """Relight a frame: ``mode`` is day, warm, cool, dim, flash or shade; returns a new uint8 RGB frame.

    Applies white balance and exposure (per-channel curve), vignetting, and for ``flash`` a
    bright centre with a fast fall-off; for ``shade`` a soft shadow across part of the frame.
    """
    h, w = frame.shape[:2]
    wb = {
        "day": (1.0, 1.0, 1.0),
        "warm": (1.1, 0.98, 0.78),
        "cool": (0.9, 0.98, 1.12),
        "dim": (1.05, 0.97, 0.85),
        "flash": (1.0, 1.0, 1.04),
        "shade": (0.95, 1.0, 1.06),
    }[mode]
    gain = {"day": 1.0, "warm": 0.95, "cool": 1.0, "dim": 0.45, "flash": 0.75, "shade": 0.9}[mode] * rng.uniform(
        0.9, 1.1
    )
    x = np.arange(256, dtype=np.float32) / 255
    gamma = rng.uniform(0.9, 1.1)
    lut = np.stack([np.clip(255 * (x**gamma) * gain * b * rng.uniform(0.97, 1.03), 0, 255) for b in wb], 1)
    out = cv2.LUT(frame, lut.astype(np.uint8).reshape(256, 1, 3))
    gy, gx = np.mgrid[0:24, 0:32].astype(np.float32)
    fx, fy = rng.uniform(10, 22), rng.uniform(8, 16)
    r2 = ((gx - fx) / 32) ** 2 + ((gy - fy) / 24) ** 2
    if mode == "flash":
        m = 0.75 + 1.1 * np.exp(-r2 / rng.uniform(0.05, 0.12))
    else:
        m = 1.0 - rng.uniform(0.1, 0.35) * (((gx - 16) / 16) ** 2 + ((gy - 12) / 12) ** 2) / 2
        if mode == "shade":
            edge = rng.uniform(0.3, 0.7) * 32
            m = m * np.where(gx + rng.uniform(-0.5, 0.5) * gy < edge, 0.6, 1.0)
            m = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.5)
    return shade(out, cv2.resize(m.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC))


def glare(frame: np.ndarray, rng: np.random.Generator, cx: float, cy: float, r: float) -> None:
    """Add a specular highlight (a soft white ellipse of radius ``r`` px near (cx, cy)) in place."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = int(max(0, cx - 2 * r)), int(max(0, cy - 2 * r)), int(min(w, cx + 2 * r)), int(min(h, cy + 2 * r))
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    ax = (int(r), int(r * rng.uniform(0.3, 0.7)))
    cv2.ellipse(m, (int(cx - x0), int(cy - y0)), ax, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
    m = soft(m, r * 0.35)
    add = (m.astype(np.float32) * rng.uniform(0.6, 0.95)).astype(np.uint8)
    frame[y0:y1, x0:x1] = cv2.add(frame[y0:y1, x0:x1], cv2.merge([add, add, add]))


def blur(frame: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Blur a frame: ``kind`` none, soft (defocus), strong (missed focus) or motion (hand shake)."""
    if kind == "soft":
        return cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.8, 1.6))
    if kind == "strong":
        return cv2.GaussianBlur(frame, (0, 0), rng.uniform(2.0, 3.5))
    if kind == "motion":
        n = int(rng.integers(5, 13))
        k: np.ndarray = np.zeros((n, n), np.float32)
        cv2.line(k, (0, n // 2), (n - 1, n // 2), 1.0, 1)
        rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        k = cv2.warpAffine(k, rot, (n, n))
        kernel = (k / max(1e-6, float(k.sum()))).astype(np.float32)
        return cv2.filter2D(frame, -1, kernel)
    return frame


def noise(frame: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Add sensor noise of about ``sigma`` grey levels (luma plus a little chroma); returns a new frame."""
    h, w = frame.shape[:2]
    t = 96
    tile = np.abs(rng.normal(0, sigma, (t, t, 3))).astype(np.uint8)
    tile2 = np.abs(rng.normal(0, sigma, (t, t, 3))).astype(np.uint8)
    oy, ox = int(rng.integers(0, t)), int(rng.integers(0, t))
    big = cv2.repeat(tile, h // t + 2, w // t + 2)[oy : oy + h, ox : ox + w]
    big2 = cv2.repeat(tile2, h // t + 2, w // t + 2)[t - oy : t - oy + h, ox : ox + w]
    return cv2.subtract(cv2.add(frame, big), big2)


def encode(frame: np.ndarray, out_w: int, out_h: int, fmt: str, quality: int) -> bytes:
    """Resize to (out_w × out_h) and encode as ``fmt`` (jpeg, png, webp) at ``quality`` (1–100)."""
    h, w = frame.shape[:2]
    if (w, h) != (out_w, out_h):
        interp = cv2.INTER_AREA if out_w < w else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (out_w, out_h), interpolation=interp)
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    if fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    elif fmt == "webp":
        ok, buf = cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"could not encode a {fmt} image")
    return buf.tobytes()
