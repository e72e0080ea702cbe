{% macro product_images_operations_relation() %}
    {{ return(project_table_relation('product_images_operations')) }}
{% endmacro %}


{% macro check_boolean_arguments(operation, arguments) %}
    {%- for name, value in arguments.items() -%}
        {%- if value is not sameas true and value is not sameas false -%}
            {{ exceptions.raise_compiler_error(
                operation ~ ": " ~ name ~ " must be true or false; got "
                ~ ("'" ~ value ~ "' (a string)" if value is string else value)
            ) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}


{% macro run_tenant_operations(operation, tenants, phases, dry_run=false, refusal_fails=false, lock_mode='write', lock_target='products', lock_relations=none, phase_kwargs=none, report=true) %}
    {#- Runs each phase macro (phase(tenant_schema, dry_run, **phase_kwargs)) as one plpgsql block per tenant,
        each in its own transaction under the tenant's advisory lock and the lock
        discipline (with_lock_retries: short lock_timeout, bounded retries, the
        blocker named). Each phase is a transaction of its own, a phase running only when the previous one
        ended 'done' (so a strong lock is never held across a long phase). An
        error rolls that tenant's phase back and is recorded. Returns the log
        rows; raises naming the failed tenants (report=false: neither logs nor
        raises, the caller reports). lock_relations: the tables whose lock
        holders are named (default the migration's tables). -#}
    {%- set lock_relations = lock_relations or ['products', 'product_images', 'product_images_rejects', 'products_images_backup'] -%}
    {%- set phase_kwargs = phase_kwargs or {} -%}
    {%- set log_relation = product_images_operations_relation() -%}
    {%- do lock_settings() -%}
    {% do adapter.execute(
        create_schema_if_missing_sql(target.schema) ~ ";
        create table if not exists " ~ log_relation ~ " (
            invocation_id text not null,
            operation text not null,
            tenant_schema text not null,
            status text not null check (status in ('done', 'skipped', 'refused', 'would_do', 'error')),
            message text,
            rows_affected bigint,
            error_sqlstate text,
            started_at timestamptz not null,
            finished_at timestamptz not null,
            primary key (invocation_id, operation, tenant_schema)
        )", auto_begin=True) %}
    {% do adapter.commit() %}
    {%- for tenant_schema in tenants -%}
        {%- for phase in phases -%}
            {%- set block -%}
do $tenant_operation$
declare
    v_started_at timestamptz := clock_timestamp();
    v_status text := 'done';
    v_message text;
    v_rows bigint;
    v_count bigint;
    v_example text;
    v_sqlstate text;
    v_previous text;
begin
    {%- if not loop.first %}
    select status into v_previous from {{ log_relation }}
    where
        invocation_id = {{ quote_literal(invocation_id) }}
        and operation = {{ quote_literal(operation) }}
        and tenant_schema = {{ quote_literal(tenant_schema) }};
    if v_previous is distinct from 'done' then
        return;
    end if;
    {%- endif %}
    begin
        {%- call with_lock_retries(
            quote_literal('a lock on ' ~ tenant_relation(tenant_schema, lock_target) ~ " or the tenant's migration lock (" ~ operation ~ ")"),
            tenant_relations_sql(tenant_schema, lock_relations),
            lock_mode, quote_literal(tenant_schema)
        ) %}
        {{ acquire_tenant_lock(quote_literal(tenant_schema)) }}
        v_status := 'done';
        v_message := null;
        v_rows := null;
        {{ phase(tenant_schema, dry_run, **phase_kwargs) }}
        set constraints all immediate;
        {%- endcall %}
    exception when others then
        get stacked diagnostics v_sqlstate = returned_sqlstate, v_message = message_text;
        v_status := 'error';
    end;
    insert into {{ log_relation }} as operations (
        invocation_id, operation, tenant_schema, status, message, rows_affected, error_sqlstate, started_at, finished_at
    ) values (
        {{ quote_literal(invocation_id) }}, {{ quote_literal(operation) }}, {{ quote_literal(tenant_schema) }},
        v_status, v_message, v_rows, v_sqlstate, v_started_at, clock_timestamp()
    )
    on conflict (invocation_id, operation, tenant_schema) do update
    set
        status = excluded.status,
        message = case
            when excluded.status = 'error' then operations.message || '; then: ' || excluded.message
            else coalesce(excluded.message, operations.message)
        end,
        rows_affected = coalesce(excluded.rows_affected, operations.rows_affected),
        error_sqlstate = excluded.error_sqlstate,
        finished_at = excluded.finished_at;
end
$tenant_operation$
            {%- endset -%}
            {% do adapter.execute(block, auto_begin=True) %}
            {% do adapter.commit() %}
        {%- endfor -%}
    {%- endfor -%}
    {%- set rows = run_query(
        "select tenant_schema, status, message, rows_affected, error_sqlstate from " ~ log_relation
        ~ " where invocation_id = " ~ quote_literal(invocation_id) ~ " and operation = " ~ quote_literal(operation)
        ~ " order by tenant_schema collate \"C\""
    ) -%}
    {%- if not report -%}
        {{ return(rows) }}
    {%- endif -%}
    {%- set failed = [] -%}
    {%- for row in rows -%}
        {{ log(operation ~ ": " ~ row['tenant_schema'] ~ " " ~ row['status']
            ~ (": " ~ row['message'] if row['message'] else "")
            ~ (" (" ~ row['rows_affected'] ~ " products)" if row['rows_affected'] is not none else ""), info=True) }}
        {%- if row['status'] == 'error' or (refusal_fails and row['status'] == 'refused') -%}
            {%- do failed.append(row['tenant_schema'] ~ " (" ~ (row['error_sqlstate'] ~ ": " if row['error_sqlstate'] else "") ~ row['message'] ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if failed -%}
        {{ exceptions.raise_compiler_error(
            operation ~ " failed or refused in " ~ failed | length ~ " of " ~ tenants | length ~ " tenant(s); each was left as it was, the others are done: "
            ~ failed | join("; ")
        ) }}
    {%- endif -%}
    {{ return(rows) }}
{% endmacro %}


{% macro operation_tenants(tenants=none) %}
    {#- The tenants an operation works on: all discovered tenants with a products
        table, or the named ones (each must be a discovered tenant), each once, in
        the order first named (a tenant named twice was done twice: the second
        pass's "skipped" was the only record of the first one's work). -#}
    {%- set discovered = discover_tenants() | selectattr('has_products') | map(attribute='schema') | list -%}
    {%- if tenants is none -%}
        {{ return(discovered) }}
    {%- endif -%}
    {%- if tenants is string -%}
        {%- set tenants = [tenants] -%}
    {%- elif tenants is not iterable or tenants is mapping -%}
        {{ exceptions.raise_compiler_error("tenants must be a schema name or a list of them; got " ~ tenants) }}
    {%- endif -%}
    {%- for tenant_schema in tenants if tenant_schema not in discovered -%}
        {{ exceptions.raise_compiler_error(
            "tenants: " ~ tenant_schema ~ " is not a tenant schema with a products table; tenants: " ~ discovered | join(", ")
        ) }}
    {%- endfor -%}
    {{ return(tenants | unique | list) }}
{% endmacro %}
