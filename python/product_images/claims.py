"""Claims with a lease on rows of a tenant's ``product_images``: several workers, no row done twice.

The metadata backfill claims rows; the label detector claims whole products
(a product's photos are scored together). A claim is two columns of the table,
``<prefix>_claimed_by`` and ``<prefix>_claimed_until``: one autocommit statement
picks the rows still to do with ``FOR UPDATE SKIP LOCKED`` (a worker never waits
for another's rows) and stamps them with the worker's id and the end of its lease.
A worker that dies leaves its claims to expire: after the lease another worker
takes the rows. A product is claimed through its token row, the one with the
smallest id, so two workers never split a product.

Both commands drive their claims the same way: :func:`claimed_batches` walks a
tenant's ids in order, batch by batch, and :class:`RunStep` says in which step and
tenant a database error happened. Their writes and releases never wait long for a
lock: rows another transaction holds are skipped (``SKIP LOCKED``) and other locks are
waited for at most :data:`LOCK_TIMEOUT_SECONDS` (:func:`bounded`).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import tenacity
from psycopg import sql

__all__ = [
    "FIRST_ID",
    "LOCK_TIMEOUT_SECONDS",
    "SET_LOCK_TIMEOUT",
    "TRANSIENT_ERRORS",
    "Claims",
    "RunStep",
    "bounded",
    "claimed_batches",
    "default_worker_id",
    "transient_retry",
]

FIRST_ID = -(2**63)
"""The smallest bigint: where a keyset pass over a tenant's ids starts."""

TRANSIENT_ERRORS = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.LockNotAvailable,
)
"""Errors a claim or a write is retried on: each is one autocommit statement that
changed nothing when it failed (a deadlock with a migration step, a lock_timeout)."""

transient_retry = tenacity.Retrying(
    retry=tenacity.retry_if_exception_type(TRANSIENT_ERRORS),
    stop=tenacity.stop_after_attempt(5),
    wait=tenacity.wait_exponential(multiplier=0.1, max=2.0),
    reraise=True,
)
"""Calls ``transient_retry(fn)``: at most 5 attempts, 0.1 s doubling to 2 s between them."""

LOCK_TIMEOUT_SECONDS = 1.0
"""``lock_timeout`` (seconds) of a write or a release of claims (:func:`bounded`): the longest it waits for a lock.
Row locks another transaction holds are not waited for at all: those statements lock rows ``SKIP LOCKED``."""

SET_LOCK_TIMEOUT = sql.SQL("select set_config('lock_timeout', %s, true)")
"""Sets ``lock_timeout`` (a text such as ``'1000ms'``) until the end of the transaction."""


def bounded(
    conn: psycopg.Connection,
    statement: sql.Composed | sql.SQL,
    params: Mapping[str, Any],
    *,
    lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
) -> list[tuple[Any, ...]]:
    """Run one statement in a transaction of its own whose ``lock_timeout`` is ``lock_timeout_seconds``.

    Args:
        conn: an autocommit connection (the transaction commits when the statement is done).
        statement: one SQL statement, e.g. a write of results or a release of claims.
        params: its parameters.
        lock_timeout_seconds: the longest it waits for a lock (> 0 seconds).

    Returns:
        The rows it returned (``[]`` for a statement that returns none).

    Raises:
        psycopg.Error: the database failed; a lock timeout or a deadlock only after :data:`transient_retry`'s
            5 attempts (backoff 0.1 s to 2 s).
    """

    def attempt() -> list[tuple[Any, ...]]:
        with conn.transaction():
            conn.execute(SET_LOCK_TIMEOUT, (f"{round(lock_timeout_seconds * 1000)}ms",))
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    return transient_retry(attempt)


def default_worker_id() -> str:
    """A worker id unique across machines and runs: ``"<hostname>:<pid>:<8 hex digits>"``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claims:
    """The claim, release and count statements of one tenant table and one kind of work.

    Attributes:
        tenant: the tenant schema.
        prefix: the claim columns' prefix, ``metadata`` or ``label``.
        todo: a SQL condition on a row of ``images`` (alias) that says it still has to be done.
        per_product: claim whole products (through their token row) instead of rows.

    The statements take the parameters ``worker`` (id), ``lease`` (seconds),
    ``from_id`` (keyset: ids at or above), ``batch`` (rows or products), ``ids``
    (release), ``cap`` (count) and whatever ``todo`` uses.
    """

    tenant: str
    prefix: str
    todo: sql.Composable
    per_product: bool = False

    @property
    def table(self) -> sql.Identifier:
        """``"<tenant>"."product_images"``."""
        return sql.Identifier(self.tenant, "product_images")

    def _columns(self) -> tuple[sql.Identifier, sql.Identifier]:
        return sql.Identifier(f"{self.prefix}_claimed_by"), sql.Identifier(f"{self.prefix}_claimed_until")

    def claimable(self) -> sql.Composed:
        """Rows (or token rows of products) still to do whose claim is free or expired."""
        _, until = self._columns()
        free = sql.SQL("({until} is null or {until} < now())").format(until=until)
        if not self.per_product:
            return sql.SQL("{todo} and {free}").format(todo=self.todo, free=free)
        tokens = sql.SQL(
            "images.id in (select min(id) from {table} as images group by product_id having bool_or({todo}))"
        ).format(table=self.table, todo=self.todo)
        return sql.SQL("{tokens} and {free}").format(tokens=tokens, free=free)

    def claim(self) -> sql.Composed:
        """``update … returning id, product_id, url`` of at most ``batch`` rows claimed, in id order."""
        by, until = self._columns()
        return sql.SQL(
            """
            update {table} as claimed
            set {by} = %(worker)s, {until} = now() + make_interval(secs => %(lease)s)
            from (
                select images.id from {table} as images
                where images.id >= %(from_id)s and {claimable}
                order by images.id
                limit %(batch)s
                for update skip locked
            ) as picked
            where claimed.id = picked.id
            returning claimed.id, claimed.product_id, claimed.url
            """
        ).format(table=self.table, by=by, until=until, claimable=self.claimable())

    def release(self) -> sql.Composed:
        """Gives back the claims of ``ids`` this ``worker`` still holds, never waiting for a row lock: a row another
        transaction holds (``SKIP LOCKED``) keeps its claim until the lease ends."""
        by, until = self._columns()
        return sql.SQL(
            "update {table} set {by} = null, {until} = null where id in "
            "(select id from {table} where id = any(%(ids)s) and {by} = %(worker)s for update skip locked)"
        ).format(table=self.table, by=by, until=until)

    def release_workers(self) -> sql.Composed:
        """Gives back every claim the workers ``workers`` (a list of ids) hold in the table, the rows another
        transaction holds aside (``SKIP LOCKED``), ``returning id`` of each: for a run whose worker processes
        died mid-batch."""
        by, until = self._columns()
        return sql.SQL(
            "update {table} set {by} = null, {until} = null where id in "
            "(select id from {table} where {by} = any(%(workers)s) for update skip locked) returning id"
        ).format(table=self.table, by=by, until=until)

    def count(self) -> sql.Composed:
        """How many rows (or products) are still to do and free, at most ``cap`` (None: all)."""
        return sql.SQL(
            "select count(*) from (select 1 from {table} as images where {claimable} limit %(cap)s) as pending"
        ).format(table=self.table, claimable=self.claimable())

    def count_rows_of_products(self) -> sql.Composed:
        """How many rows the products still to do and free hold (``per_product`` claims: a progress total)."""
        return sql.SQL(
            "select count(*) from {table} as photos where photos.product_id in "
            "(select images.product_id from {table} as images where {claimable})"
        ).format(table=self.table, claimable=self.claimable())


def claimed_batches(
    conn: psycopg.Connection,
    claim: sql.Composed,
    params: Mapping[str, Any],
    *,
    batch_size: int,
    limit: int | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """Claim a tenant's work batch by batch, until nothing is left to claim or ``limit`` is reached.

    Keyset: each claim starts after the last id claimed; when a claim finds nothing, one
    more pass starts from :data:`FIRST_ID` to pick up the expired claims of dead workers
    behind it, and the tenant is done when a pass from the start finds nothing. A claim
    is retried on :data:`TRANSIENT_ERRORS` (:data:`transient_retry`).

    Args:
        conn: an autocommit connection.
        claim: the statement of :meth:`Claims.claim`.
        params: its parameters but ``from_id`` and ``batch`` (``worker``, ``lease``, what ``todo`` uses).
        batch_size: rows (or products) claimed at most at once (>= 1).
        limit: rows (or products) claimed at most in all (None: no limit).

    Yields:
        The rows each claim returned, ``(id, product_id, url)`` sorted by id; the caller
        processes (and writes or releases) a batch before the next claim.

    Raises:
        psycopg.Error: the database failed (after the retries for a transient error).
    """
    done, from_id = 0, FIRST_ID
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        values = {**params, "from_id": from_id, "batch": size}
        rows = transient_retry(lambda values=values: conn.execute(claim, values).fetchall())
        if not rows:
            if from_id == FIRST_ID:
                return
            from_id = FIRST_ID  # one more pass from the start: expired claims of dead workers behind us
            continue
        rows.sort()
        from_id = rows[-1][0] + 1
        done += len(rows)
        yield rows


@dataclass
class RunStep:
    """Where a run over the tenants is, so that a database error says where it happened.

    Attributes:
        error: the command's error class (``BackfillError``, ``DetectError``).
        step: what the run is doing, e.g. ``"claiming rows"``.
        tenant: the tenant schema it is doing it in; ``""`` between tenants.
    """

    error: type[Exception]
    step: str
    tenant: str = ""

    @contextmanager
    def reporting_database_errors(self) -> Iterator[None]:
        """Raise a :class:`psycopg.Error` of the block again as ``error``.

        Raises:
            Exception: ``error("database error while <step>[ in <tenant>.product_images]: <message>")``,
                the database error as its cause.
        """
        try:
            yield
        except psycopg.Error as error:
            where = f" in {self.tenant}.product_images" if self.tenant else ""
            raise self.error(f"database error while {self.step}{where}: {str(error).strip()}") from error
