"""Helpers for the tests of the migration on a live database: an app writing
while dbt runs, pauses of a dbt step at a chosen point, dbt in a process of its own."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from product_images.connection import connect

PAUSE_KEY = 424242
"""The advisory lock a paused step waits for; the test holds it to keep the step paused."""


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``predicate`` every 10 ms until it returns a true value; raise naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# The seconds from the statement's arrival to its row written, as the server counts them. The
# writes go as simple queries (a ClientCursor): with the extended protocol the table's lock is
# taken at Parse and statement_timestamp() set again at Bind, so a lock wait would not show.
SERVER_WAIT = " returning extract(epoch from clock_timestamp() - statement_timestamp())"


class AppWriter(threading.Thread):
    """The app, in a thread: appends one photo to a random product and commits, again and again.

    Attributes:
        appended: (product_id, url) of every photo it committed.
        latencies: seconds each write spent in the server before its row was written (lock waits
            included), measured by the server (``clock_timestamp() - statement_timestamp()``), so a
            pause of this test process (the GIL held by an in-process dbt run, a garbage collection)
            is not counted as the app waiting for the migration.
        errors: exceptions raised by writes (a test expects none).
    """

    def __init__(
        self,
        tenant: str,
        product_ids: list[int],
        *,
        interval: float = 0.002,
        seed: int = 1,
        table_write: str = "append",
    ) -> None:
        super().__init__(daemon=True)
        self.tenant = tenant
        self.product_ids = product_ids
        self.interval = interval
        self.rng = random.Random(seed)
        self.table_write = table_write
        self.appended: list[tuple[int, str]] = []
        self.latencies: list[float] = []
        self.errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._count = 0

    def write_once(self, conn: psycopg.Connection) -> None:
        product_id = self.rng.choice(self.product_ids)
        self._count += 1
        if self.table_write == "append":
            url = f"https://images.example.com/{self.tenant}/app/{product_id}/{self._count}.jpg"
            cursor = psycopg.ClientCursor(conn).execute(
                sql.SQL(
                    "update {} set images = coalesce(images, '[]'::jsonb) || jsonb_build_array(jsonb_build_object("
                    "'url', %s::text, 'order', 1000 + %s::integer, 'created_at', '2026-12-01T10:00:00Z')) where id = %s"
                    + SERVER_WAIT
                ).format(sql.Identifier(self.tenant, "products")),
                (url, self._count, product_id),
            )
            self.appended.append((product_id, url))
        else:  # an ordinary write of another column, e.g. a price change
            cursor = psycopg.ClientCursor(conn).execute(
                sql.SQL("update {} set price = price + 1 where id = %s" + SERVER_WAIT).format(
                    sql.Identifier(self.tenant, "products")
                ),
                (product_id,),
            )
        waited = cursor.fetchone()
        if waited is not None:
            self.latencies.append(float(waited[0]))

    def run(self) -> None:
        with connect(autocommit=True, application_name="app") as conn:
            while not self._stopping.is_set():
                try:
                    self.write_once(conn)
                except BaseException as error:  # noqa: BLE001 - reported to the test
                    self.errors.append(error)
                    return
                time.sleep(self.interval)

    def stop(self) -> None:
        """Stop writing and wait for the thread."""
        self._stopping.set()
        self.join(timeout=30)


@contextmanager
def app_writing(tenant: str, product_ids: list[int], **options: Any) -> Iterator[AppWriter]:
    """An :class:`AppWriter` running for the duration of the block."""
    writer = AppWriter(tenant, product_ids, **options)
    writer.start()
    try:
        yield writer
    finally:
        writer.stop()
    assert not writer.errors, writer.errors


@contextmanager
def paused(conn: psycopg.Connection, trigger_sql: str, cleanup_sql: str) -> Iterator[Callable[[], None]]:
    """Hold the pause lock, install a trigger that waits for it, yield a ``release()``.

    The trigger function must wait with ``pg_advisory_lock_shared(PAUSE_KEY)``;
    its ``lock_timeout`` must be 0 (``set lock_timeout = 0`` on the function).
    """
    holder = connect(autocommit=True, application_name="pause holder")
    holder.execute("select pg_advisory_lock(%s)", (PAUSE_KEY,))
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            holder.execute("select pg_advisory_unlock(%s)", (PAUSE_KEY,))
            released = True

    try:
        # inside the try: a trigger that cannot be installed must not leave the lock held,
        # or every later pause (and the test waiting on it) would hang
        conn.execute(trigger_sql)
        yield release
    finally:
        release()
        holder.close()
        conn.execute(cleanup_sql)


PAUSE_FUNCTION = f"""
create or replace function public.test_pause() returns void language plpgsql set lock_timeout = 0 as $$
begin
    if current_setting('application_name') = 'dbt' then  -- only dbt's steps pause, never the app
        perform pg_advisory_lock_shared({PAUSE_KEY});
        perform pg_advisory_unlock_shared({PAUSE_KEY});
    end if;
end $$;
"""


def pause_at_ddl(conn: psycopg.Connection, schema: str, command_tag: str = "ALTER TABLE"):
    """Pause the first DDL command ``command_tag`` on ``schema`` (an event trigger at ddl_command_end).

    Skips the test when the role is no superuser: only a superuser may create an event trigger
    (the suite also runs as a managed server's kind of role, NOSUPERUSER CREATEDB CREATEROLE).
    """
    if not conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]:
        pytest.skip("pausing a DDL command takes an event trigger, which only a superuser may create")
    trigger = (
        PAUSE_FUNCTION
        + f"""
    create or replace function public.test_pause_ddl() returns event_trigger language plpgsql as $$
    begin
        if exists (select 1 from pg_event_trigger_ddl_commands() where schema_name = '{schema}') then
            perform public.test_pause();
        end if;
    end $$;
    create event trigger test_pause_ddl on ddl_command_end when tag in ('{command_tag}')
        execute function public.test_pause_ddl();
    """
    )
    return paused(conn, trigger, "drop event trigger if exists test_pause_ddl")


def pause_at_write(conn: psycopg.Connection, schema: str, table: str = "product_images"):
    """Pause the first UPDATE or INSERT statement on ``schema.table`` (a statement trigger)."""
    relation = f'"{schema}"."{table}"'
    trigger = (
        PAUSE_FUNCTION
        + f"""
    create or replace function public.test_pause_write() returns trigger language plpgsql as $$
    begin
        perform public.test_pause();
        return null;
    end $$;
    create trigger test_pause_write before insert or update on {relation}
        for each statement execute function public.test_pause_write();
    """
    )
    return paused(conn, trigger, f"drop trigger if exists test_pause_write on {relation}")


def waiting_for_pause(conn: psycopg.Connection) -> bool:
    """True when some backend waits for the pause lock (the dbt step is paused)."""
    row = conn.execute(
        "select count(*) from pg_locks where locktype = 'advisory' and not granted and objid = %s "
        "and database = (select oid from pg_database where datname = current_database())",
        (PAUSE_KEY,),
    ).fetchone()
    return bool(row and row[0])


def dbt_process(project_dir: Path, *args: str) -> subprocess.Popen[str]:
    """``dbt <args>`` in a process of its own (its own session), with this process's environment."""
    command = [
        sys.executable,
        "-c",
        "from dbt.cli.main import cli; cli()",
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir / "target" / "profiles"),
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DO_NOT_TRACK": "1"},
        start_new_session=True,
    )


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process and its group, as an OOM killer or a lost machine would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def terminate_backends(conn: psycopg.Connection, application_name: str = "dbt") -> int:
    """pg_terminate_backend every other backend of ``application_name`` in this database; how many."""
    rows = conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity "
        "where datname = current_database() and application_name = %s and pid <> pg_backend_pid()",
        (application_name,),
    ).fetchall()
    wait_for(
        lambda: conn.execute(
            "select count(*) = 0 from pg_stat_activity where datname = current_database() and application_name = %s "
            "and pid <> pg_backend_pid()",
            (application_name,),
        ).fetchone()[0],
        f"the {application_name} backends to end",
    )
    return len(rows)


def parity_problems(conn: psycopg.Connection, tenant: str) -> list[tuple[int, str]]:
    """(product_id, problem) where the JSONB and the tables disagree (counts or URLs), computed here."""
    t = sql.Identifier(tenant)
    return conn.execute(
        sql.SQL(
            """
        with jsonb_urls as (
            select products.id as product_id, element ->> 'url' as url
            from {t}.products as products
            cross join lateral jsonb_array_elements(
                case when jsonb_typeof(products.images) = 'array' then products.images else '[]' end) as element
            where jsonb_typeof(element -> 'url') = 'string' and element ->> 'url' !~ '^\\s*$'
        ),
        row_urls as (select product_id, url from {t}.product_images)
        select product_id, 'url in the JSONB only'
        from (select * from jsonb_urls except all select * from row_urls) as a
        union all
        select product_id, 'url in product_images only'
        from (select * from row_urls except all select * from jsonb_urls) as b
        order by 1
        """
        ).format(t=t)
    ).fetchall()


def constraint_problems(conn: psycopg.Connection, tenant: str) -> list[str]:
    """What breaks the table's invariants: positions not 0..n-1, two labels, unvalidated foreign keys."""
    t = sql.Identifier(tenant)
    problems = [
        f"product {pid}: positions {positions}"
        for pid, positions in conn.execute(
            sql.SQL(
                "select product_id, array_agg(position order by position) from {t}.product_images group by product_id "
                "having min(position) <> 0 or max(position) <> count(*) - 1 or count(distinct position) <> count(*)"
            ).format(t=t)
        ).fetchall()
    ]
    problems += [
        f"product {pid}: {n} labels"
        for pid, n in conn.execute(
            sql.SQL(
                "select product_id, count(*) from {t}.product_images where is_label group by product_id having "
                "count(*) > 1"
            ).format(t=t)
        ).fetchall()
    ]
    problems += [
        f"foreign key {name} not valid"
        for (name,) in conn.execute(
            "select conname from pg_constraint where contype = 'f' and connamespace = %s::regnamespace "
            "and not convalidated",
            (tenant,),
        ).fetchall()
    ]
    keys = conn.execute(
        "select count(*) from pg_constraint where contype = 'f' and connamespace = %s::regnamespace", (tenant,)
    ).fetchone()[0]
    if keys != 3:
        problems.append(f"{keys} foreign keys to products, not 3")
    return problems
