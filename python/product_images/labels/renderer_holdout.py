"""Leave one renderer out: how the price-tag model does on photos drawn by code it never learned from.

A model fitted on one renderer's drawing can score that drawing perfectly and price tags
badly (issue 24: 1.000 on the demo's generator, 0.778 on a set drawn by other code). So a
model is judged here by its **worst held-out renderer**: for each renderer of the
development sets (``clothing``, ``market``, ``atelier``, ``vintage``, ``resale``), a model
is fitted on every *other* renderer's products (:func:`product_images.labels.training.fit`)
and measured on that renderer's products as the detector decides them
(:func:`product_images.labels.evaluation.measure.evaluate_measured`: the abstention rules,
the decision, then one review round of 5% of each shop). The evaluation renderers
(``labels/evaluation``) are never among them: they only measure the shipped model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from product_images.labels import scoring, training
from product_images.labels.detector import Detector
from product_images.labels.evaluation import measure
from product_images.labels.evaluation.sets import EvalPhoto, EvalProduct
from product_images.labels.training_sets import DevSet, ProductEvidence, RendererSet, TrainingError

__all__ = ["HoldoutReport", "as_measured", "leave_one_renderer_out", "measure_sets", "worst"]


def as_measured(products: Sequence[ProductEvidence]) -> list[measure.MeasuredProduct]:
    """Development products in the measuring harness's shape.

    A photo's kind is the renderer's (``retail_tag``, ``care_label``…) when the set says, else
    ``shop_tag`` for the truth and ``photo`` for the others (the demo's generator's sets).
    """
    out = []
    for p in products:
        kinds = p.kinds or tuple("shop_tag" if i == p.label_index else "photo" for i in range(len(p.evidences)))
        photos = tuple(EvalPhoto(p.renderer, i, kind, i == p.label_index) for i, kind in enumerate(kinds))
        out.append(measure.MeasuredProduct(EvalProduct(p.tenant, p.product_id, "", photos), list(p.evidences)))
    return out


def _enough_renderers(renderers: set[str]) -> list[str]:
    if len(renderers) < 2:
        raise TrainingError(
            "leave-one-renderer-out needs sets of two renderers or more; "
            f"these are all {', '.join(sorted(renderers)) or 'empty'}"
        )
    return sorted(renderers)


def leave_one_renderer_out(
    products: Sequence[ProductEvidence], threshold: float, floor: float, high_bar: float = 0.98
) -> dict[str, dict[str, Any]]:
    """Per renderer, the figures of a model fitted without it, measured on it.

    Args:
        products: development products of two renderers or more (:func:`training.load_sets`).
        threshold, floor: the decision's ``label_score_threshold`` and ``label_score_floor`` (0–1).
        high_bar: the score that feeds a shop profile without a person (0–1).

    Returns:
        ``{renderer: {"products", "photos", "reviewed", "cold", "after_review"}}`` (as
        :func:`measure.evaluate_measured`), renderers in name order.

    Raises:
        TrainingError: fewer than two renderers, or scikit-learn is missing.
    """
    renderers = _enough_renderers({p.renderer for p in products})
    out: dict[str, dict[str, Any]] = {}
    for held in renderers:
        clf = training.fit([p for p in products if p.renderer != held])
        model = training.as_model(
            clf, threshold=threshold, floor=floor, high_bar=high_bar, trained_on=f"every renderer but {held}"
        )
        detector = Detector(model.version(), threshold, floor, high_bar, model)
        own = as_measured([p for p in products if p.renderer == held])
        out[held] = measure.evaluate_measured(own, detector=detector)
    return out


def worst(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The worst held-out renderer per figure, cold and after the review round.

    Returns:
        ``{"cold": {...}, "after_review": {...}}``, each ``{"precision": [value, renderer],
        "recall": …, "doubtful_share": …, "unflagged_share": …}``: the lowest precision and
        recall, the highest doubtful and unflagged shares.
    """
    out: dict[str, dict[str, Any]] = {}
    for stage in ("cold", "after_review"):
        figures: dict[str, Any] = {}
        for key, pick in (("precision", min), ("recall", min), ("doubtful_share", max), ("unflagged_share", max)):
            renderer = pick(results, key=lambda r: results[r][stage][key])  # noqa: B023
            figures[key] = [results[renderer][stage][key], renderer]
        out[stage] = figures
    return out


@dataclass
class HoldoutReport:
    """What ``labels train --leave-one-renderer-out`` found: per held-out renderer, its figures.

    Fields:
        threshold, floor: the decision's thresholds the figures were measured with (0–1).
        sets: set name → ``{"products", "photos", "tags"}``.
        results: :func:`leave_one_renderer_out`'s result.
    """

    threshold: float
    floor: float
    sets: dict[str, dict[str, int]]
    results: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """``{"threshold", "floor", "sets", "renderers", "worst"}`` (JSON-ready)."""
        return {
            "threshold": self.threshold,
            "floor": self.floor,
            "sets": self.sets,
            "renderers": self.results,
            "worst": worst(self.results),
        }

    def lines(self) -> list[str]:
        """Per renderer held out, its figures cold and after one review round; then the worst of each."""
        out = [f"threshold {self.threshold}, floor {self.floor}; each renderer scored by a model that never saw it"]
        for renderer, found in self.results.items():
            out.append(f"{renderer} held out: {found['products']} products, {found['photos']} photos")
            out += [f"  {measure.figure_line(stage, found[stage])}" for stage in ("cold", "after_review")]
        for stage, figures in worst(self.results).items():
            out.append(
                f"worst held-out renderer, {stage}: "
                + ", ".join(f"{key} {value:.3f} ({renderer})" for key, (value, renderer) in figures.items())
            )
        return out


def measure_sets(
    sets: Sequence[DevSet | RendererSet],
    cache_dir: Path | None = None,
    processes: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
) -> HoldoutReport:
    """Load ``sets`` (:func:`training.load_sets`) and leave each renderer out in turn, at the
    installed model's thresholds (``model.json``; the dbt vars' defaults).

    Raises:
        TrainingError: as :func:`training.load_sets` and :func:`leave_one_renderer_out`.
    """
    _enough_renderers({dev.renderer for dev in sets})
    products, sizes = training.load_sets(sets, cache_dir, processes, progress)
    installed = scoring.load_model()
    threshold, floor = float(installed.threshold), float(installed.floor)
    results = leave_one_renderer_out(products, threshold, floor, float(installed.high_bar))
    return HoldoutReport(threshold, floor, sizes, results)
