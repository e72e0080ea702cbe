"""What the app service's tests share: the tenant they write to, its URL prefix, and
image-less products to add photos to (ids from 1000 up; the JSONB-loaded ones are 1..20)."""

from __future__ import annotations

import itertools
from typing import Any

import psycopg

T = "user_1"
U = "https://images.example.com/"
RUN = ("run", "--select", "product_images")

_next_product = itertools.count(1000)


def new_product(conn: psycopg.Connection) -> int:
    """A new product of ``user_1`` with ``images`` NULL (dbt ignores it); returns its id."""
    product_id = next(_next_product)
    conn.execute("insert into user_1.products (id, title) values (%s, %s)", (product_id, f"product {product_id}"))
    return product_id


def state(
    conn: psycopg.Connection, product_id: int, columns: str = "url, position, is_label, label_source"
) -> list[tuple[Any, ...]]:
    """``columns`` of the product's ``user_1.product_images`` rows, in position (then id) order."""
    return conn.execute(
        f"select {columns} from user_1.product_images where product_id = %s order by position, id", (product_id,)
    ).fetchall()
