"""The demo's child commands: a failing one is reported by name with its exit code, nothing parsed."""

from __future__ import annotations

import io

from rich.console import Console

from product_images.demo.commands import run_json_command


def test_a_command_that_fails_is_named_with_its_exit_code():
    out = io.StringIO()
    code, values = run_json_command(
        Console(file=out, width=200),
        ["metadata", "backfill", "--json", "--concurrency", "0"],  # click refuses it: exit 2, before any work
        "product-images metadata backfill --concurrency 0",
    )
    assert (code, values) == (2, None)
    assert out.getvalue().splitlines() == [
        "running: product-images metadata backfill --concurrency 0",
        "metadata backfill failed (exit 2); its error is above",
    ]
