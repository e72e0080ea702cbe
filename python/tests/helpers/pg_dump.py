"""``pg_dump --schema-only`` of one schema, with a pg_dump as new as the server (tests compare schemas with it).

pg_dump refuses a server of a newer major version than its own ("aborting because of
server version mismatch"): pgserver's pg_dump (16) dumps the embedded 16 and Debian's
15, not a 17. The candidates, first that fits: ``$PG_DUMP``, pgserver's, then Debian's
``/usr/lib/postgresql/<major>/bin/pg_dump``. With none, the test is skipped, naming why.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pgserver
import psycopg
import pytest


def _major(binary: str) -> int | None:
    """The major version of a pg_dump binary (``pg_dump (PostgreSQL) 16.2`` → 16), None when it does not run."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


@cache
def pg_dump_binary() -> str:
    """A pg_dump whose major version is at least the server's (the server from the PG* variables).

    Raises:
        pytest.skip.Exception: no such pg_dump is installed.
    """
    with psycopg.connect() as conn:
        server = conn.info.server_version // 10000
    candidates = [os.environ.get("PG_DUMP", ""), str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    for binary in candidates:
        if binary and (major := _major(binary)) is not None and major >= server:
            return binary
    pytest.skip(f"no pg_dump of PostgreSQL {server} or newer to compare schemas with (set PG_DUMP)")


def pg_dump(schema: str) -> str:
    """``pg_dump --schema-only --no-owner -n <schema>`` of the PG* variables' database: the SQL text."""
    return subprocess.run(
        [pg_dump_binary(), "--schema-only", "--no-owner", "-n", schema], capture_output=True, text=True, check=True
    ).stdout
