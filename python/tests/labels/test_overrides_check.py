"""What guards the review list on its way to the tables (real dbt, a real PostgreSQL): a list over 1 MiB, which dbt
does not checksum, is applied as loaded with a warning that the run cannot check it; `product-images overrides diff`
names the rows that match no image.

Each test leaves the review list as it found it, seeded and applied again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.dbt import table_rows, write_overrides
from helpers.legacy_data import make_tenant, photos
from product_images.cli import main
from product_images.labels.review.server import apply_decisions

U1 = "https://images.example.com/user_1/"
RUN = ("run", "--select", "product_images")
LABELS = "product_id, position, is_label, label_source"


@pytest.fixture(scope="module")
def data(conn, dbt):
    make_tenant(conn, "user_1", {1: photos(1, 3, "user_1"), 2: photos(2, 3, "user_1")})
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2")})
    assert dbt(*RUN).success


@pytest.fixture
def review_list(seeded_review_list: Path) -> Path:
    """The review list, seeded and applied again when the test ends (conftest.py)."""
    return seeded_review_list


def message(result) -> str:
    return result.node_results()[0].message if result.node_results() else str(result.exception)


def big_list(project_dir, label_photo: int) -> None:
    """A review list over 1 MiB (9,000 rows, e.g. 3,000 products decided) with product 2's decision."""
    filler = [
        ("user_1", 100_000 + i, f"{U1}{100_000 + i}/{'x' * 80}.jpg", False, "reviewed by alice on 2026-12-01")
        for i in range(9_000)
    ]
    product_2 = [("user_1", 2, f"{U1}2/{i}.jpg", i == label_photo, "reviewed by bob on 2026-12-02") for i in range(3)]
    write_overrides(project_dir, product_2 + filler)


def test_a_review_list_over_1_mib_cannot_be_checked_by_a_run_which_says_so(review_list, conn, dbt, project_dir, capfd):
    # dbt keeps only the path of a seed over 1 MiB, so a run cannot tell whether it was edited since
    # `dbt seed`. Refusing would stop every routine rerun of a shop with that many decisions: the run
    # warns, applies the list loaded, and `overrides diff` (which reads the file) names the difference.
    big_list(project_dir, label_photo=0)
    assert review_list.stat().st_size > 1024 * 1024
    # what --apply runs for such a list: the seed and the run in one dbt build, which checks nothing twice
    out = io.StringIO()
    outcome = apply_decisions(
        {"user_1"}, out, project_dir=project_dir, profiles_dir=project_dir / "target" / "profiles"
    )
    assert outcome.success, out.getvalue()
    assert [name for name, _ in outcome.commands] == [
        "dbt build --select label_overrides product_images --exclude-resource-type test "
        "--exclude-resource-type unit_test"
    ]
    applied = [(2, 0, True, "override"), (2, 1, False, "override"), (2, 2, False, "override")]
    assert table_rows(conn, "user_1", LABELS)[3:] == applied

    # the reviewer changes product 2's decision to its third photo and forgets dbt seed
    big_list(project_dir, label_photo=2)
    capfd.readouterr()
    assert dbt(*RUN).success
    warned = capfd.readouterr().out
    assert (
        "seeds/label_overrides.csv is over 1 MiB: dbt keeps no checksum of a seed that big (only its path), so "
        "this run cannot tell whether the file changed since the last `dbt seed` ("
    ) in warned
    assert "9003 rows loaded into" in warned
    assert "it applies the list loaded then. If you edited the file since, run `dbt seed` first" in warned
    assert table_rows(conn, "user_1", LABELS)[3:] == applied
    diff = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    assert diff.exit_code == 1, diff.output
    # seeded, the next run applies the new decision
    assert dbt("seed").success
    assert dbt(*RUN).success
    assert table_rows(conn, "user_1", LABELS)[3:] == [
        (2, 0, False, "override"),
        (2, 1, False, "override"),
        (2, 2, True, "override"),
    ]


def test_overrides_diff_names_the_rows_that_match_no_image(review_list, dbt, project_dir):
    rows = [
        ("user_1", 1, U1 + "1/0.JPG", True, "another case"),
        ("user_1", 2, U1 + "2/2.jpg", True, "right"),
        ("user_1", 99, U1 + "99/0.jpg", True, "no such product"),
        ("user_7", 1, "https://images.example.com/user_7/1/0.jpg", True, "a tenant gone"),
    ]
    write_overrides(project_dir, rows)
    assert dbt("seed").success
    assert dbt(*RUN).success  # the run ignores the rows it cannot match, without a word
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [
        f"matches no image: user_1 product 1 {U1}1/0.JPG is_label=true (no photo of the product has this URL)",
        f"matches no image: user_1 product 99 {U1}99/0.jpg is_label=true (no photo of the product)",
        "matches no image: user_7 product 1 https://images.example.com/user_7/1/0.jpg is_label=true "
        "(no table user_7.product_images: no such tenant)",
    ]
    assert result.stderr == (
        f"3 row(s) of {review_list} match no image: dbt run ignores them; correct the tenant, product id or URL "
        "(exactly as in the JSONB), or delete the row\n"
    )
    # rows that differ from the loaded seed still come first, and exit 1
    write_overrides(project_dir, rows[1:])
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"removed: user_1 product 1 {U1}1/0.JPG is_label=true"
    assert len(result.stdout.splitlines()) == 3
    # every row matching an image: exit 0
    write_overrides(project_dir, rows[1:2])
    assert dbt("seed").success
    result = CliRunner().invoke(main, ["overrides", "diff", "--file", str(review_list)])
    assert (result.exit_code, result.stdout) == (0, f"{review_list}: 1 row(s), the same as loaded\n")
