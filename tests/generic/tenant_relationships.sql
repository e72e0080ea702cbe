{% test tenant_relationships(model, column_name, to_table, to_column) %}

    {#- relationships, per tenant: every value of column_name must exist in
        to_table.to_column of the same tenant schema, for the tenants the union
        view covers. One part per tenant (tenant_block): dbt test runs it in
        batches of tenants. -#}
    {%- set tenants = tenants_with_union_tables(
        discover_tenants() | selectattr('has_product_images') | selectattr('has_products') | map(attribute='schema') | list
    ) -%}

    {% call(tenant_schema) tenant_block(
        tenants, "select null::text as tenant_schema, null as " ~ column_name ~ " where false"
    ) -%}
    select
        {{ quote_literal(tenant_schema) }}::text as tenant_schema,
        tested_rows.{{ column_name }}
    from {{ tenant_relation(tenant_schema, model.identifier) }} as tested_rows
    where not exists (
        select 1 from {{ tenant_relation(tenant_schema, to_table) }} as parents
        where parents.{{ to_column }} = tested_rows.{{ column_name }}
    )
    {%- endcall %}

{% endtest %}
