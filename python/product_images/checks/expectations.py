"""The expectations' SQL: what each parity and rows check of the GX suites asks of the database.

Every parity expectation is an ``UnexpectedRowsExpectation`` whose query returns the
offending (tenant_schema, product_id, problem) rows; it fails when there are any. The
parity suite (:data:`SUMMARY_CHECKS`) reads each tenant's summary
(``product_images_parity_summary``, gx/sql/parity_facts.sql): counts and order-free hash
sums of the JSONB elements, the rows and the rejects, computed in the database in one
pass over each table; the rows suite (:data:`ROW_CHECKS`) reads each tenant's image rows;
the detail suite (:data:`PARITY_CHECKS`) reads every JSONB element, row and reject
(``product_images_parity_facts``) and names each offending product and url. The SQL
shares nothing with the dbt model: the rules (the label rule, the positions) are
written again here from the README's words. :mod:`product_images.checks.suites` builds
the suites from these.
"""

from __future__ import annotations

__all__ = ["DETAILED_CHECKS", "PARITY_CHECKS", "ROW_CHECKS", "SUMMARY_CHECKS", "USABLE_URL"]

USABLE_URL = (
    "jsonb_typeof(element -> 'url') = 'string' and element ->> 'url' !~ '^[[:space:]]*$' "
    "and jsonb_typeof(element) = 'object'"
)

PARITY_CHECKS: dict[str, tuple[str, str]] = {
    "tenant_migrated": (
        "The tenant has product_images and product_images_rejects tables.",
        """
        select tenant_schema, product_id, 'product_images or product_images_rejects does not exist: not migrated' as problem
        from {batch}
        where fact = 'missing_table'
        """,
    ),
    "elements_accounted_for": (
        "Per product, JSONB elements = product_images rows + product_images_rejects rows.",
        """
        select tenant_schema, product_id,
            count(*) filter (where fact in ('jsonb_element', 'jsonb_not_array')) || ' JSONB elements, '
            || count(*) filter (where fact = 'image_row') || ' rows, '
            || count(*) filter (where fact = 'reject_row') || ' rejects' as problem
        from {batch}
        where legacy_column
        group by tenant_schema, product_id
        having count(*) filter (where fact in ('jsonb_element', 'jsonb_not_array'))
            <> count(*) filter (where fact in ('image_row', 'reject_row'))
        """,
    ),
    "every_url_loaded": (
        "Every usable JSONB url is in product_images for its product, as many times as it occurs.",
        """
        select tenant_schema, product_id, 'missing from product_images: ' || url as problem
        from (
            select tenant_schema, product_id, url from {batch}
            where fact = 'jsonb_element' and """
        + USABLE_URL
        + """
            except all
            select tenant_schema, product_id, url from {batch}
            where fact = 'image_row'
        ) as missing_images
        """,
    ),
    "no_drift": (
        "No product_images row without a matching JSONB element while the legacy column exists.",
        """
        select tenant_schema, product_id, 'in product_images but not in the JSONB (drift): ' || url as problem
        from (
            select tenant_schema, product_id, url from {batch}
            where fact = 'image_row' and legacy_column
            except all
            select tenant_schema, product_id, url from {batch}
            where fact = 'jsonb_element' and """
        + USABLE_URL
        + """
        ) as drifted_images
        """,
    ),
    "positions_follow_jsonb": (
        "Every row loaded from the JSONB (source_index set) holds the url of the element at its source_index, "
        "at the position the JSONB's order gives it: legacy order ascending when an integer, array order "
        "breaking ties, elements without an integer order last (the README's rule, computed here).",
        """
        select image_rows.tenant_schema, image_rows.product_id,
            case
                when elements.product_id is null
                    then 'row ' || image_rows.url || ' comes from JSONB element ' || image_rows.source_index
                        || ', which does not exist'
                when elements.url is distinct from image_rows.url or elements.image_position is null
                    then 'row ' || image_rows.url || ' comes from JSONB element ' || image_rows.source_index
                        || ', whose url is ' || coalesce(elements.url, '(none usable)')
                else 'position ' || image_rows.image_position || ' holds ' || image_rows.url
                    || ', which the JSONB order puts at position ' || elements.image_position
            end as problem
        from {batch} as image_rows
        left join {batch} as elements
            on elements.fact = 'jsonb_element' and elements.tenant_schema = image_rows.tenant_schema
            and elements.product_id = image_rows.product_id and elements.source_index = image_rows.source_index
        where image_rows.fact = 'image_row' and image_rows.legacy_column and image_rows.source_index is not null
            and (elements.product_id is null or elements.url is distinct from image_rows.url
                or elements.image_position is distinct from image_rows.image_position)
        union all
        select image_rows.tenant_schema, image_rows.product_id,
            'row ' || image_rows.url || ' has no source_index, yet JSONB element ' || elements.source_index
                || ' holds its url and no row comes from it' as problem
        from {batch} as image_rows
        join {batch} as elements
            on elements.fact = 'jsonb_element' and elements.tenant_schema = image_rows.tenant_schema
            and elements.product_id = image_rows.product_id and elements.url = image_rows.url
            and elements.image_position is not null
        where image_rows.fact = 'image_row' and image_rows.legacy_column and image_rows.source_index is null
            and not exists (
                select from {batch} as loaded
                where loaded.fact = 'image_row' and loaded.tenant_schema = elements.tenant_schema
                    and loaded.product_id = elements.product_id and loaded.source_index = elements.source_index
            )
        """,
    ),
    "rows_hold_their_elements": (
        "Every row loaded from the JSONB (source_index and legacy_element set) keeps in legacy_element the "
        "JSONB element at its source_index, every key but order (what the way back, restore_images_jsonb, "
        "writes into the JSONB), where that element is its photo (same url) and the product's JSONB is the one "
        "the last sync recorded (product_images_sync): after the runbook's step 8 rewrote a product, rows keep "
        "their old source_index and the rewrite's order is the row's position.",
        """
        select tenant_schema, product_id,
            'row ' || url || ' keeps legacy_element ' || left((element -> 0)::text, 200) || ', but JSONB element '
                || source_index || ' is ' || left((element -> 1)::text, 200) as problem
        from {batch}
        where fact = 'row_off_element'
        """,
    ),
    "rejects_hold_their_elements": (
        "Every JSONB element that cannot be loaded is in product_images_rejects, whole, with its product and "
        "index (a non-array images value: whole, no index), and the rejects hold nothing else.",
        """
        select tenant_schema, product_id,
            'JSONB element ' || coalesce(source_index::text, '(the whole images value)')
            || ' is not in product_images_rejects as it is: ' || left(element, 200) as problem
        from (
            select tenant_schema, product_id, source_index, element::text as element from {batch}
            where (fact = 'jsonb_element' and not coalesce("""
        + USABLE_URL
        + """, false)) or fact = 'jsonb_not_array'
            except all
            select tenant_schema, product_id, source_index, element::text from {batch}
            where fact = 'reject_row' and legacy_column
        ) as missing_rejects
        union all
        select tenant_schema, product_id,
            'product_images_rejects holds ' || left(element, 200) || ' as element '
            || coalesce(source_index::text, '(the whole images value)') || ', which the JSONB does not' as problem
        from (
            select tenant_schema, product_id, source_index, element::text as element from {batch}
            where fact = 'reject_row' and legacy_column
            except all
            select tenant_schema, product_id, source_index, element::text from {batch}
            where (fact = 'jsonb_element' and not coalesce("""
        + USABLE_URL
        + """, false)) or fact = 'jsonb_not_array'
        ) as foreign_rejects
        """,
    ),
    "one_label_per_product": (
        "At most one label per product; exactly one on a product with label_min_images (the dbt var, "
        "default 2) or more images and none on products with fewer, unless a person decided otherwise (label_overrides or the app) or the "
        "evidence did (label_source evidence): then the label is the best-scoring open photo, above "
        "label_score_threshold, or there is none and every open photo scores below label_score_floor "
        "(open: loaded from the JSONB, not decided by a person); on a product with label_min_images or more "
        "photos loaded from the JSONB, the evidence decides only when every open photo is scored. The rule's label (label_source rule) is the "
        "last photo loaded from the JSONB, or on a doubtful product its best-scoring one; an override's "
        "(label_source override) has its row in label_overrides.",
        """
        with image_rows as (
            select
                tenant_schema, product_id, source_index, image_position, is_label, label_source, override_is_label,
                label_score,
                label_score_threshold, label_score_floor,
                max(label_score) filter (
                    where source_index is not null and label_source not in ('app', 'override')
                ) over (partition by tenant_schema, product_id) as best_open_score,
                max(image_position) filter (where source_index is not null)
                    over (partition by tenant_schema, product_id) as last_loaded_position,
                count(*) filter (
                    where source_index is not null and label_source not in ('app', 'override') and label_score is null
                ) over (partition by tenant_schema, product_id) as unscored_open_images
            from {batch}
            where fact = 'image_row'
        ),
        products as (
            select
                tenant_schema, product_id,
                count(*) as images,
                count(*) filter (where source_index is not null) as loaded_images,
                count(*) filter (where is_label) as labels,
                max(unscored_open_images) as unscored_open_images,
                bool_or(override_is_label is not null and label_source <> 'app' and override_is_label <> is_label)
                    as has_ignored_override,
                bool_or(is_label and label_source = 'evidence'
                    and not (label_score > label_score_threshold and label_score = best_open_score))
                    as has_evidence_label_not_best,
                max(image_position) filter (
                    where is_label and label_source = 'rule' and image_position <> last_loaded_position
                        and not (
                            unscored_open_images = 0 and label_score = best_open_score
                            and best_open_score between label_score_floor and label_score_threshold
                        )
                ) as misplaced_rule_label,
                max(last_loaded_position) as last_loaded_position,
                bool_or(label_source = 'override' and override_is_label is null) as has_stale_override,
                bool_or(label_source = 'evidence') as has_evidence,
                bool_or(not is_label and (label_source = 'app' or override_is_label is not null))
                    as has_human_no_label,
                bool_or(is_label and (label_source = 'app' or override_is_label is not null))
                    as has_human_label,
                max(best_open_score) as best_open_score,
                max(label_score_floor) as label_score_floor
            from image_rows
            group by tenant_schema, product_id
        ),
        product_problems as (
            select
                *,
                has_evidence and labels = 0 and best_open_score >= label_score_floor as has_evidence_none_above_floor,
                has_evidence and unscored_open_images > 0 and loaded_images >= product_images_label_min_images()
                    as has_evidence_while_unscored
            from products
        )
        select tenant_schema, product_id,
            case
                when labels <= 1 and misplaced_rule_label is not null
                    then 'the rule labelled position ' || misplaced_rule_label || ', not the last loaded photo (position '
                        || last_loaded_position || ') nor, the product being doubtful, its best-scoring one'
                when labels <= 1 and has_stale_override
                    then 'label_source is override but label_overrides has no row for the image'
                when labels <= 1 and has_evidence_label_not_best
                    then 'the evidence labelled a photo that is not the best-scoring open photo above label_score_threshold'
                when has_evidence_none_above_floor
                    then 'the evidence left no label although an open photo scores '
                        || best_open_score || ', at or above label_score_floor ' || label_score_floor
                when has_evidence_while_unscored
                    then 'the evidence decided although ' || unscored_open_images || ' open photo(s) have no score'
                else labels || ' labels on ' || images || ' images'
            end as problem
        from product_problems
        where
            labels > 1
            or has_ignored_override
            or misplaced_rule_label is not null
            or has_stale_override
            or has_evidence_label_not_best
            or has_evidence_none_above_floor
            or has_evidence_while_unscored
            or (images >= product_images_label_min_images() and labels = 0 and not has_human_no_label and not has_evidence)
            or (images < product_images_label_min_images() and labels = 1 and not has_human_label and not has_evidence)
        """,
    ),
    "positions_contiguous": (
        "Per product, positions are exactly 0, 1, ..., n - 1.",
        """
        select tenant_schema, product_id,
            'positions ' || string_agg(image_position::text, ',' order by image_position) as problem
        from {batch}
        where fact = 'image_row'
        group by tenant_schema, product_id
        having min(image_position) <> 0 or max(image_position) <> count(*) - 1
            or count(distinct image_position) <> count(*)
        """,
    ),
    "no_orphan_product_id": (
        "Every product_images.product_id exists in the tenant's products.",
        """
        select tenant_schema, product_id, 'product does not exist: ' || url as problem
        from {batch}
        where fact = 'image_row' and not product_exists
        """,
    ),
}
"""name -> (description, unexpected_rows_query) of the detail suite, over every JSONB element, row and
reject. Literal braces would have to be doubled, and no `--` comment: each query is written on one line."""

_ELEMENTS_AGREE = (
    "fact = 'summary' and legacy_column "
    "and (jsonb_elements, jsonb_elements_hash) = (accounted_elements, accounted_elements_hash)"
)

_URL_PAIRS_DIFFER = (
    "fact = 'summary' and legacy_column "
    "and (jsonb_urls, jsonb_urls_hash) is distinct from (loaded_urls, loaded_urls_hash)"
)

SUMMARY_CHECKS: dict[str, tuple[str, str]] = {
    "tenant_migrated": PARITY_CHECKS["tenant_migrated"],
    "elements_accounted_for": (
        "JSONB elements = product_images rows + product_images_rejects rows, product by product "
        "(counts and a hash sum of the product ids, compared in the database).",
        """
        select tenant_schema, null::bigint as product_id,
            jsonb_elements || ' JSONB elements, ' || accounted_elements || ' rows and rejects'
            || case when jsonb_elements = accounted_elements then ', on other products' else '' end as problem
        from {batch}
        where fact = 'summary' and legacy_column
            and (jsonb_elements, jsonb_elements_hash) is distinct from (accounted_elements, accounted_elements_hash)
        """,
    ),
    "every_url_loaded": (
        "Every usable JSONB url is in product_images for its product, as many times as it occurs "
        "(counts and a hash sum of the (product, url) pairs, compared in the database).",
        """
        select tenant_schema, null::bigint as product_id,
            jsonb_urls || ' usable JSONB urls, ' || loaded_urls || ' rows: not the same (product, url) pairs' as problem
        from {batch}
        where """
        + _URL_PAIRS_DIFFER
        + """ and jsonb_urls >= loaded_urls
        """,
    ),
    "no_drift": (
        "No product_images row without a matching JSONB element while the legacy column exists "
        "(counts and a hash sum of the (product, url) pairs, compared in the database).",
        """
        select tenant_schema, null::bigint as product_id,
            loaded_urls || ' rows, ' || jsonb_urls || ' usable JSONB urls: not the same (product, url) pairs' as problem
        from {batch}
        where """
        + _URL_PAIRS_DIFFER
        + """ and jsonb_urls <= loaded_urls
        """,
    ),
    "positions_follow_jsonb": (
        PARITY_CHECKS["positions_follow_jsonb"][0]
        + " Compared as a hash sum of (product, source_index, position, url) when the (product, url) pairs "
        "agree (when they do not, every_url_loaded or no_drift fails first).",
        """
        select tenant_schema, null::bigint as product_id,
            'rows loaded from the JSONB are not where the JSONB puts them (source_index, position or url)'
            as problem
        from {batch}
        where fact = 'summary' and legacy_column
            and (jsonb_urls, jsonb_urls_hash) = (loaded_urls, loaded_urls_hash)
            and jsonb_placements_hash is distinct from loaded_placements_hash
        """,
    ),
    "rejects_hold_their_elements": (
        PARITY_CHECKS["rejects_hold_their_elements"][0]
        + " Compared as counts and a hash sum of (product, index, element) when the elements are accounted "
        "for (when they are not, elements_accounted_for fails first).",
        """
        select tenant_schema, null::bigint as product_id,
            jsonb_rejects || ' JSONB elements cannot be loaded, ' || kept_rejects
            || ' rejects: not the same (product, index, element)' as problem
        from {batch}
        where """
        + _ELEMENTS_AGREE
        + """
            and (jsonb_rejects, jsonb_rejects_hash) is distinct from (kept_rejects, kept_rejects_hash)
        """,
    ),
    "rows_hold_their_elements": (
        PARITY_CHECKS["rows_hold_their_elements"][0] + " Counted in the database, in the summary's pass.",
        """
        select tenant_schema, null::bigint as product_id,
            rows_off_element || ' rows loaded from the JSONB do not keep their JSONB element in legacy_element'
            as problem
        from {batch}
        where fact = 'summary' and legacy_column and rows_off_element > 0
        """,
    ),
}
"""name -> (description, unexpected_rows_query) of the parity suite, over each tenant's summary. The checks
computed from hash sums (:data:`DETAILED_CHECKS`) are named by product by the detail suite."""

ROW_CHECKS: dict[str, tuple[str, str]] = {
    name: PARITY_CHECKS[name] for name in ("one_label_per_product", "positions_contiguous", "no_orphan_product_id")
}
"""name -> (description, unexpected_rows_query) of the rows suite, over each tenant's product_images rows."""

DETAILED_CHECKS = (
    "elements_accounted_for",
    "every_url_loaded",
    "no_drift",
    "positions_follow_jsonb",
    "rejects_hold_their_elements",
    "rows_hold_their_elements",
)
"""The parity checks computed from hash sums: a tenant failing one is validated with the detail suite."""
