{% macro tenant_sync_sql(tenant_schema, model_sql, runs_relation, overrides_relation, full_refresh=false) %}
    {#- One tenant's whole migration step as one plpgsql block, run in its own
        transaction: an error anywhere rolls this tenant back to where it was and
        is recorded in the run log, so the other tenants still complete. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    {%- set tenant = quote_literal(tenant_schema) -%}
    {%- set loaded_columns = 'product_id, url, position, is_label, label_source, created_at, updated_at, source_index, legacy_element' -%}
    {%- set tenant_overrides -%}
        select product_id, url, is_label
        from {{ overrides_relation }}
        where tenant_schema = {{ tenant }}
    {%- endset -%}

do $product_images_sync$
declare
    v_started_at timestamptz := clock_timestamp();
    v_mode text;
    v_products_changed bigint := 0;
    v_inserted bigint := 0;
    v_updated bigint := 0;
    v_rows bigint := 0;
    v_images bigint;
    v_rejects bigint;
    v_labels bigint;
    v_grant record;
    v_changed_ids bigint[] := '{}';
    v_sqlstate text;
    v_message text;
    v_detail text;
    v_context text;
begin
    -- Two runs never work on one tenant at once: the second waits, then finds nothing to do.
    perform pg_advisory_xact_lock(hashtextextended('product_images:' || {{ tenant }}, 0));

    if not exists (
        select 1 from pg_catalog.pg_attribute
        where
            attrelid = to_regclass({{ quote_literal(products) }})
            and attname = 'images'
            and not attisdropped
    ) then
        insert into {{ runs_relation }} (
            invocation_id, tenant_schema, status, started_at, finished_at, message
        ) values (
            {{ quote_literal(invocation_id) }}, {{ tenant }}, 'skipped', v_started_at, clock_timestamp(),
            case
                when to_regclass({{ quote_literal(products) }}) is null then 'no products table: not a tenant yet'
                else 'products.images does not exist (already cleaned up): product_images left untouched'
            end
        );
        return;
    end if;

    begin
        {%- if full_refresh %}
        drop table if exists {{ images }}, {{ rejects }}, {{ synced }};
        {%- endif %}

        if to_regclass({{ quote_literal(images) }}) is null then
            v_mode := {{ quote_literal('full_refresh' if full_refresh else 'first_load') }};

            -- Bulk load into a bare table, then build the constraints and indexes.
            {{ create_tenant_table(tenant_schema, 'product_images', product_images_columns_without_pk()) }}
            insert into {{ images }} ({{ loaded_columns }})
            select {{ loaded_columns }}
            from ({{ model_sql | replace(tenant_source('products'), products) }}) as model_rows;
            get diagnostics v_inserted = row_count;
            {{ add_product_images_constraints(tenant_schema) }}
            {{ copy_table_grants(tenant_schema, 'products', 'product_images') }}

            create table {{ synced }} (
                product_id bigint not null,
                images_md5 text,
                synced_at timestamptz not null default now()
            );
            {{ create_product_images_side_tables(tenant_schema) }}
            insert into {{ rejects }} (product_id, source_index, element, reason)
            with legacy_products as (
                select id as product_id, images from {{ products }}
            )
            {{ legacy_images_rejects('legacy_products') }};

            insert into {{ synced }} (product_id, images_md5)
            select id, md5(images::text) from {{ products }} where images is not null;
            get diagnostics v_products_changed = row_count;
            alter table {{ synced }}
                add primary key (product_id),
                add foreign key (product_id) references {{ products }} (id) on delete cascade;
        else
            v_mode := 'incremental';
            {{ add_missing_columns(tenant_schema, 'product_images', product_images_columns()) }}
            {{ create_product_images_side_tables(tenant_schema) }}

            -- Only products whose JSONB changed since the last run are looked at:
            -- a rerun on unchanged data writes nothing (and creates no temporary table).
            -- The md5 of every product's JSONB is computed once, here.
            select coalesce(array_agg(products.id), '{}') into v_changed_ids
            from {{ products }} as products
            left join {{ synced }} as synced
                on products.id = synced.product_id
            where synced.images_md5 is distinct from md5(products.images::text);
            v_products_changed := cardinality(v_changed_ids);

            if v_products_changed > 0 then
                create temporary table pi_changed_products on commit drop as
                select
                    products.id,
                    products.images,
                    md5(products.images::text) as images_md5
                from {{ products }} as products
                where products.id = any(v_changed_ids);
                analyze pg_temp.pi_changed_products;

                -- What the JSONB of those products says now, keyed by (product, url, occurrence).
                create temporary table pi_desired_images on commit drop as
                select
                    model_rows.*,
                    row_number() over (
                        partition by model_rows.product_id, model_rows.url
                        order by model_rows.source_index
                    ) as url_occurrence
                from ({{ model_sql | replace(tenant_source('products'), 'pg_temp.pi_changed_products') }}) as model_rows;

                -- The rows of those products, keyed the same way: rows loaded
                -- earlier first, then rows the app added (so an element the app
                -- also wrote to the JSONB is matched, not loaded twice).
                create temporary table pi_matched_images on commit drop as
                with loaded_images as (
                    select
                        images.id,
                        images.product_id,
                        images.url,
                        images.source_index,
                        row_number() over (
                            partition by images.product_id, images.url
                            order by images.source_index asc nulls last, images.id asc
                        ) as url_occurrence
                    from {{ images }} as images
                    where images.product_id in (select id from pg_temp.pi_changed_products)
                )
                select
                    loaded_images.id,
                    loaded_images.product_id,
                    loaded_images.source_index as old_source_index,
                    desired_images.source_index,
                    desired_images.legacy_element,
                    desired_images.url_occurrence
                from loaded_images
                left join pg_temp.pi_desired_images as desired_images
                    on
                        loaded_images.product_id = desired_images.product_id
                        and loaded_images.url = desired_images.url
                        and loaded_images.url_occurrence = desired_images.url_occurrence;

                -- Elements that moved in the array or changed keys: follow them.
                -- Rows whose element left the JSONB (or never was in it) keep
                -- their data (nothing is deleted) and have no source_index; the
                -- parity checks report them while the legacy column exists.
                update {{ images }} as images
                set
                    source_index = matched_images.source_index,
                    legacy_element = coalesce(matched_images.legacy_element, images.legacy_element),
                    updated_at = now()
                from pg_temp.pi_matched_images as matched_images
                where
                    images.id = matched_images.id
                    and (
                        images.source_index is distinct from matched_images.source_index
                        or images.legacy_element is distinct from coalesce(matched_images.legacy_element, images.legacy_element)
                    );
                get diagnostics v_updated = row_count;

                insert into {{ images }} ({{ loaded_columns }})
                select {{ loaded_columns }}
                from pg_temp.pi_desired_images as desired_images
                where not exists (
                    select 1
                    from pg_temp.pi_matched_images as matched_images
                    where
                        matched_images.product_id = desired_images.product_id
                        and matched_images.source_index = desired_images.source_index
                );
                get diagnostics v_inserted = row_count;

                -- Positions: the JSONB order first, then the rows it no longer
                -- holds or never held (added by the app), in their current order.
                with positioned_images as (
                    select
                        images.id,
                        (row_number() over (
                            partition by images.product_id
                            order by desired_images.position asc nulls last, images.position asc, images.id asc
                        ) - 1)::integer as position
                    from {{ images }} as images
                    left join pg_temp.pi_desired_images as desired_images
                        on
                            images.product_id = desired_images.product_id
                            and images.source_index = desired_images.source_index
                    where images.product_id in (select id from pg_temp.pi_changed_products)
                )
                update {{ images }} as images
                set
                    position = positioned_images.position,
                    updated_at = now()
                from positioned_images
                where
                    images.id = positioned_images.id
                    and images.position <> positioned_images.position;
                get diagnostics v_rows = row_count;
                v_updated := v_updated + v_rows;

                -- Rejects mirror the current JSONB of the changed products.
                create temporary table pi_desired_rejects on commit drop as
                with legacy_products as (
                    select id as product_id, images from pg_temp.pi_changed_products
                )
                {{ legacy_images_rejects('legacy_products') }};

                delete from {{ rejects }} as rejects
                where
                    rejects.product_id in (select id from pg_temp.pi_changed_products)
                    and not exists (
                        select 1 from pg_temp.pi_desired_rejects as desired_rejects
                        where
                            desired_rejects.product_id = rejects.product_id
                            and desired_rejects.source_index is not distinct from rejects.source_index
                            and desired_rejects.element = rejects.element
                    );

                insert into {{ rejects }} (product_id, source_index, element, reason)
                select desired_rejects.product_id, desired_rejects.source_index, desired_rejects.element, desired_rejects.reason
                from pg_temp.pi_desired_rejects as desired_rejects
                where not exists (
                    select 1 from {{ rejects }} as rejects
                    where
                        rejects.product_id = desired_rejects.product_id
                        and rejects.source_index is not distinct from desired_rejects.source_index
                        and rejects.element = desired_rejects.element
                );

                insert into {{ synced }} as synced (product_id, images_md5, synced_at)
                select id, images_md5, now() from pg_temp.pi_changed_products
                on conflict (product_id) do update
                set images_md5 = excluded.images_md5, synced_at = excluded.synced_at;
            end if;

            -- Labels: products whose JSONB changed, and products whose entry in
            -- the overrides seed was added, changed or removed.
            if v_products_changed > 0
                or exists ({{ tenant_overrides }})
                or exists (select 1 from {{ images }} as images where images.label_source = 'override') then
                create temporary table pi_label_products on commit drop as
                with tenant_overrides as ({{ tenant_overrides }})
                select product_id from unnest(v_changed_ids) as changed (product_id)
                union
                select images.product_id
                from {{ images }} as images
                inner join tenant_overrides
                    on images.product_id = tenant_overrides.product_id and images.url = tenant_overrides.url
                where
                    images.label_source <> 'app'
                    and (images.label_source <> 'override' or images.is_label <> tenant_overrides.is_label)
                union
                select images.product_id
                from {{ images }} as images
                where
                    images.label_source = 'override'
                    and not exists (
                        select 1 from tenant_overrides
                        where tenant_overrides.product_id = images.product_id and tenant_overrides.url = images.url
                    );

                with

                tenant_overrides as ({{ tenant_overrides }}),

                image_decisions as (
                    select
                        images.id,
                        images.product_id,
                        images.position,
                        images.source_index is not null as rule_eligible,
                        images.label_source as current_label_source,
                        case
                            when images.label_source = 'app' then images.is_label
                            else tenant_overrides.is_label
                        end as human_is_label
                    from {{ images }} as images
                    left join tenant_overrides
                        on images.product_id = tenant_overrides.product_id and images.url = tenant_overrides.url
                    where images.product_id in (select product_id from pg_temp.pi_label_products)
                ),

                labelled_images as (
                    select
                        id,
                        {{ label_flag('human_is_label', 'rule_eligible') }} as is_label,
                        case
                            when current_label_source = 'app' then 'app'
                            when human_is_label is not null then 'override'
                            else 'rule'
                        end as label_source
                    from image_decisions
                )

                update {{ images }} as images
                set
                    is_label = labelled_images.is_label,
                    label_source = labelled_images.label_source,
                    updated_at = now()
                from labelled_images
                where
                    images.id = labelled_images.id
                    and images.label_source <> 'app'
                    and (images.is_label, images.label_source)
                    is distinct from (labelled_images.is_label, labelled_images.label_source);
                get diagnostics v_rows = row_count;
                v_updated := v_updated + v_rows;
            end if;
        end if;

        -- Deferred constraints are checked here, inside this tenant's error handler.
        set constraints all immediate;

        select count(*), count(*) filter (where is_label) into v_images, v_labels from {{ images }};
        select count(*) into v_rejects from {{ rejects }};

        insert into {{ runs_relation }} (
            invocation_id, tenant_schema, status, mode, started_at, finished_at,
            products_changed, images_inserted, images_updated, images_total, rejects_total, labels_total
        ) values (
            {{ quote_literal(invocation_id) }}, {{ tenant }}, 'success', v_mode, v_started_at, clock_timestamp(),
            v_products_changed, v_inserted, v_updated, v_images, v_rejects, v_labels
        );
    exception when others then
        get stacked diagnostics
            v_sqlstate = returned_sqlstate,
            v_message = message_text,
            v_detail = pg_exception_detail,
            v_context = pg_exception_context;
        insert into {{ runs_relation }} (
            invocation_id, tenant_schema, status, mode, started_at, finished_at,
            error_sqlstate, message, error_detail, error_context
        ) values (
            {{ quote_literal(invocation_id) }}, {{ tenant }}, 'error', v_mode, v_started_at, clock_timestamp(),
            v_sqlstate, v_message, nullif(v_detail, ''), v_context
        );
    end;
end
$product_images_sync$
{% endmacro %}
