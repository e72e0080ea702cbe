"""Fixtures of the review page's HTTP tests: the review list kept as it was, and review apps
of their own on one list. A module using them defines ``data`` (its tenants, migrated)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from helpers.review import TOKEN
from product_images.connection import connect
from product_images.labels.review.app import ReviewSettings, create_app
from product_images.labels.review.queue import ReviewDatabase
from product_images.labels.review.session import ReviewSession
from product_images.labels.review.thumbnails import ThumbnailStore


@pytest.fixture
def review_list(data: None, project_dir: Path) -> Iterator[Path]:
    """The review list's path; put back as it was when the test ends."""
    path = project_dir / "seeds" / "label_overrides.csv"
    before = path.read_bytes()
    yield path
    path.write_bytes(before)


REVIEW_STATE = {
    "product_images.label_overrides": "select * from product_images.label_overrides order by 1, 2, 3",
    "product_images.product_images_seed_loads": "select distinct on (seed_name) seed_name, file_checksum, row_count "
    "from product_images.product_images_seed_loads order by seed_name, loaded_at desc",
    "product_images.product_images": "select * from product_images.product_images order by tenant_schema, id",
}
"""What a test of the review list may leave changed (relation: query): the seeded rows, the checksum dbt seed
recorded, every photo."""


def review_state(conn: psycopg.Connection) -> list[list[tuple[Any, ...]] | None]:
    """The rows of :data:`REVIEW_STATE`'s queries, in order; None for a relation not there."""
    return [
        conn.execute(query).fetchall() if conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] else None
        for relation, query in REVIEW_STATE.items()
    ]


@pytest.fixture
def seeded_review_list(
    data: None, project_dir: Path, dbt: Callable[..., Any], conn: psycopg.Connection
) -> Iterator[Path]:
    """The review list's path; put back as it was when the test ends, then seeded and applied
    (``dbt seed``, ``dbt run --select product_images``), so the next test starts from tables that
    hold what the list holds. A test that left the list's bytes, the seeded rows, their checksum and
    every photo as they were is not seeded again."""
    path = project_dir / "seeds" / "label_overrides.csv"
    before, state = path.read_bytes(), review_state(conn)
    yield path
    if path.read_bytes() == before and review_state(conn) == state:
        return
    path.write_bytes(before)
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success


@pytest.fixture
def open_session(review_list: Path, tmp_path: Path) -> Iterator[Callable[[str], TestClient]]:
    """``open_session(user)``: a client of a review app of its own (the "all" queue) on the one
    review list, with the token :data:`TOKEN`."""
    databases: list[ReviewDatabase] = []
    clients: list[TestClient] = []

    def open_one(user: str) -> TestClient:
        database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
        databases.append(database)
        session = ReviewSession(database, database.load_queue("all"), review_list, user=user)
        settings = ReviewSettings(token=TOKEN, allowed_hosts=["testserver"])
        client = TestClient(create_app(session, ThumbnailStore(tmp_path / user, None, None), settings))
        clients.append(client.__enter__())
        return client

    yield open_one
    for client in clients:
        client.__exit__(None, None, None)
    for database in databases:
        database.close()
