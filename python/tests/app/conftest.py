"""Fixtures of the app service's tests: ``user_1`` (products 1..20, three photos each) and
``user_2`` (one product) migrated by a real ``dbt run``, and a service on ``user_1``."""

from __future__ import annotations

import pytest

from helpers.legacy_data import make_tenant, photos
from helpers.service import RUN, T
from product_images.app.service import ProductImageService


@pytest.fixture(scope="module")
def tenant(conn, dbt) -> str:
    make_tenant(conn, T, {pid: photos(pid, 3, T) for pid in range(1, 21)})
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2")})
    assert dbt("seed").success
    result = dbt(*RUN)
    assert result.success, [r.message for r in result.node_results()] or result.exception
    return T


@pytest.fixture
def svc(conn, tenant) -> ProductImageService:
    return ProductImageService(conn, T)
