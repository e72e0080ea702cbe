"""Fixtures of the review page's HTTP tests: the review list kept as it was, and review apps
of their own on one list. A module using them defines ``data`` (its tenants, migrated)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
def seeded_review_list(data: None, project_dir: Path, dbt: Callable[..., Any]) -> Iterator[Path]:
    """The review list's path; put back as it was when the test ends, then seeded and applied
    (``dbt seed``, ``dbt run --select product_images``), so the next test starts from tables that
    hold what the list holds."""
    path = project_dir / "seeds" / "label_overrides.csv"
    before = path.read_bytes()
    yield path
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
