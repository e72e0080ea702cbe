{% macro tenant_first_load_sql(tenant_schema, model_sql, full_refresh=false) -%}
    {#- plpgsql, inside the sync block: a tenant's first load (or a full
        refresh). Bulk loads into bare new tables, then builds their keys and
        indexes; no foreign key yet (tenant_constraints_block adds them after
        this transaction, so the long load never holds a lock the app's writes
        to products wait for). See macros/migration/_macros.yml. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    v_mode := {{ quote_literal('full_refresh' if full_refresh else 'first_load') }};

    {{ create_tenant_table(tenant_schema, 'product_images', product_images_columns_without_pk()) }}
    {{ create_tenant_table(tenant_schema, 'product_images_rejects', product_images_rejects_columns()) }}
    create table {{ synced }} (
        product_id bigint not null,
        images_md5 text,
        synced_at timestamptz not null default now()
    );

    -- ONE statement reads products, once: the rows, the rejects and the sync
    -- state (md5 of each product's JSONB) all come from that one snapshot.
    -- Under READ COMMITTED each statement sees the data committed when it
    -- starts, so reading products again for the rejects or the md5 could see a
    -- photo the app appended meanwhile and record it as synced without loading
    -- it. Here a product the app changes during the load is loaded and recorded
    -- as the snapshot saw it; its md5 then differs from the new JSONB, so the
    -- next run loads the change.
    with

    products_snapshot as materialized (
        select id, images from {{ products }}
    ),

    legacy_products as (
        select id as product_id, images from products_snapshot
    ),

    loaded_images as (
        insert into {{ images }} ({{ product_images_loaded_columns() }})
        select {{ product_images_loaded_columns() }}
        from ({{ model_sql | replace(tenant_source('products'), 'products_snapshot') }}) as model_rows
        -- ids follow the products and their positions, as the app would assign them
        order by model_rows.product_id, model_rows.position
        returning 1
    ),

    rejected_elements as (
        insert into {{ rejects }} (product_id, source_index, element, reason)
        select product_id, source_index, element, reason
        from ({{ legacy_images_rejects('legacy_products') }}) as reject_rows
        returning 1
    ),

    synced_products as (
        insert into {{ synced }} (product_id, images_md5)
        select id, md5(images::text) from products_snapshot where images is not null
        returning 1
    )

    select
        (select count(*) from loaded_images),
        (select count(*) from synced_products),
        (select count(*) from rejected_elements)
    into v_inserted, v_products_changed, v_rejects;

    {{ add_product_images_constraints(tenant_schema) }}
    {{ copy_table_grants(tenant_schema, 'products', 'product_images') }}
    create index product_images_rejects_product_id_idx on {{ rejects }} (product_id);
    alter table {{ synced }}
        add constraint product_images_sync_pkey primary key (product_id);
{%- endmacro %}
