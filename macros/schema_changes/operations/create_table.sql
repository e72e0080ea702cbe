{#- Operation create_table: a new table with its keys and indexes. start creates
    it (and its indexes: it is empty, so in the transaction); complete has
    nothing left; rollback drops it when start created it (a table of the name
    that was there before start is left alone). See ../_macros.yml. -#}

{% macro schema_change_create_table(table, columns, primary_key=['id'], unique=[], indexes=[]) %}
    {{ return({
        'kind': 'create_table', 'table': table, 'columns': columns, 'primary_key': primary_key,
        'unique': unique, 'indexes': indexes,
    }) }}
{% endmacro %}


{% macro schema_change_create_table__start(schema, operation, dry_run) -%}
    {%- set relation = tenant_relation(schema, operation.table) -%}
    {%- set parts = [] -%}
    {%- for column in operation.columns -%}
        {%- do parts.append(schema_change_column_sql(schema, column)) -%}
    {%- endfor -%}
    {%- if operation.primary_key -%}
        {%- set keys = [] -%}
        {%- for column in operation.primary_key -%}{%- do keys.append(quote_identifier(column)) -%}{%- endfor -%}
        {%- do parts.append('primary key (' ~ keys | join(', ') ~ ')') -%}
    {%- endif -%}
    {%- for columns in operation.unique -%}
        {%- set keys = [] -%}
        {%- for column in columns -%}{%- do keys.append(quote_identifier(column)) -%}{%- endfor -%}
        {%- do parts.append('unique (' ~ keys | join(', ') ~ ')') -%}
    {%- endfor %}
    if to_regclass({{ quote_literal(relation) }}) is null then
        {{ schema_change_ddl(dry_run, 'create table ' ~ relation ~ ' (' ~ parts | join(', ') ~ ')', 'created table ' ~ operation.table) }}
        {{ schema_change_record_made('table ' ~ operation.table) }}
        {%- for index in operation.indexes %}
        {# squawk-ignore require-concurrent-index-creation: the table was just created, empty, in this transaction #}
        {{ schema_change_ddl(dry_run,
            schema_change_index_ddl(schema, {'table': operation.table, 'name': index.name, 'columns': index.columns,
                'unique': index.get('unique', false), 'where': index.get('where')}, concurrently=false),
            'index ' ~ index.name) }}
        {%- endfor %}
    else
        {{ schema_change_unchanged('table ' ~ operation.table) }}
    end if;
{%- endmacro %}


{% macro schema_change_create_table__rollback(schema, operation, dry_run) -%}
    {%- set relation = tenant_relation(schema, operation.table) %}
    if to_regclass({{ quote_literal(relation) }}) is not null and {{ schema_change_made_sql('table ' ~ operation.table) }} then
        {{ schema_change_ddl(dry_run, 'drop table ' ~ relation, 'dropped table ' ~ operation.table) }}
    elsif to_regclass({{ quote_literal(relation) }}) is not null then
        {{ schema_change_kept('table ' ~ operation.table) }}
    else
        {{ schema_change_unchanged('table ' ~ operation.table) }}
    end if;
{%- endmacro %}
