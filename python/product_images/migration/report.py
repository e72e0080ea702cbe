"""Per-tenant migration report: what the JSONB held and where every element went."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class TenantReport:
    """One tenant's figures after a run.

    Attributes:
        tenant_schema: the tenant's schema.
        products: rows in ``products``.
        jsonb_elements: elements of ``products.images`` (a non-array value counts as 1, NULL as 0).
        rows_loaded: rows in ``product_images``.
        rejects: rows in ``product_images_rejects``.
        labels: rows of ``product_images`` with ``is_label``.
        seconds: wall time of the tenant's step in the latest run (None if never run).
        status: ``success``, ``skipped`` or ``error`` in the latest run (None if never run).
    """

    tenant_schema: str
    products: int
    jsonb_elements: int
    rows_loaded: int
    rejects: int
    labels: int
    seconds: float | None
    status: str | None

    @property
    def accounted_for(self) -> bool:
        """True when rows loaded + rejects = JSONB elements (the zero-loss rule)."""
        return self.rows_loaded + self.rejects == self.jsonb_elements


_TENANT_COUNTS = """
select
    (select count(*) from {products}) as products,
    (select coalesce(sum(case
        when images is null then 0
        when jsonb_typeof(images) = 'array' then jsonb_array_length(images)
        when jsonb_typeof(images) = 'null' then 0
        else 1 end), 0) from {products}) as jsonb_elements,
    (select count(*) from {images}) as rows_loaded,
    (select count(*) from {rejects}) as rejects,
    (select count(*) from {images} where is_label) as labels
"""


def tenant_reports(conn: psycopg.Connection, dbt_schema: str) -> list[TenantReport]:
    """Count, for every tenant of the latest ``dbt run``, products, JSONB elements, rows, rejects and labels.

    Args:
        conn: an open connection.
        dbt_schema: the dbt target schema holding the run log ``product_images_runs``.

    Returns:
        One :class:`TenantReport` per tenant the latest run looked at, ordered by
        schema name; counts are 0 for a tenant whose tables do not exist (its first
        load failed) and ``jsonb_elements`` is 0 for a tenant without the legacy column.

    Raises:
        psycopg.errors.UndefinedTable: no run has happened yet (no run log).
    """
    runs = conn.execute(
        sql.SQL(
            """
            select tenant_schema, status, extract(epoch from finished_at - started_at)::float
            from {runs}
            where invocation_id = (select invocation_id from {runs} order by started_at desc limit 1)
            order by tenant_schema collate "C"
            """
        ).format(runs=sql.Identifier(dbt_schema, "product_images_runs"))
    ).fetchall()
    reports = []
    for tenant, status, seconds in runs:
        has_tables = conn.execute(
            "select to_regclass(%s) is not null and to_regclass(%s) is not null",
            (f'"{tenant}".product_images', f'"{tenant}".product_images_rejects'),
        ).fetchone()
        counts = (0, 0, 0, 0, 0)
        if has_tables and has_tables[0] and status != "skipped":
            row = conn.execute(
                sql.SQL(_TENANT_COUNTS).format(
                    products=sql.Identifier(tenant, "products"),
                    images=sql.Identifier(tenant, "product_images"),
                    rejects=sql.Identifier(tenant, "product_images_rejects"),
                )
            ).fetchone()
            assert row is not None
            products, elements, loaded, rejects, labels = (int(value) for value in row)
            counts = (products, elements, loaded, rejects, labels)
        reports.append(TenantReport(tenant, *counts, seconds=seconds, status=status))
    return reports
