"""Refit the price-tag model: development sets, their evidence, the trees, the two thresholds.

This is how ``model.json`` is made (``product-images labels train``). Needs scikit-learn
(``pip install -e '.[train]'``); scoring never does.

* :data:`DEV_SETS`, :data:`RENDERER_SETS` and :func:`load_set` (in
  :mod:`product_images.labels.training_sets`, re-exported here): the synthetic development
  sets the model and the thresholds are chosen on, and their photos' evidence, cached.
  Their seeds are never the demo's or a held-out set's (:data:`HELD_OUT_SEEDS`): accuracy
  is measured on data nothing was tuned on.
* :func:`train`: fits a gradient-boosted tree model on every set (cold rows, and warm
  rows scored with a shop profile learned from the other half of the shop's products),
  computes shop-grouped out-of-fold scores cold and warm (profiles learned from
  out-of-fold scores above the high bar, as ``labels detect`` learns them), and chooses
  ``label_score_threshold`` / ``label_score_floor`` by :func:`choose_thresholds`.
* :func:`figures`: precision, recall, doubtful share and unflagged share of a set of
  product decisions, as the issue's targets define them (:data:`TARGETS`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from product_images.labels import scoring
from product_images.labels.training_sets import (
    DEV_SETS,
    HELD_OUT_SEEDS,
    RENDERER_SETS,
    DevSet,
    ProductEvidence,
    RendererSet,
    TrainingError,
    load_set,
)

__all__ = [
    "DEV_SETS",
    "HELD_OUT_SEEDS",
    "RENDERER_SETS",
    "TARGETS",
    "ROOM_TOLERANCE",
    "GBM_PARAMS",
    "DevSet",
    "RendererSet",
    "ProductEvidence",
    "Figures",
    "TrainingReport",
    "TrainingError",
    "load_set",
    "load_sets",
    "fit",
    "as_model",
    "figures",
    "choose_thresholds",
    "train",
]


#: The issue's targets: precision and recall on the products the evidence decides, the
#: share of products left doubtful, and the share of real tags left unflagged before any
#: review (doubtful products follow the legacy rule).
TARGETS: dict[str, float] = {"precision": 0.99, "recall": 0.99, "doubtful": 0.10, "unflagged": 0.01}

#: scikit-learn ``HistGradientBoostingClassifier`` parameters of the shipped model.
GBM_PARAMS: dict[str, Any] = {
    "max_iter": 400,
    "learning_rate": 0.05,
    "max_leaf_nodes": 16,
    "min_samples_leaf": 25,
    "l2_regularization": 2.0,
    "early_stopping": False,
    "random_state": 0,
}

#: Score grids the thresholds are chosen from.
THRESHOLD_GRID: tuple[float, ...] = tuple(round(0.30 + 0.01 * i, 2) for i in range(69))
FLOOR_GRID: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0015,
    0.002,
    0.003,
    0.004,
    0.005,
    0.006,
    0.008,
    0.01,
    0.0125,
    0.015,
    0.02,
    0.025,
    0.03,
    0.04,
    0.05,
)


@dataclass(frozen=True)
class Figures:
    """Accuracy of product decisions (shares in [0, 1]; counts are products).

    Fields:
        precision: correct evidence labels / evidence labels.
        recall: correct evidence labels / tags in products the evidence decided.
        doubtful: doubtful products / products.
        unflagged: tags the decision (the legacy rule on doubtful products) did not flag / tags.
        products, tags, doubtful_products: the counts behind them.
    """

    precision: float
    recall: float
    doubtful: float
    unflagged: float
    products: int
    tags: int
    doubtful_products: int

    def meets(self, targets: dict[str, float] = TARGETS) -> bool:
        """True when every figure is at its target (no slack below 0)."""
        return all(slack >= 0 for slack in self.slacks(targets))

    def slacks(self, targets: dict[str, float] = TARGETS) -> tuple[float, ...]:
        """Room to each target as a share of the room the target allows (1 = perfect, < 0 = missed)."""
        return (
            (self.precision - targets["precision"]) / (1 - targets["precision"]),
            (self.recall - targets["recall"]) / (1 - targets["recall"]),
            (targets["doubtful"] - self.doubtful) / targets["doubtful"],
            (targets["unflagged"] - self.unflagged) / targets["unflagged"],
        )


@dataclass
class TrainingReport:
    """What :func:`train` did: the model, the chosen thresholds' out-of-fold figures cold and warm, the sets' sizes."""

    model: scoring.Model
    cold: Figures
    warm: Figures
    sets: dict[str, dict[str, int]] = field(default_factory=dict)
    written: str | None = None

    @property
    def missed(self) -> list[str]:
        """The targets the chosen thresholds miss out of fold ("recall, cold"…); empty when all are met."""
        out = []
        for name, f in (("cold", self.cold), ("with shop profiles", self.warm)):
            for target, slack in zip(TARGETS, f.slacks(), strict=True):
                if slack < 0:
                    out.append(f"{target}, {name}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no trees)."""
        return {
            "version": self.model.version(),
            "label_score_threshold": self.model.threshold,
            "label_score_floor": self.model.floor,
            "high_bar": self.model.high_bar,
            "trained_on": self.model.trained_on,
            "out_of_fold": {"cold": self.cold.__dict__, "warm": self.warm.__dict__},
            "sets": self.sets,
            "missed_targets": self.missed,
            "written": self.written,
        }

    def lines(self) -> list[str]:
        """The report for a person: the sets, the out-of-fold figures, the thresholds to set in dbt_project.yml."""
        out = [
            f"{name}: {size['products']:,} products, {size['photos']:,} photos, {size['tags']:,} tags"
            for name, size in self.sets.items()
        ]
        for name, f in (("cold", self.cold), ("with shop profiles", self.warm)):
            out.append(
                f"out of fold, {name}: precision {f.precision:.4f}, recall {f.recall:.4f}, "
                f"doubtful {f.doubtful:.1%} ({f.doubtful_products:,} of {f.products:,}), unflagged {f.unflagged:.2%}"
            )
        if self.missed:
            out.append("MISSED out of fold: " + "; ".join(self.missed))
        written = f" written to {self.written}" if self.written else " (not written)"
        out.append(f"model {self.model.version()}{written}")
        out.append(
            f"set in dbt_project.yml: label_score_threshold: {self.model.threshold}, "
            f"label_score_floor: {self.model.floor}"
        )
        return out


# --------------------------------------------------------------------------- figures and thresholds


def _product_arrays(
    products: Sequence[ProductEvidence], scores: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per product: best score, whether the best photo is the tag, has a tag, the legacy rule flags the tag."""
    best = np.array([max(s) if s else 0.0 for s in scores])
    best_is_tag = np.array(
        [
            p.label_index is not None and bool(s) and int(np.argmax(s)) == p.label_index
            for p, s in zip(products, scores, strict=True)
        ]
    )
    has_tag = np.array([p.label_index is not None for p in products])
    rule_flags_tag = np.array(
        [p.label_index is not None and scoring.legacy_rule(len(p.evidences)) == p.label_index for p in products]
    )
    return best, best_is_tag, has_tag, rule_flags_tag


def figures(
    products: Sequence[ProductEvidence], scores: Sequence[Sequence[float]], threshold: float, floor: float
) -> Figures:
    """The figures of :func:`scoring.decide` on every product, as the dbt model decides.

    ``scores``: one list per product, in photo order. Doubtful products count as flagged
    where the legacy rule (the last photo of 2+) flags the tag.
    """
    return _figures(_product_arrays(products, scores), threshold, floor)


def _figures(arrays: tuple[np.ndarray, ...], threshold: float, floor: float) -> Figures:
    best, best_is_tag, has_tag, rule_flags_tag = arrays
    label = best > threshold
    none = ~label & (best < floor)
    doubtful = ~label & ~none
    correct = label & best_is_tag
    decided_tags = has_tag & ~doubtful
    unflagged = has_tag & ~((label & best_is_tag) | (doubtful & rule_flags_tag))
    n_labels, n_decided = int(label.sum()), int(decided_tags.sum())
    return Figures(
        precision=int(correct.sum()) / n_labels if n_labels else 1.0,
        recall=int(correct.sum()) / n_decided if n_decided else 1.0,
        doubtful=int(doubtful.sum()) / len(best),
        unflagged=int(unflagged.sum()) / max(1, int(has_tag.sum())),
        products=len(best),
        tags=int(has_tag.sum()),
        doubtful_products=int(doubtful.sum()),
    )


#: Pairs whose smallest slack is within this of the best pair's are as safe as it:
#: one product more or less in a figure moves a slack by about this much.
ROOM_TOLERANCE = 0.05


def choose_thresholds(
    products: Sequence[ProductEvidence],
    cold: Sequence[Sequence[float]],
    warm: Sequence[Sequence[float]],
    targets: dict[str, float] = TARGETS,
) -> tuple[float, float]:
    """(threshold, floor): the pair of the grids with the most room to every target, cold and warm.

    Each pair's slacks (:meth:`Figures.slacks`, cold and warm: eight numbers, < 0 where a
    target is missed) are computed on the out-of-fold scores. First safety: the pairs whose
    smallest slack is within :data:`ROOM_TOLERANCE` of the largest smallest slack (so a pair
    at the edge of a target, which does not carry over to new data, is out, and a pair that
    meets every target beats one that misses any). Then room overall: of those, the
    largest sum of slacks, and on a tie the higher threshold (publishing a price tag is
    the worse mistake). When no pair meets every target this is the pair that misses
    least; :func:`train` then says so (``TrainingReport.missed``).

    Args:
        products: the development products, with their truth (``label_index``).
        cold, warm: per product, its photos' out-of-fold scores in [0, 1], in photo order,
            without and with shop profiles.
        targets: the figures to reach (:data:`TARGETS`).

    Returns:
        (threshold, floor) from :data:`THRESHOLD_GRID` × :data:`FLOOR_GRID`.
    """
    arrays = (_product_arrays(products, cold), _product_arrays(products, warm))
    slacks = {
        (threshold, floor): [s for a in arrays for s in _figures(a, threshold, floor).slacks(targets)]
        for threshold in THRESHOLD_GRID
        for floor in FLOOR_GRID
    }
    safest = max(min(v) for v in slacks.values())
    safe = {pair: v for pair, v in slacks.items() if min(v) >= safest - ROOM_TOLERANCE}
    return max(safe, key=lambda pair: (round(sum(safe[pair]), 9), pair[0], -pair[1]))


# --------------------------------------------------------------------------- fitting


def _classifier():
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError as exc:  # pragma: no cover - the message is the point
        raise TrainingError("training needs scikit-learn: pip install -e '.[train]'") from exc
    return HistGradientBoostingClassifier(**GBM_PARAMS)


def as_model(clf: Any, **kw: Any) -> scoring.Model:
    """The fitted classifier as a :class:`scoring.Model` (plain JSON trees).

    ``kw``: the model's ``threshold``, ``floor``, ``high_bar`` and ``trained_on``.
    """
    trees, baseline = scoring.export_trees(clf)
    return scoring.Model(weights={}, trees=trees, baseline=baseline, features=list(scoring.FEATURES), **kw)


def _confirmed(products: Iterable[ProductEvidence], scores: Sequence[Sequence[float]], high_bar: float, tenant: str):
    """(evidence, is_tag) of the tenant's products whose best score cleared the high bar (as ``labels detect``)."""
    for p, s in zip(products, scores, strict=True):
        if p.tenant == tenant and s and max(s) >= high_bar:
            j = int(np.argmax(s))
            for i, ev in enumerate(p.evidences):
                yield ev, i == j


def _rows(
    products: Sequence[ProductEvidence], profiles: dict[str, scoring.ShopProfile | None]
) -> tuple[np.ndarray, np.ndarray]:
    x, y = [], []
    for p in products:
        prof = profiles.get(p.tenant)
        for i, ev in enumerate(p.evidences):
            x.append(scoring.features(ev, prof))
            y.append(int(i == p.label_index))
    return np.array(x), np.array(y)


def _warm_training_rows(products: Sequence[ProductEvidence], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows scored with a shop profile: each shop's products in two halves, each with the other half's truth."""
    rng = random.Random(seed)
    xs, ys = [], []
    for tenant in sorted({p.tenant for p in products}):
        own = [p for p in products if p.tenant == tenant]
        rng.shuffle(own)
        halves = (own[::2], own[1::2])
        for a, b in ((0, 1), (1, 0)):
            confirmed = [(ev, i == p.label_index) for p in halves[b] for i, ev in enumerate(p.evidences)]
            x, y = _rows(halves[a], {tenant: scoring.learn_profile(tenant, confirmed)})
            if len(x):
                xs.append(x)
                ys.append(y)
    return np.vstack(xs), np.concatenate(ys)


def fit(products: Sequence[ProductEvidence]) -> Any:
    """A scikit-learn classifier fitted on ``products``: cold rows, and warm rows scored with shop profiles.

    Raises:
        TrainingError: scikit-learn is missing.
    """
    x_cold, y_cold = _rows(products, {})
    x_warm, y_warm = _warm_training_rows(products)
    clf = _classifier()
    clf.fit(np.vstack([x_cold, x_warm]), np.concatenate([y_cold, y_warm]))
    return clf


def _scores(clf, products: Sequence[ProductEvidence], profiles: dict[str, scoring.ShopProfile | None], floor: float):
    """Per product, photo scores as :func:`scoring.score_photo` gives them (a profile never pushes under the floor)."""
    x_cold, _ = _rows(products, {})
    cold = clf.predict_proba(x_cold)[:, 1]
    if profiles:
        x_warm, _ = _rows(products, profiles)
        warm = clf.predict_proba(x_warm)[:, 1]
        usable_tenants = {tenant for tenant, prof in profiles.items() if prof is not None and prof.usable}
        usable = np.array([p.tenant in usable_tenants for p in products for _ in p.evidences])
        cold = np.where(usable, np.maximum(warm, np.minimum(cold, floor)), cold)
    out, k = [], 0
    for p in products:
        out.append([float(v) for v in cold[k : k + len(p.evidences)]])
        k += len(p.evidences)
    return out


def _folds(products: Sequence[ProductEvidence], n_folds: int) -> list[list[int]]:
    """Product indices per fold, whole shops to a fold (a shop's style never leaks from training into its fold)."""
    tenants = sorted({p.tenant for p in products})
    random.Random(0).shuffle(tenants)
    fold_of = {t: i % n_folds for i, t in enumerate(tenants)}
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for i, p in enumerate(products):
        folds[fold_of[p.tenant]].append(i)
    return [f for f in folds if f]


def out_of_fold(
    products: Sequence[ProductEvidence], n_folds: int = 8, high_bar: float = 0.98, provisional_floor: float = 0.004
) -> tuple[list[list[float]], list[list[float]]]:
    """(cold, warm) out-of-fold photo scores per product, shop-grouped folds.

    Warm: each shop's profile learned from its own out-of-fold cold scores above
    ``high_bar`` (never from the truth), as a detection rerun learns it.
    """
    cold: list[list[float]] = [[] for _ in products]
    warm: list[list[float]] = [[] for _ in products]
    for fold in _folds(products, n_folds):
        held = set(fold)
        clf = fit([p for i, p in enumerate(products) if i not in held])
        part = [products[i] for i in fold]
        part_cold = _scores(clf, part, {}, provisional_floor)
        profiles: dict[str, scoring.ShopProfile | None] = {
            t: scoring.learn_profile(t, _confirmed(part, part_cold, high_bar, t)) for t in {p.tenant for p in part}
        }
        part_warm = _scores(clf, part, profiles, provisional_floor)
        for i, c, w in zip(fold, part_cold, part_warm, strict=True):
            cold[i], warm[i] = c, w
    return cold, warm


def _named(progress: Callable[[str, int, int], None] | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


def load_sets(
    sets: Sequence[DevSet | RendererSet],
    cache_dir: Path | None = None,
    processes: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[ProductEvidence], dict[str, dict[str, int]]]:
    """Every product of ``sets`` (:func:`load_set`, in order) and each set's size.

    Args:
        cache_dir: default ``$XDG_CACHE_HOME/product-images/label-training``.

    Returns:
        ``(products, {set name: {"products", "photos", "tags"}})``.

    Raises:
        TrainingError: as :func:`load_set`.
    """
    if cache_dir is None:
        cache_dir = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "product-images/label-training"
    products: list[ProductEvidence] = []
    sizes: dict[str, dict[str, int]] = {}
    for dev in sets:
        part = load_set(dev, cache_dir, processes, _named(progress, dev.name))
        sizes[dev.name] = {
            "products": len(part),
            "photos": sum(len(p.evidences) for p in part),
            "tags": sum(p.label_index is not None for p in part),
        }
        products += part
    return products, sizes


def train(
    sets: Sequence[DevSet | RendererSet] = DEV_SETS,
    cache_dir: Path | None = None,
    processes: int = 2,
    n_folds: int = 8,
    high_bar: float = 0.98,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainingReport:
    """Fit the model on ``sets`` and choose its thresholds; nothing is written (``report.model.save()`` does).

    Args:
        cache_dir: where :func:`load_set` caches evidence (default
            ``$XDG_CACHE_HOME/product-images/label-training``).
        processes: worker processes rendering and measuring photos.
        n_folds: shop-grouped folds of the out-of-fold scores the thresholds are chosen on.
        high_bar: the score a photo must clear to feed a shop profile without a person.
        progress: called with (set name, products done, products).

    Returns:
        A :class:`TrainingReport`; its model's ``threshold`` and ``floor`` are the values
        for ``label_score_threshold`` and ``label_score_floor`` in ``dbt_project.yml``.

    Raises:
        TrainingError: scikit-learn is missing or a seed is held out. Thresholds that
            miss a target out of fold are not an error: they are the pair that misses
            least, and ``report.missed`` names what they miss.
    """
    _classifier()  # fail early when scikit-learn is missing
    products, sizes = load_sets(sets, cache_dir, processes, progress)
    cold, warm = out_of_fold(products, n_folds, high_bar)
    threshold, floor = choose_thresholds(products, cold, warm)
    note = (
        " + ".join(f"{d.name} (seed {d.seed})" for d in sets)
        + f"; GBM {GBM_PARAMS}; thresholds: the pair with the most room to every target cold and warm on"
        f" {n_folds}-fold shop-grouped out-of-fold scores (smallest slack within {ROOM_TOLERANCE} of the"
        " best, then the largest sum of slacks)"
    )
    model = as_model(fit(products), threshold=threshold, floor=floor, high_bar=high_bar, trained_on=note)
    return TrainingReport(
        model=model,
        cold=figures(products, cold, threshold, floor),
        warm=figures(products, warm, threshold, floor),
        sets=sizes,
    )
