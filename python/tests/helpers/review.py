"""What the review page's HTTP tests share: the session token of their review apps, and the
image ids a product has in the database."""

from __future__ import annotations

import psycopg

TOKEN = "session-token-for-the-tests"


def image_ids(conn: psycopg.Connection, tenant: str, product_id: int) -> list[int]:
    """The ids of ``tenant``'s product's ``product_images`` rows, in position order."""
    query = f"select id from {tenant}.product_images where product_id = %s order by position"
    return [row[0] for row in conn.execute(query, (product_id,))]
