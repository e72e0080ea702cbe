"""An old phone camera: light colour and falloff, focus and shake, sensor noise, over-sharpening, encoding.

Input: the scene, an RGB ``float32`` array (0..1, (H, W, 3)); output: the encoded file's bytes
(JPEG at ``spec["quality"]``, PNG or WebP per ``spec["fmt"]``), the same size in pixels.
"""

from __future__ import annotations

import io
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from .paper import low_noise
from .spec import Spec

__all__ = ["develop", "encode"]

_TILE = 1700

# Channel gains (R, G, B) of the light sources of a shop or a flat.
_LIGHTS: dict[str, tuple[float, float, float]] = {
    "warm": (1.12, 0.98, 0.72),
    "tungsten": (1.2, 0.95, 0.6),
    "daylight": (1.0, 1.0, 1.02),
    "fluo": (0.95, 1.05, 0.92),
    "shade": (0.9, 0.98, 1.12),
}


def _light(img: np.ndarray, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Colour of the light (``spec["light"]``; ``mixed`` blends two across the frame), exposure and falloff."""
    h, w = img.shape[:2]
    name = spec.text("light", "warm")
    if name == "mixed":
        ramp = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        warm, cool = np.asarray(_LIGHTS["tungsten"], np.float32), np.asarray(_LIGHTS["shade"], np.float32)
        img = img * (warm * (1 - ramp) + cool * ramp)
    else:
        img = img * np.asarray(_LIGHTS.get(name, _LIGHTS["warm"]), np.float32)
    yy = np.linspace(-1.0, 1.0, h // 8 + 2, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, w // 8 + 2, dtype=np.float32)[None, :]
    gain = (1.0 - spec.number("vignette", 0.3) * (xx**2 + yy**2) / 2) * spec.number("exposure", 1.0)
    gain = gain * (1.0 + low_noise(rng, gain.shape[0], gain.shape[1], 2, 0.08))
    gain = np.asarray(cv2.resize(gain.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    return img * gain[..., None]


def _focus(img: np.ndarray, spec: Spec, scale: float) -> np.ndarray:
    """Defocus (Gaussian, ``spec["blur"]`` px) and hand shake (a line kernel, ``spec["motion"]`` px long).

    Lengths are in photo pixels; ``scale`` is the scene's size over the photo's.
    """
    sigma = spec.number("blur") * scale
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    length = int(spec.number("motion") * scale)
    if length >= 2:
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), spec.number("motion_angle"), 1.0)
        kernel = np.asarray(cv2.warpAffine(kernel, rot, (length, length)), np.float32)
        img = cv2.filter2D(img, -1, kernel / max(1e-6, float(kernel.sum())))
    return img


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """Unit Gaussian noise (float32, 1700 × 1700), the same in every process: photos crop it at random offsets."""
    return np.random.default_rng(20240611).standard_normal((_TILE, _TILE), dtype=np.float32)


def _sensor(img: np.ndarray, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Luma noise on the full-size ``uint8`` photo (a random crop of the noise tile), then over-sharpening."""
    h, w = img.shape[:2]
    oy, ox = int(rng.integers(0, _TILE - h + 1)), int(rng.integers(0, _TILE - w + 1))
    luma = _noise_tile()[oy : oy + h, ox : ox + w, None]
    noisy = img.astype(np.float32)
    noisy += luma * (spec.number("noise", 0.02) * 255.0)
    out = np.clip(noisy, 0, 255, out=noisy).astype(np.uint8)
    if spec.flag("sharpen"):
        soft = cv2.GaussianBlur(out, (0, 0), 1.5)
        out = np.asarray(cv2.addWeighted(out, 1.8, soft, -0.8, 0), np.uint8)
    return out


def _chroma(img: np.ndarray, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Blotchy colour noise (stronger in the dark) on the working-size image."""
    h, w = img.shape[:2]
    sigma = spec.number("noise", 0.02) * 0.8
    chroma = rng.standard_normal((h // 3 + 1, w // 3 + 1, 3), dtype=np.float32) * sigma
    chroma = np.asarray(cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    return img + chroma * (1.6 - img.mean(axis=2, keepdims=True))


def develop(scene: np.ndarray, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """The photo as the phone saves it: ``uint8`` RGB of ``spec`` (h, w) from the scene (float32, 0..1, any size)."""
    w, h = spec.integer("w", scene.shape[1]), spec.integer("h", scene.shape[0])
    img = _light(scene, spec, rng)
    img = _focus(img, spec, scene.shape[1] / w)
    img = _chroma(img, spec, rng)
    img = np.clip(img, 0.0, 1.0) ** spec.number("gamma", 1.0)
    small = (img * 255.0 + 0.5).astype(np.uint8)
    full = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return _sensor(full, spec, rng)


def encode(pixels: np.ndarray, spec: Spec) -> bytes:
    """``pixels`` (uint8 RGB) encoded as ``spec["fmt"]`` (``jpeg``, ``png``, ``webp``) at ``spec["quality"]``."""
    out = io.BytesIO()
    image = Image.fromarray(pixels, "RGB")
    fmt = spec.text("fmt", "jpeg")
    if fmt == "png":
        image.save(out, format="PNG", compress_level=1)
    elif fmt == "webp":
        image.save(out, format="WEBP", quality=spec.integer("quality", 80), method=2)
    else:
        image.save(
            out,
            format="JPEG",
            quality=spec.integer("quality", 80),
            subsampling=2 if spec.integer("quality") < 90 else 0,
        )
    return out.getvalue()
