"""The review list ``seeds/label_overrides.csv`` and what ``dbt seed`` loaded of it.

A row says a person looked at one image: ``tenant_schema, product_id, url,
is_label, note``. The dbt run refuses to start when the file and the loaded seed
table disagree (``macros/seeds/seed_loads.sql`` compares checksums); this module
says *which* rows differ, for ``product-images overrides diff``, and writes the
file for the review page (:func:`write_overrides_file`, :func:`set_product_rows`):
atomically (a temporary file in the same folder, fsynced, then ``os.replace``),
one row per (tenant_schema, product_id, url), ordered by that key so a git diff
shows only the rows that changed.
"""

from __future__ import annotations

import contextlib
import csv
import getpass
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

__all__ = [
    "OVERRIDES_COLUMNS",
    "Override",
    "OverridesChangedError",
    "OverridesDiff",
    "OverridesFileError",
    "UnmatchedOverride",
    "diff_overrides",
    "loaded_file_checksum",
    "loaded_overrides",
    "read_overrides_file",
    "review_list_lock",
    "review_note",
    "seed_file_checksum",
    "set_product_rows",
    "unmatched_overrides",
    "write_overrides_file",
]

OVERRIDES_COLUMNS = ("tenant_schema", "product_id", "url", "is_label", "note")
"""The seed's columns, in the file's order (``seeds/label_overrides.yml``)."""

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class OverridesFileError(ValueError):
    """The CSV cannot be read as the seed: wrong header, bad value, a key twice (names the line and column)."""


class OverridesChangedError(RuntimeError):
    """A product's rows in the review list are not what the writer expected (someone else changed them)."""


@dataclass(frozen=True, order=True)
class Override:
    """One reviewed image: the key (tenant_schema, product_id, url), the decision and its note."""

    tenant_schema: str
    product_id: int
    url: str
    is_label: bool
    note: str = ""

    @property
    def key(self) -> tuple[str, int, str]:
        """``(tenant_schema, product_id, url)``: one row per image in the seed."""
        return (self.tenant_schema, self.product_id, self.url)


@dataclass
class OverridesDiff:
    """How the file differs from the loaded seed, each list ordered by key.

    Attributes:
        added: rows in the file, not loaded.
        removed: rows loaded, not in the file any more.
        changed: ``(loaded, file)`` pairs with the same key and another is_label or note.
    """

    added: list[Override] = field(default_factory=list)
    removed: list[Override] = field(default_factory=list)
    changed: list[tuple[Override, Override]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """True when the file is exactly what is loaded."""
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """One line per difference, e.g. ``added: user_1 product 6 https://… is_label=true``."""
        out = [
            f"added: {row.tenant_schema} product {row.product_id} {row.url} is_label={str(row.is_label).lower()}"
            for row in self.added
        ]
        out += [
            f"removed: {row.tenant_schema} product {row.product_id} {row.url} is_label={str(row.is_label).lower()}"
            for row in self.removed
        ]
        out += [
            f"changed: {new.tenant_schema} product {new.product_id} {new.url} "
            f"is_label {str(old.is_label).lower()} -> {str(new.is_label).lower()}"
            + (f", note {old.note!r} -> {new.note!r}" if old.note != new.note else "")
            for old, new in self.changed
        ]
        return out


def _parse_bool(text: str, where: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise OverridesFileError(f"{where}: is_label must be true or false, got {text!r}")


def read_overrides_file(path: Path, *, unique: bool = False) -> list[Override]:
    """Read the review list CSV as ``dbt seed`` would load it.

    Args:
        path: the CSV, e.g. ``seeds/label_overrides.csv``, UTF-8 with or without a byte order
            mark (``dbt seed`` skips one too); its header must be :data:`OVERRIDES_COLUMNS`.
        unique: refuse a key (tenant_schema, product_id, url) on two lines (a
            hand-edited file; ``dbt run`` refuses it too).

    Returns:
        The rows in file order (blank lines skipped).

    Raises:
        FileNotFoundError: no such file.
        OverridesFileError: another header, a row with the wrong number of fields,
            an empty tenant_schema or url, a product_id that is not an integer, an
            is_label that is not true/false, with ``unique`` a key twice; the message
            names the line(s).
    """
    rows: list[Override] = []
    lines: dict[tuple[str, int, str], list[int]] = {}
    # utf-8-sig: a byte order mark (a spreadsheet's save) is skipped, as dbt seed skips it
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(name.strip() for name in header) != OVERRIDES_COLUMNS:
            raise OverridesFileError(f"{path}: the header must be {','.join(OVERRIDES_COLUMNS)}, got {header}")
        for record in reader:
            if not record or all(not value.strip() for value in record):
                continue
            row = _parse_record(record, f"{path}, line {reader.line_num}")
            lines.setdefault(row.key, []).append(reader.line_num)
            rows.append(row)
    if unique:
        _refuse_duplicates(path, lines)
    return rows


def _parse_record(record: list[str], where: str) -> Override:
    """One CSV record as an :class:`Override` (``where`` names the line in errors)."""
    if len(record) != len(OVERRIDES_COLUMNS):
        raise OverridesFileError(f"{where}: expected {len(OVERRIDES_COLUMNS)} fields, got {len(record)}")
    tenant, product, url, is_label, note = record
    if not tenant.strip() or not url.strip():
        raise OverridesFileError(f"{where}: tenant_schema and url must not be empty")
    try:
        product_id = int(product)
    except ValueError:
        raise OverridesFileError(f"{where}: product_id must be an integer, got {product!r}") from None
    return Override(tenant, product_id, url, _parse_bool(is_label, where), note)


def _refuse_duplicates(path: Path, lines: dict[tuple[str, int, str], list[int]]) -> None:
    """Raise :class:`OverridesFileError` naming the first key found on several lines, if any."""
    for (tenant, product_id, url), numbers in lines.items():
        if len(numbers) > 1:
            listed = ", ".join(str(number) for number in numbers[:-1]) + f" and {numbers[-1]}"
            raise OverridesFileError(
                f"{path}: {tenant} product {product_id} {url} is on lines {listed}; the list has one row per "
                "image: keep the right one and delete the other(s)"
            )


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """Whether ``<schema>.<table>`` exists (both names quoted as identifiers)."""
    name = sql.Identifier(schema, table).as_string(conn)
    found = conn.execute("select to_regclass(%s)", (name,)).fetchone()
    return bool(found and found[0] is not None)


def loaded_overrides(conn: psycopg.Connection, schema: str) -> list[Override] | None:
    """The rows ``dbt seed`` loaded into ``<schema>.label_overrides``, ordered by key; None if never loaded."""
    if not _table_exists(conn, schema, "label_overrides"):
        return None
    rows = conn.execute(
        sql.SQL("select tenant_schema, product_id, url, is_label, coalesce(note, '') from {} order by 1, 2, 3").format(
            sql.Identifier(schema, "label_overrides")
        )
    ).fetchall()
    return [Override(*row) for row in rows]


def seed_file_checksum(path: Path) -> str | None:
    """dbt's checksum of the seed file ``path``, as ``dbt seed`` records it in
    ``product_images_seed_loads.file_checksum`` and as ``dbt run`` compares it (macros/seeds/seed_loads.sql):
    64 hex digits, the SHA-256 of the file's text with the whitespace at both ends stripped (dbt-core's
    ``load_seed_source_file``), so line endings, a BOM, quoting and the rows' order count. None over dbt's
    ``MAXIMUM_SEED_SIZE`` (1 MiB), where dbt keeps the path instead. Raises OSError when the file cannot be read
    and UnicodeDecodeError when it is not UTF-8."""
    from dbt.constants import MAXIMUM_SEED_SIZE
    from dbt.contracts.files import FileHash
    from dbt_common.clients.system import load_file_contents

    if path.stat().st_size > MAXIMUM_SEED_SIZE:
        return None
    return FileHash.from_contents(load_file_contents(str(path), strip=True)).checksum


def loaded_file_checksum(conn: psycopg.Connection, schema: str) -> str | None:
    """The checksum of the file the last ``dbt seed`` of ``label_overrides`` loaded, from
    ``<schema>.product_images_seed_loads``; None when it was never recorded."""
    if not _table_exists(conn, schema, "product_images_seed_loads"):
        return None
    row = conn.execute(
        sql.SQL("select file_checksum from {} where seed_name = 'label_overrides'").format(
            sql.Identifier(schema, "product_images_seed_loads")
        )
    ).fetchone()
    return row[0] if row else None


def diff_overrides(file_rows: list[Override], loaded: list[Override] | None) -> OverridesDiff:
    """Compare the file with the loaded seed by key (tenant_schema, product_id, url).

    Args:
        file_rows: :func:`read_overrides_file`'s rows.
        loaded: :func:`loaded_overrides`'s rows (None: never loaded, as if empty).

    Returns:
        An :class:`OverridesDiff`. A key twice in the file is compared by its last
        row (``dbt run`` refuses such a file anyway); a note as ``dbt seed`` loads it
        (``null`` or blank: none).
    """
    in_file = {row.key: row for row in file_rows}
    in_db = {row.key: row for row in loaded or []}
    diff = OverridesDiff()
    for key in sorted(in_file.keys() | in_db.keys()):
        new, old = in_file.get(key), in_db.get(key)
        if old is None and new is not None:
            diff.added.append(new)
        elif new is None and old is not None:
            diff.removed.append(old)
        elif old is not None and new is not None and (old.is_label, old.note) != (new.is_label, _as_loaded(new.note)):
            diff.changed.append((old, new))
    return diff


def _as_loaded(note: str) -> str:
    """A note as :func:`loaded_overrides` reads it back after ``dbt seed``: dbt loads an empty value and any
    ``null`` (whatever its case and the spaces around it) as NULL, read back as ``''``."""
    return "" if note.strip().lower() in ("", "null") else note


def review_note(user: str | None = None, day: date | None = None) -> str:
    """The note of a row the review page writes: who and when, e.g. ``reviewed by alice on 2026-12-01``.

    Args:
        user: who decided (default: the OS user, ``getpass.getuser()``; ``unknown`` when it cannot be found).
        day: when (default: today, local time); written as an ISO 8601 date.
    """
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER variable
            user = "unknown"
    return f"reviewed by {user} on {(day or date.today()).isoformat()}"


def _render(rows: Iterable[Override]) -> tuple[list[Override], str]:
    """Deduplicate by key (the last row wins), order by key, and render the CSV text."""
    by_key: dict[tuple[str, int, str], Override] = {}
    for row in rows:
        by_key[row.key] = row
    ordered = [by_key[key] for key in sorted(by_key)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OVERRIDES_COLUMNS)
    for row in ordered:
        writer.writerow([row.tenant_schema, row.product_id, row.url, "true" if row.is_label else "false", row.note])
    return ordered, buffer.getvalue()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_overrides_file(path: Path, rows: Iterable[Override]) -> list[Override]:
    """Write the review list atomically: deduplicated, ordered, on disk when this returns.

    The text goes to a temporary file in the same folder, which is fsynced and then
    renamed over ``path`` (``os.replace``); the folder is fsynced too. A reader (or
    ``dbt seed``) sees the old file or the new one, never half of one, and a crash
    at any point leaves one of the two. The file keeps the mode of the one it
    replaces (0644 for a new one, less the umask).

    Args:
        path: the CSV, e.g. ``seeds/label_overrides.csv``; its folder must exist.
        rows: the rows; several rows with one key (tenant_schema, product_id, url)
            become one, the last given.

    Returns:
        The rows written, ordered by key (tenant_schema, then product_id as a
        number, then url; strings by code point).

    Raises:
        OSError: the folder is missing or not writable, the disk is full (the
            temporary file is removed, ``path`` is left as it was).
    """
    ordered, text = _render(rows)
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o644 & ~umask
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, mode)
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
    _fsync_dir(folder)
    return ordered


@contextlib.contextmanager
def review_list_lock(path: Path) -> Iterator[None]:
    """Hold the lock every review page takes to write the review list ``path`` (an exclusive ``flock`` on its
    folder): while it is held no page writes the list. ``--apply`` holds it through ``dbt seed``, which reads
    the file's checksum when it parses the project and the file again when it loads it: a decision written in
    between would be loaded under the checksum of the file before it, and a later ``dbt run`` of that older
    file (the decision undone) would apply it without a word."""
    with _folder_lock(path.parent):
        yield


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the folder itself, so two writers never interleave a read-modify-write."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one writer at a time is then the user's business
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def set_product_rows(
    path: Path,
    tenant_schema: str,
    product_id: int,
    rows: Sequence[Override],
    *,
    replace_product: bool = False,
    expect: Sequence[Override] | None = None,
) -> list[Override]:
    """Record one product's decision in the review list, atomically (:func:`write_overrides_file`).

    Reads the file (a missing file counts as empty), puts ``rows`` in, writes it
    back, under an exclusive lock on the folder so two review sessions on one
    checkout never lose each other's rows.

    Args:
        path: the CSV, e.g. ``seeds/label_overrides.csv``.
        tenant_schema, product_id: the product decided.
        rows: its rows (every one must be of that product); each replaces the row
            with its key, if any.
        replace_product: drop every other row of the product as well (what an
            undo needs, to put back exactly what was there).
        expect: write only if the product's rows on disk are exactly these (in any
            order); None: whatever they are.

    Returns:
        The product's rows as they were before, ordered by key (empty when it had none).

    Raises:
        ValueError: a row of another product.
        OverridesFileError: the file on disk cannot be read as the seed, or has a key
            on two lines (it is left as it is; the message names the lines).
        OverridesChangedError: the product's rows are not ``expect`` (nothing written).
        OSError: as :func:`write_overrides_file`.
    """
    for row in rows:
        if (row.tenant_schema, row.product_id) != (tenant_schema, product_id):
            raise ValueError(f"row {row.key} is not of {tenant_schema} product {product_id}")
    with _folder_lock(path.parent):
        try:
            current = read_overrides_file(path, unique=True)
        except FileNotFoundError:
            current = []
        product = (tenant_schema, product_id)
        of_product = sorted(row for row in current if (row.tenant_schema, row.product_id) == product)
        if expect is not None and of_product != sorted(expect):
            raise OverridesChangedError(f"the rows of {tenant_schema} product {product_id} changed in {path}")
        if replace_product:
            current = [row for row in current if (row.tenant_schema, row.product_id) != product]
        write_overrides_file(path, [*current, *rows])
    return of_product


@dataclass(frozen=True)
class UnmatchedOverride:
    """A row of the review list that matches no image, and why: ``no tenant``, ``no photo of the product``
    or ``no photo of the product has this URL`` (e.g. another case)."""

    row: Override
    reason: str

    def line(self) -> str:
        """e.g. ``matches no image: user_1 product 4 https://… is_label=true (no tenant user_1)``."""
        row = self.row
        return (
            f"matches no image: {row.tenant_schema} product {row.product_id} {row.url} "
            f"is_label={str(row.is_label).lower()} ({self.reason})"
        )


def unmatched_overrides(conn: psycopg.Connection, rows: Sequence[Override]) -> list[UnmatchedOverride]:
    """The rows that match no image of ``<tenant_schema>.product_images`` (``dbt run`` ignores them).

    Args:
        conn: a connection to the database the run writes (each tenant's ``product_images`` table).
        rows: the review list's rows (:func:`read_overrides_file`).

    Returns:
        One :class:`UnmatchedOverride` per row whose tenant is no tenant (no ``product_images`` table, or
        a schema the run leaves alone: :func:`~product_images.migration.tenants.discover_tenants`, e.g.
        the dbt schema, whose ``product_images`` is the view over every tenant), whose product has no
        photo, or whose product has no photo with exactly that URL; ordered by key.

    Raises:
        psycopg.Error: the database cannot be read.
    """
    from product_images.migration.tenants import discover_tenants

    by_tenant: dict[str, list[Override]] = {}
    for row in sorted(rows):
        by_tenant.setdefault(row.tenant_schema, []).append(row)
    unmatched: list[UnmatchedOverride] = []
    tenants = set(discover_tenants(conn))  # what dbt run writes: not the dbt schema's view, nor another schema
    for tenant, of_tenant in by_tenant.items():
        if tenant not in tenants:
            found = conn.execute("select to_regclass(%s)", (sql.Identifier(tenant, "product_images").as_string(conn),))
            reason = (
                f"no table {tenant}.product_images: no such tenant"
                if (found.fetchone() or (None,))[0] is None
                else f"{tenant} is not a tenant (tenant_schema_regex, extra_tenant_schemas): dbt run never writes it"
            )
            unmatched += [UnmatchedOverride(row, reason) for row in of_tenant]
            continue
        query = sql.SQL(
            "select f.ord, exists (select 1 from {table} as i where i.product_id = f.product_id)"
            " from unnest(%s::bigint[], %s::text[]) with ordinality as f (product_id, url, ord)"
            " where not exists (select 1 from {table} as i where i.product_id = f.product_id and i.url = f.url)"
            " order by f.ord"
        ).format(table=sql.Identifier(tenant, "product_images"))
        missing = conn.execute(query, ([row.product_id for row in of_tenant], [row.url for row in of_tenant]))
        for ordinal, has_product in missing.fetchall():
            reason = "no photo of the product has this URL" if has_product else "no photo of the product"
            unmatched.append(UnmatchedOverride(of_tenant[ordinal - 1], reason))
    return unmatched
