{% test one_label_per_product(model, min_images=none) %}

    {#- Fails for every product that breaks the label rule, computed here from the
        rows and the overrides seed, independently of the model's SQL. The rule
        considers the images loaded from the product's current JSONB
        (source_index not null); rows the app added carry the app's own decision;
        a product the evidence decided (label_source 'evidence') has its label on
        its best-scoring open photo, above var label_score_threshold, or none when
        every open photo scores below var label_score_floor (open: loaded from the
        JSONB and not decided by a person); the interim rule (label_source 'rule')
        labels the last photo, or, on a doubtful product (every open photo scored,
        the best between the floor and the threshold), its best-scoring one. The
        evidence decides only when every open photo is scored (else the rule
        does): a product left without a label, or labelled elsewhere, while one
        has no score may publish its tag. -#}
    {%- set min_images = min_images if min_images is not none else var('label_min_images') -%}
    {%- set threshold = var('label_score_threshold') | float -%}
    {%- set floor = var('label_score_floor') | float -%}

    with

    overrides as (

        {#- An empty review list needs no `dbt seed`: no table, no overrides. -#}
        {%- if load_relation(ref('label_overrides')) is not none %}
        select tenant_schema, product_id, url, is_label
        from {{ ref('label_overrides') }}
        {%- else %}
        select null::text as tenant_schema, null::bigint as product_id, null::text as url, null::boolean as is_label
        where false
        {%- endif %}

    ),

    images as (

        select
            tested_rows.tenant_schema,
            tested_rows.product_id,
            tested_rows.position,
            tested_rows.is_label,
            tested_rows.label_source,
            tested_rows.source_index is not null as rule_eligible,
            tested_rows.label_score,
            max(tested_rows.position) filter (where tested_rows.source_index is not null) over (
                partition by tested_rows.tenant_schema, tested_rows.product_id
            ) as last_position,
            max(tested_rows.label_score) filter (
                where tested_rows.source_index is not null and tested_rows.label_source not in ('app', 'override')
            ) over (
                partition by tested_rows.tenant_schema, tested_rows.product_id
            ) as best_open_score,
            count(*) filter (
                where
                    tested_rows.source_index is not null
                    and tested_rows.label_source not in ('app', 'override')
                    and tested_rows.label_score is null
            ) over (
                partition by tested_rows.tenant_schema, tested_rows.product_id
            ) as unscored_open_images,
            overrides.is_label as override_is_label
        from {{ tenant_union(model, 'tested_rows') }}
        left join overrides
            on
                tested_rows.tenant_schema = overrides.tenant_schema
                and tested_rows.product_id = overrides.product_id
                and tested_rows.url = overrides.url

    ),

    products as (

        select
            tenant_schema,
            product_id,
            count(*) as images,
            count(*) filter (where rule_eligible) as eligible_images,
            count(*) filter (where is_label) as labels,
            bool_or(label_source in ('app', 'override') and not is_label) as has_human_no_label,
            bool_or(label_source in ('app', 'override') and is_label) as has_human_label,
            bool_or(
                is_label and label_source = 'rule' and position <> last_position
                and not (
                    unscored_open_images = 0
                    and label_score = best_open_score
                    and best_open_score between {{ floor }} and {{ threshold }}
                )
            ) as has_rule_label_misplaced,
            bool_or(label_source <> 'app' and override_is_label is not null and override_is_label <> is_label)
                as has_ignored_override,
            bool_or(label_source = 'override' and override_is_label is null) as has_stale_override,
            bool_or(label_source = 'evidence') as has_evidence,
            bool_or(
                is_label and label_source = 'evidence'
                and not (label_score > {{ threshold }} and label_score = best_open_score)
            ) as has_evidence_label_not_best,
            max(best_open_score) as best_open_score,
            max(unscored_open_images) as unscored_open_images
        from images
        group by tenant_schema, product_id

    )

    select
        *,
        case
            when labels > 1 then 'more than one label'
            when has_ignored_override then 'an override in label_overrides is not applied'
            when has_stale_override then 'label_source is override but label_overrides has no row for the image'
            when has_rule_label_misplaced
                then 'the rule labelled an image that is neither the last nor, the product being doubtful, its best-scoring'
            when has_evidence_label_not_best
                then 'the evidence labelled a photo that is not the best-scoring above label_score_threshold'
            when has_evidence and labels = 0 and best_open_score >= {{ floor }}
                then 'the evidence left no label although a photo scores at or above label_score_floor'
            when has_evidence and unscored_open_images > 0 and eligible_images >= {{ min_images | int }}
                then 'the evidence decided although an open photo has no score'
            when labels = 0 and eligible_images >= {{ min_images | int }} and not has_human_no_label and not has_evidence
                then 'no label on a product with {{ min_images | int }} or more images from its JSONB'
            when labels = 1 and eligible_images < {{ min_images | int }} and not has_human_label and not has_evidence
                then 'a label on a product with fewer than {{ min_images | int }} images from its JSONB'
        end as problem
    from products
    where
        labels > 1
        or has_ignored_override
        or has_stale_override
        or has_rule_label_misplaced
        or has_evidence_label_not_best
        or (has_evidence and labels = 0 and best_open_score >= {{ floor }})
        or (has_evidence and unscored_open_images > 0 and eligible_images >= {{ min_images | int }})
        or (
            labels = 0 and eligible_images >= {{ min_images | int }}
            and not has_human_no_label and not has_evidence
        )
        or (
            labels = 1 and eligible_images < {{ min_images | int }}
            and not has_human_label and not has_evidence
        )

{% endtest %}
