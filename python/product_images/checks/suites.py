"""The Great Expectations suites of this project, as code, and the builder of ``gx/``.

The committed JSON under ``gx/`` (suites, validation definitions, checkpoint) is
what runs; this module is how it was written, and rewrites it when the checks
change: ``python -m product_images.checks.suites`` (then review the diff and commit).
GX gives every object a random UUID; the builder replaces them with ids derived
from where they appear, so a rebuild of unchanged checks rewrites the same bytes
and the diff shows only what changed.

The suites: parity (each tenant's summary, :data:`~product_images.checks.expectations.SUMMARY_CHECKS`),
rows (:data:`~product_images.checks.expectations.ROW_CHECKS`), detail (every element, row and
reject, :data:`~product_images.checks.expectations.PARITY_CHECKS`; the runner runs it only for
a tenant whose summary fails) and metadata (column expectations with ``mostly``). Their SQL is
in :mod:`product_images.checks.expectations`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from product_images.app.service import ALLOWED_MIME_TYPES as APP_MIME_TYPES
from product_images.checks.expectations import DETAILED_CHECKS, PARITY_CHECKS, ROW_CHECKS, SUMMARY_CHECKS
from product_images.project import gx_dir

PARITY_SUITE = "product_images_parity"
ROWS_SUITE = "product_images_rows"
DETAIL_SUITE = "product_images_parity_detail"
METADATA_SUITE = "product_images_metadata"
CHECKPOINT = "product_images_migration"
DATASOURCE = "product_images_db"
PARITY_ASSET = "tenant_parity_facts"
SUMMARY_ASSET = "tenant_parity_summary"
ROWS_ASSET = "tenant_image_rows"
IMAGES_ASSET = "tenant_images"
BATCH_DEFINITION = "per_tenant"

ALLOWED_MIME_TYPES = sorted(APP_MIME_TYPES)
"""What the metadata suite accepts: the MIME types the app accepts
(:data:`product_images.app.service.ALLOWED_MIME_TYPES`, eBay's formats), sorted."""

#: Namespace of the ids :func:`stabilise_ids` derives (uuid5).
ID_NAMESPACE = uuid.UUID("5f0c3b1e-6f1d-4c83-9a53-70726f647563")
_RANDOM_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b")


def stabilise_ids(gx_dir: Path) -> int:
    """Replace the random (version 4) UUIDs GX wrote under ``gx_dir`` with stable ones.

    Each distinct UUID becomes ``uuid5(ID_NAMESPACE, "<file>#<n>")``: the file (relative
    to ``gx_dir``) where it first appears and its rank among the ids first seen there.
    Files are read in a fixed order: ``great_expectations.yml``,
    ``expectations/.ge_store_backend_id``, then the JSON files sorted by path. The same
    id is replaced alike in every file, so references between files (checkpoint →
    validation definitions → suites and batch definitions) stay intact.

    Args:
        gx_dir: a GX file-context folder.

    Returns:
        How many distinct ids were replaced.
    """
    files = [gx_dir / "great_expectations.yml", gx_dir / "expectations" / ".ge_store_backend_id"] + sorted(
        path
        for part in ("expectations", "validation_definitions", "checkpoints")
        for path in (gx_dir / part).glob("*.json")
    )
    texts = {path: path.read_text(encoding="utf-8") for path in files if path.is_file()}
    stable: dict[str, str] = {}
    for path, text in texts.items():
        seen_here = 0
        for match in _RANDOM_UUID.finditer(text):
            if match.group() not in stable:
                stable[match.group()] = str(
                    uuid.uuid5(ID_NAMESPACE, f"{path.relative_to(gx_dir).as_posix()}#{seen_here}")
                )
                seen_here += 1
    for path, text in texts.items():
        path.write_text(_RANDOM_UUID.sub(lambda match: stable[match.group()], text), encoding="utf-8")
    return len(stable)


def build_gx_project(gx_dir: Path) -> None:
    """Write ``gx/`` (great_expectations.yml, suites, validation definitions, checkpoint),
    with stable ids (:func:`stabilise_ids`).

    The project is built in a temporary folder beside ``gx_dir`` and moved into
    place only when complete: a failure (no database to test the datasource
    against, say) leaves ``gx_dir`` as it was.

    Args:
        gx_dir: the folder to (re)write; its ``sql/`` and ``uncommitted/`` are kept,
            the rest is replaced.

    Raises:
        great_expectations exceptions when the API refuses a definition or the
        datasource cannot connect (the libpq variables name the database).
    """
    import tempfile

    from product_images.connection import dbt_schema

    os.environ.setdefault("PRODUCT_IMAGES_SCHEMA", dbt_schema())  # the datasource's search_path
    with tempfile.TemporaryDirectory(prefix=".gx-build-", dir=gx_dir.parent) as scratch:
        staging = Path(scratch) / gx_dir.name
        staging.mkdir()
        if (gx_dir / "sql").is_dir():
            shutil.copytree(gx_dir / "sql", staging / "sql")
        _build(staging)
        built = {path.name for path in staging.iterdir()} - _KEPT_PARTS
        for name in built | (_BUILT_PARTS - _KEPT_PARTS):
            target = gx_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            if (staging / name).exists():
                shutil.move(str(staging / name), str(target))


_KEPT_PARTS = {"sql", "uncommitted"}
"""What of gx/ is the project's own and never rewritten."""
_BUILT_PARTS = {"great_expectations.yml", "expectations", "validation_definitions", "checkpoints", "plugins"}
"""What the builder writes into gx/ (an old one is removed even if the new build lacks it)."""


def _build(gx_dir: Path) -> None:
    """Write the GX project: datasource and its query assets, the four suites, their validation
    definitions and the checkpoint (GX's own file layout, under ``gx_dir``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    # tqdm bars per metric flood a terminal and CI logs; product-images prints its own lines.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()
    batches = _add_assets(context)
    suites = _add_suites(context)
    _add_checkpoint(context, batches, suites)
    stabilise_ids(gx_dir)


def _add_assets(context: Any) -> dict[str, Any]:
    """The datasource (libpq's variables) and one query asset per suite: {suite name: its batch definition}."""
    datasource = context.data_sources.add_sql(
        name=DATASOURCE,
        # Empty host, user and database: libpq takes them from PGHOST, PGPORT, PGUSER,
        # PGPASSWORD and PGDATABASE; the search_path finds the parity functions.
        connection_string="postgresql+psycopg2:///?options=-csearch_path%3D${PRODUCT_IMAGES_SCHEMA}",
    )
    # One batch = a list of tenants: the runner sets the session setting
    # product_images.tenants (a JSON array) before each checkpoint run, a batch of
    # tenants at a time, then one tenant at a time for a batch that fails (a
    # column-value partitioner would make GX list every tenant's facts to find the
    # partitions, on every run).
    parity_asset = datasource.add_query_asset(
        name=PARITY_ASSET,
        query=(
            "select facts.tenant_schema, facts.fact, facts.product_id, facts.source_index, facts.url, "
            "facts.element, facts.image_position, facts.is_label, facts.label_source, facts.override_is_label, "
            "facts.product_exists, facts.legacy_column, facts.label_score, facts.label_score_threshold, "
            "facts.label_score_floor "
            "from jsonb_array_elements_text(current_setting('product_images.tenants')::jsonb) as tenants (tenant) "
            "cross join lateral product_images_parity_facts(tenants.tenant) as facts"
        ),
    )
    summary_asset = datasource.add_query_asset(
        name=SUMMARY_ASSET,
        query=(
            "select facts.* from product_images_parity_batch(current_setting('product_images.tenants')::jsonb, "
            "current_setting('product_images.parity_run', true), array['summary', 'missing_table']) as facts"
        ),
    )
    rows_asset = datasource.add_query_asset(
        name=ROWS_ASSET,
        query=(
            "select facts.* from product_images_parity_batch(current_setting('product_images.tenants')::jsonb, "
            "current_setting('product_images.parity_run', true), array['image_row']) as facts"
        ),
    )
    images_asset = datasource.add_query_asset(
        name=IMAGES_ASSET,
        query=(
            "select facts.tenant_schema, facts.image_id as id, facts.product_id, facts.url, facts.mime_type, "
            "facts.file_size, facts.width, facts.height, facts.metadata_probed_at, facts.metadata_error "
            "from product_images_parity_batch(current_setting('product_images.tenants')::jsonb, "
            "current_setting('product_images.parity_run', true), array['image_row']) as facts"
        ),
    )
    return {
        DETAIL_SUITE: parity_asset.add_batch_definition_whole_table(name=BATCH_DEFINITION),
        PARITY_SUITE: summary_asset.add_batch_definition_whole_table(name=BATCH_DEFINITION),
        ROWS_SUITE: rows_asset.add_batch_definition_whole_table(name=BATCH_DEFINITION),
        METADATA_SUITE: images_asset.add_batch_definition_whole_table(name=BATCH_DEFINITION),
    }


def _unexpected_rows_suite(context: Any, name: str, checks: dict[str, tuple[str, str]]) -> Any:
    """A suite of one UnexpectedRowsExpectation per check ({check: (description, SQL)}), saved in ``context``."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=name)
    for check, (description, query) in checks.items():
        suite.add_expectation(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=" ".join(query.split()),
                description=description,
                meta={"check": check},
            )
        )
    return context.suites.add(suite)


def _metadata_suite(context: Any) -> Any:
    """The probed metadata's suite: MIME types allowed, positive sizes (thresholds are run parameters)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    metadata = gx.ExpectationSuite(name=METADATA_SUITE)
    for expectation in (
        gxe.ExpectColumnValuesToBeInSet(
            column="mime_type",
            value_set=ALLOWED_MIME_TYPES,
            mostly={"$PARAMETER": "mime_type_mostly"},
            meta={"check": "mime_type_allowed"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="width",
            min_value=1,
            mostly={"$PARAMETER": "dimensions_mostly"},
            meta={"check": "width_positive"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="height",
            min_value=1,
            mostly={"$PARAMETER": "dimensions_mostly"},
            meta={"check": "height_positive"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="file_size",
            min_value=1,
            mostly={"$PARAMETER": "file_size_mostly"},
            meta={"check": "file_size_positive"},
        ),
    ):
        metadata.add_expectation(expectation)
    return context.suites.add(metadata)


def _add_suites(context: Any) -> dict[str, Any]:
    """The four suites, saved in ``context``: {suite name: suite}."""
    return {
        PARITY_SUITE: _unexpected_rows_suite(context, PARITY_SUITE, SUMMARY_CHECKS),
        ROWS_SUITE: _unexpected_rows_suite(context, ROWS_SUITE, ROW_CHECKS),
        DETAIL_SUITE: _unexpected_rows_suite(
            context, DETAIL_SUITE, {name: PARITY_CHECKS[name] for name in DETAILED_CHECKS}
        ),
        METADATA_SUITE: _metadata_suite(context),
    }


def _add_checkpoint(context: Any, batches: dict[str, Any], suites: dict[str, Any]) -> None:
    """A validation definition per suite, over its batch definition, and the checkpoint that runs them."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    # In this order; the detail suite is run by product-images only for a tenant whose
    # summary failed (GX's own Checkpoint.run runs it always).
    definitions = [
        context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batches[name], suite=suites[name]))
        for name in (PARITY_SUITE, ROWS_SUITE, METADATA_SUITE, DETAIL_SUITE)
    ]
    context.checkpoints.add(
        gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["tenant_schema", "product_id", "url"],
            },
        )
    )


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else gx_dir()
    build_gx_project(root)
    print(f"wrote {root}")
