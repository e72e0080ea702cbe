{#- Operation create_index: on an existing table, start builds it CONCURRENTLY
    outside the schema's transaction (see schema_change_build_indexes: an
    equivalent index is kept, an invalid one rebuilt); on a table this change
    created, in start's transaction. complete checks it is valid; rollback drops
    it (a moment of ACCESS EXCLUSIVE, under the lock retries) when start built
    it: an index of the name that was there before start is left alone. -#}

{% macro schema_change_create_index(table, name, columns, unique=false, where=none) %}
    {{ return({'kind': 'create_index', 'table': table, 'name': name, 'columns': columns, 'unique': unique, 'where': where}) }}
{% endmacro %}


{% macro schema_change_create_index__indexes(operation) %}
    {{ return([] if operation.new_table else [operation]) }}
{% endmacro %}


{% macro schema_change_create_index__start(schema, operation, dry_run) -%}
    {%- if operation.new_table %}
    if to_regclass({{ quote_literal(tenant_relation(schema, operation.name)) }}) is null then
        {# squawk-ignore require-concurrent-index-creation: the table is new in this change, empty, unseen by the app #}
        {{ schema_change_ddl(dry_run, schema_change_index_ddl(schema, operation, concurrently=false), 'index ' ~ operation.name) }}
        {{ schema_change_record_made('index ' ~ operation.name) }}
    else
        {{ schema_change_unchanged('index ' ~ operation.name) }}
    end if;
    {%- endif %}
{%- endmacro %}


{% macro schema_change_create_index__check(schema, operation, dry_run) -%}
    if not exists (
        select 1 from ({{ schema_change_index_lookup_sql(schema, operation) }}) as found
        where found.valid or found.equivalent is not null
    ) then
        raise exception 'index % is missing or invalid: start did not finish here; run start again', {{ quote_literal(tenant_relation(schema, operation.name)) }};
    end if;
{%- endmacro %}


{% macro schema_change_create_index__rollback(schema, operation, dry_run) -%}
    {%- set index = tenant_relation(schema, operation.name) %}
    if to_regclass({{ quote_literal(index) }}) is not null and not exists (
        select 1 from pg_catalog.pg_index as indexes
        where indexes.indexrelid = to_regclass({{ quote_literal(index) }})
            and indexes.indrelid = to_regclass({{ quote_literal(tenant_relation(schema, operation.table)) }})
    ) then
        raise exception '% exists and is not an index on %: rename it or leave this schema out',
            {{ quote_literal(index) }}, {{ quote_literal(tenant_relation(schema, operation.table)) }};
    elsif to_regclass({{ quote_literal(index) }}) is not null and {{ schema_change_made_sql('index ' ~ operation.name) }} then
        {{ schema_change_ddl(dry_run, 'drop index ' ~ index, 'dropped index ' ~ operation.name) }}
    elsif to_regclass({{ quote_literal(index) }}) is not null then
        {{ schema_change_kept('index ' ~ operation.name) }}
    else
        {{ schema_change_unchanged('index ' ~ operation.name) }}
    end if;
{%- endmacro %}
