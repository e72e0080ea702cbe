"""The README documents what the code offers: every command and option, every dbt var, every run-operation.

As in sqlite-utils' ``test_docs.py``: the README's command reference is generated from
the commands' ``--help`` by cog (``make docs``), and these tests fail when it is out of
date, or when something a user can type is not in the README at all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml

from product_images.cli import main
from product_images.demo.cli import main as demo_main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PROGRAMS: tuple[tuple[str, click.Group], ...] = (("product-images", main), ("product-images-demo", demo_main))


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every leaf command under ``group``: (its path of names, the command)."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def undocumented(readme: str, programs: tuple[tuple[str, click.Group], ...] = PROGRAMS) -> list[str]:
    """What ``readme`` does not mention: ``"<program> <command>"`` for a command, ``"… --option"`` for an option.

    A command is documented when its full name (``product-images labels detect``) is in the
    text; an option when its long flag is, within that command's own section of the
    command reference (``### `product-images labels detect` ``) or anywhere else. Hidden
    options are left out.
    """
    missing = []
    for program, group in programs:
        for path, command in commands(group):
            name = " ".join((program, *path))
            if name not in readme:
                missing.append(name)
                continue
            for param in command.params:
                if not isinstance(param, click.Option) or param.hidden:
                    continue  # a hidden option (a secret better given by its environment variable)
                flags = [flag for flag in (*param.opts, *param.secondary_opts) if flag.startswith("--")]
                if flags and not any(re.search(re.escape(flag) + r"(?![\w-])", readme) for flag in flags):
                    missing.append(f"{name} {flags[0]}")
    return missing


def test_every_command_and_option_is_in_the_readme() -> None:
    assert undocumented(README.read_text(encoding="utf-8")) == []


def test_a_command_added_without_its_readme_line_is_named() -> None:
    labels = main.commands["labels"]
    assert isinstance(labels, click.Group)

    @click.command("frobnicate")
    @click.option("--tenant")
    @click.option("--wobble-factor", type=int)
    def frobnicate(tenant: str | None, wobble_factor: int | None) -> None:
        """A command nobody documented."""

    extended_labels = click.Group("labels", commands={**labels.commands, "frobnicate": frobnicate})
    extended = click.Group("product-images", commands={**main.commands, "labels": extended_labels})
    readme = README.read_text(encoding="utf-8")
    assert undocumented(readme, (("product-images", extended),)) == ["product-images labels frobnicate"]
    # Documenting the command alone is not enough: its new option is named.
    readme += "\n`product-images labels frobnicate --tenant user_1`\n"
    assert undocumented(readme, (("product-images", extended),)) == ["product-images labels frobnicate --wobble-factor"]


def test_the_readme_command_reference_is_current() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", str(README)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, f"the README's command reference is out of date: run `make docs`\n{checked.stdout}"


VAR_CALL = re.compile(r"""\bvar\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")


def _dbt_vars() -> set[str]:
    names = set()
    for folder in ("macros", "models", "tests"):
        for path in [*(ROOT / folder).rglob("*.sql"), *(ROOT / folder).rglob("*.yml")]:
            names.update(VAR_CALL.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_dbt_var_is_in_the_readme() -> None:
    names = _dbt_vars()
    assert {"lock_timeout", "tenant_shards", "watermark_max_age_hours"} <= names  # the scan finds them
    readme = README.read_text(encoding="utf-8")
    assert sorted(name for name in names if not re.search(rf"\b{name}\b", readme)) == []


def _run_operations() -> set[str]:
    names = set()
    for path in (ROOT / "macros").rglob("_macros.yml"):
        for macro in yaml.safe_load(path.read_text(encoding="utf-8")).get("macros", []):
            if str(macro.get("description", "")).strip().startswith("run-operation:"):
                names.add(macro["name"])
    return names


def test_every_run_operation_is_in_the_readme() -> None:
    names = _run_operations()
    assert {"backup_legacy_images", "studio_collections"} <= names
    readme = README.read_text(encoding="utf-8")
    assert sorted(name for name in names if f"run-operation {name}" not in readme) == []


@pytest.mark.parametrize("command", ["make demo", "make test", "make lint", "make docs", "make bench"])
def test_the_make_targets_the_readme_names_exist(command: str) -> None:
    target = command.split()[1]
    assert command in README.read_text(encoding="utf-8")
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)


def repeated_sections(readme: str) -> list[str]:
    """The ``##`` and ``###`` headings that head more than one section of ``readme``, in order.

    Lines inside fenced code blocks (a shell comment starting with ``#``) are not headings.
    Subsection names may repeat under different parents (``### Commands``), so a ``###``
    heading counts as its parent ``##`` heading plus its own text.
    """
    seen: set[str] = set()
    repeated: list[str] = []
    parent, fenced = "", False
    for line in readme.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not line.startswith(("## ", "### ")):
            continue
        if line.startswith("## "):
            parent = key = line
        else:
            key = f"{parent} / {line}"
        if key in seen:
            repeated.append(key)
        seen.add(key)
    return repeated


def test_no_readme_section_is_there_twice() -> None:
    """A README edited by a script once held 880 lines twice (the labels chapter to the benchmarks)."""
    assert repeated_sections(README.read_text()) == []


def test_a_section_pasted_twice_is_named() -> None:
    readme = "## A\n\n```sh\n# not a heading\n```\n### Commands\n## B\n### Commands\n## A\n"
    assert repeated_sections(readme) == ["## A"]
