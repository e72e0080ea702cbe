"""The ``thrift`` evaluation renderer: second-hand clothing shop photos with shop price tags.

Products of small resellers (garments, shoes, bags) in 1–8 phone photos; about 22 % carry
one photo of the shop's own internal price tag (kraft hang tag with a handwritten price,
thermal sticker with an EAN-13 / Code 128 barcode, QR label, small colour sticker), and
about 25 % carry hard negatives (brand, care and size labels, printed tees, shoe boxes,
measuring tapes, fabric close-ups, a brand's retail hang tag).

* ``generate_set(seed, n_products) -> EvalSet``: cheap, deterministic, no pixels.
* ``render_photo(photo) -> bytes``: the encoded JPEG/PNG/WebP file of one photo.
"""

from __future__ import annotations

from product_images.labels.evaluation.sets import EvalPhoto, EvalSet

from .catalog import build_set
from .render import render

__all__ = ["RENDERER", "SEEDS", "generate_set", "render_photo"]

RENDERER = "thrift"
SEEDS = {"small": 5151, "full": 80321}


def generate_set(seed: int, n_products: int = 240) -> EvalSet:
    """Return the EvalSet of ``n_products`` products for ``seed`` (no pixels drawn)."""
    return build_set(seed, n_products)


def render_photo(photo: EvalPhoto) -> bytes:
    """Return the encoded image file (bytes; JPEG, PNG or WebP) of one ``thrift`` photo."""
    if photo.renderer != RENDERER:
        raise ValueError(f"photo of renderer {photo.renderer!r}, not {RENDERER!r}")
    return render(photo)
