{#- Operation add_unique: start builds the unique index CONCURRENTLY, outside
    the schema's transaction (see schema_change_build_indexes); complete attaches
    it as a constraint (ADD CONSTRAINT … UNIQUE USING INDEX: no scan); rollback
    drops the constraint or the index when start built it, else leaves it alone. -#}

{% macro schema_change_add_unique(table, columns, name=none) %}
    {{ return({'kind': 'add_unique', 'table': table, 'columns': columns, 'name': name or table ~ '_' ~ columns | join('_') ~ '_key'}) }}
{% endmacro %}


{% macro schema_change_add_unique__indexes(operation) %}
    {{ return([{'table': operation.table, 'name': operation.name, 'columns': operation.columns, 'unique': true, 'where': none, 'exact': true}]) }}
{% endmacro %}


{% macro schema_change_add_unique__check(schema, operation, dry_run) -%}
    if not {{ schema_change_has_constraint(schema, operation.table, operation.name) }} and not exists (
        select 1 from pg_catalog.pg_index as indexes
        where indexes.indexrelid = to_regclass({{ quote_literal(tenant_relation(schema, operation.name)) }}) and indexes.indisvalid
    ) then
        raise exception 'unique index % is missing or invalid: start did not finish here; run start again', {{ quote_literal(tenant_relation(schema, operation.name)) }};
    end if;
{%- endmacro %}


{% macro schema_change_add_unique__complete(schema, operation, dry_run) -%}
    if not {{ schema_change_has_constraint(schema, operation.table, operation.name) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' add constraint ' ~ quote_identifier(operation.name)
            ~ ' unique using index ' ~ quote_identifier(operation.name),
            'constraint ' ~ operation.name ~ ' (unique)') }}
    end if;
{%- endmacro %}


{% macro schema_change_add_unique__rollback(schema, operation, dry_run) -%}
    {%- set relation = tenant_relation(schema, operation.table) %}
    if not {{ schema_change_made_sql('index ' ~ operation.name) }} and (
        {{ schema_change_has_constraint(schema, operation.table, operation.name) }}
        or to_regclass({{ quote_literal(tenant_relation(schema, operation.name)) }}) is not null
    ) then
        {{ schema_change_kept('unique ' ~ operation.name) }}
    elsif {{ schema_change_has_constraint(schema, operation.table, operation.name) }} then
        {{ schema_change_ddl(dry_run, 'alter table ' ~ relation ~ ' drop constraint ' ~ quote_identifier(operation.name), 'dropped constraint ' ~ operation.name) }}
    elsif to_regclass({{ quote_literal(tenant_relation(schema, operation.name)) }}) is not null then
        {{ schema_change_ddl(dry_run, 'drop index ' ~ tenant_relation(schema, operation.name), 'dropped index ' ~ operation.name) }}
    else
        {{ schema_change_unchanged('unique ' ~ operation.name) }}
    end if;
{%- endmacro %}
