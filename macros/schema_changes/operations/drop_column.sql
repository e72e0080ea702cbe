{#- Operation drop_column, a contraction: start keeps the column (the previous
    version still reads and writes it); complete drops it (a catalog change, no
    rewrite); rollback has nothing to undo. -#}

{% macro schema_change_drop_column(table, column) %}
    {{ return({'kind': 'drop_column', 'table': table, 'column': column}) }}
{% endmacro %}


{% macro schema_change_drop_column__start(schema, operation, dry_run) -%}
    if {{ schema_change_has_column(schema, operation.table, operation.column) }} then
        {{ schema_change_unchanged('column ' ~ operation.table ~ '.' ~ operation.column ~ ' (dropped at complete)') }}
    end if;
{%- endmacro %}


{% macro schema_change_drop_column__complete(schema, operation, dry_run) -%}
    if {{ schema_change_has_column(schema, operation.table, operation.column) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' drop column ' ~ quote_identifier(operation.column),
            'dropped column ' ~ operation.table ~ '.' ~ operation.column) }}
    end if;
{%- endmacro %}
