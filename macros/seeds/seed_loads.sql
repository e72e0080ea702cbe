{#- What `dbt seed` loaded, so that a run never applies a stale review list.
    The checksum compared is dbt's own: the sha256 of the seed file it parsed
    (graph node `checksum`). For a seed over 1 MiB dbt keeps only the file's path
    (dbt.constants.MAXIMUM_SEED_SIZE), and its Jinja context cannot read a file:
    a run of another invocation than the one that loaded such a list warns that
    it cannot check it (`product-images overrides diff` can).
    See macros/seeds/_macros.yml. -#}

{% macro seed_loads_relation() %}
    {{ return(project_table_relation('product_images_seed_loads')) }}
{% endmacro %}


{% macro record_seed_load() %}
    {#- Post-hook of a seed (same transaction as the load): records the file's
        checksum and the rows loaded, in product_images_seed_loads. -#}
    {%- if execute -%}
        {%- set node = graph.nodes[model.unique_id] -%}
        create table if not exists {{ seed_loads_relation() }} (
            seed_name text primary key,
            file_checksum text not null,
            row_count bigint not null,
            loaded_at timestamptz not null,
            invocation_id text not null
        );
        insert into {{ seed_loads_relation() }} (seed_name, file_checksum, row_count, loaded_at, invocation_id)
        select {{ quote_literal(model.name) }}, {{ quote_literal(node.checksum.checksum) }}, count(*), now(), {{ quote_literal(invocation_id) }}
        from {{ this }}
        on conflict (seed_name) do update
        set
            file_checksum = excluded.file_checksum,
            row_count = excluded.row_count,
            loaded_at = excluded.loaded_at,
            invocation_id = excluded.invocation_id
    {%- endif -%}
{% endmacro %}


{% macro label_overrides_header() -%}
    tenant_schema,product_id,url,is_label,note
{%- endmacro %}


{% macro label_overrides_state() %}
    {#- Checks seeds/label_overrides.csv against what dbt seed loaded and returns
        {'relation_sql': the overrides to read (the seed's table, or an empty
        relation when the file has no rows and was never loaded), 'rows': rows
        loaded, 'empty': true when there is nothing to apply}. Raises, changing
        nothing, when the file and the database disagree. -#}
    {%- set seed = ref('label_overrides') -%}
    {%- set node = (graph.nodes.values() | selectattr('resource_type', 'equalto', 'seed') | selectattr('name', 'equalto', 'label_overrides') | first) -%}
    {%- set file_checksum = node.checksum.checksum -%}
    {#- dbt hashes a seed's contents up to 1 MiB; over that its checksum is the path, which no edit changes -#}
    {%- set contents_hashed = node.checksum.name == 'sha256' -%}
    {%- set loads = seed_loads_relation() -%}
    {%- set state_sql -%}
        select
            encode(sha256(convert_to({{ quote_literal(label_overrides_header()) }}, 'UTF8')), 'hex') as empty_checksum,
            to_regclass({{ quote_literal(seed) }}) is not null as seed_exists,
            to_regclass({{ quote_literal(loads) }}) is not null as loads_exist
    {%- endset -%}
    {%- set state = run_query(state_sql)[0] -%}
    {%- set file_empty = file_checksum == state['empty_checksum'] -%}
    {%- set empty_relation -%}
        (select null::text as tenant_schema, null::bigint as product_id, null::text as url, null::boolean as is_label, null::text as note where false)
    {%- endset -%}
    {%- set load = none -%}
    {%- if state['loads_exist'] -%}
        {%- set loaded = run_query(
            "select file_checksum, row_count, to_char(loaded_at, 'YYYY-MM-DD HH24:MI:SS TZ') as loaded_at, invocation_id from "
            ~ loads
            ~ " where seed_name = 'label_overrides'"
        ) -%}
        {%- if loaded | length > 0 -%}
            {%- set load = loaded[0] -%}
        {%- endif -%}
    {%- endif -%}
    {%- set apply_hint = "Run `dbt seed` first, or `dbt build --select +product_images` (seed, run and test in order); "
        ~ "`product-images overrides diff` lists the rows that differ. Nothing was changed." -%}

    {%- if not state['seed_exists'] -%}
        {%- if file_empty -%}
            {{ log("product_images: no label overrides (seeds/label_overrides.csv has no rows and the seed was never loaded): the rule decides every label", info=True) }}
            {{ return({'relation_sql': empty_relation, 'rows': 0, 'empty': true}) }}
        {%- endif -%}
        {{ exceptions.raise_compiler_error(
            "seeds/label_overrides.csv has rows, but the seed was never loaded into " ~ seed ~ ": the run would ignore them. " ~ apply_hint
        ) }}
    {%- endif -%}

    {%- set rows = run_query("select count(*) as n from " ~ seed)[0]['n'] | int -%}
    {%- if load is none -%}
        {%- if file_empty and rows == 0 -%}
            {{ log("product_images: no label overrides: the rule decides every label", info=True) }}
            {{ return({'relation_sql': seed | string, 'rows': 0, 'empty': true}) }}
        {%- endif -%}
        {{ exceptions.raise_compiler_error(
            "The seed label_overrides (" ~ seed ~ ", " ~ rows ~ " rows) was loaded without a record of which file it came from "
            ~ "(before this check existed), so it may not be seeds/label_overrides.csv as it is now. " ~ apply_hint
        ) }}
    {%- endif -%}
    {%- if not contents_hashed and load['invocation_id'] != invocation_id -%}
        {#- a warning, not a refusal: every routine rerun of a shop with that many decisions would stop -#}
        {{ exceptions.warn(
            "seeds/label_overrides.csv is over 1 MiB: dbt keeps no checksum of a seed that big (only its path), so "
            ~ "this run cannot tell whether the file changed since the last `dbt seed` (" ~ load['loaded_at'] ~ ", "
            ~ load['row_count'] ~ " rows loaded into " ~ seed ~ "); it applies the list loaded then. If you edited "
            ~ "the file since, run `dbt seed` first, or `dbt build --select +product_images`; "
            ~ "`product-images overrides diff` lists the rows that differ."
        ) }}
    {%- endif -%}
    {%- if load['file_checksum'] != file_checksum -%}
        {{ exceptions.raise_compiler_error(
            "seeds/label_overrides.csv changed since the last `dbt seed` (" ~ load['loaded_at'] ~ ", " ~ load['row_count']
            ~ " rows loaded into " ~ seed ~ "): rows were added, changed or removed in the file (or only its text changed: line endings, a BOM, quoting), and the run would apply the list loaded then. "
            ~ apply_hint
        ) }}
    {%- endif -%}
    {%- if rows == 0 -%}
        {{ log("product_images: no label overrides: the rule decides every label", info=True) }}
    {%- endif -%}
    {{ return({'relation_sql': seed | string, 'rows': rows, 'empty': rows == 0}) }}
{% endmacro %}
