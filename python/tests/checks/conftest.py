"""Fixtures of the checkpoint tests: the test project's Great Expectations folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def gx_dir(project_dir: Path) -> Path:
    """``<test project>/gx``: the file context the checkpoint runs with."""
    return project_dir / "gx"
