"""sqlfluff (dbt templater, postgres dialect) finds nothing in models/ and tests/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_sqlfluff_lint_is_clean(project_dir: Path, database: str) -> None:
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    result = subprocess.run(
        [str(sqlfluff), "lint", "models", "tests", "--nocolor"],
        cwd=project_dir,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All Finished" in result.stdout
