"""The clothing renderer's camera: a layer's angle and keystone, blur, low light, grain, JPEG.

Part of :mod:`product_images.labels.development.clothing`.
"""

from __future__ import annotations

import functools
import random

import cv2
import numpy as np
from PIL import Image, ImageFilter

from .clothing_specs import PhotoSpec
from .clothing_surfaces import _soft


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for ``Image.transform(..., PERSPECTIVE)`` mapping output ``dst`` points to input ``src``."""
    a = []
    b = []
    for (x, y), (u, v) in zip(dst, src, strict=False):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return np.linalg.solve(np.array(a, float), np.array(b, float)).tolist()


def _warp_layer(layer: Image.Image, angle: float, persp: float, rng: random.Random) -> Image.Image:
    """Rotate ``layer`` by ``angle`` degrees and apply a keystone of strength ``persp`` (0–0.35)."""
    if persp > 0:
        w, h = layer.size
        e = persp
        dst: list[tuple[float, float]] = [(0, 0), (w, 0), (w, h), (0, h)]
        side = rng.randrange(4)
        src = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
        # shrink one edge
        if side == 0:
            dst = [(w * e / 2, 0), (w - w * e / 2, 0), (w, h), (0, h)]
        elif side == 1:
            dst = [(0, 0), (w, h * e / 2), (w, h - h * e / 2), (0, h)]
        elif side == 2:
            dst = [(0, 0), (w, 0), (w - w * e / 2, h), (w * e / 2, h)]
        else:
            dst = [(0, h * e / 2), (w, 0), (w, h), (0, h - h * e / 2)]
        layer = layer.transform(
            layer.size, Image.Transform.PERSPECTIVE, _perspective_coeffs(src, dst), resample=Image.Resampling.BICUBIC
        )
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return layer


def _paste_layer(canvas: Image.Image, layer: Image.Image, center: tuple[float, float], shadow: bool = True) -> None:
    """Alpha-paste an RGBA ``layer`` centred at ``center`` (px) with a soft drop shadow."""
    x = int(center[0] - layer.size[0] / 2)
    y = int(center[1] - layer.size[1] / 2)
    alpha = layer.getchannel("A")
    if shadow:
        sh = _soft(alpha, max(2, layer.size[0] / 60)).point(lambda v: v * 0.4)
        off = max(2, layer.size[0] // 70)
        canvas.paste((0, 0, 0), (x + off, y + off), sh)
    canvas.paste(layer.convert("RGB"), (x, y), alpha)


# --------------------------------------------------------------------------- grain & encode


@functools.lru_cache(maxsize=4)
def _grain_tile(k: int) -> np.ndarray:
    """A 2560×2560 float32 luminance noise tile (σ = 1), seeded by ``k`` (cached per process)."""
    return np.random.default_rng(1000 + k).standard_normal((2560, 2560), dtype=np.float32)


def _add_grain_y(y: np.ndarray, rng: random.Random, sigma: float) -> np.ndarray:
    """``y`` (uint8 luma, h × w) plus Gaussian grain of ``sigma`` grey levels (seeded tile window)."""
    h, w = y.shape
    tile = _grain_tile(rng.randrange(4))
    oy, ox = rng.randrange(tile.shape[0] - h + 1), rng.randrange(tile.shape[1] - w + 1)
    return cv2.addWeighted(y, 1.0, tile[oy : oy + h, ox : ox + w], float(sigma), 0.0, dtype=cv2.CV_8U)


def _finish(canvas: Image.Image, spec: PhotoSpec, rng: random.Random) -> bytes:
    """Blur / low light at working size, resize to the final size, add grain, encode JPEG.

    Grain is luminance noise added at the final size (the same on R, G and B, i.e. on
    the luma channel only); the JPEG is baseline, 4:2:0 below quality 90, else 4:4:4.
    """
    upscale = max(spec.width, spec.height) / max(canvas.size)
    if spec.blur > 0:
        canvas = canvas.filter(ImageFilter.GaussianBlur(spec.blur))
    elif upscale < 1.3:
        canvas = canvas.filter(ImageFilter.BoxBlur(0.5))  # lens softness (upscaling softens the others)
    arr = np.asarray(canvas)
    if spec.low_light:
        f = rng.uniform(0.28, 0.5)
        arr = cv2.merge(
            [
                cv2.convertScaleAbs(c, alpha=f * m, beta=4)
                for c, m in zip(cv2.split(arr), (1.0, 0.92, 0.78), strict=False)
            ]
        )
    if canvas.size != (spec.width, spec.height):
        interp = cv2.INTER_LINEAR if upscale >= 1 else cv2.INTER_AREA
        arr = cv2.resize(arr, (spec.width, spec.height), interpolation=interp)
    sigma = (7.0 if spec.low_light else rng.uniform(3.0, 5.5)) * (0.6 if max(spec.width, spec.height) < 700 else 1.0)
    ycc = cv2.cvtColor(arr, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = cv2.split(ycc)
    bgr = cv2.cvtColor(cv2.merge([_add_grain_y(y, rng, sigma), cr, cb]), cv2.COLOR_YCrCb2BGR)
    sub = cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420 if spec.quality < 90 else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
    ok, buf = cv2.imencode(
        ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(spec.quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sub]
    )
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
