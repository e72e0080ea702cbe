"""Scaled, deterministic data sets for the benchmarks: N tenant schemas × M products × K images.

Every tenant ``user_<n>`` gets a ``products`` table shaped like the reseller app's
(``product_images.demo.data.create_tenant_schema``) whose ``images`` column holds the
legacy JSONB ``[{"url", "order", "created_at"}, ...]``, exactly K elements per
product, so a data set has exactly N × M × K JSONB elements. Like the real data,
a few arrays are stored out of order (``order`` says the truth), a few elements
have no integer ``order`` or an unparsable ``created_at``, and a few have no
``url`` (they become rejects, not images). The same arguments always give the
same bytes. Loaded with COPY (text format), one transaction per tenant, then
``VACUUM (ANALYZE)`` as a production table would have been.

Usage::

    python bench/generate.py                                  # 200 × 1,000 × 5 = 1M images
    python bench/generate.py --tenants 2000 --products 100 --images 5
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import io
import json
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from product_images.connection import connect
from product_images.demo.data import APP_ROLE, DEMO_URL_PREFIX, create_tenant_schema

DEFAULT_SEED = 20261122
_BASE_TIME = datetime(2023, 1, 1, tzinfo=UTC)
_TITLES = ("Vintage jacket", "Wool coat", "Denim skirt", "Silk dress", "Leather boots", "Linen shirt")


@dataclass(frozen=True)
class DatasetSpec:
    """The shape of a generated data set.

    Attributes:
        tenants: tenant schemas ``user_1`` .. ``user_<tenants>``.
        products: products per tenant.
        images: JSONB elements per product (every product has exactly this many).
        seed: the random seed (same spec → same data).
        shuffled_fraction: share of products whose array is stored out of ``order`` (0..1).
        no_order_fraction: share of elements without an ``order`` key (sorted last).
        bad_created_at_fraction: share of elements whose ``created_at`` is not ISO 8601.
        reject_fraction: share of elements without a ``url`` (rejected, not loaded).
    """

    tenants: int = 200
    products: int = 1_000
    images: int = 5
    seed: int = DEFAULT_SEED
    shuffled_fraction: float = 0.10
    no_order_fraction: float = 0.002
    bad_created_at_fraction: float = 0.002
    reject_fraction: float = 0.001

    @property
    def elements(self) -> int:
        """JSONB elements in the whole data set (N × M × K)."""
        return self.tenants * self.products * self.images

    def tenant_schemas(self) -> list[str]:
        """``["user_1", ..., "user_<tenants>"]``."""
        return [f"user_{number}" for number in range(1, self.tenants + 1)]


def _element_json(
    rng: random.Random, spec: DatasetSpec, tenant: str, product_id: int, order: int, created: datetime
) -> str:
    """One JSONB element as JSON text (no character needs escaping in COPY text format)."""
    draw = rng.random()
    url = f"{DEMO_URL_PREFIX}{tenant}/{product_id}/{rng.getrandbits(40):010x}.jpg"
    timestamp = (created + timedelta(seconds=order)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if draw < spec.reject_fraction:
        return f'{{"order": {order}, "created_at": "{timestamp}"}}'
    draw -= spec.reject_fraction
    if draw < spec.no_order_fraction:
        return f'{{"url": "{url}", "created_at": "{timestamp}"}}'
    draw -= spec.no_order_fraction
    if draw < spec.bad_created_at_fraction:
        return f'{{"url": "{url}", "order": {order}, "created_at": "last week"}}'
    return f'{{"url": "{url}", "order": {order}, "created_at": "{timestamp}"}}'


def tenant_rows(spec: DatasetSpec, tenant_number: int) -> Iterator[str]:
    """The COPY text lines (``id\\ttitle\\tprice\\timages\\n``) of tenant ``user_<tenant_number>``."""
    tenant = f"user_{tenant_number}"
    rng = random.Random(f"{spec.seed}:{tenant_number}")
    for product_id in range(1, spec.products + 1):
        created = _BASE_TIME + timedelta(days=rng.randrange(700), seconds=rng.randrange(86_400))
        elements = [_element_json(rng, spec, tenant, product_id, order, created) for order in range(spec.images)]
        if rng.random() < spec.shuffled_fraction:
            rng.shuffle(elements)
        title = f"{_TITLES[product_id % len(_TITLES)]} #{product_id}"
        yield f"{product_id}\t{title}\t{10 + product_id % 90}.00\t[{', '.join(elements)}]\n"


def ensure_app_role(conn: psycopg.Connection) -> bool:
    """Create the app's role (``reseller_app``, nologin) when missing, so grants are copied as in production.

    Returns:
        True when the role exists afterwards; False when this login may not create it.
    """
    try:
        with conn.transaction():
            conn.execute(
                f"do $$ begin if not exists (select from pg_roles where rolname = '{APP_ROLE}') "
                f"then create role {APP_ROLE} nologin; end if; end $$"
            )
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def load_dataset(conn: psycopg.Connection, spec: DatasetSpec, *, vacuum: bool = True) -> dict[str, float]:
    """Create and fill every tenant of ``spec`` in the connected (empty) database.

    Args:
        conn: a connection with autocommit off; committed after each tenant.
        spec: the data set.
        vacuum: run ``VACUUM (ANALYZE)`` afterwards (hint bits, visibility map and
            statistics, as on a production table).

    Returns:
        ``{"generate_and_copy_seconds": ..., "vacuum_seconds": ...}``.
    """
    ensure_app_role(conn)
    started = time.perf_counter()
    for schema in ("template_tenant",):
        create_tenant_schema(conn, schema)
    conn.commit()
    for number in range(1, spec.tenants + 1):
        tenant = f"user_{number}"
        create_tenant_schema(conn, tenant)
        buffer = io.StringIO()
        buffer.writelines(tenant_rows(spec, number))
        with conn.cursor() as cur:
            with cur.copy(
                sql.SQL("copy {}.products (id, title, price, images) from stdin").format(sql.Identifier(tenant))
            ) as copy:
                copy.write(buffer.getvalue().encode())
        conn.execute(
            sql.SQL("select setval(pg_get_serial_sequence({}, 'id'), {})").format(
                sql.Literal(f'"{tenant}".products'), sql.Literal(spec.products)
            )
        )
        conn.commit()
    loaded = time.perf_counter() - started
    vacuum_seconds = 0.0
    if vacuum:
        started = time.perf_counter()
        previous = conn.autocommit
        conn.autocommit = True
        conn.execute("vacuum (analyze)")
        conn.autocommit = previous
        vacuum_seconds = time.perf_counter() - started
    return {"generate_and_copy_seconds": round(loaded, 3), "vacuum_seconds": round(vacuum_seconds, 3)}


def append_new_images(conn: psycopg.Connection, spec: DatasetSpec, *, every: int = 100) -> int:
    """Append one new element to the ``images`` of every ``every``-th product of every tenant (1% by default).

    The new element is a valid image (url, ``order`` = K, ``created_at``), as an app
    would add between two runs. Commits once per tenant.

    Returns:
        The number of products changed (= images added).
    """
    changed = 0
    for tenant in spec.tenant_schemas():
        cur = conn.execute(append_new_images_sql(tenant, spec.images, every))
        changed += cur.rowcount
        conn.commit()
    return changed


def append_new_images_sql(tenant: str, order: int, every: int = 100) -> sql.Composed:
    """The ``UPDATE`` of :func:`append_new_images` for one tenant (new element's ``order``: ``order``)."""
    return sql.SQL(
        "update {}.products set images = images || jsonb_build_array(jsonb_build_object("
        "'url', {} || {} || '/' || id || '/new-' || md5(id::text) || '.jpg', "
        "'order', {}, 'created_at', '2025-06-01T12:00:00Z')) "
        "where mod(id, {}) = 0 and jsonb_typeof(images) = 'array'"
    ).format(
        sql.Identifier(tenant),
        sql.Literal(DEMO_URL_PREFIX),
        sql.Literal(tenant),
        sql.Literal(order),
        sql.Literal(every),
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: load a data set into the database the libpq variables name (PGDATABASE)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=200, help="tenant schemas (default 200)")
    parser.add_argument("--products", type=int, default=1_000, help="products per tenant (default 1,000)")
    parser.add_argument("--images", type=int, default=5, help="JSONB elements per product (default 5)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE) after loading")
    args = parser.parse_args(argv)
    spec = DatasetSpec(tenants=args.tenants, products=args.products, images=args.images, seed=args.seed)
    with connect() as conn:
        timings = load_dataset(conn, spec, vacuum=not args.no_vacuum)
    print(json.dumps({"spec": asdict(spec), "elements": spec.elements, **timings}))


if __name__ == "__main__":
    main()
