"""The price-tag detector on HELD-OUT sets: render, detect, decide as the SQL does, measure.

The set is drawn with another seed and other parameters than the development sets
that fitted the model and chose the thresholds (``product-images labels train``;
model.json's ``trained_on``); nothing was tuned on it. Measured with threshold 0.88,
floor 0.0015, no shop profile (cold start), then after one review round. The
issue's targets: precision and recall >= 0.99 on the products the evidence decides,
doubtful <= 10 %, tags left unflagged before review <= 1 %.

* ``FRESH`` (seed 909, 4 shops, 250 products, 54 tags, 760 photos), measured once on 2026-12-07 with
  detector labels-6f2c26d8e5: cold precision 1.000 (43/43), recall 1.000, doubtful 10.0 % (25/250); after
  one review round doubtful 6.3 % (15/239), unflagged 0.00 %.

It meets every target and the tests assert the targets. Until 2026-12-07 this set had twice the
products (500, 108 tags, 1,484 photos; README's last figures for it: cold precision 1.000 on 74
labels, doubtful 14.8 % cold and 7.6 % after one round); it was halved to keep
``make test`` near its 20 minutes, as it measures the generator the model learned from, not the
detector on photos it never saw. More sets of this generator, measured once outside the tests (README,
"How accurate it is"): seed 531, seed 2718 and the parameters of the demo with seed 404. The sets that
measure the detector are those of ``labels/evaluation`` (test_evaluation_sets.py).

Cost: about 1 minute on 2 processes.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from product_images.labels import evidence, scoring
from product_images.labels.development import clothing
from product_images.labels.evaluation import measure
from product_images.labels.evaluation.sets import EvalPhoto, EvalProduct

FRESH_SEED = 909
FRESH_PARAMS = clothing.demo_params(
    tenant_products=(70, 65, 60, 55),
    tenant_tags=(15, 14, 13, 12),
    style_weights=(0.2, 0.25, 0.3, 0.25),
    two_styles_rate=0.45,
    hard_negative_rate=0.24,
    negative_weights=(1.1, 0.9, 1.2, 0.8, 1.0, 1.3),
    tag_not_last_rate=0.0,
    on_garment_rate=0.37,
    angle_rate=0.4,
    max_angle=34.0,
    blur_rate=0.16,
    max_blur=2.6,
    low_light_rate=0.2,
    small_rate=0.32,
    large_sides=(1600, 1800),
    quality=(77, 90),
)


def _evidence(product: clothing.Product) -> list[evidence.Evidence | None]:
    return [evidence.extract(clothing.render_photo(spec)) for spec in product.photos]


def _measure(dataset: clothing.Dataset) -> list[measure.MeasuredProduct]:
    """The products of a clothing set with their photos' evidence, in the harness's shape."""
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1)) as pool:
        found = list(pool.map(_evidence, dataset.products, chunksize=8))
    items = []
    for product, evs in zip(dataset.products, found, strict=True):
        photos = tuple(
            EvalPhoto("clothing", i, "shop_tag" if i == product.label_index else "photo", i == product.label_index)
            for i in range(len(product.photos))
        )
        items.append(measure.MeasuredProduct(EvalProduct(product.tenant, product.product_id, "", photos), evs))
    return items


def _evaluate(items: list[measure.MeasuredProduct]) -> dict:
    return {**measure.evaluate_measured(items), "items": items}


@pytest.fixture(scope="module")
def fresh_results() -> dict:
    return _evaluate(_measure(clothing.generate_dataset(FRESH_SEED, FRESH_PARAMS, tenant_prefix="fresh_")))


def assert_meets_every_target(measured: dict) -> None:
    """The issue's targets after one review round (see the module's docstring)."""
    assert measured["precision"] >= 0.99, measured
    assert measured["recall"] >= 0.99, measured
    assert measured["doubtful_share"] <= 0.10, measured
    assert measured["unflagged_share"] <= 0.01, measured


def test_the_held_out_set_is_what_it_says(fresh_results) -> None:
    assert (fresh_results["products"], fresh_results["cold"]["tags"]) == (250, 54)


def test_cold_the_evidence_is_never_wrong_with_confidence(fresh_results) -> None:
    cold = fresh_results["cold"]
    assert cold["precision"] >= 0.99 and cold["labels"] >= 40, cold
    assert cold["recall"] >= 0.99, cold


def test_after_one_review_round_every_target_is_met(fresh_results) -> None:
    found = fresh_results
    assert 0 < found["reviewed"] <= 0.05 * found["products"]
    assert_meets_every_target(found["after_review"])


def test_the_evidence_beats_the_rule_by_far(fresh_results) -> None:
    """The legacy rule on the same set: the last photo of every product with 2+ photos."""
    flags = [
        (item.product.label_index, scoring.legacy_rule(len(item.product.photos)))
        for item in fresh_results["items"]
        if scoring.legacy_rule(len(item.product.photos)) is not None
    ]
    rule_precision = sum(truth == index for truth, index in flags) / len(flags)
    assert rule_precision < 0.5 < fresh_results["cold"]["precision"]


def test_scores_do_not_depend_on_photo_order(fresh_results) -> None:
    item = next(i for i in fresh_results["items"] if i.product.label_index is not None and len(i.product.photos) >= 3)
    evs = list(item.evidence)
    evidence.product_context(evs)
    forward = scoring.score_product(evs, None)
    backward = list(reversed(evs))
    evidence.product_context(backward)
    assert scoring.score_product(backward, None)[::-1] == pytest.approx(forward)


def test_decide_is_the_sql_decision() -> None:
    assert scoring.decide([0.1, 0.95], 0.9, 0.05) == scoring.Decision("label", 1)
    assert scoring.decide([0.01, 0.02], 0.9, 0.05) == scoring.Decision("none", None)
    assert scoring.decide([0.01, 0.5], 0.9, 0.05) == scoring.Decision("doubtful", None)
    # a tie goes to the last position, as the SQL's `order by label_score desc, position desc`
    assert scoring.decide([0.95, 0.2, 0.95], 0.9, 0.05) == scoring.Decision("label", 2)
    with pytest.raises(ValueError):
        scoring.decide([0.5], 0.1, 0.2)


def test_labels_evaluate_says_n_a_when_nothing_was_labelled_and_gives_counts_otherwise():
    counts = dict(products=20, tags=5, doubtful=9, unflagged=1, retail_tags=0, retail_flagged=0, abstained=2)
    nothing = measure.Figures(labels=0, correct=0, decided_tags=0, **counts).as_dict()
    some = measure.Figures(labels=7, correct=5, decided_tags=5, **counts).as_dict()
    assert measure.figure_line("cold", nothing).startswith(
        "cold: precision n/a (0 labels), recall n/a (0 tags), doubtful 45.0%"
    )
    assert measure.figure_line("after", some).startswith(
        "after: precision 0.714 [0.359, 0.918] on 7 labels, recall 1.000 [0.566, 1.000] on 5 tags,"
    )
