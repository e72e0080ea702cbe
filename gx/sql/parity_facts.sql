-- Great Expectations' window onto one tenant, created in the dbt schema by
-- `product-images checkpoint run` before each run (create or replace: idempotent).
-- It reads the raw tables only: products.images (the legacy JSONB), the tenant's
-- product_images and product_images_rejects, and the seed label_overrides; it
-- shares no SQL with the dbt model, so the suites that query it are an
-- independent witness. One call touches one tenant's tables only, so a
-- checkpoint stays cheap to plan at thousands of tenants. The image rows carry
-- the detector's label_score and the label_score_threshold and label_score_floor
-- the check holds the evidence to (the dbt vars, written in at install), all
-- real like the column, so a score compares to a threshold as in the model.

-- The dbt var label_min_images, written in at install: the rows suite expects the
-- rule's label on products with at least this many images, as the model does.
create or replace function {schema}.product_images_label_min_images()
returns integer
language sql
immutable
as $function$ select {label_min_images}::integer $function$;

-- Where the documented rule puts each element of a legacy images value, written
-- here from the README's words, not from the model: an element is usable when it
-- is an object whose url is a string that is not blank; the usable ones take
-- positions 0, 1, ... in the order of their `order` when it is an integer number
-- (2 and 2.0 alike), array order breaking ties, the ones without an integer
-- `order` after them. One row per element, in no particular order (n: its
-- 1-based index); unusable ones have no expected_position. A non-array value has
-- no elements. The sort is per product (inside the lateral call), never over a
-- tenant's every element.
create or replace function {schema}.product_images_jsonb_placements(images jsonb)
returns table (element jsonb, n bigint, usable boolean, expected_position integer)
language sql
immutable
parallel safe
as $function$
    select
        elements.element,
        elements.n,
        elements.usable,
        case
            when elements.usable then (row_number() over (
                partition by elements.usable
                order by elements.integer_order asc nulls last, elements.n asc
            ) - 1)::integer
        end
    from (
        select
            raw_elements.element,
            raw_elements.n,
            coalesce(
                jsonb_typeof(raw_elements.element) = 'object'
                and jsonb_typeof(raw_elements.element -> 'url') = 'string'
                and raw_elements.element ->> 'url' !~ '^[[:space:]]*$',
                false
            ) as usable,
            case
                when jsonb_typeof(raw_elements.element -> 'order') = 'number'
                    and (raw_elements.element ->> 'order')::numeric % 1 = 0
                    then (raw_elements.element ->> 'order')::numeric
            end as integer_order
        from jsonb_array_elements(
            case when jsonb_typeof(images) = 'array' then images else '[]'::jsonb end
        ) with ordinality as raw_elements (element, n)
    ) as elements
$function$;

-- The rows loaded from the JSONB (source_index and legacy_element set) whose
-- legacy_element is not the JSONB element at their source_index, every key but
-- `order` compared: restore_images_jsonb (the way back) writes legacy_element
-- into the JSONB, so a damaged one is lost there. Compared only where valid:
-- the legacy column is there, the product's JSONB is the one the last sync
-- recorded (product_images_sync's md5; an app edit since is pending, and the
-- next dbt run loads it), and the element at source_index holds the row's url
-- (after the runbook's step 8 rewrote a product whose rows the app changed, the
-- rows keep their old source_index, the JSONB's order is the rows' positions,
-- and a url that differs is positions_follow_jsonb's). A tenant without the
-- sync table or without the legacy_element column (tables made before it
-- existed) has nothing to compare. Each product's md5 is computed once.
create or replace function {schema}.product_images_rows_off_element(tenant text)
returns table (product_id bigint, source_index integer, url text, legacy_element jsonb, element jsonb)
language plpgsql
stable
as $function$
begin
    if to_regclass(format('%I.product_images_sync', tenant)) is null
        or not exists (
            select 1 from pg_catalog.pg_attribute
            where attrelid = to_regclass(format('%I.product_images', tenant))
                and attname = 'legacy_element' and not attisdropped
        )
        or not exists (
            select 1 from pg_catalog.pg_attribute
            where attrelid = to_regclass(format('%I.products', tenant))
                and attname = 'images' and not attisdropped
        ) then
        return;
    end if;
    return query execute format(
        $query$
        with unchanged as (
            select products.id, products.images
            from %1$I.products as products
            join %1$I.product_images_sync as synced
                on synced.product_id = products.id and synced.images_md5 = md5(products.images::text)
            where jsonb_typeof(products.images) = 'array'
        )
        select images.product_id, images.source_index, images.url, images.legacy_element,
            unchanged.images -> images.source_index
        from %1$I.product_images as images
        join unchanged on unchanged.id = images.product_id
        where images.source_index >= 0 and images.legacy_element is not null
            and unchanged.images -> images.source_index ->> 'url' = images.url
            and (images.legacy_element - 'order') is distinct from ((unchanged.images -> images.source_index) - 'order')
        $query$,
        tenant
    );
end
$function$;

-- Dropped first: create or replace cannot change the columns a function returns.
drop function if exists {schema}.product_images_parity_facts(text);

create function {schema}.product_images_parity_facts(tenant text)
returns table (
    tenant_schema text,
    fact text,
    product_id bigint,
    source_index integer,
    url text,
    element jsonb,
    image_position integer,
    is_label boolean,
    label_source text,
    override_is_label boolean,
    product_exists boolean,
    legacy_column boolean,
    label_score real,
    label_score_threshold real,
    label_score_floor real
)
language plpgsql
stable
as $function$
declare
    v_has_legacy_column boolean;
begin
    if to_regclass(format('%I.product_images', tenant)) is null
        or to_regclass(format('%I.product_images_rejects', tenant)) is null then
        return query select tenant, 'missing_table'::text, null::bigint, null::integer, null::text, null::jsonb,
            null::integer, null::boolean, null::text, null::boolean, null::boolean, null::boolean,
            null::real, null::real, null::real;
        return;
    end if;

    select exists (
        select 1 from pg_catalog.pg_attribute
        where attrelid = to_regclass(format('%I.products', tenant))
            and attname = 'images' and not attisdropped
    ) into v_has_legacy_column;

    if v_has_legacy_column then
        return query execute format(
            $query$
            select %1$L::text, 'jsonb_element'::text, products.id, (elements.n - 1)::integer,
                case when jsonb_typeof(elements.element -> 'url') = 'string' then elements.element ->> 'url' end,
                elements.element, elements.expected_position, null::boolean, null::text, null::boolean, true, true,
                null::real, null::real, null::real
            from %1$I.products as products
            cross join lateral {schema}.product_images_jsonb_placements(products.images) as elements
            union all
            select %1$L::text, 'jsonb_not_array'::text, products.id, null::integer, null::text,
                products.images, null::integer, null::boolean, null::text, null::boolean, true, true,
                null::real, null::real, null::real
            from %1$I.products as products
            where jsonb_typeof(products.images) not in ('array', 'null')
            $query$,
            tenant
        );
        -- The rows that do not keep their element: [legacy_element, the JSONB element].
        return query select tenant, 'row_off_element'::text, off.product_id, off.source_index, off.url,
            jsonb_build_array(off.legacy_element, off.element), null::integer, null::boolean, null::text,
            null::boolean, true, true, null::real, null::real, null::real
        from {schema}.product_images_rows_off_element(tenant) as off;
    end if;

    return query execute format(
        $query$
        select %1$L::text, 'image_row'::text, images.product_id, images.source_index, images.url, null::jsonb,
            images.position, images.is_label, images.label_source, overrides.is_label,
            exists (select 1 from %1$I.products as products where products.id = images.product_id),
            %2$L::boolean, images.label_score::real,
            {label_score_threshold}::real, {label_score_floor}::real
        from %1$I.product_images as images
        left join %3$s as overrides
            on overrides.tenant_schema = %1$L and overrides.product_id = images.product_id
            and overrides.url = images.url
        union all
        select %1$L::text, 'reject_row'::text, rejects.product_id, rejects.source_index, null::text, rejects.element,
            null::integer, null::boolean, null::text, null::boolean, true, %2$L::boolean,
            null::real, null::real, null::real
        from %1$I.product_images_rejects as rejects
        $query$,
        tenant,
        v_has_legacy_column,
        {overrides}
    );
end
$function$;

-- Before 2026-12-06 the metadata suite read its own function; the image_row facts
-- carry the metadata now.
drop function if exists {schema}.product_images_tenant_images(text);

-- What the parity suite reads: product_images_parity_summary for a batch of
-- tenants, computed once per batch. `product-images checkpoint run` stores a
-- batch's summary facts here under its run token (session setting
-- product_images.parity_run) before GX validates it, and deletes them after:
-- each expectation then reads this small table instead of computing the
-- summary again (GX runs every expectation's query, and a count of it, on its
-- own). Unlogged: nothing here outlives a run that matters. A checkpoint run
-- by GX itself (no token, or nothing stored) computes the summary live.
create unlogged table if not exists {schema}.product_images_parity_runs (
    run_token text not null,
    stored_at timestamptz not null default now(),
    tenant_schema text,
    fact text,
    product_id bigint,
    source_index integer,
    url text,
    image_position integer,
    is_label boolean,
    label_source text,
    override_is_label boolean,
    product_exists boolean,
    legacy_column boolean,
    label_score real,
    label_score_threshold real,
    label_score_floor real,
    jsonb_elements bigint,
    jsonb_elements_hash numeric,
    accounted_elements bigint,
    accounted_elements_hash numeric,
    jsonb_urls bigint,
    jsonb_urls_hash numeric,
    loaded_urls bigint,
    loaded_urls_hash numeric,
    image_id bigint,
    mime_type text,
    file_size bigint,
    width integer,
    height integer,
    metadata_probed_at timestamptz,
    metadata_error text,
    jsonb_placements_hash numeric,
    loaded_placements_hash numeric,
    jsonb_rejects bigint,
    jsonb_rejects_hash numeric,
    kept_rejects bigint,
    kept_rejects_hash numeric,
    rows_off_element bigint
);

-- The columns later versions added (the image rows' metadata, 2026-12-06; the
-- placements and rejects hashes and rows_off_element, 2026-12-07), on a store an earlier version
-- created without them, in the order a new store has them. Altered only then:
-- an ALTER TABLE takes ACCESS EXCLUSIVE even when every column is there, and
-- another checkpoint may be reading the store.
do $upgrade$
begin
    if not exists (
        select from pg_catalog.pg_attribute as columns
        join pg_catalog.pg_class as tables on tables.oid = columns.attrelid
        join pg_catalog.pg_namespace as schemas on schemas.oid = tables.relnamespace
        where schemas.nspname = {schema_name} and tables.relname = 'product_images_parity_runs'
            and columns.attname = 'rows_off_element' and not columns.attisdropped
    ) then
        alter table {schema}.product_images_parity_runs
            add column if not exists image_id bigint,
            add column if not exists mime_type text,
            add column if not exists file_size bigint,
            add column if not exists width integer,
            add column if not exists height integer,
            add column if not exists metadata_probed_at timestamptz,
            add column if not exists metadata_error text,
            add column if not exists jsonb_placements_hash numeric,
            add column if not exists loaded_placements_hash numeric,
            add column if not exists jsonb_rejects bigint,
            add column if not exists jsonb_rejects_hash numeric,
            add column if not exists kept_rejects bigint,
            add column if not exists kept_rejects_hash numeric,
            add column if not exists rows_off_element bigint;
    end if;
end
$upgrade$;

create index if not exists product_images_parity_runs_token_idx
    on {schema}.product_images_parity_runs (run_token, fact, tenant_schema);

-- The parity suite's window onto one tenant: the tenant's image rows as facts
-- (as product_images_parity_facts gives them, without the JSONB) and ONE
-- 'summary' fact holding what the JSONB and the tables hold, as counts and
-- order-free hash sums, computed in one pass over each table: the JSONB
-- elements (and non-array values) per product against the rows and rejects
-- per product, and the usable (product, url) pairs of the JSONB against those
-- of the rows. Equal counts and sums mean equal multisets; a tenant whose
-- sums differ is looked at element by element with product_images_parity_facts
-- (the detail suite), so a failure is still named by product and url.
drop function if exists {schema}.product_images_parity_summary(text);
drop function if exists {schema}.product_images_parity_summary(text, text);

-- Rows of product_images_parity_runs, with run_token as given and stored_at now():
-- the facts of the kinds asked for, every kind when kinds is null (a live read
-- of the image rows alone skips the pass over the JSONB).
create or replace function {schema}.product_images_parity_summary(
    tenant text, run_token text, kinds text[] default null
)
returns setof {schema}.product_images_parity_runs
language plpgsql
stable
as $function$
declare
    v_has_legacy_column boolean;
    v_jsonb record;
    v_accounted record;
    v_loaded record;
    v_rows_off_element bigint;
begin
    if to_regclass(format('%I.product_images', tenant)) is null
        or to_regclass(format('%I.product_images_rejects', tenant)) is null then
        return query select run_token, now(), tenant, 'missing_table'::text, null::bigint, null::integer, null::text,
            null::integer, null::boolean, null::text, null::boolean, null::boolean, null::boolean,
            null::real, null::real, null::real,
            null::bigint, null::numeric, null::bigint, null::numeric, null::bigint, null::numeric, null::bigint, null::numeric,
            null::bigint, null::text, null::bigint, null::integer, null::integer, null::timestamptz, null::text,
            null::numeric, null::numeric, null::bigint, null::numeric, null::bigint, null::numeric, null::bigint;
        return;
    end if;

    select exists (
        select 1 from pg_catalog.pg_attribute
        where attrelid = to_regclass(format('%I.products', tenant))
            and attname = 'images' and not attisdropped
    ) into v_has_legacy_column;

    if kinds is null or 'summary' = any(kinds) then
        if v_has_legacy_column then
            -- Per element: its product; when usable, its (product, url) and where it
            -- belongs (product, index, expected position, url); when not, what the
            -- rejects must hold (product, index, the element). A non-array value
            -- counts as one element and one reject (no index, the value whole).
            execute format(
                $query$
                with elements as (
                    select products.id as product_id, elements.n - 1 as source_index, elements.element,
                        elements.usable, elements.expected_position
                    from %1$I.products as products
                    cross join lateral {schema}.product_images_jsonb_placements(products.images) as elements
                    union all
                    select products.id, null::bigint, products.images, false, null::integer
                    from %1$I.products as products
                    where jsonb_typeof(products.images) not in ('array', 'null')
                )
                select
                    count(*) as elements,
                    coalesce(sum(pg_catalog.hashtextextended(product_id::text, 0)::numeric), 0) as elements_hash,
                    count(*) filter (where usable) as urls,
                    coalesce(sum(pg_catalog.hashtextextended(product_id::text || ' ' || (element ->> 'url'), 0)::numeric)
                        filter (where usable), 0) as urls_hash,
                    coalesce(sum(pg_catalog.hashtextextended(
                        product_id::text || ' ' || source_index || ' ' || expected_position || ' ' || (element ->> 'url'), 0
                    )::numeric) filter (where usable), 0) as placements_hash,
                    count(*) filter (where not usable) as rejects,
                    coalesce(sum(pg_catalog.hashtextextended(
                        product_id::text || ' ' || coalesce(source_index::text, '-') || ' ' || element::text, 0
                    )::numeric) filter (where not usable), 0) as rejects_hash
                from elements
                $query$,
                tenant
            ) into v_jsonb;
            execute format(
                $query$
                select count(*) as elements, coalesce(sum(pg_catalog.hashtextextended(product_id::text, 0)::numeric), 0) as elements_hash,
                    count(*) filter (where is_reject) as rejects,
                    coalesce(sum(pg_catalog.hashtextextended(
                        product_id::text || ' ' || coalesce(source_index::text, '-') || ' ' || element::text, 0
                    )::numeric) filter (where is_reject), 0) as rejects_hash
                from (
                    select product_id, null::integer as source_index, null::jsonb as element, false as is_reject
                    from %1$I.product_images
                    union all
                    select product_id, source_index, element, true from %1$I.product_images_rejects
                ) as accounted
                $query$,
                tenant
            ) into v_accounted;
            select count(*) into v_rows_off_element from {schema}.product_images_rows_off_element(tenant);
        else
            -- No JSONB to count (the legacy column was dropped): the JSONB sides are null.
            select null::bigint as elements, null::numeric as elements_hash, null::bigint as urls, null::numeric as urls_hash,
                null::numeric as placements_hash, null::bigint as rejects, null::numeric as rejects_hash
            into v_jsonb;
            select null::bigint as elements, null::numeric as elements_hash, null::bigint as rejects,
                null::numeric as rejects_hash
            into v_accounted;
        end if;
        execute format(
            $query$
            select count(*) as urls,
                coalesce(sum(pg_catalog.hashtextextended(product_id::text || ' ' || url, 0)::numeric), 0) as urls_hash,
                coalesce(sum(pg_catalog.hashtextextended(
                    product_id::text || ' ' || source_index || ' ' || position || ' ' || url, 0
                )::numeric) filter (where source_index is not null), 0) as placements_hash
            from %1$I.product_images
            $query$,
            tenant
        ) into v_loaded;

        return query select run_token, now(), tenant, 'summary'::text, null::bigint, null::integer, null::text,
            null::integer, null::boolean, null::text, null::boolean, null::boolean, v_has_legacy_column,
            null::real, null::real, null::real,
            v_jsonb.elements, v_jsonb.elements_hash, v_accounted.elements, v_accounted.elements_hash,
            v_jsonb.urls, v_jsonb.urls_hash, v_loaded.urls, v_loaded.urls_hash,
            null::bigint, null::text, null::bigint, null::integer, null::integer, null::timestamptz, null::text,
            v_jsonb.placements_hash, v_loaded.placements_hash,
            v_jsonb.rejects, v_jsonb.rejects_hash, v_accounted.rejects, v_accounted.rejects_hash, v_rows_off_element;
    end if;

    if kinds is null or 'image_row' = any(kinds) then
        return query execute format(
            $query$
            select %4$L::text, now(), %1$L::text, 'image_row'::text, images.product_id, images.source_index, images.url,
                images.position, images.is_label, images.label_source, overrides.is_label,
                products.id is not null, %2$L::boolean, images.label_score::real,
                {label_score_threshold}::real, {label_score_floor}::real,
                null::bigint, null::numeric, null::bigint, null::numeric, null::bigint, null::numeric, null::bigint, null::numeric,
                images.id, images.mime_type, images.file_size, images.width, images.height, images.metadata_probed_at,
                images.metadata_error,
                null::numeric, null::numeric, null::bigint, null::numeric, null::bigint, null::numeric, null::bigint
            from %1$I.product_images as images
            left join %1$I.products as products on products.id = images.product_id
            left join %3$s as overrides
                on overrides.tenant_schema = %1$L and overrides.product_id = images.product_id
                and overrides.url = images.url
            $query$,
            tenant,
            v_has_legacy_column,
            {overrides},
            run_token
        );
    end if;
end
$function$;

-- The facts of the kinds asked for (the parity suite reads 'summary' and
-- 'missing_table', the rows and metadata suites 'image_row'): those stored under
-- run_token when there are any, else computed live. One SQL statement, stable,
-- not strict: PostgreSQL inlines it into the expectation's query, which then
-- reads the store through its index instead of a materialized function result
-- (half the time of the plpgsql version it replaces). The live branch runs
-- only when nothing is stored under run_token (a one-time filter).
create or replace function {schema}.product_images_parity_batch(tenants jsonb, run_token text, kinds text[])
returns setof {schema}.product_images_parity_runs
language sql
stable
as $function$
    select stored.*
    from {schema}.product_images_parity_runs as stored
    where
        stored.run_token = $2
        and stored.fact = any($3)
        -- an array computed once (an InitPlan), not a semi-join the planner may
        -- loop over: the store has no statistics for its estimates
        and stored.tenant_schema = any(array(select jsonb_array_elements_text($1)))
    union all
    select facts.*
    from jsonb_array_elements_text($1) as batch (tenant)
    cross join lateral {schema}.product_images_parity_summary(batch.tenant, coalesce($2, ''), $3) as facts
    where
        facts.fact = any($3)
        and not exists (
            select from {schema}.product_images_parity_runs as stored
            where stored.run_token = $2
        )
$function$;
