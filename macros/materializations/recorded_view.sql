{% materialization recorded_view, adapter='postgres' %}
    {#-
        dbt's view materialization, skipped when the view is already what it would
        make: it exists as a view, this is no --full-refresh, and the record kept by
        record_view_definition (the md5 of the SQL it was created with and of the
        definition PostgreSQL stored for it then) still holds. A view changed or
        dropped by anyone else since, or a model whose SQL changed, is made again.
        Hooks, grants and persisted docs run either way.
        One process at a time per view (recorded_view_lock_sql, a session advisory
        lock from the check to the record): two dbt runs that both found no view at
        their start would otherwise both rename a new view to its name ("relation
        already exists"). Under the lock the view and the record are read from the
        catalog, not from dbt's cache made at the run's start, and the cache is told.
        On an error dbt closes the node's connection, which releases the lock.
    -#}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set view_sql = get_create_view_as_sql(target_relation, sql) -%}
    {% do adapter.execute(recorded_view_lock_sql('pg_advisory_lock', target_relation), auto_begin=True) %}
    {% do adapter.commit() %}
    {%- set existing_relation = recorded_view_sync_cache(target_relation) -%}
    {%- if existing_relation is none or not existing_relation.is_view or not recorded_view_records_exist()
        or should_full_refresh() or not recorded_view_is_current(target_relation, view_sql) -%}
        {%- set result = materialization_view_default() -%}
        {% do adapter.execute(create_product_images_union_views_table(product_images_union_views_relation()), auto_begin=True) %}
        {% do adapter.execute(record_view_definition(target_relation, view_sql), auto_begin=True) %}
        {% do adapter.commit() %}
        {% do adapter.execute(recorded_view_lock_sql('pg_advisory_unlock', target_relation), auto_begin=True) %}
        {% do adapter.commit() %}
        {{ return(result) }}
    {%- endif -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {% do store_raw_result('main', message='UNCHANGED', code='UNCHANGED', rows_affected=-1) %}
    {% do apply_grants(target_relation, config.get('grants'), should_revoke=True) %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {#- Nothing opened a transaction unless a hook runs inside one. -#}
    {%- if (pre_hooks + post_hooks) | selectattr('transaction') | list -%}
        {% do adapter.commit() %}
    {%- endif -%}
    {% do adapter.execute(recorded_view_lock_sql('pg_advisory_unlock', target_relation), auto_begin=True) %}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro recorded_view_lock_sql(lock_function, view_relation) -%}
    {#- SQL: take or release (pg_advisory_lock, pg_advisory_unlock) the view's session advisory lock. -#}
    select pg_catalog.{{ lock_function }}(hashtextextended({{ quote_literal('product_images:recorded_view:' ~ view_relation) }}, 0))
{%- endmacro %}


{% macro recorded_view_sync_cache(view_relation) %}
    {#- The view's relation as the catalog has it now (none when absent), dbt's cache told of a view
        another process made or dropped since the run started. -#}
    {%- set kind = run_query(
        "select (select classes.relkind from pg_catalog.pg_class as classes where classes.oid = to_regclass("
        ~ quote_literal(view_relation) ~ ")) as relkind"
    ).columns[0].values()[0] -%}
    {%- set cached = load_cached_relation(view_relation) -%}
    {%- if kind == 'v' and cached is none -%}
        {% do adapter.cache_added(view_relation) %}
    {%- elif kind is none and cached is not none -%}
        {% do adapter.cache_dropped(cached) %}
    {%- endif -%}
    {{ return(load_cached_relation(view_relation) if kind is not none else none) }}
{% endmacro %}


{% macro recorded_view_records_exist() %}
    {#- True when product_images_union_views exists now (another process may have made it since the run started). -#}
    {%- set found = run_query(
        "select to_regclass(" ~ quote_literal(product_images_union_views_relation()) ~ ") is not null"
    ) -%}
    {{ return(found.columns[0].values()[0] == true) }}
{% endmacro %}


{% macro view_definition_md5_sql(view_relation, view_sql) -%}
    {#- SQL: md5 of the SQL the view is made with and of its stored definition now. -#}
    md5({{ quote_literal(local_md5(view_sql)) }} || coalesce(pg_catalog.pg_get_viewdef(to_regclass({{ quote_literal(view_relation) }})), ''))
{%- endmacro %}


{% macro record_view_definition(view_relation, view_sql) -%}
    insert into {{ product_images_union_views_relation() }} (view_name, definition_md5, created_at)
    values ({{ quote_literal(view_relation) }}, {{ view_definition_md5_sql(view_relation, view_sql) }}, now())
    on conflict (view_name) do update
    set definition_md5 = excluded.definition_md5, created_at = excluded.created_at
{%- endmacro %}


{% macro recorded_view_is_current(view_relation, view_sql) %}
    {%- set found = run_query(
        "select exists (select 1 from " ~ product_images_union_views_relation() ~ " as recorded where recorded.view_name = "
        ~ quote_literal(view_relation) ~ " and recorded.definition_md5 = " ~ view_definition_md5_sql(view_relation, view_sql) ~ ")"
    ) -%}
    {{ return(found.columns[0].values()[0] == true) }}
{% endmacro %}
