{% macro discover_tenants() %}
    {#-
        Returns one dict per tenant schema, ordered by name:
        {schema, has_products, has_images_column, has_product_images,
        has_outdated_schema (columns, indexes or check constraints a newer
        version has, or products' owner cannot read product_images), has_valid_constraints (every foreign key there and every
        constraint validated)}.
        Tenants: schemas matching var('tenant_schema_regex') plus var('extra_tenant_schemas').
    -#}
    {% if not execute %}
        {{ return([]) }}
    {% endif %}

    {% set extra_tenants = var('extra_tenant_schemas', []) %}
    {% if extra_tenants is string %}
        {% set extra_tenants = [extra_tenants] %}
    {% endif %}

    {% set discovery_sql %}
        with

        tenant_schemas as (

            select
                namespaces.oid as schema_oid,
                namespaces.nspname as tenant_schema
            from pg_catalog.pg_namespace as namespaces
            where
                namespaces.nspname ~ {{ quote_literal(var('tenant_schema_regex')) }}
                {%- for extra_tenant in extra_tenants %}
                or namespaces.nspname = {{ quote_literal(extra_tenant) }}
                {%- endfor %}

        ),

        expected_columns (column_name) as (

            values
            {%- for column in product_images_columns() %}
            ({{ quote_literal(column.name) }}){{ "," if not loop.last }}
            {%- endfor %}

        ),

        expected_indexes (index_name) as (

            values
            {%- for index in product_images_indexes() %}
            ({{ quote_literal(index.name) }}){{ "," if not loop.last }}
            {%- endfor %}

        ),

        expected_checks (check_name, contains) as (

            values
            {%- for check in product_images_check_upgrades() %}
            ({{ quote_literal(check.name) }}, {{ quote_literal(check.contains) }}){{ "," if not loop.last }}
            {%- endfor %}

        ),

        products_tables as (

            select
                classes.oid as table_oid,
                classes.relnamespace as schema_oid,
                classes.relowner as table_owner
            from pg_catalog.pg_class as classes
            where
                classes.relname = 'products'
                and classes.relkind in ('r', 'p')

        )

        select
            tenant_schemas.tenant_schema,
            products_tables.table_oid is not null as has_products,
            exists (
                select 1
                from pg_catalog.pg_attribute as attributes
                where
                    attributes.attrelid = products_tables.table_oid
                    and attributes.attname = 'images'
                    and not attributes.attisdropped
            ) as has_images_column,
            product_images_tables.oid is not null as has_product_images,
            product_images_tables.oid is not null and (
                exists (
                    select 1
                    from expected_columns
                    where not exists (
                        select 1
                        from pg_catalog.pg_attribute as attributes
                        where
                            attributes.attrelid = product_images_tables.oid
                            and attributes.attname = expected_columns.column_name
                            and not attributes.attisdropped
                    )
                )
                or exists (
                    select 1
                    from expected_indexes
                    where not exists (
                        select 1
                        from pg_catalog.pg_index as indexes
                        inner join pg_catalog.pg_class as index_classes on indexes.indexrelid = index_classes.oid
                        where
                            indexes.indrelid = product_images_tables.oid
                            and index_classes.relname = expected_indexes.index_name
                    )
                )
                or exists (
                    select 1
                    from pg_catalog.pg_constraint as constraints
                    inner join expected_checks on constraints.conname = expected_checks.check_name
                    where
                        constraints.conrelid = product_images_tables.oid
                        and position(expected_checks.contains in pg_catalog.pg_get_constraintdef(constraints.oid)) = 0
                )
                -- products' owner (the app's role) cannot read the table another role made
                or (
                    products_tables.table_owner <> product_images_tables.relowner
                    and not pg_catalog.has_table_privilege(
                        products_tables.table_owner, product_images_tables.oid, 'select'
                    )
                )
            ) as has_outdated_schema,
            (
                select count(*)
                from pg_catalog.pg_class as classes
                inner join pg_catalog.pg_constraint as constraints
                    on
                        classes.oid = constraints.conrelid
                        and constraints.contype = 'f'
                        and constraints.confrelid = products_tables.table_oid
                        and constraints.convalidated
                where
                    classes.relnamespace = tenant_schemas.schema_oid
                    and classes.relname in (
                        {%- for foreign_key in product_images_foreign_keys() %}
                        {{ quote_literal(foreign_key.table) }}{{ "," if not loop.last }}
                        {%- endfor %}
                    )
            ) = {{ product_images_foreign_keys() | length }}
            and not exists (
                select 1
                from pg_catalog.pg_constraint as constraints
                inner join pg_catalog.pg_class as classes on constraints.conrelid = classes.oid
                where
                    classes.relnamespace = tenant_schemas.schema_oid
                    and classes.relname in ('product_images', 'product_images_rejects', 'product_images_sync')
                    and not constraints.convalidated
            ) as has_valid_constraints
        from tenant_schemas
        left join products_tables
            on tenant_schemas.schema_oid = products_tables.schema_oid
        left join pg_catalog.pg_class as product_images_tables
            on
                tenant_schemas.schema_oid = product_images_tables.relnamespace
                and product_images_tables.relname = 'product_images'
                and product_images_tables.relkind in ('r', 'p')
        order by tenant_schemas.tenant_schema collate "C"
    {% endset %}

    {% set rows = run_query(discovery_sql) %}
    {% set tenants = [] %}
    {% for row in rows %}
        {% do tenants.append({
            'schema': row['tenant_schema'],
            'has_products': row['has_products'],
            'has_images_column': row['has_images_column'],
            'has_product_images': row['has_product_images'],
            'has_outdated_schema': row['has_outdated_schema'],
            'has_valid_constraints': row['has_valid_constraints'],
        }) %}
    {% endfor %}

    {% set found = tenants | map(attribute='schema') | list %}
    {% for extra_tenant in extra_tenants if extra_tenant not in found %}
        {{ log("product_images: extra tenant schema " ~ extra_tenant ~ " (var extra_tenant_schemas) does not exist; nothing to do for it", info=True) }}
    {% endfor %}
    {% if target.schema in found %}
        {{ exceptions.raise_compiler_error(
            "The dbt target schema " ~ target.schema ~ " is also a tenant schema (it matches var tenant_schema_regex or is in extra_tenant_schemas): "
            ~ "set PRODUCT_IMAGES_SCHEMA (or the profile's schema) to a schema of its own."
        ) }}
    {% endif %}

    {{ return(tenants) }}
{% endmacro %}


{% macro migratable_tenants(tenants) %}
    {#- The tenants whose products table still has the legacy images column. -#}
    {{ return(tenants | selectattr('has_images_column') | list) }}
{% endmacro %}
