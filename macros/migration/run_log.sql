{% macro product_images_runs_relation() %}
    {{ return(project_table_relation('product_images_runs')) }}
{% endmacro %}


{% macro create_product_images_runs_table(relation) -%}
    create table if not exists {{ relation }} (
        invocation_id text not null,
        tenant_schema text not null,
        status text not null check (status in ('success', 'skipped', 'error')),
        mode text constraint product_images_runs_mode_check
            check (mode in ('first_load', 'incremental', 'full_refresh', 'unchanged')),
        started_at timestamptz not null,
        finished_at timestamptz not null,
        products_changed bigint,
        images_inserted bigint,
        images_updated bigint,
        images_deleted bigint,
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
        add column if not exists attempts integer,
        add column if not exists images_deleted bigint;
    -- ... and accepts mode 'unchanged' (a tenant its watermark showed untouched).
    do $product_images_runs_mode$
    begin
        if not exists (
            select 1 from pg_catalog.pg_constraint
            where
                conrelid = {{ quote_literal(relation) }}::regclass
                and conname = 'product_images_runs_mode_check'
                and pg_catalog.pg_get_constraintdef(oid) like '%unchanged%'
        ) then
            alter table {{ relation }} drop constraint if exists product_images_runs_mode_check;
            alter table {{ relation }} add constraint product_images_runs_mode_check
                check (mode in ('first_load', 'incremental', 'full_refresh', 'unchanged'));
        end if;
    end
    $product_images_runs_mode$
{%- endmacro %}


{% macro product_images_watermarks_relation() %}
    {{ return(project_table_relation('product_images_watermarks')) }}
{% endmacro %}


{% macro create_product_images_watermarks_table(relation) -%}
    {#- One row per tenant: what its products table looked like when a sync last
        read it (see macros/migration/watermarks.sql). -#}
    create table if not exists {{ relation }} (
        tenant_schema text primary key,
        products_relation oid not null,
        sync_relation oid not null,
        products_rows bigint not null,
        products_fingerprint numeric not null,
        sync_rows bigint,
        sync_fingerprint numeric,
        overrides_fingerprint text,
        invocation_id text not null,
        recorded_at timestamptz not null
    );
    -- ... and the columns a watermarks table made by an older version lacks.
    alter table {{ relation }}
        add column if not exists sync_rows bigint,
        add column if not exists sync_fingerprint numeric
{%- endmacro %}
