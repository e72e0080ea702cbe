"""The naive migration many teams write: a Python loop, one ``INSERT`` per image.

Per tenant: the table is created first with all its constraints and indexes (as an
ORM migration would), then the products are read with their JSONB, the rules are
applied in Python (same reject rule, position rule, label rule and ``created_at``
parse as the model), and every image is inserted with its own
``cursor.execute("insert … values (…)")`` (psycopg 3: server-side parameters,
prepared after a few executions), autocommit off, one commit per tenant. The
result is the same rows as the dbt model's (checked by ``bench/verify.py``).
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from bench.baseline import ISO_8601, create_table_sql

_ISO_8601 = re.compile(ISO_8601)
_URL_EMPTY = re.compile(r"^\s*$")

_INSERT = (
    "insert into {} (product_id, url, position, is_label, label_source, created_at, updated_at, source_index, "
    "legacy_element)"
    " values (%s, %s, %s, %s, 'rule', %s::timestamptz, now(), %s, %s)"
)
_CONSTRAINTS = """
alter table {images}
    add primary key (id),
    add constraint product_images_product_id_fkey
        foreign key (product_id) references {products} (id) on delete cascade,
    add constraint product_images_product_id_position_key
        unique (product_id, position) deferrable initially deferred;
create index product_images_is_label_idx on {images} (product_id) where is_label;
"""


@dataclass(frozen=True)
class TenantLoad:
    """One tenant loaded by the naive loop: rows inserted and seconds (create → commit)."""

    tenant: str
    rows: int
    seconds: float


def valid_created_at(value: Any) -> str | None:
    """The element's ``created_at`` when it is a valid ISO 8601 string (the model's rule), else None."""
    if not isinstance(value, str) or not _ISO_8601.match(value):
        return None
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    if year < 1 or day > calendar.monthrange(year, month)[1]:
        return None
    return value


def _order_key(element: dict[str, Any]) -> float | None:
    order = element.get("order")
    if isinstance(order, bool) or not isinstance(order, (int, float)) or order != int(order):
        return None
    return order


def image_rows(product_id: int, images: Any, run_started_at: str, min_images: int = 2) -> list[tuple[Any, ...]]:
    """The rows of one product: ``(product_id, url, position, is_label, created_at, source_index, element)``."""
    if not isinstance(images, list):
        return []
    loaded = [
        (index, element)
        for index, element in enumerate(images)
        if isinstance(element, dict) and isinstance(element.get("url"), str) and not _URL_EMPTY.match(element["url"])
    ]
    loaded.sort(key=lambda item: (_order_key(item[1]) is None, _order_key(item[1]) or 0, item[0]))
    count = len(loaded)
    return [
        (
            product_id,
            element["url"],
            position,
            position == count - 1 and count >= min_images,
            valid_created_at(element.get("created_at")) or run_started_at,
            index,
            psycopg.types.json.Jsonb(element),
        )
        for position, (index, element) in enumerate(loaded)
    ]


def load_tenant(conn: psycopg.Connection, tenant: str, *, run_started_at: str) -> TenantLoad:
    """Create ``<tenant>.product_images`` with its constraints, then insert image by image; commit once."""
    images = sql.Identifier(tenant, "product_images")
    products = sql.Identifier(tenant, "products")
    started = time.perf_counter()
    rows = 0
    with conn.cursor() as cur:
        cur.execute(create_table_sql(images))
        cur.execute(sql.SQL(_CONSTRAINTS).format(images=images, products=products))
        insert = sql.SQL(_INSERT).format(images)
        for product_id, legacy_images in conn.execute(
            sql.SQL("select id, images from {} order by id").format(products)
        ).fetchall():
            for row in image_rows(product_id, legacy_images, run_started_at):
                cur.execute(insert, row)
                rows += 1
    conn.commit()
    return TenantLoad(tenant, rows, time.perf_counter() - started)


def load_tenants(conn: psycopg.Connection, tenants: Iterable[str], *, run_started_at: str) -> list[TenantLoad]:
    """:func:`load_tenant` for each tenant, one after the other."""
    return [load_tenant(conn, tenant, run_started_at=run_started_at) for tenant in tenants]
