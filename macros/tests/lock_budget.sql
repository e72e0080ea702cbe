{#- dbt test at thousands of tenants: a test over the union views plans every
    tenant's tables and their indexes in one statement, and PostgreSQL holds a
    lock on each until the statement's transaction ends. When that is more than
    the server's shared lock table holds, the query fails with "out of shared
    memory" and a hint that names no number. This check makes such a test fail
    at once, saying how far to raise max_locks_per_transaction. See macros/tests/_macros.yml. -#}

{% macro postgres__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {%- if execute and '/*tenants*/' in main_sql -%}
        {{ tenant_batched_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
    {%- else -%}
        {%- do assert_test_lock_budget(main_sql) -%}
        {{ dbt.default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
    {%- endif -%}
{%- endmacro %}


{% macro test_lock_budget(main_sql) %}
    {#- Returns {'tenants', 'needed', 'capacity', 'in_use', 'per_backend', 'max_locks', 'minimum'}
        for a test's SQL, or none when it reads no tenant table. -#}
    {%- set union_views = {} -%}
    {%- for identifier in ['product_images', 'product_images_rejects'] -%}
        {%- set view = api.Relation.create(database=target.database, schema=target.schema, identifier=identifier) -%}
        {%- do union_views.update({identifier: (view | string) in main_sql}) -%}
    {%- endfor -%}
    {%- set named_tables = [] -%}
    {%- for schema, table in modules.re.findall('"((?:[^"]|"")+)"\\."(products|product_images|product_images_rejects)"', main_sql) -%}
        {%- do named_tables.append(schema | replace('""', '"') ~ '.' ~ table) -%}
    {%- endfor -%}
    {%- set named_tables = named_tables | unique | list -%}
    {%- if not (union_views.values() | select | list) and not named_tables -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set view_tenants = discover_tenants() | selectattr('has_product_images') | map(attribute='schema') | list -%}
    {%- set budget_sql -%}
        with

        view_tenants (tenant_schema) as (
            select unnest(array[{%- for tenant in view_tenants %}{{ quote_literal(tenant) }}{{ "," if not loop.last }}{%- endfor %}]::text[])
        ),

        named_tables (schema_and_table) as (
            select unnest(array[{%- for name in named_tables %}{{ quote_literal(name) }}{{ "," if not loop.last }}{%- endfor %}]::text[])
        ),

        read_tables as (
            select classes.oid, namespaces.nspname
            from pg_catalog.pg_class as classes
            inner join pg_catalog.pg_namespace as namespaces on classes.relnamespace = namespaces.oid
            where
                classes.relkind in ('r', 'p')
                and (
                    (
                        classes.relname in (
                            {%- for identifier, used in union_views.items() if used %}
                            {{ quote_literal(identifier) }}{{ "," if not loop.last }}
                            {%- else %}
                            null
                            {%- endfor %}
                        )
                        and namespaces.nspname in (select tenant_schema from view_tenants)
                    )
                    or (
                        namespaces.nspname || '.' || classes.relname in (select schema_and_table from named_tables)
                    )
                )
        )

        select
            (select count(distinct nspname) from read_tables) as tenants,
            (select count(*) from read_tables)
            + (select count(*) from pg_catalog.pg_index where indrelid in (select oid from read_tables)) as needed,
            current_setting('max_locks_per_transaction')::integer as max_locks,
            current_setting('max_connections')::integer
            + current_setting('autovacuum_max_workers')::integer + 1
            + current_setting('max_worker_processes')::integer
            + current_setting('max_wal_senders')::integer
            + current_setting('max_prepared_transactions')::integer as per_backend,
            (select count(*) from pg_catalog.pg_locks where not fastpath) as in_use
    {%- endset -%}
    {%- set row = run_query(budget_sql)[0] -%}
    {%- set capacity = row['max_locks'] * row['per_backend'] -%}
    {#- The setting that leaves 20% of the table to the rest of the server. -#}
    {%- set wanted = ((row['needed'] + row['in_use']) * 1.25 / row['per_backend']) | round(0, 'ceil') | int -%}
    {{ return({
        'tenants': row['tenants'], 'needed': row['needed'], 'capacity': capacity, 'in_use': row['in_use'],
        'per_backend': row['per_backend'], 'max_locks': row['max_locks'], 'minimum': [wanted, 64] | max,
    }) }}
{% endmacro %}


{% macro assert_test_lock_budget(main_sql) %}
    {#- Below the lock table's guaranteed size, nothing to do. Above it the table
        may still fit in spare shared memory: the test's query is planned once
        (EXPLAIN takes every lock the query will, and keeps them for it); when
        that runs out of shared memory, the test fails at once with the message. -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set budget = test_lock_budget(main_sql) -%}
    {%- if budget is none or budget.needed + budget.in_use <= budget.capacity -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set message = "This test reads the tables of " ~ budget.tenants ~ " tenant(s) in one statement and needs about "
        ~ budget.needed ~ " lock-table slots (one per table and index it plans, held until the statement ends); "
        ~ "with the " ~ budget.in_use ~ " already in use, that is more than the server's shared lock table holds ("
        ~ budget.capacity ~ " = max_locks_per_transaction " ~ budget.max_locks ~ " x " ~ budget.per_backend
        ~ " backend slots, and the spare shared memory is used up), so PostgreSQL fails it with 'out of shared memory'. "
        ~ "Set max_locks_per_transaction to at least " ~ budget.minimum ~ " for this number of tenants "
        ~ "(postgresql.conf or ALTER SYSTEM, then restart PostgreSQL) and run dbt test again. "
        ~ "The migration itself and the Great Expectations checkpoint work one tenant at a time and need no change." -%}
    {%- set probe -%}
        do $product_images_lock_budget$
        begin
            execute $product_images_explain$explain {{ main_sql }}$product_images_explain$;
        exception when out_of_memory then
            raise exception using errcode = '53200', message = {{ quote_literal(message) }};
        end
        $product_images_lock_budget$
    {%- endset -%}
    {%- do run_query(probe) -%}
{% endmacro %}
