"""Great Expectations parity: `product-images checkpoint run` against a real migration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import great_expectations as gx
import pytest
from click.testing import CliRunner
from rich.console import Console

from helpers.dbt import PROJECT_DIR
from helpers.legacy_data import make_tenant, photo, photos, set_images
from product_images.checks.checkpoints import (
    CheckpointConfigError,
    install_parity_functions,
    label_score_settings,
    run_checkpoint,
)
from product_images.checks.report import print_report
from product_images.checks.retention import prune_validation_results
from product_images.checks.settings import label_min_images_setting
from product_images.checks.suites import build_gx_project
from product_images.cli import main
from product_images.connection import connect, dbt_schema

U = "https://images.example.com/"


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    make_tenant(conn, "user_1", {pid: photos(pid, 3, "user_1") for pid in range(1, 5)})
    make_tenant(conn, "user_2", {1: photos(1, 1, "user_2"), 2: [photo(U + "ok", 0), {"order": 1}, 5]})
    make_tenant(conn, "template_tenant", {})
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success


def failures(report) -> dict[str, set[tuple[str, int | None]]]:
    """{check: {(tenant, product)}} of the failed expectations."""
    return {
        outcome.check: {(f.tenant_schema, f.product_id) for f in outcome.failures}
        for outcome in report.outcomes
        if not outcome.success
    }


def test_a_clean_migration_passes_and_writes_data_docs(migrated, gx_dir):
    report = run_checkpoint(gx_dir=gx_dir)
    assert report.success, [f.problem for o in report.outcomes for f in o.failures]
    assert report.tenants == ["template_tenant", "user_1", "user_2"]
    assert [o.check for o in report.outcomes] == [
        "tenant_migrated",
        "elements_accounted_for",
        "every_url_loaded",
        "no_drift",
        "positions_follow_jsonb",
        "rejects_hold_their_elements",
        "rows_hold_their_elements",
        "one_label_per_product",
        "positions_contiguous",
        "no_orphan_product_id",
        "mime_type_allowed",
        "width_positive",
        "height_positive",
        "file_size_positive",
    ]
    assert all(o.tenants_passed == 3 for o in report.outcomes)
    assert report.data_docs_index == gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"
    # the three tenants were one batch: one validation result per suite, named by the batch
    assert report.data_docs_index.read_text().count("template_tenant … user_2 (3 tenants)") >= 1


def test_a_passing_run_in_failed_mode_renders_no_validation_page(migrated, gx_dir):
    # GX renders a page for every validation result it keeps when given no result: a passing run in
    # `failed` mode re-rendered every earlier run's pages, a cost that grew with each run
    assert run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="all").success
    pages = gx_dir / "uncommitted" / "data_docs" / "local_site" / "validations"
    kept = sorted(pages.rglob("*.html"))
    assert kept
    for page in kept:
        page.unlink()
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="failed")
    assert report.success
    assert sorted(pages.rglob("*.html")) == []
    assert report.data_docs_index is not None and report.data_docs_index.exists()
    # with no Data Docs built, no index is named: the one there is an older run's
    assert run_checkpoint(gx_dir=gx_dir, tenants=["user_2"], data_docs="none").data_docs_index is None


def test_bad_metadata_is_named_by_product_and_url(conn, migrated, gx_dir, rebuild_user_1):
    svg, empty = conn.execute(
        "select url from user_1.product_images where product_id in (1, 2) and position = 0 order by product_id"
    ).fetchall()
    conn.execute("update user_1.product_images set mime_type = 'image/jpeg', width = 10, height = 10, file_size = 10")
    conn.execute("update user_1.product_images set mime_type = 'image/svg+xml' where url = %s", svg)
    conn.execute("update user_1.product_images set file_size = 0 where url = %s", empty)  # width has a constraint
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1", "user_2"], data_docs="none")
    assert failures(report) == {"mime_type_allowed": {("user_1", 1)}, "file_size_positive": {("user_1", 2)}}
    problems = {o.check: [f.problem for f in o.failures] for o in report.outcomes if not o.success}
    assert problems == {
        "mime_type_allowed": [f"mime_type = 'image/svg+xml' ({svg[0]})"],
        "file_size_positive": [f"file_size = 0 ({empty[0]})"],
    }


def test_a_parity_store_from_an_earlier_version_is_upgraded(conn, migrated, gx_dir):
    # Before 2026-12-06 the store had no metadata columns and the metadata suite read its own function.
    schema = dbt_schema()
    conn.execute(f'drop table if exists "{schema}".product_images_parity_runs cascade')
    conn.execute(
        f'create unlogged table "{schema}".product_images_parity_runs (run_token text not null, '
        "stored_at timestamptz not null default now(), tenant_schema text, fact text, product_id bigint, "
        "source_index integer, url text, image_position integer, is_label boolean, label_source text, "
        "override_is_label boolean, product_exists boolean, legacy_column boolean, label_score real, "
        "label_score_threshold real, label_score_floor real, jsonb_elements bigint, jsonb_elements_hash numeric, "
        "accounted_elements bigint, accounted_elements_hash numeric, jsonb_urls bigint, jsonb_urls_hash numeric, "
        "loaded_urls bigint, loaded_urls_hash numeric)"
    )
    conn.execute(
        f'create or replace function "{schema}".product_images_tenant_images(tenant text) returns setof text '
        "language sql as $$ select tenant $$"
    )
    conn.execute(  # the batch function was plpgsql, same signature
        f'create function "{schema}".product_images_parity_batch(tenants jsonb, run_token text, kinds text[]) '
        f'returns setof "{schema}".product_images_parity_runs language plpgsql stable as $$ begin return; end $$'
    )
    report = run_checkpoint(gx_dir=gx_dir, data_docs="none")
    assert report.success, [f.problem for o in report.outcomes for f in o.failures]
    assert [o.tenants_passed for o in report.outcomes if o.check == "mime_type_allowed"] == [3]
    columns = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s "
        "and table_name = 'product_images_parity_runs' and column_name in ('image_id', 'mime_type', 'metadata_error')",
        (schema,),
    ).fetchall()
    assert len(columns) == 3
    assert conn.execute("select to_regproc(%s)", (f'"{schema}".product_images_tenant_images',)).fetchone()[0] is None


def test_facts_read_live_are_those_a_run_stores(conn, migrated, gx_dir):
    # GX run on its own (no stored facts) reads them live: each kind alone, the same rows as stored.
    assert run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none").success  # installs the functions
    schema = dbt_schema()
    read = (
        f'select fact, product_id, url, image_position, image_id, jsonb_elements, loaded_urls from "{schema}".'
        "product_images_parity_batch('[\"user_1\"]', %s, %s) order by fact, product_id, image_position"
    )
    live_rows = conn.execute(read, (None, ["image_row"])).fetchall()
    assert len(live_rows) == conn.execute("select count(*) from user_1.product_images").fetchone()[0] == 12
    assert {row[0] for row in live_rows} == {"image_row"} and all(row[4] is not None for row in live_rows)
    live_summary = conn.execute(read, (None, ["summary"])).fetchall()
    assert [(row[0], row[5], row[6]) for row in live_summary] == [("summary", 12, 12)]
    conn.execute(
        f'insert into "{schema}".product_images_parity_runs '
        f"select * from \"{schema}\".product_images_parity_summary('user_1', 'test-token')"
    )
    try:
        assert conn.execute(read, ("test-token", ["image_row"])).fetchall() == live_rows
        assert conn.execute(read, ("test-token", ["summary"])).fetchall() == live_summary
    finally:
        conn.execute(f'delete from "{schema}".product_images_parity_runs where run_token = %s', ("test-token",))


def test_installing_the_functions_waits_for_no_reader_of_the_store(conn, migrated, gx_dir):
    # Another checkpoint reading the store holds ACCESS SHARE on it; installing again (every run does)
    # must not need ACCESS EXCLUSIVE (an ALTER TABLE) once the store has its columns.
    assert run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none").success
    schema = dbt_schema()
    with connect() as reader, connect(options="-c lock_timeout=1s") as installer:
        reader.execute(f'select count(*) from "{schema}".product_images_parity_runs')  # transaction left open
        install_parity_functions(installer, schema, gx_dir)
        reader.rollback()


def test_a_deleted_row_is_named(conn, migrated, gx_dir, rebuild_user_1):
    url = conn.execute("select url from user_1.product_images where product_id = 2 and position = 1").fetchone()[0]
    conn.execute("delete from user_1.product_images where product_id = 2 and position = 1")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1", "user_2"], data_docs="none")
    assert failures(report) == {
        "elements_accounted_for": {("user_1", 2)},
        "every_url_loaded": {("user_1", 2)},
        "positions_contiguous": {("user_1", 2)},
    }
    missing = next(o for o in report.outcomes if o.check == "every_url_loaded").failures[0]
    assert missing.problem == "missing from product_images: " + url


def test_a_failing_batch_is_validated_again_tenant_by_tenant(conn, migrated, gx_dir, rebuild_user_1):
    """Batches of 2: template_tenant and user_1 fail together, so each is validated on its own; user_2 passes alone."""
    conn.execute("delete from user_1.product_images where product_id = 2 and position = 1")
    validated: list[str] = []
    report = run_checkpoint(gx_dir=gx_dir, data_docs="none", tenants_per_batch=2, progress=validated.append)
    assert validated == ["template_tenant … user_1 (2 tenants)", "template_tenant", "user_1", "user_2"]
    every_url = next(o for o in report.outcomes if o.check == "every_url_loaded")
    assert (every_url.tenants_passed, every_url.tenants_failed) == (2, ["user_1"])
    assert next(o for o in report.outcomes if o.check == "no_drift").tenants_passed == 3


def test_a_batch_of_tenants_needs_at_least_one(migrated, gx_dir):
    with pytest.raises(CheckpointConfigError, match="tenants_per_batch must be at least 1; got 0"):
        run_checkpoint(gx_dir=gx_dir, tenants_per_batch=0)


def test_a_changed_url_with_every_count_equal_is_found_and_named(conn, migrated, gx_dir, rebuild_user_1):
    """The counts all agree; only the hash sums of the (product, url) pairs differ. The detail suite names it."""
    conn.execute("update user_1.product_images set url = url || '?v=2' where product_id = 4 and position = 2")
    report = run_checkpoint(gx_dir=gx_dir, data_docs="none")
    assert failures(report) == {"every_url_loaded": {("user_1", 4)}, "no_drift": {("user_1", 4)}}
    drift = next(o for o in report.outcomes if o.check == "no_drift").failures[0]
    assert drift.problem == "in product_images but not in the JSONB (drift): " + U + "user_1/4/2.jpg?v=2"


def test_a_duplicated_row_is_named(conn, migrated, gx_dir, rebuild_user_1):
    conn.execute(
        "insert into user_1.product_images (product_id, url, position, is_label, label_source) "
        "select product_id, url, 3, false, 'rule' from user_1.product_images where product_id = 3 and position = 0"
    )
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    found = failures(report)
    assert found["elements_accounted_for"] == {("user_1", 3)}
    assert found["no_drift"] == {("user_1", 3)}


def test_a_second_label_is_named(conn, migrated, gx_dir, rebuild_user_1):
    conn.execute("update user_1.product_images set is_label = true where product_id = 4 and position = 0")
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert failures(report) == {"one_label_per_product": {("user_1", 4)}}
    assert next(o for o in report.outcomes if not o.success).failures[0].problem == "2 labels on 3 images"


def score_product(conn, product_id: int, scores: list[float], label_position: int | None) -> None:
    """Tamper as a detector run and a relabel would: scores on user_1's product, label_source evidence."""
    for position, score in enumerate(scores):
        conn.execute(
            "update user_1.product_images set label_score = %s, label_source = 'evidence', is_label = %s "
            "where product_id = %s and position = %s",
            (score, position == label_position, product_id, position),
        )


def one_label_problems(report) -> list[tuple[str, int | None, str]]:
    outcome = next(o for o in report.outcomes if o.check == "one_label_per_product")
    return [(f.tenant_schema, f.product_id, f.problem) for f in outcome.failures]


def test_evidence_decisions_that_follow_the_scores_pass(conn, migrated, gx_dir, rebuild_user_1):
    score_product(conn, 1, [0.1, 0.97, 0.2], 1)  # the best photo, above the threshold (0.88)
    score_product(conn, 2, [0.0005, 0.001, 0.0], None)  # every photo below the floor (0.0015): no label
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert report.success, failures(report)


def test_an_evidence_label_off_the_best_photo_is_named(conn, migrated, gx_dir, rebuild_user_1):
    score_product(conn, 1, [0.1, 0.97, 0.99], 1)  # photo 2 scores higher
    score_product(conn, 2, [0.1, 0.4, 0.2], 1)  # best, but under the threshold: doubtful, not evidence's
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert failures(report) == {"one_label_per_product": {("user_1", 1), ("user_1", 2)}}
    assert {problem for _, _, problem in one_label_problems(report)} == {
        "the evidence labelled a photo that is not the best-scoring open photo above label_score_threshold"
    }


def test_no_evidence_label_while_a_photo_scores_above_the_floor_is_named(conn, migrated, gx_dir, rebuild_user_1):
    score_product(conn, 3, [0.001, 0.3, 0.0005], None)
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert one_label_problems(report) == [
        (
            "user_1",
            3,
            "the evidence left no label although an open photo scores 0.3, at or above label_score_floor 0.0015",
        )
    ]


def test_the_thresholds_come_from_the_dbt_vars():
    assert label_score_settings() == (0.88, 0.0015)  # dbt_project.yml's label_score_threshold, label_score_floor


@pytest.mark.parametrize(
    ("found", "message"),
    [
        (
            {"label_score_floor": 0.006},
            "dbt var label_score_threshold in dbt_project.yml must be a number in [0, 1]; got None",
        ),
        ({"label_score_threshold": "high", "label_score_floor": 0.0}, "got 'high'"),
        (
            {"label_score_threshold": 0.5, "label_score_floor": 0.6},
            "label_score_floor (0.6) must not exceed label_score_threshold (0.5)",
        ),
    ],
)
def test_bad_threshold_vars_are_a_configuration_error(found, message):
    with pytest.raises(CheckpointConfigError) as raised:
        label_score_settings(found)
    assert message in str(raised.value)


def test_the_label_rule_is_held_to_the_runs_label_min_images(conn, migrated, gx_dir, dbt, rebuild_user_1, monkeypatch):
    # A shop that sets label_min_images: 3 has two-photo products without a label; the rows suite
    # assumed 2 and failed every one of them.
    set_images(conn, "user_1", 5, photos(5, 2, "user_1"), insert=True)
    monkeypatch.setenv("PRODUCT_IMAGES_GX_DIR", str(gx_dir))
    try:
        _held_to_three(conn, gx_dir, dbt)
    finally:
        conn.execute("delete from user_1.products where id = 5")


def _held_to_three(conn, gx_dir, dbt):
    assert dbt("run", "--select", "product_images", "--vars", "{label_min_images: 3}").success
    labels = "select count(*) filter (where is_label) from user_1.product_images where product_id = 5"
    assert conn.execute(labels).fetchone() == (0,)
    default = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert one_label_problems(default) == [("user_1", 5, "0 labels on 2 images")]
    held = CliRunner().invoke(
        main, ["checkpoint", "run", "--tenant", "user_1", "--data-docs", "none", "--vars", "{label_min_images: 3}"]
    )
    assert held.exit_code == 0, held.output
    assert conn.execute("select product_images.product_images_label_min_images()").fetchone() == (3,)


def test_the_rules_vars_come_from_dbt_project_yml_and_bad_ones_are_named():
    assert label_min_images_setting() == 2  # dbt_project.yml's label_min_images
    assert label_min_images_setting({"label_min_images": 3}) == 3
    for bad in (0, "3", True, 2.5):
        with pytest.raises(CheckpointConfigError) as raised:
            label_min_images_setting({"label_min_images": bad})
        assert str(raised.value) == f"dbt var label_min_images must be a whole number >= 1; got {bad!r}"
    refused = CliRunner().invoke(main, ["checkpoint", "run", "--vars", "[3]"])
    assert refused.exit_code == 2
    assert "--vars must be a YAML or JSON mapping" in refused.output


def kept_results(gx_dir) -> set[tuple[str, ...]]:
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    return {key.to_tuple() for key in context.validation_results_store.list_keys()}


def result_pages(gx_dir) -> set[Path]:
    return set((gx_dir / "uncommitted" / "data_docs" / "local_site" / "validations").rglob("*.html"))


def test_old_validation_results_go_with_their_pages_and_the_current_run_stays(migrated, gx_dir, monkeypatch):
    # GX keeps every result of every run, and Data Docs' index lists them all: a daily run grew slower.
    run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="all")
    between = datetime.now(UTC)
    earlier, earlier_pages = kept_results(gx_dir), result_pages(gx_dir)
    time.sleep(0.01)
    later = run_checkpoint(gx_dir=gx_dir, tenants=["user_2"], data_docs="all")
    assert later.results_pruned == 0  # keep_results_days None: GX's own behaviour, nothing removed
    newest = kept_results(gx_dir) - earlier
    assert len(newest) == 3  # one result per suite of the one batch: parity, rows, metadata
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
    removed = prune_validation_results(context, timedelta(days=1), now=between + timedelta(days=1))
    assert removed == len(earlier)
    assert kept_results(gx_dir) == newest
    assert result_pages(gx_dir) & earlier_pages == set()
    assert len(result_pages(gx_dir)) == 3

    monkeypatch.setenv("PRODUCT_IMAGES_GX_DIR", str(gx_dir))
    result = CliRunner().invoke(
        main, ["checkpoint", "run", "--tenant", "user_1", "--data-docs", "none", "--keep-results", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "3 validation result(s) older than --keep-results removed (and pages)" in result.output
    assert len(kept_results(gx_dir)) == 3 and kept_results(gx_dir).isdisjoint(newest)  # the run's own results stay
    refused = CliRunner().invoke(main, ["checkpoint", "run", "--keep-results", "-1"])
    assert refused.exit_code == 2 and "--keep-results" in refused.output


def test_an_element_appended_after_the_run_is_drift(conn, migrated, gx_dir, rebuild_user_1):
    set_images(conn, "user_1", 1, photos(1, 3, "user_1") + [photo(U + "late.jpg", 3)])
    report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none")
    assert failures(report) == {"elements_accounted_for": {("user_1", 1)}, "every_url_loaded": {("user_1", 1)}}
    assert next(o for o in report.outcomes if o.check == "every_url_loaded").failures[0].problem == (
        "missing from product_images: " + U + "late.jpg"
    )


def test_a_removed_reject_is_named(conn, migrated, gx_dir):
    conn.execute("delete from user_2.product_images_rejects where source_index = 1")
    try:
        report = run_checkpoint(gx_dir=gx_dir, tenants=["user_2"], data_docs="none")
        assert failures(report) == {"elements_accounted_for": {("user_2", 2)}}
        assert (
            next(o for o in report.outcomes if not o.success).failures[0].problem
            == "3 JSONB elements, 1 rows, 1 rejects"
        )
    finally:
        conn.execute(
            "insert into user_2.product_images_rejects (product_id, source_index, element, reason) "
            "values (2, 1, '{\"order\": 1}', 'url is missing')"
        )


def test_a_tenant_never_migrated_is_named(conn, migrated, gx_dir):
    make_tenant(conn, "user_7", {1: photos(1, 2, "user_7")})
    try:
        report = run_checkpoint(gx_dir=gx_dir, data_docs="none")
        assert "user_7" in report.tenants
        assert failures(report)["tenant_migrated"] == {("user_7", None)}
    finally:
        conn.execute("drop schema user_7 cascade")


def test_unknown_checkpoint_is_a_configuration_error(migrated, gx_dir):
    with pytest.raises(
        CheckpointConfigError, match="checkpoint 'nope' does not exist; checkpoints: product_images_migration"
    ):
        run_checkpoint("nope", gx_dir=gx_dir)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "product_images", "checkpoint", *args],
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_exit_codes(conn, migrated, gx_dir):
    env = {**os.environ, "PRODUCT_IMAGES_GX_DIR": str(gx_dir)}
    ok = cli("run", "--tenant", "user_1", "--data-docs", "none", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS product_images_parity.elements_accounted_for: passed in 1 of 1 tenant(s)" in ok.stdout
    assert "checkpoint product_images_migration passed on 1 tenant(s)" in ok.stdout

    conn.execute("update user_1.product_images set position = position + 10 where product_id = 1 and position = 0")
    try:
        failed = cli("run", "--tenant", "user_1", env=env)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert (
            "FAIL product_images_rows.positions_contiguous: passed in 0 of 1 tenant(s), 1 unexpected in user_1"
            in failed.stdout
        )
        assert "checkpoint product_images_migration FAILED on 1 of 1 tenant(s)" in failed.stdout
        assert "product 1: positions_contiguous: positions 1,2,10" in failed.stdout
        assert f"Data Docs: {gx_dir}/uncommitted/data_docs/local_site/index.html" in failed.stdout
    finally:
        conn.execute("update user_1.product_images set position = position - 10 where product_id = 1 and position = 10")

    unknown = cli("run", "nope", env=env)
    assert unknown.returncode == 2
    assert "Error: checkpoint 'nope' does not exist" in unknown.stderr

    no_database = cli("run", env={**env, "PGHOST": "/nonexistent", "PGPORT": "1"})
    assert no_database.returncode == 2
    assert "Error: cannot connect to PostgreSQL" in no_database.stderr

    listing = cli("list", env=env)
    assert listing.returncode == 0
    assert listing.stdout.strip() == (
        "product_images_migration: product_images_parity, product_images_rows, product_images_metadata, "
        "product_images_parity_detail"
    )


def _gx_files(gx_dir: Path) -> dict[str, str]:
    return {
        path.relative_to(gx_dir).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(gx_dir.rglob("*"))
        if path.is_file() and "uncommitted" not in path.parts
    }


def test_the_committed_gx_project_is_what_the_builder_writes(database, tmp_path, monkeypatch):
    """gx/ and python -m product_images.checks.suites agree byte for byte (ids included).

    So a rebuild's diff is the change.
    """
    monkeypatch.setenv("PRODUCT_IMAGES_SCHEMA", "product_images")
    target = tmp_path / "gx"
    shutil.copytree(PROJECT_DIR / "gx" / "sql", target / "sql")
    build_gx_project(target)
    built, committed = _gx_files(target), _gx_files(PROJECT_DIR / "gx")
    assert sorted(built) == sorted(committed)
    assert [name for name in built if built[name] != committed[name]] == []


def test_a_misspelt_tenant_is_named_not_reported_as_unmigrated(migrated, gx_dir, monkeypatch):
    # Every other command refuses a schema that is no tenant (exit 2); the checkpoint validated it
    # and failed tenant_migrated (exit 1), which reads like a migration that lost a tenant.
    monkeypatch.setenv("PRODUCT_IMAGES_GX_DIR", str(gx_dir))
    refused = CliRunner().invoke(main, ["checkpoint", "run", "--tenant", "usr_1", "--data-docs", "none"])
    assert refused.exit_code == 2, refused.output
    assert "not a tenant with a products table: usr_1 (tenants: " in refused.output


def test_a_query_that_cannot_run_is_an_error_not_a_failed_expectation(
    conn, migrated, gx_dir, rebuild_user_1, monkeypatch
):
    """A detail query that times out on a lock validated nothing: the tenant is named as not validated to the end
    (the command exits 2), not as failing the check (exit 1, as before 2026-12-07). The lock_timeout comes from
    PGOPTIONS, which GX's connections ignored before 2026-12-07 (their connection string sets its own options):
    they waited for the lock forever."""
    conn.execute("update user_1.product_images set position = 1 - position where product_id = 2 and position < 2")
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=300")
    locker = connect()
    guard = threading.Timer(30, locker.rollback)  # a GX query that waits for ever: released, and the test fails

    def lock_the_tenant(batch: str) -> None:  # after the summaries are stored, before GX reads the tenant live
        if batch == "user_1":
            locker.execute("lock table user_1.product_images in access exclusive mode")
            guard.start()

    try:
        report = run_checkpoint(gx_dir=gx_dir, tenants=["user_1"], data_docs="none", progress=lock_the_tenant)
    finally:
        guard.cancel()
        locker.close()
    assert report.tenants_errored == ["user_1"]
    positions = next(o for o in report.outcomes if o.check == "positions_follow_jsonb")
    assert (positions.tenants_failed, positions.tenants_errored) == ([], ["user_1"])
    assert positions.failures[0].problem.startswith("the expectation could not run: ")
    assert "lock timeout" in positions.failures[0].problem
    console = Console(record=True, width=200)
    print_report(console, report)
    assert (
        "not validated to the end in 1 tenant(s), a query of the checks failed (above): user_1" in console.export_text()
    )
