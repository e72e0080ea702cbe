{#- Operation drop_table, a contraction: start keeps the table (the previous
    version still uses it); complete drops it (RESTRICT: a foreign key or view
    still pointing at it fails the schema, naming it); rollback has nothing to
    undo. -#}

{% macro schema_change_drop_table(table) %}
    {{ return({'kind': 'drop_table', 'table': table}) }}
{% endmacro %}


{% macro schema_change_drop_table__start(schema, operation, dry_run) -%}
    if to_regclass({{ quote_literal(tenant_relation(schema, operation.table)) }}) is not null then
        {{ schema_change_unchanged('table ' ~ operation.table ~ ' (dropped at complete)') }}
    end if;
{%- endmacro %}


{% macro schema_change_drop_table__complete(schema, operation, dry_run) -%}
    if to_regclass({{ quote_literal(tenant_relation(schema, operation.table)) }}) is not null then
        {{ schema_change_ddl(dry_run, 'drop table ' ~ tenant_relation(schema, operation.table), 'dropped table ' ~ operation.table) }}
    end if;
{%- endmacro %}
