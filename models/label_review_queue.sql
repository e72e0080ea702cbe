{#-
    The products a person has to settle: the evidence is doubtful (the best
    photo's score lies between var label_score_floor and var
    label_score_threshold), or a photo could not be scored. Until a person
    decides, the legacy rule decides their label. One row per product, numbered
    in the order to work through them (tenant, then product).
-#}
{{ config(materialized='recorded_view') }}

{{ label_review_queue_sql(ref('product_images')) }}
