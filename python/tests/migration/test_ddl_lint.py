"""The safe-DDL lint of the schema-change macros (product_images.migration.ddl_lint): our macros are clean,
and an unsafe change in a fixture is refused, rule by rule, with its file and line."""

from __future__ import annotations

import subprocess
import sys

from product_images.migration.ddl_lint import lint_schema_changes

UNSAFE_CHANGE = """\
{% macro widgets_unsafe() %}
    {% do run_query("create index widgets_label_idx on public.widgets (label)") %}
    {% do run_query("alter table public.widgets add constraint w_fkey foreign key (g) references public.g (id)") %}
    {% do run_query("alter table public.widgets alter column label set not null") %}
    {% do run_query("alter table public.widgets rename column label to caption") %}
    {% do run_query("alter table public.widgets drop column note") %}
    {% do run_query("alter table public.widgets add column token text default gen_random_uuid()::text") %}
    {{ return(schema_change({'name': 'widgets_unsafe', 'operations': [
        schema_change_add_column('widgets', 'seen_at', 'timestamptz', default='clock_timestamp()'),
    ]}, 'start')) }}
{% endmacro %}


{% macro widgets_tolerated() %}
    {# squawk-ignore require-concurrent-index-creation: a table created just above, in the same transaction #}
    {% do run_query("create index widgets_new_idx on public.widgets_new (label)") %}
{% endmacro %}
"""


def test_our_schema_change_macros_are_clean():
    assert lint_schema_changes() == []


def test_an_unsafe_change_is_refused_rule_by_rule_with_its_line(tmp_path):
    (tmp_path / "widgets_unsafe.sql").write_text(UNSAFE_CHANGE, encoding="utf-8")
    found = {(violation.line, violation.rule) for violation in lint_schema_changes(tmp_path)}
    assert found == {
        (2, "require-concurrent-index-creation"),
        (3, "constraint-missing-not-valid"),
        (4, "adding-not-nullable-field"),
        (5, "renaming-column"),
        (6, "ban-drop-column"),
        (7, "adding-field-with-default"),
        (9, "adding-field-with-default"),
    }

    result = subprocess.run(
        [sys.executable, "-m", "product_images.migration.ddl_lint", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        f"{tmp_path / 'widgets_unsafe.sql'}:5: renaming-column: rename only through the rename operations"
        in result.stdout
    )
    assert result.stdout.rstrip().endswith("ddl lint: 7 violation(s)")


OWN_DEFAULT_TYPES = """\
{% macro widgets_typed() %}
    {{ return(schema_change({'name': 'widgets_typed', 'operations': [
        schema_change_add_column('widgets', 'seq', 'bigserial'),
        schema_change_add_column('widgets', 'code', 'bigint generated always as identity'),
        schema_change_add_column('widgets', 'twice', 'bigint generated always as (id * 2) stored'),
        schema_change_add_column('widgets', 'seen_at', type='timestamptz default now()'),
        schema_change_add_column('widgets', 'serial_number', 'text', default="'a, b'"),
    ]}, 'start')) }}
    {% do run_query("alter table public.widgets add column n serial") %}
{% endmacro %}
"""


def test_a_column_type_that_brings_its_own_default_is_refused(tmp_path):
    (tmp_path / "widgets_typed.sql").write_text(OWN_DEFAULT_TYPES, encoding="utf-8")
    found = [(violation.line, violation.rule, violation.message) for violation in lint_schema_changes(tmp_path)]
    message = (
        "a type with a default of its own rewrites the table: add the column plain, backfill, then set the default"
    )
    assert found == [
        (9, "adding-field-with-default", message),
        (3, "adding-field-with-default", message),
        (4, "adding-field-with-default", message),
        (5, "adding-field-with-default", message),
        (6, "adding-field-with-default", message),
    ]
