{#- Operation rename_column: ALTER TABLE … RENAME COLUMN. start renames it (the
    previous version's view shows it under its old name); complete has nothing
    left; rollback renames it back. -#}

{% macro schema_change_rename_column(table, column, to) %}
    {{ return({'kind': 'rename_column', 'table': table, 'column': column, 'to': to}) }}
{% endmacro %}


{% macro schema_change_rename_column__start(schema, operation, dry_run) -%}
    {{ schema_change_rename_column_sql(schema, operation.table, operation.column, operation.to, dry_run) }}
{%- endmacro %}


{% macro schema_change_rename_column__rollback(schema, operation, dry_run) -%}
    {{ schema_change_rename_column_sql(schema, operation.table, operation.to, operation.column, dry_run) }}
{%- endmacro %}


{% macro schema_change_rename_column_sql(schema, table, from_column, to_column, dry_run) -%}
    {%- set relation = tenant_relation(schema, table) -%}
    {%- set has_from = schema_change_has_column(schema, table, from_column) -%}
    {%- set has_to = schema_change_has_column(schema, table, to_column) %}
    if {{ has_from }} and not {{ has_to }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ relation ~ ' rename column ' ~ quote_identifier(from_column) ~ ' to ' ~ quote_identifier(to_column),
            'renamed column ' ~ table ~ '.' ~ from_column ~ ' to ' ~ to_column) }}
    elsif {{ has_to }} and not {{ has_from }} then
        {{ schema_change_unchanged('column ' ~ table ~ '.' ~ from_column ~ ' renamed ' ~ to_column) }}
    else
        raise exception '%: expected exactly one of the columns % and %, found %', {{ quote_literal(relation) }},
            {{ quote_literal(from_column) }}, {{ quote_literal(to_column) }},
            case when {{ has_from }} then 'both' else 'neither' end;
    end if;
{%- endmacro %}
