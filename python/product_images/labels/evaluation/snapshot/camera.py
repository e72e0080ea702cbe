"""The phone camera: light, perspective, blur, resize, sensor noise, rotation, encoding.

:func:`develop` takes the scene (float32 (h, w, 3) RGB in [0, 1], working resolution)
and the photo spec, and returns the encoded file bytes (JPEG, PNG or WebP) whose
pixel size is ``spec['width']`` x ``spec['height']``.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from numpy.random import Generator
from PIL import Image

from .texture import SpecDict

__all__ = ["WORK_MAX", "work_size", "develop"]

#: longest side (px) of the working canvas; larger photos are upscaled at the end
WORK_MAX = 1024

_TINT = {
    "warm": (1.08, 0.97, 0.76),
    "daylight": (0.97, 1.0, 1.06),
    "flash": (1.0, 1.0, 1.03),
    "dim": (1.1, 0.95, 0.72),
    "overcast": (0.95, 0.99, 1.04),
    "shade": (0.93, 0.98, 1.1),
}


def work_size(spec: SpecDict) -> tuple[int, int]:
    """(h, w) of the working canvas for the photo: the unrotated output size, capped."""
    w, h = int(spec["width"]), int(spec["height"])
    if int(spec.get("rot", 0)) in (90, 270):
        w, h = h, w
    f = min(1.0, WORK_MAX / max(w, h))
    return max(16, round(h * f)), max(16, round(w * f))


def _illumination(rng: Generator, h: int, w: int, light: str) -> np.ndarray:
    """Brightness field (h, w): gain, directional falloff, vignette, flash hotspot."""
    gain = {"dim": rng.uniform(0.38, 0.6), "flash": rng.uniform(0.95, 1.1)}.get(light, rng.uniform(0.85, 1.08))
    yy = np.linspace(-1, 1, 48, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, 48, dtype=np.float32)[None, :]
    a = float(rng.uniform(0, 2 * np.pi))
    slope = float(rng.uniform(0.05, 0.3 if light in ("daylight", "warm") else 0.15))
    field = 1.0 + slope * (np.cos(a) * xx + np.sin(a) * yy)
    r2 = xx * xx + yy * yy
    if light == "flash":
        cx, cy = rng.uniform(-0.2, 0.2, 2)
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        field = field * (0.55 + 0.6 * np.exp(-d2 * rng.uniform(0.8, 2.0)))
    else:
        field = field * (1.0 - rng.uniform(0.05, 0.3) * r2 / 2)
    small = (gain * field).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _optics(rng: Generator, img: np.ndarray, spec: SpecDict) -> np.ndarray:
    """Whole-frame perspective, motion blur and defocus on float (h, w, 3)."""
    h, w = img.shape[:2]
    persp = float(spec.get("persp", 0.0))
    if persp > 0:
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        jitter = rng.uniform(-persp, persp, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
        dst = src + jitter
        mat = cv2.getPerspectiveTransform(src, dst)
        img = cv2.warpPerspective(img, mat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    motion = int(spec.get("motion", 0))
    if motion > 1:
        line = np.zeros((motion, motion), np.float32)
        line[motion // 2, :] = 1.0 / motion
        rot = cv2.getRotationMatrix2D((motion / 2 - 0.5, motion / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        k = np.asarray(cv2.warpAffine(line, rot, (motion, motion)), np.float32)
        img = cv2.filter2D(img, -1, k / max(float(k.sum()), 1e-6))
    defocus = float(spec.get("defocus", 0.0))
    if defocus > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), defocus)
    return img


def _tone(rng: Generator, img: np.ndarray, spec: SpecDict) -> np.ndarray:
    """Light, white balance, sensor noise, tone curve and saturation; returns uint8 (h, w, 3)."""
    h, w = img.shape[:2]
    light = str(spec.get("light", "daylight"))
    tint = np.array(_TINT.get(light, (1.0, 1.0, 1.0)), np.float32) * rng.uniform(0.97, 1.03, 3).astype(np.float32)
    field = _illumination(rng, h, w, light)
    small = cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA) * cv2.resize(field, (32, 32))[..., None]
    target = 0.3 if light == "dim" else float(rng.uniform(0.42, 0.55))
    lum = small.mean(axis=2)
    expo = target / max(float(lum.mean()), 1e-3)
    expo = min(expo, 1.08 / max(float(np.percentile(lum, 99)), 1e-3))
    expo = float(np.clip(expo, 0.75, 3.0 if light != "dim" else 1.5))
    img = img * cv2.merge([field * float(t) * expo for t in tint])
    sigma = float(spec.get("noise", 2.0)) / 255.0
    if light == "dim":
        sigma *= 2.5
    if sigma > 0:
        half = rng.standard_normal((h // 2 + 1, w // 2 + 1), dtype=np.float32) * (sigma * 1.3)
        luma = cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)
        chroma = rng.standard_normal((h // 4 + 1, w // 4 + 1, 3), dtype=np.float32) * (sigma * 0.8)
        img += cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
        img += cv2.merge([luma, luma, luma])
    u8 = cv2.convertScaleAbs(img, alpha=255.0)
    contrast = float(rng.uniform(0.9, 1.2))
    gamma = float(rng.uniform(0.85, 1.05))
    x = np.arange(256, dtype=np.float32) / 255.0
    lut = np.clip(np.clip(0.5 + (x - 0.5) * contrast, 0, 1) ** gamma * 255.0 + 0.5, 0, 255).astype(np.uint8)
    u8 = cv2.LUT(u8, lut)
    sat = float(rng.uniform(0.85, 1.2))
    grey = cv2.cvtColor(cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(u8, sat, grey, 1.0 - sat, 0.0)


def develop(rng: Generator, scene: np.ndarray, spec: SpecDict) -> bytes:
    """Turn a float scene (h, w, 3) into the photo file (bytes) described by ``spec``."""
    img = _optics(rng, scene, spec)
    u8 = _tone(rng, img, spec)
    rot = int(spec.get("rot", 0))
    out_w, out_h = int(spec["width"]), int(spec["height"])
    if rot in (90, 270):
        out_w, out_h = out_h, out_w
    if (u8.shape[1], u8.shape[0]) != (out_w, out_h):
        interp = cv2.INTER_AREA if out_w < u8.shape[1] else cv2.INTER_LINEAR
        u8 = cv2.resize(u8, (out_w, out_h), interpolation=interp)
    if rot:
        u8 = np.ascontiguousarray(np.rot90(u8, k=rot // 90))
    return _encode(Image.fromarray(u8), str(spec.get("fmt", "jpeg")), int(spec.get("quality", 85)))


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    """Encode ``img`` as ``fmt`` ("jpeg", "png", "webp") at ``quality`` (1..100)."""
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=3)
    elif fmt == "webp":
        img.save(buf, format="WEBP", quality=quality, method=2)
    else:
        img.save(buf, format="JPEG", quality=quality, subsampling=2 if quality < 90 else 0)
    return buf.getvalue()
