"""Checking that two migrations produced the same ``product_images`` rows.

The fingerprint of a tenant's table covers every column the migration writes
from the JSONB (``product_id``, ``source_index``, ``url``, ``position``,
``is_label``, ``label_source``, ``created_at``, ``legacy_element``), rows in
(``product_id``, ``source_index``) order. ``created_at`` falls back to the run's
start time for elements without a valid one, which differs between two runs:
such values (within the last day; the generated data is older) count as
``fallback``. ``id`` and ``updated_at`` are left out (identity and ``now()``).
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

_FINGERPRINT = """
select count(*), coalesce(md5(string_agg(
    concat_ws('|', product_id, source_index, url, position, is_label, label_source,
        case when created_at > now() - interval '1 day' then 'fallback' else created_at::text end,
        legacy_element::text),
    E'\\n' order by product_id, source_index)), '')
from {images}
"""


def fingerprint(conn: psycopg.Connection, tenant: str) -> tuple[int, str]:
    """``(rows, md5)`` of ``<tenant>.product_images`` (see the module docstring)."""
    row = conn.execute(sql.SQL(_FINGERPRINT).format(images=sql.Identifier(tenant, "product_images"))).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def fingerprints(conn: psycopg.Connection, tenants: Iterable[str]) -> dict[str, tuple[int, str]]:
    """:func:`fingerprint` of each tenant, by tenant."""
    return {tenant: fingerprint(conn, tenant) for tenant in tenants}


def mismatches(expected: dict[str, tuple[int, str]], actual: dict[str, tuple[int, str]]) -> list[str]:
    """The tenants of ``actual`` whose fingerprint differs from ``expected``'s (or is missing there)."""
    return sorted(tenant for tenant, value in actual.items() if expected.get(tenant) != value)
