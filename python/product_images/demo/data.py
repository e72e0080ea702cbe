"""The demo data set: tenant schemas shaped like the reseller's production database.

Deterministic (a fixed seed): tenants ``user_1``, ``user_2``, ``user_4``, ``user_5``
with 3,282 products in all, 611 of which carry a price-tag photo last (the legacy
convention the label rule relies on), the others 1 to 8 product photos; a few
products hold NULL, ``[]`` or malformed JSONB. ``template_tenant`` is empty, and
``user_archive`` and ``user_x`` look like tenants but are not (the default
``tenant_schema_regex`` excludes them). The truth about which photo is a price
tag is kept in ``demo.label_truth`` so the rule's precision can be measured.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

DEMO_SEED = 20261122
DEMO_URL_PREFIX = "https://images.example.com/"
"""Public URL prefix of the demo photos; the object key is the rest of the URL."""

TENANT_PRODUCTS = {"user_1": 1203, "user_2": 987, "user_4": 645, "user_5": 447}
TENANT_LABELLED_PRODUCTS = {"user_1": 224, "user_2": 184, "user_4": 120, "user_5": 83}
EMPTY_TENANTS = ("template_tenant",)
NOT_TENANTS = ("user_archive", "user_x")
APP_ROLE = "reseller_app"

# Malformed or unusual JSONB, as found in the legacy data: (case name, images value builder).
# Each is applied to one product of user_1 or user_2 that has no price tag.
_URL = DEMO_URL_PREFIX + "{tenant}/{product}/{name}.jpg"


def _element(url: str, order: Any, created_at: Any = "2024-03-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"url": url, "order": order, "created_at": created_at}
    element.update(extra)
    return element


def _special_cases(tenant: str, product_id: int) -> dict[str, Any]:
    """The special JSONB values, keyed by case name, for one product (SQL None = NULL)."""
    u = lambda name: _URL.format(tenant=tenant, product=product_id, name=name)  # noqa: E731
    return {
        "null": None,
        "empty_array": [],
        "json_null": "JSON_NULL",
        "object_not_array": {"url": u("a"), "order": 0},
        "string_not_array": u("a"),
        "number_not_array": 42,
        "element_is_string": [_element(u("a"), 0), u("b")],
        "element_is_null": [None, _element(u("a"), 1)],
        "url_missing": [_element(u("a"), 0), {"order": 1, "created_at": "2024-03-01T10:00:00Z"}],
        "url_null": [_element(u("a"), 0), _element(None, 1)],  # type: ignore[arg-type]
        "url_empty": [_element(u("a"), 0), _element("", 1)],
        "url_blank": [_element("   ", 0), _element(u("a"), 1)],
        "url_number": [_element(12345, 0), _element(u("a"), 1)],  # type: ignore[arg-type]
        "order_missing": [{"url": u("a"), "created_at": "2024-03-01T10:00:00Z"}, _element(u("b"), 0)],
        "order_fraction": [_element(u("a"), 1.5), _element(u("b"), 0), _element(u("c"), 1)],
        "order_string": [_element(u("a"), "0"), _element(u("b"), 1)],
        "order_ties": [_element(u("a"), 0), _element(u("b"), 0), _element(u("c"), 0)],
        "order_one_based_shuffled": [_element(u("c"), 3), _element(u("a"), 1), _element(u("b"), 2)],
        "created_at_garbage": [_element(u("a"), 0, "yesterday"), _element(u("b"), 1, "2023-02-30T10:00:00Z")],
        "created_at_missing": [{"url": u("a"), "order": 0}],
        "duplicate_url": [_element(u("a"), 0), _element(u("a"), 1), _element(u("b"), 2)],
        "extra_keys": [_element(u("a"), 0, caption="front", width=800), _element(u("b"), 1)],
    }


SPECIAL_CASES = tuple(_special_cases("t", 0))


@dataclass
class DemoProduct:
    """One demo product: its tenant, id, ``images`` JSONB value (None = SQL NULL) and truth."""

    tenant: str
    product_id: int
    title: str
    images: Any
    label_url: str | None = None
    case: str | None = None
    photo_kinds: list[str] = field(default_factory=list)


def generate_demo_products(seed: int = DEMO_SEED) -> list[DemoProduct]:
    """Generate the demo products, deterministically.

    Args:
        seed: the random seed (the default gives the documented demo).

    Returns:
        3,282 :class:`DemoProduct` over four tenants; exactly 611 have ``label_url`` set
        (a price-tag photo with the highest ``order``); ``len(SPECIAL_CASES)`` have
        ``case`` set (malformed or unusual JSONB).
    """
    rng = random.Random(seed)
    products: list[DemoProduct] = []
    base_time = datetime(2024, 1, 1, tzinfo=UTC)
    special_names = list(SPECIAL_CASES)
    for tenant, count in TENANT_PRODUCTS.items():
        labelled = set(rng.sample(range(1, count + 1), TENANT_LABELLED_PRODUCTS[tenant]))
        unlabelled = [pid for pid in range(1, count + 1) if pid not in labelled]
        specials: dict[int, str] = {}
        if tenant in ("user_1", "user_2"):
            half = len(special_names) // 2
            names = special_names[:half] if tenant == "user_1" else special_names[half:]
            for pid, name in zip(rng.sample(unlabelled, len(names)), names, strict=True):
                specials[pid] = name
        for product_id in range(1, count + 1):
            material = rng.choice(["Vintage", "Wool", "Denim", "Silk", "Leather"])
            kind = rng.choice(["jacket", "dress", "bag", "shirt", "boots"])
            title = f"{material} {kind} #{product_id}"
            if product_id in specials:
                name = specials[product_id]
                products.append(
                    DemoProduct(tenant, product_id, title, _special_cases(tenant, product_id)[name], case=name)
                )
                continue
            if product_id in labelled:
                photos = rng.randint(1, 7)
            else:  # most untagged products have one photo; the others break the convention
                photos = 1 if rng.random() < 0.7 else rng.randint(2, 8)
            created = base_time + timedelta(days=rng.randint(0, 600), seconds=rng.randint(0, 86399))
            elements = []
            kinds = []
            for order in range(photos):
                ext = rng.choices(["jpg", "png", "webp"], weights=[8, 1, 1])[0]
                url = f"{DEMO_URL_PREFIX}{tenant}/{product_id}/{rng.getrandbits(40):010x}.{ext}"
                elements.append(
                    {
                        "url": url,
                        "order": order,
                        "created_at": (created + timedelta(seconds=order)).isoformat().replace("+00:00", "Z"),
                    }
                )
                kinds.append("photo")
            label_url = None
            if product_id in labelled:
                label_url = f"{DEMO_URL_PREFIX}{tenant}/{product_id}/{rng.getrandbits(40):010x}.jpg"
                elements.append(
                    {
                        "url": label_url,
                        "order": photos,
                        "created_at": (created + timedelta(seconds=photos)).isoformat().replace("+00:00", "Z"),
                    }
                )
                kinds.append("label")
            if rng.random() < 0.1:  # some arrays are stored out of order; `order` still says the truth
                paired = list(zip(elements, kinds, strict=True))
                rng.shuffle(paired)
                elements = [e for e, _ in paired]
                kinds = [k for _, k in paired]
            products.append(DemoProduct(tenant, product_id, title, elements, label_url=label_url, photo_kinds=kinds))
    return products


def _jsonb(value: Any) -> Any:
    if value is None:
        return None
    if value == "JSON_NULL":
        return Jsonb(None)
    return Jsonb(value)


def create_tenant_schema(conn: psycopg.Connection, tenant: str) -> None:
    """Create ``<tenant>.products`` as the reseller app has it (idempotent).

    Columns: ``id`` bigint identity primary key, ``title`` text, ``price`` numeric,
    ``images`` jsonb (the legacy column), ``created_at`` timestamptz. Grants
    select/insert/update/delete to the role ``reseller_app`` when it exists.
    """
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(tenant)))
    conn.execute(
        sql.SQL(
            "create table if not exists {}.products ("
            " id bigint generated by default as identity primary key,"
            " title text not null,"
            " price numeric(10, 2),"
            " images jsonb,"
            " created_at timestamptz not null default now())"
        ).format(sql.Identifier(tenant))
    )
    role_exists = conn.execute("select 1 from pg_roles where rolname = %s", (APP_ROLE,)).fetchone()
    if role_exists:
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(tenant), sql.Identifier(APP_ROLE)))
        conn.execute(
            sql.SQL("grant select, insert, update, delete on {}.products to {}").format(
                sql.Identifier(tenant), sql.Identifier(APP_ROLE)
            )
        )


def insert_products(conn: psycopg.Connection, products: list[DemoProduct]) -> None:
    """Insert products (with their explicit ids) into their tenants' ``products`` tables with COPY."""
    by_tenant: dict[str, list[DemoProduct]] = {}
    for product in products:
        by_tenant.setdefault(product.tenant, []).append(product)
    for tenant, rows in by_tenant.items():
        with conn.cursor() as cur:
            with cur.copy(
                sql.SQL("copy {}.products (id, title, price, images) from stdin").format(sql.Identifier(tenant))
            ) as copy:
                for p in rows:
                    images = None
                    if p.images == "JSON_NULL":
                        images = "null"
                    elif p.images is not None:
                        images = json.dumps(p.images)
                    copy.write_row((p.product_id, p.title, 10 + p.product_id % 90, images))
        conn.execute(
            sql.SQL("select setval(pg_get_serial_sequence({}, 'id'), (select max(id) from {}.products))").format(
                sql.Literal(f'"{tenant}".products'), sql.Identifier(tenant)
            )
        )


def load_demo_data(conn: psycopg.Connection, seed: int = DEMO_SEED) -> bool:
    """Load the demo data set into the connected database, once.

    Args:
        conn: a psycopg connection (this function commits).
        seed: the generator's seed.

    Returns:
        True when it loaded the data; False when ``demo.dataset`` says it is
        already there (a second call changes nothing).
    """
    exists = conn.execute("select to_regclass('demo.dataset') is not null").fetchone()
    if exists and exists[0]:
        return False
    products = generate_demo_products(seed)
    with conn.transaction():
        conn.execute(
            f"do $$ begin if not exists (select from pg_roles where rolname = '{APP_ROLE}') then create role "
            f"{APP_ROLE} nologin; end if; end $$"
        )
        for tenant in (*TENANT_PRODUCTS, *EMPTY_TENANTS, *NOT_TENANTS):
            create_tenant_schema(conn, tenant)
        insert_products(conn, products)
        # user_archive looks like a tenant but is not one: it must stay untouched.
        insert_products(
            conn,
            [DemoProduct("user_archive", 1, "Archived coat", [_element(DEMO_URL_PREFIX + "user_archive/1/a.jpg", 0)])],
        )
        conn.execute("create schema if not exists demo")
        conn.execute(
            "create table demo.label_truth ("
            " tenant_schema text not null, product_id bigint not null, label_url text not null,"
            " primary key (tenant_schema, product_id))"
        )
        with conn.cursor() as cur:
            with cur.copy("copy demo.label_truth (tenant_schema, product_id, label_url) from stdin") as copy:
                for p in products:
                    if p.label_url:
                        copy.write_row((p.tenant, p.product_id, p.label_url))
        conn.execute("create table demo.dataset (seed bigint not null, loaded_at timestamptz not null default now())")
        conn.execute("insert into demo.dataset (seed) values (%s)", (seed,))
    return True
