"""The demo runs the package's own commands as an operator would: ``product-images … --json`` in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from rich.console import Console

__all__ = ["run_json_command"]


def run_json_command(console: Console, args: list[str], shown: str) -> tuple[int, dict[str, Any] | None]:
    """Run ``python -m product_images <args>`` (a command with ``--json`` among ``args``) and read its summary.

    The child process gets this process's environment (the demo storage's endpoint and URL
    mapping) and a core of its own; its progress bar and errors go to the inherited stderr.

    Args:
        console: where to print ``running: <shown>`` and a failure.
        args: the command's arguments, its name first, e.g. ``["labels", "detect", "--json", "--concurrency", "2"]``.
        shown: the command line as a person would type it, for the ``running:`` line.

    Returns:
        ``(0, the JSON object it printed)``, or ``(its exit code, None)`` when it failed (1: could not
        run, 2: bad configuration); the failure is printed, naming the command.

    Raises:
        json.JSONDecodeError: it exited 0 but did not print one JSON object.
    """
    console.print(f"running: {shown}", highlight=False)
    finished = subprocess.run(
        [sys.executable, "-m", "product_images", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    if finished.returncode != 0:
        name = " ".join(args[:2])  # the command's name, e.g. "labels detect"
        console.print(f"[red]{name} failed (exit {finished.returncode}); its error is above[/red]")
        return finished.returncode, None
    return 0, json.loads(finished.stdout)
