"""``make lint``'s safe-DDL part: the patterns squawk names, refused in our own schema-change macros.

squawk (https://squawkhq.com) lints SQL files; our DDL lives in Jinja macros that
build statements from pieces, so this lint reads each statement template of
``macros/schema_changes/`` (the arguments of ``schema_change_ddl(…)``,
``schema_change_index_ddl(…)``, ``adapter.execute(…)`` and ``run_query(…)``, and the
``default=`` of ``schema_change_add_column(…)``) and refuses, under squawk's rule names:

- ``require-concurrent-index-creation``: an index built without ``CONCURRENTLY``;
- ``constraint-missing-not-valid``: ``ADD CONSTRAINT`` (a foreign key, a check)
  without ``NOT VALID`` (``… USING INDEX`` excepted: no scan);
- ``adding-not-nullable-field``: ``SET NOT NULL`` (it scans the table under ACCESS EXCLUSIVE);
- ``renaming-table`` / ``renaming-column``: a rename outside the expand/contract
  operations ``operations/rename_*.sql`` (the previous version keeps the old name as a view);
- ``ban-drop-column`` / ``ban-drop-table``: a drop outside the operations' contract
  (``complete``) and ``rollback`` steps;
- ``adding-field-with-default``: a volatile default, or a column type that brings a default of
  its own (``serial``, ``identity``, ``generated … stored``, ``default …`` in the type): either
  rewrites the table.

A deliberate exception carries, on one of the two lines above it, the comment
``{# squawk-ignore <rule>: <why> #}``, as squawk's own ``-- squawk-ignore``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from product_images.project import project_dir

STATEMENT_CALLS = ("schema_change_ddl(", "schema_change_index_ddl(", "adapter.execute(", "run_query(")
"""The calls whose argument is a DDL statement template."""

VOLATILE = re.compile(r"(clock_timestamp|random|gen_random_uuid|uuid_generate_v\d|nextval|timeofday)\s*\(")
"""Volatile functions: a default calling one is evaluated per row, so ADD COLUMN rewrites the table."""

OWN_DEFAULT = re.compile(r"\b((?:small|big)?serial[248]?|generated|identity|default)\b")
"""What makes a column type bring its own default: ADD COLUMN with it rewrites the table."""

OWN_DEFAULT_MESSAGE = (
    "a type with a default of its own rewrites the table: add the column plain, backfill, then set the default"
)

ENGINE = "schema_change.sql"
"""The dispatcher: it runs the statements the operations build, and creates its own state table."""


@dataclass(frozen=True)
class Violation:
    """One refused statement: where (file, 1-based line), squawk's rule name and why."""

    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def _call_argument(text: str, start: int) -> str:
    """The text of a call's arguments from ``start`` (just after its opening parenthesis) to the matching one."""
    depth = 1
    position = start
    while position < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[position], 0)
        position += 1
    return text[start : position - 1]


def _enclosing_macro(text: str, position: int) -> str:
    """The name of the ``{% macro … %}`` that ``position`` is in ("" when none)."""
    names = re.findall(r"{%-?\s*macro\s+(\w+)\s*\(", text[:position])
    return names[-1] if names else ""


def _ignored(lines: list[str], line: int, rule: str) -> bool:
    """Whether one of the two lines above ``line`` (1-based) says ``squawk-ignore <rule>``."""
    above = " ".join(lines[max(0, line - 3) : line - 1])
    return f"squawk-ignore {rule}" in above


def _rules(statement: str, path: Path, macro: str) -> list[tuple[str, str]]:
    """(rule, message) for each pattern one statement template shows."""
    lowered = re.sub(r"\s+", " ", statement.lower())
    found = []
    if "index" in lowered and (
        "create " in lowered or "schema_change_index_ddl" in macro or "concurrently=" in lowered
    ):
        if "concurrently=false" in lowered or ("create " in lowered and "concurrently" not in lowered):
            found.append(
                (
                    "require-concurrent-index-creation",
                    "an index built without CONCURRENTLY blocks writes while it builds",
                )
            )
    if "add constraint" in lowered and "not valid" not in lowered and "using index" not in lowered:
        found.append(
            ("constraint-missing-not-valid", "add the constraint NOT VALID, then VALIDATE it in another transaction")
        )
    if "set not null" in lowered:
        found.append(
            ("adding-not-nullable-field", "SET NOT NULL scans the table under ACCESS EXCLUSIVE; use set_not_null")
        )
    in_operations = path.parent.name == "operations"
    renamed = re.search(r"rename (to|column|constraint)\b", lowered)
    if renamed and not (in_operations and path.name.startswith("rename_")):
        kind = "column" if renamed.group(1) == "column" else "table"
        found.append(
            (f"renaming-{kind}", "rename only through the rename operations (start keeps the old name as a view)")
        )
    for kind in ("column", "table"):
        if f"drop {kind}" in lowered and not (
            in_operations and (macro.endswith("__complete") or macro.endswith("__rollback"))
        ):
            found.append((f"ban-drop-{kind}", f"drop a {kind} only in an operation's complete or rollback step"))
    if "default" in lowered and VOLATILE.search(lowered):
        found.append(("adding-field-with-default", "a volatile default rewrites the table under ACCESS EXCLUSIVE"))
    added = re.search(r"add column (?:if not exists )?\S+ (.*)", lowered)
    if added and re.search(r"\b(?:small|big)?serial[248]?\b|\bgenerated\b|\bidentity\b", added.group(1)):
        found.append(("adding-field-with-default", OWN_DEFAULT_MESSAGE))
    return found


def _split_arguments(argument: str) -> list[str]:
    """A call's arguments, split at the commas outside brackets and quotes."""
    parts: list[str] = []
    depth, quote, current = 0, "", ""
    for char in argument:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and not depth:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    return [*parts, current.strip()] if current.strip() else parts


def _add_column_rules(argument: str, path: Path, macro: str) -> list[tuple[str, str]]:
    """(rule, message) for a ``schema_change_add_column(…)`` call: its default, and its type (third argument)."""
    found = [rule for rule in _rules(argument, path, macro) if rule[0] == "adding-field-with-default"]
    arguments = _split_arguments(argument)
    positional = [part for part in arguments if not re.match(r"\w+\s*=", part)]
    named = [part.split("=", 1)[1] for part in arguments if re.match(r"type\s*=", part)]
    column_type = (positional[2:3] or named or [""])[0]
    if not found and re.match(r"^['\"]", column_type) and OWN_DEFAULT.search(column_type.lower()):
        found.append(("adding-field-with-default", OWN_DEFAULT_MESSAGE))
    return list(dict.fromkeys(found))


def lint_file(path: Path) -> list[Violation]:
    """The violations in one macro file (statement templates, and defaults of schema_change_add_column)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    violations = []
    for call in (*STATEMENT_CALLS, "schema_change_add_column("):
        for match in re.finditer(re.escape(call), text):
            if re.match(r"\w", text[match.start() - 1 : match.start()] or " "):
                continue  # part of a longer name, or its definition
            if text[: match.start()].rstrip().endswith("macro"):
                continue
            argument = _call_argument(text, match.end())
            line = text.count("\n", 0, match.start()) + 1
            macro = _enclosing_macro(text, match.start())
            if path.name == ENGINE and call in ("adapter.execute(", "run_query("):
                continue  # the dispatcher's own state table, and the statements the operations built
            if call == "schema_change_add_column(":
                rules = _add_column_rules(argument, path, macro)
            else:
                rules = _rules(call + argument, path, macro)
            violations += [
                Violation(path, line, rule, message) for rule, message in rules if not _ignored(lines, line, rule)
            ]
    return violations


def lint_schema_changes(folder: Path | None = None) -> list[Violation]:
    """Every violation in the ``*.sql`` files under ``folder`` (default the checkout's ``macros/schema_changes``).

    Raises:
        product_images.project.ProjectNotFoundError: no folder given and no checkout found.
    """
    folder = folder or project_dir() / "macros" / "schema_changes"
    found = [violation for path in sorted(folder.rglob("*.sql")) for violation in lint_file(path)]
    return list(dict.fromkeys(found))  # a template nested in another is read twice


def main(argv: list[str] | None = None) -> int:
    """``python -m product_images.migration.ddl_lint [FOLDER]``: prints each violation; exit 1 when any, else 0."""
    args = sys.argv[1:] if argv is None else argv
    violations = lint_schema_changes(Path(args[0]) if args else None)
    for violation in violations:
        print(violation)
    print(f"ddl lint: {len(violations)} violation(s)" if violations else "ddl lint: the schema-change macros are clean")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
