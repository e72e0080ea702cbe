"""The ``product-images`` command: argument parsing only; the work is in the library."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from product_images.app.marketplaces import MARKETPLACE_RULES


def _fail(code: int, message: str) -> NoReturn:
    """Print ``Error: <message>`` on stderr and exit with ``code`` (1: could not run; 2: bad input or configuration)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _connect_or_fail(**options: Any) -> Any:
    """A connection from the PG* variables (:func:`product_images.connection.connect` with ``options``),
    or exit 1 naming the server it could not reach."""
    import psycopg

    from product_images.connection import connect, describe_target

    try:
        return connect(**options)
    except psycopg.OperationalError as error:
        _fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")


def _storage_or_fail(max_pool_connections: int, *, mapping_only: bool = False) -> tuple[Any, Any]:
    """``(UrlMapping, S3 client)`` from the storage variables (a None client with ``mapping_only``),
    or exit 2 naming what is wrong with the configuration."""
    from botocore.exceptions import BotoCoreError

    from product_images.metadata.storage import UrlMapping, storage_from_env

    try:
        if mapping_only:
            return UrlMapping.from_env(), None
        return storage_from_env(max_pool_connections=max_pool_connections)
    except ValueError as error:
        _fail(2, str(error))
    except BotoCoreError as error:  # partial credentials, unknown AWS_PROFILE...
        _fail(2, f"AWS configuration: {error}")


def _tenants_option(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--tenant SCHEMA`` option (repeatable) of the commands that work tenant by tenant."""
    return click.option(
        "--tenant",
        "tenants",
        multiple=True,
        metavar="SCHEMA",
        help=f"Tenant schema to {verb} (repeatable). Default: every tenant with a product_images table.",
    )


def _claim_options(
    *,
    verb: str,
    unit: str,
    limit_note: str,
    concurrency: tuple[int, int, str],
    batch_size: tuple[int, int],
    lease_seconds: float,
    lease_envvar: str | None,
    retry_help: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of the commands that claim work in batches under a lease (``metadata backfill``,
    ``labels detect``): --limit, --concurrency, --batch-size, --lease-seconds, --dry-run, --retry-failed,
    --json, --progress. ``verb`` (probe, score) and ``unit`` (rows, products) word their help;
    ``concurrency`` is (maximum, default, help), ``batch_size`` (maximum, default)."""
    done = {"probe": "probed", "score": "scored"}[verb]
    most, default, concurrency_help = concurrency
    options = [
        click.option(
            "--limit",
            type=click.IntRange(min=0),
            default=None,
            help=f"{verb.capitalize()} at most this many {unit} in all{limit_note}.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1, max=most),
            default=default,
            show_default=True,
            help=concurrency_help,
        ),
        click.option(
            "--batch-size",
            type=click.IntRange(min=1, max=batch_size[0]),
            default=batch_size[1],
            show_default=True,
            help=f"{unit.capitalize()} claimed, {done} and written together.",
        ),
        click.option(
            "--lease-seconds",
            type=click.FloatRange(min=0, min_open=True),
            default=lease_seconds,
            show_default=True,
            envvar=lease_envvar,
            help=f"How long a batch's claim lasts; a killed worker's {unit} wait this long for another worker.",
        ),
        click.option("--dry-run", is_flag=True, help=f"Count the {unit} that would be {done}; change nothing."),
        click.option("--retry-failed", is_flag=True, help=retry_help),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout."),
        click.option(
            "--progress/--no-progress", default=None, help="Progress bar on stderr. Default: when stderr is a terminal."
        ),
    ]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _print_summary(summary: Any, as_json: bool) -> None:
    """A run's summary on stdout: one JSON object (``summary.to_dict()``), or its human lines."""
    if as_json:
        import json

        click.echo(json.dumps(summary.to_dict()))
    else:
        for line in summary.lines():
            click.echo(line)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="product-images")
def main() -> None:
    """Move product photos from products.images (JSONB) to product_images tables, safely.

    Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    """


@main.command()
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="dbt processes, each migrating one shard of the tenants (a hash of the schema name).",
)
@click.option(
    "--vars",
    "dbt_vars",
    default=None,
    help='More dbt vars for every shard, as a JSON object, e.g. \'{"lock_timeout": "2s"}\'.',
)
@click.option(
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The dbt project (default: the checkout this command runs from).",
)
def migrate(jobs: int, dbt_vars: str | None, project_dir: Path | None) -> None:
    """Run the migration (dbt run --select product_images) in JOBS shards at once and print one summary.

    Exit code: 0 when every shard succeeded, 1 when a tenant failed (the others are
    committed), 2 when dbt could not run. Each shard's output: target/shards/<i>/dbt.out.
    """
    import json

    from product_images.migration.shards import run_shards

    try:
        parsed = json.loads(dbt_vars) if dbt_vars else {}
    except json.JSONDecodeError as error:
        _fail(2, f"--vars must be a JSON object: {error}")
    if not isinstance(parsed, dict):
        _fail(2, '--vars must be a JSON object, e.g. \'{"lock_timeout": "2s"}\'')
    conn = _connect_or_fail(autocommit=True, application_name="product-images migrate")
    try:
        outcome = run_shards(jobs, conn, dbt_vars=parsed, project_dir=project_dir)
    except ValueError as error:
        _fail(2, str(error))
    finally:
        conn.close()
    click.echo(outcome.summary())
    sys.exit(outcome.exit_code)


@main.command()
@click.option("--tenant", required=True, help="Tenant schema, e.g. user_1.")
@click.option("--product", "product_id", required=True, type=int, help="Product id in <tenant>.products.")
@click.option(
    "--marketplace",
    required=True,
    type=click.Choice(sorted(MARKETPLACE_RULES)),
    help="Marketplace whose photo rules apply.",
)
def payload(tenant: str, product_id: int, marketplace: str) -> None:
    """Print the image part of a product's marketplace payload as JSON.

    Stdout: the JSON payload (eBay: {"product": {"imageUrls": [...]}}, Vinted:
    {"photos": [{"url", "position"}, ...]}). Stderr: one line per image left
    out, with its reason. Exit 1 when no photo is publishable or the tenant or
    product does not exist.
    """
    import json

    import psycopg

    from product_images.app.marketplaces import NoPublishablePhotoError
    from product_images.app.payloads import describe_dropped, product_payload
    from product_images.app.service import ProductImageError
    from product_images.connection import connect, describe_target

    try:
        with connect() as conn:
            body, selection = product_payload(conn, tenant, product_id, marketplace)
    except NoPublishablePhotoError as error:
        for line in describe_dropped(error.selection):
            click.echo(line, err=True)
        raise click.ClickException(str(error)) from None
    except ProductImageError as error:
        raise click.ClickException(str(error)) from None
    except psycopg.OperationalError as error:
        raise click.ClickException(f"cannot connect to {describe_target()}: {error}") from None
    for line in describe_dropped(selection):
        click.echo(line, err=True)
    click.echo(json.dumps(body, indent=2))


def _run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options of running a job, shared by `publish` and `publish resume`."""
    options = [
        click.option(
            "--endpoint",
            envvar="PRODUCT_IMAGES_MARKETPLACE_URL",
            metavar="URL",
            help="The marketplace API's base URL (env PRODUCT_IMAGES_MARKETPLACE_URL).",
            default=None,
        ),
        click.option(
            "--token",
            envvar="PRODUCT_IMAGES_MARKETPLACE_TOKEN",
            default=None,
            hidden=True,
            help="Bearer token (env PRODUCT_IMAGES_MARKETPLACE_TOKEN).",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(1, 20),
            default=3,
            show_default=True,
            help="Attempts per task before the job stops at it.",
        ),
        click.option(
            "--retry-wait",
            type=click.FloatRange(0, 60),
            default=1.0,
            show_default=True,
            help="Seconds before a task's first retry, doubled after each.",
        ),
        click.option(
            "--lease-seconds",
            type=click.FloatRange(0, min_open=True),
            default=300.0,
            show_default=True,
            envvar="PRODUCT_IMAGES_TASK_LEASE_SECONDS",
            help="How long a claimed task is this worker's; a task left PROCESSING is taken up after it.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0, min_open=True),
            default=10.0,
            show_default=True,
            help="Seconds to wait for each HTTP answer.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_publish(
    tenant: str, job_or_product: object, marketplace: str | None, options: dict[str, object], resume: bool
) -> None:
    """Shared body of `publish` (plan + create + run) and `publish resume`: exit 0, 1 or 2."""
    import psycopg

    from product_images.publish.client import HttpMarketplaceClient
    from product_images.publish.plans import (
        BadPublishInput,
        NothingToPublishError,
        PublishError,
        SchemaNotReadyError,
        build_plan,
    )
    from product_images.publish.tasks import create_job, format_tasks, job_status, run_job

    endpoint = options["endpoint"]
    if not endpoint:
        _fail(
            2,
            "--endpoint (or PRODUCT_IMAGES_MARKETPLACE_URL) is required to run a job: the marketplace "
            "API's base URL, e.g. http://127.0.0.1:8080",
        )
    conn = _connect_or_fail(autocommit=True, application_name="product-images publish")
    with conn:
        try:
            if resume:
                tasks = job_status(conn, tenant, job_or_product)  # type: ignore[arg-type]
                job_id = tasks[0].job_id
                marketplace = str(tasks[0].payload.get("marketplace"))
            else:
                plan = build_plan(conn, tenant, job_or_product, marketplace)  # type: ignore[arg-type]
                for line in plan.lines():
                    click.echo(line)
                job_id = create_job(conn, plan)
            with HttpMarketplaceClient(
                str(endpoint),
                str(marketplace),
                token=options["token"],  # type: ignore[arg-type]
                timeout=float(options["timeout"]),  # type: ignore[arg-type]
            ) as client:
                outcome = run_job(
                    conn,
                    tenant,
                    job_id,
                    client,
                    max_attempts=int(options["max_attempts"]),  # type: ignore[call-overload]
                    retry_wait=float(options["retry_wait"]),  # type: ignore[arg-type]
                    lease_seconds=float(options["lease_seconds"]),  # type: ignore[arg-type]
                    progress=lambda line: click.echo(line, err=True),
                )
        except NothingToPublishError as error:
            _fail(2, str(error))
        except (BadPublishInput, SchemaNotReadyError) as error:
            _fail(2, str(error))
        except PublishError as error:
            _fail(1, str(error))
        except psycopg.Error as error:
            _fail(1, f"database error: {str(error).strip()}")
    for line in format_tasks(outcome.tasks):
        click.echo(line)
    click.echo(outcome.summary())
    if not outcome.success:
        click.echo(f"resume with: product-images publish resume --tenant {tenant} --job {job_id}", err=True)
    sys.exit(0 if outcome.success else 1)


@main.group(invoke_without_command=True, subcommand_metavar="[resume|status]")
@click.option("--tenant", help="Tenant schema, e.g. user_1.")
@click.option("--product", "product_id", type=int, help="Product id in <tenant>.products.")
@click.option("--marketplace", type=click.Choice(sorted(MARKETPLACE_RULES)), help="Where to publish.")
@click.option("--dry-run", is_flag=True, help="Print the plan; create and run nothing.")
@_run_options
@click.pass_context
def publish(
    ctx: click.Context,
    tenant: str | None,
    product_id: int | None,
    marketplace: str | None,
    dry_run: bool,
    **options: object,
) -> None:
    """Publish a product's photos and listing as an ordered, resumable job of marketplace_tasks.

    \b
    product-images publish --tenant T --product P --marketplace vinted|ebay [--dry-run]
    product-images publish resume --tenant T --job J
    product-images publish status --tenant T --job J

    Prints the plan (validate, upload image 1/n ... n/n, create or update the
    listing; product photos only, never the label); without --dry-run creates
    the job and runs it. Exit 0 when every task succeeded, 1 when a task failed
    (the job stopped there: `publish resume`), 2 on bad input.
    """
    if ctx.invoked_subcommand is not None:
        given = [
            name
            for name in ("tenant", "product_id", "marketplace", "dry_run")
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            raise click.UsageError(
                f"the options of publishing a product go without a subcommand; "
                f"`publish {ctx.invoked_subcommand}` takes its own --tenant and --job"
            )
        return
    missing = [
        flag
        for flag, value in (("--tenant", tenant), ("--product", product_id), ("--marketplace", marketplace))
        if value is None
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or a subcommand: resume, status)")
    if dry_run:
        import psycopg

        from product_images.connection import connect, describe_target
        from product_images.publish.plans import PublishError, build_plan

        try:
            with connect() as conn:
                plan = build_plan(conn, tenant, product_id, marketplace)  # type: ignore[arg-type]
        except PublishError as error:
            _fail(2, str(error))
        except psycopg.OperationalError as error:
            _fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")
        for line in plan.lines():
            click.echo(line)
        click.echo("dry run: no job created")
        sys.exit(0)
    _run_publish(tenant, product_id, marketplace, options, resume=False)  # type: ignore[arg-type]


@publish.command("resume")
@click.option("--tenant", required=True, help="Tenant schema, e.g. user_1.")
@click.option("--job", "job_id", required=True, help="The job's id (a UUID).")
@_run_options
def publish_resume(tenant: str, job_id: str, **options: object) -> None:
    """Run a job again: SUCCESS tasks skipped, the FAILED one retried, the rest in order.

    Exit 0 when every task succeeded, 1 when a task failed again (or another
    worker runs the job, or a task's lease has not expired), 2 on bad input.
    """
    _run_publish(tenant, job_id, None, options, resume=True)


@publish.command("status")
@click.option("--tenant", required=True, help="Tenant schema, e.g. user_1.")
@click.option("--job", "job_id", required=True, help="The job's id (a UUID).")
def publish_status(tenant: str, job_id: str) -> None:
    """Print a job's tasks in order, with status, attempts, times and errors. Exit 0, or 2 on bad input."""
    import psycopg

    from product_images.connection import connect, describe_target
    from product_images.publish.plans import PublishError
    from product_images.publish.tasks import format_tasks, job_status

    try:
        with connect() as conn:
            tasks = job_status(conn, tenant, job_id)
    except PublishError as error:
        _fail(2, str(error))
    except psycopg.OperationalError as error:
        _fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")
    for line in format_tasks(tasks):
        click.echo(line)


@main.group()
def metadata() -> None:
    """Image metadata (real format, file size, pixel size, EXIF orientation) read from object storage."""


@metadata.command("backfill")
@_tenants_option("do")
@_claim_options(
    verb="probe",
    unit="rows",
    limit_note="",
    concurrency=(512, 32, "Objects probed at once (threads and HTTP connections)."),
    batch_size=(100_000, 500),
    lease_seconds=300.0,
    lease_envvar="PRODUCT_IMAGES_LEASE_SECONDS",
    retry_help="Also redo rows whose metadata_error is set (unmapped included).",
)
def metadata_backfill(
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
    """Probe every image not probed yet and store its mime type, file size, width, height, EXIF orientation.

    Storage: AWS_ENDPOINT_URL_S3 (R2: https://<account>.r2.cloudflarestorage.com),
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; URL mapping: IMAGE_URL_PREFIX + IMAGE_BUCKET
    (+ IMAGE_KEY_PREFIX), or IMAGE_URL_MAP_FILE. Database: the PG* variables.
    Several workers may run at once. Exit 0 when the run completed (failed objects are
    recorded in metadata_error), 1 when it could not run, 2 on a configuration error.
    """
    from product_images.metadata.backfill import BackfillError, backfill

    mapping, client = _storage_or_fail(concurrency)
    conn = _connect_or_fail(autocommit=True)
    try:
        with conn:
            summary = backfill(
                conn,
                client,
                mapping,
                tenants=list(tenants) or None,
                limit=limit,
                batch_size=batch_size,
                concurrency=concurrency,
                lease_seconds=lease_seconds,
                retry_failed=retry_failed,
                dry_run=dry_run,
                progress=progress,
            )
    except ValueError as error:
        _fail(2, str(error))
    except BackfillError as error:
        _fail(1, str(error))
    _print_summary(summary, as_json)


@main.group()
def labels() -> None:
    """Which photo is the price tag: the evidence from the photos, and the review of the doubtful ones."""


@labels.command("detect")
@_tenants_option("do")
@_claim_options(
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

    Downloads each photo through the metadata backfill's storage configuration and URL
    mapping (AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, IMAGE_URL_PREFIX +
    IMAGE_BUCKET or IMAGE_URL_MAP_FILE). Then `dbt run --select product_images` applies the
    scores. Exit 0 when the run completed (unreadable photos are recorded in label_error), 1
    when it could not run, 2 on a configuration error.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from product_images.connection import dbt_schema
    from product_images.labels.detect import DetectError, detect_labels

    mapping, client = _storage_or_fail(8, mapping_only=dry_run)
    conn = _connect_or_fail(autocommit=True, application_name="product-images labels detect")
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
        except ValueError as error:
            _fail(2, str(error))
        except DetectError as error:
            _fail(1, str(error))
    _print_summary(summary, as_json)


@labels.command("accuracy")
@_tenants_option("measure")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout.")
def labels_accuracy(tenants: tuple[str, ...], as_json: bool) -> None:
    """How often the evidence agrees with the shop's own people, per tenant.

    For every product a person decided (the overrides seed or the app), what the evidence
    alone would have said (a shop profile learned from the tenant's other decisions), with
    the thresholds of dbt_project.yml: precision and recall with a Wilson 95% interval and
    the number of decisions each rests on. Exit 0 when measured, 1 when it could not run,
    2 on a bad --tenant or dbt var.
    """
    from product_images.checks.checkpoints import CheckpointConfigError, label_score_settings
    from product_images.labels.accuracy import shop_accuracy
    from product_images.labels.detector import load_detector

    try:
        threshold, floor = label_score_settings()
    except CheckpointConfigError as error:
        _fail(2, str(error))
    conn = _connect_or_fail(autocommit=True, application_name="product-images labels accuracy")
    with conn:
        try:
            report = shop_accuracy(conn, load_detector(), threshold, floor, list(tenants) or None)
        except ValueError as error:
            _fail(2, str(error))
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
    from product_images.labels.evaluation.measure import evaluate, known_renderers, renderer_module

    try:
        module = renderer_module(renderer)
    except ValueError:
        _fail(2, f"--renderer: unknown renderer {renderer!r}; use one of {', '.join(known_renderers())}")
    count = products or (240 if set_name == "full" else 120)
    report = evaluate(module.generate_set(module.SEEDS[set_name], count), processes)
    if as_json:
        import json

        click.echo(json.dumps(report))
        return
    click.echo(f"{renderer} seed {report['seed']}: {report['products']} products, {report['photos']} photos")
    for stage in ("cold", "after_review"):
        f = report[stage]
        click.echo(
            f"{stage}: precision {f['precision']:.3f} {f['precision_interval']} on {f['labels']} labels,"
            f" recall {f['recall']:.3f} on {f['decided_tags']} tags, doubtful {f['doubtful_share']:.1%},"
            f" unflagged {f['unflagged_share']:.1%} of {f['tags']} tags,"
            f" retail tags flagged {f['retail_flagged']} of {f['retail_tags']}"
        )
    click.echo(f"reviewed: {report['reviewed']} products")


@labels.command("train")
@click.option(
    "--set",
    "set_names",
    multiple=True,
    metavar="NAME",
    help="Development set to train on (repeatable). Default: every set of training.DEV_SETS.",
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
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout.")
def labels_train(
    set_names: tuple[str, ...],
    processes: int,
    cache_dir: Path | None,
    output: Path | None,
    dry_run: bool,
    allow_missed_targets: bool,
    as_json: bool,
) -> None:
    """Refit the price-tag model and choose its two thresholds on the synthetic development sets.

    Needs scikit-learn (pip install -e '.[train]'). Prints the out-of-fold figures, cold and
    with shop profiles, and writes the model; then set label_score_threshold and
    label_score_floor in dbt_project.yml to the values it prints. A model whose thresholds
    miss a target out of fold is reported and not written (unless --allow-missed-targets).
    Exit 0 when trained, 1 when a target is missed or scikit-learn is missing, 2 on a bad argument.
    """
    from product_images.labels import scoring, training

    known = {dev.name: dev for dev in training.DEV_SETS}
    unknown = [name for name in set_names if name not in known]
    if unknown:
        _fail(2, f"--set: unknown set {', '.join(unknown)}; the sets are {', '.join(known)}")
    sets = [known[name] for name in set_names] or list(training.DEV_SETS)
    console = Console(stderr=True)
    try:
        report = training.train(
            sets,
            cache_dir=cache_dir,
            processes=processes,
            progress=lambda name, done, total: (
                console.print(f"{name}: {done}/{total} products measured") if done == total or done % 500 == 0 else None
            ),
        )
    except training.TrainingError as error:
        _fail(1, str(error))
    refused = bool(report.missed) and not allow_missed_targets
    if not dry_run and not refused:
        report.model.save(output or scoring.MODEL_PATH)
        report.written = str(output or scoring.MODEL_PATH)
    _print_summary(report, as_json)
    if refused:
        _fail(1, "the thresholds miss a target out of fold; nothing written (--allow-missed-targets writes it anyway)")


@main.group()
def overrides() -> None:
    """The review list seeds/label_overrides.csv and the seed dbt loaded from it."""


@overrides.command("diff")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The review list (default: seeds/label_overrides.csv of the dbt project).",
)
def overrides_diff(path: Path | None) -> None:
    """List the rows added, removed or changed in the file since the last `dbt seed`.

    Exit 0 when the file is what is loaded, 1 when they differ (run `dbt seed`),
    2 when the file cannot be read or the database cannot be reached.
    """
    import psycopg

    from product_images.connection import connect, dbt_schema, describe_target
    from product_images.labels.overrides import (
        OverridesFileError,
        diff_overrides,
        loaded_overrides,
        read_overrides_file,
    )
    from product_images.project import project_dir

    path = path or project_dir() / "seeds" / "label_overrides.csv"
    try:
        file_rows = read_overrides_file(path)
    except (OSError, OverridesFileError) as error:
        _fail(2, str(error))
    try:
        with connect() as conn:
            loaded = loaded_overrides(conn, dbt_schema())
    except psycopg.Error as error:
        _fail(2, f"cannot read the loaded seed at {describe_target()}: {str(error).strip()}")
    diff = diff_overrides(file_rows, loaded)
    for line in diff.lines():
        click.echo(line)
    if diff.same:
        click.echo(
            f"{path}: {len(file_rows)} row(s), the same as loaded" + ("" if loaded is not None else " (never seeded)")
        )
        sys.exit(0)
    click.echo(
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed: run `dbt seed`", err=True
    )
    sys.exit(1)


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
            help="The review list (default: seeds/label_overrides.csv of the dbt project).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where thumbnails are cached (default: target/review-thumbnails of the checkout).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def serve_review_page(environment: Any = None, **options: Any) -> NoReturn:
    """Serve the review page with the parsed ``options`` (see :func:`review_page_options`) and exit with its code.

    ``environment``: what the page runs inside (``labels.review.server.ReviewEnvironment``), or None.
    """
    from typing import cast

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:  # the `review` extra is not installed
        _fail(2, f"{error}: install the review page with pip install -e '.[review]'")

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
    Exit 0; 1 when --apply's dbt commands failed; 2 when the page could not start.
    """
    serve_review_page(None, **options)


@main.group()
def checkpoint() -> None:
    """Great Expectations checkpoints of gx/ (GX 1.x has no command line of its own)."""


@checkpoint.command("list")
def checkpoint_list() -> None:
    """List the checkpoints and the validation definitions each runs."""
    from product_images.checks.checkpoints import list_checkpoints

    for name, definitions in list_checkpoints():
        click.echo(f"{name}: {', '.join(definitions)}")


@checkpoint.command("run")
@click.argument("name", required=False, default="product_images_migration")
@click.option("--tenant", "tenants", multiple=True, help="Validate only this tenant schema (repeatable).")
@click.option(
    "--data-docs",
    type=click.Choice(["all", "failed", "none"]),
    default="all",
    show_default=True,
    help="Which validation results get a Data Docs page (rendering is slow at thousands of tenants).",
)
@click.option(
    "--mime-type-mostly",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fraction of probed images whose mime_type must be an allowed image type.",
)
@click.option(
    "--dimensions-mostly",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fraction of probed images whose width and height must be > 0.",
)
@click.option(
    "--file-size-mostly",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fraction of probed images whose file_size must be > 0.",
)
@click.option(
    "--tenants-per-batch",
    type=click.IntRange(1),
    default=25,
    show_default=True,
    help="Tenants validated together; a batch that fails is validated again tenant by tenant.",
)
def checkpoint_run(
    name: str,
    tenants: tuple[str, ...],
    data_docs: str,
    mime_type_mostly: float,
    dimensions_mostly: float,
    file_size_mostly: float,
    tenants_per_batch: int,
) -> None:
    """Run checkpoint NAME (default product_images_migration) over every tenant, in batches.

    Prints one line per expectation, the failures per tenant and product, and the
    path of Data Docs' index.html. Exit 0 when everything passed, 1 when an
    expectation failed, 2 on a configuration or connection error.
    """
    from product_images.checks.checkpoints import CheckpointConfigError, run_checkpoint
    from product_images.checks.report import print_report

    console = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    try:
        report = run_checkpoint(
            name,
            tenants=list(tenants) or None,
            data_docs=data_docs,
            expectation_parameters={
                "mime_type_mostly": mime_type_mostly,
                "dimensions_mostly": dimensions_mostly,
                "file_size_mostly": file_size_mostly,
            },
            progress=lambda tenant: console.print(f"validating {tenant}", style="dim") if console.is_terminal else None,
            tenants_per_batch=tenants_per_batch,
        )
    except CheckpointConfigError as error:
        _fail(2, str(error))
    print_report(console, report)
    sys.exit(0 if report.success else 1)


if __name__ == "__main__":
    main()
