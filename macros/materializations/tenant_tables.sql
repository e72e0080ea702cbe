{% materialization tenant_tables, adapter='postgres' %}
    {#-
        Writes the model into a physical table inside EVERY tenant schema, one
        transaction per tenant, and makes {{ this }} a view over all of them.
        See macros/materializations/_macros.yml.
    -#}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set rejects_view = api.Relation.create(
        database=this.database, schema=this.schema, identifier=this.identifier ~ '_rejects', type='view'
    ) -%}
    {%- set runs_relation = product_images_runs_relation() -%}
    {%- set overrides_relation = ref('label_overrides') -%}
    {%- set full_refresh = should_full_refresh() -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if load_relation(overrides_relation) is none -%}
        {{ exceptions.raise_compiler_error(
            "The seed label_overrides (" ~ overrides_relation ~ ") does not exist: run `dbt seed` before `dbt run --select product_images`."
        ) }}
    {%- endif -%}
    {%- set duplicate_overrides = run_query(
        "select tenant_schema, product_id, url, count(*) as copies from " ~ overrides_relation
        ~ " group by 1, 2, 3 having count(*) > 1 order by 1, 2, 3 limit 5"
    ) -%}
    {%- if duplicate_overrides | length > 0 -%}
        {%- set first = duplicate_overrides[0] -%}
        {{ exceptions.raise_compiler_error(
            "The seed label_overrides has " ~ duplicate_overrides | length ~ "+ duplicated (tenant_schema, product_id, url), e.g. ("
            ~ first['tenant_schema'] ~ ", " ~ first['product_id'] ~ ", " ~ first['url'] ~ ") " ~ first['copies']
            ~ " times: keep one row per image."
        ) }}
    {%- endif -%}

    {%- set tenants = discover_tenants() -%}
    {%- set migratable = migratable_tenants(tenants) -%}

    {%- if full_refresh and not var('allow_full_refresh', false) -%}
        {{ exceptions.raise_compiler_error(
            "Refusing --full-refresh: it would drop product_images, product_images_rejects and product_images_sync in "
            ~ (migratable | selectattr('has_product_images') | list | length) ~ " tenant schema(s), "
            ~ "with the labels people set (label_source 'app' or 'override'), the probed metadata and any image the app added. "
            ~ "Nothing was changed. To do it anyway: dbt run --select product_images --full-refresh --vars '{allow_full_refresh: true}'"
        ) }}
    {%- endif -%}

    {% do adapter.execute(create_product_images_runs_table(runs_relation), auto_begin=True) %}
    {%- if full_refresh %}
        {#- The union views depend on every tenant's tables: out of the way first. -#}
        {% do adapter.execute("drop view if exists " ~ target_relation ~ ", " ~ rejects_view, auto_begin=True) %}
    {%- endif %}
    {% do adapter.commit() %}

    {%- for tenant in tenants if not tenant.has_images_column -%}
        {{ log("product_images: skipping " ~ tenant.schema ~ ": "
            ~ ("products has no images column (already cleaned up); its product_images is left untouched"
               if tenant.has_products else "it has no products table")
            , info=True) }}
    {%- endfor -%}

    {#- Every tenant gets its block: it re-checks the legacy column under the
        tenant's lock and records a skip in the run log. -#}
    {#- Rendered once for a placeholder tenant, then specialised per tenant by
        replacing the placeholder's quoted identifier and literal: rendering the
        block in Jinja for each tenant cost about 50 ms a tenant. A schema name
        that is not a plain identifier is rendered on its own, to quote it right. -#}
    {%- set placeholder = '__tenant_schema__' -%}
    {%- set sync_template = tenant_sync_sql(placeholder, sql, runs_relation, overrides_relation, full_refresh=full_refresh) -%}
    {%- for tenant in tenants -%}
        {%- if modules.re.match('^[A-Za-z_][A-Za-z0-9_$]*$', tenant.schema) -%}
            {%- set tenant_block = sync_template
                | replace(quote_identifier(placeholder), quote_identifier(tenant.schema))
                | replace(quote_literal(placeholder), quote_literal(tenant.schema)) -%}
        {%- else -%}
            {%- set tenant_block = tenant_sync_sql(
                tenant.schema, sql | replace(tenant_schema_literal(), quote_literal(tenant.schema)),
                runs_relation, overrides_relation, full_refresh=full_refresh
            ) -%}
        {%- endif -%}
        {% do adapter.execute(tenant_block, auto_begin=True) %}
        {% do adapter.commit() %}
    {%- endfor -%}

    {#- The union views cover every tenant that has the tables now. -#}
    {%- set tenants_with_tables = tenants_with_union_tables(discover_tenants() | selectattr('has_product_images') | map(attribute='schema') | list) -%}
    {%- set existing_relation = load_cached_relation(target_relation) -%}
    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {% call statement('main') -%}
        {{ tenant_union_view_sql(target_relation, tenants_with_tables, 'product_images', product_images_columns()) }};
        {{ tenant_union_view_sql(rejects_view, tenants_with_tables, 'product_images_rejects', product_images_rejects_columns()) }}
    {%- endcall %}
    {% do persist_docs(target_relation, model) %}
    {% do apply_grants(target_relation, config.get('grants'), should_revoke=True) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {%- set results = run_query(
        "select tenant_schema, status, mode, products_changed, images_inserted, images_updated, images_total, rejects_total, labels_total, "
        ~ "round(extract(epoch from finished_at - started_at)::numeric, 3) as seconds, error_sqlstate, message from "
        ~ runs_relation ~ " where invocation_id = " ~ quote_literal(invocation_id) ~ " order by tenant_schema collate \"C\""
    ) -%}
    {%- set failures = [] -%}
    {%- for row in results -%}
        {%- if row['status'] == 'error' -%}
            {%- do failures.append(row['tenant_schema'] ~ " (" ~ row['error_sqlstate'] ~ ": " ~ row['message'] ~ ")") -%}
            {{ log("product_images: " ~ row['tenant_schema'] ~ " FAILED and was rolled back: " ~ row['error_sqlstate'] ~ " " ~ row['message'], info=True) }}
        {%- elif row['status'] == 'success' -%}
            {{ log("product_images: " ~ row['tenant_schema'] ~ " " ~ row['mode'] ~ ": "
                ~ row['images_inserted'] ~ " inserted, " ~ row['images_updated'] ~ " updated, "
                ~ row['images_total'] ~ " images, " ~ row['rejects_total'] ~ " rejects, " ~ row['labels_total'] ~ " labels in "
                ~ row['seconds'] ~ " s", info=True) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if failures -%}
        {{ exceptions.raise_compiler_error(
            "product_images failed in " ~ failures | length ~ " of " ~ migratable | length ~ " tenant(s); each was rolled back, the others are committed. "
            ~ "Fix and rerun: the rerun resumes. Failed: " ~ failures | join("; ")
        ) }}
    {%- endif -%}

    {%- set written_relations = [target_relation, rejects_view] -%}
    {%- for tenant_schema in tenants_with_tables -%}
        {%- for identifier in ['product_images', 'product_images_rejects', 'product_images_sync'] -%}
            {%- do written_relations.append(api.Relation.create(
                database=this.database, schema=tenant_schema, identifier=identifier, type='table'
            )) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return({'relations': written_relations}) }}
{% endmaterialization %}


{% macro tenant_union_view_sql(view_relation, tenant_schemas, identifier, columns) -%}
    create or replace view {{ view_relation }} as
    {%- for tenant_schema in tenant_schemas %}
    select
        {{ quote_literal(tenant_schema) }}::text as tenant_schema,
        {%- for column in columns %}
        {{ quote_identifier(column.name) }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ tenant_relation(tenant_schema, identifier) }}
    {{ "union all" if not loop.last }}
    {%- else %}
    select
        null::text as tenant_schema,
        {%- for column in columns %}
        null::{{ column.data_type }} as {{ quote_identifier(column.name) }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
    {%- endfor %}
{%- endmacro %}


{% macro tenants_with_union_tables(tenant_schemas) %}
    {#- The tenants whose product_images and product_images_rejects have every
        column the union views select, with the same types; logs the others. -#}
    {%- if not tenant_schemas -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set expected = {'product_images': product_images_columns(), 'product_images_rejects': product_images_rejects_columns()} -%}
    {%- set check_sql -%}
        with expected_columns (table_name, column_name, data_type) as (
            values
            {%- for table_name, columns in expected.items() %}
            {%- set outer_loop = loop %}
            {%- for column in columns %}
            ({{ quote_literal(table_name) }}, {{ quote_literal(column.name) }}, {{ quote_literal(column.data_type) }}){{ "," if not (loop.last and outer_loop.last) }}
            {%- endfor %}
            {%- endfor %}
        ),
        tenant_schemas (tenant_schema) as (
            values
            {%- for tenant_schema in tenant_schemas %}
            ({{ quote_literal(tenant_schema) }}){{ "," if not loop.last }}
            {%- endfor %}
        )
        select tenant_schemas.tenant_schema
        from tenant_schemas
        where not exists (
            select 1
            from expected_columns
            where not exists (
                select 1
                from pg_catalog.pg_attribute as attributes
                where
                    attributes.attrelid = to_regclass(
                        quote_ident(tenant_schemas.tenant_schema) || '.' || quote_ident(expected_columns.table_name)
                    )
                    and attributes.attname = expected_columns.column_name
                    and not attributes.attisdropped
                    and pg_catalog.format_type(attributes.atttypid, attributes.atttypmod) = expected_columns.data_type
            )
        )
        order by tenant_schemas.tenant_schema collate "C"
    {%- endset -%}
    {%- set compatible = run_query(check_sql).columns[0].values() | list -%}
    {%- for tenant_schema in tenant_schemas if tenant_schema not in compatible -%}
        {{ log("product_images: " ~ tenant_schema ~ " has a product_images or product_images_rejects table this project did not make "
            ~ "(missing columns or other types): it is left out of the union views", info=True) }}
    {%- endfor -%}
    {{ return(compatible) }}
{% endmacro %}
