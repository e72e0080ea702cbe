"""One sitting at the review page: the queue, the decisions, undo, and the progress.

A decision is about a product: which of its photos is the price tag, or none.
It becomes one row per photo in the review list (``seeds/label_overrides.csv``):
``is_label = true`` for the chosen photo, ``false`` for the others, with a note
saying who decided and when. Each decision is written atomically
(:func:`~product_images.labels.overrides.set_product_rows`) before
:meth:`ReviewSession.decide` returns, so a crash never loses one that the page
has acknowledged.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from product_images.labels.overrides import (
    Override,
    OverridesChangedError,
    OverridesFileError,
    read_overrides_file,
    review_note,
    set_product_rows,
)
from product_images.labels.review.queue import ReviewDatabase, ReviewProduct, ReviewQueue

__all__ = [
    "APPLY_COMMAND",
    "DecisionError",
    "Progress",
    "ReviewConflict",
    "ReviewSession",
    "UndoResult",
    "review_state",
]

APPLY_COMMAND = "dbt seed && dbt run --select product_images"
"""What applies the review list to the tables (``dbt run`` refuses a list edited but not seeded)."""


class DecisionError(ValueError):
    """A decision that cannot be recorded as asked (the message says why, for the person)."""


class ReviewConflict(RuntimeError):
    """The page acted on a state that changed since (the product's photos, another session's decision):
    nothing was written; the message says what to do (reload)."""


@dataclass(frozen=True)
class Progress:
    """How far the session is: ``reviewed`` of ``total`` products of the queue have rows in the review list."""

    reviewed: int
    total: int
    decided_this_session: int

    def text(self) -> str:
        """e.g. ``37 of 412 reviewed``."""
        return f"{self.reviewed:,} of {self.total:,} reviewed"


@dataclass(frozen=True)
class UndoResult:
    """What an undo put back: the product, and its rows in the review list now (empty: none)."""

    tenant_schema: str
    product_id: int
    rows: list[Override]


@dataclass
class _Undo:
    tenant_schema: str
    product_id: int
    previous: list[Override]
    written: list[Override]


def _photos_changed(product: ReviewProduct, shown_urls: Sequence[str]) -> str | None:
    """What changed between the photos the page showed and the product's now (None: the same photos in the
    same order; a reorder counts, since the page's image ids are matched to URLs by the database's rows now)."""
    urls = [photo.url for photo in product.photos]
    if list(shown_urls) == urls:
        return None
    shown, now = Counter(shown_urls), Counter(urls)
    added, gone = sum((now - shown).values()), sum((shown - now).values())
    # same URLs in another order: an image id may now stand for another photo (the app rewrote positions)
    what = f"{added} added, {gone} gone" if added or gone else "reordered"
    return (
        f"the product's photos changed since the page showed them ({what}): "
        "reload the page and decide again; nothing was saved"
    )


def _label_url(product: ReviewProduct, label_image_id: int | None) -> str | None:
    """The URL of the photo chosen as the price tag (None: no price tag).

    Raises:
        DecisionError: the product has no photos, the image is not one of them, or its URL is
            in the product twice.
    """
    tenant_schema, product_id = product.key
    if not product.photos:
        raise DecisionError(f"{tenant_schema} product {product_id} has no photos to decide")
    if label_image_id is None:
        return None
    chosen = product.photo(label_image_id)
    if chosen is None:
        raise DecisionError(f"image {label_image_id} is not a photo of {tenant_schema} product {product_id}")
    copies = sum(1 for photo in product.photos if photo.url == chosen.url)
    if copies > 1:
        raise DecisionError(
            f"this photo's URL is in {tenant_schema} product {product_id} {copies} times; the review list "
            "is keyed by URL and would mark every copy as the price tag: remove the duplicate in the app first"
        )
    return chosen.url


def review_state(product: ReviewProduct, rows: Sequence[Override]) -> str:
    """A fingerprint of what a page shows of a product's decision: each photo's URL, flag and its source (the
    database's, in position order) and the product's rows in the review list.

    Args:
        product: the product as read from the database; rows: its rows in the review list (any order).

    Returns:
        64 hex digits (SHA-256); equal for two reads only if neither the app, a dbt run nor a review
        session changed the product's flags or its rows in between.
    """
    shown = {
        "photos": [[photo.url, photo.is_label, photo.label_source] for photo in product.photos],
        "rows": sorted([row.url, row.is_label] for row in rows),
    }
    return hashlib.sha256(json.dumps(shown, separators=(",", ":")).encode()).hexdigest()


_NOT_RUN_YET = (
    "the product's photos changed in products.images since the last dbt run (the app added, removed or moved "
    "one): run dbt run --select product_images, then reload the page and decide again; nothing was saved"
)

_DECIDED_SINCE = (
    "someone decided this product since the page showed it (another review session, a hand edit of the list, "
    "a flag set in the app, or a dbt run): reload the page to see their decision, and decide again if it is "
    "wrong; nothing was saved"
)


@dataclass
class ReviewSession:
    """The state of one review sitting (thread-safe: the web app calls it from several threads).

    The review list is read again whenever the file changed on disk (another session, a
    hand edit), so the progress and the next product to review are the file's.

    Args:
        database: where the products are read.
        queue: what to review, in order.
        overrides_path: the review list, ``seeds/label_overrides.csv`` of the checkout.
        user: who decides, for the notes (default: the OS user).
    """

    database: ReviewDatabase
    queue: ReviewQueue
    overrides_path: Path
    user: str | None = None
    touched_tenants: set[str] = field(default_factory=set)
    file_error: str | None = field(default=None, init=False)
    _rows: dict[tuple[str, int], list[Override]] = field(default_factory=dict, init=False, repr=False)
    _stamp: tuple[int, int, int] | None = field(default=None, init=False, repr=False)
    _undo: list[_Undo] = field(default_factory=list, init=False, repr=False)
    _decided: int = field(default=0, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.reload()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.overrides_path)
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def reload(self) -> None:
        """Read the review list again (a missing file counts as empty).

        Raises:
            product_images.labels.overrides.OverridesFileError: the file cannot be read as the
                seed, or has a key on two lines (the rows read before are kept).
        """
        with self._lock:
            stamp = self._file_stamp()
            try:
                rows = read_overrides_file(self.overrides_path, unique=True)
            except FileNotFoundError:
                rows = []
            by_product: dict[tuple[str, int], list[Override]] = {}
            for row in rows:
                by_product.setdefault((row.tenant_schema, row.product_id), []).append(row)
            self._rows, self._stamp, self.file_error = by_product, stamp, None

    def refresh(self) -> None:
        """Read the review list again when the file changed on disk since it was read (its time, size or inode).

        A file that cannot be read keeps the rows read before; :attr:`file_error` says why
        (the pages show it), None once the file reads again.
        """
        with self._lock:
            if self._file_stamp() == self._stamp:
                return
            try:
                self.reload()
            except (OSError, OverridesFileError) as error:
                self.file_error = str(error)

    def rows_of(self, tenant_schema: str, product_id: int) -> list[Override]:
        """The product's rows in the review list (empty when nobody decided it yet)."""
        self.refresh()
        return list(self._rows.get((tenant_schema, product_id), []))

    def is_reviewed(self, tenant_schema: str, product_id: int) -> bool:
        """True when the review list has a row for the product."""
        self.refresh()
        return bool(self._rows.get((tenant_schema, product_id)))

    def progress(self) -> Progress:
        """Products of the queue with rows in the review list, out of the queue's length."""
        self.refresh()
        reviewed = sum(1 for entry in self.queue.entries if entry.key in self._rows)
        return Progress(reviewed, len(self.queue), self._decided)

    def first_unreviewed(self, start: int = 0) -> int | None:
        """The 0-based queue index of the first product from ``start`` on that has no rows, else None."""
        self.refresh()
        for index in range(max(start, 0), len(self.queue)):
            if self.queue.entries[index].key not in self._rows:
                return index
        return None

    def decide(
        self,
        tenant_schema: str,
        product_id: int,
        label_image_id: int | None,
        *,
        shown_urls: Sequence[str],
        shown_state: str | None = None,
        product: ReviewProduct | None = None,
    ) -> list[Override]:
        """Record that ``label_image_id`` is the product's price tag (None: it has none), on disk.

        Args:
            tenant_schema, product_id: the product.
            label_image_id: ``product_images.id`` of the price-tag photo, or None.
            shown_urls: the URLs of the photos the person saw (the page's); the decision
                covers exactly those.
            shown_state: :func:`review_state` of the product when the page showed it (None: not
                checked, the URLs only); a decision made since by anyone refuses this one.
            product: the product as just read (default: read it now).

        Returns:
            The rows written for the product: one per distinct photo URL, by URL. They replace every
            row the product had (a row for a URL it no longer has is dropped).

        Raises:
            UnknownTenantError, UnknownProductError: no such tenant or product.
            ReviewConflict: the product's photos are not ``shown_urls`` any more (one added,
                removed or replaced, or the order changed, since the page showed them), or its flags or
                rows are not ``shown_state`` any more (someone decided it since), or its
                ``products.images`` changed since the last ``dbt run`` (:meth:`ReviewDatabase.changed_since_run`:
                the page cannot show the photos the app put there): nothing is written.
            DecisionError: the image is not one of the product's photos, the product
                has no photos, or the chosen photo's URL occurs twice in the product
                (the review list is keyed by URL: it cannot mark one copy alone).
            OSError, OverridesFileError: the review list could not be written (nothing changed).
        """
        product = product or self.database.product(tenant_schema, product_id, self.queue)
        changed = _photos_changed(product, shown_urls)
        if changed is not None:
            raise ReviewConflict(changed)
        if self.database.changed_since_run(tenant_schema, product_id):
            raise ReviewConflict(_NOT_RUN_YET)
        label_url = _label_url(product, label_image_id)
        note = review_note(self.user)
        rows = sorted(
            {
                photo.url: Override(tenant_schema, product_id, photo.url, photo.url == label_url, note)
                for photo in product.photos
            }.values()
        )
        with self._lock:
            self._write_decision(product, rows, shown_state)
        return rows

    def _write_decision(self, product: ReviewProduct, rows: list[Override], shown_state: str | None) -> None:
        """Write a product's decision (under ``_lock``): its rows replace every row it had (rows of URLs it no
        longer has go), only if the product is still as ``shown_state`` says (None: whatever its rows)."""
        tenant_schema, product_id = product.key
        expect = None
        if shown_state is not None:
            expect = self.rows_of(tenant_schema, product_id)
            if review_state(product, expect) != shown_state:
                raise ReviewConflict(_DECIDED_SINCE)
        try:
            previous = set_product_rows(
                self.overrides_path, tenant_schema, product_id, rows, replace_product=True, expect=expect
            )
        except OverridesChangedError:  # written by another session between our read and the write
            raise ReviewConflict(_DECIDED_SINCE) from None
        self._undo.append(_Undo(tenant_schema, product_id, previous, rows))
        self._decided += 1
        self.touched_tenants.add(tenant_schema)
        self.refresh()

    def undo(self) -> UndoResult | None:
        """Take back this session's last decision: the product's rows become what they were before it.

        Only while the product's rows are still the ones this session wrote: when someone
        changed them since (another session, a hand edit), nothing is written and that
        decision cannot be undone any more.

        Returns:
            The product and its rows now, or None when there is nothing to undo.

        Raises:
            ReviewConflict: the product's rows changed since this session wrote them.
            OSError, OverridesFileError: the review list could not be written (the undo stays possible).
        """
        with self._lock:
            if not self._undo:
                return None
            last = self._undo[-1]
            try:
                set_product_rows(
                    self.overrides_path,
                    last.tenant_schema,
                    last.product_id,
                    last.previous,
                    replace_product=True,
                    expect=last.written,
                )
            except OverridesChangedError:
                self._undo.pop()
                raise ReviewConflict(
                    f"someone changed this product's decision since ({last.tenant_schema} product "
                    f"{last.product_id}, in the review list): nothing was undone; reload the page to see it"
                ) from None
            self._undo.pop()
            self._decided -= 1
            self.refresh()
        return UndoResult(last.tenant_schema, last.product_id, list(last.previous))

    @property
    def can_undo(self) -> bool:
        """True when this session has a decision to take back."""
        return bool(self._undo)

    def overwritten(self) -> list[tuple[str, int]]:
        """The products whose decision this session wrote (and did not undo) but whose rows in the review list
        are not the ones written any more: someone changed them since (another session, a hand edit, an editor
        saving a copy of the list it had read before), in the order they were decided."""
        with self._lock:
            self.refresh()
            last = {(entry.tenant_schema, entry.product_id): entry.written for entry in self._undo}
            return [key for key, written in last.items() if sorted(self._rows.get(key, [])) != sorted(written)]
