"""The demo's labels: the rule and the evidence measured against ``demo.label_truth``, side by side.

``make demo`` first runs the migration with the legacy rule only (the last photo of a
product with ``label_min_images`` or more photos is the label), then ``product-images labels
detect`` over every photo and ``dbt run`` again, which applies the evidence
(``label_source = 'evidence'``) and leaves the doubtful products to the rule and the review
queue. :func:`label_figures` measures both from the tables; :func:`render_label_table` prints
them next to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from product_images.demo.commands import run_json_command
from product_images.labels.detect import DetectSummary

__all__ = [
    "LabelFigures",
    "LabelPrecision",
    "label_figures",
    "label_precision",
    "render_label_table",
    "run_demo_detection",
]


@dataclass(frozen=True)
class LabelPrecision:
    """How well the flags in ``product_images`` find the demo's real price tags (``demo.label_truth``).

    Attributes:
        labels: images flagged ``is_label``.
        true_labels: of those, the ones that are a real price tag.
        price_tags: real price tags in the data (611 in the demo).
        found_price_tags: real price tags flagged ``is_label``.
    """

    labels: int
    true_labels: int
    price_tags: int
    found_price_tags: int

    @property
    def precision(self) -> float:
        """true_labels / labels (1.0 when nothing is flagged)."""
        return self.true_labels / self.labels if self.labels else 1.0

    @property
    def recall(self) -> float:
        """found_price_tags / price_tags (1.0 when there are none)."""
        return self.found_price_tags / self.price_tags if self.price_tags else 1.0


def label_precision(conn: psycopg.Connection, schema: str) -> LabelPrecision:
    """Compare the ``is_label`` flags in the ``product_images`` union view with ``demo.label_truth``.

    Args:
        conn: a connection to the demo database.
        schema: the dbt schema holding the union view.

    Raises:
        psycopg.errors.UndefinedTable: the demo data or the model is missing.
    """
    query = sql.SQL(
        """
        select
            count(*) filter (where images.is_label),
            count(*) filter (where images.is_label and truth.label_url is not null),
            (select count(*) from demo.label_truth),
            count(*) filter (where images.is_label and truth.label_url is not null)
        from {view} as images
        left join demo.label_truth as truth
            on truth.tenant_schema = images.tenant_schema
            and truth.product_id = images.product_id
            and truth.label_url = images.url
        """
    ).format(view=sql.Identifier(schema, "product_images"))
    return LabelPrecision(*conn.execute(query).fetchone())  # type: ignore[misc]


@dataclass(frozen=True)
class LabelFigures:
    """The rule's and the evidence's results on the demo, as a person would judge them.

    Attributes:
        products: products in the tenants' tables (with or without images).
        rule: the legacy rule alone (last photo of a product with ``label_min_images``+ photos from its
            JSONB: rows the app added after cut-over do not count, as in the model).
        current: the flags the tables hold now (after detection and ``dbt run``: the evidence,
            doubtful products following the rule, a person's decisions over both).
        decided_products: products the evidence decided (``label_source = 'evidence'``).
        decided: precision/recall counted on the decided products only.
        doubtful_products: rows of the dbt schema's ``label_review_queue``.
        rule_products_to_check: products the rule flags a photo of (all of them need a person's look).
    """

    products: int
    rule: LabelPrecision
    current: LabelPrecision
    decided_products: int
    decided: LabelPrecision
    doubtful_products: int
    rule_products_to_check: int


# The legacy rule recomputed from the positions, against demo.label_truth: labels, true labels, price tags,
# price tags found, products flagged. The SQL text is kept as it was sent (its indentation included).
_RULE_QUERY = sql.SQL(
    """
            with ranked as (
                select
                    tenant_schema,
                    product_id,
                    url,
                    source_index is not null
                    and position = max(position) filter (where source_index is not null) over products
                    and count(*) filter (where source_index is not null) over products >= {min_images} as rule_label
                from {view}
                window products as (partition by tenant_schema, product_id)
            )

            select
                count(*) filter (where ranked.rule_label),
                count(*) filter (where ranked.rule_label and truth.label_url is not null),
                (select count(*) from demo.label_truth),
                count(*) filter (where ranked.rule_label and truth.label_url is not null),
                count(distinct (ranked.tenant_schema, ranked.product_id)) filter (where ranked.rule_label)
            from ranked
            left join demo.label_truth as truth
                on truth.tenant_schema = ranked.tenant_schema
                and truth.product_id = ranked.product_id
                and truth.label_url = ranked.url
            """
)
# The products the evidence decided: their count, then labels, true labels, price tags, price tags found.
_DECIDED_QUERY = sql.SQL(
    """
            with decided as (
                select tenant_schema, product_id
                from {view}
                group by tenant_schema, product_id
                having bool_or(label_source = 'evidence')
            )

            select
                (select count(*) from decided),
                count(*) filter (where images.is_label),
                count(*) filter (where images.is_label and truth.label_url is not null),
                count(*) filter (where truth.label_url is not null),
                count(*) filter (where images.is_label and truth.label_url is not null)
            from {view} as images
            inner join decided
                on decided.tenant_schema = images.tenant_schema
                and decided.product_id = images.product_id
            left join demo.label_truth as truth
                on truth.tenant_schema = images.tenant_schema
                and truth.product_id = images.product_id
                and truth.label_url = images.url
            """
)


def label_figures(conn: psycopg.Connection, schema: str, *, label_min_images: int = 2) -> LabelFigures:
    """Measure the rule (recomputed from positions) and the current flags against ``demo.label_truth``.

    Args:
        conn: a connection to the demo database, after ``dbt run``.
        schema: the dbt schema (union views ``product_images`` and ``label_review_queue``).
        label_min_images: the rule's var (the legacy convention: 2).

    Returns:
        A :class:`LabelFigures`.

    Raises:
        psycopg.errors.UndefinedTable: the demo data or the models are missing.
    """
    view = sql.Identifier(schema, "product_images")
    rule_row = conn.execute(_RULE_QUERY.format(view=view, min_images=sql.Literal(label_min_images))).fetchone()
    decided_row = conn.execute(_DECIDED_QUERY.format(view=view)).fetchone()
    assert rule_row is not None and decided_row is not None
    tenants = [row[0] for row in conn.execute(sql.SQL("select distinct tenant_schema from {}").format(view))]
    products = sum(
        conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(tenant, "products"))).fetchone()[0]  # type: ignore[index]
        for tenant in tenants
    )
    doubtful = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(schema, "label_review_queue"))
    ).fetchone()
    return LabelFigures(
        products=products,
        rule=LabelPrecision(*rule_row[:4]),
        current=label_precision(conn, schema),
        decided_products=decided_row[0],
        decided=LabelPrecision(*decided_row[1:]),
        doubtful_products=doubtful[0] if doubtful else 0,
        rule_products_to_check=rule_row[4],
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def render_label_table(figures: LabelFigures) -> Table:
    """The rule and the evidence side by side: labels flagged, precision, recall, products doubtful."""
    rule, now, decided = figures.rule, figures.current, figures.decided
    table = Table(title="Price tags: the legacy rule vs the evidence (demo.label_truth)", title_justify="left")
    table.add_column("")
    table.add_column("rule", justify="right")
    table.add_column("evidence", justify="right")
    table.add_row("labels flagged", f"{rule.labels:,}", f"{now.labels:,}")
    table.add_row("of them real price tags", f"{rule.true_labels:,}", f"{now.true_labels:,}")
    table.add_row("precision", f"{rule.precision:.1%}", f"{now.precision:.1%}")
    table.add_row(
        "recall",
        f"{rule.recall:.1%} ({rule.found_price_tags:,} of {rule.price_tags:,})",
        f"{now.recall:.1%} ({now.found_price_tags:,} of {now.price_tags:,})",
    )
    table.add_row("price tags left unflagged", f"{rule.price_tags - rule.found_price_tags:,}", _unflagged(now))
    table.add_row(
        "products decided",
        "0",
        f"{figures.decided_products:,} ({_share(figures.decided_products, figures.products)})",
    )
    table.add_row(
        "  precision / recall on them",
        "-",
        f"{decided.precision:.1%} / {decided.recall:.1%}",
    )
    table.add_row(
        "products doubtful (for a person)",
        f"{figures.rule_products_to_check:,} ({_share(figures.rule_products_to_check, figures.products)})",
        f"{figures.doubtful_products:,} ({_share(figures.doubtful_products, figures.products)})",
    )
    return table


def _unflagged(now: LabelPrecision) -> str:
    missed = now.price_tags - now.found_price_tags
    return f"{missed:,} ({_share(missed, now.price_tags)})"


def run_demo_detection(console: Console, *, concurrency: int = 2) -> tuple[int, DetectSummary | None]:
    """Run ``product-images labels detect --concurrency N --json`` over every tenant and print its summary.

    A separate process, as an operator runs it, with this process's environment (the demo
    storage's endpoint and URL mapping); its progress bar goes to the inherited stderr.

    Args:
        console: where to print.
        concurrency: worker processes (``--concurrency``; 2 on the demo's 2-core machine).

    Returns:
        ``(exit code, summary)``: 0 and the :class:`~product_images.labels.detect.DetectSummary`
        when it ran (unreadable photos are recorded, not errors), else the command's code
        (1: could not run, 2: bad configuration) and None.
    """
    code, values = run_json_command(
        console,
        ["labels", "detect", "--json", "--concurrency", str(concurrency)],
        f"product-images labels detect --concurrency {concurrency}",
    )
    if values is None:
        return code, None
    values.pop("photos_per_second", None)
    summary = DetectSummary(**values)
    learned = {tenant: info for tenant, info in summary.profiles.items() if info.get("confirmed_tags")}
    if learned:
        console.print(
            "  shop profiles from confirmed tags: "
            + ", ".join(f"{tenant} {info['confirmed_tags']}" for tenant, info in sorted(learned.items())),
            highlight=False,
        )
    for line in summary.lines():
        if not line.startswith("  apply them"):
            console.print(line, highlight=False)
    return 0, summary
