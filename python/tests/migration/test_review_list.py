"""The review list, seeds/label_overrides.csv: an empty one needs no `dbt seed`, a stale one is never applied.

Each test starts from a database and a project copy of its own (a list never seeded, a
first run not made yet): they run in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from helpers.dbt import copy_project, dbt_invoker, fresh_database, table_rows, write_overrides
from helpers.legacy_data import make_tenant, photos
from product_images.cli import main
from product_images.connection import connect
from product_images.migration.dbt_runner import DbtResult

U = "https://images.example.com/user_1/"
RUN = ("run", "--select", "product_images")
LABELS = "product_id, position, is_label, label_source"


@pytest.fixture
def database(postgres_env: dict[str, str], request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for each test (the module-wide one of conftest would carry one test's seed into the next)."""
    with fresh_database(request.node.name[:30]) as name:
        yield name


@pytest.fixture
def conn(database: str) -> Iterator[psycopg.Connection]:
    with connect(autocommit=True) as connection:
        yield connection


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return copy_project(tmp_path / "project")


@pytest.fixture
def dbt(project_dir: Path, database: str) -> Callable[..., DbtResult]:
    return dbt_invoker(project_dir)


@pytest.fixture
def tenants(conn):
    make_tenant(conn, "user_1", {1: photos(1, 3, "user_1"), 2: photos(2, 2, "user_1")})
    make_tenant(conn, "template_tenant", {})


def runs_logged(conn) -> int:
    return conn.execute("select count(*) from product_images.product_images_runs").fetchone()[0]


def diff(project_dir):
    return CliRunner().invoke(main, ["overrides", "diff", "--file", str(project_dir / "seeds" / "label_overrides.csv")])


def message(result) -> str:
    return result.node_results()[0].message if result.node_results() else str(result.exception)


def test_a_first_run_without_dbt_seed_works_when_the_list_is_empty(conn, dbt, project_dir, tenants, capfd):
    assert dbt(*RUN).success
    assert (
        "no label overrides (seeds/label_overrides.csv has no rows and the seed was never loaded)"
        in capfd.readouterr().out
    )
    assert conn.execute("select to_regclass('product_images.label_overrides')").fetchone()[0] is None
    assert table_rows(conn, "user_1", LABELS) == [
        (1, 0, False, "rule"),
        (1, 1, False, "rule"),
        (1, 2, True, "rule"),
        (2, 0, False, "rule"),
        (2, 1, True, "rule"),
    ]
    assert dbt("test", "--exclude", "label_overrides").success  # the model's tests read no overrides either
    result = diff(project_dir)
    assert result.exit_code == 0, result.output
    assert "0 row(s), the same as loaded (never seeded)" in result.output


def test_rows_in_a_list_that_was_never_seeded_are_refused(conn, dbt, project_dir, tenants):
    assert dbt(*RUN).success  # a first run with the list empty
    write_overrides(project_dir, [("user_1", 1, U + "1/2.jpg", False, "a product photo")])
    before, runs = table_rows(conn, "user_1"), runs_logged(conn)
    result = dbt(*RUN)
    assert not result.success
    assert "seeds/label_overrides.csv has rows, but the seed was never loaded" in message(result)
    assert "Nothing was changed" in message(result)
    assert (table_rows(conn, "user_1"), runs_logged(conn)) == (before, runs)
    listed = diff(project_dir)
    assert listed.exit_code == 1
    assert f"added: user_1 product 1 {U}1/2.jpg is_label=false" in listed.output


def test_a_list_edited_after_dbt_seed_is_refused_until_seeded_again(conn, dbt, project_dir, tenants):
    write_overrides(project_dir, [("user_1", 1, U + "1/2.jpg", False, "a product photo")])
    assert dbt("seed").success
    assert dbt(*RUN).success
    assert table_rows(conn, "user_1", LABELS)[:3] == [
        (1, 0, False, "rule"),
        (1, 1, False, "rule"),
        (1, 2, False, "override"),
    ]

    write_overrides(
        project_dir,
        [
            ("user_1", 1, U + "1/2.jpg", True, "a tag after all"),  # changed
            ("user_1", 2, U + "2/0.jpg", True, "the tag"),  # added
        ],
    )
    before, runs = table_rows(conn, "user_1"), runs_logged(conn)
    result = dbt(*RUN)
    assert not result.success
    assert "seeds/label_overrides.csv changed since the last `dbt seed`" in message(result)
    assert "1 rows loaded into" in message(result)
    assert (table_rows(conn, "user_1"), runs_logged(conn)) == (before, runs)
    listed = diff(project_dir)
    assert listed.exit_code == 1
    assert listed.output.splitlines()[:2] == [
        f"added: user_1 product 2 {U}2/0.jpg is_label=true",
        f"changed: user_1 product 1 {U}1/2.jpg is_label false -> true, note 'a product photo' -> 'a tag after all'",
    ]

    write_overrides(project_dir, [("user_1", 2, U + "2/0.jpg", True, "the tag")])  # and one removed
    assert "removed: user_1 product 1" in diff(project_dir).output
    assert not dbt(*RUN).success

    assert dbt("seed").success
    assert diff(project_dir).exit_code == 0
    assert dbt(*RUN).success
    assert table_rows(conn, "user_1", LABELS) == [
        (1, 0, False, "rule"),
        (1, 1, False, "rule"),
        (1, 2, True, "rule"),
        (2, 0, True, "override"),
        (2, 1, False, "rule"),
    ]


def test_dbt_build_seeds_runs_and_tests_in_order(conn, dbt, project_dir, tenants):
    assert dbt(*RUN).success  # a first run, before anyone reviewed
    write_overrides(project_dir, [("user_1", 2, U + "2/1.jpg", True, "the tag")])
    result = dbt("build", "--select", "+product_images")
    assert result.success, message(result)
    kinds = [str(r.node.resource_type) for r in result.node_results()]
    assert kinds[0] == "seed" and "model" in kinds and kinds.count("test") >= 10, kinds
    assert table_rows(conn, "user_1", LABELS)[3:] == [(2, 0, False, "rule"), (2, 1, True, "override")]


def test_a_malformed_list_is_named_by_line(project_dir, tenants):
    (project_dir / "seeds" / "label_overrides.csv").write_text(
        "tenant_schema,product_id,url,is_label,note\nuser_1,one,https://x/1.jpg,true,\n", encoding="utf-8"
    )
    result = diff(project_dir)
    assert result.exit_code == 2
    assert "line 2: product_id must be an integer, got 'one'" in result.output
