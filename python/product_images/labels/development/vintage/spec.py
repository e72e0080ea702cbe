"""Typed reading of a photo's ``spec`` (sorted ``(name, value)`` pairs of plain values)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Spec", "SpecValue", "freeze"]

SpecValue = str | int | float | bool


def freeze(values: Mapping[str, SpecValue]) -> tuple[tuple[str, SpecValue], ...]:
    """``values`` as the sorted (name, value) pairs an :class:`EvalPhoto` holds."""
    return tuple(sorted(values.items()))


class Spec:
    """A photo's parameters by name, with typed getters (a missing name gives the default)."""

    def __init__(self, pairs: tuple[tuple[str, SpecValue], ...]) -> None:
        self._values: dict[str, SpecValue] = dict(pairs)

    def text(self, name: str, default: str = "") -> str:
        """The str value of ``name``."""
        value = self._values.get(name, default)
        return value if isinstance(value, str) else str(value)

    def number(self, name: str, default: float = 0.0) -> float:
        """The numeric value of ``name`` as a float."""
        value = self._values.get(name, default)
        return float(value) if isinstance(value, int | float) else default

    def integer(self, name: str, default: int = 0) -> int:
        """The numeric value of ``name`` as an int."""
        return int(round(self.number(name, float(default))))

    def flag(self, name: str) -> bool:
        """The bool value of ``name`` (False when absent)."""
        return bool(self._values.get(name, False))
