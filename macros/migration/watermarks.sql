{#- A rerun that costs what changed. After each successful sync, a tenant's
    watermark records what its products table looked like when the sync read it:
    the row count and the sum of a 64-bit hash of every row's (id, xmin). Any
    insert, update (of one JSONB element or any other column) or delete gives
    a row a new xmin or changes the count, so the sum changes; reading xmin
    scans the table but never reads or parses the JSONB. The next run compares
    the watermark, the tenant's overrides and its pending label scores with
    what is there now, a batch of tenants per query, and does not send the sync
    step of a tenant where nothing changed: the run log records that tenant as
    `success`, mode `unchanged`. A false alarm (a VACUUM FULL, a restore, a
    title edit) only costs a normal sync, which finds nothing to do. See
    macros/migration/_macros.yml. -#}

{% macro row_versions_fingerprint_sql(relation, key_column) -%}
    {#- SELECT (row count, fingerprint) of a table: the sum of a 64-bit hash of every
        row's key, ctid and xmin. An updated row has a new ctid (its old version still
        holds the old one) and a new xmin, so a transaction id that wrapped around to
        the old one still changes the sum. -#}
    select
        count(*) as row_count,
        coalesce(sum(pg_catalog.hashtextextended(
            versions.{{ key_column }}::text || ':' || versions.ctid::text || ':' || versions.xmin::text, 0
        )::numeric), 0) as fingerprint
    from {{ relation }} as versions
{%- endmacro %}


{% macro products_fingerprint_sql(tenant_schema) -%}
    {#- SELECT (row count, fingerprint) of the tenant's products. -#}
    {{ row_versions_fingerprint_sql(tenant_relation(tenant_schema, 'products'), 'id') }}
{%- endmacro %}


{% macro sync_fingerprint_sql(tenant_schema) -%}
    {#- SELECT (row count, fingerprint) of the tenant's product_images_sync: read
        last in a sync, so that a sync table changed by anyone else since (rows
        deleted to force a reload, a data-only restore) is not trusted. -#}
    {{ row_versions_fingerprint_sql(tenant_relation(tenant_schema, 'product_images_sync'), 'product_id') }}
{%- endmacro %}


{% macro overrides_fingerprint_sql(overrides_sql) -%}
    {#- A scalar subquery: md5 of the tenant's rows of the overrides seed, null when it has none. -#}
    (
        select md5(string_agg(
            tenant_overrides.product_id::text || ' ' || tenant_overrides.url || ' ' || tenant_overrides.is_label::text,
            e'\n' order by tenant_overrides.product_id, tenant_overrides.url
        ))
        from ({{ overrides_sql }}) as tenant_overrides
    )
{%- endmacro %}


{% macro read_products_watermark(tenant_schema) -%}
    {#- plpgsql, first in the sync step's body: the products' fingerprint, read
        before the sync reads products, so that what it records is never newer
        than what was loaded. -#}
    {{ products_fingerprint_sql(tenant_schema) }}
    into v_products_rows, v_products_fingerprint;
{%- endmacro %}


{% macro record_products_watermark(tenant_schema, overrides_sql, watermarks_relation) -%}
    {#- plpgsql, last in a successful sync step: the tenant's watermark. -#}
    insert into {{ watermarks_relation }} as watermarks (
        tenant_schema, products_relation, sync_relation, products_rows, products_fingerprint,
        sync_rows, sync_fingerprint, overrides_fingerprint, invocation_id, recorded_at
    )
    select
        {{ quote_literal(tenant_schema) }},
        to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'products')) }}),
        to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images_sync')) }}),
        v_products_rows,
        v_products_fingerprint,
        synced.row_count,
        synced.fingerprint,
        {{ overrides_fingerprint_sql(overrides_sql) }},
        {{ quote_literal(invocation_id) }},
        clock_timestamp()
    from ({{ sync_fingerprint_sql(tenant_schema) }}) as synced
    on conflict (tenant_schema) do update
    set
        products_relation = excluded.products_relation,
        sync_relation = excluded.sync_relation,
        products_rows = excluded.products_rows,
        products_fingerprint = excluded.products_fingerprint,
        sync_rows = excluded.sync_rows,
        sync_fingerprint = excluded.sync_fingerprint,
        overrides_fingerprint = excluded.overrides_fingerprint,
        invocation_id = excluded.invocation_id,
        recorded_at = excluded.recorded_at;
{%- endmacro %}


{% macro tenant_unchanged_sql(tenant_schema, overrides_sql, watermarks_relation) -%}
    {#- A boolean expression: the tenant's products, overrides and tables are as
        its watermark recorded them, and no label score waits to be applied. -#}
    exists (
        select 1
        from {{ watermarks_relation }} as watermarks
        where
            watermarks.tenant_schema = {{ quote_literal(tenant_schema) }}
            and watermarks.products_relation = to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'products')) }})
            and watermarks.sync_relation = to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images_sync')) }})
            and to_regclass({{ quote_literal(tenant_relation(tenant_schema, 'product_images_rejects')) }}) is not null
            and watermarks.recorded_at > now() - interval '1 hour' * {{ watermark_max_age_hours() }}
            and (watermarks.products_rows, watermarks.products_fingerprint) = ({{ products_fingerprint_sql(tenant_schema) }})
            and (watermarks.sync_rows, watermarks.sync_fingerprint) = ({{ sync_fingerprint_sql(tenant_schema) }})
            and watermarks.overrides_fingerprint is not distinct from {{ overrides_fingerprint_sql(overrides_sql) }}
    )
    and not exists (
        select 1 from {{ tenant_relation(tenant_schema, 'product_images') }} as images
        where images.label_scores_pending
    )
{%- endmacro %}


{% macro watermark_max_age_hours() %}
    {#- var watermark_max_age_hours (default 24), checked: a tenant whose last full
        sync is older is synced in full even when its watermark matches. -#}
    {%- set hours = var('watermark_max_age_hours', 24) -%}
    {%- if hours is not number or hours <= 0 -%}
        {{ exceptions.raise_compiler_error("var watermark_max_age_hours must be a positive number of hours, got " ~ hours) }}
    {%- endif -%}
    {{ return(hours) }}
{% endmacro %}


{% macro record_unchanged_tenant_sql(tenant_schema, overrides_sql, watermarks_relation, runs_relation, started_at) -%}
    {#- One SQL statement: the tenant's run-log row (`success`, mode `unchanged`),
        written only when tenant_unchanged_sql holds. -#}
    insert into {{ runs_relation }} (
        invocation_id, tenant_schema, status, mode, started_at, finished_at, attempts, message
    )
    select
        {{ quote_literal(invocation_id) }}, {{ quote_literal(tenant_schema) }}, 'success', 'unchanged',
        {{ started_at }}, clock_timestamp(), 1,
        'unchanged since the last sync (products watermark, overrides, no pending label score): not read'
    where {{ tenant_unchanged_sql(tenant_schema, overrides_sql, watermarks_relation) }}
{%- endmacro %}


{% macro unchanged_check_block(plain_schemas, other_schemas, runs_relation, overrides_relation_sql, watermarks_relation) -%}
    {#- One batch's DO block. The check is rendered once, for the placeholder, and
        run for each plain schema name (unquoted identifier syntax, as
        run_tenant_blocks substitutes them) with the placeholder replaced; a name
        that needs quoting gets the check rendered for it. Each tenant's check is a
        subtransaction of its own. -#}
    {%- set placeholder = tenant_placeholder() -%}
    {%- set check_sql = record_unchanged_tenant_sql(
        placeholder, tenant_overrides_sql(overrides_relation_sql, placeholder), watermarks_relation, runs_relation, '$1'
    ) -%}
do $product_images_unchanged$
declare
    v_started_at timestamptz;
    v_tenant_schema text;
    v_check constant text := $product_images_check${{ check_sql }}$product_images_check$;
begin
    perform pg_catalog.set_config('lock_timeout', {{ quote_literal(lock_settings().lock_timeout) }}, true);
    foreach v_tenant_schema in array array[
        {%- for tenant_schema in plain_schemas %}{{ quote_literal(tenant_schema) }}{{ ", " if not loop.last }}{% endfor -%}
    ]::text[] loop
        v_started_at := clock_timestamp();
        begin
            execute replace(v_check, {{ quote_literal(placeholder) }}, v_tenant_schema) using v_started_at;
        exception when others then
            null;  -- not known to be unchanged: its sync step runs and reports
        end;
    end loop;
    {%- for tenant_schema in other_schemas %}
    v_started_at := clock_timestamp();
    begin
        {{ record_unchanged_tenant_sql(
            tenant_schema, tenant_overrides_sql(overrides_relation_sql, tenant_schema), watermarks_relation, runs_relation, 'v_started_at'
        ) }};
    exception when others then
        null;
    end;
    {%- endfor %}
end
$product_images_unchanged$
{%- endmacro %}


{% macro unchanged_tenants(tenants, runs_relation, overrides_relation_sql) %}
    {#- The tenants (schema names) whose sync step this run need not send: each
        candidate (migrated, tables up to date, constraints valid) is checked
        against its watermark, var('unchanged_check_tenants') tenants (default
        20) per transaction; an unchanged one gets its run-log row (`success`,
        mode `unchanged`) in the same transaction. A tenant whose check fails
        (a lock wait over lock_timeout, a table dropped meanwhile) is synced as
        usual. -#}
    {%- set watermarks = product_images_watermarks_relation() -%}
    {%- if not var('skip_unchanged_tenants', true) -%}
        {{ log("product_images: var skip_unchanged_tenants is false: every tenant is synced in full", info=True) }}
        {{ return([]) }}
    {%- endif -%}
    {%- set candidates = [] -%}
    {%- for tenant in tenants -%}
        {%- if tenant.has_images_column and tenant.has_product_images and tenant.has_valid_constraints and not tenant.has_outdated_schema -%}
            {%- do candidates.append(tenant.schema) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set batch_size = var('unchanged_check_tenants', 20) -%}
    {%- if batch_size is not number or batch_size != batch_size | int or batch_size < 1 -%}
        {{ exceptions.raise_compiler_error("var unchanged_check_tenants must be a positive integer, got " ~ batch_size) }}
    {%- endif -%}
    {%- set unchanged = [] -%}
    {%- for batch in candidates | batch(batch_size | int) -%}
        {%- set plain_schemas = [] -%}
        {%- set other_schemas = [] -%}
        {%- for tenant_schema in batch -%}
            {%- do (plain_schemas if tenant_schema_is_plain(tenant_schema) else other_schemas).append(tenant_schema) -%}
        {%- endfor -%}
        {#- Committed in the same round trip (`commit; begin`; dbt commits the last, empty one). -#}
        {% do adapter.execute(
            unchanged_check_block(plain_schemas, other_schemas, runs_relation, overrides_relation_sql, watermarks)
            ~ ';\ncommit;\nbegin', auto_begin=True
        ) %}
    {%- endfor -%}
    {%- if candidates -%}
        {% do adapter.commit() %}
        {%- set found = run_query(
            "select tenant_schema from " ~ runs_relation ~ " where invocation_id = " ~ quote_literal(invocation_id)
            ~ " and mode = 'unchanged'"
        ) -%}
        {%- do unchanged.extend(found.columns[0].values()) -%}
    {%- endif -%}
    {{ return(unchanged) }}
{% endmacro %}
