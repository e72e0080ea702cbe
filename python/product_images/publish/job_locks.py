"""The job's session advisory lock: two workers never run one job at once.

:func:`try_lock_job` takes ``pg_try_advisory_lock`` on a key derived from ``<tenant>/<job id>`` (it never
waits: a job being run by another worker raises :class:`JobBusyError` naming that worker's backend), and
:func:`unlock_job` releases it. The lock is the session's, so it lives as long as the worker's connection:
a worker that dies releases it when PostgreSQL sees its connection close.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from product_images.publish.plans import PublishError

__all__ = ["JobBusyError", "try_lock_job", "unlock_job"]


class JobBusyError(PublishError):
    """Another worker is running this job (it holds the job's advisory lock, or a task's row); nothing was done.

    ``holder_pid`` is that worker's backend pid when known.
    """

    def __init__(self, job_id: uuid.UUID, message: str, holder_pid: int | None = None) -> None:
        self.job_id = job_id
        self.holder_pid = holder_pid
        super().__init__(message)


def _lock_key_sql() -> sql.SQL:
    return sql.SQL("hashtextextended('product_images:publish:' || %s, 0)")


def try_lock_job(conn: psycopg.Connection, tenant: str, job_id: uuid.UUID) -> None:
    """Take the job's session advisory lock at once, or raise :class:`JobBusyError` naming the holder.

    Input: an autocommit connection, the tenant schema, the job's UUID. Raises JobBusyError (with the
    holder's backend pid, role and application when PostgreSQL still shows them) when another session
    holds the lock; psycopg.Error when the database fails.
    """
    name = f"{tenant}/{job_id}"
    row = conn.execute(sql.SQL("select pg_try_advisory_lock(") + _lock_key_sql() + sql.SQL(")"), (name,)).fetchone()
    if row and row[0]:
        return
    holder = conn.execute(
        sql.SQL(
            "select locks.pid, activity.application_name, activity.usename from pg_locks as locks "
            "left join pg_stat_activity as activity on activity.pid = locks.pid "
            "where locks.locktype = 'advisory' and locks.granted and locks.objsubid = 1 "
            "and locks.database = (select oid from pg_catalog.pg_database where datname = current_database()) "
            "and locks.classid = (("
        )
        + _lock_key_sql()
        + sql.SQL(" >> 32) & 4294967295)::oid and locks.objid = ((")
        + _lock_key_sql()
        + sql.SQL(") & 4294967295)::oid limit 1"),
        (name, name),
    ).fetchone()
    who = (
        (
            f"backend pid {holder[0]}"
            + (f", role {holder[2]}" if holder[2] else "")
            + (f", application {holder[1]!r}" if holder[1] else "")
        )
        if holder
        else "a worker that has just finished"
    )
    raise JobBusyError(
        job_id, f"job {job_id} is being run by another worker ({who}); nothing done here", holder[0] if holder else None
    )


def unlock_job(conn: psycopg.Connection, tenant: str, job_id: uuid.UUID) -> None:
    """Release the job's session advisory lock taken by :func:`try_lock_job` (nothing when not held)."""
    conn.execute(sql.SQL("select pg_advisory_unlock(") + _lock_key_sql() + sql.SQL(")"), (f"{tenant}/{job_id}",))
