{#- Operation add_foreign_key on an existing table: start adds it NOT VALID (new
    rows are checked at once; SHARE ROW EXCLUSIVE on both tables for a moment)
    and validates it in its second transaction (SHARE UPDATE EXCLUSIVE, ROW
    SHARE on the referenced table: writes go on); complete checks it is valid;
    rollback drops it when start added it, else leaves it alone. -#}

{% macro schema_change_add_foreign_key(table, columns, references_table, references_columns=['id'], on_delete=none, name=none) %}
    {%- set columns = [columns] if columns is string else columns -%}
    {{ return({
        'kind': 'add_foreign_key', 'table': table, 'columns': columns, 'references_table': references_table,
        'references_columns': references_columns, 'on_delete': on_delete,
        'name': name or table ~ '_' ~ columns | join('_') ~ '_fkey',
    }) }}
{% endmacro %}


{% macro schema_change_add_foreign_key__start(schema, operation, dry_run) -%}
    {%- set columns = [] -%}
    {%- for column in operation.columns -%}{%- do columns.append(quote_identifier(column)) -%}{%- endfor -%}
    {%- set referenced = [] -%}
    {%- for column in operation.references_columns -%}{%- do referenced.append(quote_identifier(column)) -%}{%- endfor %}
    if not {{ schema_change_has_constraint(schema, operation.table, operation.name) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' add constraint ' ~ quote_identifier(operation.name)
            ~ ' foreign key (' ~ columns | join(', ') ~ ') references ' ~ tenant_relation(schema, operation.references_table)
            ~ ' (' ~ referenced | join(', ') ~ ')' ~ (' on delete ' ~ operation.on_delete if operation.on_delete else '') ~ ' not valid',
            'constraint ' ~ operation.name ~ ' (not valid)') }}
        {{ schema_change_record_made('constraint ' ~ operation.table ~ '.' ~ operation.name) }}
    else
        {{ schema_change_unchanged('constraint ' ~ operation.name) }}
    end if;
{%- endmacro %}


{% macro schema_change_add_foreign_key__validate(schema, operation, dry_run) -%}
    {{ schema_change_validate_constraint_sql(schema, operation.table, operation.name, dry_run) }}
{%- endmacro %}


{% macro schema_change_add_foreign_key__check(schema, operation, dry_run) -%}
    {{ schema_change_require_validated_sql(schema, operation.table, operation.name) }}
{%- endmacro %}


{% macro schema_change_add_foreign_key__rollback(schema, operation, dry_run) -%}
    if {{ schema_change_has_constraint(schema, operation.table, operation.name) }}
        and {{ schema_change_made_sql('constraint ' ~ operation.table ~ '.' ~ operation.name) }} then
        {{ schema_change_ddl(dry_run,
            'alter table ' ~ tenant_relation(schema, operation.table) ~ ' drop constraint ' ~ quote_identifier(operation.name),
            'dropped constraint ' ~ operation.name) }}
    elsif {{ schema_change_has_constraint(schema, operation.table, operation.name) }} then
        {{ schema_change_kept('constraint ' ~ operation.name) }}
    else
        {{ schema_change_unchanged('constraint ' ~ operation.name) }}
    end if;
{%- endmacro %}
