"""Running this repository's dbt project in-process (dbt's ``dbtRunner``).

The demo, the tests and the other commands of the package call dbt the way a
user does (``dbt seed``, ``dbt run --select product_images``, ``dbt test``), with
the project at the checkout's root (:func:`product_images.project.project_dir`) and
a profile made from ``profiles.example.yml``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from product_images.project import project_dir as find_project_dir


@dataclass(frozen=True)
class DbtResult:
    """The outcome of one dbt command.

    Attributes:
        args: the command line given to dbt, e.g. ``["run", "--select", "product_images"]``.
        success: dbt's own verdict (its exit code is 0 exactly when this is true).
        exception: the exception dbt raised before running anything (bad project,
            no connection), else ``None``.
        result: dbt's result object (``RunExecutionResult`` for run/test/seed).
    """

    args: list[str]
    success: bool
    exception: BaseException | None
    result: Any

    @property
    def exit_code(self) -> int:
        """0 on success, 1 when a node failed, 2 when dbt could not run (as the ``dbt`` CLI)."""
        if self.success:
            return 0
        return 2 if self.exception is not None else 1

    def node_results(self) -> list[Any]:
        """dbt's per-node results (``.status``, ``.message``, ``.node.name``), empty if none."""
        return list(getattr(self.result, "results", None) or [])


def ensure_profiles_dir(project_dir: Path | None = None) -> Path:
    """Return a directory holding a ``profiles.yml`` for the ``product_images`` profile.

    Uses, in this order: ``DBT_PROFILES_DIR``; the project folder when it holds a
    ``profiles.yml``; ``~/.dbt`` when it has one naming ``product_images``; else it
    copies ``profiles.example.yml`` (which reads the libpq variables) to
    ``<project>/target/profiles/profiles.yml``.

    Args:
        project_dir: the dbt project (default: the checkout, :func:`product_images.project.project_dir`).

    Raises:
        FileNotFoundError: ``DBT_PROFILES_DIR`` is set but has no ``profiles.yml``.
        product_images.project.ProjectNotFoundError: no checkout was found.
    """
    project_dir = project_dir or find_project_dir()
    configured = os.environ.get("DBT_PROFILES_DIR")
    if configured:
        if not (Path(configured) / "profiles.yml").is_file():
            raise FileNotFoundError(f"DBT_PROFILES_DIR={configured} has no profiles.yml")
        return Path(configured)
    if (project_dir / "profiles.yml").is_file():
        return project_dir
    home = Path.home() / ".dbt" / "profiles.yml"
    if home.is_file() and "product_images:" in home.read_text(encoding="utf-8"):
        return home.parent
    generated = project_dir / "target" / "profiles"
    generated.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_dir / "profiles.example.yml", generated / "profiles.yml")
    return generated


def run_dbt(args: list[str], *, project_dir: Path | None = None, profiles_dir: Path | None = None) -> DbtResult:
    """Run one dbt command in this process, against the database the libpq variables name.

    Args:
        args: the dbt command and its flags, e.g. ``["run", "--select", "product_images"]``;
            ``--project-dir`` and ``--profiles-dir`` are added.
        project_dir: the dbt project (default: the checkout, :func:`product_images.project.project_dir`).
        profiles_dir: where ``profiles.yml`` is (default: :func:`ensure_profiles_dir`).

    Returns:
        A :class:`DbtResult`; dbt's own output goes to stdout and ``logs/dbt.log`` as usual.
        Failures are reported in the result, never raised.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when dbt runs

    os.environ.setdefault("DO_NOT_TRACK", "1")
    project_dir = project_dir or find_project_dir()
    profiles_dir = profiles_dir or ensure_profiles_dir(project_dir)
    full_args = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)]
    outcome = dbtRunner().invoke(full_args)
    return DbtResult(args=list(args), success=bool(outcome.success), exception=outcome.exception, result=outcome.result)
