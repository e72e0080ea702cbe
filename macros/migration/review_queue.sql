{% macro label_review_queue_sql(images_from) -%}
    {#- The review queue's SELECT (models/label_review_queue.sql) over images_from,
        a from item with the union view's columns: the model passes
        ref('product_images'); the tests pass a batch of tenants' tables
        (tenant_union), so that they run in batches at thousands of tenants. -#}


with

images as (

    select
        tenant_schema,
        id as image_id,
        product_id,
        url,
        position,
        is_label,
        label_source,
        label_error,
        source_index is not null as rule_eligible,
        case when label_source in ('override', 'app') then is_label end as human_is_label,
        case when label_error is null then label_score end as label_score
    from {{ images_from }}

),

image_decisions as (

    {{ label_decisions_sql('images', partition_by='tenant_schema, product_id') }}

),

doubtful_products as (

    select
        tenant_schema,
        product_id,
        max(best_score) as best_score,
        count(*) filter (where label_error is not null) as unreadable_images,
        bool_or(label_decision = 'doubtful') as is_doubtful,
        jsonb_agg(
            jsonb_build_object(
                'image_id', image_id,
                'position', position,
                'url', url,
                'score', label_score,
                'error', label_error,
                'is_label', is_label,
                'label_source', label_source
            )
            order by position
        ) as photos
    from image_decisions
    where label_decision in ('doubtful', 'unscored')
    group by tenant_schema, product_id
    having
        bool_or(label_decision = 'doubtful')
        or count(*) filter (where label_error is not null) > 0

)

select
    tenant_schema,
    product_id,
    best_score,
    photos,
    row_number() over (order by tenant_schema collate "C", product_id) as queue_position,
    case
        when is_doubtful
            then
                'doubtful: the best photo scores ' || round(best_score::numeric, 2)
                || ', between label_score_floor and label_score_threshold'
        else unreadable_images || ' photo(s) could not be scored'
    end as reason
from doubtful_products
{%- endmacro %}
