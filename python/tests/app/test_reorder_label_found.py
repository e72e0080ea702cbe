"""The app changes a product's photos; the next ``dbt run`` decides its label again.

Found by a review (2026-12-07): when the app reordered the photos of a product whose label
the rule had decided (``label_source = 'rule'``: the legacy rule's last photo), ``is_label``
stayed on the photo that was moved and ``one_label_per_product`` failed for that product in
``dbt test``, and kept failing: a write to ``product_images`` changes neither the product's
JSONB nor the tenant's watermark, so the next ``dbt run`` found the tenant unchanged and
decided nothing. The same for the app deleting photos until the rule's label was on a
product with fewer than ``label_min_images`` photos. The app's writes now mark the product
for the next run (``label_scores_pending``), which decides it again; a person's decision
(``override``, ``app``) is never changed by it.

One real ``dbt run`` decides the products (the rule, the evidence, the interim rule, the
review list, the app), the app changes them through :class:`ProductImageService`, then
``dbt test`` and the checkpoint, ``dbt run``, ``dbt test`` and the checkpoint, and one more
``dbt run``, all real. Before the fix the last four tests failed: after the run, products 1
and 2 kept their labels and both checks still named them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest

from helpers.dbt import run_log, write_overrides
from helpers.service import RUN, T, U, state
from product_images.app.service import ProductImageService
from product_images.checks.checkpoints import run_checkpoint

ONE_LABEL = "one_label_per_product_product_images_"

SCORES = {
    5: (0.01, 0.95, 0.02),  # the evidence: position 1 is the label
    6: (0.5, 0.2, 0.3),  # doubtful: the interim rule flags position 0, the best-scoring
    10: (0.95, 0.01, 0.02),  # the evidence: position 0 is the label
}
"""label_score of each photo (by position) of the products the detector scored."""

Named = list[tuple[str, int | None, str]]
"""(tenant, product, problem) the checkpoint's one_label_per_product names."""


class Seen(NamedTuple):
    """What a fixture saw (pytest may run the tests in any order)."""

    dbt_test: int
    """Products dbt test's one_label_per_product named (0: it passed)."""
    checkpoint: Named | None
    """What the checkpoint's one_label_per_product named ([]: it passed; None: not run)."""
    rows: dict[int, list[tuple[Any, ...]]]
    """``state()`` of products, by product id."""


def url(product_id: int, index: int) -> str:
    """The URL of the product's JSONB element ``index`` (what ``photos()`` loaded)."""
    return f"{U}{T}/{product_id}/{index}.jpg"


def one_label_failures(dbt: Callable[..., Any]) -> int:
    """Products ``one_label_per_product`` names in a real ``dbt test`` of the model (0: it passes)."""
    result = dbt("test", "--select", "product_images")
    found = {r.node.name: r.failures for r in result.node_results() if r.node.name.startswith(ONE_LABEL)}
    assert len(found) == 1, found
    return next(iter(found.values())) or 0


def one_label_checkpoint(project_dir: Path) -> Named:
    """What the real checkpoint's one_label_per_product names, over every tenant (empty: it passes)."""
    report = run_checkpoint(gx_dir=project_dir / "gx", data_docs="none")
    return sorted(
        (failure.tenant_schema, failure.product_id, failure.problem)
        for outcome in report.outcomes
        if outcome.check == "one_label_per_product"
        for failure in outcome.failures
    )


def states(conn: psycopg.Connection, product_ids: Iterable[int], columns: str) -> dict[int, list[tuple[Any, ...]]]:
    """``state()`` of each product, by product id."""
    return {product_id: state(conn, product_id, columns) for product_id in product_ids}


def ids(conn: psycopg.Connection, product_id: int) -> list[int]:
    """The product's image ids in position order."""
    return [row[0] for row in state(conn, product_id, "id")]


@pytest.fixture(scope="module")
def decided(conn: psycopg.Connection, dbt: Callable[..., Any], tenant: str, project_dir: Path) -> Seen:
    """Every kind of decision on the table, by one real run: dbt test's one_label failures, the rows."""
    for product_id, scores in SCORES.items():
        for position, score in enumerate(scores):
            conn.execute(
                "update user_1.product_images set label_score = %s, label_scores_pending = true "
                "where product_id = %s and position = %s",
                (score, product_id, position),
            )
    write_overrides(project_dir, [(T, 7, url(7, 0), True, "the tag is first")])
    ProductImageService(conn, T).set_label_flag(ids(conn, 8)[0], True)
    assert dbt("seed").success
    assert dbt(*RUN).success
    return Seen(
        one_label_failures(dbt), None, states(conn, (1, 5, 6, 7, 8, 10), "url, position, is_label, label_source")
    )


@pytest.fixture(scope="module")
def app_changed(conn: psycopg.Connection, dbt: Callable[..., Any], project_dir: Path, decided: Seen) -> Seen:
    """The app's changes after that run, and what dbt test and the checkpoint say before the next run."""
    svc = ProductImageService(conn, T)
    first, second, last = ids(conn, 1)
    svc.reorder_images(1, [last, first, second])  # the legacy rule's label moved to the front
    for image_id in ids(conn, 2)[:2]:
        svc.delete_image(image_id)  # the label is left alone: a one-photo product
    svc.delete_image(ids(conn, 3)[2])  # the rule's label deleted
    svc.add_image(4, U + "added/4.jpg")  # after the legacy rule's last photo
    for product_id in (5, 6):
        first, second, last = ids(conn, product_id)
        svc.reorder_images(product_id, [second, last, first])
    for product_id in (7, 8):
        svc.reorder_images(product_id, list(reversed(ids(conn, product_id))))
    svc.delete_image(ids(conn, 10)[0])  # the evidence's label deleted
    rows = states(conn, (1, 2), "url, position, is_label, label_source")
    return Seen(one_label_failures(dbt), one_label_checkpoint(project_dir), rows)


@pytest.fixture(scope="module")
def next_run(conn: psycopg.Connection, dbt: Callable[..., Any], project_dir: Path, app_changed: Seen) -> Seen:
    """The next real ``dbt run``, and what dbt test and the checkpoint say after it."""
    result = dbt(*RUN)
    assert result.success, [r.message for r in result.node_results()] or result.exception
    rows = states(conn, EXPECTED_AFTER_THE_RUN, "url, is_label, label_source")
    return Seen(one_label_failures(dbt), one_label_checkpoint(project_dir), rows)


def test_the_decisions_before_the_app_changes_pass_dbt_test(decided):
    assert decided.dbt_test == 0
    rows = decided.rows
    assert rows[1] == [(url(1, i), i, i == 2, "rule") for i in range(3)]
    assert [row[2:] for row in rows[5]] == [(False, "evidence"), (True, "evidence"), (False, "evidence")]
    assert [row[2:] for row in rows[6]] == [(True, "rule"), (False, "rule"), (False, "rule")]
    assert [row[2:] for row in rows[7]] == [(True, "override"), (False, "rule"), (False, "rule")]
    assert [row[2:] for row in rows[8]] == [(True, "app"), (False, "rule"), (False, "app")]
    assert [row[2:] for row in rows[10]] == [(True, "evidence"), (False, "evidence"), (False, "evidence")]


def test_until_the_next_run_dbt_test_names_the_rule_decisions_the_app_changed(app_changed):
    # Product 1: the rule's label is on the photo moved to the front; product 2: a label on its
    # only photo. Pending for the next run, as no_lost_images is for a JSONB changed since the run.
    rows = app_changed.rows
    assert rows[1] == [(url(1, 2), 0, True, "rule"), (url(1, 0), 1, False, "rule"), (url(1, 1), 2, False, "rule")]
    assert rows[2] == [(url(2, 2), 0, True, "rule")]
    assert app_changed.dbt_test == 2
    assert app_changed.checkpoint == [
        (
            T,
            1,
            "the rule labelled position 0, not the last loaded photo (position 2) nor, the product being doubtful, "
            "its best-scoring one",
        ),
        (T, 2, "1 labels on 1 images"),
    ]


EXPECTED_AFTER_THE_RUN = {
    # the legacy rule: the photo now last
    1: [(url(1, 2), False, "rule"), (url(1, 0), False, "rule"), (url(1, 1), True, "rule")],
    # the rule: no label on a product with fewer than label_min_images photos
    2: [(url(2, 2), False, "rule")],
    # the app deleted the label: its decision, no label
    3: [(url(3, 0), False, "app"), (url(3, 1), False, "app")],
    # a photo the app added after the last one: the rule's label stays on the last loaded photo
    4: [
        (url(4, 0), False, "rule"),
        (url(4, 1), False, "rule"),
        (url(4, 2), True, "rule"),
        (U + "added/4.jpg", False, "app"),
    ],
    # the evidence and the interim rule: the best-scoring photo, wherever it stands now
    5: [(url(5, 1), True, "evidence"), (url(5, 2), False, "evidence"), (url(5, 0), False, "evidence")],
    6: [(url(6, 1), False, "rule"), (url(6, 2), False, "rule"), (url(6, 0), True, "rule")],
    # people's decisions: never changed by a run
    7: [(url(7, 2), False, "rule"), (url(7, 1), False, "rule"), (url(7, 0), True, "override")],
    8: [(url(8, 2), False, "app"), (url(8, 1), False, "rule"), (url(8, 0), True, "app")],
    10: [(url(10, 1), False, "app"), (url(10, 2), False, "app")],
}


@pytest.mark.parametrize("product_id", sorted(EXPECTED_AFTER_THE_RUN))
def test_the_next_run_decides_again_what_the_app_changed(next_run, product_id):
    assert next_run.rows[product_id] == EXPECTED_AFTER_THE_RUN[product_id]


def test_after_the_next_run_dbt_test_and_the_checkpoint_pass(conn, next_run):
    assert (next_run.dbt_test, next_run.checkpoint) == (0, [])
    assert conn.execute("select count(*) from user_1.product_images where label_scores_pending").fetchone() == (0,)


def test_a_run_after_that_finds_the_tenant_unchanged(conn, dbt, next_run):
    assert dbt(*RUN).success
    assert run_log(conn)[T]["mode"] == "unchanged"
    assert state(conn, 1, "url, is_label") == [(url(1, 2), False), (url(1, 0), False), (url(1, 1), True)]
