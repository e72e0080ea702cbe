{% materialization recorded_view, adapter='postgres' %}
    {#-
        dbt's view materialization, skipped when the view is already what it would
        make: it exists as a view, this is no --full-refresh, and the record kept by
        record_view_definition (the md5 of the SQL it was created with and of the
        definition PostgreSQL stored for it then) still holds. A view changed or
        dropped by anyone else since, or a model whose SQL changed, is made again.
        Hooks, grants and persisted docs run either way.
    -#}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set view_sql = get_create_view_as_sql(target_relation, sql) -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set records_relation = load_cached_relation(product_images_union_views_relation()) -%}
    {%- if existing_relation is none or not existing_relation.is_view or records_relation is none
        or should_full_refresh() or not recorded_view_is_current(target_relation, view_sql) -%}
        {%- set result = materialization_view_default() -%}
        {% do adapter.execute(create_product_images_union_views_table(product_images_union_views_relation()), auto_begin=True) %}
        {% do adapter.execute(record_view_definition(target_relation, view_sql), auto_begin=True) %}
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
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


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
