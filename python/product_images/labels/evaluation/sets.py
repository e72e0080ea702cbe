"""The shape of a labelled evaluation set: products, their photos, and which photo is the shop's tag.

An evaluation set is drawn by an *evaluation renderer* (one sub-package of
:mod:`product_images.labels.evaluation` each), written from a description of shop photos
by someone who had not read the detector (``labels/``) or the demo's drawing code.
Evaluation sets are used **only to measure** the detector: never to train it, choose its
thresholds or its features.

A renderer module exposes:

* ``RENDERER``: its name (str), the module's own name.
* ``SEEDS``: the seeds its sets are measured with (``{"small": int, "full": int}``).
* ``generate_set(seed: int, n_products: int) -> EvalSet``: cheap (no pixels drawn);
  deterministic for a seed.
* ``render_photo(photo: EvalPhoto) -> bytes``: the encoded file (JPEG, PNG or WebP) of
  one photo, deterministic (the same bytes for the same photo, in any process).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EvalPhoto", "EvalProduct", "EvalSet"]


@dataclass(frozen=True)
class EvalPhoto:
    """One photo of an evaluation product, described (not drawn).

    Fields:
        renderer: the renderer module's name (``product_images.labels.evaluation.<renderer>``).
        seed: the photo's own random seed (an int); with ``spec`` it fixes every pixel.
        kind: what the photo shows, for reports: ``"garment"``, ``"detail"``, ``"shop_tag"``
            (the shop's internal price tag, the only kind that is a label),
            ``"retail_tag"`` (a brand's own hang tag), ``"care_label"``, ``"size_label"``,
            ``"brand_label"``, ``"printed_tee"``, ``"shoe_box"``, ``"measuring_tape"``,
            ``"closeup"``, or another hard-negative name the renderer documents.
        is_label: True only for the shop's own price tag (``kind == "shop_tag"``).
        spec: the renderer's own parameters, as sorted ``(name, value)`` pairs of plain
            values (str, int, float, bool), so the photo is hashable and picklable.
    """

    renderer: str
    seed: int
    kind: str
    is_label: bool
    spec: tuple[tuple[str, str | int | float | bool], ...] = ()


@dataclass(frozen=True)
class EvalProduct:
    """One product of an evaluation set: its photos in the shop's order (position 1 first).

    Fields:
        tenant: the shop (tenant schema name, e.g. ``"eval_kraft"``).
        product_id: 1, 2, … within the tenant.
        title: the listing's title (e.g. ``"Levi's 501 jeans W32 L34"``).
        photos: 1 to 20 photos; at most one has ``is_label``.
    """

    tenant: str
    product_id: int
    title: str
    photos: tuple[EvalPhoto, ...]

    @property
    def label_index(self) -> int | None:
        """The 0-based index of the shop's tag among ``photos``, or None when it has none."""
        for i, photo in enumerate(self.photos):
            if photo.is_label:
                return i
        return None


@dataclass(frozen=True)
class EvalSet:
    """A labelled evaluation set drawn by one renderer with one seed.

    Fields:
        renderer: the renderer module's name.
        seed: the seed it was generated with.
        products: the products, ordered by (tenant, product_id).
    """

    renderer: str
    seed: int
    products: tuple[EvalProduct, ...]
