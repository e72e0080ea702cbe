"""Measure the detector on an evaluation set: cold, then after one review round.

The steps mirror production (``labels detect`` then ``dbt run``): every photo is
measured (:func:`product_images.labels.evidence.extract`), each product's photos are
assessed together (:meth:`Detector.assess`), and the product is decided as the SQL
decides it (:func:`product_images.labels.scoring.decide`: best decision score above the
threshold → that photo is the label, every score below the floor → no label, else
doubtful, where the interim rule flags the best-scoring photo meanwhile).

**One review round** (the issue's item 4): a person decides the first products of the
review queue, at most ``review_share`` (5%) of each shop's products, in queue order
(:func:`queue_order`); the shop profile is learned from those confirmed decisions (and
from products whose best photo cleared the detector's high bar, as ``labels detect``
does), every product is assessed again, and the figures are taken on the products
nobody reviewed.

Figures (:class:`Figures`): precision and recall on the products the evidence decides
(with Wilson 95% intervals and the counts they rest on), the share left doubtful, the
share of real tags left unflagged before any further review, and the brands' retail tags
flagged as the shop's.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from product_images.labels import scoring
from product_images.labels.abstention import Assessment
from product_images.labels.detector import Detector, Evidence, ShopProfile, load_detector
from product_images.labels.evaluation.sets import EvalProduct, EvalSet

__all__ = [
    "Figures",
    "MeasuredProduct",
    "decide_photos",
    "known_renderers",
    "evaluate",
    "evaluate_measured",
    "figure_line",
    "extract_set",
    "figures",
    "interim_flag",
    "queue_order",
    "renderer_module",
    "review_round",
    "wilson_interval",
]

#: The legacy rule's minimum photo count (dbt var ``label_min_images``).
LABEL_MIN_IMAGES = 2


def _renderer_packages() -> list[tuple[str, Path]]:
    """Where renderers live, evaluation ones first: ``[(package name, its folder)]``."""
    here = Path(__file__).resolve().parent
    return [
        ("product_images.labels.evaluation", here),
        ("product_images.labels.development", here.parent / "development"),
    ]


def renderer_module(name: str) -> Any:
    """The renderer ``product_images.labels.evaluation.<name>`` (or ``…development.<name>``): a package there.

    Raises:
        ValueError: no renderer of that name (the message lists the known ones); a module of
            those folders that is not a renderer package (``sets``, the ``clothing`` module) is none.
    """
    for package, folder in _renderer_packages():
        if name in _packages_in(folder):
            return importlib.import_module(f"{package}.{name}")
    raise ValueError(f"unknown renderer {name!r}: use one of {', '.join(known_renderers())}")


def known_renderers() -> list[str]:
    """Names of the evaluation renderers, then the development ones, found on disk (the packages there)."""
    return [name for _, folder in _renderer_packages() for name in _packages_in(folder)]


def _packages_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "__init__.py").exists())


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (95% for z = 1.96).

    Returns:
        ``(low, high)`` in [0, 1]; ``(0.0, 1.0)`` when ``n`` is 0 (nothing measured).
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


@dataclass
class MeasuredProduct:
    """One product and its photos' evidence (None for a photo that could not be decoded)."""

    product: EvalProduct
    evidence: list[Evidence | None]


@dataclass(frozen=True)
class Figures:
    """What a shop would see, over the products measured.

    Fields:
        products: products measured; tags: products with a shop tag.
        labels: products the evidence labelled; correct: those labelled on the right photo.
        decided_tags: products with a tag that the evidence decided (label or none).
        doubtful: products left doubtful (the legacy rule flags meanwhile).
        unflagged: tags not flagged before further review (wrong photo, none, or the rule's miss).
        retail_tags, retail_flagged: products with a brand's retail tag; how many had it flagged.
        abstained: products where the detector abstained on at least one photo.
    """

    products: int
    tags: int
    labels: int
    correct: int
    decided_tags: int
    doubtful: int
    unflagged: int
    retail_tags: int
    retail_flagged: int
    abstained: int

    @property
    def precision(self) -> float:
        """Correct labels / labels (1.0 when nothing was labelled)."""
        return self.correct / self.labels if self.labels else 1.0

    @property
    def recall(self) -> float:
        """Correct labels / tags among the products the evidence decided (1.0 when none)."""
        return self.correct / self.decided_tags if self.decided_tags else 1.0

    @property
    def doubtful_share(self) -> float:
        """Doubtful products / products."""
        return self.doubtful / self.products if self.products else 0.0

    @property
    def unflagged_share(self) -> float:
        """Tags left unflagged / tags."""
        return self.unflagged / self.tags if self.tags else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counts, the four shares and the Wilson 95% intervals of precision and recall."""
        return {
            "products": self.products,
            "tags": self.tags,
            "labels": self.labels,
            "correct": self.correct,
            "decided_tags": self.decided_tags,
            "doubtful": self.doubtful,
            "unflagged": self.unflagged,
            "retail_tags": self.retail_tags,
            "retail_flagged": self.retail_flagged,
            "abstained": self.abstained,
            "precision": round(self.precision, 4),
            "precision_interval": [round(v, 4) for v in wilson_interval(self.correct, self.labels)],
            "recall": round(self.recall, 4),
            "recall_interval": [round(v, 4) for v in wilson_interval(self.correct, self.decided_tags)],
            "doubtful_share": round(self.doubtful_share, 4),
            "unflagged_share": round(self.unflagged_share, 4),
        }


def _share(value: float, interval: list[float], n: int, what: str) -> str:
    if not n:
        return f"n/a (0 {what})"
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}] on {n} {what}"


def figure_line(stage: str, f: dict[str, Any]) -> str:
    """One stage's figures (:meth:`Figures.as_dict`) as a person reads them: precision and recall
    with their Wilson 95% intervals and counts, "n/a" when nothing was labelled or decided
    (the dict's 1.0 then means "no mistake made", not a measure)."""
    return (
        f"{stage}: precision {_share(f['precision'], f['precision_interval'], f['labels'], 'labels')},"
        f" recall {_share(f['recall'], f['recall_interval'], f['decided_tags'], 'tags')},"
        f" doubtful {f['doubtful_share']:.1%},"
        f" unflagged {f['unflagged_share']:.1%} of {f['tags']} tags,"
        f" retail tags flagged {f['retail_flagged']} of {f['retail_tags']}"
    )


def _extract_product(item: tuple[str, EvalProduct]) -> list[Evidence | None]:
    renderer, product = item
    module = renderer_module(renderer)
    detector = load_detector()
    out: list[Evidence | None] = []
    for photo in product.photos:
        try:
            out.append(detector.extract(module.render_photo(photo)))
        except ValueError:
            out.append(None)
    return out


def extract_set(
    eval_set: EvalSet, processes: int | None = None, progress: Callable[[int, int], None] | None = None
) -> list[MeasuredProduct]:
    """Draw and measure every photo of ``eval_set`` in ``processes`` worker processes (default: 2 or the CPUs).

    Returns:
        One :class:`MeasuredProduct` per product, in the set's order (no product context yet).
    """
    workers = processes or min(2, os.cpu_count() or 1)
    items = [(eval_set.renderer, product) for product in eval_set.products]
    results: list[list[Evidence | None]] = []
    if workers <= 1:
        for i, item in enumerate(items):
            results.append(_extract_product(item))
            if progress:
                progress(i + 1, len(items))
    else:
        with ProcessPoolExecutor(workers) as pool:
            for i, found in enumerate(pool.map(_extract_product, items, chunksize=4)):
                results.append(found)
                if progress:
                    progress(i + 1, len(items))
    return [MeasuredProduct(product, evs) for product, evs in zip(eval_set.products, results, strict=True)]


def decide_photos(
    detector: Detector, evidence: Sequence[Evidence | None], profile: ShopProfile | None = None
) -> tuple[scoring.Decision, list[Assessment | None]]:
    """Decide one product from its photos' evidence (in photo order; None for a photo that could not be
    read) as ``labels detect`` then ``dbt run`` do: each photo assessed with the product's context and
    ``profile`` (None: cold), then :func:`product_images.labels.scoring.decide`; an unreadable photo
    makes the product doubtful (a person looks).

    Returns:
        ``(decision, assessments)``, the assessments in photo order, None where the evidence is. The
        evidences' product context is filled in place.
    """
    readable = [ev for ev in evidence if ev is not None]
    found = iter(detector.assess(readable, profile) if readable else [])
    assessments = [next(found) if ev is not None else None for ev in evidence]
    return _decision(detector, assessments), assessments


def _decision(detector: Detector, assessments: Sequence[Assessment | None]) -> scoring.Decision:
    if any(a is None for a in assessments):
        return scoring.Decision("doubtful", None)  # an unreadable photo: a person looks
    return scoring.decide([a.score for a in assessments if a is not None], detector.threshold, detector.floor)


@dataclass
class _Outcome:
    decision: scoring.Decision
    assessments: list[Assessment | None] = field(default_factory=list)


def interim_flag(assessments: Sequence[Assessment | None]) -> int | None:
    """The photo the interim rule flags on a doubtful product until a person decides, as the SQL
    does (``label_decisions_sql``): the best decision score (the last among equals) when every
    photo was scored, else the last photo; None below :data:`LABEL_MIN_IMAGES` photos."""
    n = len(assessments)
    if n < LABEL_MIN_IMAGES:
        return None
    if any(a is None for a in assessments):
        return n - 1
    return max(range(n), key=lambda i: (assessments[i].score, i))  # type: ignore[union-attr]


def figures(items: Sequence[MeasuredProduct], outcomes: Sequence[_Outcome]) -> Figures:
    """Count :class:`Figures` over products and their decisions (same order)."""
    counts = dict.fromkeys(
        (
            "tags",
            "labels",
            "correct",
            "decided_tags",
            "doubtful",
            "unflagged",
            "retail_tags",
            "retail_flagged",
            "abstained",
        ),
        0,
    )
    for item, outcome in zip(items, outcomes, strict=True):
        truth = item.product.label_index
        decision = outcome.decision
        counts["tags"] += truth is not None
        if decision.status == "doubtful":
            counts["doubtful"] += 1
            flagged = interim_flag(outcome.assessments)
        else:
            counts["decided_tags"] += truth is not None
            flagged = decision.index
            if decision.status == "label":
                counts["labels"] += 1
                counts["correct"] += decision.index == truth
        counts["unflagged"] += truth is not None and flagged != truth
        kinds = [photo.kind for photo in item.product.photos]
        if "retail_tag" in kinds:
            counts["retail_tags"] += 1
            counts["retail_flagged"] += flagged is not None and kinds[flagged] == "retail_tag"
        counts["abstained"] += any(a is not None and a.abstain for a in outcome.assessments)
    return Figures(products=len(items), **counts)


def _outcomes(
    detector: Detector, items: Sequence[MeasuredProduct], profiles: dict[str, ShopProfile | None]
) -> list[_Outcome]:
    out = []
    for item in items:
        decision, assessments = decide_photos(detector, item.evidence, profiles.get(item.product.tenant))
        out.append(_Outcome(decision, assessments))
    return out


def queue_order(items: Sequence[MeasuredProduct], outcomes: Sequence[_Outcome]) -> list[int]:
    """Indexes of the doubtful products in review-queue order: the order of the
    ``label_review_queue`` model (tenant, then product id). Measured on the development
    sets, this order taught the shop profile as well as the best-scoring products first."""
    doubtful = [i for i, outcome in enumerate(outcomes) if outcome.decision.status == "doubtful"]
    return sorted(doubtful, key=lambda i: (items[i].product.tenant, items[i].product.product_id))


def review_round(
    detector: Detector,
    items: Sequence[MeasuredProduct],
    outcomes: Sequence[_Outcome],
    review_share: float = 0.05,
) -> tuple[set[int], dict[str, ShopProfile | None]]:
    """One review round: per shop, a person decides the first ``review_share`` of its
    products from the queue (:func:`queue_order`); the shop profile is learned from those
    confirmed decisions and from products whose best photo cleared the high bar.

    Returns:
        ``(indexes of the reviewed products, tenant → profile or None)``.
    """
    per_tenant: dict[str, int] = {}
    for item in items:
        per_tenant[item.product.tenant] = per_tenant.get(item.product.tenant, 0) + 1
    budget = {tenant: int(review_share * n) for tenant, n in per_tenant.items()}
    reviewed: set[int] = set()
    for i in queue_order(items, outcomes):
        tenant = items[i].product.tenant
        if budget[tenant] > 0:
            reviewed.add(i)
            budget[tenant] -= 1
    confirmed: dict[str, list[tuple[Evidence, bool]]] = {tenant: [] for tenant in per_tenant}
    for i, (item, outcome) in enumerate(zip(items, outcomes, strict=True)):
        if i in reviewed:
            truth = item.product.label_index
        else:
            scores = [a.score if a is not None else 0.0 for a in outcome.assessments]
            if not scores or max(scores) < detector.high_bar:
                continue
            truth = max(range(len(scores)), key=scores.__getitem__)
        for j, ev in enumerate(item.evidence):
            if ev is not None:
                confirmed[item.product.tenant].append((ev, j == truth))
    profiles: dict[str, ShopProfile | None] = {}
    for tenant, pairs in confirmed.items():
        profiles[tenant] = detector.learn(tenant, pairs) if any(is_tag for _, is_tag in pairs) else None
    return reviewed, profiles


def evaluate(eval_set: EvalSet, processes: int | None = None, review_share: float = 0.05) -> dict[str, Any]:
    """Cold figures and the figures after one review round of ``eval_set``.

    Returns:
        ``{"renderer", "seed", "products", "photos", "reviewed", "cold": Figures.as_dict(),
        "after_review": Figures.as_dict()}``; ``after_review`` counts the products nobody reviewed.
    """
    items = extract_set(eval_set, processes)
    return {"renderer": eval_set.renderer, "seed": eval_set.seed, **evaluate_measured(items, review_share)}


def evaluate_measured(
    items: Sequence[MeasuredProduct], review_share: float = 0.05, detector: Detector | None = None
) -> dict[str, Any]:
    """:func:`evaluate` on products already measured (:func:`extract_set`).

    Args:
        detector: the detector to measure (default: the installed model's, :func:`load_detector`);
            training passes a model fitted without the renderer that drew ``items``.

    Returns:
        ``{"products", "photos", "reviewed", "cold", "after_review"}`` as :func:`evaluate`.
    """
    detector = detector or load_detector()
    cold = _outcomes(detector, items, {})
    reviewed, profiles = review_round(detector, items, cold, review_share)
    warm = _outcomes(detector, items, profiles)
    rest = [i for i in range(len(items)) if i not in reviewed]
    return {
        "products": len(items),
        "photos": sum(len(item.product.photos) for item in items),
        "reviewed": len(reviewed),
        "cold": figures(items, cold).as_dict(),
        "after_review": figures([items[i] for i in rest], [warm[i] for i in rest]).as_dict(),
    }
