{#- A tenant's migration, as the DO blocks the materialization runs one after
    the other, each in a transaction of its own:

    1. tenant_unlink_block      (--full-refresh only) drop the foreign keys to products;
    2. tenant_schema_block      (older tables only) add the columns a newer version has;
    3. tenant_sync_block        the first load, or the incremental sync: the long step;
    4. tenant_constraints_block (after a first load) add the foreign keys NOT VALID;
    5. tenant_validate_block    (after a first load) validate them.

    Steps 1, 2 and 4 take a strong lock on a table the app uses for an instant:
    they run in short transactions under with_lock_retries. Step 3 takes no
    lock the app's writes to products wait for. Step 5 takes locks the app's
    writes do not conflict with. A step that fails records the tenant as failed
    in the run log and the later steps of this run leave it alone; the next run
    resumes at the first step still to do. See macros/migration/_macros.yml. -#}

{% macro tenant_step_variables() -%}
    v_started_at timestamptz := clock_timestamp();
    v_mode text;
    v_attempts integer;
    v_rows bigint := 0;
    v_sqlstate text;
    v_message text;
    v_detail text;
    v_context text;
    v_grant record;
{%- endmacro %}


{% macro record_tenant_failure(runs_relation, tenant_schema, step) -%}
    {#- plpgsql, in an exception handler: records the tenant as failed at step. -#}
    get stacked diagnostics
        v_sqlstate = returned_sqlstate,
        v_message = message_text,
        v_detail = pg_exception_detail,
        v_context = pg_exception_context;
    insert into {{ runs_relation }} as runs (
        invocation_id, tenant_schema, status, mode, started_at, finished_at, failed_step, attempts,
        error_sqlstate, message, error_detail, error_context
    ) values (
        {{ quote_literal(invocation_id) }}, {{ quote_literal(tenant_schema) }}, 'error', v_mode, v_started_at,
        clock_timestamp(), {{ quote_literal(step) }}, v_attempts, v_sqlstate, v_message, nullif(v_detail, ''), v_context
    )
    on conflict (invocation_id, tenant_schema) do update
    set
        status = 'error',
        finished_at = excluded.finished_at,
        failed_step = excluded.failed_step,
        attempts = excluded.attempts,
        error_sqlstate = excluded.error_sqlstate,
        message = excluded.message,
        error_detail = excluded.error_detail,
        error_context = excluded.error_context;
{%- endmacro %}


{% macro tenant_run_status_sql(runs_relation, tenant_schema) -%}
    (
        select runs.status from {{ runs_relation }} as runs
        where runs.invocation_id = {{ quote_literal(invocation_id) }} and runs.tenant_schema = {{ quote_literal(tenant_schema) }}
    )
{%- endmacro %}


{% macro tenant_relations_sql(tenant_schema, identifiers) -%}
    {#- A regclass[] expression of the tenant's tables (null for a missing one). -#}
    array[
        {%- for identifier in identifiers %}
        to_regclass({{ quote_literal(tenant_relation(tenant_schema, identifier)) }}){{ "," if not loop.last }}
        {%- endfor %}
    ]::regclass[]
{%- endmacro %}


{% macro tenant_step_block(step, tenant_schema, runs_relation, after_sync=true) -%}
    {#- A DO block for one short step (caller() is its body): skipped when an
        earlier step failed for this tenant in this run (or, after_sync, when the
        sync did not succeed); an error records the tenant as failed at step. -#}
do $product_images_{{ step }}$
declare
    {{ tenant_step_variables() }}
begin
    {%- if after_sync %}
    if {{ tenant_run_status_sql(runs_relation, tenant_schema) }} is distinct from 'success' then
        return;
    end if;
    {%- else %}
    if {{ tenant_run_status_sql(runs_relation, tenant_schema) }} is not null then
        return;
    end if;
    {%- endif %}
    begin
        {{ caller() }}
    exception when others then
        {{ record_tenant_failure(runs_relation, tenant_schema, step) }}
    end;
end
$product_images_{{ step }}$
{%- endmacro %}


{% macro tenant_unlink_block(tenant_schema, runs_relation) -%}
    {#- --full-refresh: drop the foreign keys to products first, in a short
        transaction: dropping a table that references products would hold an
        ACCESS EXCLUSIVE lock on products for the whole reload. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- call tenant_step_block('unlink', tenant_schema, runs_relation, after_sync=false) -%}
        {%- call with_lock_retries(
            quote_literal('AccessExclusiveLock on ' ~ products ~ ' (dropping the foreign keys before --full-refresh)'),
            tenant_relations_sql(tenant_schema, ['products', 'product_images', 'product_images_rejects', 'product_images_sync']),
            'AccessExclusiveLock', quote_literal(tenant_schema), 'v_attempts'
        ) -%}
        {{ acquire_tenant_lock(quote_literal(tenant_schema)) }}
        {{ drop_foreign_keys_to_products(tenant_schema) }}
        {%- endcall %}
    {%- endcall -%}
{%- endmacro %}


{% macro drop_foreign_keys_to_products(tenant_schema) -%}
    declare
        v_constraint record;
    begin
        for v_constraint in
            select constraints.conrelid::regclass::text as table_name, constraints.conname
            from pg_catalog.pg_constraint as constraints
            where
                constraints.contype = 'f'
                and constraints.confrelid = to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'products')) }})
                and constraints.conrelid = any({{ tenant_relations_sql(tenant_schema, ['product_images', 'product_images_rejects', 'product_images_sync']) }})
        loop
            execute format('alter table %s drop constraint %I', v_constraint.table_name, v_constraint.conname);
        end loop;
    end;
{%- endmacro %}


{% macro tenant_schema_block(tenant_schema, runs_relation) -%}
    {#- A table made by an older version gains the columns, indexes and check
        constraints it lacks, and products' owner its grant, in a short transaction (ALTER TABLE takes ACCESS
        EXCLUSIVE on it, CREATE INDEX a SHARE lock while it builds). -#}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- call tenant_step_block('schema', tenant_schema, runs_relation, after_sync=false) -%}
        {%- call with_lock_retries(
            quote_literal('AccessExclusiveLock on ' ~ images ~ ' (adding the columns and indexes a newer version has)'),
            tenant_relations_sql(tenant_schema, ['product_images']),
            'AccessExclusiveLock', quote_literal(tenant_schema), 'v_attempts'
        ) -%}
        {{ acquire_tenant_lock(quote_literal(tenant_schema)) }}
        if to_regclass({{ quote_literal(images) }}) is not null then
            {{ upgrade_product_images_schema(tenant_schema) }}
        end if;
        {%- endcall %}
    {%- endcall -%}
{%- endmacro %}


{% macro tenant_sync_block(tenant_schema, model_sql, runs_relation, overrides_sql, full_refresh=false) -%}
    {#- The tenant's long step, one transaction: the first load or the
        incremental sync, retried as a whole when a lock wait times out, a
        deadlock or serialization failure picks it, or a product it loads was
        deleted meanwhile (23503). Records the tenant's row in the run log. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- set images = tenant_relation(tenant_schema, 'product_images') -%}
    {%- set rejects = tenant_relation(tenant_schema, 'product_images_rejects') -%}
    {%- set synced = tenant_relation(tenant_schema, 'product_images_sync') -%}
    {%- set tenant = quote_literal(tenant_schema) -%}
do $product_images_sync$
declare
    {{ tenant_step_variables() }}
    v_products_changed bigint := 0;
    v_inserted bigint := 0;
    v_deleted bigint := 0;
    v_updated bigint := 0;
    v_images bigint;
    v_rejects bigint;
    v_labels bigint;
    v_changed_ids bigint[] := '{}';
    v_relabel boolean := false;
    v_skipped text;
    v_products_rows bigint;
    v_products_fingerprint numeric;
begin
    if {{ tenant_run_status_sql(runs_relation, tenant_schema) }} is not null then
        return;  -- an earlier step of this run failed for this tenant
    end if;
    begin
        {%- call with_lock_retries(
            quote_literal('a lock on ' ~ tenant_schema ~ "'s tables or its migration lock (migrating product_images)"),
            tenant_relations_sql(tenant_schema, ['products', 'product_images', 'product_images_rejects', 'product_images_sync']),
            'write', tenant, 'v_attempts', also_retry=['serialization_failure', 'foreign_key_violation']
        ) %}
        {{ acquire_tenant_lock(tenant) }}
        v_products_changed := 0;
        v_inserted := 0;
        v_updated := 0;
        v_deleted := 0;
        v_changed_ids := '{}';
        v_relabel := false;
        v_skipped := null;
        if not exists (
            select 1 from pg_catalog.pg_attribute
            where
                attrelid = to_regclass({{ quote_literal(products) }})
                and attname = 'images'
                and not attisdropped
        ) then
            v_skipped := case
                when to_regclass({{ quote_literal(products) }}) is null then 'no products table: not a tenant yet'
                else 'products.images does not exist (already cleaned up): product_images left untouched'
            end;
        else
            {{ read_products_watermark(tenant_schema) }}
            {%- if full_refresh %}
            drop table if exists {{ images }}, {{ rejects }}, {{ synced }};
            {%- endif %}
            if to_regclass({{ quote_literal(images) }}) is null then
                {{ tenant_first_load_sql(tenant_schema, model_sql, full_refresh=full_refresh) }}
            else
                {{ tenant_incremental_sql(tenant_schema, model_sql, overrides_sql) }}
            end if;

            -- Deferred constraints are checked here, inside this tenant's error handler.
            set constraints all immediate;

            select count(*), count(*) filter (where is_label) into v_images, v_labels from {{ images }};
            select count(*) into v_rejects from {{ rejects }};
            {{ record_products_watermark(tenant_schema, overrides_sql, product_images_watermarks_relation()) }}
        end if;
        {%- endcall %}

        if v_skipped is not null then
            insert into {{ runs_relation }} (
                invocation_id, tenant_schema, status, started_at, finished_at, attempts, message
            ) values (
                {{ quote_literal(invocation_id) }}, {{ tenant }}, 'skipped', v_started_at, clock_timestamp(), v_attempts, v_skipped
            );
        else
            insert into {{ runs_relation }} (
                invocation_id, tenant_schema, status, mode, started_at, finished_at, attempts,
                products_changed, images_inserted, images_updated, images_deleted, images_total, rejects_total, labels_total
            ) values (
                {{ quote_literal(invocation_id) }}, {{ tenant }}, 'success', v_mode, v_started_at, clock_timestamp(), v_attempts,
                v_products_changed, v_inserted, v_updated, v_deleted, v_images, v_rejects, v_labels
            );
        end if;
    exception when others then
        {{ record_tenant_failure(runs_relation, tenant_schema, 'sync') }}
    end;
end
$product_images_sync$
{%- endmacro %}


{% macro tenant_constraints_block(tenant_schema, runs_relation) -%}
    {#- The foreign keys to products, added NOT VALID in a short transaction of
        their own: ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on products, which
        the app's writes queue behind, so it is held for an instant and waited
        for at most lock_timeout (with retries). -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- call tenant_step_block('constraints', tenant_schema, runs_relation) -%}
        {%- call with_lock_retries(
            quote_literal('ShareRowExclusiveLock on ' ~ products ~ ' (adding the foreign keys from the product_images tables)'),
            tenant_relations_sql(tenant_schema, ['products', 'product_images', 'product_images_rejects', 'product_images_sync']),
            'ShareRowExclusiveLock', quote_literal(tenant_schema), 'v_attempts'
        ) -%}
        {{ acquire_tenant_lock(quote_literal(tenant_schema)) }}
        {%- for foreign_key in product_images_foreign_keys() %}
        {%- set table = tenant_relation(tenant_schema, foreign_key.table) %}
        if to_regclass({{ quote_literal(table) }}) is not null and not exists (
            select 1 from pg_catalog.pg_constraint
            where
                contype = 'f'
                and conrelid = to_regclass({{ quote_literal(table) }})
                and confrelid = to_regclass({{ quote_literal(products) }})
        ) then
            alter table {{ table }}
                add constraint {{ quote_identifier(foreign_key.name) }}
                foreign key (product_id) references {{ products }} (id) on delete cascade
                not valid;
        end if;
        {%- endfor %}
        {%- endcall %}
        update {{ runs_relation }}
        set attempts = greatest(attempts, v_attempts)
        where invocation_id = {{ quote_literal(invocation_id) }} and tenant_schema = {{ quote_literal(tenant_schema) }};
    {%- endcall -%}
{%- endmacro %}


{% macro tenant_validate_block(tenant_schema, runs_relation) -%}
    {#- Validates the NOT VALID foreign keys: a scan that takes SHARE UPDATE
        EXCLUSIVE on the tenant's tables and ROW SHARE on products, which the
        app's reads and writes do not wait for. Rows of products the app deleted
        between the load and the foreign key are deleted first, as the cascade
        would have done; once the key exists, no new such row can appear. -#}
    {%- set products = tenant_relation(tenant_schema, 'products') -%}
    {%- call tenant_step_block('validate', tenant_schema, runs_relation) -%}
        {%- call with_lock_retries(
            quote_literal('ShareUpdateExclusiveLock on ' ~ tenant_schema ~ "'s product_images tables (validating their foreign keys)"),
            tenant_relations_sql(tenant_schema, ['products', 'product_images', 'product_images_rejects', 'product_images_sync']),
            'ShareUpdateExclusiveLock', quote_literal(tenant_schema), 'v_attempts'
        ) -%}
        {{ acquire_tenant_lock(quote_literal(tenant_schema)) }}
        {%- for check in product_images_check_upgrades() %}
        if exists (
            select 1 from pg_catalog.pg_constraint
            where
                conrelid = to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images')) }})
                and conname = {{ quote_literal(check.name) }}
                and not convalidated
        ) then
            alter table {{ tenant_relation(tenant_schema, 'product_images') }} validate constraint {{ quote_identifier(check.name) }};
        end if;
        {%- endfor %}
        {%- for foreign_key in product_images_foreign_keys() %}
        {%- set table = tenant_relation(tenant_schema, foreign_key.table) %}
        if exists (
            select 1 from pg_catalog.pg_constraint
            where
                contype = 'f'
                and conrelid = to_regclass({{ quote_literal(table) }})
                and conname = {{ quote_literal(foreign_key.name) }}
                and not convalidated
        ) then
            delete from {{ table }} as tenant_rows
            where not exists (select 1 from {{ products }} as products where products.id = tenant_rows.product_id);
            alter table {{ table }} validate constraint {{ quote_identifier(foreign_key.name) }};
        end if;
        {%- endfor %}
        {%- endcall %}
        update {{ runs_relation }}
        set finished_at = clock_timestamp(), attempts = greatest(attempts, v_attempts)
        where invocation_id = {{ quote_literal(invocation_id) }} and tenant_schema = {{ quote_literal(tenant_schema) }};
    {%- endcall -%}
{%- endmacro %}
