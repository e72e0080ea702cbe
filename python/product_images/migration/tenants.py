"""Tenant discovery for the Python tools: the same rules as the dbt project.

A tenant is a schema whose name matches a POSIX regular expression (default
``^user_[0-9]+$``) or is one of a few extra schemas (default ``template_tenant``).
This mirrors ``macros/tenants/discover_tenants.sql`` and its dbt vars
``tenant_schema_regex`` and ``extra_tenant_schemas`` (``dbt_project.yml``); when
you override those vars for dbt (``--vars``), give the same values here, through
the arguments or the environment:

* ``PRODUCT_IMAGES_TENANT_REGEX``: the regex (PostgreSQL ``~`` syntax);
* ``PRODUCT_IMAGES_EXTRA_TENANTS``: comma-separated schema names (empty = none).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import psycopg

__all__ = ["DEFAULT_EXTRA_TENANTS", "DEFAULT_TENANT_REGEX", "discover_tenants", "select_tenants"]

#: dbt var ``tenant_schema_regex``'s default (dbt_project.yml).
DEFAULT_TENANT_REGEX = "^user_[0-9]+$"
#: dbt var ``extra_tenant_schemas``'s default (dbt_project.yml).
DEFAULT_EXTRA_TENANTS: tuple[str, ...] = ("template_tenant",)

_REGEX_VARIABLE = "PRODUCT_IMAGES_TENANT_REGEX"
_EXTRA_VARIABLE = "PRODUCT_IMAGES_EXTRA_TENANTS"


def discover_tenants(
    conn: psycopg.Connection,
    *,
    regex: str | None = None,
    extra: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    require_table: str = "product_images",
) -> list[str]:
    """The tenant schemas that have a ``require_table`` table, ordered by name (``collate "C"``).

    Args:
        conn: an open connection (any transaction state; only catalog reads are made).
        regex: POSIX regex a tenant schema name matches (PostgreSQL ``~``). None: the
            ``PRODUCT_IMAGES_TENANT_REGEX`` variable, else :data:`DEFAULT_TENANT_REGEX`.
        extra: schema names that are tenants whatever their name. None: the
            comma-separated ``PRODUCT_IMAGES_EXTRA_TENANTS`` variable when set (an empty
            value means none), else :data:`DEFAULT_EXTRA_TENANTS`.
        environ: the variables to read instead of ``os.environ``.
        require_table: only schemas holding a table of this name count (default
            ``product_images``: the tenants the migration has reached; ``products``:
            every tenant, migrated or not).

    Returns:
        Schema names (``str``), e.g. ``["template_tenant", "user_1", "user_2"]``: the
        schemas matching ``regex`` or listed in ``extra`` that hold a table (ordinary or
        partitioned) named ``require_table``.
        Extra schemas that do not exist are silently absent.

    Raises:
        psycopg.errors.InvalidRegularExpression: ``regex`` is not a valid PostgreSQL regex.
        psycopg.Error: other database errors.
    """
    env = os.environ if environ is None else environ
    if regex is None:
        regex = env.get(_REGEX_VARIABLE, "").strip() or DEFAULT_TENANT_REGEX
    if extra is None:
        if _EXTRA_VARIABLE in env:
            extra = [name.strip() for name in env[_EXTRA_VARIABLE].split(",") if name.strip()]
        else:
            extra = DEFAULT_EXTRA_TENANTS
    rows = conn.execute(
        """
        select namespaces.nspname
        from pg_catalog.pg_namespace as namespaces
        where
            (namespaces.nspname ~ %(regex)s or namespaces.nspname = any(%(extra)s::text[]))
            and exists (
                select 1
                from pg_catalog.pg_class as classes
                where
                    classes.relnamespace = namespaces.oid
                    and classes.relname = %(table)s
                    and classes.relkind in ('r', 'p')
            )
        order by namespaces.nspname collate "C"
        """,
        {"regex": regex, "extra": list(extra), "table": require_table},
    ).fetchall()
    return [row[0] for row in rows]


def select_tenants(
    conn: psycopg.Connection,
    tenants: Sequence[str] | None = None,
    require_table: str = "product_images",
    *,
    regex: str | None = None,
    extra: Sequence[str] | None = None,
) -> list[str]:
    """The tenants a command works on: every tenant with a ``require_table`` table, or the ones asked for.

    Args:
        conn: an open connection.
        tenants: tenant schemas asked for (``--tenant``, duplicates allowed), or None for every one
            :func:`discover_tenants` finds.
        require_table: as for :func:`discover_tenants` (``products`` for the checkpoint, which
            also validates tenants the migration has not reached).
        regex, extra: as for :func:`discover_tenants` (None: the variables, else the defaults).

    Returns:
        Schema names: :func:`discover_tenants`'s list when ``tenants`` is None, else ``tenants`` in the
        order given, each once.

    Raises:
        ValueError: a schema asked for is not a tenant with a ``require_table`` table; the message
            names it and lists the tenants, e.g. ``not a tenant with a product_images table: user_9
            (tenants: template_tenant, user_1)``.
        psycopg.Error: database errors.
    """
    known = discover_tenants(conn, regex=regex, extra=extra, require_table=require_table)
    if tenants is None:
        return known
    selected = list(dict.fromkeys(tenants))
    unknown = [name for name in selected if name not in known]
    if unknown:
        raise ValueError(
            f"not a tenant with a {require_table} table: {', '.join(unknown)} (tenants: {', '.join(known) or 'none'})"
        )
    return selected
