"""``product-images labels review``: serve the review page until the session ends, then maybe apply.

The session ends with Ctrl-C in the terminal or the page's "Finish the session"
button. With ``apply=True`` the decisions are then applied: ``dbt seed``, then
``dbt run --select product_images`` (dbt refuses a review list edited but not
seeded, so the order matters). ``dbt run`` visits every tenant; the tenants
nobody touched cost one round trip each (their catalog says there is nothing to do).
"""

from __future__ import annotations

import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import uvicorn

from product_images.connection import connect, dbt_schema
from product_images.labels.review.queue import QueueKind, ReviewDatabase, ReviewQueue
from product_images.labels.review.session import APPLY_COMMAND, ReviewSession
from product_images.labels.review.thumbnails import ThumbnailStore

__all__ = ["ApplyOutcome", "ReviewEnvironment", "ReviewServerError", "apply_decisions", "serve_review"]

ReviewEnvironment = Callable[[Callable[[], list[str]], Path, TextIO], AbstractContextManager[None]]
"""What the page runs inside, set up by the caller (the demo: its database and pictures).

Called with a function returning the queue's photo URLs (callable once the database is
reachable), the thumbnail cache folder and where to print what started; the page is
served inside the context it returns."""

_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class ReviewServerError(RuntimeError):
    """The review page cannot start (the message says why and what to do)."""


@dataclass(frozen=True)
class ApplyOutcome:
    """What applying the decisions did: the dbt commands run and whether each passed (exit code 0 or 1)."""

    commands: list[tuple[str, bool]]

    @property
    def success(self) -> bool:
        """True when every command passed."""
        return all(passed for _, passed in self.commands)


def apply_decisions(
    touched_tenants: set[str], out: TextIO, *, project_dir: Path | None = None, profiles_dir: Path | None = None
) -> ApplyOutcome:
    """Run ``dbt seed``, then ``dbt run --select product_images`` (only when the seed loaded).

    A review list over 1 MiB, which dbt does not checksum (``macros/seeds/seed_loads.sql``
    then refuses a ``dbt run`` after a separate ``dbt seed``), is applied by one
    ``dbt build`` of the seed and the model instead (their tests left out).

    ``dbt seed`` runs under the review pages' lock on the list (:func:`review_list_lock`): it reads the
    file's checksum when it parses and the file again when it loads, and a decision written in between
    would be loaded under the older file's checksum (a ``dbt run`` of that older file would apply it).

    Args:
        touched_tenants: the tenants the session decided products of; when empty the list is applied
            all the same (an earlier session's ``--apply`` may have failed).
        out: where to say what runs.
        project_dir, profiles_dir: as :func:`product_images.migration.dbt_runner.run_dbt`.

    Returns:
        An :class:`ApplyOutcome` (dbt's own output goes to stdout as usual).
    """
    from product_images.labels.overrides import review_list_lock
    from product_images.migration.dbt_runner import run_dbt
    from product_images.project import project_dir as find_project_dir

    seed = (project_dir or find_project_dir()) / "seeds" / "label_overrides.csv"
    if touched_tenants:
        print(f"applying the decisions for {', '.join(sorted(touched_tenants))}: {APPLY_COMMAND}", file=out)
    else:
        print(f"no decision in this session; applying the review list as it is: {APPLY_COMMAND}", file=out)
    commands: list[tuple[str, bool]] = []
    for args in _apply_commands(seed):
        with review_list_lock(seed) if args[0] == "seed" else nullcontext():
            result = run_dbt(args, project_dir=project_dir, profiles_dir=profiles_dir)
        commands.append(("dbt " + " ".join(args), result.success))
        if not result.success:
            print(
                f"dbt {' '.join(args)} failed (exit {result.exit_code}); the decisions stay in the file: once what "
                f"dbt says above is dealt with, apply them with: {APPLY_COMMAND}",
                file=out,
            )
            break
    else:
        print("applied: the reviewed images now have label_source = 'override'", file=out)
    return ApplyOutcome(commands)


def _apply_commands(seed: Path) -> list[list[str]]:
    """dbt seed then dbt run; one dbt build (seed and model, no tests) for a review list dbt does not checksum."""
    from dbt.constants import MAXIMUM_SEED_SIZE

    try:
        big = seed.stat().st_size > MAXIMUM_SEED_SIZE
    except FileNotFoundError:
        big = False
    if big:
        exclude = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
        return [["build", "--select", "label_overrides", "product_images", *exclude]]
    return [["seed"], ["run", "--select", "product_images"]]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ReviewServerError(
            f"cannot listen on {host}:{port}: {error.strerror or error} (another review page? pass --port)"
        ) from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve_review(
    *,
    queue: QueueKind = "doubtful",
    tenant: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    apply: bool = False,
    overrides_path: Path | None = None,
    cache_dir: Path | None = None,
    environment: ReviewEnvironment | None = None,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    out: TextIO | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve the review page until the session ends; then apply the decisions when ``apply``.

    Args:
        queue: ``doubtful`` (the detector's queue; the rule's candidates until it has
            run, with a notice), ``rule`` or ``all``.
        tenant: only this tenant's products.
        host: the address to listen on: ``127.0.0.1`` unless another is asked for
            explicitly (``0.0.0.0`` answers any host name: the session token then
            guards the decisions alone).
        port: TCP port (0: any free one; the URL printed says which).
        apply: run ``dbt seed && dbt run --select product_images`` when the session ends.
        overrides_path: the review list (default ``seeds/label_overrides.csv`` of the checkout).
        cache_dir: thumbnails (default ``<checkout>/target/review-thumbnails``).
        environment: set up what the page needs before it connects (see
            :data:`ReviewEnvironment`; the demo's starts its database and pictures), or None.
        project_dir: the dbt project whose seed is written and applied (default: the checkout).
        profiles_dir: where dbt finds ``profiles.yml`` for ``apply`` (default: as ``run_dbt`` finds it).
        out: where the URL and the outcome are printed (default: stdout; errors then go to stderr).
        ready: called with the page's URL once the server listens (tests).

    Returns:
        The exit code: 0, or 1 when applying failed, or 2 when the page could not start
        (the reason printed: no tenant, no dbt run yet, no storage configuration, port in use,
        ``apply`` with an ``overrides_path`` other than the project's seed file).
    """
    err = sys.stderr if out is None else out
    out = sys.stdout if out is None else out
    run = _ReviewRun.prepare(queue, tenant, project_dir, overrides_path, cache_dir, err)
    try:
        if apply:
            _refuse_apply_elsewhere(run)
        with environment(run.photo_urls, run.cache_dir, out) if environment is not None else _nothing():
            review_queue = run.load()
            if review_queue is None:
                return 2
            if review_queue.notice:
                print(review_queue.notice, file=out)
            return _serve(review_queue, run, host, port, apply, out, ready, profiles_dir)
    except ReviewServerError as error:
        print(f"Error: {error}", file=err)
        return 2
    finally:
        run.database.close()


def _refuse_apply_elsewhere(run: _ReviewRun) -> None:
    """Raise :class:`ReviewServerError` when ``--apply`` would apply another file than the review list written.

    ``dbt seed`` loads the project's ``seeds/label_overrides.csv`` and nothing else.
    """
    seed = run.checkout / "seeds" / "label_overrides.csv"
    if run.overrides_path.resolve() != seed.resolve():
        raise ReviewServerError(
            f"--apply applies the project's {seed} (the only file dbt seed loads), not {run.overrides_path}: "
            "drop --apply, or review into the project's file (leave out --file)"
        )


@dataclass
class _ReviewRun:
    """One run of the review page: the checkout, the review list and thumbnail paths, the
    database, and the queue once loaded (loaded once: by the environment or by the page)."""

    queue: QueueKind
    tenant: str | None
    checkout: Path
    overrides_path: Path
    cache_dir: Path
    schema: str
    database: ReviewDatabase
    err: TextIO
    loaded: dict[str, ReviewQueue | None] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls,
        queue: QueueKind,
        tenant: str | None,
        project_dir: Path | None,
        overrides_path: Path | None,
        cache_dir: Path | None,
        err: TextIO,
    ) -> _ReviewRun:
        """The run with :func:`serve_review`'s defaults filled in (nothing connects yet)."""
        from product_images.project import project_dir as find_project_dir

        checkout = project_dir or find_project_dir()
        overrides_path = overrides_path or checkout / "seeds" / "label_overrides.csv"
        cache_dir = cache_dir or checkout / "target" / "review-thumbnails"
        schema = dbt_schema()
        database = ReviewDatabase(lambda: connect(autocommit=True, application_name="label review"), schema)
        return cls(queue, tenant, checkout, overrides_path, cache_dir, schema, database, err)

    def load(self) -> ReviewQueue | None:
        """The review queue (read at the first call), or None once the reason it cannot be read is printed."""
        if "queue" not in self.loaded:
            self.loaded["queue"] = _load_queue(self.database, self.queue, self.tenant, self.err)
        return self.loaded["queue"]

    def photo_urls(self) -> list[str]:
        """The URLs of the queue's photos ([] when the queue cannot be read)."""
        review_queue = self.load()
        return _photo_urls(self.schema, review_queue) if review_queue is not None else []


def _load_queue(database: ReviewDatabase, queue: QueueKind, tenant: str | None, err: TextIO) -> ReviewQueue | None:
    """The review queue, or None once the reason it cannot be read is printed on ``err``
    (no dbt run yet, an unknown tenant, no server)."""
    import psycopg

    try:
        return database.load_queue(queue, tenant)
    except psycopg.errors.UndefinedTable as error:
        print(f"Error: {str(error).strip()}: run `dbt run --select product_images` first (or `make demo`)", file=err)
    except LookupError as error:
        print(f"Error: {error}", file=err)
    except psycopg.OperationalError as error:
        print(f"Error: cannot connect to PostgreSQL: {str(error).strip()}", file=err)
    return None


def _photo_urls(schema: str, review_queue: ReviewQueue) -> list[str]:
    """The URLs of the photos of the queue's products (from the union view ``<schema>.product_images``)."""
    from psycopg import sql

    keys = {entry.key for entry in review_queue.entries}
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            sql.SQL("select tenant_schema, product_id, url from {}").format(sql.Identifier(schema, "product_images"))
        ).fetchall()
    return [url for tenant_schema, product_id, url in rows if (tenant_schema, product_id) in keys]


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _thumbnail_store(cache_dir: Path, out: TextIO) -> ThumbnailStore:
    from product_images.metadata.storage import UrlMapping, s3_client

    try:
        mapping = UrlMapping.from_env()
    except ValueError as error:
        print(f"no object storage mapping ({error}): every photo shows as 'not in the bucket'", file=out)
        return ThumbnailStore(cache_dir, None, None)
    try:
        client = s3_client(max_pool_connections=16)
    except ValueError as error:
        raise ReviewServerError(str(error)) from None
    return ThumbnailStore(cache_dir, mapping, client)


def _serve(
    review_queue: ReviewQueue,
    run: _ReviewRun,
    host: str,
    port: int,
    apply: bool,
    out: TextIO,
    ready: Callable[[str], None] | None,
    profiles_dir: Path | None,
) -> int:
    """Serve the page for ``review_queue`` until the session ends; the exit code (0, or 1 when applying failed).

    Raises:
        ReviewServerError: the review list cannot be read, no storage client, the port is in use.
    """
    from product_images.labels.review.app import ReviewSettings, create_app

    try:
        session = ReviewSession(run.database, review_queue, run.overrides_path)
    except ValueError as error:  # OverridesFileError: the file is not the seed's shape
        raise ReviewServerError(f"cannot read the review list: {error}") from None
    thumbnails = _thumbnail_store(run.cache_dir, out)
    display = _display_path(run.overrides_path, run.checkout)
    settings = ReviewSettings(
        token=secrets.token_urlsafe(32),
        allowed_hosts=_allowed_hosts(host),
        apply_on_exit=apply,
        overrides_display=display,
    )
    server_box: dict[str, _SessionServer] = {}

    def finish() -> None:
        server_box["server"].should_exit = True

    app = create_app(session, thumbnails, settings, on_finish=finish)
    sock, bound_port, url = _listen(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _SessionServer(config)
    server_box["server"] = server
    _announce(review_queue, session, display, host, bound_port, url, out)
    if ready is not None:
        threading.Thread(target=_when_started, args=(server, ready, url), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return _end_session(session, apply, out, run.checkout, profiles_dir)


def _allowed_hosts(host: str) -> list[str]:
    """The Host headers the page answers: any for a wildcard address, else the host and the loopback names."""
    return ["*"] if host in _WILDCARD_HOSTS else sorted({host.strip("[]"), "127.0.0.1", "localhost"})


def _display_path(overrides_path: Path, checkout: Path) -> str:
    """The review list's path as shown: relative to the checkout when inside it."""
    try:
        return str(overrides_path.resolve().relative_to(checkout))
    except ValueError:
        return str(overrides_path)


def _listen(host: str, port: int) -> tuple[socket.socket, int, str]:
    """(the listening socket, its port, the page's URL); a wildcard address shows as 127.0.0.1."""
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = "127.0.0.1" if host in _WILDCARD_HOSTS else (f"[{host}]" if ":" in host else host)
    return sock, bound_port, f"http://{shown_host}:{bound_port}/"


def _announce(
    review_queue: ReviewQueue, session: ReviewSession, display: str, host: str, bound_port: int, url: str, out: TextIO
) -> None:
    """Print what is reviewed, where decisions go, and the URL to open."""
    progress = session.progress()
    print(
        f"label review: {review_queue.title}, {progress.text()}; decisions go to {display}",
        file=out,
    )
    if host in _WILDCARD_HOSTS:
        print(f"listening on {host}:{bound_port}: reachable from other machines", file=out)
    print(f"open {url}  (Ctrl-C or the page's Finish button ends the session)", file=out, flush=True)


def _end_session(session: ReviewSession, apply: bool, out: TextIO, checkout: Path, profiles_dir: Path | None) -> int:
    """Print the session's outcome, then apply the decisions when ``apply``; the exit code (1: applying failed)."""
    progress = session.progress()
    print(
        f"session ended: {progress.decided_this_session} decision(s) this session, {progress.text()}",
        file=out,
        flush=True,
    )
    overwritten = session.overwritten()
    if overwritten:
        listed = ", ".join(f"{tenant} product {product_id}" for tenant, product_id in overwritten)
        print(
            f"warning: {len(overwritten)} decision(s) of this session are no longer in {session.overrides_path} as "
            f"they were saved (changed since by another session or a hand edit, or an editor saved an older copy "
            f"over them): {listed}; open those products again and decide them again if that was not meant",
            file=out,
        )
    if not apply:
        if session.touched_tenants:
            print(f"apply them with: {APPLY_COMMAND}", file=out)
        return 0
    outcome = apply_decisions(session.touched_tenants, out, project_dir=checkout, profiles_dir=profiles_dir)
    return 0 if outcome.success else 1


class _SessionServer(uvicorn.Server):
    """uvicorn's server, but Ctrl-C (SIGINT) or SIGTERM ends the session like the Finish button.

    uvicorn raises the signal again once it has shut down, which would end the process
    before ``--apply`` runs; here the signal only stops the server (a second Ctrl-C stops
    it at once, without waiting for open connections).
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop serving; do not raise the signal again afterwards."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def _when_started(server: Any, ready: Callable[[str], None], url: str) -> None:
    import time

    while not server.started and not server.should_exit:
        time.sleep(0.02)
    if server.started:
        ready(url)
