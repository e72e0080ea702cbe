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

LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


def dbt_schema() -> str:
    """The dbt target schema (run log, union views, GX functions): ``PRODUCT_IMAGES_SCHEMA``,
    else ``product_images``, as ``profiles.example.yml`` says."""
    return os.environ.get("PRODUCT_IMAGES_SCHEMA", "product_images")


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
