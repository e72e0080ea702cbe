"""Placing a flat patch in a photo: its shadow, a hand holding it, a ruler beside it.

All positions are pixels on an ``H×W×3`` uint8 canvas; a patch's pose is (long side in pixels,
angle in degrees, tilt_x, tilt_y) as :func:`.drawing.paste_warped` takes it.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .drawing import RGB, hex_rgb, mix, paste_warped
from .negatives import tape_measure

__all__ = ["Pose", "draw_hand", "place", "pose_of", "ruler_beside"]

Spec = dict[str, str | int | float | bool]
Pose = tuple[float, float, float, float]


def pose_of(spec: Spec, short_side: int) -> Pose:
    """The patch pose from the spec: long side = ``patch_scale`` × the photo's short side."""
    return (
        float(spec["patch_scale"]) * short_side,
        float(spec["patch_angle"]),
        float(spec["tilt_x"]),
        float(spec["tilt_y"]),
    )


def place(canvas: np.ndarray, patch: Image.Image, centre: tuple[float, float], pose: Pose) -> np.ndarray:
    """Paste ``patch`` with a soft contact shadow under it; returns its 4 placed corners (pixels)."""
    rgba = np.asarray(patch.convert("RGBA"))
    alpha = rgba[..., 3].astype(np.float32)
    sigma = max(1.5, patch.size[0] / 80)
    soft = cv2.GaussianBlur(alpha, (0, 0), sigma) * 0.45
    shadow = np.zeros_like(rgba)
    shadow[..., 3] = soft.astype(np.uint8)
    offset = pose[0] * 0.015
    paste_warped(canvas, Image.fromarray(shadow, "RGBA"), (centre[0] + offset, centre[1] + offset * 1.5), pose)
    return paste_warped(canvas, patch, centre, pose)


def _finger_patch(size: int, skin: RGB, thumb: bool) -> Image.Image:
    """An RGBA finger (or thumb) ``size`` pixels long pointing up, shaded at its edges."""
    w = int(size * (0.36 if thumb else 0.26))
    img = Image.new("RGBA", (w, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, w - 1, size - 1), radius=w // 2, fill=mix(skin, (0, 0, 0), 0.18) + (255,))
    d.rounded_rectangle((w // 8, 2, w - w // 8, size - 1), radius=w // 2, fill=skin + (255,))
    d.rounded_rectangle(
        (w // 4, w // 8, w - w // 4, w // 2), radius=w // 6, fill=mix(skin, (255, 235, 230), 0.4) + (255,)
    )
    return img


def draw_hand(canvas: np.ndarray, corners: np.ndarray, spec: Spec, rng: np.random.Generator) -> None:
    """A hand holding the patch whose placed ``corners`` are given: fingers behind, a thumb on top."""
    skin = hex_rgb(str(spec["skin_hex"]))
    bottom = (corners[2] + corners[3]) / 2
    centre = corners.mean(axis=0)
    direction = bottom - centre
    length = float(np.hypot(*direction)) + 1e-6
    unit = direction / length
    side = float(np.linalg.norm(corners[1] - corners[0]))
    angle = float(np.degrees(np.arctan2(unit[0], -unit[1]))) + 180
    finger = _finger_patch(int(max(60, side * 0.55)), skin, False)
    palm_c = bottom + unit * side * 0.35
    for k in (-1.5, -0.5, 0.5, 1.5):
        offset = np.array([-unit[1], unit[0]]) * k * side * 0.13
        paste_warped(
            canvas, finger, tuple(palm_c + offset - unit * side * 0.12), (side * 0.55, angle + k * 6, 0.0, 0.0)
        )
    palm = Image.new("RGBA", (200, 160), (0, 0, 0, 0))
    ImageDraw.Draw(palm).ellipse((0, 0, 199, 159), fill=mix(skin, (0, 0, 0), 0.06) + (255,))
    paste_warped(canvas, palm, tuple(palm_c + unit * side * 0.3), (side * 0.8, angle, 0.0, 0.0))
    thumb = _finger_patch(int(max(60, side * 0.5)), skin, True)
    tip = bottom - unit * side * 0.05 + np.array([-unit[1], unit[0]]) * side * float(rng.uniform(-0.3, 0.3))
    paste_warped(
        canvas, thumb, (float(tip[0]), float(tip[1])), (side * 0.45, angle + float(rng.uniform(-25, 25)), 0.0, 0.0)
    )


def ruler_beside(canvas: np.ndarray, corners: np.ndarray, rng: np.random.Generator) -> None:
    """A ruler laid along the patch's long edge, a little away from it."""
    a, b = corners[0], corners[1]
    if np.linalg.norm(corners[3] - corners[0]) > np.linalg.norm(b - a):
        a, b = corners[0], corners[3]
    length = float(np.linalg.norm(b - a)) * float(rng.uniform(1.3, 1.8))
    edge = (b - a) / (np.linalg.norm(b - a) + 1e-6)
    normal = np.array([-edge[1], edge[0]])
    centre = corners.mean(axis=0)
    out = centre - normal * float(np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(b - a)) * 0.45
    colour = (235, 235, 228) if rng.random() < 0.5 else (210, 190, 140)
    strip = tape_measure(int(max(120, length)), colour)
    angle = float(np.degrees(np.arctan2(edge[1], edge[0])))
    paste_warped(canvas, strip, (float(out[0]), float(out[1])), (length, angle, 0.0, 0.0))
