{% macro quote_identifier(name) -%}
    "{{ name | replace('"', '""') }}"
{%- endmacro %}


{% macro quote_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{% macro tenant_relation(tenant_schema, identifier) -%}
    {{ quote_identifier(tenant_schema) }}.{{ quote_identifier(identifier) }}
{%- endmacro %}


{% macro project_table_relation(identifier) %}
    {#- A table of this project's own in the dbt target schema (run log, watermarks, ...). -#}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier=identifier, type='table'
    )) }}
{% endmacro %}


{% macro create_schema_if_missing_sql(schema) -%}
    {#- A statement creating `schema` only when it does not exist. Not CREATE SCHEMA IF
        NOT EXISTS: PostgreSQL checks CREATE on the database before it looks for the
        schema, so a role with USAGE and CREATE on an existing schema only (as the
        README's migration role) is refused even when there is nothing to create. -#}
    do $create_schema$
    begin
        if pg_catalog.to_regnamespace({{ quote_literal(quote_identifier(schema)) }}) is null then
            create schema {{ quote_identifier(schema) }};
        end if;
    end
    $create_schema$
{%- endmacro %}
