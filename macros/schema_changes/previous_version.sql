{#- The previous version's schema <schema>__before_<change>: start creates it and
    its views under the old names (granted as the tables are), complete and
    rollback drop them. See _macros.yml. -#}

{% macro schema_change_old_views_sql(schema, plan, dry_run) -%}
    {#- plpgsql: the previous version's schema (<schema>__before_<change>) and in
        it, for each table renamed or with a column renamed, a view under the
        table's old name with its old columns (the columns this change added left
        out), auto-updatable, granted to whoever the table and the schema are
        granted to, their owners included (a NULL ACL read as PostgreSQL's
        default: the owner's privileges), the role running start excepted (it
        owns the views). -#}
    {%- if plan.old_views %}
    {%- set previous = schema_change_previous_schema(schema, plan) %}
    if to_regnamespace({{ quote_literal(quote_identifier(previous)) }}) is null then
        {{ schema_change_ddl(dry_run, 'create schema ' ~ quote_identifier(previous), 'created schema ' ~ previous) }}
    end if;
    {#- granted again on a rerun: a schema an older version started lacks its owner's grants #}
    v_found := {{ schema_change_grants_sql('usage on schema ' ~ quote_identifier(previous), 'namespaces', schema) }};
    if v_found is not null then
        execute v_found;
    end if;
    {%- for view in plan.old_views %}
    {%- set view_relation = tenant_relation(previous, view.name) %}
    {%- set table_relation = tenant_relation(schema, view.table) %}
    v_found := (
        select classes.relkind::text from pg_catalog.pg_class as classes
        where classes.oid = to_regclass({{ quote_literal(view_relation) }})
    );
    if v_found is null then
        v_found := {{ schema_change_old_view_ddl_sql(schema, view, view_relation, table_relation) }};
        execute v_found;
        {%- if dry_run %}
        v_changed := array_append(v_changed, v_found);
        {%- else %}
        v_found := {{ schema_change_grants_sql(view_relation, 'classes', table_relation) }};
        if v_found is not null then
            execute v_found;
        end if;
        v_changed := array_append(v_changed, {{ quote_literal('created view ' ~ previous ~ '.' ~ view.name) }}::text);
        {%- endif %}
    elsif v_found <> 'v' then
        raise exception '% exists and is not a view: rename it or leave this schema out', {{ quote_literal(view_relation) }};
    else
        {%- if not dry_run %}
        v_found := {{ schema_change_grants_sql(view_relation, 'classes', table_relation) }};
        if v_found is not null then
            execute v_found;
        end if;
        {%- endif %}
        v_unchanged := array_append(v_unchanged, {{ quote_literal('view ' ~ previous ~ '.' ~ view.name) }}::text);
    end if;
    {%- endfor %}
    {%- endif %}
{%- endmacro %}


{% macro schema_change_old_view_ddl_sql(schema, view, view_relation, table_relation) -%}
    {#- A text expression: create view view_relation as select, from the table
        (table_relation, or its old name before the rename), its columns under
        their old names (view.columns), those this change added (view.added) left out. -#}
    (
        select
            'create view ' || {{ quote_literal(view_relation) }} || ' as select '
            || string_agg(
                case
                    when {{ quote_literal(tojson(view.columns)) }}::jsonb ? attributes.attname
                        then format('%I as %I', attributes.attname, {{ quote_literal(tojson(view.columns)) }}::jsonb ->> attributes.attname)
                    else format('%I', attributes.attname)
                end,
                ', ' order by attributes.attnum
            )
            || ' from ' || {{ quote_literal(table_relation) }}
        from pg_catalog.pg_attribute as attributes
        where
            attributes.attrelid = coalesce(
                to_regclass({{ quote_literal(table_relation) }}), to_regclass({{ quote_literal(tenant_relation(schema, view.name)) }})
            )
            and attributes.attnum > 0
            and not attributes.attisdropped
            and not {{ quote_literal(tojson(view.added)) }}::jsonb ? attributes.attname
    )
{%- endmacro %}


{% macro schema_change_grants_sql(target, kind, source) -%}
    {#- A text expression: the grant statements (joined by '; ', null when none)
        giving target what each role but the current one has on source, owner
        included, a NULL ACL read as PostgreSQL's default (the owner's
        privileges). kind 'namespaces': source is a schema name, target "usage on
        schema <name>", only USAGE copied; kind 'classes': source and target are
        relations, every privilege copied. -#}
    (
        select string_agg(distinct format(
            {%- if kind == 'namespaces' %}
            'grant %s to %s', {{ quote_literal(target) }},
            {%- else %}
            'grant %s on %s to %s', acl.privilege_type, {{ quote_literal(target) }},
            {%- endif %}
            case when acl.grantee = 0 then 'public' else acl.grantee::regrole::text end
        ), '; ')
        {%- if kind == 'namespaces' %}
        from
            pg_catalog.pg_namespace as objects,
            aclexplode(coalesce(objects.nspacl, acldefault('n', objects.nspowner))) as acl
        where
            objects.nspname = {{ quote_literal(source) }}
            and acl.privilege_type = 'USAGE'
        {%- else %}
        from
            pg_catalog.pg_class as objects,
            aclexplode(coalesce(objects.relacl, acldefault('r', objects.relowner))) as acl
        where
            objects.oid = to_regclass({{ quote_literal(source) }})
        {%- endif %}
            and acl.grantee is distinct from (select roles.oid from pg_catalog.pg_roles as roles where roles.rolname = current_user)
    )
{%- endmacro %}


{% macro schema_change_drop_old_views_sql(schema, plan, dry_run) -%}
    {#- plpgsql: drops the previous version's views and then its schema, which
        must hold nothing else (else the schema fails, naming what is there). -#}
    {%- if plan.old_views %}
    {%- set previous = schema_change_previous_schema(schema, plan) %}
    {%- for view in plan.old_views %}
    if to_regclass({{ quote_literal(tenant_relation(previous, view.name)) }}) is not null then
        {{ schema_change_ddl(dry_run, 'drop view ' ~ tenant_relation(previous, view.name), 'dropped view ' ~ previous ~ '.' ~ view.name) }}
    end if;
    {%- endfor %}
    if to_regnamespace({{ quote_literal(quote_identifier(previous)) }}) is not null then
        v_found := (
            select string_agg(classes.relname, ', ' order by classes.relname)
            from pg_catalog.pg_class as classes
            where
                classes.relnamespace = to_regnamespace({{ quote_literal(quote_identifier(previous)) }})
                {%- for view in plan.old_views %}
                and classes.relname <> {{ quote_literal(view.name) }}
                {%- endfor %}
        );
        if v_found is not null then
            raise exception '% holds objects this change did not make (%): move them, then rerun', {{ quote_literal(previous) }}, v_found;
        end if;
        {{ schema_change_ddl(dry_run, 'drop schema ' ~ quote_identifier(previous), 'dropped schema ' ~ previous) }}
    end if;
    {%- endif %}
{%- endmacro %}
