{#-
    The per-tenant transform: one row per usable image of the legacy JSONB column
    products.images, with its position and label flag. The
    product_images_per_tenant materialization runs this once per tenant schema
    (the source stands for that tenant's products) and makes this model's
    relation a view over all tenants.
-#}
{{
    config(
        materialized='product_images_per_tenant',
    )
}}

with

legacy_products as (

    select
        id as product_id,
        images
    from {{ source('legacy', 'products') }}

),

image_elements as (

    {{ legacy_image_elements('legacy_products') }}

),

loaded_images as (

    select
        product_id,
        source_index,
        legacy_element,
        url,
        legacy_order,
        legacy_created_at
    from image_elements
    where reject_reason is null

),

positioned_images as (

    select
        product_id,
        source_index,
        legacy_element,
        url,
        legacy_created_at,
        {{ legacy_position() }} as position
    from loaded_images

),

tenant_overrides as (

    select
        overrides.product_id,
        overrides.url,
        overrides.is_label
    from {{ ref('label_overrides') }} as overrides
    where overrides.tenant_schema = {{ tenant_schema_literal() }}

),

image_inputs as (

    select
        positioned_images.*,
        true as rule_eligible,
        tenant_overrides.is_label as human_is_label,
        -- A first load has no evidence yet: the detector scores the loaded photos later.
        null::real as label_score
    from positioned_images
    left join tenant_overrides
        on
            positioned_images.product_id = tenant_overrides.product_id
            and positioned_images.url = tenant_overrides.url

),

image_decisions as (

    {{ label_decisions_sql('image_inputs') }}

),

labelled_images as (

    select
        product_id,
        url,
        position,
        coalesce(human_is_label, decided_is_label) as is_label,
        case
            when human_is_label is not null then 'override'
            else decided_source
        end as label_source,
        coalesce(legacy_created_at, '{{ run_started_at.isoformat() }}'::timestamptz) as created_at,
        now() as updated_at,
        source_index,
        legacy_element
    from image_decisions

)

select * from labelled_images
