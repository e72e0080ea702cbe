"""The import contract of pyproject.toml covers the whole package: a new module cannot slip past it.

`make lint` runs import-linter (`lint-imports`) on the contract "Production code never
imports the demo". A forbidden contract only guards the modules it names, so this test
checks that it names every top-level module of the package but the demo itself.
"""

from __future__ import annotations

import pkgutil
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
