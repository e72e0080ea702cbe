"""``make lint``'s SQL part: sqlfluff (dbt templater, postgres dialect) on ``models/`` and ``tests/``.

The dbt templater compiles every model and test, which connects to the database
(discovery queries run at compile time): with no ``PGHOST`` an embedded
PostgreSQL is started for it in a temporary folder, as for the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from product_images.embedded import start_embedded_postgres
from product_images.project import project_dir

LINTED_FOLDERS = ("models", "tests")
"""The folders of the dbt project sqlfluff reads (macros render no SQL of their own)."""


def lint_sql(folders: tuple[str, ...] = LINTED_FOLDERS) -> int:
    """Run ``sqlfluff lint`` on ``folders`` of the checkout; its output passes through.

    Returns:
        sqlfluff's exit code: 0 when clean, 1 when it found violations, 2 on an error.

    Raises:
        product_images.project.ProjectNotFoundError: no checkout was found.
    """
    root = project_dir()
    env = dict(os.environ)
    if not env.get("PGHOST"):
        data_dir = Path(tempfile.mkdtemp(prefix="product-images-lint-pg-"))
        env.update(start_embedded_postgres(data_dir, delete_at_exit=True))
        env.pop("PGPASSWORD", None)
    profiles = root / "target" / "profiles"  # where .sqlfluff points the dbt templater
    if not (profiles / "profiles.yml").is_file():
        profiles.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "profiles.example.yml", profiles / "profiles.yml")
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    return subprocess.run([str(sqlfluff), "lint", *folders], cwd=root, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(lint_sql())
