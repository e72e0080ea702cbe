"""Context evidence: how a photo stands among its product's other photos.

A shop's tag photo is rarely like the garment photos of the same product: its colours
differ from theirs, and it is often the only photo with a code or with text on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from product_images.labels.evidence.records import Evidence, has_strong_code

__all__ = ["product_context"]


def _hist_dist(a: Sequence[float], b: Sequence[float]) -> float:
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


def product_context(evs: Sequence[Evidence]) -> None:
    """Fill ``context_dist`` / ``context_rank`` of a product's photos in place.

    ``context_dist`` is the total-variation distance (0–1) between a photo's colour
    histogram and the mean histogram of the product's *other* photos (0 for a
    single-photo product); ``context_rank`` is 1 for the photo with the largest distance
    when the product has 3+ photos (2 photos are symmetric: both get 0).
    """
    strong = [int(has_strong_code(e.codes)) for e in evs]
    texty = [int(e.region is not None and e.region_chars >= 3) for e in evs]
    for i, e in enumerate(evs):
        e.context_other_strong = int(sum(strong) - strong[i] > 0)
        e.context_other_texty = int(sum(texty) - texty[i])
    if len(evs) < 2:
        for e in evs:
            e.context_dist, e.context_rank = 0.0, 0
        return
    H = np.array([e.hist for e in evs], dtype=np.float64)
    total = H.sum(axis=0)
    for i, e in enumerate(evs):
        others = (total - H[i]) / (len(evs) - 1)
        e.context_dist = round(_hist_dist(H[i], others), 4)
    if len(evs) >= 3:
        j = int(np.argmax([e.context_dist for e in evs]))
        for i, e in enumerate(evs):
            e.context_rank = int(i == j)
