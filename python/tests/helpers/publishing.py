"""Shared set-up of the publishing tests: crafted tenants migrated by real dbt, marketplace_tasks in the
back end's shape, the two run-operations, and helpers."""

from __future__ import annotations

from typing import Any

from helpers.legacy_data import make_tenant, photo, photos, set_images
from product_images.app.service import ProductImageService
from product_images.publish.backend import create_marketplace_tasks_table
from product_images.publish.client import HttpMarketplaceClient

U = "https://images.example.com/"


def label(tenant: str, product_id: int, order: int) -> dict[str, Any]:
    """A price-tag photo, last: the label rule flags it."""
    return photo(f"{U}{tenant}/{product_id}/label.jpg", order)


def prepare(conn, dbt, tenant: str = "user_1") -> None:
    """Tenant ``tenant`` (products 1-12), migrated; marketplace_tasks in public and the tenant, run-operations done;
    ``user_3``: a tenant whose marketplace_tasks was made after them (not migrated)."""
    make_tenant(
        conn,
        tenant,
        {
            1: [*photos(1, 3, tenant), label(tenant, 1, 3)],  # 3 photos and a label
            2: [*photos(2, 25, tenant), label(tenant, 2, 25)],  # more than either marketplace takes
            3: [photo(f"http://images.example.com/{tenant}/3/0.jpg", 0)],  # one plain-http photo
            4: None,  # no photo at all
            **{
                product_id: [*photos(product_id, 4, tenant), label(tenant, product_id, 4)]
                for product_id in range(5, 13)
            },
        },
    )
    result = dbt("run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()]
    for schema in ("public", tenant):
        create_marketplace_tasks_table(conn, schema)
    for operation in ("marketplace_tasks_position", "marketplace_tasks_orchestration"):
        assert dbt("run-operation", operation).success
    make_tenant(conn, "user_3", {1: photos(1, 2, "user_3")})
    assert dbt("run", "--select", "product_images").success
    create_marketplace_tasks_table(conn, "user_3")


def product_photo_urls(tenant: str, product_id: int, count: int) -> list[str]:
    """The URLs ``photos()`` gives a product, in order."""
    return [f"{U}{tenant}/{product_id}/{i}.jpg" for i in range(count)]


def client_for(market: Any, marketplace: str = "vinted", **options: Any) -> HttpMarketplaceClient:
    """An HTTP client of ``marketplace`` on the stand-in ``market``: quick backoff (0.05 s), 5 s timeout, unless
    ``options`` say otherwise."""
    return HttpMarketplaceClient(market.url, marketplace, **{"backoff": 0.05, "timeout": 5.0, **options})


def statuses(tasks) -> list[tuple[int, str]]:
    """(position, status) of each task, in the order given."""
    return [(t.position, t.status) for t in tasks]


def new_product(conn, product_id: int, count: int = 4, *, label: bool = True, tenant: str = "user_1") -> list[str]:
    """Product ``product_id`` of ``tenant`` with ``count`` photos (and a price-tag label last), made through the
    app's service; returns the photo URLs in order."""
    set_images(conn, tenant, product_id, None, insert=True)
    service = ProductImageService(conn, tenant)
    urls = [f"{U}{tenant}/{product_id}/{i}.jpg" for i in range(count)]
    for url in urls:
        service.add_image(product_id, url)
    if label:
        service.add_image(product_id, f"{U}{tenant}/{product_id}/label.jpg", is_label=True)
    return urls


def failed_task(outcome: Any) -> Any:
    """The task that stopped a job (a JobOutcome's ``failed_task``; the job must have stopped)."""
    assert outcome.failed_task is not None, outcome.summary()
    return outcome.failed_task
