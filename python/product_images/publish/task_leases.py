"""The lease protocol on ``<tenant>.marketplace_tasks``: a worker claims a task's row, then records its end.

A claim (:func:`claim_task`) is one ``UPDATE`` of a row selected ``FOR UPDATE SKIP LOCKED``
whose status still allows it: ``PENDING`` or ``FAILED``, or ``PROCESSING`` under a lease that
has expired (its worker died). It sets ``PROCESSING``, ``started_at``, ``attempts + 1``,
``lease_expires_at`` and ``worker``. The end (:func:`finish_task`) is recorded only while the
row is still this worker's claim, so a worker whose task was taken over never overwrites the
outcome of the one that took it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from product_images.publish.plans import PublishError

if TYPE_CHECKING:
    from product_images.publish.tasks import TaskRow

__all__ = [
    "MAX_LEASE_SECONDS",
    "LeaseLostError",
    "TaskLeasedError",
    "TaskRowLockedError",
    "claim_task",
    "finish_task",
    "tasks_table",
]

MAX_LEASE_SECONDS = 7 * 24 * 3600.0
"""The longest lease a worker may take (a week; :func:`~product_images.publish.tasks.run_job` refuses more): a task
left by a dead worker is taken up again some day, and ``make_interval`` gets a number it can hold."""


class TaskLeasedError(PublishError):
    """A task of the job is PROCESSING under a lease that has not expired; the job was left as it was.

    Its worker may still be waiting for the marketplace's answer: retry after
    ``expires`` (then the task is taken up again). A PROCESSING task without
    ``lease_expires_at`` (set by someone else) is leased until ``started_at`` + lease_seconds.
    """

    def __init__(self, task: TaskRow, expires: datetime) -> None:
        self.task = task
        self.expires = expires
        super().__init__(
            f"task {task.position} ({task.description}) of job {task.job_id} is PROCESSING by worker "
            f"{task.worker or '?'} since {task.started_at:%Y-%m-%d %H:%M:%S %Z} under a lease until "
            f"{expires:%Y-%m-%d %H:%M:%S %Z}: its worker may still be waiting for the marketplace; resume after that"
        )


class LeaseLostError(PublishError):
    """This worker's task was taken over by another after its lease expired; its result was not recorded."""


class TaskRowLockedError(PublishError):
    """Another transaction held a task's row longer than ``lock_timeout``: the task's outcome was not recorded.

    The task stays PROCESSING until its lease ends; then a resume takes it up again and
    sends its request again with the same idempotency key (the marketplace acts once).
    """

    def __init__(self, task: TaskRow, status: str, lock_timeout: float) -> None:
        self.task = task
        super().__init__(
            f"task {task.position} ({task.description}) of job {task.job_id}: its outcome ({status}) was not recorded: "
            f"another transaction held the task's row longer than lock_timeout ({lock_timeout:g} s); the task stays "
            "PROCESSING until its lease ends, then publish resume takes it up again (its request is sent again "
            "with the same idempotency key, so the marketplace acts once)"
        )


def tasks_table(tenant: str) -> sql.Composed:
    """The tenant's ``marketplace_tasks`` table as a quoted SQL identifier (``"user_1"."marketplace_tasks"``)."""
    return sql.SQL("{}").format(sql.Identifier(tenant, "marketplace_tasks"))


def claim_task(
    conn: psycopg.Connection, tenant: str, task_id: int, worker: str, lease_seconds: float
) -> tuple[str, str | None] | None:
    """Claim a task (PROCESSING, lease, attempts + 1) for ``worker`` for ``lease_seconds`` seconds.

    Returns:
        (the status it had, the worker it had) — ``PROCESSING`` when it was taken over from a
        worker whose lease had expired — or None when the row is locked by another transaction
        or its status no longer allows a claim (nothing changed).
    """
    row = conn.execute(
        sql.SQL(
            """
            with claimable as (
                select id, status, worker from {table}
                where
                    id = %(id)s
                    and (
                        status in ('PENDING', 'FAILED')
                        or (
                            status = 'PROCESSING'
                            and coalesce(lease_expires_at, started_at + make_interval(secs => %(lease)s), '-infinity')
                            <= now()
                        )
                    )
                for update skip locked
            )
            update {table} as tasks
            set
                status = 'PROCESSING',
                started_at = now(),
                completed_at = null,
                attempts = tasks.attempts + 1,
                lease_expires_at = now() + make_interval(secs => %(lease)s),
                worker = %(worker)s
            from claimable
            where tasks.id = claimable.id
            returning claimable.status, claimable.worker
            """
        ).format(table=tasks_table(tenant)),
        {"id": task_id, "lease": lease_seconds, "worker": worker},
    ).fetchone()
    return (row[0], row[1]) if row else None


def _without_nul(value: Any) -> Any:
    """``value`` with every NUL character removed from its strings (jsonb and text refuse them)."""
    if isinstance(value, str):
        return value.replace("\0", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def finish_task(
    conn: psycopg.Connection,
    tenant: str,
    task_id: int,
    worker: str,
    status: str,
    result: dict[str, Any] | None,
    error: str | None,
) -> bool:
    """Record a claimed task's end: ``status`` (SUCCESS or FAILED), ``result`` (kept when None), ``error``
    (NUL characters removed from both: jsonb and text refuse them).

    Returns:
        True when recorded; False when the row is no longer PROCESSING by ``worker`` (another
        worker took it over after this one's lease expired): nothing was changed.
    """
    cur = conn.execute(
        sql.SQL(
            "update {} set status = %(status)s, result = coalesce(%(result)s, result), error_message = %(error)s, "
            "completed_at = now(), lease_expires_at = null "
            "where id = %(id)s and status = 'PROCESSING' and worker = %(worker)s"
        ).format(tasks_table(tenant)),
        {
            "status": status,
            "result": Jsonb(_without_nul(result)) if result is not None else None,
            "error": _without_nul(error),
            "id": task_id,
            "worker": worker,
        },
    )
    return cur.rowcount == 1
