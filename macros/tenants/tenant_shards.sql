{#- Tenants in shards, so that N dbt processes, on one machine or several, each
    migrate their share: --vars '{tenant_shards: N, tenant_shard: i}'. A tenant's
    shard is a hash of its schema name, computed by PostgreSQL
    (hashtextextended), so every process on the same server agrees; the
    tenant's advisory lock keeps two processes off one tenant whatever the
    vars. See macros/tenants/_macros.yml. -#}

{% macro tenant_shard_settings() %}
    {#- The vars tenant_shards and tenant_shard, checked: {'shards': N, 'shard': i}. -#}
    {%- set shards = var('tenant_shards', 1) -%}
    {%- set shard = var('tenant_shard', 0) -%}
    {%- if shards is not number or shards != shards | int or shards < 1 or shards > 1024 -%}
        {{ exceptions.raise_compiler_error("var tenant_shards must be an integer 1..1024, got " ~ shards) }}
    {%- endif -%}
    {%- if shard is not number or shard != shard | int or shard < 0 or shard >= shards -%}
        {{ exceptions.raise_compiler_error(
            "var tenant_shard must be an integer 0.." ~ (shards - 1) ~ " (tenant_shards is " ~ shards ~ "), got " ~ shard
        ) }}
    {%- endif -%}
    {{ return({'shards': shards | int, 'shard': shard | int}) }}
{% endmacro %}


{% macro tenant_shard_sql(schema_expression, shards) -%}
    {#- SQL: the shard (0..shards-1) of a schema name. -#}
    mod(abs(hashtextextended({{ schema_expression }}, 0)), {{ shards }})
{%- endmacro %}


{% macro tenants_of_shard(tenants) %}
    {#- The tenants (discover_tenants' dicts) of this run's shard, in their order;
        all of them with one shard. Logs the share. -#}
    {%- set settings = tenant_shard_settings() -%}
    {%- if settings.shards == 1 or not tenants -%}
        {{ return(tenants) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for tenant in tenants -%}{%- do names.append(quote_literal(tenant.schema)) -%}{%- endfor -%}
    {%- set chosen = run_query(
        "select tenant_schema from unnest(array[" ~ names | join(', ') ~ "]::text[]) as tenants (tenant_schema) where "
        ~ tenant_shard_sql('tenant_schema', settings.shards) ~ " = " ~ settings.shard
    ).columns[0].values() | list -%}
    {{ log("product_images: shard " ~ settings.shard ~ " of " ~ settings.shards ~ ": " ~ chosen | length ~ " of "
        ~ tenants | length ~ " tenant schema(s)", info=True) }}
    {{ return(tenants | selectattr('schema', 'in', chosen) | list) }}
{% endmacro %}
