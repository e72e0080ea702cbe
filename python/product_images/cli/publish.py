"""``product-images payload`` and ``product-images publish``: a product's photos as marketplace tasks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from product_images.app.marketplaces import MARKETPLACE_RULES
from product_images.cli._common import connect_or_fail, fail, option_group

if TYPE_CHECKING:
    import uuid

    from product_images.publish.tasks import JobOutcome


@click.command()
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
    return option_group(options)(function)


def _run_publish(
    tenant: str, job_or_product: object, marketplace: str | None, options: dict[str, object], resume: bool
) -> None:
    """Shared body of `publish` (plan + create + run) and `publish resume`: exit 0, 1 or 2."""
    import psycopg

    from product_images.publish.plans import BadPublishInput, NothingToPublishError, PublishError, SchemaNotReadyError

    endpoint = options["endpoint"]
    if not endpoint:
        fail(
            2,
            "--endpoint (or PRODUCT_IMAGES_MARKETPLACE_URL) is required to run a job: the marketplace "
            "API's base URL, e.g. http://127.0.0.1:8080",
        )
    conn = connect_or_fail(autocommit=True, application_name="product-images publish")
    with conn:
        try:
            if not resume:  # a bad option must not leave a new PENDING job behind
                _check_run_options(conn, str(endpoint), options)
            job_id, marketplace = _job_to_run(conn, tenant, job_or_product, marketplace, resume)
            outcome = _run_job(conn, tenant, job_id, str(endpoint), str(marketplace), options)
        except NothingToPublishError as error:
            fail(2, str(error))
        except (BadPublishInput, SchemaNotReadyError) as error:
            fail(2, str(error))
        except PublishError as error:
            fail(1, str(error))
        except psycopg.Error as error:
            fail(1, f"database error: {str(error).strip()}")
    _report(outcome, tenant, job_id)


def _check_run_options(conn: Any, endpoint: str, options: dict[str, object]) -> None:
    """Check the endpoint and the run's options as the client and run_job will (BadRunOption names the first out
    of range), before a job is created."""
    from product_images.publish.client import check_client_options
    from product_images.publish.tasks import DEFAULT_LOCK_TIMEOUT, check_run_options

    timeout = float(options["timeout"])  # type: ignore[arg-type]
    check_client_options(endpoint, 1, timeout, timeout)  # connect_timeout stays at its default: only --timeout is set
    check_run_options(
        conn,
        int(options["max_attempts"]),  # type: ignore[call-overload]
        float(options["retry_wait"]),  # type: ignore[arg-type]
        float(options["lease_seconds"]),  # type: ignore[arg-type]
        DEFAULT_LOCK_TIMEOUT,
    )


def _job_to_run(
    conn: Any, tenant: str, job_or_product: object, marketplace: str | None, resume: bool
) -> tuple[uuid.UUID, str | None]:
    """The job to run and its marketplace: the job given (resume), or a new one for the product, its plan printed."""
    from product_images.publish.plans import build_plan
    from product_images.publish.tasks import create_job, job_status

    if resume:
        tasks = job_status(conn, tenant, job_or_product)  # type: ignore[arg-type]
        return tasks[0].job_id, str(tasks[0].payload.get("marketplace"))
    plan = build_plan(conn, tenant, job_or_product, marketplace)  # type: ignore[arg-type]
    for line in plan.lines():
        click.echo(line)
    return create_job(conn, plan), marketplace


def _run_job(
    conn: Any, tenant: str, job_id: uuid.UUID, endpoint: str, marketplace: str, options: dict[str, object]
) -> JobOutcome:
    """Run the job against the marketplace's HTTP API with the command's options, progress on stderr."""
    from product_images.publish.client import HttpMarketplaceClient
    from product_images.publish.tasks import run_job

    with HttpMarketplaceClient(
        endpoint,
        marketplace,
        token=options["token"],  # type: ignore[arg-type]
        timeout=float(options["timeout"]),  # type: ignore[arg-type]
    ) as client:
        return run_job(
            conn,
            tenant,
            job_id,
            client,
            max_attempts=int(options["max_attempts"]),  # type: ignore[call-overload]
            retry_wait=float(options["retry_wait"]),  # type: ignore[arg-type]
            lease_seconds=float(options["lease_seconds"]),  # type: ignore[arg-type]
            progress=lambda line: click.echo(line, err=True),
        )


def _report(outcome: JobOutcome, tenant: str, job_id: uuid.UUID) -> NoReturn:
    """Print the task table and the summary (and how to resume a failed job); exit 0 on success, else 1."""
    from product_images.publish.tasks import format_tasks

    for line in format_tasks(outcome.tasks):
        click.echo(line)
    click.echo(outcome.summary())
    if not outcome.success:
        click.echo(f"resume with: product-images publish resume --tenant {tenant} --job {job_id}", err=True)
    sys.exit(0 if outcome.success else 1)


@click.group(invoke_without_command=True, subcommand_metavar="[resume|status]")
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
            fail(2, str(error))
        except psycopg.OperationalError as error:
            fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")
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
        fail(2, str(error))
    except psycopg.OperationalError as error:
        fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")
    for line in format_tasks(tasks):
        click.echo(line)
