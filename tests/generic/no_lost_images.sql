{% test no_lost_images(model) %}

    {#- Per tenant and product: JSONB elements = product_images rows + rejects.
        The JSONB side is counted from the raw products.images of every tenant
        that still has the column, never from the model's SQL. Fails with one row
        per product whose counts differ. -#}
    {%- set rejects = adapter.get_relation(
        database=model.database, schema=model.schema, identifier=model.identifier ~ '_rejects'
    ) -%}
    {%- set tenants = migratable_tenants(discover_tenants()) | map(attribute='schema') | list -%}

    with

    jsonb_elements as (

        {% call(tenant_schema) tenant_block(
            tenants, "select null::text as tenant_schema, null::bigint as product_id, null::integer as elements where false"
        ) -%}
        select
            {{ quote_literal(tenant_schema) }}::text as tenant_schema,
            id as product_id,
            {{ legacy_element_count('images') }} as elements
        from {{ tenant_relation(tenant_schema, 'products') }}
        {%- endcall %}

    ),

    loaded as (

        select tenant_schema, product_id, count(*) as rows_loaded
        from {{ tenant_union(model, 'tested_rows') }}
        where tenant_schema in (select tenant_schema from jsonb_elements)
        group by tenant_schema, product_id

    ),

    rejected as (

        select tenant_schema, product_id, count(*) as rows_rejected
        {%- if rejects is not none %}
        from {{ tenant_union(rejects, 'rejected_rows') }}
        where tenant_schema in (select tenant_schema from jsonb_elements)
        {%- else %}
        from (select null::text as tenant_schema, null::bigint as product_id where false) as no_rejects
        {%- endif %}
        group by tenant_schema, product_id

    ),

    compared as (

        select
            coalesce(jsonb_elements.tenant_schema, loaded.tenant_schema, rejected.tenant_schema) as tenant_schema,
            coalesce(jsonb_elements.product_id, loaded.product_id, rejected.product_id) as product_id,
            coalesce(jsonb_elements.elements, 0) as jsonb_elements,
            coalesce(loaded.rows_loaded, 0) as rows_loaded,
            coalesce(rejected.rows_rejected, 0) as rows_rejected
        from jsonb_elements
        full outer join loaded
            on
                jsonb_elements.tenant_schema = loaded.tenant_schema
                and jsonb_elements.product_id = loaded.product_id
        full outer join rejected
            on
                coalesce(jsonb_elements.tenant_schema, loaded.tenant_schema) = rejected.tenant_schema
                and coalesce(jsonb_elements.product_id, loaded.product_id) = rejected.product_id

    )

    select *
    from compared
    where jsonb_elements <> rows_loaded + rows_rejected

{% endtest %}
