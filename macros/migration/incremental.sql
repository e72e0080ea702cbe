{#- The incremental path of a tenant's sync step, as named steps (plpgsql, run
    in order by tenant_incremental_sql inside the sync block's transaction).
    Each step reads the temporary tables the previous ones made; only products
    whose JSONB changed since the last run, and products whose override changed,
    are touched. See macros/migration/_macros.yml. -#}

{% macro tenant_incremental_sql(tenant_schema, model_sql, overrides_sql) -%}
    v_mode := 'incremental';
    {{ add_missing_columns(tenant_schema, 'product_images', product_images_columns()) }}
    {{ create_product_images_side_tables(tenant_schema) }}
    {{ incremental_changed_products(tenant_schema) }}
    {{ incremental_label_products(tenant_schema, overrides_sql) }}
    {{ incremental_lock_rows(tenant_schema) }}
    if v_products_changed > 0 then
        {{ incremental_follow_elements(tenant_schema, model_sql) }}
        {{ incremental_insert_new_elements(tenant_schema) }}
        {{ incremental_renumber_positions(tenant_schema) }}
        {{ incremental_mirror_rejects(tenant_schema) }}
        {{ incremental_mark_synced(tenant_schema) }}
    end if;
    if v_relabel then
        {{ incremental_relabel(tenant_schema, overrides_sql) }}
    end if;
{%- endmacro %}


{% macro incremental_changed_products(tenant_schema) -%}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    -- The products whose JSONB changed since the last run (md5 differs from the
    -- sync table's), then ONE statement copies them: a product's rows, rejects
    -- and sync state below all come from that copy, so they agree with each
    -- other even while the app keeps writing. A product the app changes after
    -- the copy keeps an md5 that differs from what is recorded: the next run
    -- loads it. A product changed between the two statements is copied as it
    -- is now (images and md5 from the same row version); one created after the
    -- first is left for the next run. A rerun with nothing changed creates no
    -- temporary table.
    select coalesce(array_agg(products.id), '{}') into v_changed_ids
    from {{ products }} as products
    left join {{ synced }} as synced
        on products.id = synced.product_id
    where synced.images_md5 is distinct from md5(products.images::text);

    if cardinality(v_changed_ids) > 0 then
        create temporary table pi_changed_products on commit drop as
        select
            products.id,
            products.images,
            md5(products.images::text) as images_md5
        from {{ products }} as products
        where products.id = any(v_changed_ids);
        analyze pg_temp.pi_changed_products;
        select count(*) into v_products_changed from pg_temp.pi_changed_products;
        select coalesce(array_agg(id), '{}') into v_changed_ids from pg_temp.pi_changed_products;
    end if;
{%- endmacro %}


{% macro incremental_label_products(tenant_schema, overrides_sql) -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    -- Products whose labels are decided again: those whose JSONB changed, those
    -- whose entry in the overrides seed was added, changed or removed, and those
    -- marked label_scores_pending: new evidence (set by the detector) or photos
    -- the app added, deleted or reordered (set by ProductImageService).
    v_relabel := v_products_changed > 0
        or exists ({{ overrides_sql }})
        or exists (select 1 from {{ images }} as images where images.label_source = 'override')
        or exists (select 1 from {{ images }} as images where images.label_scores_pending);
    if v_relabel then
        create temporary table pi_label_products on commit drop as
        with tenant_overrides as ({{ overrides_sql }})
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
            )
        union
        -- Products whose photos the detector scored, or the app changed, since the last run.
        select images.product_id
        from {{ images }} as images
        where images.label_scores_pending;
        v_relabel := exists (select 1 from pg_temp.pi_label_products);
    end if;
{%- endmacro %}


{% macro incremental_lock_rows(tenant_schema) -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    -- Lock every row this run may update, once, in id order: the metadata
    -- backfill writes its batches in id order too, so the two never deadlock
    -- (a wait longer than lock_timeout is retried by the sync block).
    if v_relabel then
        perform 1
        from {{ images }} as images
        where
            images.product_id = any(v_changed_ids)
            or images.product_id in (select product_id from pg_temp.pi_label_products)
        order by images.id
        for update;
    elsif v_products_changed > 0 then
        perform 1
        from {{ images }} as images
        where images.product_id = any(v_changed_ids)
        order by images.id
        for update;
    end if;
{%- endmacro %}


{% macro incremental_follow_elements(tenant_schema, model_sql) -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    -- What the JSONB of those products says now, keyed by (product, url, occurrence).
    create temporary table pi_desired_images on commit drop as
    select
        model_rows.*,
        row_number() over (
            partition by model_rows.product_id, model_rows.url
            order by model_rows.source_index
        ) as url_occurrence
    from ({{ model_sql | replace(tenant_source('products'), 'pg_temp.pi_changed_products') }}) as model_rows;

    -- The rows of those products, keyed the same way: rows loaded earlier
    -- first, then rows the app added (so an element the app also wrote to the
    -- JSONB is matched, not loaded twice).
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
        where images.product_id = any(v_changed_ids)
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

    -- Rows loaded from an element that has left the JSONB: the seller deleted the
    -- photo, and until the cut-over the JSONB says which photos a product has, so
    -- the row goes (a deleted photo must not be published, nor written back by
    -- restore_images_jsonb). Rows the app added (never loaded: no source_index)
    -- are the app's and stay.
    delete from {{ images }} as images
    using pg_temp.pi_matched_images as matched_images
    where
        images.id = matched_images.id
        and matched_images.old_source_index is not null
        and matched_images.source_index is null;
    get diagnostics v_deleted = row_count;

    -- Elements that moved in the array or changed keys: follow them.
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
{%- endmacro %}


{% macro incremental_insert_new_elements(tenant_schema) -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    -- Elements no row stands for yet.
    insert into {{ images }} ({{ product_images_loaded_columns() }})
    select {{ product_images_loaded_columns() }}
    from pg_temp.pi_desired_images as desired_images
    where not exists (
        select 1
        from pg_temp.pi_matched_images as matched_images
        where
            matched_images.product_id = desired_images.product_id
            and matched_images.source_index = desired_images.source_index
    );
    get diagnostics v_inserted = row_count;
{%- endmacro %}


{% macro incremental_renumber_positions(tenant_schema) -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    -- Positions: the JSONB order first, then the rows it no longer holds or
    -- never held (added by the app), in their current order.
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
        where images.product_id = any(v_changed_ids)
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
{%- endmacro %}


{% macro incremental_mirror_rejects(tenant_schema) -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    -- Rejects mirror the current JSONB of the changed products.
    create temporary table pi_desired_rejects on commit drop as
    with legacy_products as (
        select id as product_id, images from pg_temp.pi_changed_products
    )
    {{ legacy_images_rejects('legacy_products') }};

    delete from {{ rejects }} as rejects
    where
        rejects.product_id = any(v_changed_ids)
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
{%- endmacro %}


{% macro incremental_mark_synced(tenant_schema) -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    -- The md5 recorded is the one of the copy that was just loaded, never of a
    -- newer JSONB: a change the app made since is loaded by the next run.
    insert into {{ synced }} as synced (product_id, images_md5, synced_at)
    select id, images_md5, now() from pg_temp.pi_changed_products
    on conflict (product_id) do update
    set images_md5 = excluded.images_md5, synced_at = excluded.synced_at;
{%- endmacro %}


{% macro incremental_relabel(tenant_schema, overrides_sql) -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    -- Labels again for the products of pi_label_products: a person's decision,
    -- else the evidence (the detector's scores), else the rule
    -- (label_decisions_sql). A label set in the app is never overwritten. The
    -- rows are locked (incremental_lock_rows): the scores read here are the
    -- ones whose pending flag is cleared.
    with

    tenant_overrides as ({{ overrides_sql }}),

    image_inputs as (
        select
            images.id,
            images.product_id,
            images.position,
            images.source_index is not null as rule_eligible,
            images.label_source as current_label_source,
            case
                when images.label_source = 'app' then images.is_label
                else tenant_overrides.is_label
            end as human_is_label,
            case when images.label_error is null then images.label_score end as label_score
        from {{ images }} as images
        left join tenant_overrides
            on images.product_id = tenant_overrides.product_id and images.url = tenant_overrides.url
        where images.product_id in (select product_id from pg_temp.pi_label_products)
    ),

    image_decisions as (
        {{ label_decisions_sql('image_inputs') }}
    ),

    labelled_images as (
        select
            id,
            coalesce(human_is_label, decided_is_label) as is_label,
            case
                when current_label_source = 'app' then 'app'
                when human_is_label is not null then 'override'
                else decided_source
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

    update {{ images }} as images
    set label_scores_pending = false
    where
        images.label_scores_pending
        and images.product_id in (select product_id from pg_temp.pi_label_products);
{%- endmacro %}
