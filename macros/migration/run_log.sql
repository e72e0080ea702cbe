{% macro product_images_runs_relation() %}
    {{ return(api.Relation.create(
        database=target.database,
        schema=target.schema,
        identifier='product_images_runs',
        type='table',
    )) }}
{% endmacro %}


{% macro create_product_images_runs_table(relation) -%}
    create table if not exists {{ relation }} (
        invocation_id text not null,
        tenant_schema text not null,
        status text not null check (status in ('success', 'skipped', 'error')),
        mode text check (mode in ('first_load', 'incremental', 'full_refresh')),
        started_at timestamptz not null,
        finished_at timestamptz not null,
        products_changed bigint,
        images_inserted bigint,
        images_updated bigint,
        images_total bigint,
        rejects_total bigint,
        labels_total bigint,
        error_sqlstate text,
        message text,
        error_detail text,
        error_context text,
        failed_step text,
        attempts integer,
        primary key (invocation_id, tenant_schema)
    );
    -- A run log made by an older version gains the new columns.
    alter table {{ relation }}
        add column if not exists failed_step text,
        add column if not exists attempts integer
{%- endmacro %}
