{#- What the operations share: a column's definition and the lookups of a
    column's type and nullability. See ../_macros.yml. -#}

{% macro schema_change_column_sql(schema, column) -%}
    {#- A column definition: "name" type [not null] [default d] [references "schema"."t" (c) [on delete a]] [check (e)]. -#}
    {{ quote_identifier(column.name) }} {{ column.type }}
    {%- if column.get('not_null') %} not null{% endif %}
    {%- if column.get('default') is not none %} default {{ column.default }}{% endif %}
    {%- if column.get('references') %} references {{ tenant_relation(schema, column.references.table) }} ({{ quote_identifier(column.references.get('column', 'id')) }})
        {%- if column.references.get('on_delete') %} on delete {{ column.references.on_delete }}{% endif %}
    {%- endif %}
    {%- if column.get('check') %} check ({{ column.check }}){% endif %}
{%- endmacro %}


{% macro schema_change_check_default(change_table, column) %}
    {#- Refuses a volatile default on a column added to an existing table (it
        rewrites the table under ACCESS EXCLUSIVE: squawk's adding-field-with-default),
        a type that brings a default of its own (serial, identity, generated,
        default: the same rewrite) and NOT NULL without a default (existing rows
        and the old app's inserts have no value). -#}
    {%- set own_default = modules.re.search(
        '\\b((?:small|big)?serial[248]?|generated|identity|default)\\b', (column.get('type') or '') | lower
    ) -%}
    {%- if own_default -%}
        {{ exceptions.raise_compiler_error(
            change_table ~ "." ~ column.name ~ ": type " ~ column.type ~ " brings a default of its own (" ~ own_default.group(1)
            ~ "): on an existing table it rewrites every row under ACCESS EXCLUSIVE; add the column plain, fill it in batches, then set the default"
        ) }}
    {%- endif -%}
    {%- set volatile = modules.re.search(
        '(clock_timestamp|random|gen_random_uuid|uuid_generate_v[0-9]|nextval|timeofday|setseed|txid_current)\\s*\\(',
        (column.get('default') or '') | lower
    ) -%}
    {%- if volatile -%}
        {{ exceptions.raise_compiler_error(
            change_table ~ "." ~ column.name ~ ": default " ~ column.default ~ " is volatile (" ~ volatile.group(1)
            ~ "): on an existing table it rewrites every row under ACCESS EXCLUSIVE; add the column without it, fill it in batches, then set the default"
        ) }}
    {%- endif -%}
    {%- if column.get('not_null') and column.get('default') is none -%}
        {{ exceptions.raise_compiler_error(
            change_table ~ "." ~ column.name ~ ": not null needs a default on an existing table (its rows and the old app's inserts have no value); "
            ~ "add it nullable, fill it, then schema_change_set_not_null"
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro schema_change_column_type_sql(schema, table, column) -%}
    {{ schema_change_column_attribute_sql(schema, table, column, 'attributes.atttypid::regtype::text') }}
{%- endmacro %}


{% macro schema_change_is_not_null_sql(schema, table, column) -%}
    coalesce({{ schema_change_column_attribute_sql(schema, table, column, 'attributes.attnotnull') }}, false)
{%- endmacro %}


{% macro schema_change_validate_constraint_sql(schema, table, name, dry_run) -%}
    {#- plpgsql: validates a NOT VALID constraint (SHARE UPDATE EXCLUSIVE on the
        table, ROW SHARE on a referenced one: writes go on). A dry run only lists
        the statement: its validation would scan the table while the dry run
        holds the change's tables in ACCESS EXCLUSIVE. -#}
    if exists (
        select 1 from pg_catalog.pg_constraint as constraints
        where
            constraints.conrelid = to_regclass({{ quote_literal(tenant_relation(schema, table)) }})
            and constraints.conname = {{ quote_literal(name) }}
            and not constraints.convalidated
    ) then
        {%- if dry_run %}
        v_changed := array_append(v_changed, {{ quote_literal('alter table ' ~ tenant_relation(schema, table) ~ ' validate constraint ' ~ quote_identifier(name)) }}::text);
        {%- else %}
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, table) ~ ' validate constraint ' ~ quote_identifier(name),
            'validated ' ~ name) }}
        {%- endif %}
    end if;
{%- endmacro %}


{% macro schema_change_require_validated_sql(schema, table, name) -%}
    {#- plpgsql: raises unless the constraint is there and validated (complete's
        precondition: start ran to its end here). -#}
    if not exists (
        select 1 from pg_catalog.pg_constraint as constraints
        where
            constraints.conrelid = to_regclass({{ quote_literal(tenant_relation(schema, table)) }})
            and constraints.conname = {{ quote_literal(name) }}
            and constraints.convalidated
    ) then
        raise exception 'constraint % on % is missing or not validated: start did not finish here; run start again',
            {{ quote_literal(name) }}, {{ quote_literal(tenant_relation(schema, table)) }};
    end if;
{%- endmacro %}
