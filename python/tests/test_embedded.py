"""The embedded PostgreSQL (``product_images.embedded``) as `make demo` and the tests start it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_starting_the_embedded_server_prints_no_runtime_dir_warning(tmp_path: Path) -> None:
    # root in a container has no XDG_RUNTIME_DIR: platformdirs warned about it on every `make demo`
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PG", "XDG_RUNTIME_DIR"))}
    script = (
        "import sys; from product_images.embedded import start_embedded_postgres; "
        "print(start_embedded_postgres(sys.argv[1], delete_at_exit=True)['PGUSER'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "pgdata")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgres"
    assert "XDG_RUNTIME_DIR" not in result.stderr, result.stderr
