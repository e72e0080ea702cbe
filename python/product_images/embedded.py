"""The embedded PostgreSQL used by ``make demo``, the tests, the benchmarks and the SQL lint when ``PGHOST`` is unset.

It is the PyPI package ``pgserver`` (PostgreSQL binaries in a wheel), listening on
a Unix socket inside its data directory; nothing here is meant for production.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(
    data_dir: str | Path, *, keep_running: bool = False, delete_at_exit: bool = False
) -> dict[str, str]:
    """Start (or reuse) an embedded PostgreSQL whose data lives in ``data_dir``.

    Args:
        data_dir: the cluster's data directory; created and initialised on first use,
            reused (with its data) afterwards. Its path must stay short: the Unix
            socket inside it is limited to 107 bytes by the kernel.
        keep_running: leave the server running when this process exits
            (default: stop it at exit, keeping the data).
        delete_at_exit: stop it and delete ``data_dir`` when this process exits (tests).

    Returns:
        The libpq variables that reach it: ``{"PGHOST": <socket dir>, "PGPORT": ...,
        "PGUSER": "postgres", "PGDATABASE": "postgres"}``.

    Raises:
        ImportError: ``pgserver`` is not installed (``pip install -e '.[demo]'``).
        RuntimeError: the server did not start (pgserver's message, with its log).
    """
    with warnings.catch_warnings():
        # pgserver keeps its lock file in platformdirs' runtime folder, which warns on every start where
        # XDG_RUNTIME_DIR is unset (root in a container) and falls back to /tmp/runtime-<uid>: fine for a
        # lock file, and noise on the terminal of `make demo`.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # imported here: only the demo and the tests need it

    data_dir = reachable_data_dir(Path(data_dir))
    server: Any = pgserver.get_server(
        data_dir, cleanup_mode=None if keep_running else ("delete" if delete_at_exit else "stop")
    )
    uri = server.get_uri()
    host = str(data_dir.resolve())
    if "host=" in uri:
        host = uri.split("host=", 1)[1].split("&", 1)[0]
    return {
        "PGHOST": host,
        "PGPORT": "5432",
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
    }


def reachable_data_dir(data_dir: Path) -> Path:
    """Where the embedded cluster can really live.

    When this process runs as root, pgserver runs PostgreSQL as an unprivileged
    user, which must be able to traverse every parent of the data directory
    (PostgreSQL opens some files by absolute path: a checkpoint PANICs with
    "Permission denied" otherwise). If a parent is closed to others, the data goes
    to a stable folder under the system temporary directory instead, named after
    ``data_dir``, and a line on stderr says so.

    Args:
        data_dir: the wanted data directory.

    Returns:
        ``data_dir`` itself, or its stand-in under ``tempfile.gettempdir()``.
    """
    if os.geteuid() != 0:
        return data_dir
    resolved = data_dir.resolve()
    if all(parent.stat().st_mode & 0o001 for parent in resolved.parents if parent.exists()):
        return data_dir
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    stand_in = Path(tempfile.gettempdir()) / f"product-images-pgdata-{digest}"
    print(f"embedded PostgreSQL: {resolved.parent} is closed to other users; using {stand_in}", file=sys.stderr)
    return stand_in


def use_embedded_postgres_unless_configured(data_dir: str | Path) -> str:
    """Point the libpq variables of this process at the embedded server unless ``PGHOST`` is set.

    Args:
        data_dir: where the embedded cluster keeps its data.

    Returns:
        ``"embedded"`` when it started the embedded server and set ``PGHOST``,
        ``PGPORT``, ``PGUSER`` and ``PGDATABASE`` in ``os.environ``; ``"external"``
        when ``PGHOST`` was already set (nothing changed).

    Raises:
        The errors of :func:`start_embedded_postgres`.
    """
    if os.environ.get("PGHOST"):
        return "external"
    os.environ.update(start_embedded_postgres(data_dir))
    os.environ.pop("PGPASSWORD", None)
    return "embedded"
