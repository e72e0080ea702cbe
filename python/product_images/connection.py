"""Connection settings: the standard libpq variables, everywhere.

``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE`` (and any other
``PG*`` variable libpq knows, such as ``PGSSLMODE``) configure psql, this package,
the dbt profile (``profiles.example.yml``) and the Great Expectations datasource
alike, so one ``export`` points all of them at the same database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import psycopg
import psycopg.sql

LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


def dbt_schema() -> str:
    """The dbt target schema (run log, union views, GX functions): ``PRODUCT_IMAGES_SCHEMA``,
    else ``product_images``, as ``profiles.example.yml`` says."""
    return os.environ.get("PRODUCT_IMAGES_SCHEMA", "product_images")


def create_schema_if_missing(conn: psycopg.Connection, schema: str) -> bool:
    """Create ``schema`` unless the catalog has one of that name; True when it was created.

    Not ``CREATE SCHEMA IF NOT EXISTS``: PostgreSQL checks ``CREATE`` on the database before it
    looks for the schema, so a role with ``USAGE`` and ``CREATE`` on an existing schema only
    (the README's migration role) would be refused when there is nothing to create.

    Args:
        conn: an open connection (the statement runs in its current transaction).
        schema: the schema name, unquoted.

    Raises:
        psycopg.errors.InsufficientPrivilege: the schema is missing and the role may not create it.
    """
    exists = conn.execute(
        "select pg_catalog.to_regnamespace(%s) is not null", (psycopg.sql.Identifier(schema).as_string(conn),)
    ).fetchone()
    if exists and exists[0]:
        return False
    conn.execute(psycopg.sql.SQL("create schema if not exists {}").format(psycopg.sql.Identifier(schema)))
    return True


def connect(*, autocommit: bool = False, env: Mapping[str, str] | None = None, **kwargs: object) -> psycopg.Connection:
    """Open a psycopg 3 connection from the libpq variables.

    Args:
        autocommit: psycopg's autocommit flag (default off: the caller commits).
        env: the variables to use instead of ``os.environ`` (only ``PG*`` keys are read).
        **kwargs: extra connection parameters passed to ``psycopg.connect``
            (they win over the variables).

    Returns:
        An open ``psycopg.Connection``.

    Raises:
        psycopg.OperationalError: the server cannot be reached or refuses the login.
    """
    params: dict[str, object] = {}
    if env is not None:
        for name, key in (
            ("PGHOST", "host"),
            ("PGPORT", "port"),
            ("PGUSER", "user"),
            ("PGPASSWORD", "password"),
            ("PGDATABASE", "dbname"),
        ):
            if env.get(name):
                params[key] = env[name]
    params.update(kwargs)
    return psycopg.connect(autocommit=autocommit, **params)  # type: ignore[arg-type]


def describe_target(env: Mapping[str, str] | None = None) -> str:
    """A one-line, password-free description of where the libpq variables point.

    Args:
        env: the variables (default ``os.environ``).

    Returns:
        e.g. ``"postgres@/work/main/.pgdata:5432/postgres"``.
    """
    env = os.environ if env is None else env
    return "{user}@{host}:{port}/{db}".format(
        user=env.get("PGUSER", os.environ.get("USER", "")),
        host=env.get("PGHOST", "localhost"),
        port=env.get("PGPORT", "5432"),
        db=env.get("PGDATABASE", env.get("PGUSER", "")),
    )
