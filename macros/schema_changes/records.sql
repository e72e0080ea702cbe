{#- What start made in a schema, so that rollback undoes only that: each
    operation records, in plpgsql's v_created, the objects it created ('table t',
    'column t.c', 'constraint t.name', 'index name', 'nullable t.c'), kept in the
    state table's created; rollback drops what is recorded, leaves alone what was
    there before start, and is refused while a table or column start added holds
    data (unless discard_new_data). See _macros.yml. -#}

{% macro schema_change_record_made(key) -%}
    {#- plpgsql: records that start made key. -#}
    v_created := array_append(v_created, {{ quote_literal(key) }}::text);
{%- endmacro %}


{% macro schema_change_made_sql(key) -%}
    {#- plpgsql boolean: start made key here (true for every key on a state row
        an older version wrote, which has no record). -#}
    (v_created is null or {{ quote_literal(key) }} = any(v_created))
{%- endmacro %}


{% macro schema_change_kept(label) -%}
    {#- plpgsql: rollback leaves label alone (it was there before start). -#}
    v_kept := array_append(v_kept, {{ quote_literal(label) }}::text);
{%- endmacro %}


{% macro schema_change_load_created_sql(schema, plan) -%}
    {#- plpgsql: v_created from the schema's state row ('{}' when there is none). -#}
    v_created := '{}';
    if exists (
        select 1 from {{ schema_change_state_relation() }} as states
        where states.change_name = {{ quote_literal(plan.name) }} and states.schema_name = {{ quote_literal(schema) }}
    ) then
        v_created := (
            select states.created from {{ schema_change_state_relation() }} as states
            where states.change_name = {{ quote_literal(plan.name) }} and states.schema_name = {{ quote_literal(schema) }}
        );
    end if;
{%- endmacro %}


{% macro schema_change_name_after(plan, position, table) %}
    {#- The name table (as the operation at position names it) has once every
        operation of the change ran: the later rename_table operations applied. -#}
    {%- set name = {'now': table} -%}
    {%- for operation in plan.operations[position + 1:] if operation.kind == 'rename_table' and operation.table == name.now -%}
        {%- do name.update({'now': operation.to}) -%}
    {%- endfor -%}
    {{ return(name.now) }}
{% endmacro %}


{% macro schema_change_new_data_sql(schema, plan) -%}
    {#- plpgsql, before rollback takes its locks (plain reads: the app goes on):
        v_found lists each table start made that holds rows and each column it
        added (to an existing table) that holds a value other than its default,
        with the count; null when none. -#}
    v_found := null;
    {%- for operation in plan.operations %}
    {%- set table = schema_change_name_after(plan, loop.index0, operation.table) %}
    {%- set relation = tenant_relation(schema, table) %}
    {%- if operation.kind == 'create_table' %}
    if {{ schema_change_made_sql('table ' ~ operation.table) }} and to_regclass({{ quote_literal(relation) }}) is not null then
        v_rows := (select count(*) from {{ relation }});
        if v_rows > 0 then
            v_found := concat_ws(', ', v_found, format('table %s (%s row(s))', {{ quote_literal(table) }}, v_rows));
        end if;
    end if;
    {%- elif operation.kind == 'add_column' and not operation.new_table %}
    {%- set column = quote_identifier(operation.column) %}
    if {{ schema_change_made_sql('column ' ~ operation.table ~ '.' ~ operation.column) }}
        and {{ schema_change_has_column(schema, table, operation.column) }} then
        v_rows := (
            select count(*) from {{ relation }}
            where {{ column }} is not null
            {%- if operation.default is not none %} and {{ column }} is distinct from ({{ operation.default }})::{{ operation.type }}{% endif %}
        );
        if v_rows > 0 then
            v_found := concat_ws(', ', v_found, format('column %s (%s %s)', {{ quote_literal(table ~ '.' ~ operation.column) }}, v_rows,
                {{ quote_literal('value(s) other than its default' if operation.default is not none else 'non-null value(s)') }}));
        end if;
    end if;
    {%- endif %}
    {%- endfor %}
    v_rows := null;
{%- endmacro %}
