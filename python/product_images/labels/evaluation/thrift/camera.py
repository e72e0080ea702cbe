"""Phone-camera look and file encoding of the ``thrift`` renderer.

:func:`develop` takes a float32 (H, W, 3) RGB image (0–255) and the photo spec and returns
the encoded bytes (JPEG, PNG or WebP) after lighting, roll, blur and sensor noise.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from .canvas import Arr, speckle

__all__ = ["develop", "encode"]

_GAINS = {
    "day": (1.0, 1.0, 1.0),
    "warm": (1.07, 1.0, 0.84),
    "cool": (0.92, 0.99, 1.08),
    "flash": (1.02, 1.0, 0.98),
    "low": (0.52, 0.46, 0.36),
}


def _light(rng: np.random.Generator, img: Arr, light: str) -> Arr:
    """Apply white balance, exposure and vignetting of preset ``light`` to ``img`` in place."""
    h, w = img.shape[:2]
    gains = np.array(_GAINS.get(light, (1.0, 1.0, 1.0)), np.float32) * np.float32(rng.uniform(0.9, 1.08))
    k = {"flash": 0.55, "low": 0.5}.get(light, rng.uniform(0.1, 0.35))
    ys = 1.0 - k * np.linspace(-1, 1, h, dtype=np.float32) ** 2 * 0.5
    xs = 1.0 - k * np.linspace(-1, 1, w, dtype=np.float32) ** 2 * 0.5
    vertical = rng.random() < 0.5
    grad = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(0.95, 1.1), h if vertical else w, dtype=np.float32)
    if vertical:
        ys = ys * grad
    else:
        xs = xs * grad
    vign = np.outer(ys, xs).astype(np.float32)
    gain_map = cv2.merge([vign * gains[0], vign * gains[1], vign * gains[2]])
    return cv2.multiply(img, gain_map)


def _roll(img: Arr, degrees: float) -> Arr:
    """Return ``img`` rotated by ``degrees`` about its centre and slightly zoomed (no borders)."""
    if abs(degrees) < 0.4:
        return img
    h, w = img.shape[:2]
    zoom = 1.0 + abs(np.sin(np.deg2rad(degrees))) * (w + h) / min(w, h) * 0.5
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, zoom)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _blur(rng: np.random.Generator, img: Arr, amount: float) -> Arr:
    """Return ``img`` defocused (Gaussian) or shaken (motion line) by ``amount`` (px per 1000 px)."""
    if amount <= 0:
        return img
    scale = max(img.shape[:2]) / 1000.0
    if rng.random() < 0.3:
        n = max(3, int(amount * scale * 4) | 1)
        kern = np.zeros((n, n), np.float32)
        cv2.line(kern, (0, n // 2), (n - 1, n // 2 + int(rng.integers(-n // 3, n // 3 + 1))), 1.0, 1)
        return cv2.filter2D(img, -1, kern / kern.sum())
    return cv2.GaussianBlur(img, (0, 0), amount * scale)


def _noise(rng: np.random.Generator, img: Arr, sigma: float) -> np.ndarray:
    """Return ``img`` plus luminance and chroma noise of std ``sigma``, as uint8 (H, W, 3)."""
    h, w = img.shape[:2]
    sh, sw = max(1, h // 4), max(1, w // 4)
    chroma = np.ascontiguousarray(speckle(rng, sh * 3, sw, 1)).reshape(3, sh, sw).transpose(1, 2, 0)
    chroma = cv2.resize(np.ascontiguousarray(chroma), (w, h), interpolation=cv2.INTER_LINEAR)
    lum = np.ascontiguousarray(speckle(rng, h, w, 1))
    noise = cv2.scaleAdd(chroma, sigma * 0.6, cv2.merge([lum, lum, lum]) * np.float32(sigma))
    return cv2.add(img, noise, dtype=cv2.CV_8U)


def encode(rgb: np.ndarray, fmt: str, quality: int) -> bytes:
    """Encode a uint8 (H, W, 3) RGB image as ``fmt`` (jpeg, png, webp) at ``quality``; return bytes."""
    if fmt == "webp":
        out = io.BytesIO()
        Image.fromarray(rgb).save(out, "WEBP", quality=int(quality), method=0)
        return out.getvalue()
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"could not encode a {fmt} image")
    return bytes(buf.tobytes())


def develop(rng: np.random.Generator, img: Arr, spec: dict) -> bytes:
    """Return the encoded photo of scene ``img`` (H, W, 3 float32) with the spec's camera look."""
    light = str(spec.get("light", "day"))
    img = _light(rng, img, light)
    img = _roll(img, float(spec.get("roll", 0.0)))
    img = _blur(rng, img, float(spec.get("blur", 0.0)))
    sigma = float(spec.get("noise", 3.0)) * (2.2 if light == "low" else 1.0)
    out = _noise(rng, img, sigma)
    return encode(out, str(spec.get("fmt", "jpeg")), int(spec.get("quality", 85)))
