"""``product-images-demo run --app studio``: the expand/contract worked example, end to end."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from product_images.connection import connect, describe_target
from product_images.demo.studio import app
from product_images.demo.studio.schema import create_studio_schema
from product_images.embedded import use_embedded_postgres_unless_configured
from product_images.migration.dbt_runner import run_dbt
from product_images.project import project_dir

DATABASE = "studio_demo"
"""The database the studio demo (re)creates on the server, beside the main demo's."""

SCHEMAS = ("public", "user_1", "user_2", "user_3")
"""The studio app's schemas: public and three tenants."""


def run_studio_demo(console: Console, data_dir: Path | None = None, *, clients: int = 50) -> int:
    """Build the studio app's database, start ``studio_collections``, run both app versions, complete.

    Steps: (re)create the database ``studio_demo`` with the app's current tables in
    ``public`` and ``user_1``..``user_3`` (per schema ``clients`` clients, 20 products,
    10 sessions, 20 flows and 60 images each); ``dbt run-operation studio_collections``
    with ``action: start``; the old and the new app version's smoke operations side by
    side in every schema, each reading what the other wrote; ``status``; ``complete``;
    then the new version again, and the old one refused.

    Args:
        console: where to print.
        data_dir: the embedded PostgreSQL's data directory (default ``.pgdata/``), unless ``PGHOST`` is set.
        clients: clients per schema.

    Returns:
        0 when every step passed, else 1 (the failing step is printed).
    """
    mode = use_embedded_postgres_unless_configured(data_dir or project_dir() / ".pgdata")
    console.print(f"[bold]PostgreSQL[/bold]: {mode} ({describe_target()}), database {DATABASE} (made again)")
    with connect(autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    previous = os.environ.get("PGDATABASE")
    os.environ["PGDATABASE"] = DATABASE
    try:
        return _run(console, clients)
    finally:
        if previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = previous


def _run(console: Console, clients: int) -> int:
    with connect(autocommit=True) as conn:
        for schema in SCHEMAS:
            counts = create_studio_schema(conn, schema, clients=clients)
        console.print("the studio app's tables, per schema: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        if not _change(console, "start"):
            return 1
        table = Table(title="both app versions during the transition")
        for column in ("schema", "version", "search_path", "wrote flow", "reads the other's flow"):
            table.add_column(column)
        for schema in SCHEMAS:
            versions: tuple[app.Version, app.Version] = ("old", "new")
            runs = {version: app.smoke(conn, schema, version, tag=f"{version}-{schema}") for version in versions}
            for version, other in (versions, versions[::-1]):
                seen = app.run_operation(conn, schema, version, "view_flow", flow_id=runs[other]["flow_id"])
                path = app.search_path(schema, version).as_string(conn).removeprefix("set search_path to ")
                table.add_row(schema, version, path, str(runs[version]["flow_id"]), "yes" if seen else "NO")
        console.print(table)
        if not (_change(console, "status") and _change(console, "complete")):
            return 1
        after = app.smoke(conn, "user_1", "new", tag="after-complete")
        console.print(f"after complete, the new version: flow {after['flow_id']} with {after['flow'][2]}")
        try:
            app.run_operation(conn, "user_1", "old", "create_session", client_id=1, title="too late")
        except psycopg.errors.UndefinedTable as error:
            console.print(f"after complete, the old version: {str(error).splitlines()[0]} (it is no longer deployed)")
    return 0


def _change(console: Console, action: str) -> bool:
    args = ["run-operation", "studio_collections", "--args", "{action: " + action + "}"]
    console.print(f"[bold]$ dbt {' '.join(args)}[/bold]")
    result = run_dbt(args)
    if not result.success:
        console.print(f"[red]dbt {' '.join(args)} failed[/red] (exit {result.exit_code})")
    return result.success
