"""What the commands share: failing with an exit code, connecting, the storage, common options, summaries."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click


def fail(code: int, message: str) -> NoReturn:
    """Print ``Error: <message>`` on stderr and exit with ``code`` (1: could not run; 2: bad input or configuration)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def parse_dbt_vars(text: str | None) -> dict[str, Any]:
    """A ``--vars`` argument as dbt reads one: a YAML mapping (JSON is YAML), e.g. ``{label_min_images: 3}``.

    Returns:
        ``{name: value}``; empty when ``text`` is None or empty.

    Exits:
        2 when ``text`` is not a mapping, naming the option.
    """
    import yaml

    if not text:
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        fail(2, f"--vars must be a YAML or JSON mapping: {error}")
    if not isinstance(parsed, dict):
        fail(2, "--vars must be a YAML or JSON mapping, e.g. '{label_min_images: 3}'")
    return parsed


def connect_or_fail(**options: Any) -> Any:
    """A connection from the PG* variables (:func:`product_images.connection.connect` with ``options``),
    or exit 1 naming the server it could not reach."""
    import psycopg

    from product_images.connection import connect, describe_target

    try:
        return connect(**options)
    except psycopg.OperationalError as error:
        fail(1, f"cannot connect to PostgreSQL at {describe_target()}: {str(error).strip()}")


def storage_or_fail(max_pool_connections: int, *, mapping_only: bool = False) -> tuple[Any, Any]:
    """``(UrlMapping, S3 client)`` from the storage variables (a None client with ``mapping_only``),
    or exit 2 naming what is wrong with the configuration."""
    from botocore.exceptions import BotoCoreError

    from product_images.metadata.storage import UrlMapping, storage_from_env

    try:
        if mapping_only:
            return UrlMapping.from_env(), None
        return storage_from_env(max_pool_connections=max_pool_connections)
    except ValueError as error:
        fail(2, str(error))
    except BotoCoreError as error:  # partial credentials, unknown AWS_PROFILE...
        fail(2, f"AWS configuration: {error}")


def tenants_option(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--tenant SCHEMA`` option (repeatable) of the commands that work tenant by tenant."""
    return click.option(
        "--tenant",
        "tenants",
        multiple=True,
        metavar="SCHEMA",
        help=f"Tenant schema to {verb} (repeatable). Default: every tenant with a product_images table.",
    )


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
"""A click decorator: a command function in, the same function with an option (or more) attached out."""


def option_group(options: Sequence[Callable[[Any], Any]]) -> Decorator:
    """One decorator that attaches click ``options`` to a command, shown in ``--help`` in the order given."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def claim_options(
    *,
    verb: str,
    unit: str,
    limit_note: str,
    concurrency: tuple[int, int, str],
    batch_size: tuple[int, int],
    lease_seconds: float,
    lease_envvar: str | None,
    retry_help: str,
) -> Decorator:
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
    return option_group(options)


def print_summary(summary: Any, as_json: bool) -> None:
    """A run's summary on stdout: one JSON object (``summary.to_dict()``), or its human lines."""
    if as_json:
        import json

        click.echo(json.dumps(summary.to_dict()))
    else:
        for line in summary.lines():
            click.echo(line)
