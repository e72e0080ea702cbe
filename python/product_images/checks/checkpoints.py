"""Running the Great Expectations checkpoints of ``gx/``, a batch of tenants at a time.

GX 1.x has no command line any more; this is the one users expect
(``product-images checkpoint run``). Before each checkpoint run the session setting
``product_images.tenants`` (a JSON array of tenant schemas) is set on every
connection GX checks out of its pool, and the assets read those tenants' tables only
(gx/sql/parity_facts.sql). Every check is computed in the database: each
expectation's query runs there and only offending rows come back. Tenants are
validated ``tenants_per_batch`` at a time (25 by default: a few hundred table locks
in one statement, well inside a default server's lock table); a batch where an
expectation fails is validated again one tenant at a time, so every failure is
named with its tenant. (A GX column-value partitioner would list every tenant's
facts to find its partitions, on every run.)
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from product_images.checks.expectations import DETAILED_CHECKS
from product_images.checks.outcomes import CheckpointReport, ExpectationOutcome, Failure
from product_images.checks.retention import prune_validation_results
from product_images.checks.settings import (
    CheckpointConfigError,
    label_min_images_setting,
    label_score_settings,
    project_vars,
    tenant_selection,
)
from product_images.checks.suites import DETAIL_SUITE, PARITY_SUITE
from product_images.connection import connect, dbt_schema
from product_images.migration.tenants import select_tenants
from product_images.project import gx_dir as default_gx_dir

DEFAULT_CHECKPOINT = "product_images_migration"
DEFAULT_EXPECTATION_PARAMETERS = {"mime_type_mostly": 1.0, "dimensions_mostly": 1.0, "file_size_mostly": 1.0}
"""``mostly`` thresholds of the metadata suite (fractions of the probed rows, 0..1)."""


DATA_DOCS_CHOICES = ("all", "failed", "none")

DEFAULT_TENANTS_PER_BATCH = 25
"""Tenants validated together in one checkpoint run (see :func:`run_checkpoint`)."""


NO_OVERRIDES_SQL = (
    "(select null::text as tenant_schema, null::bigint as product_id, null::text as url, "
    "null::boolean as is_label where false)"
)
"""Stands for the overrides seed when it was never loaded."""


def install_parity_functions(
    conn: psycopg.Connection,
    schema: str,
    gx_dir: Path | None = None,
    label_scores: tuple[float, float] | None = None,
    label_min_images: int | None = None,
) -> None:
    """Create or replace the functions the GX assets read (gx/sql/parity_facts.sql) in ``schema``.

    The overrides are read from the seed ``label_overrides`` in ``schema``; when it
    was never loaded (an empty review list needs no ``dbt seed``), from an empty
    relation: a row marked ``label_source = 'override'`` then fails the checks.

    Args:
        conn: an open connection; the functions are committed.
        schema: the dbt schema.
        gx_dir: the GX project folder (default: the checkout's ``gx/``).
        label_scores: ``(threshold, floor)`` the evidence is held to (default:
            :func:`label_score_settings`, the dbt vars).
        label_min_images: photos a product needs for the rule's label (default:
            :func:`label_min_images_setting`, the dbt var).

    Raises:
        CheckpointConfigError: as :func:`label_score_settings` and :func:`label_min_images_setting`.
        psycopg.Error: the functions could not be created.
    """
    gx_dir = gx_dir or default_gx_dir()
    found_vars = project_vars() if label_scores is None or label_min_images is None else {}
    threshold, floor = label_scores if label_scores is not None else label_score_settings(found_vars)
    min_images = label_min_images if label_min_images is not None else label_min_images_setting(found_vars)
    overrides = f'"{schema}"."label_overrides"'
    found = conn.execute("select to_regclass(%s)", (overrides,)).fetchone()
    if not found or found[0] is None:
        overrides = NO_OVERRIDES_SQL
    text = (gx_dir / "sql" / "parity_facts.sql").read_text(encoding="utf-8")
    conn.execute(
        sql.SQL(text).format(
            schema=sql.Identifier(schema),
            schema_name=sql.Literal(schema),
            overrides=sql.Literal(overrides),
            label_score_threshold=sql.Literal(float(threshold)),
            label_score_floor=sql.Literal(float(floor)),
            label_min_images=sql.Literal(int(min_images)),
        )
    )
    conn.commit()


def _checkpoint_names(context: Any) -> list[str]:
    return sorted(checkpoint.name for checkpoint in context.checkpoints.all())


def list_checkpoints(gx_dir: Path | None = None) -> list[tuple[str, list[str]]]:
    """The checkpoints of the GX project: ``[(name, [validation definition names])]``."""
    gx_dir = gx_dir or default_gx_dir()
    import great_expectations as gx

    context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    return [
        (checkpoint.name, [definition.name for definition in checkpoint.validation_definitions])
        for checkpoint in sorted(context.checkpoints.all(), key=lambda c: c.name)
    ]


def run_checkpoint(
    name: str = DEFAULT_CHECKPOINT,
    *,
    tenants: Iterable[str] | None = None,
    expectation_parameters: dict[str, float] | None = None,
    gx_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    max_failures_per_check: int = 50,
    data_docs: str = "all",
    tenants_per_batch: int = DEFAULT_TENANTS_PER_BATCH,
    dbt_vars: Mapping[str, Any] | None = None,
    keep_results_days: float | None = None,
) -> CheckpointReport:
    """Run a checkpoint of ``gx/`` over every tenant, a batch of tenants at a time, and gather its results.

    A batch where any expectation fails is run again one tenant at a time, so the report and
    Data Docs name each failing tenant; with a ``mostly`` below 1 every tenant is validated alone.

    Args:
        name: the checkpoint (``gx/checkpoints/<name>.json``).
        tenants: the tenant schemas to validate (default: every tenant with a ``products`` table).
        expectation_parameters: overrides of :data:`DEFAULT_EXPECTATION_PARAMETERS`.
        gx_dir: the GX project folder.
        progress: called with a description of each batch or tenant before it is validated.
        max_failures_per_check: offending rows kept per expectation (the rest are counted).
        data_docs: which validation results get a Data Docs page: ``all``, ``failed`` (at thousands
            of tenants: rendering is GX's slowest part) or ``none`` (no index rebuilt either).
        tenants_per_batch: tenants validated together (>= 1). Each of a batch's
            queries locks each tenant's tables (about 12 locks a tenant).
        dbt_vars: dbt vars over ``dbt_project.yml``'s, as given to ``dbt run --vars`` (the label
            rule's, ``label_min_images``, ``label_score_threshold``, ``label_score_floor``, must be the run's).
        keep_results_days: remove kept validation results older than this many days (>= 0), with
            their Data Docs pages (:mod:`~product_images.checks.retention`); None keeps all, as GX does.

    Returns:
        A :class:`CheckpointReport`; Data Docs are written by the checkpoint's action.

    Raises:
        CheckpointConfigError: unknown checkpoint, database unreachable,
            ``data_docs`` not one of all, failed, none, ``tenants_per_batch`` < 1, ``keep_results_days`` < 0,
            or a bad dbt var.
    """
    gx_dir = gx_dir or default_gx_dir()
    import great_expectations as gx

    _check_options(data_docs, tenants_per_batch, keep_results_days)
    started = time.perf_counter()
    schema = dbt_schema()
    os.environ["PRODUCT_IMAGES_SCHEMA"] = schema  # read by gx/great_expectations.yml
    tenant_list = _prepare_database(schema, gx_dir, tenants, project_vars(dbt_vars), tenant_selection(dbt_vars))

    context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    checkpoint = _checkpoint(context, name)
    parameters = {**DEFAULT_EXPECTATION_PARAMETERS, **(expectation_parameters or {})}
    run = _BatchRun(checkpoint, parameters, progress, max_failures_per_check)
    outcomes, results = run.validate_all(schema, tenant_list, _batch_size(parameters, tenants_per_batch))
    pruned = _prune_and_build_data_docs(context, checkpoint, results, data_docs, keep_results_days)
    seconds = time.perf_counter() - started
    index = _data_docs_index(gx_dir) if data_docs != "none" else None  # an older run's index is not this run's
    return CheckpointReport(name, tenant_list, list(outcomes.values()), index, seconds, pruned)


def _prune_and_build_data_docs(
    context: Any, checkpoint: Any, results: dict[Any, bool], data_docs: str, keep_results_days: float | None
) -> int:
    """Remove the kept validation results older than ``keep_results_days`` (None: none), then build Data Docs
    (:func:`_build_data_docs`); how many results were removed."""
    if keep_results_days is None:
        pruned = 0
    else:
        pruned = prune_validation_results(context, timedelta(days=keep_results_days), keep=set(results))
    _build_data_docs(context, checkpoint, results, data_docs)
    return pruned


def _check_options(data_docs: str, tenants_per_batch: int, keep_results_days: float | None = None) -> None:
    """Raise CheckpointConfigError when ``data_docs``, ``tenants_per_batch`` or ``keep_results_days`` is out of
    range."""
    if data_docs not in DATA_DOCS_CHOICES:
        raise CheckpointConfigError(f"data_docs must be one of {', '.join(DATA_DOCS_CHOICES)}; got {data_docs!r}")
    if tenants_per_batch < 1:
        raise CheckpointConfigError(f"tenants_per_batch must be at least 1; got {tenants_per_batch}")
    if keep_results_days is not None and not keep_results_days >= 0:
        raise CheckpointConfigError(f"keep_results_days must be a number of days >= 0; got {keep_results_days}")


def _checkpoint(context: Any, name: str) -> Any:
    """The checkpoint ``name`` of the GX context; CheckpointConfigError naming the others when there is none."""
    names = _checkpoint_names(context)
    if name not in names:
        raise CheckpointConfigError(f"checkpoint {name!r} does not exist; checkpoints: {', '.join(names)}")
    return context.checkpoints.get(name)


def _batch_size(parameters: dict[str, float], tenants_per_batch: int) -> int:
    """``tenants_per_batch``, or 1 when a ``mostly`` is below 1."""
    if any(value < 1 for key, value in parameters.items() if key.endswith("_mostly")):
        return 1  # a share of the batch's rows would hide one tenant's failures behind the others
    return tenants_per_batch


def _build_data_docs(context: Any, checkpoint: Any, results: dict[Any, bool], data_docs: str) -> None:
    """The checkpoint's UpdateDataDocsAction, once for the run (per batch: quadratic at thousands), over the
    results ``data_docs`` wants, or the suites when none (GX renders every result it keeps for an empty list)."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier as Suite

    if data_docs != "none" and any(action.type == "update_data_docs" for action in checkpoint.actions):
        wanted = [key for key, success in results.items() if data_docs == "all" or not success]
        suites = [Suite(name=each.suite.name) for each in checkpoint.validation_definitions]
        context.build_data_docs(resource_identifiers=wanted or suites)


def _data_docs_index(gx_dir: Path) -> Path | None:
    """Data Docs' ``index.html`` in ``gx_dir``, None when it was never built."""
    index = gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return index if index.exists() else None


def _prepare_database(
    schema: str,
    gx_dir: Path,
    tenants: Iterable[str] | None,
    found_vars: Mapping[str, Any],
    selection: tuple[str | None, list[str] | None],
) -> list[str]:
    """Install the parity functions in ``schema`` for the dbt vars ``found_vars``; the tenants to validate
    (``tenants``, or every tenant the ``(regex, extra)`` of :func:`tenant_selection` finds).

    Raises:
        CheckpointConfigError: the server cannot be reached, a tenant asked for has no ``products`` table,
            or the var tenant_schema_regex is no valid regular expression.
    """
    regex, extra = selection
    try:
        with connect() as conn:
            install_parity_functions(
                conn, schema, gx_dir, label_score_settings(found_vars), label_min_images_setting(found_vars)
            )
            # a tenant without product_images yet is included on purpose: the parity suite reports it not migrated
            asked = None if tenants is None else list(tenants)
            return select_tenants(conn, asked, require_table="products", regex=regex, extra=extra)
    except ValueError as error:
        raise CheckpointConfigError(str(error)) from error
    except psycopg.errors.InvalidRegularExpression as error:
        raise CheckpointConfigError(
            f"tenant_schema_regex (the dbt var or PRODUCT_IMAGES_TENANT_REGEX) is no valid regular expression: {error}"
        ) from error
    except psycopg.OperationalError as error:
        raise CheckpointConfigError(
            f"cannot connect to PostgreSQL (PGHOST, PGPORT, PGUSER, PGDATABASE): {error}".strip()
        ) from error


@dataclass
class _BatchRun:
    """Validating one batch of tenants: together first, then one by one when anything failed."""

    checkpoint: Any
    parameters: dict[str, float]
    progress: Callable[[str], None] | None
    max_failures_per_check: int
    #: The settings GX's connections get (see :func:`_tenant_setting`), while :meth:`validate_all` runs.
    current: dict[str, Any] = field(default_factory=dict)

    def validate_all(
        self, schema: str, tenants: list[str], tenants_per_batch: int
    ) -> tuple[dict[tuple[str, str], ExpectationOutcome], dict[Any, bool]]:
        """Validate ``tenants`` a batch at a time; ``(outcomes by (suite, check), success by validation result)``."""
        outcomes: dict[tuple[str, str], ExpectationOutcome] = {}
        results: dict[Any, bool] = {}
        with _stored_summaries(schema) as store, _tenant_setting(_client_options(store.conn)) as current:
            current["parity_run"] = store.run_token
            self.current = current
            for start in range(0, len(tenants), tenants_per_batch):
                batch = tenants[start : start + tenants_per_batch]
                store.compute(batch)
                self.validate(batch, outcomes, results)
        return outcomes, results

    def validate(
        self, batch: list[str], outcomes: dict[tuple[str, str], ExpectationOutcome], results: dict[Any, bool]
    ) -> None:
        """Fold the batch's results into ``outcomes`` (per expectation) and ``results`` (success per validation)."""
        if len(batch) > 1:
            batch_results = _validate(self.checkpoint, batch, self.current, self.parameters, self.progress)
            if all(validation.success for validation in batch_results.values()):
                results.update({key: True for key in batch_results})
                _fold_passed(batch_results, len(batch), outcomes)
                return
        for tenant in batch:  # a failing batch, or one tenant: each tenant on its own
            tenant_results = _validate(self.checkpoint, [tenant], self.current, self.parameters, self.progress)
            detail_results = {}
            if _summary_failed(tenant_results):
                detail_results = _validate(self.checkpoint, [tenant], self.current, self.parameters, None, detail=True)
            for key, validation in {**tenant_results, **detail_results}.items():
                results[key] = validation.success
            _fold_tenant(tenant_results, detail_results, tenant, outcomes, self.max_failures_per_check)


def _batch_name(tenants: list[str]) -> str:
    return tenants[0] if len(tenants) == 1 else f"{tenants[0]} … {tenants[-1]} ({len(tenants)} tenants)"


def _validate(
    checkpoint: Any,
    tenants: list[str],
    current: dict[str, str],
    parameters: dict[str, float],
    progress: Callable[[str], None] | None,
    detail: bool = False,
) -> dict[Any, Any]:
    """Run the checkpoint's validation definitions over ``tenants`` (what Checkpoint.run does, without its
    actions): all but the detail suite's, or (``detail``) only the detail suite's.

    Returns ``{validation result identifier: validation result}``.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    label = _batch_name(tenants)
    if progress:
        progress(label)
    current["tenants"] = json.dumps(tenants)
    run_id = RunIdentifier(run_name=f"{checkpoint.name} {label}")
    run_results = {}
    for definition in checkpoint.validation_definitions:
        if (definition.suite.name == DETAIL_SUITE) != detail:
            continue
        validation = definition.run(
            checkpoint_id=checkpoint.id,
            expectation_parameters=parameters,
            result_format=checkpoint.result_format,
            run_id=run_id,
        )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=definition.suite.name),
            run_id=run_id,
            batch_identifier=validation.batch_id,
        )
        run_results[key] = validation
    return run_results


def _outcome(outcomes: dict[tuple[str, str], ExpectationOutcome], suite: str, config: Any) -> ExpectationOutcome:
    check = (config.meta or {}).get("check") or config.type
    return outcomes.setdefault(
        (suite, check),
        ExpectationOutcome(suite=suite, check=check, description=config.description or config.type),
    )


def _fold_passed(
    run_results: dict[Any, Any], tenants: int, outcomes: dict[tuple[str, str], ExpectationOutcome]
) -> None:
    """Count a batch where every expectation passed: each expectation passed in each of its ``tenants``."""
    for validation in run_results.values():
        for expectation_result in validation.results:
            _outcome(outcomes, validation.suite_name, expectation_result.expectation_config).tenants_passed += tenants


def _summary_failed(run_results: dict[Any, Any]) -> bool:
    """True when a parity check computed from hash sums (DETAILED_CHECKS) failed: the detail suite names them."""
    return any(
        not expectation_result.success
        and (expectation_result.expectation_config.meta or {}).get("check") in DETAILED_CHECKS
        for validation in run_results.values()
        if validation.suite_name == PARITY_SUITE
        for expectation_result in validation.results
    )


def _fold_tenant(
    run_results: dict[Any, Any],
    detail_results: dict[Any, Any],
    tenant: str,
    outcomes: dict[tuple[str, str], ExpectationOutcome],
    max_failures_per_check: int,
) -> None:
    """Fold one tenant's validation results into ``outcomes``.

    A parity check that failed on the tenant's hash sums takes its failures (products,
    urls) from the detail suite's result for the same check, when that failed too; when
    the detail passed (the data changed in between), the summary's failure stands.
    """
    detailed = {
        (expectation_result.expectation_config.meta or {}).get("check"): expectation_result
        for validation in detail_results.values()
        for expectation_result in validation.results
        if not expectation_result.success
    }
    for validation in run_results.values():
        for expectation_result in validation.results:
            outcome = _outcome(outcomes, validation.suite_name, expectation_result.expectation_config)
            if expectation_result.success:
                outcome.tenants_passed += 1
                continue
            if validation.suite_name == PARITY_SUITE and outcome.check in detailed:
                expectation_result = detailed[outcome.check]
            error = _query_error(expectation_result.exception_info or {})
            if error is not None:
                outcome.tenants_errored.append(tenant)
                failures = [Failure(tenant, None, "the expectation could not run: " + error)]
            else:
                outcome.tenants_failed.append(tenant)
                outcome.unexpected_total += _unexpected_count(expectation_result.result)
                failures = _unexpected_rows(expectation_result.result, tenant)
            outcome.failures.extend(failures[: max(0, max_failures_per_check - len(outcome.failures))])


def _query_error(exception_info: dict[str, Any]) -> str | None:
    """The first line of each exception GX caught running an expectation (``exception_info``: one dict,
    or one per metric), joined with "; "; None when none was raised."""
    infos = [exception_info, *(info for info in exception_info.values() if isinstance(info, dict))]
    raised = [info for info in infos if info.get("raised_exception")]
    if not raised:
        return None
    messages = {str(info.get("exception_message") or "").split("\n", 1)[0] for info in raised}
    return "; ".join(sorted(message for message in messages if message)) or "an exception without a message"


class _SummaryStore:
    """The parity summaries of the batch being validated, stored once in ``<schema>.product_images_parity_runs``
    under this run's token (gx/sql/parity_facts.sql): GX then reads them once per expectation query instead of
    computing them again."""

    def __init__(self, conn: psycopg.Connection, schema: str) -> None:
        self.conn = conn
        self.table = sql.Identifier(schema, "product_images_parity_runs")
        self.summary = sql.Identifier(schema, "product_images_parity_summary")
        self.run_token = uuid.uuid4().hex

    def compute(self, tenants: list[str]) -> None:
        """Replace the stored summaries by those of ``tenants`` (one statement, committed)."""
        self.clear()
        self.conn.execute(
            sql.SQL(
                "insert into {table} select facts.* "
                "from jsonb_array_elements_text(%s::jsonb) as batch (tenant) "
                "cross join lateral {summary}(batch.tenant, %s) as facts"
            ).format(table=self.table, summary=self.summary),
            (json.dumps(tenants), self.run_token),
        )

    def clear(self) -> None:
        """Delete this run's summaries, and those a run that died left more than a day ago."""
        self.conn.execute(
            sql.SQL("delete from {} where run_token = %s or stored_at < now() - interval '1 day'").format(self.table),
            (self.run_token,),
        )


@contextmanager
def _stored_summaries(schema: str) -> Iterator[_SummaryStore]:
    """A :class:`_SummaryStore` on its own autocommit connection, cleared on exit."""
    with connect(autocommit=True) as conn:
        store = _SummaryStore(conn, schema)
        try:
            yield store
        finally:
            store.clear()


def _client_options(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """The settings ``conn`` got from its client at start-up (libpq's ``PGOPTIONS``, e.g. ``-c lock_timeout=5s``),
    as ``[(name, value in the setting's base unit)]``: GX's connection string sets ``options`` (the search_path)
    and so overrides ``PGOPTIONS``; :func:`_tenant_setting` gives them to GX's connections."""
    rows = conn.execute(
        "select name, setting from pg_catalog.pg_settings where source = 'client' "
        "and name not in ('search_path', 'application_name', 'client_encoding') order by name"
    ).fetchall()
    conn.commit()
    return [(str(name), str(setting)) for name, setting in rows]


@contextmanager
def _tenant_setting(options: list[tuple[str, str]] | None = None) -> Iterator[dict[str, str]]:
    """Give every SQLAlchemy connection checked out meanwhile the setting ``product_images.tenants``, and the
    ``options`` (``[(name, value)]``, :func:`_client_options`).

    GX builds its datasources' engines itself, so the listener is on the Pool
    class (this process's SQLAlchemy pools: GX's only) and removed on exit.
    Yields the dict whose ``"tenants"`` key (a JSON array of schema names) the runner sets before each run,
    and ``"parity_run"`` (the token of the stored summaries, see :class:`_SummaryStore`).
    """
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    current = {"tenants": "[]", "parity_run": ""}
    options = options or []
    statement = "select " + ", ".join("set_config(%s, %s, false)" for _ in range(2 + len(options)))

    def set_tenant(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        settings = [
            ("product_images.tenants", current["tenants"]),
            ("product_images.parity_run", current["parity_run"]),
            *options,
        ]
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement, [part for setting in settings for part in setting])
        finally:
            cursor.close()
        dbapi_connection.commit()

    event.listen(Pool, "checkout", set_tenant)
    try:
        yield current
    finally:
        event.remove(Pool, "checkout", set_tenant)


def _unexpected_count(result: dict[str, Any]) -> int:
    observed = result.get("observed_value")
    if isinstance(observed, int):
        return observed
    return int(result.get("unexpected_count") or 0)


def _unexpected_rows(result: dict[str, Any], tenant: str) -> list[Failure]:
    details = result.get("details") or {}
    rows = details.get("unexpected_rows")
    if rows:
        return [
            Failure(str(row.get("tenant_schema", tenant)), row.get("product_id"), str(row.get("problem", row)))
            for row in rows
        ]
    indexed = result.get("unexpected_index_list") or []
    if indexed:
        failures = []
        for entry in indexed:
            entry = dict(entry)
            product_id, url = entry.pop("product_id", None), entry.pop("url", None)
            entry_tenant = str(entry.pop("tenant_schema", None) or tenant)
            values = ", ".join(f"{column} = {value!r}" for column, value in entry.items())
            failures.append(Failure(entry_tenant, product_id, f"{values} ({url})" if url else values))
        return failures
    unexpected = result.get("partial_unexpected_list") or []
    return [Failure(tenant, None, f"unexpected value {value!r}") for value in unexpected]
