{#- Operation set_nullable: DROP NOT NULL (a catalog change, no scan). start
    drops it; complete has nothing left; rollback sets it again, which scans the
    table under ACCESS EXCLUSIVE and fails that schema if a NULL was written
    meanwhile (PostgreSQL names the column), only when start dropped it (a column
    nullable before start stays so). -#}

{% macro schema_change_set_nullable(table, column) %}
    {{ return({'kind': 'set_nullable', 'table': table, 'column': column}) }}
{% endmacro %}


{% macro schema_change_set_nullable__start(schema, operation, dry_run) -%}
    if not {{ schema_change_has_column(schema, operation.table, operation.column) }} then
        raise exception '%: no column %', {{ quote_literal(tenant_relation(schema, operation.table)) }}, {{ quote_literal(operation.column) }};
    elsif {{ schema_change_is_not_null_sql(schema, operation.table, operation.column) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' alter column ' ~ quote_identifier(operation.column) ~ ' drop not null',
            'dropped not null on ' ~ operation.table ~ '.' ~ operation.column) }}
        {{ schema_change_record_made('nullable ' ~ operation.table ~ '.' ~ operation.column) }}
    else
        {{ schema_change_unchanged(operation.table ~ '.' ~ operation.column ~ ' nullable') }}
    end if;
{%- endmacro %}


{% macro schema_change_set_nullable__rollback(schema, operation, dry_run) -%}
    if {{ schema_change_has_column(schema, operation.table, operation.column) }}
        and not {{ schema_change_is_not_null_sql(schema, operation.table, operation.column) }}
        and {{ schema_change_made_sql('nullable ' ~ operation.table ~ '.' ~ operation.column) }} then
        {# squawk-ignore adding-not-nullable-field: rollback restores the constraint the table had; it scans, under the lock retries #}
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' alter column ' ~ quote_identifier(operation.column) ~ ' set not null',
            'set not null on ' ~ operation.table ~ '.' ~ operation.column) }}
    elsif {{ schema_change_has_column(schema, operation.table, operation.column) }}
        and not {{ schema_change_is_not_null_sql(schema, operation.table, operation.column) }} then
        {{ schema_change_kept(operation.table ~ '.' ~ operation.column ~ ' nullable') }}
    else
        {{ schema_change_unchanged(operation.table ~ '.' ~ operation.column ~ ' not null') }}
    end if;
{%- endmacro %}
