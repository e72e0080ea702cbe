"""Guards on the package's shape: the import contract covers every module, and functions and modules stay small.

`make lint` runs import-linter (`lint-imports`) on the contract "Production code never
imports the demo". A forbidden contract only guards the modules it names, so a test
checks that it names every top-level module of the package but the demo itself.
`make lint` also runs ruff's size rules (complexity, branches, statements); these tests
add what ruff does not count: no function over 60 lines, no module over 600, and no
size rule silenced in the package.
"""

from __future__ import annotations

import ast
import pkgutil
import re
import tomllib
from pathlib import Path

import product_images

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _contract() -> dict[str, object]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == "no-demo-in-production"]
    return contract


def test_the_contract_names_every_module_but_the_demo() -> None:
    modules = {f"product_images.{info.name}" for info in pkgutil.iter_modules(product_images.__path__)}
    assert "product_images.demo" in modules
    contract = _contract()
    assert contract["forbidden_modules"] == ["product_images.demo"]
    assert set(contract["source_modules"]) == modules - {"product_images.demo"}  # type: ignore[arg-type]


def test_no_size_rule_is_silenced_in_the_package() -> None:
    package = Path(product_images.__path__[0])
    silenced = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"#\s*noqa:\s*[A-Z0-9, ]*\b(C901|PLR0912|PLR0915)\b", line)
    ]
    assert silenced == []


#: Function and module sizes of the package (the demo and the renderers included), in lines from
#: `def` to the function's last line, docstring included: enough to hold in one's head.
FUNCTION_LINES = 60
MODULE_LINES = 600


PACKAGE = Path(product_images.__path__[0])


def _functions_over(limit: int, package: Path = PACKAGE) -> list[str]:
    over = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    over.append(f"{path.relative_to(package)}:{node.lineno} {node.name} ({lines} lines)")
    return over


def test_no_function_is_over_60_lines() -> None:
    assert _functions_over(FUNCTION_LINES) == []


def test_no_module_is_over_600_lines() -> None:
    package = Path(product_images.__path__[0])
    over = [
        f"{path.relative_to(package)} ({lines} lines)"
        for path in sorted(package.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    ]
    assert over == []


def test_the_size_guard_names_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES - 1))
    (tmp_path / "module.py").write_text(f"def fits():\n{body}\n\n\nasync def long():\n{body}\n    return x0\n")
    assert _functions_over(FUNCTION_LINES, tmp_path) == [f"module.py:{FUNCTION_LINES + 3} long (61 lines)"]
