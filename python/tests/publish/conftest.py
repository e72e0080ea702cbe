"""Fixtures of the publishing tests: each module's user_1 migrated and given marketplace_tasks, and a
stand-in marketplace on 127.0.0.1 for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.publishing import prepare
from product_images.publish.standin import StandInMarketplace


@pytest.fixture(scope="module")
def prepared(conn, dbt) -> None:
    """user_1 migrated by real dbt, with marketplace_tasks and its run-operations (once per module)."""
    prepare(conn, dbt, "user_1")


@pytest.fixture
def market() -> Iterator[StandInMarketplace]:
    """A fresh stand-in marketplace, stopped after the test."""
    with StandInMarketplace() as stand_in:
        yield stand_in
