{#- The last phase and its way back: backup, restore, drop and re-add products.images.
    Each operation: dbt run-operation NAME --args '{tenants: [user_1], ...}'; one
    transaction per tenant; see _macros.yml. -#}

{% macro has_images_column_sql(tenant_schema) -%}
    exists (
        select 1 from pg_catalog.pg_attribute
        where
            attrelid = to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'products')) }})
            and attname = 'images'
            and not attisdropped
    )
{%- endmacro %}


{% macro backup_legacy_images(tenants=none) %}
    {{ return(run_tenant_operations('backup_legacy_images', operation_tenants(tenants), [backup_legacy_images_body])) }}
{% endmacro %}


{% macro backup_legacy_images_body(tenant_schema, dry_run) -%}
    if not {{ has_images_column_sql(tenant_schema) }} then
        v_status := 'skipped';
        v_message := 'products.images does not exist (dropped): the existing backup is kept as it is';
    else
        create table if not exists {{ tenant_relation(tenant_schema, 'products_images_backup') }} (
            product_id bigint primary key,
            images jsonb,
            taken_at timestamptz not null default now()
        );
        delete from {{ tenant_relation(tenant_schema, 'products_images_backup') }};
        insert into {{ tenant_relation(tenant_schema, 'products_images_backup') }} (product_id, images, taken_at)
        select id, images, now() from {{ tenant_relation(tenant_schema, 'products') }};
        get diagnostics v_rows = row_count;
        v_message := 'products.images copied to products_images_backup';
    end if;
{%- endmacro %}


{% macro restore_images_jsonb(tenants=none, overwrite_changed=false) %}
    {%- do check_boolean_arguments('restore_images_jsonb', {'overwrite_changed': overwrite_changed}) -%}
    {{ return(run_tenant_operations(
        'restore_images_jsonb', operation_tenants(tenants), [restore_images_jsonb_body],
        refusal_fails=true, phase_kwargs={'overwrite_changed': overwrite_changed}
    )) }}
{% endmacro %}


{% macro restore_images_jsonb_body(tenant_schema, dry_run, overwrite_changed=false) -%}
    {#- Before 2026-12-07 a tenant whose products.images was dropped (step 9) was
        'skipped' and the run-operation exited 0: the old app, deployed next,
        failed on the missing column. It is refused now (exit 1), naming the
        operation that re-adds it. -#}
    if not {{ has_images_column_sql(tenant_schema) }} then
        v_status := 'refused';
        v_message := 'products.images does not exist (dropped by drop_legacy_images_column): there is nothing to '
            || 'write back into, and the old app would fail on the missing column; run dbt run-operation '
            || 'restore_legacy_images_column --args ''{tenants: [' || {{ quote_literal(tenant_schema) }}
            || ']}'' instead (it re-adds the column and fills it from the tables)';
    elsif to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images')) }}) is null then
        v_status := 'skipped';
        v_message := 'product_images does not exist (not migrated): products.images left as it is';
    else
        {{ count_jsonb_changed_since_sync_sql(tenant_schema) }}
        if v_count > 0 and not {{ 'true' if overwrite_changed else 'false' }} then
            v_status := 'refused';
            v_message := v_count || ' product(s) changed in products.images since the last dbt run (e.g. product '
                || v_example || '): the tables do not hold that change yet, and rebuilding the JSONB from them '
                || 'would lose it; run dbt run --select product_images first, or pass overwrite_changed: true '
                || '(a JSONB emptied or damaged by a bad deploy)';
        else
            {{ count_whole_rejects_with_app_photos_sql(tenant_schema) }}
            if v_count > 0 then
                v_status := 'refused';
                v_message := v_count || ' product(s) whose products.images was rejected whole (not an array: the '
                    || 'value is kept in product_images_rejects, with no source_index) have photos the app added since '
                    || 'in product_images (e.g. product ' || v_example || '): one JSONB value cannot hold both, and '
                    || 'rebuilding it from the tables would lose the rejected value, with or without '
                    || 'overwrite_changed. Make products.images of each an array by hand (e.g. [the value] when it is '
                    || 'one photo; the photos the app added stay in product_images and are written after it), run '
                    || 'dbt run --select product_images, then run this again';
            else
                {{ write_images_jsonb_sql(tenant_schema, unchanged_since_sync=not overwrite_changed) }}
                v_message := 'products.images rebuilt from product_images and product_images_rejects';
                {%- if not overwrite_changed %}
                -- A product the app wrote while the statement ran (committed while it waited
                -- for the row, or since) was left as the app wrote it: say so.
                {{ count_jsonb_changed_since_sync_sql(tenant_schema) }}
                if v_count > 0 then
                    v_message := v_message || '; ' || v_count || ' product(s) changed in products.images while this '
                        || 'ran were left as the app wrote them (e.g. product ' || v_example || '): dbt run --select '
                        || 'product_images loads them, then run this again';
                end if;
                {%- endif %}
                {{ count_whole_rejects_with_app_photos_sql(tenant_schema) }}
                if v_count > 0 then
                    v_message := v_message || '; ' || v_count || ' product(s) rejected whole to which the app added '
                        || 'a photo while this ran were left as they were (e.g. product ' || v_example || '): run '
                        || 'this again for what to do';
                end if;
            end if;
        end if;
    end if;
{%- endmacro %}


{% macro count_jsonb_changed_since_sync_sql(tenant_schema) -%}
    {#- plpgsql: v_count, v_example := the products whose images value differs from the
        one the last sync recorded (the app wrote the JSONB since, and the tables do not
        hold that change yet), as write_images_jsonb_sql's guard sees them: a product
        the sync never saw counts when its JSONB holds an element (the old app created
        it after the last dbt run: the tables lack its photos). Before 2026-12-07 such a
        product was not counted, and the rebuild overwrote it with the app's rows. -#}
    select count(*), min(products.id)::text into v_count, v_example
    from {{ tenant_relation(tenant_schema, 'products') }} as products
    where not {{ unchanged_since_sync_sql(tenant_schema, 'products') }};
{%- endmacro %}


{% macro count_whole_rejects_with_app_photos_sql(tenant_schema) -%}
    {#- plpgsql: v_count, v_example := the products rejected whole (their images
        value is not an array: one reject without source_index holds it) that have
        rows in product_images (photos the app added since: a run loads no row from
        such a value). Their JSONB cannot hold both: write_images_jsonb_sql would
        write the rows alone, and the rejected value would be gone from
        products.images (before 2026-12-07 it was, and step 9 was refused for the
        tenant for good). -#}
    select count(*), min(whole_rejects.product_id)::text into v_count, v_example
    from {{ tenant_relation(tenant_schema, 'product_images_rejects') }} as whole_rejects
    where
        whole_rejects.source_index is null
        and exists (
            select from {{ tenant_relation(tenant_schema, 'product_images') }} as images
            where images.product_id = whole_rejects.product_id
        );
{%- endmacro %}


{% macro unchanged_since_sync_sql(tenant_schema, products_alias) -%}
    {#- A boolean expression: the product (products_alias, a row of the tenant's
        products) holds the images value the last sync recorded, or, never synced,
        a value with no element (SQL NULL, JSON null, []): rebuilding it from the
        tables loses nothing. A scalar subquery, not NOT EXISTS: PostgreSQL plans NOT
        EXISTS as an anti-join, and when an UPDATE waited for the app's row lock its
        recheck of the new row version (EvalPlanQual) passed the anti-join without
        the sync table, so an app write committed during the wait was overwritten
        (before 2026-12-07). -#}
    coalesce(
        (
            select synced.images_md5 is not distinct from md5({{ products_alias }}.images::text)
            from {{ tenant_relation(tenant_schema, 'product_images_sync') }} as synced
            where synced.product_id = {{ products_alias }}.id
        ),
        {{ legacy_element_count(products_alias ~ '.images') }} = 0
    )
{%- endmacro %}



{% macro restore_legacy_images_column(tenants=none) %}
    {#- One transaction a tenant: the column is re-added and filled under the ACCESS
        EXCLUSIVE lock its ALTER TABLE takes (waited for under lock_timeout), so the
        old app never reads a products.images that exists but is not filled yet, and
        a fill that cannot have its locks leaves the tenant as it was. Before
        2026-12-07 the fill was a second transaction: when it lost a lock, every
        product's images stayed NULL, a rerun skipped the tenant, and the next dbt run
        took the NULLs for photos deleted by the seller. -#}
    {{ return(run_tenant_operations(
        'restore_legacy_images_column', operation_tenants(tenants), [restore_legacy_images_column_body],
        refusal_fails=true, lock_mode='AccessExclusiveLock'
    )) }}
{% endmacro %}


{% macro restore_legacy_images_column_body(tenant_schema, dry_run) -%}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    if {{ has_images_column_sql(tenant_schema) }} then
        v_status := 'skipped';
        v_message := 'products.images exists: nothing to re-add (restore_images_jsonb rewrites its values)';
        -- nested: PL/pgSQL plans a condition whole, and a tenant never migrated has no product_images
        if to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images')) }}) is not null then
            if not exists (select from {{ products }} where images is not null)
                and exists (select from {{ tenant_relation(tenant_schema, 'product_images') }}) then
                v_message := v_message || '; every value of it is NULL while product_images has rows: a restore by a '
                    || 'version before 2026-12-07 may have re-added it without filling it. Fill it with dbt run-operation '
                    || 'restore_images_jsonb --args ''{tenants: [' || {{ quote_literal(tenant_schema) }}
                    || '], overwrite_changed: true}'' before any dbt run (which would take the NULLs for deleted photos)';
            end if;
        end if;
    elsif to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images')) }}) is null then
        v_status := 'refused';
        v_message := 'neither products.images nor product_images exists: restore products_images_backup by hand';
    else
        lock table {{ products }} in access exclusive mode;
        {{ count_whole_rejects_with_app_photos_sql(tenant_schema) }}
        if v_count > 0 then
            v_status := 'refused';
            v_message := v_count || ' product(s) whose products.images was rejected whole (not an array: the value '
                || 'is kept in product_images_rejects, with no source_index) have photos the app added since in '
                || 'product_images (e.g. product ' || v_example || '): one JSONB value cannot hold both, and '
                || 'filling it from the tables would lose the rejected value; the column is not re-added. Decide '
                || 'by hand what each product keeps (delete its photos from product_images, or its reject from '
                || 'product_images_rejects after copying the value: products_images_backup holds it until the next '
                || 'backup_legacy_images), then run this again';
        else
            alter table {{ products }} add column images jsonb;
            {{ write_images_jsonb_sql(tenant_schema, unchanged_since_sync=false) }}
            v_message := 'products.images re-added and filled from product_images and product_images_rejects';
        end if;
    end if;
{%- endmacro %}


{% macro drop_legacy_images_column(confirm=false, tenants=none) %}
    {%- do check_boolean_arguments('drop_legacy_images_column', {'confirm': confirm}) -%}
    {{ return(run_tenant_operations(
        'drop_legacy_images_column', operation_tenants(tenants), [drop_legacy_images_column_body],
        dry_run=not confirm, refusal_fails=confirm, lock_mode='AccessExclusiveLock'
    )) }}
{% endmacro %}


{% macro drop_legacy_images_column_body(tenant_schema, dry_run) -%}
    {%- set backup = tenant_relation(tenant_schema, 'products_images_backup') -%}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    if not {{ has_images_column_sql(tenant_schema) }} then
        v_status := 'skipped';
        v_message := 'products.images already dropped';
    elsif to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images')) }}) is null
        or to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images_rejects')) }}) is null then
        v_status := 'refused';
        v_message := 'not migrated: run dbt run --select product_images first';
    elsif to_regclass({{ quote_literal(backup) }}) is null then
        v_status := 'refused';
        v_message := 'no backup: run dbt run-operation backup_legacy_images first';
    else
        select count(*), min(coalesce(products.id, backup.product_id))::text into v_count, v_example
        from {{ products }} as products
        full outer join {{ backup }} as backup on products.id = backup.product_id
        where products.id is null or backup.product_id is null or products.images is distinct from backup.images;
        if v_count > 0 then
            v_status := 'refused';
            v_message := 'the backup is out of date: ' || v_count || ' product(s) differ from products.images (e.g. product '
                || v_example || '): run dbt run-operation backup_legacy_images again';
        else
            select count(distinct product_id), min(product_id)::text into v_count, v_example
            from ({{ tenant_parity_problems_sql(tenant_schema) }}) as problems;
            if v_count > 0 then
                v_status := 'refused';
                v_message := 'parity fails for ' || v_count || ' product(s) (e.g. product ' || v_example
                    || '): JSONB elements and product_images rows + rejects differ; before the cut-over, '
                    || 'run dbt run --select product_images; after it (the app writes product_images), write the '
                    || 'tables back with dbt run-operation restore_images_jsonb, then backup_legacy_images';
            elsif {{ 'true' if dry_run else 'false' }} then
                v_status := 'would_do';
                v_message := 'parity holds and the backup is current: would drop products.images (confirm: true to do it)';
            else
                -- The checks above ran without blocking the app. Under the lock the
                -- drop needs anyway, the backup is compared once more: a JSONB write
                -- the app committed since is never dropped without being backed up.
                lock table {{ products }} in access exclusive mode;
                select count(*), min(coalesce(products.id, backup.product_id))::text into v_count, v_example
                from {{ products }} as products
                full outer join {{ backup }} as backup on products.id = backup.product_id
                where products.id is null or backup.product_id is null or products.images is distinct from backup.images;
                if v_count > 0 then
                    v_status := 'refused';
                    v_message := 'products.images changed during the checks: ' || v_count || ' product(s) differ from the backup (e.g. product '
                        || v_example || '): run dbt run-operation backup_legacy_images again';
                else
                    alter table {{ products }} drop column images;
                    v_message := 'products.images dropped (backup in products_images_backup)';
                end if;
            end if;
        end if;
    end if;
{%- endmacro %}


{% macro tenant_parity_problems_sql(tenant_schema) -%}
    {#- One row (product_id, problem) per product whose JSONB and tables disagree:
        element counts, or the multiset of usable URLs, in either direction. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    with

    jsonb_counts as (
        select id as product_id, {{ legacy_element_count('images') }} as elements
        from {{ products }}
    ),

    row_counts as (
        select product_id, count(*) as loaded from {{ images }} group by product_id
    ),

    reject_counts as (
        select product_id, count(*) as rejected from {{ rejects }} group by product_id
    ),

    jsonb_urls as (
        select products.id as product_id, image_elements.element ->> 'url' as url
        {{ legacy_usable_elements(products) }}
    ),

    row_urls as (
        select product_id, url from {{ images }}
    )

    select
        coalesce(jsonb_counts.product_id, row_counts.product_id, reject_counts.product_id) as product_id,
        'element counts differ' as problem
    from jsonb_counts
    full outer join row_counts on jsonb_counts.product_id = row_counts.product_id
    full outer join reject_counts
        on coalesce(jsonb_counts.product_id, row_counts.product_id) = reject_counts.product_id
    where coalesce(jsonb_counts.elements, 0) <> coalesce(row_counts.loaded, 0) + coalesce(reject_counts.rejected, 0)

    union all

    select product_id, 'url in the JSONB only' as problem
    from (select product_id, url from jsonb_urls except all select product_id, url from row_urls) as jsonb_only

    union all

    select product_id, 'url in product_images only' as problem
    from (select product_id, url from row_urls except all select product_id, url from jsonb_urls) as rows_only
{%- endmacro %}


{% macro restored_images_ctes(tenant_schema) -%}
    {#- The CTEs (no WITH) that end in restored (product_id, images): the value
        write_images_jsonb_sql writes into each product's images from the tenant's
        tables (see there); rollback_product_images compares it with the JSONB to
        find what the app changed only in the tables. restored_elements names the
        row (image_id) or reject (reject_id) each element comes from:
        write_images_jsonb_sql gives them the element's index in the value written. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    image_rows as (
        select
            product_id,
            id,
            url,
            position,
            created_at,
            source_index,
            legacy_element,
            (row_number() over (
                partition by product_id
                order by {{ legacy_order_value('legacy_element') }} asc nulls last, source_index asc, id asc
            ) - 1)::integer as legacy_rank,
            (row_number() over (partition by product_id order by position asc, id asc) - 1)::integer as position_rank
        from {{ images }}
    ),

    reject_rows as (
        select id, product_id, source_index, element from {{ rejects }}
    ),

    indexed_elements as (
        select product_id, source_index from image_rows
        union all
        select product_id, source_index from reject_rows where source_index is not null
    ),

    exact_products as (
        select image_rows.product_id
        from image_rows
        group by image_rows.product_id
        having bool_and(
            image_rows.legacy_element is not null
            and image_rows.source_index is not null
            and image_rows.legacy_element ->> 'url' is not distinct from image_rows.url
            and image_rows.legacy_rank = image_rows.position_rank
        )
        intersect
        select product_id
        from indexed_elements
        group by product_id
        having
            min(source_index) = 0
            and max(source_index) = count(*) - 1
            and count(distinct source_index) = count(*)
    ),

    restored_elements as (
        select
            image_rows.product_id,
            image_rows.id as image_id,
            null::bigint as reject_id,
            image_rows.source_index::numeric as sort_key,
            image_rows.legacy_element as element
        from image_rows
        where image_rows.product_id in (select product_id from exact_products)

        union all

        select
            image_rows.product_id,
            image_rows.id as image_id,
            null::bigint as reject_id,
            image_rows.position_rank::numeric as sort_key,
            -- A loaded element keeps its keys, created_at included whatever it holds (a
            -- number, JSON null, none at all: the row's created_at is then the run's
            -- time, which the old app must not show); only url and order are the
            -- row's. A photo the app added gets the row's created_at.
            coalesce(
                image_rows.legacy_element,
                jsonb_build_object(
                    'created_at',
                    to_char(image_rows.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                )
            ) || jsonb_build_object('url', image_rows.url, 'order', image_rows.position_rank) as element
        from image_rows
        where image_rows.product_id not in (select product_id from exact_products)

        union all

        select
            reject_rows.product_id,
            null::bigint as image_id,
            reject_rows.id as reject_id,
            case
                when reject_rows.product_id in (select product_id from exact_products)
                    then reject_rows.source_index::numeric
                else reject_rows.source_index - 0.5
            end as sort_key,
            reject_rows.element
        from reject_rows
        where reject_rows.source_index is not null
    ),

    restored_arrays as (
        select product_id, jsonb_agg(element order by sort_key) as images
        from restored_elements
        group by product_id
    ),

    restored_whole as (
        select product_id, element as images
        from reject_rows
        where
            source_index is null
            and product_id not in (select product_id from restored_arrays)
    ),

    restored_empty as (
        select
            products.id as product_id,
            case
                when synced.images_md5 = md5('null') then 'null'::jsonb
                when synced.images_md5 is not null then '[]'::jsonb
            end as images
        from {{ products }} as products
        inner join {{ synced }} as synced on products.id = synced.product_id
        where
            products.id not in (select product_id from restored_arrays)
            and products.id not in (select product_id from restored_whole)
    ),

    restored as (
        select product_id, images from restored_arrays
        union all
        select product_id, images from restored_whole
        union all
        select product_id, images from restored_empty
    )
{%- endmacro %}


{% macro write_images_jsonb_sql(tenant_schema, unchanged_since_sync=true) -%}
    {#- One statement that writes products.images from the tenant's tables, in the
        legacy shape, records the md5 of what it wrote in the sync state (the next
        dbt run must not load it back as if the app had changed it: after the
        cut-over a photo the app deleted since would return), and counts the
        products written into v_rows. With unchanged_since_sync, a product whose
        value differs from the one the last sync recorded (an app write the tables
        do not hold yet, even one committed while this statement waits for the row)
        is left as it is. A product whose rows are as the migration loaded them (each
        row's element kept, positions still in the legacy order, array indexes
        0..n-1 all present across rows and rejects) gets its original value back,
        element for element. Any other gets its elements in position order, each
        with order = its position and the row's url, a loaded element's other keys
        as they were (created_at included: absent, a number or null stays so), a
        photo the app added as {url, order, created_at}, with the rejected
        elements put back before what now stands at their old index. A product
        rejected whole gets its non-array value back; one with nothing gets [], JSON
        null or NULL as the sync table's md5 says it had; one the sync never saw is
        written only when it has rows and its JSONB holds no element (and is then
        recorded). In each product written, the rows loaded from the JSONB
        (source_index set) and the rejects then stand for the elements written:
        source_index is the element's index in the new value and a row's
        legacy_element that element, as a dbt run loading that value would leave
        them (the product is recorded as synced, so no run loads it). Before
        2026-12-07 they kept the indexes of the value loaded before the app
        reordered or deleted photos, and the checkpoint's positions_follow_jsonb
        failed for such a product until the old app changed its JSONB. A photo
        the app added keeps no source_index: the label rule takes a row with one
        for a photo loaded from the JSONB, and nothing decides labels again here. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    with

    {{ restored_images_ctes(tenant_schema) }},

    -- Each element of the arrays restored, at its index in the value written.
    restored_indexes as (
        select
            product_id,
            image_id,
            reject_id,
            element,
            (row_number() over (partition by product_id order by sort_key asc) - 1)::integer as source_index
        from restored_elements
    ),

    written as (
        update {{ products }} as products
        set images = restored.images
        from restored
        where
            products.id = restored.product_id
            and products.images is distinct from restored.images
            -- never the rows alone over a value rejected whole (see
            -- count_whole_rejects_with_app_photos_sql): the operations refuse such a
            -- tenant first; this leaves alone one the app gave a photo meanwhile
            and (
                restored.product_id not in (select product_id from restored_arrays)
                or restored.product_id not in (select product_id from reject_rows where source_index is null)
            )
            {%- if unchanged_since_sync %}
            and {{ unchanged_since_sync_sql(tenant_schema, 'products') }}
            {%- endif %}
        returning products.id, products.images
    ),

    -- Joined to written: a product's row lock comes before its rows', as in the app.
    followed_rows as (
        update {{ images }} as images
        set
            source_index = restored_indexes.source_index,
            legacy_element = restored_indexes.element,
            updated_at = now()
        from restored_indexes
        inner join written on restored_indexes.product_id = written.id
        where
            images.id = restored_indexes.image_id
            and images.source_index is not null
            and (
                images.source_index is distinct from restored_indexes.source_index
                or images.legacy_element is distinct from restored_indexes.element
            )
        returning images.id
    ),

    followed_rejects as (
        update {{ rejects }} as rejects
        set source_index = restored_indexes.source_index
        from restored_indexes
        inner join written on restored_indexes.product_id = written.id
        where
            rejects.id = restored_indexes.reject_id
            and rejects.source_index is distinct from restored_indexes.source_index
        returning rejects.id
    ),

    -- Every product written is recorded, one the sync never saw too (the app gave
    -- photos to a product whose JSONB was NULL): before 2026-12-07 it was not, and a
    -- second restore overwrote the seller's next edit of it unguarded.
    recorded as (
        insert into {{ synced }} as synced (product_id, images_md5, synced_at)
        select id, md5(images::text), now() from written
        on conflict (product_id) do update
        set images_md5 = excluded.images_md5, synced_at = excluded.synced_at
        returning synced.product_id
    )

    select count(*) into v_rows from written;
{%- endmacro %}
