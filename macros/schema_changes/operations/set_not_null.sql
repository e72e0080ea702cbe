{#- Operation set_not_null, without scanning the table under ACCESS EXCLUSIVE:
    start adds CHECK (column is not null) NOT VALID (new rows are checked at
    once) and validates it in its second transaction (SHARE UPDATE EXCLUSIVE);
    complete sets NOT NULL, which PostgreSQL 12+ proves from the valid check
    without a scan, and drops the check; rollback drops the check when start
    added it. -#}

{% macro schema_change_set_not_null(table, column) %}
    {{ return({'kind': 'set_not_null', 'table': table, 'column': column}) }}
{% endmacro %}


{% macro schema_change_set_not_null_name(operation) %}
    {{ return(operation.table ~ '_' ~ operation.column ~ '_not_null') }}
{% endmacro %}


{% macro schema_change_set_not_null__start(schema, operation, dry_run) -%}
    {%- set name = schema_change_set_not_null_name(operation) %}
    if not {{ schema_change_has_column(schema, operation.table, operation.column) }} then
        raise exception '%: no column %', {{ quote_literal(tenant_relation(schema, operation.table)) }}, {{ quote_literal(operation.column) }};
    elsif {{ schema_change_is_not_null_sql(schema, operation.table, operation.column) }}
        or {{ schema_change_has_constraint(schema, operation.table, name) }} then
        {{ schema_change_unchanged('check ' ~ name) }}
    else
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' add constraint ' ~ quote_identifier(name)
            ~ ' check (' ~ quote_identifier(operation.column) ~ ' is not null) not valid',
            'constraint ' ~ name ~ ' (not valid)') }}
        {{ schema_change_record_made('constraint ' ~ operation.table ~ '.' ~ name) }}
    end if;
{%- endmacro %}


{% macro schema_change_set_not_null__validate(schema, operation, dry_run) -%}
    {{ schema_change_validate_constraint_sql(schema, operation.table, schema_change_set_not_null_name(operation), dry_run) }}
{%- endmacro %}


{% macro schema_change_set_not_null__check(schema, operation, dry_run) -%}
    if not {{ schema_change_is_not_null_sql(schema, operation.table, operation.column) }} then
        {{ schema_change_require_validated_sql(schema, operation.table, schema_change_set_not_null_name(operation)) }}
    end if;
{%- endmacro %}


{% macro schema_change_set_not_null__complete(schema, operation, dry_run) -%}
    {%- set relation = tenant_relation(schema, operation.table) -%}
    {%- set name = schema_change_set_not_null_name(operation) %}
    if not {{ schema_change_is_not_null_sql(schema, operation.table, operation.column) }} then
        {# squawk-ignore adding-not-nullable-field: proven by the validated check, no scan (PostgreSQL 12+) #}
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ relation ~ ' alter column ' ~ quote_identifier(operation.column) ~ ' set not null',
            'set not null on ' ~ operation.table ~ '.' ~ operation.column) }}
    end if;
    if {{ schema_change_has_constraint(schema, operation.table, name) }} then
        {{ schema_change_ddl(dry_run, 'alter table ' ~ relation ~ ' drop constraint ' ~ quote_identifier(name), 'dropped check ' ~ name) }}
    end if;
{%- endmacro %}


{% macro schema_change_set_not_null__rollback(schema, operation, dry_run) -%}
    {%- set name = schema_change_set_not_null_name(operation) %}
    if {{ schema_change_has_constraint(schema, operation.table, name) }}
        and {{ schema_change_made_sql('constraint ' ~ operation.table ~ '.' ~ name) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' drop constraint ' ~ quote_identifier(name), 'dropped check ' ~ name) }}
    elsif {{ schema_change_has_constraint(schema, operation.table, name) }} then
        {{ schema_change_kept('check ' ~ name) }}
    else
        {{ schema_change_unchanged('check ' ~ name) }}
    end if;
{%- endmacro %}
