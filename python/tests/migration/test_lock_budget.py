"""dbt test at many tenants on a server whose lock table is too small: every test that
would overflow it fails at once, saying how far to raise max_locks_per_transaction.

A server of its own (embedded, unless PGHOST is set: then the module is skipped,
since it restarts the server) with max_locks_per_transaction = 10 and
max_connections = 20 guarantees 420 locks (about 640 fit in its spare shared
memory); 100 tenants need 1,000 for a test over the union views.
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
from product_images.demo.embedded import start_embedded_postgres
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


def test_tests_that_would_overflow_the_lock_table_fail_at_once_and_the_setting_they_name_is_enough(
    small_server, project, migrated
):
    env, data_dir = small_server
    # One test at a time: tests running side by side share the lock table.
    result = dbt(project, "test", "--exclude", "label_overrides", "--threads", "1")
    assert not result.success
    failed = {r.node.name: r.message for r in result.node_results() if str(r.status) == "error"}
    assert any(name.startswith("no_lost_images") for name in failed), sorted(failed)
    message = next(m for name, m in failed.items() if name.startswith("no_lost_images"))
    assert (
        "This test reads the tables of 100 tenant(s) in one statement and needs about 1000 lock-table slots" in message
    )
    assert "max_locks_per_transaction 10 x 42 backend slots" in message
    minimum = int(re.search(r"Set max_locks_per_transaction to at least (\d+) for this number of tenants", message)[1])
    assert minimum >= 64

    # The same query without the check is what PostgreSQL refuses.
    compiled = next((project / "target" / "compiled").rglob("no_lost_images*.sql")).read_text(encoding="utf-8")
    with psycopg.connect(autocommit=True) as conn, pytest.raises(psycopg.errors.OutOfMemory, match="shared memory"):
        conn.execute(f"select count(*) from ({compiled}) as failures")

    set_max_locks(env, data_dir, minimum)
    result = dbt(project, "test", "--exclude", "label_overrides")
    assert result.success, [r.message for r in result.node_results() if str(r.status) != "pass"]
