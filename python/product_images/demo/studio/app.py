"""Two versions of the studio app as plain SQL: the old one (names before ``studio_collections``) and the new one.

Each version is a dict of named statements; an app instance picks its schema
version by its ``search_path`` alone (:func:`search_path`), as pgroll's clients do:
the old version reads ``<schema>__before_studio_collections`` first (the views
with the old names that the change's start creates), then ``<schema>``; the new
version reads ``<schema>``. Before start the old version's first schema does not
exist, and PostgreSQL skips it, so the old app can be given this search_path
before the change starts.
"""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from psycopg import sql

Version = Literal["old", "new"]

CHANGE = "studio_collections"
"""The change whose two versions these are (``macros/schema_changes/studio_collections.sql``)."""

OPERATIONS: dict[str, dict[str, str]] = {
    "old": {
        "list_clients": "select id, name from client order by id limit 20",
        "list_products": "select id, name, sku from product where client_id = %(client_id)s order by id",
        "create_session": (
            "insert into studio_session (client_id, title) values (%(client_id)s, %(title)s) returning id"
        ),
        "view_session": (
            "select s.title, (select count(*) from message as m where m.session_id = s.id) "
            "from studio_session as s where s.id = %(session_id)s"
        ),
        "add_message": (
            "insert into message (session_id, role, body) values (%(session_id)s, 'user', %(body)s) returning id"
        ),
        "create_flow": (
            "insert into flow (session_id, product_id, prompt) "
            "values (%(session_id)s, %(product_id)s, %(prompt)s) returning id"
        ),
        "add_image": (
            "insert into generated_image (flow_id, r2_key, width, height) "
            "values (%(flow_id)s, %(url)s, 1024, 1024) returning id"
        ),
        "view_flow": (
            "select f.prompt, f.session_id, "
            "array(select i.r2_key from generated_image as i where i.flow_id = f.id order by i.id) "
            "from flow as f where f.id = %(flow_id)s"
        ),
    },
    "new": {
        "list_clients": "select id, name from client order by id limit 20",
        "list_products": (
            "select id, name, sku, is_favorite, source from product where client_id = %(client_id)s order by id"
        ),
        "create_session": (
            "insert into collection_session (client_id, title) values (%(client_id)s, %(title)s) returning id"
        ),
        "view_session": (
            "select s.title, (select count(*) from message as m where m.session_id = s.id) "
            "from collection_session as s where s.id = %(session_id)s"
        ),
        "add_message": (
            "insert into message (session_id, role, body) values (%(session_id)s, 'user', %(body)s) returning id"
        ),
        "create_flow": (
            "insert into generation_flow (collection_session_id, product_id, prompt, is_favorite) "
            "values (%(session_id)s, %(product_id)s, %(prompt)s, true) returning id"
        ),
        "add_image": (
            "insert into generated_asset (flow_id, asset_url, asset_type, approval_status) "
            "values (%(flow_id)s, %(url)s, 'image', 'approved') returning id"
        ),
        "view_flow": (
            "select f.prompt, f.collection_session_id, "
            "array(select a.asset_url from generated_asset as a where a.flow_id = f.id order by a.id) "
            "from generation_flow as f where f.id = %(flow_id)s"
        ),
    },
}
"""The smoke operations of each version: list clients and products, create and view a session, a flow and its images."""


def previous_version_schema(schema: str, change: str = CHANGE) -> str:
    """The schema of the previous version's views during ``change``: ``<schema>__before_<change>``."""
    return f"{schema}__before_{change}"


def search_path(schema: str, version: Version) -> sql.Composed:
    """The ``set search_path`` statement an app instance of ``version`` runs for ``schema``.

    Raises:
        ValueError: ``version`` is neither ``"old"`` nor ``"new"``.
    """
    if version == "old":
        return sql.SQL("set search_path to {}, {}").format(
            sql.Identifier(previous_version_schema(schema)), sql.Identifier(schema)
        )
    if version == "new":
        return sql.SQL("set search_path to {}").format(sql.Identifier(schema))
    raise ValueError(f"version must be one of old, new; got {version!r}")


def run_operation(
    conn: psycopg.Connection, schema: str, version: Version, name: str, **params: Any
) -> list[tuple[Any, ...]]:
    """Run one smoke operation of ``version`` on ``schema``, in its own transaction.

    Returns:
        The statement's rows (``[(id,)]`` for an insert ... returning id).

    Raises:
        KeyError: no operation ``name`` in that version.
        psycopg.Error: the database refused it (e.g. the old version after complete:
            ``relation "studio_session" does not exist``).
    """
    statement = OPERATIONS[version][name]
    with conn.transaction():
        conn.execute(search_path(schema, version))
        rows = conn.execute(statement, params).fetchall()
        conn.execute("reset search_path")
    return rows


def smoke(conn: psycopg.Connection, schema: str, version: Version, *, tag: str) -> dict[str, Any]:
    """Every smoke operation of ``version`` once: list clients and products, create and view a session,
    a message, a flow and an image.

    Args:
        conn: an open connection (autocommit; each operation is its own transaction).
        schema: ``public`` or a tenant schema.
        version: ``"old"`` or ``"new"``.
        tag: text put in the rows written, to find them again.

    Returns:
        ``{"clients": n, "products": n, "session_id": id, "flow_id": id, "image_id": id,
        "session": (title, messages), "flow": (prompt, session_id, [image urls])}``.

    Raises:
        psycopg.Error: an operation failed.
    """
    clients = run_operation(conn, schema, version, "list_clients")
    client_id = clients[0][0]
    products = run_operation(conn, schema, version, "list_products", client_id=client_id)
    session_id = run_operation(conn, schema, version, "create_session", client_id=client_id, title=f"session {tag}")[0][
        0
    ]
    run_operation(conn, schema, version, "add_message", session_id=session_id, body=f"message {tag}")
    flow_id = run_operation(
        conn, schema, version, "create_flow", session_id=session_id, product_id=products[0][0], prompt=f"prompt {tag}"
    )[0][0]
    image_id = run_operation(conn, schema, version, "add_image", flow_id=flow_id, url=f"generated/{tag}.png")[0][0]
    return {
        "clients": len(clients),
        "products": len(products),
        "session_id": session_id,
        "flow_id": flow_id,
        "image_id": image_id,
        "session": run_operation(conn, schema, version, "view_session", session_id=session_id)[0],
        "flow": run_operation(conn, schema, version, "view_flow", flow_id=flow_id)[0],
    }
