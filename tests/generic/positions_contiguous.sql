{% test positions_contiguous(model) %}

    {#- Fails for every product whose positions are not exactly 0, 1, ..., n - 1. -#}
    select
        tenant_schema,
        product_id,
        count(*) as images,
        min(position) as min_position,
        max(position) as max_position,
        count(distinct position) as distinct_positions
    from {{ tenant_union(model, 'tested_rows') }}
    group by tenant_schema, product_id
    having
        min(position) <> 0
        or max(position) <> count(*) - 1
        or count(distinct position) <> count(*)

{% endtest %}
