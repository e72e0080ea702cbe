{#- The runbook's way back from the run (step 2): a tenant's product_images,
    product_images_rejects and product_images_sync dropped, products untouched.
    dbt run-operation rollback_product_images --args '{tenants: [user_7]}' reports;
    confirm: true drops. See _macros.yml. -#}

{% macro rollback_product_images(confirm=false, tenants=none, discard_app_changes=false) %}
    {#- One transaction a tenant, under the lock discipline: dropping the tables is a
        catalog change of milliseconds, so the ACCESS EXCLUSIVE lock the foreign keys
        need on products is held that long. A tenant named twice is done once: its
        second pass found no table and logged it 'skipped: not migrated' over the
        'done' of the drop (before 2026-12-07). -#}
    {%- do check_boolean_arguments('rollback_product_images', {'confirm': confirm, 'discard_app_changes': discard_app_changes}) -%}
    {{ return(run_tenant_operations(
        'rollback_product_images', operation_tenants(tenants), [rollback_product_images_body],
        dry_run=not confirm, refusal_fails=confirm, lock_mode='AccessExclusiveLock',
        lock_relations=['products', 'product_images', 'product_images_rejects', 'product_images_sync'],
        phase_kwargs={'discard_app_changes': discard_app_changes}
    )) }}
{% endmacro %}


{% macro rollback_product_images_body(tenant_schema, dry_run, discard_app_changes=false) -%}
    {#- The checks (nothing is dropped that exists nowhere else), then the drop. With
        confirm the tables are locked before the checks, so no row the app commits
        after them is dropped unchecked; a report locks nothing. -#}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    if to_regclass({{ quote_literal(images) }}) is null then
        v_status := 'skipped';
        v_message := 'not migrated: no product_images to drop';
    elsif not {{ has_images_column_sql(tenant_schema) }} then
        v_status := 'refused';
        v_message := 'products.images was dropped: product_images holds the only copy of the photos; '
            || 'run dbt run-operation restore_legacy_images_column first';
    else
        declare
            v_app_photos bigint;
            v_app_labels bigint;
            v_app_captions bigint;
            v_app_moves bigint;
            v_dependents text;
            v_app_changes text;
        begin
            {%- if not dry_run %}
            lock table {{ images }}, {{ rejects }}, {{ synced }} in access exclusive mode;
            {%- endif %}
            select
                count(*),
                count(*) filter (where source_index is null),
                count(*) filter (where label_source = 'app' and source_index is not null),
                count(*) filter (where source_index is not null and (alt_text is not null or tags <> '{}'))
            into v_rows, v_app_photos, v_app_labels, v_app_captions
            from {{ images }};
            {{ rollback_app_moves_sql(tenant_schema) }}
            {{ rollback_dependents_sql(tenant_schema) }}
            v_app_changes := concat_ws(
                ' and ',
                case when v_app_photos > 0 then v_app_photos || ' photo(s) the app added' end,
                case
                    when v_app_moves > 0
                        then 'photo deletions or reorders the app made in ' || v_app_moves
                            || ' product(s) (e.g. product ' || v_example || ')'
                end,
                case when v_app_labels > 0 then v_app_labels || ' label decision(s) made through the app' end,
                case when v_app_captions > 0 then v_app_captions || ' photo(s) with alt text or tags' end
            );
            if v_dependents is not null then
                v_status := 'refused';
                v_message := 'objects outside the dbt schema depend on product_images, product_images_rejects or '
                    || 'product_images_sync, and the drop would take them with it: ' || v_dependents
                    || '; drop or change them first';
            elsif v_app_changes <> '' and not {{ 'true' if discard_app_changes else 'false' }} then
                v_status := 'refused';
                v_message := v_app_changes || ' live only in product_images: write the photos back with dbt run-operation '
                    || 'restore_images_jsonb (alt text, tags and labels have no place in the JSONB), or pass '
                    || 'discard_app_changes: true to lose them with the table';
            elsif {{ 'true' if dry_run else 'false' }} then
                v_status := 'would_do';
                v_message := 'would drop product_images (' || v_rows || ' rows), product_images_rejects and '
                    || 'product_images_sync; products is not touched (confirm: true to do it)'
                    || coalesce('; it would discard ' || nullif(v_app_changes, ''), '');
            else
                -- The drop needs ACCESS EXCLUSIVE on products too (the foreign keys), while
                -- this transaction holds product_images: an app transaction that wrote
                -- products, then product_images, would wait on each other. That wait is cut
                -- short, below deadlock_timeout, so the deadlock detector never picks the
                -- app's transaction (it did before 2026-12-07): this attempt gives up its
                -- locks, and with_lock_retries tries again. (LOCK TABLE products first would
                -- need UPDATE on products, which the migration's role need not have.)
                perform pg_catalog.set_config('lock_timeout', (
                    select least(nullif(lock_timeouts.setting::integer, 0), deadlock_timeouts.setting::integer / 2)::text
                    from pg_catalog.pg_settings as lock_timeouts, pg_catalog.pg_settings as deadlock_timeouts
                    where lock_timeouts.name = 'lock_timeout' and deadlock_timeouts.name = 'deadlock_timeout'
                ), true);
                -- cascade: the union views, their part views and label_review_queue select
                -- from every tenant's tables; dbt run --select product_images builds them again.
                drop table if exists {{ images }}, {{ rejects }}, {{ synced }} cascade;
                delete from {{ product_images_watermarks_relation() }} where tenant_schema = {{ quote_literal(tenant_schema) }};
                v_message := 'dropped product_images (' || v_rows || ' rows), product_images_rejects and product_images_sync, '
                    || 'and with them the union views and label_review_queue; products is not touched. '
                    || 'dbt run --select product_images builds the views again, and loads this tenant again unless '
                    || 'var tenant_schema_regex leaves it out'
                    -- discard_app_changes: what was lost is said, as the refusal would have
                    || coalesce('; discarded (discard_app_changes): ' || nullif(v_app_changes, ''), '');
            end if;
        end;
    end if;
{%- endmacro %}


{% macro rollback_dependents_sql(tenant_schema) -%}
    {#- plpgsql: v_dependents := the views and foreign keys outside the dbt schema that
        depend on the tenant's three tables ("view app.covers, foreign key ... on ..."),
        or null: DROP ... CASCADE would drop them without a word. The union views and
        label_review_queue, in the dbt schema, are the project's own and rebuilt by dbt run. -#}
    {%- set tables = [] -%}
    {%- for name in ['product_images', 'product_images_rejects', 'product_images_sync'] -%}
        {%- do tables.append(quote_literal(tenant_relation(tenant_schema, name)) ~ '::regclass') -%}
    {%- endfor %}
    select string_agg(dependents.name, ', ' order by dependents.name) into v_dependents
    from (
        select distinct format('view %s.%I', views.relnamespace::regnamespace, views.relname) as name
        from pg_catalog.pg_depend as depends
        inner join pg_catalog.pg_rewrite as rules
            on depends.classid = 'pg_catalog.pg_rewrite'::regclass and rules.oid = depends.objid
        inner join pg_catalog.pg_class as views on rules.ev_class = views.oid
        inner join pg_catalog.pg_namespace as schemas on views.relnamespace = schemas.oid
        where
            depends.refclassid = 'pg_catalog.pg_class'::regclass
            and depends.refobjid in ({{ tables | join(', ') }})
            and views.oid not in ({{ tables | join(', ') }})
            and schemas.nspname <> {{ quote_literal(target.schema) }}
        union all
        select format('foreign key %I on %s', constraints.conname, constraints.conrelid::regclass)
        from pg_catalog.pg_constraint as constraints
        where
            constraints.contype = 'f'
            and constraints.confrelid in ({{ tables | join(', ') }})
            and constraints.conrelid not in ({{ tables | join(', ') }})
    ) as dependents;
{%- endmacro %}


{% macro rollback_app_moves_sql(tenant_schema) -%}
    {#- plpgsql: v_app_moves, v_example := the products whose photos the app deleted or
        reordered in product_images only: their JSONB is the one the last sync
        recorded, yet the value restore_images_jsonb would write from the tables
        differs from it. A product with a photo the app added is counted as such, not
        here. Before 2026-12-07 the rollback dropped these without a word: the drop
        brought back a photo the seller had deleted, and the old order. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    with

    {{ restored_images_ctes(tenant_schema) }}

    select count(*), min(products.id)::text into v_app_moves, v_example
    from {{ products }} as products
    inner join restored on products.id = restored.product_id
    inner join {{ tenant_relation(tenant_schema, 'product_images_sync') }} as synced
        on products.id = synced.product_id
    where
        products.images is distinct from restored.images
        and synced.images_md5 is not distinct from md5(products.images::text)
        and not exists (
            select 1 from {{ images }} as app_images
            where app_images.product_id = products.id and app_images.source_index is null
        );
{%- endmacro %}
