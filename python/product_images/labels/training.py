"""Refit the price-tag model: development sets, their evidence, the trees, the two thresholds.

This is how ``model.json`` is made (``product-images labels train``). Needs scikit-learn
(``pip install -e '.[train]'``); scoring never does.

* :data:`DEV_SETS`: the synthetic development sets (seed + :class:`DatasetParams`) the
  model and the thresholds are chosen on. Their seeds are never the demo's or a held-out
  set's (:data:`HELD_OUT_SEEDS`): accuracy is measured on data nothing was tuned on.
* :func:`load_set`: renders a set's photos and extracts their evidence, in worker
  processes, cached on disk per set and per version of the evidence code.
* :func:`train`: fits a gradient-boosted tree model on every set (cold rows, and warm
  rows scored with a shop profile learned from the other half of the shop's products),
  computes shop-grouped out-of-fold scores cold and warm (profiles learned from
  out-of-fold scores above the high bar, as ``labels detect`` learns them), and chooses
  ``label_score_threshold`` / ``label_score_floor`` by :func:`choose_thresholds`.
* :func:`figures`: precision, recall, doubtful share and unflagged share of a set of
  product decisions, as the issue's targets define them (:data:`TARGETS`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from product_images.labels import evidence as _evidence
from product_images.labels import scoring
from product_images.labels.detector import Detector
from product_images.labels.development import clothing
from product_images.labels.development.clothing import DEMO_SEED
from product_images.labels.evidence import Evidence

__all__ = [
    "DEV_SETS",
    "HELD_OUT_SEEDS",
    "TARGETS",
    "ROOM_TOLERANCE",
    "GBM_PARAMS",
    "DevSet",
    "ProductEvidence",
    "Figures",
    "TrainingReport",
    "TrainingError",
    "load_set",
    "figures",
    "choose_thresholds",
    "train",
]


class TrainingError(RuntimeError):
    """Training cannot run: scikit-learn is missing, a set is unknown, or no threshold pair meets the targets."""


@dataclass(frozen=True)
class DevSet:
    """One development set: ``name``, the generator's ``seed`` and ``params``, the tenants' name prefix."""

    name: str
    seed: int
    params: clothing.DatasetParams
    tenant_prefix: str


#: The development sets. Four shapes: the demo's (at a third of its size), the
#: generator's defaults, many small shops, and fewer shops with harder photos (blur, low
#: light, small photos, steep angles, more hard negatives, some tags not last).
DEV_SETS: tuple[DevSet, ...] = (
    DevSet(
        "dev",
        101,
        clothing.demo_params(tenant_products=(400, 330, 215, 150), tenant_tags=(75, 61, 40, 28)),
        "dev_",
    ),
    DevSet("devb", 102, clothing.DatasetParams(tenant_products=(200,) * 6), "devb_"),
    DevSet(
        "devc",
        103,
        clothing.DatasetParams(tenant_products=(60,) * 20, two_styles_rate=0.5, tag_rate=0.22),
        "devc_",
    ),
    DevSet(
        "deve",
        105,
        clothing.DatasetParams(
            tenant_products=(150,) * 6,
            tag_rate=0.22,
            hard_negative_rate=0.26,
            tag_not_last_rate=0.1,
            on_garment_rate=0.4,
            angle_rate=0.5,
            max_angle=40.0,
            blur_rate=0.25,
            max_blur=3.2,
            low_light_rate=0.25,
            small_rate=0.35,
            quality=(72, 90),
        ),
        "deve_",
    ),
)

#: Seeds that must never be a development set's: the demo's and the held-out sets'
#: (``python/tests/labels/test_accuracy.py`` and the README's third held-out set).
HELD_OUT_SEEDS: frozenset[int] = frozenset({DEMO_SEED, 909, 531, 404})

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


@dataclass
class ProductEvidence:
    """A development product: ``tenant``, ``product_id``, ``label_index`` (the truth, or None), its photos' evidence."""

    tenant: str
    product_id: int
    label_index: int | None
    evidences: list[Evidence]


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


# --------------------------------------------------------------------------- evidence of a set


def _code_version() -> str:
    """12 hex digits of a hash of the code a set's cached evidence depends on (evidence, generator)."""
    h = hashlib.sha256()
    sources = [*sorted(Path(_evidence.__file__ or "").parent.glob("*.py")), *clothing.SOURCE_FILES]
    for source in sources:  # every module of the evidence package, then the renderer's
        h.update(source.read_bytes())
    return h.hexdigest()[:12]


def _cache_path(dev: DevSet, cache_dir: Path) -> Path:
    key = hashlib.sha256(repr((dev.seed, dev.params, dev.tenant_prefix)).encode()).hexdigest()[:8]
    return cache_dir / f"{dev.name}-{key}-{_code_version()}.jsonl.gz"


def _extract_product(product: clothing.Product) -> dict[str, Any]:
    evs = [_evidence.extract(clothing.render_photo(spec)) for spec in product.photos]
    return {
        "tenant": product.tenant,
        "product_id": product.product_id,
        "label_index": product.label_index,
        "evidence": [ev.to_json(with_hist=True) for ev in evs],
    }


def load_set(
    dev: DevSet,
    cache_dir: Path,
    processes: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[ProductEvidence]:
    """Every product of ``dev`` with its photos' evidence (product context filled).

    Renders and measures the photos in ``processes`` worker processes (about 0.2 s of CPU
    a photo), then caches them in ``cache_dir`` as gzipped JSON lines; the cache file's
    name holds the set's parameters and a hash of the evidence and generator code, so a
    change there measures again.

    Args:
        progress: called with (products done, products) as the work goes.

    Raises:
        TrainingError: ``dev.seed`` is the demo's or a held-out set's.
    """
    if dev.seed in HELD_OUT_SEEDS:
        raise TrainingError(f"set {dev.name}: seed {dev.seed} is held out (HELD_OUT_SEEDS): never train on it")
    path = _cache_path(dev, cache_dir)
    if not path.exists():
        dataset = clothing.generate_dataset(dev.seed, dev.params, tenant_prefix=dev.tenant_prefix)
        rows = []
        with ProcessPoolExecutor(max(1, processes)) as pool:
            for i, row in enumerate(pool.map(_extract_product, dataset.products, chunksize=4), 1):
                rows.append(row)
                if progress:
                    progress(i, len(dataset.products))
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        tmp.replace(path)
    products = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            evs = [Detector.evidence_from_json(e) for e in row["evidence"]]
            _evidence.product_context(evs)
            products.append(ProductEvidence(row["tenant"], row["product_id"], row["label_index"], evs))
    return products


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


def _as_model(clf, **kw: Any) -> scoring.Model:
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


def _fit(products: Sequence[ProductEvidence]):
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
        clf = _fit([p for i, p in enumerate(products) if i not in held])
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


def train(
    sets: Sequence[DevSet] = DEV_SETS,
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
    cold, warm = out_of_fold(products, n_folds, high_bar)
    threshold, floor = choose_thresholds(products, cold, warm)
    note = (
        " + ".join(f"{d.name} (seed {d.seed})" for d in sets)
        + f"; GBM {GBM_PARAMS}; thresholds: the pair with the most room to every target cold and warm on"
        f" {n_folds}-fold shop-grouped out-of-fold scores (smallest slack within {ROOM_TOLERANCE} of the"
        " best, then the largest sum of slacks)"
    )
    model = _as_model(_fit(products), threshold=threshold, floor=floor, high_bar=high_bar, trained_on=note)
    return TrainingReport(
        model=model,
        cold=figures(products, cold, threshold, floor),
        warm=figures(products, warm, threshold, floor),
        sets=sizes,
    )
