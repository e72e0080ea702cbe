"""The task orchestrator: a job's rows of ``<tenant>.marketplace_tasks``, run in order, resumable.

Life cycle of a task (``status``)::

    PENDING ──claim──▶ PROCESSING ──ok──▶ SUCCESS
       ▲                   │  └─error──▶ FAILED ──retry (backoff)──▶ PROCESSING ...
       │                   └─worker died, lease over──▶ taken up again (PROCESSING)
       └── created by create_job

:func:`run_job` runs a job's tasks by ascending ``position``:

- a ``SUCCESS`` task is skipped (a resumed job redoes nothing that succeeded);
- a ``PENDING`` or ``FAILED`` task is claimed (``PROCESSING``, ``started_at``,
  ``attempts + 1``, a lease until ``lease_expires_at``, ``worker``) and run; it
  ends ``SUCCESS`` with its ``result`` and ``completed_at``, or ``FAILED`` with
  ``error_message`` and ``completed_at``;
- a failure that may pass (HTTP 429/5xx, a timeout, a connection error) is
  retried, waiting ``retry_wait`` seconds doubled after each attempt (tenacity),
  up to ``max_attempts`` attempts in this run; a permanent one (another 4xx, the
  product changed since the plan) is not retried;
- the first task that fails for good stops the job: it stays ``FAILED`` with its
  ``error_message``, every later task stays ``PENDING``; :func:`run_job` again (the
  CLI's ``publish resume``) goes on from there;
- a task left ``PROCESSING`` by a worker that died is taken up again once its
  lease has expired (its request is sent again with the same idempotency key,
  so the marketplace does not act twice); before that, :class:`TaskLeasedError`.

An attempt's checks, its request and its SUCCESS run in one transaction, except an upload's: its
check, then its request outside any transaction, then its check again and its SUCCESS (what each
task checks: :mod:`~product_images.publish.task_actions`). Their statements wait at most
``lock_timeout`` for a lock: a task row held longer by another transaction raises
:class:`TaskRowLockedError` (the task stays PROCESSING until its lease ends). Any exception of an
attempt that is not an :class:`AttemptFailed` records the task FAILED (``unexpected error: ...``)
before it is re-raised.

Two workers never run the same job at once: :func:`run_job` holds a session
advisory lock on the job for as long as it runs (a second worker gets
:class:`JobBusyError` at once), and each claim is one ``UPDATE`` of a row
selected ``FOR UPDATE SKIP LOCKED`` whose status still allows it, so a row being
written by anyone else is never claimed twice.

Columns: ``job_id``, ``task_type``, ``description``, ``status``, ``payload``,
``result``, ``error_message``, ``created_at``, ``started_at``, ``completed_at`` are
the back end's; ``position`` is the back end's plan (``dbt run-operation
marketplace_tasks_position``); ``idempotency_key``, ``attempts``,
``lease_expires_at`` and ``worker`` are this project's
(``dbt run-operation marketplace_tasks_orchestration``).
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import tenacity
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from product_images.publish.client import MarketplaceClient
from product_images.publish.job_locks import JobBusyError, try_lock_job, unlock_job
from product_images.publish.plans import (
    BadPublishInput,
    BadRunOption,
    PublishError,
    PublishPlan,
    build_plan,
    check_tenant,
)
from product_images.publish.task_actions import AttemptFailed, execute_task
from product_images.publish.task_leases import (
    MAX_LEASE_SECONDS,
    LeaseLostError,
    TaskLeasedError,
    TaskRowLockedError,
    claim_task,
    finish_task,
    tasks_table,
)

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_RETRY_WAIT",
    "MAX_LEASE_SECONDS",
    "check_run_options",
    "JobBusyError",
    "JobOutcome",
    "DEFAULT_LOCK_TIMEOUT",
    "LeaseLostError",
    "TaskLeasedError",
    "TaskRowLockedError",
    "TaskRow",
    "create_job",
    "default_worker",
    "format_tasks",
    "job_status",
    "load_tasks",
    "publish_product",
    "run_job",
]

DEFAULT_MAX_ATTEMPTS = 3
"""Attempts per task and run (the first included) before the job stops at it."""

DEFAULT_RETRY_WAIT = 1.0
"""Seconds before a task's first retry; doubled before each next one (at most 60 s)."""

DEFAULT_LEASE_SECONDS = 300.0
"""How long a claimed task belongs to its worker: a task left PROCESSING is taken up
again after this. Keep it above the client's longest call (HttpMarketplaceClient:
about max_attempts × (connect_timeout + timeout) plus waits: 3 × 15 s + 20 s by default)."""


DEFAULT_LOCK_TIMEOUT = 5.0
"""Seconds a worker's statement waits for a row lock (PostgreSQL's ``lock_timeout``) before giving up."""


@dataclass(frozen=True)
class TaskRow:
    """One row of ``marketplace_tasks`` (all columns the orchestrator uses)."""

    id: int
    job_id: uuid.UUID
    position: int | None
    task_type: str
    description: str
    status: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    idempotency_key: str | None
    attempts: int
    lease_expires_at: datetime | None
    worker: str | None


@dataclass
class JobOutcome:
    """What :func:`run_job` did.

    Attributes:
        job_id: the job.
        status: ``"SUCCESS"`` (every task is SUCCESS) or ``"FAILED"`` (a task failed
            for good: the job stopped there).
        tasks: every task of the job afterwards, by position.
        ran: positions of the tasks run to SUCCESS by this call.
        skipped: positions skipped because they were SUCCESS already.
        retries: attempts beyond the first made by this call, all tasks together.
        taken_over: positions taken up from a worker whose lease had expired.
        failed_task: the task that stopped the job, else None.
    """

    job_id: uuid.UUID
    status: str
    tasks: list[TaskRow]
    ran: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retries: int = 0
    taken_over: list[int] = field(default_factory=list)
    failed_task: TaskRow | None = None

    @property
    def success(self) -> bool:
        """Every task of the job is SUCCESS."""
        return self.status == "SUCCESS"

    def summary(self) -> str:
        """One line, e.g. ``job … SUCCESS: 5 tasks, 4 run, 1 skipped (already SUCCESS), 1 retry``."""
        parts = [f"{len(self.tasks)} tasks", f"{len(self.ran)} run", f"{len(self.skipped)} skipped (already SUCCESS)"]
        if self.retries:
            parts.append(f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}")
        if self.taken_over:
            parts.append(f"{len(self.taken_over)} taken up after a lease")
        line = f"job {self.job_id} {self.status}: " + ", ".join(parts)
        if self.failed_task is not None:
            pending = sum(1 for task in self.tasks if task.status == "PENDING")
            line += (
                f"; stopped at task {self.failed_task.position} ({self.failed_task.description}): "
                f"{self.failed_task.error_message}; {pending} task(s) left PENDING"
            )
        return line


def default_worker() -> str:
    """This process's worker name: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


_SELECT = sql.SQL(
    "select id, job_id, position, task_type, description, status, payload, result, error_message, created_at, "
    "started_at, completed_at, idempotency_key, attempts, lease_expires_at, worker from {} "
)


def load_tasks(conn: psycopg.Connection, tenant: str, job_id: uuid.UUID) -> list[TaskRow]:
    """Every task of a job, by ``position`` (then id). Empty when the job does not exist."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _SELECT.format(tasks_table(tenant)) + sql.SQL("where job_id = %s order by position nulls last, id"),
            (job_id,),
        ).fetchall()
    return [TaskRow(**row) for row in rows]


def job_status(conn: psycopg.Connection, tenant: str, job_id: uuid.UUID | str) -> list[TaskRow]:
    """The tasks of a job for ``publish status``, by position.

    Raises:
        BadPublishInput: the tenant is not one (the tenants listed), ``job_id`` is not a
            UUID, or no task of the tenant has this job id.
        SchemaNotReadyError: the tenant's table is not migrated.
    """
    check_tenant(conn, tenant)
    job = _job_uuid(job_id)
    tasks = load_tasks(conn, tenant, job)
    if not tasks:
        raise BadPublishInput("job", str(job), f"no task of {tenant}.marketplace_tasks has this job_id")
    return tasks


def _job_uuid(job_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(job_id, uuid.UUID):
        return job_id
    try:
        return uuid.UUID(str(job_id))
    except ValueError:
        raise BadPublishInput("job", job_id, "a job id is a UUID, e.g. 3f2b1c9e-…") from None


def create_job(conn: psycopg.Connection, plan: PublishPlan) -> uuid.UUID:
    """Insert the plan's tasks (status PENDING, attempts 0) in one transaction; returns the job id.

    Raises:
        psycopg.errors.UniqueViolation: the job was created already (same idempotency keys).
    """
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "insert into {} (job_id, position, task_type, description, status, payload, idempotency_key) "
                "values (%s, %s, %s, %s, 'PENDING', %s, %s)"
            ).format(tasks_table(plan.tenant)),
            [
                (
                    plan.job_id,
                    task.position,
                    task.task_type,
                    task.description,
                    Jsonb(task.payload),
                    task.idempotency_key,
                )
                for task in plan.tasks
            ],
        )
    return plan.job_id


def run_job(
    conn: psycopg.Connection,
    tenant: str,
    job_id: uuid.UUID | str,
    client: MarketplaceClient,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_wait: float = DEFAULT_RETRY_WAIT,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    worker: str | None = None,
    progress: Callable[[str], object] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> JobOutcome:
    """Run (or resume) a job: its tasks in position order, as the module docstring says.

    Args:
        conn: an **autocommit** psycopg connection (each state change is committed at
            once; the job's advisory lock lives as long as the session).
        tenant: the tenant schema.
        job_id: the job's UUID (or its text).
        client: the marketplace (its ``marketplace`` must be the job's).
        max_attempts: attempts per task in this call (>= 1).
        retry_wait: seconds before a task's first retry, doubled after each (at most 60).
        lease_seconds: how long each claim lasts (> 0).
        worker: this worker's name in ``worker`` (default ``host:pid``).
        progress: called with one line of text per event (claim, retry, success, failure).
        sleep: how to wait between attempts (``time.sleep``).
        lock_timeout: seconds each statement of an attempt waits for a row lock (> 0).

    Returns:
        A :class:`JobOutcome` (status ``SUCCESS`` or ``FAILED``).

    Raises:
        ValueError: ``conn`` is not autocommit; BadRunOption (a BadPublishInput): an option out of range (named).
        BadPublishInput: unknown tenant or job, or a client for another marketplace.
        SchemaNotReadyError: the tenant's marketplace_tasks is not migrated.
        JobBusyError: another worker is running the job (nothing done).
        TaskLeasedError: a task is PROCESSING under a live lease (nothing done).
        LeaseLostError: another worker took this worker's task over (its lease ran out).
        TaskRowLockedError: another transaction held a task's row longer than ``lock_timeout``.
        psycopg.Error: the database failed (the task is recorded FAILED first when it can be).
        Exception: anything else an attempt raised, once the task is recorded FAILED
            (``unexpected error: <type>: <message>``; a note on the exception names job and task).
    """
    check_run_options(conn, max_attempts, retry_wait, lease_seconds, lock_timeout)
    tasks = job_status(conn, tenant, job_id)
    job = tasks[0].job_id
    _check_client(tasks, client)
    worker = worker or default_worker()
    say = progress or (lambda line: None)
    try_lock_job(conn, tenant, job)
    try:
        run = _JobRun(
            conn, tenant, job, client, max_attempts, retry_wait, lease_seconds, worker, say, sleep, lock_timeout
        )
        return run.run_locked()
    finally:
        unlock_job(conn, tenant, job)


def check_run_options(
    conn: psycopg.Connection, max_attempts: int, retry_wait: float, lease_seconds: float, lock_timeout: float
) -> None:
    """Raise BadRunOption naming the first of :func:`run_job`'s options out of range (seconds: finite), ValueError
    unless ``conn`` is autocommit; the CLI calls it before it creates a job, so a bad option leaves none."""
    if not conn.autocommit:
        raise ValueError("run_job needs an autocommit connection (connect(autocommit=True))")
    if max_attempts < 1:
        raise BadRunOption("max_attempts", max_attempts, ">= 1")
    if not (math.isfinite(retry_wait) and retry_wait >= 0):
        raise BadRunOption("retry_wait", retry_wait, "a finite number of seconds >= 0")
    if not (math.isfinite(lease_seconds) and 0 < lease_seconds <= MAX_LEASE_SECONDS):
        raise BadRunOption("lease_seconds", lease_seconds, f"a number of seconds > 0 and <= {MAX_LEASE_SECONDS:g}")
    if not (math.isfinite(lock_timeout) and lock_timeout > 0):
        raise BadRunOption("lock_timeout", lock_timeout, "a finite number of seconds > 0")


def _check_client(tasks: list[TaskRow], client: MarketplaceClient) -> None:
    """Raise BadPublishInput unless every task of the job publishes on the client's marketplace."""
    marketplaces = {task.payload.get("marketplace") for task in tasks}
    if marketplaces != {client.marketplace}:
        raise BadPublishInput(
            "client",
            client.marketplace,
            f"job {tasks[0].job_id} publishes on {', '.join(sorted(map(str, marketplaces)))}",
        )


@dataclass
class _JobRun:
    """One run of a job's tasks, in position order, under the job's lock: what it did so far."""

    conn: psycopg.Connection
    tenant: str
    job: uuid.UUID
    client: MarketplaceClient
    max_attempts: int
    retry_wait: float
    lease_seconds: float
    worker: str
    say: Callable[[str], object]
    sleep: Callable[[float], None]
    lock_timeout: float
    outcome: JobOutcome = field(init=False)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outcome = JobOutcome(self.job, "SUCCESS", [])

    def run_locked(self) -> JobOutcome:
        """Run the job's tasks in position order (the job's lock held): skip SUCCESS, stop at a failure."""
        tasks = load_tasks(self.conn, self.tenant, self.job)  # again, under the lock
        self.refuse_if_leased(tasks)
        for task in tasks:
            if task.status == "SUCCESS":
                self.outcome.skipped.append(task.position)  # type: ignore[arg-type]
                self.results[task.position] = task.result or {}  # type: ignore[index]
            elif not self.run_task(task):
                break
        outcome = self.outcome
        outcome.tasks = load_tasks(self.conn, self.tenant, self.job)
        if outcome.status == "FAILED":
            outcome.failed_task = next(task for task in outcome.tasks if task.status == "FAILED")
        return outcome

    def refuse_if_leased(self, tasks: list[TaskRow]) -> None:
        """Raise :class:`TaskLeasedError` when a task is PROCESSING under a lease that has not expired."""
        now = self.conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        for task in tasks:
            if task.status == "PROCESSING":
                expires = task.lease_expires_at or (
                    task.started_at + timedelta(seconds=self.lease_seconds) if task.started_at else None
                )
                if expires is not None and expires > now:
                    raise TaskLeasedError(task, expires)

    def run_task(self, task: TaskRow) -> bool:
        """Run ``task`` with up to ``max_attempts`` attempts; False when it failed for good (the job stops)."""
        attempts: list[int] = []

        def announce_retry(state: tenacity.RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            self.say(f"task {task.position} ({task.description}): retrying in {wait:g} s")

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda error: isinstance(error, AttemptFailed) and error.retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(multiplier=self.retry_wait, max=60),
            before_sleep=announce_retry,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            self.results[task.position] = retrying(self.attempt, task, attempts)  # type: ignore[index]
        except AttemptFailed:
            self.outcome.retries += len(attempts) - 1
            self.outcome.status = "FAILED"
            return False
        self.outcome.retries += len(attempts) - 1
        self.outcome.ran.append(task.position)  # type: ignore[arg-type]
        self.say(
            f"task {task.position} ({task.description}): SUCCESS"
            + (f" after {len(attempts)} attempts" if len(attempts) > 1 else "")
        )
        return True

    def attempt(self, task: TaskRow, attempts: list[int]) -> dict[str, Any]:
        """One attempt: claim the task, then execute it and record SUCCESS in its last transaction (or record FAILED).

        ``attempts`` counts them. An unexpected exception is recorded FAILED too, then re-raised.
        """
        attempts.append(len(attempts) + 1)
        previous_status, previous_worker = self.claim(task)

        def record(result: dict[str, Any]) -> dict[str, Any]:
            result = {**result, "attempts_this_run": len(attempts), "worker": self.worker}
            if previous_status == "PROCESSING":
                result["taken_up_from"] = previous_worker
            self.finish(task, "SUCCESS", result, None)
            return result

        try:
            result = execute_task(
                self.conn, self.tenant, task, self.client, self.results, transaction=self.transaction, record=record
            )
        except AttemptFailed as error:
            self.finish(task, "FAILED", None, str(error))
            self.say(f"task {task.position} ({task.description}): attempt {len(attempts)} failed: {error}")
            raise
        except (LeaseLostError, TaskRowLockedError):
            raise
        except Exception as error:
            self.record_unexpected(task, error)
            raise
        return result

    def claim(self, task: TaskRow) -> tuple[str, str | None]:
        """Claim ``task`` (see claim_task); JobBusyError when another transaction has its row; says a take-over."""
        claimed = claim_task(self.conn, self.tenant, task.id, self.worker, self.lease_seconds)
        if claimed is None:
            raise JobBusyError(
                self.job,
                f"task {task.position} ({task.description}) of job {self.job} is locked or was "
                "changed by another transaction; nothing more done here",
            )
        if claimed[0] == "PROCESSING":
            self.outcome.taken_over.append(task.position)  # type: ignore[arg-type]
            self.say(
                f"task {task.position} ({task.description}): taken up from worker {claimed[1]} after its lease expired"
            )
        return claimed

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction of an attempt, its lock waits bounded by ``lock_timeout`` (committed when the block ends,
        rolled back when it raises)."""
        with self.conn.transaction():
            self.set_lock_timeout()
            yield

    def set_lock_timeout(self) -> None:
        """Bound the current transaction's waits for a lock to ``lock_timeout`` seconds."""
        self.conn.execute("select set_config('lock_timeout', %s, true)", (f"{round(self.lock_timeout * 1000)}ms",))

    def record_unexpected(self, task: TaskRow, error: Exception) -> None:
        """Record ``task`` FAILED for an exception that is no AttemptFailed; notes on ``error`` name job and task."""
        text = str(error).strip().splitlines()
        message = f"unexpected error: {type(error).__name__}" + (f": {text[0]}" if text else "")
        where = f"task {task.position} ({task.description}) of job {task.job_id}"
        try:
            self.finish(task, "FAILED", None, message)
        except (PublishError, psycopg.Error) as also:
            error.add_note(f"{where}: could not be recorded FAILED ({also}); it stays PROCESSING until its lease ends")
            return
        error.add_note(f"{where}: recorded FAILED: {message}")
        self.say(f"{where}: FAILED: {message}")

    def finish(self, task: TaskRow, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        """Record the claimed task's end, waiting at most ``lock_timeout`` for its row.

        Raises LeaseLostError when another worker has taken it over, TaskRowLockedError when
        another transaction held its row longer than ``lock_timeout``.
        """
        try:
            with self.conn.transaction():
                self.set_lock_timeout()
                recorded = finish_task(self.conn, self.tenant, task.id, self.worker, status, result, error)
        except psycopg.errors.LockNotAvailable as locked:
            raise TaskRowLockedError(task, status, self.lock_timeout) from locked
        if not recorded:
            raise LeaseLostError(
                f"task {task.position} ({task.description}) of job {task.job_id} was taken over by another worker "
                f"after this worker's lease expired; its outcome ({status}) was not recorded"
            )


def publish_product(
    conn: psycopg.Connection,
    tenant: str,
    product_id: int,
    marketplace: str,
    client: MarketplaceClient,
    **options: Any,
) -> tuple[PublishPlan, JobOutcome]:
    """Plan, create and run a job publishing a stored product: :func:`build_plan`, :func:`create_job`,
    :func:`run_job` (``options`` are run_job's). Returns the plan and the outcome; raises as those do."""
    plan = build_plan(conn, tenant, product_id, marketplace)
    create_job(conn, plan)
    return plan, run_job(conn, tenant, plan.job_id, client, **options)


def format_tasks(tasks: list[TaskRow]) -> list[str]:
    """The task table of ``publish status``: a header, then one line per task in position order.

    Columns: position, status, attempts, description, started and completed (local
    time, HH:MM:SS), and the error message (or the result's photo or listing id).
    """

    def when(value: datetime | None) -> str:
        return value.astimezone().strftime("%H:%M:%S") if value else "-"

    lines = [f"{'pos':>3}  {'status':<10} {'tries':>5}  {'description':<42} {'started':<8}  {'completed':<9} detail"]
    for task in tasks:
        result = task.result or {}
        detail = task.error_message or result.get("photo_id") or result.get("listing_id") or ""
        if task.status == "SUCCESS" and result.get("replayed"):
            detail = f"{detail} (answer replayed: done once)"
        lines.append(
            f"{task.position if task.position is not None else '-':>3}  {task.status:<10} {task.attempts:>5}  "
            f"{task.description:<42} {when(task.started_at):<8}  {when(task.completed_at):<9} {detail}".rstrip()
        )
    return lines
