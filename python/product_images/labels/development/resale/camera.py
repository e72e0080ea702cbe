"""The phone camera: light falloff, white balance, exposure, flash glare, blur, noise, encoding.

:func:`develop` takes the drawn scene (an ``H×W×3`` uint8 array, pixels) and the photo's spec
and returns the encoded file: JPEG (quality from the spec), PNG or WebP, turned by 90° when the
phone was held sideways (the pixels are turned; no EXIF orientation is written).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

__all__ = ["develop", "glare_spot"]

Spec = dict[str, str | int | float | bool]


def _gain_map(h: int, w: int, spec: Spec) -> np.ndarray:
    """An ``h×w×3`` float32 gain: light gradient × vignette × exposure × white balance."""
    yy, xx = np.mgrid[0:h:16, 0:w:16].astype(np.float32)
    yy /= max(1, h)
    xx /= max(1, w)
    angle = np.deg2rad(float(spec["light_angle"]))
    ramp = (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle)
    gain = 1.0 + float(spec["light_strength"]) * ramp
    radius = (xx - 0.5) ** 2 + (yy - 0.5) ** 2
    gain *= (1.0 - float(spec["vignette"]) * radius * 1.6) * float(spec["exposure"])
    wb = np.array([float(spec["wb_r"]), 1.0, float(spec["wb_b"])], np.float32)
    small = (gain[..., None] * wb).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def glare_spot(img: np.ndarray, cx: float, cy: float, radius: float, strength: float) -> None:
    """Add in place a flash glare: a soft white ellipse centred at (cx, cy) pixels, radius pixels."""
    h, w = img.shape[:2]
    x0, x1 = max(0, int(cx - 2 * radius)), min(w, int(cx + 2 * radius))
    y0, y1 = max(0, int(cy - 2 * radius)), min(h, int(cy + 2 * radius))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d2 = ((xx - cx) / (radius * 1.4)) ** 2 + ((yy - cy) / radius) ** 2
    spot = strength * np.exp(-d2 * 2.2)
    region = img[y0:y1, x0:x1].astype(np.float32)
    region += (255.0 - region) * spot[..., None]
    img[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


def _blur(img: np.ndarray, spec: Spec) -> np.ndarray:
    """Defocus (Gaussian, sigma = ``blur`` pixels) and camera shake (``motion`` pixels long)."""
    sigma = float(spec["blur"])
    if sigma >= 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    length = int(spec["motion"])
    if length > 1:
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        centre = (length / 2 - 0.5, length / 2 - 0.5)
        turn = cv2.getRotationMatrix2D(centre, float(spec["light_angle"]) % 180, 1.0)
        turned = cv2.warpAffine(kernel, turn, (length, length))
        norm = np.asarray(turned, np.float32) / np.float32(max(1e-6, float(turned.sum())))
        img = cv2.filter2D(img, -1, norm.astype(np.float32))
    return img


def _tone(img: np.ndarray, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Light field, white balance, exposure and sensor noise (blotchy luma + chroma), as uint8.

    Works in uint8 with saturation: the gain is stored ×128, the noise offset by 128.
    """
    h, w = img.shape[:2]
    gain = np.clip(_gain_map(h, w, spec) * 128.0, 0, 255).astype(np.uint8)
    out = cv2.multiply(img, gain, scale=1.0 / 128.0)
    sigma = float(spec["noise"])
    hh, hw = h // 2 + 1, w // 2 + 1
    grain = rng.standard_normal((hh, hw, 3), dtype=np.float32) * (sigma * 0.5)
    grain += rng.standard_normal((hh, hw, 1), dtype=np.float32) * sigma
    grain_u8 = np.clip(grain + 128.0, 0, 255).astype(np.uint8)
    big = cv2.resize(grain_u8, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.addWeighted(out, 1.0, big, 1.0, -128.0)


def _encode(img: np.ndarray, spec: Spec) -> bytes:
    """The photo as a file: JPEG at the spec's quality, PNG, or WebP (lossy)."""
    pil = Image.fromarray(img, "RGB")
    buf = io.BytesIO()
    fmt = str(spec["fmt"])
    if fmt == "png":
        pil.save(buf, "PNG", compress_level=1)
    elif fmt == "webp":
        pil.save(buf, "WEBP", quality=int(spec["quality"]), method=0)
    else:
        subsampling = 2 if int(spec["quality"]) < 85 else 0
        pil.save(buf, "JPEG", quality=int(spec["quality"]), subsampling=subsampling)
    return buf.getvalue()


def develop(img: np.ndarray, spec: Spec, rng: np.random.Generator) -> bytes:
    """The encoded photo of scene ``img`` (``H×W×3`` uint8, width/height of the spec) after the camera."""
    h, w = img.shape[:2]
    if float(spec["glare"]) > 0:
        radius = min(h, w) * 0.12
        glare_spot(img, float(spec["glare_x"]) * w, float(spec["glare_y"]) * h, radius, float(spec["glare"]) * 0.6)
    img = _blur(img, spec)
    img = _tone(img, spec, rng)
    turns = int(spec["rot90"])
    if turns:
        img = np.ascontiguousarray(np.rot90(img, turns))
    return _encode(img, spec)
