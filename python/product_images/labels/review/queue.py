"""What the review page shows, read from the database: the queue of products and each product's photos.

Three queues (``--queue``):

* ``doubtful``: the detector's ``<dbt schema>.label_review_queue`` (``tenant_schema,
  product_id, queue_position, reason, best_score, photos``), in ``queue_position``
  order. When the detector has not run (that relation does not exist, or no photo has
  been looked at yet), the rule's candidates are shown instead and
  :attr:`ReviewQueue.notice` says so;
* ``rule``: products with 2 or more photos whose label comes from the rule
  (``label_source = 'rule'``), the ones the demo's rule gets wrong 64% of the time;
* ``all``: every product with at least one photo.

``rule`` and ``all`` read the union view ``<dbt schema>.product_images``; both are
ordered by tenant schema (``collate "C"``) and product id. A product's photos are
read from the tenant's own ``product_images`` table (current state, position
order), with ``label_score`` and ``label_evidence`` when the catalog says the
table has them, and the title from the tenant's ``products.title``.

Every identifier is quoted with :class:`psycopg.sql.Identifier`, and a tenant is
only ever one the catalog lists (:func:`~product_images.migration.tenants.discover_tenants`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql

from product_images.migration.tenants import discover_tenants

__all__ = [
    "QUEUE_KINDS",
    "QUEUE_RELATION",
    "QueueEntry",
    "QueueKind",
    "ReviewDatabase",
    "ReviewPhoto",
    "ReviewProduct",
    "ReviewQueue",
    "UnknownProductError",
    "UnknownTenantError",
]

QueueKind = Literal["doubtful", "all", "rule"]
QUEUE_KINDS: tuple[QueueKind, ...] = ("doubtful", "all", "rule")
"""The ``--queue`` choices."""

QUEUE_RELATION = "label_review_queue"
"""The detector's queue of doubtful products, in the dbt schema."""

QUEUE_TITLES: dict[str, str] = {
    "doubtful": "doubtful products (the detector's queue)",
    "rule": "the rule's candidates (2+ photos, label from the rule)",
    "all": "every product",
}
"""What each queue is, as the page's header says it."""


# --------------------------------------------------------------------------- the queries

_DOUBTFUL_QUERY = sql.SQL(
    "select tenant_schema, product_id, reason, best_score, photos from {queue} {where} "
    'order by queue_position, tenant_schema collate "C", product_id'
)
"""The detector's queue (``doubtful``), in queue order."""

_GROUPED_QUERY = sql.SQL(
    "select tenant_schema, product_id, null, null, null from {view} {where} "
    'group by tenant_schema, product_id {having} order by tenant_schema collate "C", product_id'
)
"""The products of the union view (``rule``, ``all``), filtered by :data:`_HAVING`."""

_HAVING: dict[str, sql.SQL] = {
    "rule": sql.SQL("having count(*) >= 2 and bool_or(is_label and label_source = 'rule')"),
    "all": sql.SQL(""),
}
"""Which products each queue of the union view keeps."""

_UNSEEN_QUERY = sql.SQL("select count(*) from {view} {where} {also} label_detected_at is null")
"""Photos the detector has not looked at yet."""

_TITLES_QUERY = sql.SQL("select id, {title} from {products} where id = any(%s)")
"""Products' titles (``{title}``: the column, or null when the tenant has none)."""

_PHOTOS_QUERY = sql.SQL(
    "select product_id, id, position, url, is_label, label_source, {score}, {evidence} "
    "from {images} where product_id = any(%s) order by product_id, position, id"
)
"""Products' photos (``{score}``, ``{evidence}``: the columns, or nulls when the tenant has none)."""


class UnknownTenantError(LookupError):
    """No such tenant: the schema is not one of the tenants with a ``product_images`` table."""

    def __init__(self, tenant_schema: str) -> None:
        super().__init__(f"no tenant {tenant_schema!r} (not a tenant schema with a product_images table)")
        self.tenant_schema = tenant_schema


class UnknownProductError(LookupError):
    """No such product (or image) in that tenant."""

    def __init__(self, tenant_schema: str, product_id: int, what: str = "product") -> None:
        super().__init__(f"no {what} {product_id} in tenant {tenant_schema}")
        self.tenant_schema = tenant_schema
        self.product_id = product_id


@dataclass(frozen=True)
class QueueEntry:
    """One product to review.

    Attributes:
        tenant_schema, product_id: the product.
        reason: why it is doubtful (the detector's words), else None.
        best_score: the detector's highest photo score (0..1), else None.
        photo_scores: the detector's per-photo scores from the queue, by image id
            (used when the tenant's table has no ``label_score`` column).
    """

    tenant_schema: str
    product_id: int
    reason: str | None = None
    best_score: float | None = None
    photo_scores: dict[int, float] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, int]:
        """``(tenant_schema, product_id)``."""
        return (self.tenant_schema, self.product_id)


@dataclass
class ReviewQueue:
    """The products of one review session, in the order to work through.

    Attributes:
        requested: the ``--queue`` asked for.
        kind: the queue shown (``rule`` when ``doubtful`` was asked and the detector has not run).
        entries: the products, in order.
        tenant_schema: the ``--tenant`` filter, or None for every tenant.
        notice: a sentence for the person when ``kind`` differs from ``requested``, else None.
    """

    requested: QueueKind
    kind: QueueKind
    entries: list[QueueEntry]
    tenant_schema: str | None = None
    notice: str | None = None
    _index: dict[tuple[str, int], int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {entry.key: number for number, entry in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def title(self) -> str:
        """What the queue is, e.g. ``the rule's candidates (2+ photos, label from the rule)``."""
        return QUEUE_TITLES[self.kind]

    def index_of(self, tenant_schema: str, product_id: int) -> int | None:
        """0-based place of the product in the queue, or None when it is not in it."""
        return self._index.get((tenant_schema, product_id))

    def entry(self, tenant_schema: str, product_id: int) -> QueueEntry | None:
        """The product's entry, or None when it is not in the queue."""
        index = self.index_of(tenant_schema, product_id)
        return None if index is None else self.entries[index]


@dataclass(frozen=True)
class ReviewPhoto:
    """One photo of a product as the database has it now.

    Attributes:
        image_id: ``product_images.id`` in the tenant.
        position: 0-based position in the product.
        url: the image URL (untrusted text: escape it).
        is_label: the current flag.
        label_source: where the flag comes from: ``rule``, ``evidence``, ``override``, ``app``
            (any other text is shown as it is).
        score: ``label_score``, the detector's probability (0..1) that it is the price
            tag, or None (no column, or not scored).
        evidence: ``label_evidence`` (JSON), or None.
    """

    image_id: int
    position: int
    url: str
    is_label: bool
    label_source: str | None
    score: float | None = None
    evidence: Any = None


@dataclass(frozen=True)
class ReviewProduct:
    """A product with its photos in position order, and its queue entry when it is in the queue."""

    tenant_schema: str
    product_id: int
    title: str | None
    photos: tuple[ReviewPhoto, ...]
    entry: QueueEntry | None = None

    @property
    def key(self) -> tuple[str, int]:
        """``(tenant_schema, product_id)``."""
        return (self.tenant_schema, self.product_id)

    def photo(self, image_id: int) -> ReviewPhoto | None:
        """The photo with that id, or None when it is not one of this product's."""
        return next((photo for photo in self.photos if photo.image_id == image_id), None)


@dataclass
class _TenantColumns:
    score: bool
    evidence: bool
    title: bool


class ReviewDatabase:
    """The review page's reads, over one autocommit connection shared by the app's threads (under a lock).

    Args:
        connect: opens a new connection (e.g. ``lambda: product_images.connection.connect(autocommit=True)``);
            called again when the connection was lost.
        schema: the dbt schema (``PRODUCT_IMAGES_SCHEMA``, default ``product_images``).

    Tenants are found once, at the first read (:meth:`tenants`); :meth:`refresh` forgets them.
    """

    def __init__(self, connect: Callable[[], psycopg.Connection], schema: str) -> None:
        self._connect = connect
        self.schema = schema
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._tenants: list[str] | None = None
        self._columns: dict[str, _TenantColumns] = {}

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            yield self._conn

    def close(self) -> None:
        """Close the connection (a later read opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def refresh(self) -> None:
        """Forget the tenants and their columns found so far."""
        self._tenants = None
        self._columns = {}

    def tenants(self) -> list[str]:
        """The tenant schemas with a ``product_images`` table, ordered by name."""
        if self._tenants is None:
            with self._connection() as conn:
                self._tenants = discover_tenants(conn)
        return self._tenants

    def require_tenant(self, tenant_schema: str) -> str:
        """``tenant_schema`` when it is a tenant, else :class:`UnknownTenantError`."""
        if tenant_schema not in self.tenants():
            raise UnknownTenantError(tenant_schema)
        return tenant_schema

    def queue_exists(self, tenant_schema: str | None = None) -> bool:
        """Whether the detector's queue can be shown: ``<schema>.label_review_queue`` exists (table, view or
        materialized view) and the detector has looked at a photo (``label_detected_at`` set in the union view
        ``<schema>.product_images``) of ``tenant_schema``, or of any tenant when it is None. Before ``labels
        detect`` runs the queue is empty because nothing is scored, not because nothing is doubtful."""
        with self._connection() as conn:
            row = conn.execute(
                "select to_regclass(%s) is not null", (sql.Identifier(self.schema, QUEUE_RELATION).as_string(conn),)
            ).fetchone()
            if not (row and row[0]):
                return False
            has_column = conn.execute(
                "select exists (select from information_schema.columns where table_schema = %s"
                " and table_name = 'product_images' and column_name = 'label_detected_at')",
                (self.schema,),
            ).fetchone()
            if not (has_column and has_column[0]):
                return False
            scored = conn.execute(
                sql.SQL(
                    "select exists (select from {} where label_detected_at is not null"
                    " and (%(tenant)s::text is null or tenant_schema = %(tenant)s::text))"
                ).format(sql.Identifier(self.schema, "product_images")),
                {"tenant": tenant_schema},
            ).fetchone()
        return bool(scored and scored[0])

    def load_queue(self, requested: QueueKind, tenant_schema: str | None = None) -> ReviewQueue:
        """The products to review, in order.

        Args:
            requested: ``doubtful``, ``rule`` or ``all`` (see the module docstring).
            tenant_schema: only this tenant's products; None for every tenant.

        Returns:
            A :class:`ReviewQueue`; for ``doubtful`` without the detector's relation, the
            ``rule`` queue with a :attr:`~ReviewQueue.notice`.

        Raises:
            UnknownTenantError: ``tenant_schema`` is not a tenant.
            ValueError: another queue name.
            psycopg.Error: the union view or the queue relation cannot be read (e.g. no
                ``dbt run`` yet: ``UndefinedTable``).
        """
        if requested not in QUEUE_KINDS:
            raise ValueError(f"unknown queue {requested!r}: expected one of {', '.join(QUEUE_KINDS)}")
        if tenant_schema is not None:
            self.require_tenant(tenant_schema)
        kind, notice = self._shown_kind(requested, tenant_schema)
        tenant_filter = sql.SQL("where tenant_schema = {}").format(tenant_schema) if tenant_schema else sql.SQL("")
        if kind == "doubtful":
            notice = self._unseen_notice(tenant_schema, tenant_filter)
            query = _DOUBTFUL_QUERY.format(queue=sql.Identifier(self.schema, QUEUE_RELATION), where=tenant_filter)
        else:
            query = _GROUPED_QUERY.format(
                view=sql.Identifier(self.schema, "product_images"), where=tenant_filter, having=_HAVING[kind]
            )
        tenants = set(self.tenants())
        with self._connection() as conn:
            rows = conn.execute(query).fetchall()
        entries = [
            QueueEntry(tenant, int(product_id), reason, None if best is None else float(best), _photo_scores(photos))
            for tenant, product_id, reason, best, photos in rows
            if tenant in tenants
        ]
        return ReviewQueue(requested, kind, entries, tenant_schema, notice)

    def _shown_kind(self, requested: QueueKind, tenant_schema: str | None) -> tuple[QueueKind, str | None]:
        """(the queue shown, a notice): ``rule`` with a notice when ``doubtful`` is asked before the detector ran."""
        if requested != "doubtful" or self.queue_exists(tenant_schema):
            return requested, None
        of_tenant = f"of {tenant_schema} " if tenant_schema else ""
        return "rule", (
            f"The detector has not run (it has looked at no photo {of_tenant}"
            f"yet; {self.schema}.{QUEUE_RELATION} is the "
            "detector's queue), so the rule's candidates are shown instead (products with 2+ photos whose "
            "label comes from the rule). Run product-images labels detect, then dbt run --select product_images."
        )

    def _unseen_notice(self, tenant_schema: str | None, tenant_filter: sql.Composable) -> str | None:
        """A notice when photos (of ``tenant_schema``, or of any tenant) are not scored yet, else None:
        e.g. after ``labels detect --limit`` or ``--tenant`` the queue is short, not done."""
        with self._connection() as conn:
            row = conn.execute(
                _UNSEEN_QUERY.format(
                    view=sql.Identifier(self.schema, "product_images"),
                    where=tenant_filter,
                    also=sql.SQL("and" if tenant_schema else "where"),
                )
            ).fetchone()
        unseen = int(row[0]) if row else 0
        if not unseen:
            return None
        return (
            f"{unseen:,} photo(s) have not been looked at by the detector yet: their products are not in "
            "this queue until product-images labels detect scores them."
        )

    def learning(self, tenant_schema: str) -> str | None:
        """What people's decisions have taught the detector so far in one tenant, e.g.
        ``Decisions so far in user_1: 12 products decided by people; the detector's shop
        profile learned from 9 confirmed tags. …``; None when no product of the tenant was
        decided by a person (``label_source`` override or app).

        Reads the tenant's own ``product_images`` (never the union view over every tenant,
        which would lock each tenant's tables on every page) and its row of
        ``product_images_label_profiles`` (written by ``labels detect``), when it exists.

        Raises:
            UnknownTenantError: ``tenant_schema`` is not a tenant.
            psycopg.Error: the tables cannot be read.
        """
        self.require_tenant(tenant_schema)
        with self._connection() as conn:
            decided = conn.execute(
                sql.SQL("select count(distinct product_id) from {} where label_source in ('override', 'app')").format(
                    sql.Identifier(tenant_schema, "product_images")
                )
            ).fetchone()
            if not decided or not decided[0]:
                return None
            confirmed = None
            profiles = f"{self.schema}.product_images_label_profiles"
            exists = conn.execute("select to_regclass(%s) is not null", (profiles,)).fetchone()
            if exists and exists[0]:
                confirmed = conn.execute(
                    sql.SQL("select confirmed_tags from {} where tenant_schema = %s").format(
                        sql.Identifier(self.schema, "product_images_label_profiles")
                    ),
                    (tenant_schema,),
                ).fetchone()
        tags = confirmed[0] if confirmed else 0
        return (
            f"Decisions so far in {tenant_schema}: {decided[0]:,} products decided by people; the detector's shop "
            f"profile learned from {tags:,} confirmed tags. Run labels detect again to apply what they teach."
        )

    def _tenant_columns(self, conn: psycopg.Connection, tenant_schema: str) -> _TenantColumns:
        found = self._columns.get(tenant_schema)
        if found is None:
            rows = conn.execute(
                """
                select classes.relname, attributes.attname
                from pg_catalog.pg_attribute as attributes
                join pg_catalog.pg_class as classes on classes.oid = attributes.attrelid
                join pg_catalog.pg_namespace as namespaces on namespaces.oid = classes.relnamespace
                where namespaces.nspname = %s and classes.relname in ('product_images', 'products')
                    and attributes.attnum > 0 and not attributes.attisdropped
                """,
                (tenant_schema,),
            ).fetchall()
            columns = {(table, column) for table, column in rows}
            found = _TenantColumns(
                score=("product_images", "label_score") in columns,
                evidence=("product_images", "label_evidence") in columns,
                title=("products", "title") in columns,
            )
            self._columns[tenant_schema] = found
        return found

    def products(
        self, keys: Sequence[tuple[str, int]], queue: ReviewQueue | None = None
    ) -> dict[tuple[str, int], ReviewProduct]:
        """Several products with their photos, one query per tenant (for the grid).

        Args:
            keys: ``(tenant_schema, product_id)`` pairs; each tenant must be a tenant.
            queue: the session's queue, to attach each product's entry (and its scores).

        Returns:
            The products found, by key; a product that does not exist is absent.

        Raises:
            UnknownTenantError: a key's tenant is not a tenant.
        """
        by_tenant: dict[str, list[int]] = {}
        for tenant, product_id in keys:
            by_tenant.setdefault(self.require_tenant(tenant), []).append(int(product_id))
        found: dict[tuple[str, int], ReviewProduct] = {}
        with self._connection() as conn:
            for tenant, product_ids in by_tenant.items():
                columns = self._tenant_columns(conn, tenant)
                titles = _titles(conn, tenant, product_ids, columns)
                photos = _photo_rows(conn, tenant, product_ids, columns)
                for product_id in product_ids:
                    if product_id not in titles:
                        continue
                    entry = queue.entry(tenant, product_id) if queue is not None else None
                    found[(tenant, product_id)] = _review_product(
                        tenant, product_id, titles[product_id], photos.get(product_id, []), entry
                    )
        return found

    def product(self, tenant_schema: str, product_id: int, queue: ReviewQueue | None = None) -> ReviewProduct:
        """One product with its photos in position order.

        Raises:
            UnknownTenantError: no such tenant.
            UnknownProductError: no such product in ``<tenant>.products``.
        """
        found = self.products([(tenant_schema, product_id)], queue).get((tenant_schema, product_id))
        if found is None:
            raise UnknownProductError(tenant_schema, product_id)
        return found

    def changed_since_run(self, tenant_schema: str, product_id: int) -> bool:
        """Whether the product's ``products.images`` changed since the last ``dbt run`` loaded it (the tables and the
        page lack a photo the app added, removed or moved there), by ``dbt run``'s own test (``incremental.sql``):
        the JSONB's md5 is not the one ``product_images_sync`` recorded (a product never loaded has none). False
        once ``products.images`` is dropped (the tables are then the truth) or without a sync table.

        Raises:
            UnknownTenantError: no such tenant.
        """
        self.require_tenant(tenant_schema)
        products, synced = (
            sql.Identifier(tenant_schema, "products"),
            sql.Identifier(tenant_schema, "product_images_sync"),
        )
        with self._connection() as conn:
            (legacy,) = conn.execute(  # type: ignore[misc]
                "select to_regclass(%s) is not null and exists (select from pg_catalog.pg_attribute "
                "where attrelid = to_regclass(%s) and attname = 'images' and attnum > 0 and not attisdropped)",
                (synced.as_string(conn), products.as_string(conn)),
            ).fetchone()
            if not legacy:
                return False
            row = conn.execute(
                sql.SQL(
                    "select synced.images_md5 is distinct from md5(products.images::text) from {} as products "
                    "left join {} as synced on synced.product_id = products.id where products.id = %s"
                ).format(products, synced),
                (product_id,),
            ).fetchone()
        return bool(row and row[0])

    def photo_url(self, tenant_schema: str, image_id: int) -> str:
        """The URL of one image (for its thumbnail).

        Raises:
            UnknownTenantError: no such tenant.
            UnknownProductError: no image with that id in the tenant.
        """
        self.require_tenant(tenant_schema)
        with self._connection() as conn:
            row = conn.execute(
                sql.SQL("select url from {} where id = %s").format(sql.Identifier(tenant_schema, "product_images")),
                (image_id,),
            ).fetchone()
        if row is None:
            raise UnknownProductError(tenant_schema, image_id, "image")
        return str(row[0])


def _titles(
    conn: psycopg.Connection, tenant: str, product_ids: list[int], columns: _TenantColumns
) -> dict[int, str | None]:
    """``{product_id: title}`` of the products that exist in ``tenant`` (title None without a ``title`` column)."""
    title = sql.SQL("title::text") if columns.title else sql.SQL("null::text")
    return dict(
        conn.execute(
            _TITLES_QUERY.format(title=title, products=sql.Identifier(tenant, "products")), (product_ids,)
        ).fetchall()
    )


def _photo_rows(
    conn: psycopg.Connection, tenant: str, product_ids: list[int], columns: _TenantColumns
) -> dict[int, list[tuple[Any, ...]]]:
    """``{product_id: [(id, position, url, is_label, label_source, score, evidence), …]}`` in position order."""
    photos: dict[int, list[tuple[Any, ...]]] = {}
    for row in conn.execute(
        _PHOTOS_QUERY.format(
            score=sql.SQL("label_score") if columns.score else sql.SQL("null::real"),
            evidence=sql.SQL("label_evidence") if columns.evidence else sql.SQL("null::jsonb"),
            images=sql.Identifier(tenant, "product_images"),
        ),
        (product_ids,),
    ).fetchall():
        photos.setdefault(row[0], []).append(row[1:])
    return photos


def _review_product(
    tenant: str, product_id: int, title: str | None, rows: list[tuple[Any, ...]], entry: QueueEntry | None
) -> ReviewProduct:
    """The product from its :func:`_photo_rows`; a photo without a ``label_score`` takes the queue's score."""
    scores = entry.photo_scores if entry is not None else {}
    return ReviewProduct(
        tenant,
        product_id,
        title,
        tuple(
            ReviewPhoto(
                int(image_id),
                int(position),
                url,
                bool(is_label),
                label_source,
                float(score) if score is not None else scores.get(int(image_id)),
                evidence,
            )
            for image_id, position, url, is_label, label_source, score, evidence in rows
        ),
        entry,
    )


def _photo_scores(photos: Any) -> dict[int, float]:
    """``{image_id: score}`` from the queue's ``photos`` JSON; entries without both are left out."""
    scores: dict[int, float] = {}
    if isinstance(photos, list):
        for photo in photos:
            if isinstance(photo, dict):
                image_id, score = photo.get("image_id"), photo.get("score")
                if isinstance(image_id, int) and isinstance(score, int | float) and not isinstance(score, bool):
                    scores[image_id] = float(score)
    return scores
