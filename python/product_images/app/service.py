"""The app's write path to one tenant's ``product_images`` table.

:class:`ProductImageService` adds, deletes, reorders and labels the photos of a
product while keeping the two invariants the rest of the project relies on:

- **contiguous positions**: a product's images have ``position`` exactly
  ``0 .. n-1`` (the table enforces uniqueness with ``UNIQUE (product_id,
  position) DEFERRABLE INITIALLY DEFERRED``; contiguity is this module's job);
- **at most one label per product**: at most one row with ``is_label = true``
  (the dbt migration keeps it by rule, see ``label_flag`` in
  ``macros/migration/legacy_images.sql``; the app keeps it here).

Every decision this service records about a label sets ``label_source = 'app'``:
the migration never overwrites such a row (``macros/migration/tenant_sync.sql``
updates only rows whose ``label_source <> 'app'``), so a person's choice made
in the app survives later ``dbt run`` invocations.

A label the rule or the evidence decided (``label_source`` ``rule`` or
``evidence``) depends on the product's photos and their positions (the legacy
rule: the last photo). When :meth:`~ProductImageService.add_image`,
:meth:`~ProductImageService.delete_image` or
:meth:`~ProductImageService.reorder_images` changes them, the product's rows so
decided get ``label_scores_pending = true``: the next ``dbt run`` decides that
product's label again (``macros/migration/label_decisions.sql``; never a row a
person decided) and clears the flag. Until then ``dbt test`` and the checkpoint's
``one_label_per_product`` may name the product (say, the rule's label on a photo
moved to the front). The service never decides by the rule itself.

Concurrency: each method is one transaction that, before anything else,

1. takes the tenant's migration advisory lock in *shared* mode
   (``pg_advisory_xact_lock_shared(hashtextextended('product_images:' ||
   tenant, 0))``, the key ``tenant_sync.sql`` takes exclusively), so an app
   write never interleaves with a ``dbt run`` step on the same tenant (which
   could otherwise leave two labels), while app writes do not block each other;
2. locks the parent ``products`` row (``SELECT ... FOR NO KEY UPDATE``), so two
   calls on the same product run one after the other, even on a product that
   has no image yet. ``FOR NO KEY UPDATE`` serializes these calls exactly like
   ``FOR UPDATE`` but does not block other tables' foreign-key checks against
   the product (an order row referencing it, say).

The methods are written for PostgreSQL's default READ COMMITTED isolation:
after waiting for the lock, each statement sees what the previous holder
committed. Under REPEATABLE READ or SERIALIZABLE a concurrent call may fail with
``psycopg.errors.SerializationFailure`` instead, to be retried by the caller.

Transactions: with an autocommit connection, or a non-autocommit one with no
transaction in progress, a method commits its own work before returning. When
the caller already has a transaction open, the method runs in a savepoint and
the caller's ``commit()`` / ``rollback()`` decides (the locks are then held
until that moment).

When: from the cut-over on (the README's runbook, step 7), when the app reads and writes
``product_images`` and stops writing ``products.images``. The service never writes the JSONB:
before the cut-over the app keeps writing ``products.images`` and ``dbt run`` brings the table
up to date; after it, ``dbt run-operation restore_images_jsonb`` (step 8) writes the table's
state back into the JSONB, which the old app (a rollback of step 7) would otherwise read as it
was at the cut-over.

The errors (:mod:`product_images.app.errors`) and the limits on an image's fields
(:mod:`product_images.app.validation`) are importable from here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from product_images.app.errors import (
    InvalidImageError,
    InvalidOrderError,
    ProductImageError,
    UnknownImageError,
    UnknownProductError,
    UnknownTenantError,
)
from product_images.app.images import ProductImage
from product_images.app.validation import (
    ALLOWED_MIME_TYPES,
    ALLOWED_URL_SCHEMES,
    MAX_DIMENSION_PX,
    MAX_FILE_SIZE_BYTES,
    MAX_URL_LENGTH,
    NewImage,
    check_new_image,
    require_id,
)

__all__ = [
    "ALLOWED_MIME_TYPES",
    "ALLOWED_URL_SCHEMES",
    "MAX_DIMENSION_PX",
    "MAX_FILE_SIZE_BYTES",
    "MAX_URL_LENGTH",
    "InvalidImageError",
    "InvalidOrderError",
    "ProductImageError",
    "ProductImageService",
    "UnknownImageError",
    "UnknownProductError",
    "UnknownTenantError",
]


_UNIQUE_POSITION_CONSTRAINT = "product_images_product_id_position_key"
"""Name of the ``UNIQUE (product_id, position)`` constraint (``product_images_ddl.sql``)."""


# --------------------------------------------------------------------------- #
# The service
# --------------------------------------------------------------------------- #

_COLUMNS = sql.SQL("id, product_id, url, position, is_label, alt_text, tags, mime_type, file_size, width, height")


class ProductImageService:
    """Add, delete, reorder and label the images of one tenant's products.

    Args:
        conn: an open psycopg 3 connection, autocommit or not (see the module
            docstring for how transactions and locks behave).
        tenant_schema: the tenant's schema name, e.g. ``"user_1"`` (used as a
            quoted identifier, never spliced into SQL).

    Raises:
        UnknownTenantError: the schema does not exist, or lacks the
            ``products`` or ``product_images`` table (the migration has not run
            on it yet).

    Every method takes or returns :class:`~product_images.app.images.ProductImage`
    records and raises a :class:`ProductImageError` subclass on bad input,
    leaving the database unchanged (and ``TypeError`` when an id is not an
    ``int``: a programming error, not bad data). Positions are 0-based and contiguous per
    product; at most one image per product is the label.
    """

    def __init__(self, conn: psycopg.Connection, tenant_schema: str) -> None:
        self._conn = conn
        self.tenant_schema = tenant_schema
        if not isinstance(tenant_schema, str) or not tenant_schema:
            raise UnknownTenantError(str(tenant_schema), f"unknown tenant {tenant_schema!r}: not a schema name")
        self._products = sql.Identifier(tenant_schema, "products")
        self._images = sql.Identifier(tenant_schema, "product_images")
        self._position_constraint = self._inspect_tenant()

    # ----------------------------------------------------------------- reads

    def get_images(self, product_id: int) -> list[ProductImage]:
        """All images of a product, labels included, by ascending ``position``.

        Input: a product id. Output: a list of :class:`ProductImage` (empty when
        the product has no image). Raises :class:`UnknownProductError`.
        """
        with self._conn.transaction(), self._conn.cursor() as cur:
            self._require_product(cur, product_id)
            return self._images_of(product_id)

    def get_product_photos(self, product_id: int) -> list[ProductImage]:
        """The product photos of a product: its images except the label, by ``position``.

        ``position`` values are the table's (so they skip the label's slot).
        Input: a product id. Output: a list of :class:`ProductImage`, possibly
        empty. Raises :class:`UnknownProductError`.
        """
        return [image for image in self.get_images(product_id) if not image.is_label]

    def get_label_image(self, product_id: int) -> ProductImage | None:
        """The product's price-tag label image, or ``None`` when it has none.

        Input: a product id. Output: a :class:`ProductImage` with ``is_label``
        true, or ``None``. Raises :class:`UnknownProductError`.
        """
        labels = [image for image in self.get_images(product_id) if image.is_label]
        return labels[0] if labels else None

    # ---------------------------------------------------------------- writes

    def add_image(
        self,
        product_id: int,
        url: str,
        *,
        position: int | None = None,
        is_label: bool = False,
        alt_text: str | None = None,
        tags: Iterable[str] = (),
        mime_type: str | None = None,
        file_size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> ProductImage:
        """Add an image to a product and return the new row.

        Args:
            product_id: the product.
            url: absolute ``http://`` or ``https://`` URL with a host, no
                whitespace or control character (C0, C1) or unpaired surrogate,
                at most :data:`MAX_URL_LENGTH` characters.
            position: 0-based slot, from 0 to the current number of images
                ``n``; the images at and after it move up by one. ``None``
                (default) appends at ``n``.
            is_label: ``True`` makes this image the product's label and clears
                the previous label (that row gets ``label_source = 'app'``).
            alt_text: accessibility text, or ``None``.
            tags: strings (not a single string); stored as ``text[]``.
                ``alt_text`` and each tag hold no NUL (``\\x00``) and no unpaired
                surrogate: PostgreSQL's ``text`` cannot store them.
            mime_type: one of :data:`ALLOWED_MIME_TYPES` (case-insensitive,
                stored lower-case), or ``None`` for unknown.
            file_size: bytes, 1 to :data:`MAX_FILE_SIZE_BYTES`, or ``None``.
            width, height: pixels, 1 to :data:`MAX_DIMENSION_PX`, or ``None``.

        Returns:
            The inserted :class:`ProductImage`. The row's ``label_source`` is
            ``'app'`` (the migration never changes its label flag);
            ``source_index`` and ``legacy_element`` are null. The next ``dbt
            run`` decides the product's label again where the rule or the
            evidence decided it (see the module docstring).

        Raises:
            InvalidImageError: an argument is out of its allowed values (the
                message names the field and the allowed values).
            UnknownProductError: no such product.
        """
        image = check_new_image(url, position, is_label, alt_text, tags, mime_type, file_size, width, height)
        with self._write(product_id) as cur:
            position = self._make_room(cur, product_id, image.position)
            if image.is_label:
                self._clear_labels(cur, product_id)
            new_id = self._insert(cur, product_id, position, image)
            self._renumber(cur, product_id)
            self._mark_for_relabel(cur, product_id)
            return self._image(new_id)  # type: ignore[return-value]

    def delete_image(self, image_id: int) -> ProductImage:
        """Delete an image and close the gap: the images after it move down by one.

        Input: an image id. Output: the deleted row as it was (a
        :class:`ProductImage`). Deleting the label leaves the product without
        one (the app does not promote another image), and that is recorded as
        the app's decision: the product's other rows get ``label_source = 'app'``
        (``is_label`` false), so no later ``dbt run`` flags one of them by the
        legacy rule or the evidence. Deleting another photo leaves the label
        where it is; the next ``dbt run`` decides it again where the rule or the
        evidence decided it (see the module docstring).

        Raises:
            UnknownImageError: no such image.
        """
        with self._write_image(image_id) as (cur, image):
            cur.execute(sql.SQL("delete from {} where id = %s").format(self._images), (image_id,))
            if image.is_label:
                cur.execute(
                    sql.SQL("update {} set label_source = 'app' where product_id = %s").format(self._images),
                    (image.product_id,),
                )
            self._renumber(cur, image.product_id)
            self._mark_for_relabel(cur, image.product_id)
            return image

    def reorder_images(self, product_id: int, image_ids_in_new_order: Sequence[int]) -> list[ProductImage]:
        """Give a product's images a new order: the first id gets position 0, and so on.

        Args:
            product_id: the product.
            image_ids_in_new_order: every image id of the product (labels
                included), each exactly once.

        Returns:
            The product's images in the new order (positions ``0 .. n-1``).

        Raises:
            InvalidOrderError: the ids are not a permutation of the product's
                image ids; it lists the missing, extra and duplicated ids and
                nothing is changed.
            UnknownProductError: no such product.
            TypeError: an id is not an ``int``.

        All positions are rewritten in one ``UPDATE``: the ``UNIQUE (product_id,
        position)`` constraint is deferred, so transient duplicates are allowed
        until it is checked at the end of the method. The label stays on its
        photo; when a position changed, the next ``dbt run`` decides it again
        where the rule or the evidence decided it (the legacy rule's label goes
        to the photo now last; see the module docstring).
        """
        wanted = list(image_ids_in_new_order)
        for image_id in wanted:
            require_id("image id", image_id)
        with self._write(product_id) as cur:
            current = [
                row[0]
                for row in cur.execute(
                    sql.SQL("select id from {} where product_id = %s").format(self._images), (product_id,)
                )
            ]
            counts = Counter(wanted)
            missing = set(current) - counts.keys()
            extra = counts.keys() - set(current)
            duplicated = [image_id for image_id, seen in counts.items() if seen > 1]
            if missing or extra or duplicated:
                raise InvalidOrderError(product_id, len(current), missing=missing, extra=extra, duplicated=duplicated)
            cur.execute(
                sql.SQL(
                    "update {} as images set position = (new_order.slot - 1)::integer, updated_at = now() "
                    "from unnest(%s::bigint[]) with ordinality as new_order (id, slot) "
                    "where images.id = new_order.id and images.product_id = %s "
                    "and images.position <> new_order.slot - 1"
                ).format(self._images),
                (wanted, product_id),
            )
            if cur.rowcount:
                self._mark_for_relabel(cur, product_id)
            return self._images_of(product_id)

    def set_label_flag(self, image_id: int, is_label: bool) -> ProductImage:
        """Record a person's decision that an image is (or is not) the product's label.

        The row gets ``is_label`` and ``label_source = 'app'``, so the migration
        keeps that decision. With ``is_label=True`` the product's previous label,
        if any, is cleared and also gets ``label_source = 'app'`` (a person's
        decision changed it). With ``is_label=False`` the product may end up with
        no label.

        Input: an image id and a bool. Output: the updated :class:`ProductImage`.

        Raises:
            UnknownImageError: no such image.
            InvalidImageError: ``is_label`` is not a bool.
        """
        if not isinstance(is_label, bool):
            raise InvalidImageError("is_label", is_label, "True or False")
        with self._write_image(image_id) as (cur, image):
            if is_label:
                self._clear_labels(cur, image.product_id)
            cur.execute(
                sql.SQL("update {} set is_label = %s, label_source = 'app', updated_at = now() where id = %s").format(
                    self._images
                ),
                (is_label, image_id),
            )
            return self._image(image_id)  # type: ignore[return-value]

    # ------------------------------------------------------------- internals

    def _inspect_tenant(self) -> str | None:
        """Check the tenant's tables exist; return the deferrable position constraint's name, if any."""
        with self._conn.transaction(), self._conn.cursor() as cur:
            schema = cur.execute(
                "select 1 from pg_catalog.pg_namespace where nspname = %s", (self.tenant_schema,)
            ).fetchone()
            if schema is None:
                raise UnknownTenantError(
                    self.tenant_schema, f"unknown tenant {self.tenant_schema!r}: no schema of that name"
                )
            tables = {
                row[0]
                for row in cur.execute(
                    "select c.relname from pg_catalog.pg_class as c "
                    "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
                    "where n.nspname = %s and c.relname in ('products', 'product_images') "
                    "and c.relkind in ('r', 'p')",
                    (self.tenant_schema,),
                )
            }
            for table in ("products", "product_images"):
                if table not in tables:
                    raise UnknownTenantError(
                        self.tenant_schema,
                        f"unknown tenant {self.tenant_schema!r}: schema has no {table} table"
                        + (
                            " (has `dbt run --select product_images` migrated it?)" if table == "product_images" else ""
                        ),
                    )
            row = cur.execute(
                "select con.conname from pg_catalog.pg_constraint as con "
                "join pg_catalog.pg_class as c on c.oid = con.conrelid "
                "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relname = 'product_images' and con.conname = %s "
                "and con.contype = 'u' and con.condeferrable",
                (self.tenant_schema, _UNIQUE_POSITION_CONSTRAINT),
            ).fetchone()
            return row[0] if row else None

    @contextmanager
    def _write(self, product_id: int) -> Iterator[psycopg.Cursor[Any]]:
        """One write transaction on a product: shared migration lock, product row lock,
        then the body; the deferred position constraint is checked before commit."""
        with self._conn.transaction(), self._conn.cursor() as cur:
            self._lock_tenant(cur)
            self._require_product(cur, product_id, lock=True)
            yield cur
            self._check_positions(cur)

    @contextmanager
    def _write_image(self, image_id: int) -> Iterator[tuple[psycopg.Cursor[Any], ProductImage]]:
        """Like :meth:`_write`, for the product of an image; yields the image as locked."""
        require_id("image_id", image_id)
        with self._conn.transaction(), self._conn.cursor() as cur:
            self._lock_tenant(cur)
            # The image's product is found first, then locked, then the image is
            # read again: a concurrent call may have deleted it meanwhile.
            row = cur.execute(
                sql.SQL("select product_id from {} where id = %s").format(self._images), (image_id,)
            ).fetchone()
            if row is None:
                raise UnknownImageError(self.tenant_schema, image_id)
            self._require_product(cur, row[0], lock=True)
            image = self._image(image_id)
            if image is None:
                raise UnknownImageError(self.tenant_schema, image_id)
            yield cur, image
            self._check_positions(cur)

    def _lock_tenant(self, cur: psycopg.Cursor[Any]) -> None:
        """Shared side of the lock ``tenant_sync.sql`` holds exclusively while it migrates this tenant."""
        cur.execute(
            "select pg_advisory_xact_lock_shared(hashtextextended('product_images:' || %s, 0))",
            (self.tenant_schema,),
        )

    def _require_product(self, cur: psycopg.Cursor[Any], product_id: int, *, lock: bool = False) -> None:
        """Raise UnknownProductError unless the product exists; with ``lock``, lock its row."""
        require_id("product_id", product_id)
        query = sql.SQL("select 1 from {} where id = %s" + (" for no key update" if lock else "")).format(
            self._products
        )
        if cur.execute(query, (product_id,)).fetchone() is None:
            raise UnknownProductError(self.tenant_schema, product_id)

    def _make_room(self, cur: psycopg.Cursor[Any], product_id: int, position: int | None) -> int:
        """The slot of a new image (None: after the last), the images at and after it moved up by one.

        Raises InvalidImageError when the slot is past the product's images."""
        (count,) = cur.execute(
            sql.SQL("select count(*) from {} where product_id = %s").format(self._images), (product_id,)
        ).fetchone()  # type: ignore[misc]
        if position is None:
            position = count
        elif not 0 <= position <= count:
            raise InvalidImageError(
                "position", position, f"an integer from 0 to {count} (product {product_id} has {count} images)"
            )
        cur.execute(
            sql.SQL(
                "update {} set position = position + 1, updated_at = now() where product_id = %s and position >= %s"
            ).format(self._images),
            (product_id, position),
        )
        return position

    def _insert(self, cur: psycopg.Cursor[Any], product_id: int, position: int, image: NewImage) -> int:
        """Insert the new image's row at ``position`` (label_source 'app'); returns its id."""
        return cur.execute(
            sql.SQL(
                "insert into {} (product_id, url, position, is_label, label_source, alt_text, tags, "
                "mime_type, file_size, width, height) "
                "values (%s, %s, %s, %s, 'app', %s, %s, %s, %s, %s, %s) returning id"
            ).format(self._images),
            (
                product_id,
                image.url,
                position,
                image.is_label,
                image.alt_text,
                image.tags,
                image.mime_type,
                image.file_size,
                image.width,
                image.height,
            ),
        ).fetchone()[0]  # type: ignore[index]

    def _mark_for_relabel(self, cur: psycopg.Cursor[Any], product_id: int) -> None:
        """Have the next ``dbt run`` decide the product's label again (its photos changed here).

        Sets ``label_scores_pending`` on the product's rows whose label the rule or the
        evidence decided (``label_source`` ``rule`` or ``evidence``): the run's incremental
        relabel (``incremental_label_products`` in ``macros/migration/incremental.sql``)
        decides every product with such a row again, by ``label_decisions_sql``, and clears
        the flag, and the tenant's watermark (``tenant_unchanged_sql``) does not count a
        tenant with one as unchanged. A write to ``product_images`` changes neither the
        product's JSONB nor the watermark, so without the flag no run would look at the
        product again. Whether the change moves the label is the rule's business, not this
        service's: a product whose rows people decided (``override``, ``app``) only is not
        marked, and the run keeps what people decided.
        """
        cur.execute(
            sql.SQL(
                "update {} set label_scores_pending = true "
                "where product_id = %s and label_source in ('rule', 'evidence') and not label_scores_pending"
            ).format(self._images),
            (product_id,),
        )

    def _clear_labels(self, cur: psycopg.Cursor[Any], product_id: int) -> None:
        """Unset every label of the product, as a person's decision (label_source 'app')."""
        cur.execute(
            sql.SQL(
                "update {} set is_label = false, label_source = 'app', updated_at = now() "
                "where product_id = %s and is_label"
            ).format(self._images),
            (product_id,),
        )

    def _renumber(self, cur: psycopg.Cursor[Any], product_id: int) -> None:
        """Rewrite the product's positions as 0..n-1, keeping their order (one UPDATE)."""
        cur.execute(
            sql.SQL(
                "with renumbered as ("
                " select id, (row_number() over (order by position, id) - 1)::integer as new_position"
                " from {images} where product_id = %s) "
                "update {images} as images set position = renumbered.new_position, updated_at = now() "
                "from renumbered where images.id = renumbered.id and images.position <> renumbered.new_position"
            ).format(images=self._images),
            (product_id,),
        )

    def _check_positions(self, cur: psycopg.Cursor[Any]) -> None:
        """Check the deferred UNIQUE (product_id, position) now, then defer it again.

        Raises ``psycopg.errors.UniqueViolation`` here, inside the method, rather
        than at the caller's commit."""
        if self._position_constraint is None:
            return
        name = sql.Identifier(self.tenant_schema, self._position_constraint)
        cur.execute(sql.SQL("set constraints {} immediate").format(name))
        cur.execute(sql.SQL("set constraints {} deferred").format(name))

    def _images_of(self, product_id: int) -> list[ProductImage]:
        with self._conn.cursor(row_factory=class_row(ProductImage)) as cur:
            return cur.execute(
                sql.SQL("select {} from {} where product_id = %s order by position, id").format(_COLUMNS, self._images),
                (product_id,),
            ).fetchall()

    def _image(self, image_id: int) -> ProductImage | None:
        with self._conn.cursor(row_factory=class_row(ProductImage)) as cur:
            return cur.execute(
                sql.SQL("select {} from {} where id = %s").format(_COLUMNS, self._images), (image_id,)
            ).fetchone()
