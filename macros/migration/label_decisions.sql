{#- Which photo of a product is its price tag: a person's decision, else the
    evidence from the photos (the detector's scores), else, until a person
    decides, the interim rule: a doubtful product's best-scoring photo, or the
    legacy rule's last photo for a product not scored yet.
    Written once, with window functions; the model, the incremental relabel and
    the review queue all use it. See macros/migration/_macros.yml. -#}

{% macro label_score_settings() %}
    {#- The vars label_score_threshold and label_score_floor, checked. -#}
    {%- set threshold = var('label_score_threshold') -%}
    {%- set floor = var('label_score_floor') -%}
    {%- if threshold is not number or floor is not number or not (0 <= floor <= threshold <= 1) -%}
        {{ exceptions.raise_compiler_error(
            "vars label_score_floor and label_score_threshold must be numbers with 0 <= floor <= threshold <= 1, got floor "
            ~ floor ~ " and threshold " ~ threshold
        ) }}
    {%- endif -%}
    {{ return({'threshold': threshold | float, 'floor': floor | float}) }}
{% endmacro %}


{% macro label_decisions_sql(images, partition_by='product_id', min_images=none) -%}
    {#- A SELECT over `images` (a relation or CTE with product_id, position,
        rule_eligible, human_is_label, label_score and any other columns, which
        pass through) adding per image:
        label_decision: the product's 'person' (a person chose its label), 'label'
            (its best-scoring open photo is above label_score_threshold), 'none'
            (every open photo below label_score_floor), 'doubtful' (in between),
            'unscored' (an open photo has no score yet), 'empty' (no open photo);
        decided_is_label, decided_source: the flag for a photo no person decided,
            from the evidence ('evidence') when it decides, else the interim rule
            ('rule'): on a doubtful product its best-scoring open photo (the
            evidence's best guess, wherever it stands), else the legacy rule's last
            photo; never on a product with fewer than label_min_images photos;
        best_score: the best open photo's score.
        An open photo: loaded from the current JSONB (rule_eligible) and not
        decided by a person. -#}
    {%- set settings = label_score_settings() -%}
    {%- set min_images = min_images if min_images is not none else var('label_min_images') -%}
    with

    image_windows as (

        select
            *,
            bool_or(coalesce(human_is_label, false)) over product_images as has_human_label,
            count(*) filter (where rule_eligible and human_is_label is null) over product_images as open_images,
            count(*) filter (
                where rule_eligible and human_is_label is null and label_score is null
            ) over product_images as unscored_images,
            max(label_score) filter (where rule_eligible and human_is_label is null) over product_images as best_score,
            row_number() over (
                partition by {{ partition_by }}
                order by (rule_eligible and human_is_label is null) desc, label_score desc nulls last, position desc
            ) as score_rank,
            max(position) filter (where rule_eligible) over product_images as last_position,
            count(*) filter (where rule_eligible) over product_images as eligible_images
        from {{ images }}
        window product_images as (partition by {{ partition_by }})

    ),

    product_decisions as (

        select
            *,
            case
                when has_human_label then 'person'
                when open_images = 0 then 'empty'
                when unscored_images > 0 then 'unscored'
                when best_score > {{ settings.threshold }} then 'label'
                when best_score < {{ settings.floor }} then 'none'
                else 'doubtful'
            end as label_decision
        from image_windows

    )

    select
        *,
        case
            when label_decision = 'person' then false
            when label_decision = 'label' then rule_eligible and human_is_label is null and score_rank = 1
            when label_decision = 'none' then false
            when label_decision = 'doubtful'
                then
                    rule_eligible and human_is_label is null and score_rank = 1
                    and eligible_images >= {{ min_images | int }}
            else
                rule_eligible
                and position = last_position
                and eligible_images >= {{ min_images | int }}
        end as decided_is_label,
        case when label_decision in ('label', 'none') then 'evidence' else 'rule' end as decided_source
    from product_decisions
{%- endmacro %}
