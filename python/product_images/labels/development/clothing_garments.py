"""Garment silhouettes of the clothing renderer (t-shirt, jeans, dress, jacket, shoes, bag).

Part of :mod:`product_images.labels.development.clothing`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import Image, ImageDraw

from .clothing_surfaces import _fabric, _soft

Point = tuple[float, float]
"""A point in pixels."""
ToPoint = Callable[[float, float], Point]
"""``P(u, v)``: the point at unit coordinates (u, v) of the garment's box."""
Jitter = Callable[[float], float]
"""``j(a)``: ``a`` plus a small random offset (one draw of the photo's generator)."""


def _tshirt(P: ToPoint, j: Jitter) -> list[list[Point]]:
    """A t-shirt: short sleeves, neckline dipping at the centre."""
    return [
        [
            P(j(0.35), 0),
            P(0.5, j(0.08)),
            P(j(0.65), 0),
            P(1, j(0.18)),
            P(j(0.88), j(0.38)),
            P(0.78, 0.3),
            P(0.78, 1),
            P(0.22, 1),
            P(0.22, 0.3),
            P(j(0.12), j(0.38)),
            P(0, j(0.18)),
        ]
    ]


def _jacket(P: ToPoint, j: Jitter) -> list[list[Point]]:
    """A jacket: long sleeves hanging down."""
    return [
        [
            P(0.36, 0),
            P(0.5, 0.1),
            P(0.64, 0),
            P(0.9, 0.12),
            P(1, 0.95),
            P(0.88, 0.97),
            P(0.78, 0.35),
            P(0.78, 1),
            P(0.22, 1),
            P(0.22, 0.35),
            P(0.12, 0.97),
            P(0, 0.95),
            P(0.1, 0.12),
        ]
    ]


def _jeans(P: ToPoint, j: Jitter) -> list[list[Point]]:
    """Jeans: two legs from the waistband."""
    return [[P(0.2, 0), P(0.8, 0), P(j(0.88), 1), P(0.58, 1), P(0.5, 0.3), P(0.42, 1), P(j(0.12), 1)]]


def _dress(P: ToPoint, j: Jitter) -> list[list[Point]]:
    """A dress: straps, fitted top, flared skirt."""
    return [
        [
            P(0.38, 0),
            P(0.42, 0),
            P(0.45, 0.1),
            P(0.55, 0.1),
            P(0.58, 0),
            P(0.62, 0),
            P(0.66, 0.35),
            P(j(0.95), 1),
            P(j(0.05), 1),
            P(0.34, 0.35),
        ]
    ]


def _bag(P: ToPoint, j: Jitter) -> list[list[Point]]:
    """A bag's body (its handle is drawn as an arc by :func:`_paste_garment`)."""
    return [[P(0.1, 0.35), P(0.9, 0.35), P(0.95, 1), P(0.05, 1)]]


def _shoes(P: ToPoint, j: Jitter) -> list[list[Point]]:
    """A pair of shoes, side by side."""
    a = [P(0.02, 0.55), P(0.25, 0.4), P(0.4, 0.45), P(0.47, 0.7), P(0.45, 0.85), P(0.02, 0.85)]
    b = [P(0.53, 0.5), P(0.76, 0.35), P(0.9, 0.4), P(0.98, 0.65), P(0.97, 0.8), P(0.53, 0.8)]
    return [a, b]


_SILHOUETTES: dict[str, Callable[[ToPoint, Jitter], list[list[Point]]]] = {
    "tshirt": _tshirt,
    "jacket": _jacket,
    "jeans": _jeans,
    "dress": _dress,
    "bag": _bag,
    "shoes": _shoes,
}
"""Each garment's polygons, drawn with its box's ``P`` and the photo's ``j``."""


def _garment_polygon(
    garment: str, box: tuple[float, float, float, float], rng: random.Random
) -> list[list[tuple[float, float]]]:
    """Polygons (list of point lists, pixels) of a garment silhouette in ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    W, H = x1 - x0, y1 - y0
    P = lambda u, v: (x0 + u * W, y0 + v * H)  # noqa: E731
    j = lambda a: a + rng.uniform(-0.02, 0.02)  # noqa: E731
    silhouette = _SILHOUETTES.get(garment)
    if silhouette is None:
        raise ValueError(f"unknown garment {garment!r}")
    return silhouette(P, j)


def _paste_garment(
    canvas: Image.Image, spec_garment: str, colour, box, rng: random.Random, shadow: bool = True
) -> None:
    """Draw a shaded, textured garment silhouette onto ``canvas`` (in place) inside ``box``."""
    polys = _garment_polygon(spec_garment, box, rng)
    mask = Image.new("L", canvas.size, 0)
    md = ImageDraw.Draw(mask)
    for p in polys:
        md.polygon(p, fill=255)
    if spec_garment == "bag":  # handle
        x0, y0, x1, y1 = box
        md.arc(
            (x0 + (x1 - x0) * 0.3, y0, x1 - (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.7),
            180,
            360,
            fill=255,
            width=max(3, int((x1 - x0) * 0.04)),
        )
    if shadow:
        sh = _soft(mask, canvas.size[0] / 80)
        off = int(canvas.size[0] / 90)
        canvas.paste((0, 0, 0), (off, off), sh.point(lambda v: v * 0.45))
    pattern = "denim" if spec_garment == "jeans" else None
    bb = mask.getbbox() or (0, 0, 1, 1)  # texture only the garment's bounding box
    tex = _fabric(rng, (bb[2] - bb[0], bb[3] - bb[1]), colour, pattern)
    canvas.paste(tex, bb[:2], mask.crop(bb))
    d = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = box
    lw = max(1, int((x1 - x0) / 250))
    dark = tuple(max(0, int(c * 0.6)) for c in colour)
    if spec_garment in ("jacket",):
        d.line([((x0 + x1) / 2, y0 + (y1 - y0) * 0.1), ((x0 + x1) / 2, y1)], fill=(190, 190, 190), width=lw * 3)
    if spec_garment == "jeans":
        d.line(
            [(x0 + (x1 - x0) * 0.2, y0 + (y1 - y0) * 0.08), (x0 + (x1 - x0) * 0.8, y0 + (y1 - y0) * 0.08)],
            fill=dark,
            width=lw * 2,
        )
        d.ellipse(
            ((x0 + x1) / 2 - 6 * lw, y0 + (y1 - y0) * 0.03, (x0 + x1) / 2 + 6 * lw, y0 + (y1 - y0) * 0.03 + 12 * lw),
            fill=(190, 160, 80),
        )
    if spec_garment == "tshirt":
        d.arc(
            (x0 + (x1 - x0) * 0.35, y0 - (y1 - y0) * 0.08, x0 + (x1 - x0) * 0.65, y0 + (y1 - y0) * 0.1),
            0,
            180,
            fill=dark,
            width=lw * 3,
        )
