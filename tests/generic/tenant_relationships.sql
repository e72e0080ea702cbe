{% test tenant_relationships(model, column_name, to_table, to_column) %}

    {#- relationships, per tenant: every value of column_name must exist in
        to_table.to_column of the same tenant schema. -#}
    {%- set tenants = discover_tenants() | selectattr('has_product_images') | selectattr('has_products') | map(attribute='schema') | list -%}

    select
        {{ model }}.tenant_schema,
        {{ model }}.{{ column_name }}
    from {{ model }}
    where
        false
        {%- for tenant_schema in tenants %}
        or (
            {{ model }}.tenant_schema = {{ quote_literal(tenant_schema) }}
            and not exists (
                select 1 from {{ tenant_relation(tenant_schema, to_table) }} as parents
                where parents.{{ to_column }} = {{ model }}.{{ column_name }}
            )
        )
        {%- endfor %}

{% endtest %}
