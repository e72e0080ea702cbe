{% macro tenant_placeholder() -%}
    {#- The stand-in for a tenant's schema name in SQL rendered once for every
        tenant: the materialization replaces it with each tenant's name. -#}
    __tenant_schema__
{%- endmacro %}


{% macro tenant_schema_is_plain(tenant_schema) %}
    {#- True when the schema name is written the same quoted or not and inside a
        string literal (unquoted identifier syntax): SQL rendered for the
        placeholder becomes this tenant's by a plain replace. -#}
    {{ return(modules.re.match('^[A-Za-z_][A-Za-z0-9_$]*$', tenant_schema) is not none) }}
{% endmacro %}


{% macro tenant_source(identifier) -%}
    {#- A table of the tenant being migrated. The model is compiled once; the
        materialization substitutes the placeholder per tenant. -#}
    {{ quote_identifier(tenant_placeholder()) }}.{{ quote_identifier(identifier) }}
{%- endmacro %}


{% macro tenant_schema_literal() -%}
    {{ quote_literal(tenant_placeholder()) }}
{%- endmacro %}


{% macro legacy_image_elements(products) %}
    {#- One row per element of the JSONB arrays in `products` (product_id, images),
        with the reason it cannot be loaded, or null when it can. Each field of
        an element is read from the JSONB once, in `element_fields`: its `limit
        all` (a no-op, like `offset 0`, which sqlfluff cannot parse here) keeps
        PostgreSQL from pulling the subquery up, which would copy each field's
        expression into every place that names it (safe_timestamptz names the
        created_at text 15 times): 46 → 33 ms of the model's SELECT for a tenant
        of 5,000 images. -#}
    select
        {{ products }}.product_id,
        (image_elements.element_number - 1)::integer as source_index,
        image_elements.element as legacy_element,
        case
            when element_fields.url_type = 'string'
                then element_fields.url_text
        end as url,
        element_fields.legacy_order,
        {{ safe_timestamptz("element_fields.created_at") }} as legacy_created_at,
        case
            when element_fields.element_type <> 'object'
                then 'element is not an object (' || element_fields.element_type || ')'
            when not image_elements.element ? 'url'
                then 'url is missing'
            when element_fields.url_type = 'null'
                then 'url is null'
            when element_fields.url_type <> 'string'
                then 'url is not a string (' || element_fields.url_type || ')'
            when element_fields.url_text ~ '^\s*$'
                then 'url is empty'
        end as reject_reason
    from {{ products }}
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof({{ products }}.images) = 'array' then {{ products }}.images
            else '[]'::jsonb
        end
    ) with ordinality as image_elements (element, element_number)
    cross join lateral (
        select
            jsonb_typeof(image_elements.element) as element_type,
            jsonb_typeof(image_elements.element -> 'url') as url_type,
            image_elements.element ->> 'url' as url_text,
            {{ legacy_order_value('image_elements.element') }} as legacy_order,
            case
                when jsonb_typeof(image_elements.element -> 'created_at') = 'string'
                    then image_elements.element ->> 'created_at'
            end as created_at
        limit all
    ) as element_fields
{% endmacro %}


{% macro legacy_images_rejects(products) %}
    {#- The reject rows for `products` (product_id, images): every element that
        cannot be loaded, and every images value that is not an array at all. -#}
    select
        image_elements.product_id,
        image_elements.source_index,
        image_elements.legacy_element as element,
        image_elements.reject_reason as reason
    from ({{ legacy_image_elements(products) }}) as image_elements
    where image_elements.reject_reason is not null

    union all

    select
        {{ products }}.product_id,
        null::integer as source_index,
        {{ products }}.images as element,
        'images is not an array (' || jsonb_typeof({{ products }}.images) || ')' as reason
    from {{ products }}
    where jsonb_typeof({{ products }}.images) not in ('array', 'null')
{% endmacro %}


{% macro legacy_order_value(element) -%}
    {#- The element's `order` as a number when it is an integer, else null (sorted last). -#}
    case
        when
            jsonb_typeof({{ element }} -> 'order') = 'number'
            and ({{ element }} ->> 'order')::numeric = trunc(({{ element }} ->> 'order')::numeric)
            then ({{ element }} ->> 'order')::numeric
    end
{%- endmacro %}


{% macro legacy_element_count(images) -%}
    {#- How many JSONB elements an images value holds, as the parity checks count
        them: an array's length; 1 for any other non-null value; 0 for SQL or JSON null. -#}
    case
        when {{ images }} is null then 0
        when jsonb_typeof({{ images }}) = 'array' then jsonb_array_length({{ images }})
        when jsonb_typeof({{ images }}) = 'null' then 0
        else 1
    end
{%- endmacro %}


{% macro legacy_usable_elements(products_relation) -%}
    {#- FROM and WHERE of a query over the usable elements of each product's
        images (an object whose url is a string that is not blank), one row
        each: the product as `products`, the element as `image_elements.element`;
        a value that is not an array has none. The operations' parity and
        no_lost_images compare these urls with the rows'. -#}
    from {{ products_relation }} as products
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(products.images) = 'array' then products.images else '[]'::jsonb end
    ) as image_elements (element)
    where
        jsonb_typeof(image_elements.element) = 'object'
        and jsonb_typeof(image_elements.element -> 'url') = 'string'
        and image_elements.element ->> 'url' !~ '^\s*$'
{%- endmacro %}


{% macro legacy_position() -%}
    {#- 0-based position: legacy `order` ascending, array order breaking ties,
        elements without an integer `order` last. Needs product_id, legacy_order
        and source_index in scope. -#}
    (row_number() over (
        partition by product_id
        order by legacy_order asc nulls last, source_index asc
    ) - 1)::integer
{%- endmacro %}


{% macro safe_timestamptz(text_expression) -%}
    {#- Casts an ISO 8601 string to timestamptz, or null when it is not a valid
        one: never raises, on any PostgreSQL version (pg_input_is_valid needs 16).
        One regular expression holds the whole calendar (month lengths, the
        Gregorian leap years, no year 0), so a string it matches always casts:
        a third faster on the first load than a shape check followed by date
        arithmetic. Groups are non-capturing: capturing ones cost PostgreSQL's
        regex engine more. -#}
    {%- set year = '(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])' -%}
    {%- set month_and_day = (
        '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])'
        ~ '|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)'
        ~ '|02-(?:0[1-9]|1[0-9]|2[0-8]))'
    ) -%}
    {%- set leap_year = '(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)' -%}
    {%- set time_of_day = '[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?' -%}
    {%- set offset = '(?:Z|z|[+-](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?' -%}
    {#- PostgreSQL refuses a negative offset right after a date ("2024-01-01-05:30"). -#}
    {%- set date_offset = '(?:Z|z|[+](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?' -%}
    {#- The fast path: the shape every app writes (`YYYY-MM-DDTHH:MM:SSZ`,
        JavaScript's and Python's UTC ISO string without fractions) is checked with
        LIKE, translate and integer ranges, about 1 µs an element instead of the
        regular expression's 3 (10 ms of a 5,000-image first load). It accepts
        exactly the strings of that shape the regular expression accepts; the
        nested CASE keeps the integer casts behind the shape check. -#}
    {%- set part = {
        'year': 'substr(' ~ text_expression ~ ', 1, 4)::integer',
        'month': 'substr(' ~ text_expression ~ ', 6, 2)::integer',
        'day': 'substr(' ~ text_expression ~ ', 9, 2)::integer',
    } -%}
    case
        when {{ text_expression }} like '____-__-__T__:__:__Z' and translate({{ text_expression }}, '0123456789', '') = '--T::Z'
            then case
                when {{ part.year }} >= 1
                    and {{ part.month }} between 1 and 12
                    and {{ part.day }} between 1 and case
                        when {{ part.month }} = 2
                            then case
                                when ({{ part.year }} % 4 = 0 and {{ part.year }} % 100 <> 0) or {{ part.year }} % 400 = 0 then 29
                                else 28
                            end
                        when {{ part.month }} in (4, 6, 9, 11) then 30
                        else 31
                    end
                    and substr({{ text_expression }}, 12, 2)::integer <= 23
                    and substr({{ text_expression }}, 15, 2)::integer <= 59
                    and substr({{ text_expression }}, 18, 2)::integer <= 59
                    then ({{ text_expression }})::timestamptz
            end
        when {{ text_expression }} ~ {{ quote_literal(
            '^(?:' ~ year ~ '-' ~ month_and_day ~ '|' ~ leap_year ~ '-02-29)'
            ~ '(?:' ~ time_of_day ~ offset ~ '|' ~ date_offset ~ ')$'
        ) }}
            then ({{ text_expression }})::timestamptz
    end
{%- endmacro %}
