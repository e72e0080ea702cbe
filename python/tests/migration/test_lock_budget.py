"""dbt test at many tenants on a server whose lock table is too small for one statement over every tenant:
this project's tests run in batches of tenants, one transaction each, and pass; a failure names its tenant;
a test that still reads every tenant in one statement fails at once, saying how far to raise
max_locks_per_transaction, and passes once it is raised.

A server of its own (embedded, unless PGHOST is set: then the module is skipped,
since it restarts the server) with max_locks_per_transaction = 10 and
max_connections = 20 guarantees 420 locks (about 640 fit in its spare shared
memory); 100 tenants need about 1,000 for no_lost_images in one statement.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from helpers.dbt import copy_project
from helpers.legacy_data import make_tenant, photos
from product_images.embedded import start_embedded_postgres
from product_images.migration.dbt_runner import run_dbt

TENANTS = [f"user_{n}" for n in range(1, 101)]


def restart(data_dir: Path) -> None:
    from pgserver import _commands  # the embedded server's own pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", "restart"], pgdata=data_dir, user=user)  # type: ignore[attr-defined]


def set_max_locks(env: dict[str, str], data_dir: Path, value: int) -> None:
    with psycopg.connect(host=env["PGHOST"], user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f"alter system set max_locks_per_transaction = {int(value)}")
        admin.execute("alter system set max_connections = 20")
    restart(data_dir)


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    if os.environ.get("PGHOST") and not os.environ.get("PGHOST", "").startswith(tempfile.gettempdir()):
        pytest.skip("restarts its server: runs on the embedded PostgreSQL only")
    data_dir = Path(tempfile.mkdtemp(prefix="pi-locks-"))
    env = start_embedded_postgres(data_dir, delete_at_exit=True)
    set_max_locks(env, data_dir, 10)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("PGPASSWORD", raising=False)
        yield env, data_dir


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, small_server) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def dbt(project: Path, *args: str):
    return run_dbt(list(args), project_dir=project, profiles_dir=project / "target" / "profiles")


@pytest.fixture(scope="module")
def migrated(small_server, project) -> None:
    with psycopg.connect(autocommit=True) as conn:
        for tenant in TENANTS:
            make_tenant(conn, tenant, {1: photos(1, 2, tenant)})
    result = dbt(project, "run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()] or result.exception


def test_the_projects_tests_pass_in_batches_of_tenants_on_a_lock_table_too_small_for_one_statement(
    small_server, project, migrated, capfd
):
    capfd.readouterr()
    result = dbt(project, "test", "--exclude", "label_overrides")
    out = capfd.readouterr().out
    assert result.success, [r.message for r in result.node_results() if str(r.status) != "pass"]
    batched = re.findall(
        r"product_images: (no_lost_images\S*): 100 tenant\(s\) in (\d+) transaction\(s\), at most (\d+) locks each "
        r"\((\d+) a tenant, (\d+) for the catalog; max_locks_per_transaction 10\); one statement over every tenant "
        r"would need (\d+)",
        out,
    )
    assert len(batched) == 1, out
    # the review queue's five tests run its SQL over the tenants' own tables, in batches too
    queue_tests = re.findall(r"product_images: (\S*label_review_queue\S*): 100 tenant\(s\) in \d+ transaction", out)
    assert len(queue_tests) == 5, out
    _, transactions, most, per_tenant, catalog, one_statement = (int(v) if v.isdigit() else v for v in batched[0])
    assert transactions == 101  # no tenant, then one a transaction: a tenant alone is more than 10
    assert most == per_tenant + catalog
    assert one_statement == 100 * per_tenant + catalog > 420  # more than the server guarantees

    # That one statement is what PostgreSQL refuses.
    compiled = next((project / "target" / "compiled").rglob("no_lost_images*.sql")).read_text(encoding="utf-8")
    with psycopg.connect(autocommit=True) as conn, pytest.raises(psycopg.errors.OutOfMemory, match="shared memory"):
        conn.execute(f"select count(*) from ({compiled}) as failures")


def test_a_failure_names_its_tenant(small_server, project, migrated, capfd):
    with psycopg.connect(autocommit=True) as conn:
        conn.execute("update user_57.product_images set position = 9 where product_id = 1 and position = 1")
        try:
            capfd.readouterr()
            result = dbt(project, "test", "--select", "positions_contiguous_product_images_")
            out = capfd.readouterr().out
            assert not result.success
            assert "product_images: positions_contiguous_product_images_ fails in 1 tenant(s): user_57\n" in out, out
            assert re.search(r"positions_contiguous_product_images_ \.+ \[.*FAIL 1", out)
        finally:
            conn.execute("update user_57.product_images set position = 1 where product_id = 1 and position = 9")


def test_a_test_that_reads_every_tenant_in_one_statement_fails_at_once_naming_the_setting(
    small_server, project, migrated
):
    env, data_dir = small_server
    # no_lost_images as one statement: its compiled SQL without the tenant marks that batch it
    compiled = next((project / "target" / "compiled").rglob("no_lost_images*.sql")).read_text(encoding="utf-8")
    unbatched = re.sub(r"/\*(tenants|tenant [^*]*|end tenants)\*/", "", compiled)
    assert "/*" not in unbatched
    (project / "tests" / "urls_present.sql").write_text(unbatched, encoding="utf-8")
    try:
        result = dbt(project, "test", "--select", "urls_present")
        assert not result.success
        message = next(r.message for r in result.node_results() if str(r.status) == "error")
        assert re.search(r"This test reads the tables of 100 tenant\(s\) in one statement and needs about \d+", message)
        assert "max_locks_per_transaction 10 x 42 backend slots" in message
        minimum = int(
            re.search(r"Set max_locks_per_transaction to at least (\d+) for this number of tenants", message)[1]
        )
        assert minimum >= 64
        set_max_locks(env, data_dir, minimum)
        result = dbt(project, "test", "--select", "urls_present")
        assert result.success, [r.message for r in result.node_results()]
    finally:
        (project / "tests" / "urls_present.sql").unlink()
        set_max_locks(env, data_dir, 10)
