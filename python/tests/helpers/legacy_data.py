"""Building tenant schemas with chosen JSONB for the tests."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from product_images.demo.data import create_tenant_schema

JSON_NULL = object()
"""Stands for the JSONB value ``null`` (as opposed to SQL NULL, written None)."""


def photo(url: str, order: Any = None, created_at: Any = "2024-03-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    """A legacy JSONB element ``{"url", "order", "created_at"}`` (order omitted when None)."""
    element: dict[str, Any] = {"url": url}
    if order is not None:
        element["order"] = order
    if created_at is not None:
        element["created_at"] = created_at
    element.update(extra)
    return element


def photos(product_id: int, count: int, tenant: str = "t") -> list[dict[str, Any]]:
    """``count`` well-formed elements with orders 0..count-1 and URLs naming the product."""
    return [photo(f"https://images.example.com/{tenant}/{product_id}/{i}.jpg", i) for i in range(count)]


def make_tenant(conn: psycopg.Connection, tenant: str, products: dict[int, Any]) -> None:
    """Create <tenant>.products and insert products {id: images} (None = SQL NULL)."""
    create_tenant_schema(conn, tenant)
    for product_id, images in products.items():
        set_images(conn, tenant, product_id, images, insert=True)


def set_images(conn: psycopg.Connection, tenant: str, product_id: int, images: Any, *, insert: bool = False) -> None:
    """Insert a product or replace its images value."""
    value: Any = None if images is None else Jsonb(None if images is JSON_NULL else images)
    if insert:
        conn.execute(
            sql.SQL("insert into {} (id, title, images) values (%s, %s, %s)").format(
                sql.Identifier(tenant, "products")
            ),
            (product_id, f"product {product_id}", value),
        )
    else:
        conn.execute(
            sql.SQL("update {} set images = %s where id = %s").format(sql.Identifier(tenant, "products")),
            (value, product_id),
        )
