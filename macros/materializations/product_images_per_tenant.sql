{% materialization product_images_per_tenant, adapter='postgres' %}
    {#-
        Writes the product_images model into physical tables inside EVERY tenant
        schema, each tenant in transactions of its own, and makes {{ this }} a view
        over all of them. The steps, in order (see _macros.yml):
    -#}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set rejects_view = api.Relation.create(
        database=this.database, schema=this.schema, identifier=this.identifier ~ '_rejects', type='view'
    ) -%}
    {%- set runs_relation = product_images_runs_relation() -%}
    {%- set full_refresh = should_full_refresh() -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {#- 1. Preflight: nothing is changed when one of these refuses. -#}
    {%- set overrides = product_images_preflight_overrides() -%}
    {%- set tenants = tenants_of_shard(discover_tenants()) -%}
    {%- do product_images_preflight_full_refresh(tenants, full_refresh) -%}
    {%- do lock_settings() -%}

    {#- 2. The run log, and the union views out of the way of a full refresh. -#}
    {%- do product_images_prepare_run(runs_relation, [target_relation, rejects_view], full_refresh) -%}

    {#- 3. Every tenant's steps, each a transaction of its own. -#}
    {#- The source stands for every tenant's products: each tenant's step reads its own. -#}
    {%- set model_sql = sql
        | replace(source('legacy', 'products') | string, tenant_source('products'))
        | replace(ref('label_overrides') | string, overrides.relation_sql) -%}
    {#- A tenant whose watermark shows nothing changed is not sent its steps. -#}
    {%- set unchanged = [] if full_refresh else unchanged_tenants(tenants, runs_relation, overrides.relation_sql) -%}
    {%- set tenants_to_run = tenants | rejectattr('schema', 'in', unchanged) | list -%}
    {#- A rerun where every tenant is unchanged renders no block (about 0.1 s). -#}
    {%- if tenants_to_run -%}
        {%- set blocks = render_tenant_blocks(model_sql, runs_relation, overrides.relation_sql, full_refresh) -%}
        {%- do run_tenant_blocks(tenants_to_run, blocks, model_sql, runs_relation, overrides.relation_sql, full_refresh) -%}
    {%- endif -%}

    {#- 4. The union views over every tenant that has the tables now. Shards build
        them one at a time (a session advisory lock), each looking at the tenants
        once it holds the lock: the last one sees every tenant's tables. -#}
    {% do adapter.execute("select pg_catalog.pg_advisory_lock(hashtextextended('product_images:union_views', 0))", auto_begin=True) %}
    {%- set tenants_with_tables = tenants_with_union_tables(
        discover_tenants() | selectattr('has_product_images') | map(attribute='schema') | list
    ) -%}
    {%- do product_images_union_views(target_relation, rejects_view, tenants_with_tables) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {#- A session lock: the union views' part views commit one by one. -#}
    {% do adapter.execute("select pg_catalog.pg_advisory_unlock(hashtextextended('product_images:union_views', 0))", auto_begin=True) %}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {#- 5. The report; a failed tenant fails the node, after the others are committed. -#}
    {%- do product_images_report(runs_relation, migratable_tenants(tenants) | length) -%}

    {#- The tenants' tables this run sent steps to (an unchanged tenant's were not
        written: returning them cost about 0.1 s of relation objects and cache
        events a rerun, and would mark their schemas cached with three tables). -#}
    {%- set written_relations = [target_relation, rejects_view] -%}
    {%- set tenants_run = tenants_to_run | map(attribute='schema') | list -%}
    {%- for tenant_schema in tenants_with_tables if tenant_schema in tenants_run -%}
        {%- for identifier in ['product_images', 'product_images_rejects', 'product_images_sync'] -%}
            {%- do written_relations.append(api.Relation.create(
                database=this.database, schema=tenant_schema, identifier=identifier, type='table'
            )) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return({'relations': written_relations}) }}
{% endmaterialization %}


{% macro product_images_preflight_overrides() %}
    {#- The overrides seed, current and without duplicates, or a refusal. -#}
    {%- set overrides = label_overrides_state() -%}
    {%- if not overrides.empty -%}
        {%- set duplicate_overrides = run_query(
            "select tenant_schema, product_id, url, count(*) as copies from " ~ overrides.relation_sql
            ~ " as overrides group by 1, 2, 3 having count(*) > 1 order by 1, 2, 3 limit 5"
        ) -%}
        {%- if duplicate_overrides | length > 0 -%}
            {%- set first = duplicate_overrides[0] -%}
            {{ exceptions.raise_compiler_error(
                "The seed label_overrides has " ~ duplicate_overrides | length ~ "+ duplicated (tenant_schema, product_id, url), e.g. ("
                ~ first['tenant_schema'] ~ ", " ~ first['product_id'] ~ ", " ~ first['url'] ~ ") " ~ first['copies']
                ~ " times: keep one row per image."
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(overrides) }}
{% endmacro %}


{% macro product_images_preflight_full_refresh(tenants, full_refresh) %}
    {%- if full_refresh and not var('allow_full_refresh', false) -%}
        {{ exceptions.raise_compiler_error(
            "Refusing --full-refresh: it would drop product_images, product_images_rejects and product_images_sync in "
            ~ (migratable_tenants(tenants) | selectattr('has_product_images') | list | length) ~ " tenant schema(s), "
            ~ "with the labels people set (label_source 'app' or 'override'), the probed metadata and any image the app added. "
            ~ "Nothing was changed. To do it anyway: dbt run --select product_images --full-refresh --vars '{allow_full_refresh: true}'"
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro product_images_prepare_run(runs_relation, union_views, full_refresh) %}
    {#- Shards started together would race on `create table if not exists`: one at a time. -#}
    {% do adapter.execute("select pg_catalog.pg_advisory_xact_lock(hashtextextended('product_images:prepare_run', 0))", auto_begin=True) %}
    {% do adapter.execute(create_product_images_runs_table(runs_relation), auto_begin=True) %}
    {% do adapter.execute(create_product_images_watermarks_table(product_images_watermarks_relation()), auto_begin=True) %}
    {% do adapter.execute(create_product_images_union_views_table(product_images_union_views_relation()), auto_begin=True) %}
    {%- if full_refresh %}
        {#- The union views depend on every tenant's tables: out of the way first,
            with the views built on them (label_review_queue: `dbt run` builds it
            again), through the adapter so that dbt's relation cache knows. -#}
        {%- set dependents_sql -%}
            select distinct namespaces.nspname as schema_name, views.relname as view_name
            from pg_catalog.pg_depend as dependencies
            inner join pg_catalog.pg_rewrite as rules on dependencies.objid = rules.oid
            inner join pg_catalog.pg_class as views on rules.ev_class = views.oid
            inner join pg_catalog.pg_namespace as namespaces on views.relnamespace = namespaces.oid
            where
                dependencies.refobjid in (
                    {%- for view in union_views %}
                    to_regclass({{ quote_literal(view) }}){{ "," if not loop.last }}
                    {%- endfor %}
                )
                and views.oid <> dependencies.refobjid
        {%- endset -%}
        {%- for row in run_query(dependents_sql) -%}
            {{ log("product_images: --full-refresh drops " ~ row['schema_name'] ~ "." ~ row['view_name']
                ~ ", a view on the union views; dbt run builds it again", info=True) }}
            {% do adapter.drop_relation(api.Relation.create(
                database=target.database, schema=row['schema_name'], identifier=row['view_name'], type='view'
            )) %}
        {%- endfor -%}
        {%- for view in union_views -%}
            {% do adapter.drop_relation(view) %}
        {%- endfor -%}
    {%- endif %}
    {% do adapter.commit() %}
{% endmacro %}


{% macro render_tenant_blocks(model_sql, runs_relation, overrides_relation_sql, full_refresh) %}
    {#- Every step's DO block, rendered once for the placeholder tenant (rendering
        them in Jinja for each tenant cost about 50 ms a tenant); run_tenant_blocks
        specialises them per tenant. -#}
    {%- set placeholder = tenant_placeholder() -%}
    {{ return(tenant_blocks(placeholder, model_sql, runs_relation, overrides_relation_sql, full_refresh)) }}
{% endmacro %}


{% macro tenant_overrides_sql(overrides_relation_sql, tenant_schema) -%}
    {#- SELECT product_id, url, is_label of one tenant's rows of the overrides seed. -#}
    select product_id, url, is_label
    from {{ overrides_relation_sql }} as overrides
    where tenant_schema = {{ quote_literal(tenant_schema) }}
{%- endmacro %}


{% macro tenant_blocks(tenant_schema, model_sql, runs_relation, overrides_relation_sql, full_refresh) %}
    {%- set overrides_sql = tenant_overrides_sql(overrides_relation_sql, tenant_schema) -%}
    {%- set tenant_model_sql = model_sql | replace(tenant_schema_literal(), quote_literal(tenant_schema)) -%}
    {{ return({
        'unlink': tenant_unlink_block(tenant_schema, runs_relation),
        'schema': tenant_schema_block(tenant_schema, runs_relation),
        'sync': tenant_sync_block(tenant_schema, tenant_model_sql, runs_relation, overrides_sql, full_refresh=full_refresh),
        'constraints': tenant_constraints_block(tenant_schema, runs_relation),
        'validate': tenant_validate_block(tenant_schema, runs_relation),
    }) }}
{% endmacro %}


{% macro run_tenant_blocks(tenants, blocks, model_sql, runs_relation, overrides_relation_sql, full_refresh) %}
    {#- Runs each tenant's steps in the order of tenant_step_names, committing
        after each; a step is sent only when its tenant_needs_<step> says the
        catalog shows work for it (a rerun on an up-to-date tenant is one round
        trip). -#}
    {%- for tenant in tenants if not tenant.has_images_column -%}
        {{ log("product_images: skipping " ~ tenant.schema ~ ": "
            ~ ("products has no images column (already cleaned up); its product_images is left untouched"
               if tenant.has_products else "it has no products table")
            , info=True) }}
    {%- endfor -%}
    {%- set placeholder = tenant_placeholder() -%}
    {%- for tenant in tenants -%}
        {%- if tenant_schema_is_plain(tenant.schema) -%}
            {#- A plain identifier needs no quoting change: the placeholder is replaced as it stands. -#}
            {%- set tenant_steps = {} -%}
            {%- for step, block in blocks.items() -%}
                {%- do tenant_steps.update({step: block | replace(placeholder, tenant.schema)}) -%}
            {%- endfor -%}
        {%- else -%}
            {%- set tenant_steps = tenant_blocks(tenant.schema, model_sql, runs_relation, overrides_relation_sql, full_refresh) -%}
        {%- endif -%}
        {#- Each step is its own statement (pg_stat_activity shows the step that
            runs or waits) and its own transaction, committed in the same round
            trip: `commit; begin` after it, and dbt commits the last, empty one
            after the loop. A separate COMMIT cost dbt about 4 ms of events and
            log lines; an error a step does not catch fails the model as before. -#}
        {%- for step in tenant_steps_needed(tenant, full_refresh) -%}
            {% do adapter.execute(tenant_steps[step] ~ ';\ncommit;\nbegin', auto_begin=True) %}
        {%- endfor -%}
    {%- endfor -%}
    {%- if tenants -%}
        {% do adapter.commit() %}
    {%- endif -%}
{% endmacro %}


{#- A tenant's steps, in the order they run, each with the macro that says whether a
    tenant needs it (tenant_needs_<step>, looked up by name as dbt-adapters looks up an
    incremental strategy's get_incremental_<strategy>_sql). -#}
{% macro tenant_step_names() %}
    {{ return(['unlink', 'schema', 'sync', 'constraints', 'validate']) }}
{% endmacro %}


{% macro tenant_steps_needed(tenant, full_refresh) %}
    {%- set needed = [] -%}
    {%- for step in tenant_step_names() -%}
        {%- if context['tenant_needs_' ~ step](tenant, full_refresh) -%}{%- do needed.append(step) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(needed) }}
{% endmacro %}


{#- A cleaned-up tenant (no legacy column) only ever gets the sync, which skips it. -#}
{% macro tenant_needs_unlink(tenant, full_refresh) %}
    {{ return(tenant.has_images_column and tenant.has_product_images and full_refresh) }}
{% endmacro %}


{% macro tenant_needs_schema(tenant, full_refresh) %}
    {{ return(tenant.has_images_column and tenant.has_product_images and tenant.has_outdated_schema and not full_refresh) }}
{% endmacro %}


{% macro tenant_needs_sync(tenant, full_refresh) %}
    {{ return(true) }}
{% endmacro %}


{% macro tenant_needs_constraints(tenant, full_refresh) %}
    {{ return(tenant.has_images_column and (
        full_refresh or not tenant.has_product_images or not tenant.has_valid_constraints or tenant.has_outdated_schema
    )) }}
{% endmacro %}


{% macro tenant_needs_validate(tenant, full_refresh) %}
    {{ return(tenant_needs_constraints(tenant, full_refresh)) }}
{% endmacro %}


{% macro product_images_union_views(target_relation, rejects_view, tenants_with_tables) %}
    {#- The union views. Over more than var union_view_part_tenants tenants
        (default 1,000) each is a union of part views of that many tenants, every
        part created in a transaction of its own: creating one view locks every
        table it names until its transaction ends, and 2 x 10,000 tables are more
        than a default server's lock table holds. Part views left from a larger
        tenant count are dropped. -#}
    {%- set existing_relation = load_cached_relation(target_relation) -%}
    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {%- set part_size = var('union_view_part_tenants', 1000) | int -%}
    {%- set views = [
        (target_relation, 'product_images', product_images_columns()),
        (rejects_view, 'product_images_rejects', product_images_rejects_columns()),
    ] -%}
    {%- set parts = (tenants_with_tables | batch(part_size) | list) if tenants_with_tables | length > part_size else [] -%}
    {#- A view already over exactly these tables, with these columns, is left as it
        is: a rerun where no tenant came or went rebuilds nothing. -#}
    {%- set stale = [] -%}
    {%- for view, identifier, columns in views -%}
        {%- set part_views = [] -%}
        {%- for part in parts -%}
            {%- set part_view = api.Relation.create(
                database=view.database, schema=view.schema, identifier=view.identifier ~ '__part_' ~ loop.index, type='view'
            ) -%}
            {%- do part_views.append(part_view) -%}
            {%- set part_tables = [] -%}
            {%- for tenant_schema in part -%}
                {%- do part_tables.append(tenant_relation(tenant_schema, identifier)) -%}
            {%- endfor -%}
            {%- set part_sql = tenant_union_view_sql(part_view, part, identifier, columns) -%}
            {%- if not union_view_is_current(part_view, part_tables, columns, part_sql) -%}
                {% do adapter.execute(part_sql ~ ';\n' ~ record_union_view_sql(part_view, part_sql), auto_begin=True) %}
                {% do adapter.commit() %}
            {%- endif -%}
        {%- endfor -%}
        {%- set sources = [] -%}
        {%- if parts -%}
            {%- for part_view in part_views -%}
                {%- do sources.append(part_view | string) -%}
            {%- endfor -%}
        {%- else -%}
            {%- for tenant_schema in tenants_with_tables -%}
                {%- do sources.append(tenant_relation(tenant_schema, identifier)) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if parts -%}
            {%- set view_sql -%}
        create or replace view {{ view }} as
        {%- for part_view in part_views %}
        select * from {{ part_view }}
        {{ "union all" if not loop.last }}
        {%- endfor %}
            {%- endset -%}
        {%- else -%}
            {%- set view_sql = tenant_union_view_sql(view, tenants_with_tables, identifier, columns) -%}
        {%- endif -%}
        {%- if not union_view_is_current(view, sources, columns, view_sql) -%}
            {%- do stale.append((view, view_sql)) -%}
        {%- endif -%}
    {%- endfor -%}
    {% call statement('main') -%}
        {%- for view, view_sql in stale %}
        {{ view_sql }};
        {{ record_union_view_sql(view, view_sql) }};
        {%- endfor %}
        {#- Part views beyond the ones used now. -#}
        do $product_images_parts$
        declare
            v_view text;
        begin
            for v_view in
                select format('%I.%I', namespaces.nspname, classes.relname)
                from pg_catalog.pg_class as classes
                inner join pg_catalog.pg_namespace as namespaces on classes.relnamespace = namespaces.oid
                where
                    namespaces.nspname = {{ quote_literal(target_relation.schema) }}
                    and classes.relkind = 'v'
                    and classes.relname ~ {{ quote_literal('^(' ~ target_relation.identifier ~ '|' ~ rejects_view.identifier ~ ')__part_[0-9]+$') }}
                    and substring(classes.relname from '__part_([0-9]+)$')::integer > {{ parts | length }}
            loop
                execute 'drop view ' || v_view;
            end loop;
        end
        $product_images_parts$
    {%- endcall %}
    {% do persist_docs(target_relation, model) %}
    {% do apply_grants(target_relation, config.get('grants'), should_revoke=True) %}
{% endmacro %}


{% macro product_images_report(runs_relation, migratable_count) %}
    {%- set results = run_query(
        "select tenant_schema, status, mode, products_changed, images_inserted, images_updated, coalesce(images_deleted, 0) as images_deleted, images_total, rejects_total, labels_total, "
        ~ "round(extract(epoch from finished_at - started_at)::numeric, 3) as seconds, error_sqlstate, message, failed_step, attempts from "
        ~ runs_relation ~ " where invocation_id = " ~ quote_literal(invocation_id) ~ " order by tenant_schema collate \"C\""
    ) -%}
    {%- set failures = [] -%}
    {%- set unchanged = results | selectattr('mode', 'equalto', 'unchanged') | list -%}
    {%- if unchanged -%}
        {{ log("product_images: " ~ unchanged | length ~ " tenant(s) unchanged since their last sync "
            ~ "(products watermark, overrides, no pending label score): not read", info=True) }}
    {%- endif -%}
    {%- for row in results if row['mode'] != 'unchanged' -%}
        {%- if row['status'] == 'error' -%}
            {%- do failures.append(row['tenant_schema'] ~ " (step " ~ row['failed_step'] ~ ", " ~ row['error_sqlstate'] ~ ": " ~ row['message'] ~ ")") -%}
            {{ log("product_images: " ~ row['tenant_schema'] ~ " FAILED at step " ~ row['failed_step'] ~ " and that step was rolled back: "
                ~ row['error_sqlstate'] ~ " " ~ row['message'], info=True) }}
        {%- elif row['status'] == 'success' -%}
            {{ log("product_images: " ~ row['tenant_schema'] ~ " " ~ row['mode'] ~ ": "
                ~ row['images_inserted'] ~ " inserted, " ~ row['images_updated'] ~ " updated, "
                ~ (row['images_deleted'] ~ " deleted (left the JSONB), " if row['images_deleted'] else "")
                ~ row['images_total'] ~ " images, " ~ row['rejects_total'] ~ " rejects, " ~ row['labels_total'] ~ " labels in "
                ~ row['seconds'] ~ " s" ~ (" (" ~ row['attempts'] ~ " attempts)" if row['attempts'] and row['attempts'] > 1 else ""), info=True) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if failures -%}
        {{ exceptions.raise_compiler_error(
            "product_images failed in " ~ failures | length ~ " of " ~ migratable_count ~ " tenant(s); each failed step was rolled back, "
            ~ "the other tenants are committed. Fix and rerun: the rerun resumes. Failed: " ~ failures | join("; ")
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro product_images_union_views_relation() %}
    {{ return(project_table_relation('product_images_union_views')) }}
{% endmacro %}


{% macro create_product_images_union_views_table(relation) -%}
    {#- The md5 of the SQL each union view and part view was last created with. -#}
    create table if not exists {{ relation }} (
        view_name text primary key,
        definition_md5 text not null,
        created_at timestamptz not null
    )
{%- endmacro %}


{% macro record_union_view_sql(view_relation, view_sql) -%}
    insert into {{ product_images_union_views_relation() }} (view_name, definition_md5, created_at)
    values ({{ quote_literal(view_relation) }}, {{ quote_literal(local_md5(view_sql)) }}, now())
    on conflict (view_name) do update
    set definition_md5 = excluded.definition_md5, created_at = excluded.created_at
{%- endmacro %}


{% macro union_view_is_current(view_relation, source_relations, columns, view_sql) %}
    {#- True when view_relation exists, was last created with exactly view_sql
        (its md5, recorded by record_union_view_sql: a tenant schema renamed
        changes the literal in it), selects from exactly source_relations (rendered
        relation names: a table dropped and made again is another relation) and
        has exactly the columns tenant_schema (text), then columns (names and
        types, in order). An empty source list is never current (the empty view is
        cheap to make). -#}
    {%- if not source_relations -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set expected_columns = ['tenant_schema text'] -%}
    {%- for column in columns -%}
        {%- do expected_columns.append(column.name ~ ' ' ~ column.data_type) -%}
    {%- endfor -%}
    {%- set check_sql -%}
        with
        view_relation as (
            select to_regclass({{ quote_literal(view_relation) }}) as oid
        ),
        selected_relations as (
            select coalesce(array_agg(distinct dependencies.refobjid order by dependencies.refobjid), '{}') as oids
            from pg_catalog.pg_depend as dependencies
            inner join pg_catalog.pg_rewrite as rules on dependencies.objid = rules.oid
            cross join view_relation
            where
                dependencies.classid = 'pg_catalog.pg_rewrite'::regclass
                and dependencies.refclassid = 'pg_catalog.pg_class'::regclass
                and rules.ev_class = view_relation.oid
                and dependencies.refobjid <> view_relation.oid
        ),
        expected_relations as (
            select coalesce(array_agg(distinct sources.oid order by sources.oid), '{}') as oids
            from unnest(array[
                {%- for relation in source_relations %}
                to_regclass({{ quote_literal(relation) }}){{ "," if not loop.last }}
                {%- endfor %}
            ]::oid[]) as sources (oid)
        ),
        view_columns as (
            select string_agg(
                attributes.attname || ' ' || pg_catalog.format_type(attributes.atttypid, attributes.atttypmod),
                ', ' order by attributes.attnum
            ) as columns
            from pg_catalog.pg_attribute as attributes
            cross join view_relation
            where attributes.attrelid = view_relation.oid and attributes.attnum > 0 and not attributes.attisdropped
        )
        select
            view_relation.oid is not null
            and selected_relations.oids = expected_relations.oids
            and view_columns.columns = {{ quote_literal(expected_columns | join(', ')) }}
            and array_position(expected_relations.oids, null) is null
            and exists (
                select 1 from {{ product_images_union_views_relation() }} as recorded
                where
                    recorded.view_name = {{ quote_literal(view_relation) }}
                    and recorded.definition_md5 = {{ quote_literal(local_md5(view_sql)) }}
            ) as is_current
        from view_relation, selected_relations, expected_relations, view_columns
    {%- endset -%}
    {%- set found = run_query(check_sql) -%}
    {{ return(found.columns[0].values()[0] == true) }}
{% endmacro %}


{% macro tenant_union_view_sql(view_relation, tenant_schemas, identifier, columns, group_size=100) -%}
    {#- The view: one select per tenant, in groups of group_size (`select * from
        (…100 selects…) as tenants_<n>`), so that the UNION ALL tree is about 200 deep
        rather than one level per tenant: a flat union of 10,000 tenants exceeds
        PostgreSQL's default max_stack_depth when the view is created. -#}
    {#- The column list is the same for every tenant: rendered once (it was
        about 6,000 macro calls at 200 tenants); the same text as before. -#}
    {%- set quoted_columns = [] -%}
    {%- for column in columns -%}
        {%- do quoted_columns.append(quote_identifier(column.name)) -%}
    {%- endfor -%}
    {%- set column_list = quoted_columns | join(',\n            ') -%}
    create or replace view {{ view_relation }} as
    {%- for group in tenant_schemas | batch(group_size) %}
    {%- set outer = loop %}
    select * from (
        {%- for tenant_schema in group %}
        select
            {{ quote_literal(tenant_schema) }}::text as tenant_schema,
            {{ column_list }}
        from {{ tenant_relation(tenant_schema, identifier) }}
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ) as tenants_{{ outer.index }}
    {{ "union all" if not outer.last }}
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
