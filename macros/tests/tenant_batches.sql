{#- dbt test at thousands of tenants on a default server. A test over every
    tenant's tables in one statement locks each table and index it plans until
    the statement ends: at 2,000 tenants that is more than a default lock table
    (max_locks_per_transaction 64) holds. So this project's tests name the
    tenants' tables in blocks, one part per tenant (tenant_block, tenant_union),
    and get_test_sql runs them in batches of tenants, one transaction each, as
    many tenants a batch as keep it within max_locks_per_transaction, sums the
    failures and names the failing tenants. See macros/tests/_macros.yml. -#}

{% macro tenant_block(tenants, empty_sql) -%}
    {#- A union over tenants that get_test_sql can run in batches: empty_sql (the
        columns, no rows), then caller(tenant_schema) for each tenant, each part
        marked with its tenant. -#}
/*tenants*/ {{ empty_sql }}
    {%- for tenant_schema in tenants %}
/*tenant {{ tenant_schema }}*/ union all {{ caller(tenant_schema) }}
    {%- endfor %}
/*end tenants*/
{%- endmacro %}


{% macro tenant_union(model, alias) -%}
    {#- A from item "<relation> as alias" for a test's model. For the union views
        (product_images, product_images_rejects) the same rows as a subquery of
        tenant parts (tenant_block) that get_test_sql runs in batches, also inside
        the subquery dbt makes of a test with a `where` config; any other relation
        as it is. -#}
    {%- set columns_of = {'product_images': product_images_columns, 'product_images_rejects': product_images_rejects_columns} -%}
    {%- if model.identifier is defined -%}
        {%- if model.schema == target.schema and model.identifier in columns_of -%}
            {{ return('(' ~ tenant_union_block(model.identifier, columns_of[model.identifier]()) ~ ') as ' ~ alias) }}
        {%- endif -%}
        {%- if model.schema == target.schema and model.identifier == 'label_review_queue' -%}
            {#- The queue's own SQL over the tenants' tables: batched like the union views. -#}
            {%- set images_from = '(' ~ tenant_union_block('product_images', product_images_columns()) ~ ') as union_images' -%}
            {{ return('(' ~ label_review_queue_sql(images_from) ~ ') as ' ~ alias) }}
        {%- endif -%}
        {{ return(model ~ ' as ' ~ alias) }}
    {%- endif -%}
    {%- set wrapped = model | string -%}
    {%- for identifier, columns in columns_of.items() -%}
        {%- set view = api.Relation.create(database=target.database, schema=target.schema, identifier=identifier) | string -%}
        {%- if view in wrapped -%}
            {%- set wrapped = wrapped.replace(view, '(' ~ tenant_union_block(identifier, columns()) ~ ') as tenant_rows') -%}
            {{ return(modules.re.sub('\\)\\s*dbt_subquery\\s*$', ') as ' ~ alias, wrapped)) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(modules.re.sub('\\)\\s*dbt_subquery\\s*$', ') as ' ~ alias, wrapped)) }}
{%- endmacro %}


{% macro tenant_union_block(identifier, columns) -%}
    {#- The union view's rows as a tenant_block over the tenants it covers. -#}
    {%- set tenants = tenants_with_union_tables(discover_tenants() | selectattr('has_product_images') | map(attribute='schema') | list) -%}
    {%- set empty_sql -%}
        select null::text as tenant_schema
        {%- for column in columns %}, null::{{ column.data_type }} as {{ quote_identifier(column.name) }}{% endfor %}
        where false
    {%- endset -%}
    {%- call(tenant_schema) tenant_block(tenants, empty_sql) -%}
    select {{ quote_literal(tenant_schema) }}::text as tenant_schema
    {%- for column in columns %}, {{ quote_identifier(column.name) }}{% endfor %}
    from {{ tenant_relation(tenant_schema, identifier) }}
    {%- endcall -%}
{%- endmacro %}


{% macro tenant_blocks_parsed(main_sql) %}
    {#- main_sql cut once into pieces: text, or a tenant block {head, parts: {tenant: part}}. -#}
    {%- set pieces = [] -%}
    {%- for piece in modules.re.split('(?s)(/\\*tenants\\*/.*?/\\*end tenants\\*/)', main_sql) -%}
        {%- if piece.startswith('/*tenants*/') -%}
            {%- set cut = modules.re.split('/\\*tenant ([^*]*)\\*/', piece[11:-15]) -%}
            {%- set parts = {} -%}
            {%- for index in range(1, cut | length, 2) -%}
                {%- do parts.update({cut[index]: cut[index + 1]}) -%}
            {%- endfor -%}
            {%- do pieces.append({'head': cut[0], 'parts': parts}) -%}
        {%- else -%}
            {%- do pieces.append(piece) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(pieces) }}
{% endmacro %}


{% macro tenant_batch_sql(pieces, tenants) %}
    {#- The test's SQL (tenant_blocks_parsed) with each tenant block cut down to the parts of tenants (a list). -#}
    {%- set kept = [] -%}
    {%- for piece in pieces -%}
        {%- if piece is mapping -%}
            {%- do kept.append(piece.head) -%}
            {%- for tenant in tenants if tenant in piece.parts -%}
                {%- do kept.append(piece.parts[tenant]) -%}
            {%- endfor -%}
        {%- else -%}
            {%- do kept.append(piece) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(kept | join('\n')) }}
{% endmacro %}


{% macro tenant_batched_test_sql(main_sql, fail_calc, warn_if, error_if, limit) %}
    {#- Runs a test whose SQL has tenant blocks in batches, each its own
        transaction: a first batch of one tenant measures the locks a tenant takes,
        then batches as large as keep a transaction within
        var test_locks_per_transaction (default: the server's
        max_locks_per_transaction). Logs the failing tenants (each failing batch
        is run again tenant by tenant). Returns the SQL of dbt's result row
        (failures, should_warn, should_error) over the total. -#}
    {%- set pieces = tenant_blocks_parsed(main_sql) -%}
    {%- set tenants = [] -%}
    {%- set seen = {} -%}
    {%- for piece in pieces if piece is mapping -%}
        {%- for tenant in piece.parts if tenant not in seen -%}
            {%- do tenants.append(tenant) -%}
            {%- do seen.update({tenant: true}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set budget = var('test_locks_per_transaction', none) -%}
    {%- if budget is none -%}
        {%- set budget = adapter.execute("select current_setting('max_locks_per_transaction')::integer", fetch=True)[1].rows[0][0] -%}
    {%- endif -%}
    {#- No tenant first: the locks any statement of this test takes (the catalog's). -#}
    {%- set baseline = tenant_batch_failures(tenant_batch_sql(pieces, []), fail_calc, limit) -%}
    {%- set state = {'failures': baseline.failures, 'per_tenant': none, 'most': baseline.locks, 'batches': 1, 'failed': [], 'next': 0} -%}
    {%- for _ in range(tenants | length) if state.next < tenants | length -%}
        {%- set size = 1 if state.per_tenant is none else [1, ((budget - baseline.locks) / state.per_tenant) | int] | max -%}
        {%- set batch = tenants[state.next:state.next + size] -%}
        {%- set counted = tenant_batch_failures(tenant_batch_sql(pieces, batch), fail_calc, limit) -%}
        {%- do state.update({
            'failures': state.failures + counted.failures, 'batches': state.batches + 1, 'next': state.next + batch | length,
            'most': [state.most, counted.locks] | max,
            'per_tenant': state.per_tenant if state.per_tenant is not none else [1, counted.locks - baseline.locks] | max,
        }) -%}
        {%- if counted.failures and batch | length > 1 -%}
            {%- for tenant in batch if tenant_batch_failures(tenant_batch_sql(pieces, [tenant]), fail_calc, limit).failures -%}
                {%- do state.failed.append(tenant) -%}
            {%- endfor -%}
        {%- elif counted.failures -%}
            {%- do state.failed.extend(batch) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ log("product_images: " ~ model.name ~ ": " ~ tenants | length ~ " tenant(s) in " ~ state.batches
        ~ " transaction(s), at most " ~ state.most ~ " locks each (" ~ (state.per_tenant or 0) ~ " a tenant, "
        ~ baseline.locks ~ " for the catalog; max_locks_per_transaction " ~ budget
        ~ "); one statement over every tenant would need " ~ ((state.per_tenant or 0) * (tenants | length) + baseline.locks),
        info=True) }}
    {%- if state.failed -%}
        {{ log("product_images: " ~ model.name ~ " fails in " ~ state.failed | length ~ " tenant(s): "
            ~ state.failed[:20] | join(", ") ~ (", …" if state.failed | length > 20 else ""), info=True) }}
    {%- endif -%}
    {{ return("select " ~ state.failures ~ " as failures, " ~ state.failures ~ " " ~ warn_if ~ " as should_warn, "
        ~ state.failures ~ " " ~ error_if ~ " as should_error") }}
{% endmacro %}


{% macro tenant_batch_failures(batch_sql, fail_calc, limit) %}
    {#- One batch in a transaction of its own: {failures, locks}, the relation
        locks the statement holds (taken when it is planned, before it runs). -#}
    {% do adapter.execute("select 1", auto_begin=True) %}
    {% do adapter.commit() %}
    {%- set row = adapter.execute(
        "select (select coalesce(" ~ fail_calc ~ ", 0) from (" ~ batch_sql ~ ") as dbt_internal_test), "
        ~ "(select count(*) from pg_catalog.pg_locks where pid = pg_catalog.pg_backend_pid() and locktype = 'relation')",
        auto_begin=True, fetch=True
    )[1].rows[0] -%}
    {% do adapter.commit() %}
    {{ return({'failures': row[0] | int, 'locks': row[1] | int}) }}
{% endmacro %}


{% macro postgres__test_not_null(model, column_name) %}
    {#- dbt's not_null, over tenant_union(model): batched on the union views. -#}
    {%- set column_list = '*' if should_store_failures() else column_name %}
    select {{ column_list }}
    from {{ tenant_union(model, 'tested_rows') }}
    where {{ column_name }} is null
{% endmacro %}


{% macro postgres__test_unique(model, column_name) %}
    {#- dbt's unique, over tenant_union(model): batched on the union views and the
        review queue (a value repeated in two batches of tenants is not seen: the
        tested columns hold the tenant, or are numbered per batch). -#}
    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ tenant_union(model, 'tested_rows') }}
    where {{ column_name }} is not null
    group by {{ column_name }}
    having count(*) > 1
{% endmacro %}


{% macro postgres__test_accepted_values(model, column_name, values, quote=True) %}
    {#- dbt's accepted_values, over tenant_union(model): batched on the union views. -#}
    with all_values as (
        select
            {{ column_name }} as value_field,
            count(*) as n_records
        from {{ tenant_union(model, 'tested_rows') }}
        group by {{ column_name }}
    )

    select *
    from all_values
    where value_field not in (
        {%- for value in values -%}
            {%- if quote -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}{{ ", " if not loop.last }}
        {%- endfor -%}
    )
{% endmacro %}
