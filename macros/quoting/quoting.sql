{% macro quote_identifier(name) -%}
    "{{ name | replace('"', '""') }}"
{%- endmacro %}


{% macro quote_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{% macro tenant_relation(tenant_schema, identifier) -%}
    {{ quote_identifier(tenant_schema) }}.{{ quote_identifier(identifier) }}
{%- endmacro %}
