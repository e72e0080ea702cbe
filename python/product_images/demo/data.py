"""The demo data set: a clothing reseller's tenant schemas, shaped like the production database.

Deterministic (a fixed seed): tenants ``user_1``, ``user_2``, ``user_4``, ``user_5``
with 3,282 products in all, 611 of which carry one of the shop's own price tags as
their last photo (the legacy convention the label rule relies on). The products and
their photos come from :mod:`product_images.labels.development.clothing`: garments (t-shirts, jeans,
dresses, jackets, shoes, bags) flat-lay, on a hanger or close up, the shops' tags in
four styles (thermal sticker with a barcode, handwritten kraft tag, QR label, small
price sticker), and the hard negatives buyers want to see (woven brand labels, care and
size labels, printed t-shirts, shoe boxes, a brand's own hang tag). A few products hold
NULL, ``[]`` or malformed JSONB instead. ``template_tenant`` is empty, and
``user_archive`` and ``user_x`` look like tenants but are not (the default
``tenant_schema_regex`` excludes them). The truth about which photo is a price tag is
kept in ``demo.label_truth`` (one row per tag photo, with its style) so the rule's and the
evidence's precision and recall can be measured; ``demo.dataset`` records the seed and size
that made the data, from which :func:`demo_photo_specs` rebuilds what each URL shows.

Two sizes: ``full`` (the documented demo, ``make demo``) and ``small`` (a tenth of it, same
shape, for the test suite).
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

from product_images.labels.development.clothing import (
    DEMO_SEED,
    FABRIC_COLOUR_NAMES,
    Dataset,
    DatasetParams,
    PhotoSpec,
    Product,
    demo_params,
    generate_dataset,
)

DEMO_URL_PREFIX = "https://images.example.com/"
"""Public URL prefix of the demo photos; the object key is the rest of the URL."""

TENANT_PRODUCTS = {"user_1": 1203, "user_2": 987, "user_4": 645, "user_5": 447}
TENANT_LABELLED_PRODUCTS = {"user_1": 224, "user_2": 184, "user_4": 120, "user_5": 83}
SMALL_TENANT_PRODUCTS = {"user_1": 120, "user_2": 99, "user_4": 65, "user_5": 45}
SMALL_TENANT_LABELLED_PRODUCTS = {"user_1": 22, "user_2": 18, "user_4": 12, "user_5": 8}
DEMO_SIZES = ("full", "small")
"""Allowed ``size`` values: ``full`` (3,282 products, 611 tags) and ``small`` (329 products, 60 tags)."""
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

_GARMENT_NAMES = {
    "tshirt": "t-shirt",
    "jeans": "jeans",
    "dress": "dress",
    "jacket": "jacket",
    "shoes": "shoes",
    "bag": "bag",
}


@dataclass
class DemoProduct:
    """One demo product: its tenant, id, ``images`` JSONB value (None = SQL NULL) and truth.

    Fields:
        label_url: the URL of its price-tag photo, or None.
        case: the malformed-JSONB case it carries (see :data:`SPECIAL_CASES`), or None.
        photo_kinds: the kind of each photo in ``images`` array order
            (:data:`~product_images.labels.development.clothing.PHOTO_KINDS`).
        specs: what each of its URLs shows: URL → :class:`~product_images.labels.development.clothing.PhotoSpec`.
        tag_style: the price tag's style kind (``thermal``, ``kraft``, ``qr``, ``sticker``), or None.
    """

    tenant: str
    product_id: int
    title: str
    images: Any
    label_url: str | None = None
    case: str | None = None
    photo_kinds: list[str] = field(default_factory=list)
    specs: dict[str, PhotoSpec] = field(default_factory=dict)
    tag_style: str | None = None


class DemoDataError(ValueError):
    """The demo data cannot be loaded as asked (an unknown size, or other demo data already there)."""


def _size_params(size: str) -> tuple[dict[str, int], DatasetParams]:
    if size not in DEMO_SIZES:
        raise DemoDataError(f"size must be one of {', '.join(map(repr, DEMO_SIZES))}; got {size!r}")
    if size == "full":
        products, tags = TENANT_PRODUCTS, TENANT_LABELLED_PRODUCTS
    else:
        products, tags = SMALL_TENANT_PRODUCTS, SMALL_TENANT_LABELLED_PRODUCTS
    return products, demo_params(tenant_products=tuple(products.values()), tenant_tags=tuple(tags.values()))


def _extension(spec: PhotoSpec) -> str:
    """The URL's extension, from the photo's own seed: about 1 in 16 WebP, small photos sometimes PNG, else JPEG."""
    pick = spec.seed % 32
    if pick < 2:
        return "webp"
    if pick < 4 and max(spec.width, spec.height) <= 640:
        return "png"
    return "jpg"


def generate_demo_products(seed: int = DEMO_SEED, size: str = "full") -> list[DemoProduct]:
    """Generate the demo products, deterministically.

    Args:
        seed: the random seed (the default gives the documented demo).
        size: ``"full"`` or ``"small"`` (see :data:`DEMO_SIZES`).

    Returns:
        :class:`DemoProduct` over four tenants (3,282 for ``full``, 329 for ``small``); 611
        (60) have ``label_url`` set (a price-tag photo with the highest ``order``);
        ``len(SPECIAL_CASES)`` products of ``user_1``/``user_2`` without a tag have ``case`` set
        (malformed or unusual JSONB) instead of their photos. URLs are
        ``{DEMO_URL_PREFIX}{tenant}/{product}/{photo seed:012x}.{jpg|webp|png}``.

    Raises:
        DemoDataError: ``size`` is not one of :data:`DEMO_SIZES` (the message lists them).
    """
    tenant_products, params = _size_params(size)
    dataset = generate_dataset(seed, params)
    # generate_dataset names its tenants user_1, user_2, user_3, …; the demo's are those of tenant_products
    demo_tenants = {tenant.name: name for tenant, name in zip(dataset.tenants, tenant_products, strict=True)}
    rng = random.Random(seed)
    base_time = datetime(2024, 1, 1, tzinfo=UTC)
    specials = _choose_special_products(dataset, demo_tenants, rng)
    products: list[DemoProduct] = []
    for generated in dataset.products:
        tenant = demo_tenants[generated.tenant]
        product_id = generated.product_id
        first = generated.photos[0]
        title = f"{FABRIC_COLOUR_NAMES.get(first.colour, 'Vintage')} {_GARMENT_NAMES[first.garment]} #{product_id}"
        if (tenant, product_id) in specials:
            products.append(_special_product(generated, tenant, title, specials[(tenant, product_id)]))
        else:
            products.append(_photographed_product(generated, tenant, title, rng, base_time))
    return products


def _choose_special_products(
    dataset: Dataset, demo_tenants: dict[str, str], rng: random.Random
) -> dict[tuple[str, int], str]:
    """(tenant, product id) → special case: half the cases to untagged products of user_1, half to user_2."""
    special_names = list(SPECIAL_CASES)
    specials: dict[tuple[str, int], str] = {}
    for tenant in ("user_1", "user_2"):
        untagged = [
            p.product_id for p in dataset.products if demo_tenants[p.tenant] == tenant and p.label_index is None
        ]
        half = len(special_names) // 2
        chosen = special_names[:half] if tenant == "user_1" else special_names[half:]
        for pid, name in zip(rng.sample(untagged, len(chosen)), chosen, strict=True):
            specials[(tenant, pid)] = name
    return specials


def _special_product(generated: Product, tenant: str, title: str, name: str) -> DemoProduct:
    """A product holding the special JSONB case ``name`` instead of its photos."""
    product_id = generated.product_id
    images = _special_cases(tenant, product_id)[name]
    # the URLs a special case names (a, b, c) show this product's own photos
    specs = {
        _URL.format(tenant=tenant, product=product_id, name=letter): generated.photos[i % len(generated.photos)]
        for i, letter in enumerate("abc")
    }
    return DemoProduct(tenant, product_id, title, images, case=name, specs=specs)


def _photographed_product(
    generated: Product, tenant: str, title: str, rng: random.Random, base_time: datetime
) -> DemoProduct:
    """A product with its photos as the ``images`` array (a tenth stored out of order), drawing from ``rng``."""
    product_id = generated.product_id
    created = base_time + timedelta(days=rng.randint(0, 600), seconds=rng.randint(0, 86399))
    elements: list[dict[str, Any]] = []
    kinds: list[str] = []
    specs = {}
    label_url = None
    for order, spec in enumerate(generated.photos):
        url = f"{DEMO_URL_PREFIX}{tenant}/{product_id}/{spec.seed:012x}.{_extension(spec)}"
        elements.append(
            {
                "url": url,
                "order": order,
                "created_at": (created + timedelta(seconds=order)).isoformat().replace("+00:00", "Z"),
            }
        )
        kinds.append(spec.kind)
        specs[url] = spec
        if order == generated.label_index:
            label_url = url
    if rng.random() < 0.1:  # some arrays are stored out of order; `order` still says the truth
        paired = list(zip(elements, kinds, strict=True))
        rng.shuffle(paired)
        elements = [e for e, _ in paired]
        kinds = [k for _, k in paired]
    return DemoProduct(
        tenant,
        product_id,
        title,
        elements,
        label_url=label_url,
        photo_kinds=kinds,
        specs=specs,
        tag_style=generated.style_kind,
    )


def demo_photo_specs(seed: int = DEMO_SEED, size: str = "full") -> dict[str, PhotoSpec]:
    """What every demo URL shows: URL → :class:`~product_images.labels.development.clothing.PhotoSpec`.

    The same URLs :func:`generate_demo_products` writes (and, for the malformed-JSONB products,
    the URLs their cases name). Raises ValueError for an unknown ``size``.
    """
    specs: dict[str, PhotoSpec] = {}
    for product in generate_demo_products(seed, size):
        specs.update(product.specs)
    return specs


def loaded_dataset(conn: psycopg.Connection) -> tuple[int, str] | None:
    """The ``(seed, size)`` of the demo data loaded in this database, or None when there is none."""
    if not conn.execute("select to_regclass('demo.dataset') is not null").fetchone()[0]:  # type: ignore[index]
        return None
    has_size = conn.execute(
        "select exists (select from information_schema.columns"
        " where table_schema = 'demo' and table_name = 'dataset' and column_name = 'size')"
    ).fetchone()[0]  # type: ignore[index]
    # a demo loaded before the clothing photos has no size: "pictures", which no call asks for
    size = sql.Identifier("size") if has_size else sql.Literal("pictures")
    row = conn.execute(sql.SQL("select seed, {} from demo.dataset").format(size)).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


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


def load_demo_data(conn: psycopg.Connection, seed: int = DEMO_SEED, size: str = "full") -> bool:
    """Load the demo data set into the connected database, once.

    Args:
        conn: a psycopg connection (this function commits).
        seed: the generator's seed.
        size: ``"full"`` or ``"small"`` (see :data:`DEMO_SIZES`).

    Returns:
        True when it loaded the data; False when ``demo.dataset`` says it is
        already there (a second call changes nothing).

    Raises:
        DemoDataError: ``size`` is not one of :data:`DEMO_SIZES`, or the database already holds the
            demo with another seed or size, or the older demo (before the clothing photos); the
            message says which and what to do.
    """
    loaded = loaded_dataset(conn)
    if loaded is not None:
        _check_same_dataset(loaded, seed, size)
        return False
    products = generate_demo_products(seed, size)
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
        _create_demo_schema(conn, products, seed, size)
    return True


def _check_same_dataset(loaded: tuple[int, str], seed: int, size: str) -> None:
    """Raise DemoDataError unless the demo data ``loaded`` is the one of ``seed`` and ``size``."""
    fresh = (
        "use another database (PGDATABASE), or drop the schemas demo, user_1, user_2, user_4, user_5, "
        "template_tenant, user_archive, user_x and product_images (with the embedded PostgreSQL: "
        "remove .pgdata/)"
    )
    if loaded[1] == "pictures":
        raise DemoDataError(
            f"this database holds the older demo (seed {loaded[0]}, drawn pictures, before the clothing "
            f"photos and the label detection): {fresh}"
        )
    if loaded != (seed, size):
        raise DemoDataError(
            f"this database holds the demo with seed {loaded[0]} and size {loaded[1]!r}, not seed {seed} and "
            f"size {size!r}: {fresh}"
        )


def _create_demo_schema(conn: psycopg.Connection, products: list[DemoProduct], seed: int, size: str) -> None:
    """The schema ``demo``: ``label_truth`` (one row per price-tag photo) and ``dataset`` (seed and size)."""
    conn.execute("create schema if not exists demo")
    conn.execute(
        "create table demo.label_truth ("
        " tenant_schema text not null, product_id bigint not null, label_url text not null,"
        " tag_style text not null, primary key (tenant_schema, product_id))"
    )
    with conn.cursor() as cur:
        with cur.copy("copy demo.label_truth (tenant_schema, product_id, label_url, tag_style) from stdin") as copy:
            for p in products:
                if p.label_url:
                    copy.write_row((p.tenant, p.product_id, p.label_url, p.tag_style))
    conn.execute(
        "create table demo.dataset (seed bigint not null, size text not null,"
        " loaded_at timestamptz not null default now())"
    )
    conn.execute("insert into demo.dataset (seed, size) values (%s, %s)", (seed, size))
