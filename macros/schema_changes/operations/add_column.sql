{#- Operation add_column: a column on an existing table. start adds it (a
    constant default only: no rewrite) and its check or foreign key NOT VALID,
    validated in start's second transaction; complete checks they are valid;
    rollback drops the column (and with it its constraints) when start added it,
    else only the constraints start added: a column of the same type that was
    there before start is left alone, with its data. -#}

{% macro schema_change_add_column(table, column, type, default=none, not_null=false, check=none, references=none) %}
    {%- set definition = {'name': column, 'type': type, 'default': default, 'not_null': not_null} -%}
    {%- do schema_change_check_default(table, definition) -%}
    {{ return({
        'kind': 'add_column', 'table': table, 'column': column, 'type': type, 'default': default,
        'not_null': not_null, 'check': check, 'references': references,
    }) }}
{% endmacro %}


{% macro schema_change_add_column_constraints(operation) %}
    {#- The column's constraints added NOT VALID: [{name, sql}]. -#}
    {%- set constraints = [] -%}
    {%- if operation.check -%}
        {%- do constraints.append({'name': operation.table ~ '_' ~ operation.column ~ '_check', 'sql': 'check (' ~ operation.check ~ ')'}) -%}
    {%- endif -%}
    {%- if operation.references -%}
        {%- do constraints.append({'name': operation.table ~ '_' ~ operation.column ~ '_fkey', 'references': operation.references}) -%}
    {%- endif -%}
    {{ return(constraints) }}
{% endmacro %}


{% macro schema_change_add_column__start(schema, operation, dry_run) -%}
    {%- set relation = tenant_relation(schema, operation.table) -%}
    {%- set type = schema_change_column_type_sql(schema, operation.table, operation.column) -%}
    {%- set column = {'name': operation.column, 'type': operation.type, 'default': operation.default, 'not_null': operation.not_null} %}
    v_found := {{ type }};
    if v_found is null then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ relation ~ ' add column ' ~ schema_change_column_sql(schema, column),
            'added column ' ~ operation.table ~ '.' ~ operation.column) }}
        {{ schema_change_record_made('column ' ~ operation.table ~ '.' ~ operation.column) }}
    elsif v_found <> {{ quote_literal(operation.type) }}::regtype::text then
        raise exception '%.% exists with type %, not %: change it by hand or leave this schema out',
            {{ quote_literal(schema ~ '.' ~ operation.table) }}, {{ quote_literal(operation.column) }}, v_found,
            {{ quote_literal(operation.type) }}::regtype::text;
    else
        {{ schema_change_unchanged('column ' ~ operation.table ~ '.' ~ operation.column) }}
    end if;
    {%- for constraint in schema_change_add_column_constraints(operation) %}
    if not {{ schema_change_has_constraint(schema, operation.table, constraint.name) }} then
        {%- if constraint.references %}
        {%- set sql = 'foreign key (' ~ quote_identifier(operation.column) ~ ') references '
            ~ tenant_relation(schema, constraint.references.table) ~ ' (' ~ quote_identifier(constraint.references.get('column', 'id')) ~ ')'
            ~ (' on delete ' ~ constraint.references.on_delete if constraint.references.get('on_delete') else '') %}
        {%- else %}
        {%- set sql = constraint.sql %}
        {%- endif %}
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ relation ~ ' add constraint ' ~ quote_identifier(constraint.name) ~ ' ' ~ sql ~ ' not valid',
            'constraint ' ~ constraint.name ~ ' (not valid)') }}
        {{ schema_change_record_made('constraint ' ~ operation.table ~ '.' ~ constraint.name) }}
    end if;
    {%- endfor %}
{%- endmacro %}


{% macro schema_change_add_column__validate(schema, operation, dry_run) -%}
    {%- for constraint in schema_change_add_column_constraints(operation) %}
    {{ schema_change_validate_constraint_sql(schema, operation.table, constraint.name, dry_run) }}
    {%- endfor %}
{%- endmacro %}


{% macro schema_change_add_column__check(schema, operation, dry_run) -%}
    {%- for constraint in schema_change_add_column_constraints(operation) %}
    {{ schema_change_require_validated_sql(schema, operation.table, constraint.name) }}
    {%- endfor %}
{%- endmacro %}


{% macro schema_change_add_column__rollback(schema, operation, dry_run) -%}
    {%- set relation = tenant_relation(schema, operation.table) %}
    if {{ schema_change_has_column(schema, operation.table, operation.column) }}
        and {{ schema_change_made_sql('column ' ~ operation.table ~ '.' ~ operation.column) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ relation ~ ' drop column ' ~ quote_identifier(operation.column),
            'dropped column ' ~ operation.table ~ '.' ~ operation.column) }}
    elsif {{ schema_change_has_column(schema, operation.table, operation.column) }} then
        {%- for constraint in schema_change_add_column_constraints(operation) %}
        if {{ schema_change_has_constraint(schema, operation.table, constraint.name) }}
            and {{ schema_change_made_sql('constraint ' ~ operation.table ~ '.' ~ constraint.name) }} then
            {{ schema_change_ddl(dry_run,
                'alter table ' ~ relation ~ ' drop constraint ' ~ quote_identifier(constraint.name), 'dropped constraint ' ~ constraint.name) }}
        end if;
        {%- endfor %}
        {{ schema_change_kept('column ' ~ operation.table ~ '.' ~ operation.column) }}
    else
        {{ schema_change_unchanged('column ' ~ operation.table ~ '.' ~ operation.column) }}
    end if;
{%- endmacro %}
