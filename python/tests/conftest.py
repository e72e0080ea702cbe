"""Fixtures: a real PostgreSQL (embedded unless PGHOST is set), one fresh database
per test module, and a private copy of the dbt project per module for dbt runs."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from helpers.dbt import dbt_invoker, fresh_database, reset_project
from product_images.connection import connect
from product_images.embedded import start_embedded_postgres
from product_images.migration.dbt_runner import DbtResult


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests",
        action="store_true",
        help="run only the tests that use the PostgreSQL server (the postgres_env fixture): what .ci/run runs again "
        "on each other server version; a test that never connects would only repeat its first run",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--database-tests``, the tests that use no database are deselected (and counted as such)."""
    if not config.getoption("--database-tests"):
        return
    uses_database = ["postgres_env" in getattr(item, "fixturenames", ()) for item in items]
    dropped = [item for item, used in zip(items, uses_database, strict=True) if not used]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item, used in zip(items, uses_database, strict=True) if used]


@pytest.fixture(scope="session")
def postgres_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """libpq variables of the server the tests use: $PGHOST's, or a fresh embedded one."""
    if os.environ.get("PGHOST"):
        return {name: os.environ[name] for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD") if name in os.environ}
    # Not under pytest's basetemp: that folder is closed to the server's own user.
    env = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="product-images-test-pg-")), delete_at_exit=True)
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def module_database_name() -> str:
    """The name every module's fresh database has in turn: dbt keeps its saved parse only while the
    profile, the database's name included, stays the same."""
    return f"test_module_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def database(postgres_env: dict[str, str], module_database_name: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test module (dropped after it); PGDATABASE points at it."""
    with fresh_database(request.module.__name__.rsplit(".", 1)[-1], name=module_database_name) as name:
        yield name


@pytest.fixture(scope="module")
def conn(database: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the module's database."""
    with connect(autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def project_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder that holds each module's copy of the dbt project in turn."""
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="module")
def project_dir(project_home: Path) -> Path:
    """A private copy of the dbt project for this module (its own seeds, target/ and logs/), fresh from the
    checkout, in the same folder for every module: dbt's saved parses carry over (partial parsing), so a
    module's first dbt command re-parses only what differs instead of the whole project (about 2.5 s)."""
    return reset_project(project_home)


@pytest.fixture(scope="module")
def dbt(project_dir: Path, database: str) -> Callable[..., DbtResult]:
    """``dbt("run", "--select", "product_images")`` runs real dbt on the module's database."""
    return dbt_invoker(project_dir)


@pytest.fixture
def rebuild_user_1(conn: psycopg.Connection, dbt: Callable[..., DbtResult]) -> Iterator[None]:
    """Undo a test's tampering with user_1: its JSONB back as it was, every table rebuilt from it."""
    products = conn.execute("select id, images from user_1.products order by id").fetchall()
    yield
    with conn.cursor() as cur:
        cur.executemany(
            "update user_1.products set images = %s where id = %s",
            [(Jsonb(images) if images is not None else None, product_id) for product_id, images in products],
        )
    assert dbt("run", "--select", "product_images", "--full-refresh", "--vars", "{allow_full_refresh: true}").success
