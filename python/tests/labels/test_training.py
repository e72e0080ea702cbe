"""How model.json is made (product_images.labels.training): figures, thresholds, the exported trees, the cache."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from product_images.labels import renderer_holdout, scoring, training
from product_images.labels.development import clothing
from product_images.labels.evaluation import measure
from product_images.labels.training import DevSet, ProductEvidence, RendererSet

pytest.importorskip("sklearn")


def product(tenant: str, n_photos: int, label_index: int | None) -> ProductEvidence:
    return ProductEvidence(tenant, 0, label_index, [None] * n_photos)  # type: ignore[list-item]


# five products: a found tag, a tag the evidence misses (doubtful, the rule flags it),
# a doubtful product whose tag is not last, a "no tag" with no tag, a "no tag" with a tag
PRODUCTS = [
    product("a", 3, 2),
    product("a", 2, 1),
    product("a", 3, 0),
    product("b", 2, None),
    product("b", 2, 1),
]
SCORES = [[0.01, 0.02, 0.95], [0.1, 0.5], [0.3, 0.2, 0.1], [0.001, 0.002], [0.001, 0.003]]


def test_figures_count_as_the_dbt_decision_and_the_rule_on_doubtful_products() -> None:
    f = training.figures(PRODUCTS, SCORES, threshold=0.9, floor=0.004)
    assert (f.products, f.tags, f.doubtful_products) == (5, 4, 2)
    assert f.precision == 1.0  # one evidence label, on the tag
    assert f.recall == 0.5  # tags in decided products: the found one and the one decided "no tag"
    assert f.doubtful == 0.4
    assert f.unflagged == 0.5  # the doubtful tag-not-last one and the "no tag" one
    assert not f.meets()


def test_a_wrong_label_costs_precision_and_leaves_the_tag_unflagged() -> None:
    f = training.figures([product("a", 3, 1)], [[0.2, 0.3, 0.95]], threshold=0.9, floor=0.004)
    assert (f.precision, f.recall, f.unflagged) == (0.0, 0.0, 1.0)


def test_the_thresholds_are_the_pair_with_the_most_room_to_every_target() -> None:
    # 20 tags scored 0.90–0.99 and 200 products without a tag whose best photo scores 0.0001–0.06:
    # every pair in the gap is perfect on precision, recall and unflagged, and the highest floor
    # leaves the fewest products doubtful (those above it: 6 of 220)
    products = [product("t", 3, 2) for _ in range(20)] + [product("t", 3, None) for _ in range(200)]
    scores = [[0.0, 0.0, float(s)] for s in np.linspace(0.9, 0.99, 20)]
    scores += [[0.0, float(s), 0.0] for s in np.geomspace(1e-4, 0.06, 200)]
    threshold, floor = training.choose_thresholds(products, scores, scores)
    f = training.figures(products, scores, threshold, floor)
    assert (f.precision, f.recall, f.unflagged) == (1.0, 1.0, 0.0)
    assert threshold < 0.9 and floor == training.FLOOR_GRID[-1] == 0.05
    assert f.doubtful_products == 6


def test_when_no_pair_meets_the_targets_the_least_missing_one_is_chosen() -> None:
    # 8 easy tags (0.6) and 2 ties whose first, wrong, photo wins: deciding them costs
    # precision 0.8 (slack -19), leaving them doubtful costs doubtful 20% (slack -1)
    products = [product("t", 2, 1) for _ in range(10)]
    scores = [[0.01, 0.6]] * 8 + [[0.5, 0.5]] * 2
    threshold, floor = training.choose_thresholds(products, scores, scores)
    f = training.figures(products, scores, threshold, floor)
    assert 0.5 <= threshold < 0.6 and floor <= 0.01  # a best score at the threshold is not above it
    assert (f.precision, f.recall, f.unflagged, f.doubtful_products) == (1.0, 1.0, 0.0, 2)
    assert not f.meets()


def test_of_equally_safe_pairs_the_highest_threshold_is_chosen() -> None:
    # 19 clear tags (0.95) and one product whose wrong photo scores 0.6: every threshold
    # from 0.6 to below 0.95 leaves it doubtful with the same figures; the highest wins
    products = [product("t", 2, 1) for _ in range(20)]
    scores = [[0.01, 0.95]] * 19 + [[0.6, 0.2]]
    threshold, floor = training.choose_thresholds(products, scores, scores)
    assert threshold == max(t for t in training.THRESHOLD_GRID if t < 0.95)
    assert floor == training.FLOOR_GRID[0]
    assert training.figures(products, scores, threshold, floor).doubtful_products == 1


def test_the_exported_trees_score_exactly_as_scikit_learn() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, len(scoring.FEATURES)))
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take the learned side
    y = (np.nan_to_num(x[:, 1]) + 0.5 * np.nan_to_num(x[:, 5]) > 0.3).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=8, random_state=0).fit(x, y)
    model = training.as_model(clf)
    ours = np.array([model.raw(row) for row in x])
    assert np.allclose(ours, clf.decision_function(x), atol=1e-5)


def test_no_development_set_uses_a_held_out_seed() -> None:
    assert not {dev.seed for dev in training.DEV_SETS} & training.HELD_OUT_SEEDS
    assert len({dev.tenant_prefix for dev in training.DEV_SETS}) == len(training.DEV_SETS)


def test_a_held_out_seed_is_refused(tmp_path) -> None:
    dev = DevSet("oops", 909, clothing.DatasetParams(tenant_products=(5,)), "oops_")
    with pytest.raises(training.TrainingError, match="seed 909 is held out"):
        training.load_set(dev, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_set_is_measured_once_and_read_back_from_the_cache_unchanged(tmp_path) -> None:
    dev = DevSet("tiny", 7, clothing.DatasetParams(tenant_products=(8,), tag_rate=0.5, small_rate=1.0), "tiny_")
    first = training.load_set(dev, tmp_path, processes=1)
    cached = list(tmp_path.iterdir())
    assert len(cached) == 1 and cached[0].name.startswith("tiny-")
    again = training.load_set(dev, tmp_path, processes=1)
    assert len(first) == 8 and [p.label_index for p in again] == [p.label_index for p in first]
    before = [scoring.score_product(p.evidences) for p in first]
    after = [scoring.score_product(p.evidences) for p in again]
    assert before == after
    assert list(tmp_path.iterdir()) == cached


def test_the_command_names_the_sets_when_one_is_unknown() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "product_images", "labels", "train", "--set", "nope"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert (
        "--set: unknown set nope; the sets are dev, devb, devc, deve, market_a, atelier_a, vintage_a, resale_a"
        in result.stderr
    )


def test_an_evaluation_renderer_or_a_measuring_seed_is_never_trained_on(tmp_path) -> None:
    with pytest.raises(training.TrainingError, match="thrift is an evaluation renderer: it measures, never trains"):
        training.load_set(RendererSet("oops", "thrift", 1, 4), tmp_path)
    with pytest.raises(training.TrainingError, match="seed 7202 is one of market's SEEDS, which measure it"):
        training.load_set(RendererSet("oops", "market", 7202, 4), tmp_path)
    with pytest.raises(training.TrainingError, match="unknown renderer 'nope'"):
        training.load_set(RendererSet("oops", "nope", 1, 4), tmp_path)
    assert not list(tmp_path.iterdir())
    assert not {(dev.renderer, dev.seed) for dev in training.RENDERER_SETS} & {
        (name, seed)
        for name in ("market", "atelier", "vintage", "resale")
        for seed in measure.renderer_module(name).SEEDS.values()
    }


@pytest.fixture(scope="module")
def two_renderers(tmp_path_factory) -> list[ProductEvidence]:
    """Eight products of the demo's generator and eight of market's, measured."""
    cache = tmp_path_factory.mktemp("cache")
    clothing_set = DevSet("tiny", 7, clothing.DatasetParams(tenant_products=(8,), tag_rate=0.5, small_rate=1.0), "t_")
    products, sizes = training.load_sets([clothing_set, RendererSet("market_t", "market", 17, 8)], cache, 1)
    assert [size["products"] for size in sizes.values()] == [8, 8]
    return products


def test_a_renderer_set_keeps_its_renderer_and_what_each_photo_shows(two_renderers) -> None:
    market = [p for p in two_renderers if p.renderer == "market"]
    assert len(market) == 8 and all(p.tenant.startswith("market_t:") for p in market)
    for p in market:
        assert len(p.kinds) == len(p.evidences)
        assert [i for i, kind in enumerate(p.kinds) if kind == "shop_tag"] == (
            [] if p.label_index is None else [p.label_index]
        )


def test_each_renderer_is_measured_by_a_model_that_never_saw_it(two_renderers) -> None:
    found = renderer_holdout.leave_one_renderer_out(two_renderers, 0.88, 0.0015)
    assert sorted(found) == ["clothing", "market"]
    assert [found[r]["products"] for r in ("clothing", "market")] == [8, 8]
    worst = renderer_holdout.worst(found)
    lowest = min(found, key=lambda r: found[r]["cold"]["precision"])
    assert worst["cold"]["precision"] == [found[lowest]["cold"]["precision"], lowest]
    with pytest.raises(training.TrainingError, match="two renderers or more; these are all market"):
        renderer_holdout.leave_one_renderer_out([p for p in two_renderers if p.renderer == "market"], 0.88, 0.0015)


def test_leaving_a_renderer_out_needs_two_renderers_before_anything_is_measured() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "product_images", "labels", "train", "--set", "dev", "--leave-one-renderer-out"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "leave-one-renderer-out needs sets of two renderers or more; these are all clothing" in result.stderr
    assert "measured" not in result.stderr
