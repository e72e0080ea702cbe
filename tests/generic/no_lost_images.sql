{% test no_lost_images(model) %}

    {#- Per tenant that still has products.images, and per product, from the raw
        JSONB (never from the model's SQL): JSONB elements = product_images rows +
        rejects; every usable JSONB url is a row of its product as many times as
        it occurs, and the rows hold no other url (the operations' parity); and
        a row loaded from the JSONB holds its own element's url (a url swapped
        between rows, or replaced, keeps every count); and its JSONB is the one the
        last sync loaded (product_images_sync's md5, as the next run compares it):
        an element edited since, even in a key no row shows, is pending, not
        proven. Fails with one row per product that breaks any of them. -#}
    {%- set rejects = adapter.get_relation(
        database=model.database, schema=model.schema, identifier=model.identifier ~ '_rejects'
    ) -%}
    {%- set tenants = migratable_tenants(discover_tenants()) | map(attribute='schema') | list -%}
    {%- set synced_tenants = [] -%}
    {%- if execute and tenants -%}
        {%- set sync_tables -%}
            select namespaces.nspname
            from pg_catalog.pg_class as classes
            inner join pg_catalog.pg_namespace as namespaces on classes.relnamespace = namespaces.oid
            where
                classes.relname = 'product_images_sync'
                and namespaces.nspname in (
                    {%- for tenant in tenants %}
                    {{ quote_literal(tenant) }}{{ "," if not loop.last }}
                    {%- endfor %}
                )
        {%- endset -%}
        {%- set synced_tenants = run_query(sync_tables).columns[0].values() | list -%}
    {%- endif %}

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

    jsonb_urls as (

        {#- The usable elements' urls: an object whose url is a string that is not blank. -#}
        {% call(tenant_schema) tenant_block(
            tenants, "select null::text as tenant_schema, null::bigint as product_id, null::text as url where false"
        ) -%}
        select
            {{ quote_literal(tenant_schema) }}::text as tenant_schema,
            products.id as product_id,
            image_elements.element ->> 'url' as url
        {{ legacy_usable_elements(tenant_relation(tenant_schema, 'products')) }}
        {%- endcall %}

    ),

    pending as (

        {#- Products whose JSONB differs from the one the last sync loaded (what the
            next run will load); a product the sync never saw counts only when it
            holds elements. -#}
        {% call(tenant_schema) tenant_block(
            synced_tenants, "select null::text as tenant_schema, null::bigint as product_id where false"
        ) -%}
        select
            {{ quote_literal(tenant_schema) }}::text as tenant_schema,
            products.id as product_id
        from {{ tenant_relation(tenant_schema, 'products') }} as products
        left join {{ tenant_relation(tenant_schema, 'product_images_sync') }} as synced
            on products.id = synced.product_id
        where
            synced.images_md5 is distinct from md5(products.images::text)
            and (synced.product_id is not null or {{ legacy_element_count('products.images') }} > 0)
        {%- endcall %}

    ),

    image_rows as (

        select tenant_schema, product_id, url, legacy_element
        from {{ tenant_union(model, 'tested_rows') }}
        where tenant_schema in (select tenant_schema from jsonb_elements)

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

    unmatched_urls as (

        select tenant_schema, product_id, true as in_jsonb_only
        from (
            select tenant_schema, product_id, url from jsonb_urls
            except all
            select tenant_schema, product_id, url from image_rows
        ) as not_loaded
        union all
        select tenant_schema, product_id, false as in_jsonb_only
        from (
            select tenant_schema, product_id, url from image_rows
            except all
            select tenant_schema, product_id, url from jsonb_urls
        ) as not_in_jsonb

    ),

    facts as (

        select
            tenant_schema,
            product_id,
            elements,
            0 as loaded,
            0 as rejected,
            0 as not_loaded,
            0 as not_in_jsonb,
            0 as url_off_element,
            0 as changed
        from jsonb_elements
        union all
        select
            tenant_schema,
            product_id,
            0,
            1,
            0,
            0,
            0,
            case when legacy_element is not null and url is distinct from legacy_element ->> 'url' then 1 else 0 end,
            0
        from image_rows
        union all
        select tenant_schema, product_id, 0, 0, rows_rejected, 0, 0, 0, 0
        from rejected
        union all
        select
            tenant_schema,
            product_id,
            0,
            0,
            0,
            case when in_jsonb_only then 1 else 0 end,
            case when in_jsonb_only then 0 else 1 end,
            0,
            0
        from unmatched_urls
        union all
        select tenant_schema, product_id, 0, 0, 0, 0, 0, 0, 1
        from pending

    ),

    compared as (

        select
            tenant_schema,
            product_id,
            sum(elements) as jsonb_elements,
            sum(loaded) as rows_loaded,
            sum(rejected) as rows_rejected,
            sum(not_loaded) as urls_not_loaded,
            sum(not_in_jsonb) as urls_not_in_jsonb,
            sum(url_off_element) as rows_not_holding_their_element_url,
            sum(changed) > 0 as jsonb_changed_since_sync
        from facts
        group by tenant_schema, product_id

    )

    select *
    from compared
    where
        jsonb_elements <> rows_loaded + rows_rejected
        or urls_not_loaded > 0
        or urls_not_in_jsonb > 0
        or rows_not_holding_their_element_url > 0
        or jsonb_changed_since_sync

{% endtest %}
