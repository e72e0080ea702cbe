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
                elements.element, null::integer, null::boolean, null::text, null::boolean, true, true,
                null::real, null::real, null::real
            from %1$I.products as products
            cross join lateral jsonb_array_elements(
                case when jsonb_typeof(products.images) = 'array' then products.images else '[]'::jsonb end
            ) with ordinality as elements (element, n)
            union all
            select %1$L::text, 'jsonb_not_array'::text, products.id, null::integer, null::text,
                products.images, null::integer, null::boolean, null::text, null::boolean, true, true,
                null::real, null::real, null::real
            from %1$I.products as products
            where jsonb_typeof(products.images) not in ('array', 'null')
            $query$,
            tenant
        );
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

create or replace function {schema}.product_images_tenant_images(tenant text)
returns table (
    tenant_schema text,
    id bigint,
    product_id bigint,
    url text,
    mime_type text,
    file_size bigint,
    width integer,
    height integer,
    metadata_probed_at timestamptz,
    metadata_error text
)
language plpgsql
stable
as $function$
begin
    if to_regclass(format('%I.product_images', tenant)) is null then
        return;
    end if;
    return query execute format(
        $query$
        select %1$L::text, images.id, images.product_id, images.url, images.mime_type, images.file_size,
            images.width, images.height, images.metadata_probed_at, images.metadata_error
        from %1$I.product_images as images
        $query$,
        tenant
    );
end
$function$;
