"""``product-images labels``: detect, accuracy, evaluate, train, review (the price-tag detector and its review page)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from product_images.cli._common import (
    claim_options,
    connect_or_fail,
    fail,
    option_group,
    print_summary,
    storage_or_fail,
    tenants_option,
)


@click.group()
def labels() -> None:
    """Which photo is the price tag: the evidence from the photos, and the review of the doubtful ones."""


@labels.command("detect")
@tenants_option("do")
@claim_options(
    verb="score",
    unit="products",
    limit_note=" (with --concurrency 1)",
    concurrency=(64, 1, "Worker processes, each scoring on a core of its own."),
    batch_size=(10_000, 20),
    lease_seconds=600.0,
    lease_envvar=None,
    retry_help="Also redo photos whose label_error is set.",
)
def labels_detect(
    tenants: tuple[str, ...],
    limit: int | None,
    concurrency: int,
    batch_size: int,
    lease_seconds: float,
    dry_run: bool,
    retry_failed: bool,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Score every photo by the evidence that it is the shop's price tag (text, price, barcodes, looks).

    Downloads each photo through the metadata backfill's storage configuration and URL mapping (AWS_ENDPOINT_URL_S3,
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, IMAGE_URL_PREFIX + IMAGE_BUCKET or IMAGE_URL_MAP_FILE). Then `dbt run
    --select product_images` applies the scores. Exit 0 when the run completed (unreadable photos in label_error, photos
    locked by another transaction left for later), 1 when it could not run or stopped (database errors, a killed worker
    process: run it again), 2 on a bad option or variable, no AWS credentials, no such bucket, rejected or expired
    credentials, an unreachable endpoint (AWS_ENDPOINT_URL_S3), a store failing (5xx): no batch written, no claim kept.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from product_images.connection import dbt_schema
    from product_images.labels.detect import DetectConfigurationError, DetectError, detect_labels

    mapping, client = storage_or_fail(8, mapping_only=dry_run)
    conn = connect_or_fail(autocommit=True, application_name="product-images labels detect")
    console = Console(stderr=True)
    show = console.is_terminal if progress is None else progress
    with Progress(
        TextColumn("[bold]labels detect"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("photos"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    ) as bar:
        task = bar.add_task("photos", total=None)
        try:
            with conn:
                summary = detect_labels(
                    conn,
                    client,
                    mapping,
                    schema=dbt_schema(),
                    tenants=list(tenants) or None,
                    limit=limit,
                    concurrency=concurrency,
                    batch_size=batch_size,
                    lease_seconds=lease_seconds,
                    retry_failed=retry_failed,
                    dry_run=dry_run,
                    progress=(lambda done, total: bar.update(task, completed=done, total=total)) if show else None,
                )
        except (ValueError, DetectConfigurationError) as error:
            fail(2, str(error))
        except DetectError as error:
            fail(1, str(error))
    print_summary(summary, as_json)


@labels.command("accuracy")
@tenants_option("measure")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout (shape above).")
def labels_accuracy(tenants: tuple[str, ...], as_json: bool) -> None:
    """How often the evidence agrees with the shop's own people, per tenant.

    For every product a person decided (the overrides seed or the app), what the evidence
    alone would have said (a shop profile learned from the tenant's other decisions), with
    the thresholds of dbt_project.yml: precision and recall with a Wilson 95% interval and
    the number of decisions each rests on. Exit 0 when measured, 1 when it could not run
    (database, no migrated tenant, a table without the detector's columns), 2 on a bad
    --tenant, dbt var or PRODUCT_IMAGES_TENANT_REGEX.

    \b
    --json: {"detector", "threshold", "floor", "tenants": [T, ...], "total": T}, each T
    {"tenant", "decided", "partly_decided", "unscored", "labels", "correct",
     "decided_tags", "doubtful", "cleared_wrongly", "precision", "precision_interval",
     "recall", "recall_interval"}: counts of products; precision = correct / labels,
    recall = correct / decided_tags (null when 0), intervals [low, high] ([0, 1] when 0).
    """
    import psycopg

    from product_images.checks.checkpoints import CheckpointConfigError, label_score_settings
    from product_images.labels.accuracy import AccuracyUnavailable, UnknownTenantError, shop_accuracy
    from product_images.labels.detector import load_detector

    try:
        threshold, floor = label_score_settings()
    except CheckpointConfigError as error:
        fail(2, str(error))
    conn = connect_or_fail(autocommit=True, application_name="product-images labels accuracy")
    with conn:
        try:
            report = shop_accuracy(conn, load_detector(), threshold, floor, list(tenants) or None)
        except UnknownTenantError as error:
            fail(2, f"--tenant: {error}")
        except AccuracyUnavailable as error:
            fail(1, str(error))
        except psycopg.errors.InvalidRegularExpression as error:
            fail(2, f"PRODUCT_IMAGES_TENANT_REGEX is not a valid regular expression: {str(error).strip()}")
        except psycopg.Error as error:
            fail(1, f"cannot list the tenants: {str(error).strip()}")
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict()))
    else:
        for line in report.lines():
            click.echo(line)


@labels.command("evaluate")
@click.option(
    "--renderer",
    required=True,
    metavar="NAME",
    help="An evaluation renderer (labels/evaluation/<NAME>) or a development one (labels/development/<NAME>).",
)
@click.option(
    "--set",
    "set_name",
    type=click.Choice(["small", "full"]),
    default="full",
    show_default=True,
    help="Which of the renderer's seeds (SEEDS) to draw with.",
)
@click.option("--products", type=click.IntRange(min=1), default=None, help="Products to draw (default 240, small 120).")
@click.option("--processes", type=click.IntRange(min=1, max=64), default=2, show_default=True, help="Worker processes.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object on stdout.")
def labels_evaluate(renderer: str, set_name: str, products: int | None, processes: int, as_json: bool) -> None:
    """Measure the detector on a drawn, labelled set: cold, then after one review round (5% of each shop).

    Draws the set, reads every photo, decides each product as `dbt run` does, then lets a
    person decide the first products of the review queue and decides the rest again with
    the shop profile learned from them. Evaluation renderers are for measuring only.
    """
    from product_images.labels.evaluation.measure import evaluate, figure_line, known_renderers, renderer_module

    try:
        module = renderer_module(renderer)
    except ValueError:
        fail(2, f"--renderer: unknown renderer {renderer!r}; use one of {', '.join(known_renderers())}")
    count = products or (240 if set_name == "full" else 120)
    report = evaluate(module.generate_set(module.SEEDS[set_name], count), processes)
    if as_json:
        import json

        click.echo(json.dumps(report))
        return
    click.echo(f"{renderer} seed {report['seed']}: {report['products']} products, {report['photos']} photos")
    for stage in ("cold", "after_review"):
        click.echo(figure_line(stage, report[stage]))
    click.echo(f"reviewed: {report['reviewed']} products")


@labels.command("train")
@click.option(
    "--set",
    "set_names",
    multiple=True,
    metavar="NAME",
    help="Development set to train on (repeatable): one of training.DEV_SETS (the demo's generator) or "
    "training.RENDERER_SETS (the other development renderers). Default: every set of training.DEV_SETS.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1, max=64),
    default=2,
    show_default=True,
    help="Worker processes rendering and measuring the sets' photos (cached after the first run).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the sets' evidence is cached. Default: $XDG_CACHE_HOME/product-images/label-training.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the model. Default: the package's labels/model.json.",
)
@click.option("--dry-run", is_flag=True, help="Train and report; write nothing.")
@click.option(
    "--allow-missed-targets",
    is_flag=True,
    help="Write the model even when its thresholds miss a target out of fold (for a study, not to ship).",
)
@click.option(
    "--leave-one-renderer-out",
    "holdout",
    is_flag=True,
    help="Write nothing: per renderer of the sets, fit on the others and measure on it (with the installed "
    "model's thresholds), cold and after one review round; then the worst held-out renderer.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout.")
def labels_train(
    set_names: tuple[str, ...],
    processes: int,
    cache_dir: Path | None,
    output: Path | None,
    dry_run: bool,
    allow_missed_targets: bool,
    holdout: bool,
    as_json: bool,
) -> None:
    """Refit the price-tag model and choose its two thresholds on the synthetic development sets.

    Needs scikit-learn (pip install -e '.[train]'). Prints the out-of-fold figures, cold and
    with shop profiles, and writes the model; then set label_score_threshold and
    label_score_floor in dbt_project.yml to the values it prints. A model whose thresholds
    miss a target out of fold is reported and not written (unless --allow-missed-targets).
    Exit 0 when trained, 1 when a target is missed or scikit-learn is missing, 2 on a bad argument.
    """
    from product_images.labels import renderer_holdout, scoring, training

    every: list[training.DevSet | training.RendererSet] = [*training.DEV_SETS, *training.RENDERER_SETS]
    known = {dev.name: dev for dev in every}
    unknown = [name for name in set_names if name not in known]
    if unknown:
        fail(2, f"--set: unknown set {', '.join(unknown)}; the sets are {', '.join(known)}")
    sets = [known[name] for name in set_names] or list(training.DEV_SETS)
    console = Console(stderr=True)

    def progress(name: str, done: int, total: int) -> None:
        if done == total or done % 500 == 0:
            console.print(f"{name}: {done}/{total} products measured")

    try:
        if holdout:
            print_summary(renderer_holdout.measure_sets(sets, cache_dir, processes, progress), as_json)
            return
        report = training.train(sets, cache_dir=cache_dir, processes=processes, progress=progress)
    except training.TrainingError as error:
        fail(1, str(error))
    refused = bool(report.missed) and not allow_missed_targets
    if not dry_run and not refused:
        report.model.save(output or scoring.MODEL_PATH)
        report.written = str(output or scoring.MODEL_PATH)
    print_summary(report, as_json)
    if refused:
        fail(1, "the thresholds miss a target out of fold; nothing written (--allow-missed-targets writes it anyway)")


def review_page_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options of the review page's commands (``labels review``, and the demo's ``review``)."""
    options = [
        click.option("--tenant", default=None, metavar="SCHEMA", help="Only this tenant's products."),
        click.option(
            "--queue",
            "queue_kind",
            type=click.Choice(["doubtful", "all", "rule"]),
            default="doubtful",
            show_default=True,
            help="doubtful: the detector's queue (the rule's candidates, with a notice, until the detector has run); "
            "rule: products with 2+ photos labelled by the rule; all: every product with a photo.",
        ),
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="Address to listen on; anything but 127.0.0.1 makes the page reachable from elsewhere.",
        ),
        click.option(
            "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port (0: any free)."
        ),
        click.option(
            "--apply",
            is_flag=True,
            help="When the session ends, run `dbt seed && dbt run --select product_images` for the decisions.",
        ),
        click.option(
            "--file",
            "path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="The review list (default: seeds/label_overrides.csv of the dbt project). With another file "
            "--apply is refused: dbt seed loads only the project's.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where thumbnails are cached (default: target/review-thumbnails of the checkout).",
        ),
    ]
    return option_group(options)(function)


def serve_review_page(environment: Any = None, **options: Any) -> NoReturn:
    """Serve the review page with the parsed ``options`` (see :func:`review_page_options`) and exit with its code.

    ``environment``: what the page runs inside (``labels.review.server.ReviewEnvironment``), or None.
    """
    from typing import cast

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:  # the `review` extra is not installed
        fail(2, f"{error}: install the review page with pip install -e '.[review]'")

    from product_images.labels.review.queue import QueueKind
    from product_images.labels.review.server import serve_review

    sys.exit(
        serve_review(
            queue=cast(QueueKind, options["queue_kind"]),
            tenant=options["tenant"],
            host=options["host"],
            port=options["port"],
            apply=options["apply"],
            overrides_path=options["path"],
            cache_dir=options["cache_dir"],
            environment=environment,
        )
    )


@labels.command("review")
@review_page_options
def labels_review(**options: Any) -> None:
    """Start the label review page, a local web app, and print its URL.

    One product at a time (or a grid): every photo as a thumbnail, the current
    decision and where it comes from. Keys: 1-9 pick the price-tag photo, 0 no
    price tag, Enter confirm and go on, Backspace back, u undo. Each decision is
    written to seeds/label_overrides.csv before the page moves on. Ctrl-C or the
    page's Finish button ends the session. Storage: as for `metadata backfill`
    (AWS_ENDPOINT_URL_S3, IMAGE_URL_PREFIX + IMAGE_BUCKET or IMAGE_URL_MAP_FILE).
    Exit 0; 1 when --apply's dbt commands failed; 2 when the page could not start
    (or --apply with a --file that is not the project's seeds/label_overrides.csv).
    """
    serve_review_page(None, **options)
