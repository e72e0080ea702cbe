"""The detector on EVALUATION sets: photos drawn by renderers nobody who tunes the detector has read.

``labels/evaluation/thrift`` and ``labels/evaluation/snapshot`` were written by helper
sessions from a description of shop photos only; they are used here and in the README to
measure, never to train, choose thresholds or features. Each small set is drawn, every
photo read by the detector, every product decided as ``dbt run`` decides it, cold (no
review yet) and after one review round (a person decides the first 5% of each shop's
products in queue order; the shop profile learns from them; the rest is decided again).

What is asserted: cold, the evidence is never wrong with confidence (precision >= 0.99 on
the products it decides, on both sets). The after-one-round targets of the issue (recall
>= 0.99, doubtful <= 10%, tags unflagged <= 1%) are NOT met yet on these sets (README,
"How accurate"): the test holds the measured figures as floors and ceilings, so a
regression fails it and an improvement shows.

Cost: about 1,030 photos, 2-3 minutes on 2 processes.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from product_images.cli import main
from product_images.labels.evaluation import measure, snapshot, thrift

# thrift small, after one round, measured once (recall 0.923, doubtful 36.8%, unflagged 19.2%), with the
# room of about one product either way: the targets (0.99, 10%, 1%) are not reached yet.
RECALL_FLOOR = 0.90
DOUBTFUL_CEILING = 0.40
UNFLAGGED_CEILING = 0.23


@pytest.fixture(scope="module")
def thrift_small() -> dict:
    return measure.evaluate(thrift.generate_set(thrift.SEEDS["small"], 120))


@pytest.fixture(scope="module")
def snapshot_small() -> dict:
    return measure.evaluate(snapshot.generate_set(snapshot.SEEDS["small"], 120))


def test_the_sets_are_what_they_say(thrift_small, snapshot_small) -> None:
    assert (thrift_small["products"], thrift_small["photos"], thrift_small["cold"]["tags"]) == (120, 528, 28)
    assert (snapshot_small["products"], snapshot_small["photos"], snapshot_small["cold"]["tags"]) == (120, 503, 25)


@pytest.mark.parametrize("name", ["thrift_small", "snapshot_small"])
def test_cold_the_evidence_is_never_wrong_with_confidence(name, request) -> None:
    cold = request.getfixturevalue(name)["cold"]
    assert cold["labels"] >= 3, cold
    assert cold["precision"] >= 0.99, cold


@pytest.mark.parametrize("name", ["thrift_small", "snapshot_small"])
def test_after_one_review_round_precision_holds(name, request) -> None:
    found = request.getfixturevalue(name)
    assert 0 < found["reviewed"] <= 0.05 * found["products"]
    assert found["after_review"]["precision"] >= 0.99, found["after_review"]


def test_after_one_review_round_on_thrift_as_measured(thrift_small) -> None:
    """The figures measured once (README): a regression fails, an improvement shows."""
    after = thrift_small["after_review"]
    assert after["recall"] >= RECALL_FLOOR, after
    assert after["doubtful_share"] <= DOUBTFUL_CEILING, after
    assert after["unflagged_share"] <= UNFLAGGED_CEILING, after


def test_an_unknown_renderer_is_named_with_the_known_ones() -> None:
    result = CliRunner().invoke(main, ["labels", "evaluate", "--renderer", "clothing"])
    assert result.exit_code == 2
    assert "--renderer: unknown renderer 'clothing'; use one of snapshot, thrift, atelier, market" in result.output
