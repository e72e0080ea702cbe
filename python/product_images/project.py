"""Where this package finds the dbt project and ``gx/``: a checkout of its repository.

The dbt project (``dbt_project.yml``, ``models/``, ``macros/``…) and the Great
Expectations project ``gx/`` are not inside the Python package: ``product-images``
runs from a checkout of the repository, installed editable (``pip install -e .``,
what ``make`` does) or not. The checkout is, in this order:

1. ``PRODUCT_IMAGES_PROJECT_DIR``, when set;
2. the checkout this package's files live in (an editable install);
3. the current directory or one of its parents (a regular install, run from
   inside the checkout).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["PROJECT_DIR_VARIABLE", "ProjectNotFoundError", "dbt_vars", "gx_dir", "is_project_dir", "project_dir"]

PROJECT_DIR_VARIABLE = "PRODUCT_IMAGES_PROJECT_DIR"
"""Names the checkout explicitly (the folder holding ``dbt_project.yml``)."""

_PROJECT_NAME_LINE = "name: product_images"


class ProjectNotFoundError(RuntimeError):
    """No checkout of the repository was found: the message says where it looked and what to do."""


def is_project_dir(path: Path) -> bool:
    """True when ``path`` holds this repository's ``dbt_project.yml`` (its ``name: product_images`` line)."""
    project_file = path / "dbt_project.yml"
    if not project_file.is_file():
        return False
    return any(line.strip() == _PROJECT_NAME_LINE for line in project_file.read_text(encoding="utf-8").splitlines())


def _find(environ: Mapping[str, str], cwd: Path) -> Path:
    configured = environ.get(PROJECT_DIR_VARIABLE)
    if configured:
        path = Path(configured).expanduser().resolve()
        if not is_project_dir(path):
            raise ProjectNotFoundError(
                f"{PROJECT_DIR_VARIABLE}={configured} is not a checkout of product-images (no dbt_project.yml "
                f"with {_PROJECT_NAME_LINE!r} there)"
            )
        return path
    checkout = Path(__file__).resolve().parents[2]
    if is_project_dir(checkout):
        return checkout
    for folder in (cwd, *cwd.parents):
        if is_project_dir(folder):
            return folder
    raise ProjectNotFoundError(
        "product-images runs from a checkout of its repository (the dbt project and gx/ are not part of the "
        f"installed package), and none was found: not in {checkout}, nor in {cwd} or its parents. Run it from "
        f"inside the checkout, or set {PROJECT_DIR_VARIABLE}=/path/to/the/checkout."
    )


@cache
def project_dir() -> Path:
    """The checkout's root folder (it holds ``dbt_project.yml``).

    Returns:
        An absolute path, found as the module docstring says; cached for the process.

    Raises:
        ProjectNotFoundError: ``PRODUCT_IMAGES_PROJECT_DIR`` names another folder, or no
            checkout was found.
    """
    return _find(os.environ, Path.cwd())


def gx_dir() -> Path:
    """The Great Expectations project: ``PRODUCT_IMAGES_GX_DIR``, else ``<checkout>/gx``.

    Raises:
        ProjectNotFoundError: as :func:`project_dir`, when ``PRODUCT_IMAGES_GX_DIR`` is unset.
    """
    configured = os.environ.get("PRODUCT_IMAGES_GX_DIR")
    return Path(configured) if configured else project_dir() / "gx"


def dbt_vars() -> dict[str, Any]:
    """The project's dbt vars: the ``vars:`` mapping of ``dbt_project.yml``, as dbt reads it without ``--vars``.

    Returns:
        ``{name: value}`` (e.g. ``{"label_score_threshold": 0.8, ...}``); empty when the
        file has no ``vars:``.

    Raises:
        ProjectNotFoundError: as :func:`project_dir`.
        ValueError: ``dbt_project.yml`` is not valid YAML, or ``vars:`` is not a mapping.
    """
    import yaml

    path = project_dir() / "dbt_project.yml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {error}") from error
    found = document.get("vars") or {}
    if not isinstance(found, dict):
        raise ValueError(f"{path}: vars must be a mapping, got {type(found).__name__}")
    return dict(found)
