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
