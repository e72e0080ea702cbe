"""`product-images migrate --jobs N` as a user runs it: a real command in a process of its own, real dbt
shards, real signals. A shard killed (the OOM killer), the command stopped (SIGTERM from timeout, systemd or
Kubernetes; Ctrl-C), two commands at once, and two dbt runs building the review queue at once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from helpers.legacy_data import make_tenant, photos
from helpers.live import wait_for
from helpers.migrate_command import BIN, alive, migrate_env, shard_of, shard_pids, start_migrate

TENANTS = [f"user_{n}" for n in range(1, 13)]
DISCOVERED = TENANTS  # template_tenant (var extra_tenant_schemas) is not made here


@pytest.fixture(scope="module")
def tenants(conn):
    for tenant in TENANTS:
        make_tenant(conn, tenant, {1: photos(1, 3, tenant), 2: photos(2, 2, tenant)})
    return TENANTS


@pytest.fixture
def fresh(conn, tenants):
    """Every tenant not migrated yet, no dbt schema."""
    for tenant in TENANTS:
        conn.execute(
            f"drop table if exists {tenant}.product_images, {tenant}.product_images_rejects, "
            f"{tenant}.product_images_sync cascade"
        )
    conn.execute("drop schema if exists product_images cascade")


@pytest.fixture
def env(project_dir):
    return migrate_env(project_dir)


def wait_gone(pids, timeout=120):
    """Wait (bounded) for processes this test caused; return those still alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def not_run_line(out, shard):
    match = re.search(rf"(\d+) tenant\(s\) of shard {shard} not run: ([^\n]*)", out)
    assert match, out
    return int(match.group(1)), match.group(2)


def assert_names(listed, expected):
    """``listed`` (``a, b, … and N more``) names the first of ``expected``, all of them when few."""
    names = [name for name in listed.split(", ") if not name.startswith("…")]
    assert names and set(names) <= set(expected), (listed, expected)
    if len(expected) <= 5:
        assert names == sorted(expected), (listed, expected)


# ---------------------------------------------------------------- a shard killed


def test_a_shard_killed_by_sigkill_fails_the_command_and_names_its_tenants_not_run(conn, fresh, project_dir, env):
    process = start_migrate(project_dir, env, 2)
    shards = shard_pids(process, 2)
    os.kill(shards[1], signal.SIGKILL)  # the OOM killer
    out, err = process.communicate(timeout=300)
    print(out, err)
    assert process.returncode == 2, (out, err)
    assert "exit 2" in out.splitlines()[0], out
    assert "shard 1 killed by SIGKILL" in out, out
    expected = [tenant for tenant, shard in shard_of(conn, 2, DISCOVERED).items() if shard == 1]
    count, listed = not_run_line(out, 1)
    assert count == len(expected), out  # killed while starting: none of its tenants ran
    assert_names(listed, expected)
    for tenant in expected:  # what the line says is true: no table for them
        if tenant in TENANTS:
            assert conn.execute("select to_regclass(%s)", (f"{tenant}.product_images",)).fetchone() == (None,)


def test_the_only_shard_killed_with_jobs_1_exits_2_and_names_every_tenant_not_run(conn, fresh, project_dir, env):
    process = start_migrate(project_dir, env, 1)
    shards = shard_pids(process, 1)
    os.kill(shards[0], signal.SIGKILL)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2, (out, err)  # not 247 (sys.exit(-9))
    assert "no tenant tenant(s)" not in out
    assert out.startswith("1 shard(s) in "), out
    assert ": no tenant run, 0 images inserted; exit 2" in out.splitlines()[0], out
    count, listed = not_run_line(out, 0)
    assert count == len(DISCOVERED)
    assert_names(listed, DISCOVERED)


# ---------------------------------------------------------------- the command stopped


def test_sigterm_stops_the_shards_prints_the_summary_and_exits_143(conn, fresh, project_dir, env):
    process = start_migrate(project_dir, env, 2)
    shards = list(shard_pids(process, 2).values())
    process.send_signal(signal.SIGTERM)  # what timeout, systemd and Kubernetes send
    out, err = process.communicate(timeout=120)
    print(out, err)
    still = wait_gone(shards, timeout=0)
    wait_gone(shards)  # the old code's orphans: let them finish before the next test
    assert still == [], f"dbt shards still running after migrate exited: {still}"
    assert process.returncode == 143, (out, err)
    assert out.startswith("2 shard(s) in "), (out, err)
    assert "stopped by SIGTERM" in out
    assert "exit 143" in out.splitlines()[0]
    done = committed(conn)
    missing = sum(not_run_line(out, shard)[0] for shard in (0, 1) if f"of shard {shard} not run" in out)
    assert missing == len(DISCOVERED) - done, out  # every tenant is either committed or named


def test_ctrl_c_stops_the_shards_prints_the_summary_and_exits_130(conn, fresh, project_dir, env):
    process = start_migrate(project_dir, env, 2, new_session=True)
    shards = list(shard_pids(process, 2).values())
    wait_for(lambda: committed(conn), "a tenant committed", timeout=120)  # stopped half-way
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its whole foreground group
    out, err = process.communicate(timeout=120)
    print(out, err)
    still = wait_gone(shards, timeout=0)
    wait_gone(shards)
    assert still == [], f"dbt shards still running after migrate exited: {still}"
    assert process.returncode == 130, (out, err)
    assert "Aborted!" not in err
    assert out.startswith("2 shard(s) in "), (out, err)
    assert "stopped by SIGINT" in out
    assert "exit 130" in out.splitlines()[0]
    done = committed(conn)
    assert success_count(out) == done, out  # what was committed is counted...
    missing = sum(not_run_line(out, shard)[0] for shard in (0, 1) if f"of shard {shard} not run" in out)
    assert missing == len(TENANTS) - done, out  # ...and every other tenant is named


def committed(conn):
    if not conn.execute("select to_regclass('product_images.product_images_runs')").fetchone()[0]:
        return 0
    return conn.execute("select count(*) from product_images.product_images_runs where status = 'success'").fetchone()[
        0
    ]


# ---------------------------------------------------------------- two at once


def success_count(out):
    match = re.search(r": (\d+) success", out.splitlines()[0])
    assert match, out
    return int(match.group(1))


def test_a_second_migrate_is_refused_while_one_runs_naming_its_backend(conn, fresh, project_dir, env):
    first = start_migrate(project_dir, env, 2)
    shard_pids(first, 2)
    second = start_migrate(project_dir, env, 2)
    out2, err2 = second.communicate(timeout=120)
    out1, err1 = first.communicate(timeout=300)
    print(out1, err1, out2, err2)
    assert first.returncode == 0, (out1, err1)
    assert success_count(out1) == len(TENANTS)
    assert second.returncode == 2, (out2, err2)
    holder = re.search(r"another product-images migrate is running on this database \(backend pid (\d+)", err2)
    assert holder, err2
    assert out2 == ""


def test_the_summary_counts_only_this_commands_rows_and_each_command_has_its_own_output(conn, fresh, project_dir, env):
    """A plain `dbt run` at the same time (no command lock there) writes its own run-log rows."""
    migrate = start_migrate(project_dir, env, 2)
    shard_pids(migrate, 2)
    other = subprocess.run(
        [str(BIN / "dbt"), "run", "--select", "product_images.product_images", "--project-dir", str(project_dir)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out, err = migrate.communicate(timeout=300)
    assert other.returncode == 0, other.stdout[-3000:]
    assert migrate.returncode == 0, (out, err)
    rows = conn.execute("select count(*) from product_images.product_images_runs").fetchone()[0]
    assert rows > len(DISCOVERED)  # both wrote rows
    assert success_count(out) == len(TENANTS), out  # but the summary counts its own: one per tenant
    folder = re.search(r"shard output: (\S+)/<i>/dbt\.out", out)
    assert folder, out
    again = start_migrate(project_dir, env, 1)
    out_again, _ = again.communicate(timeout=300)
    folder_again = re.search(r"shard output: (\S+)/<i>/dbt\.out", out_again)
    assert folder_again and folder_again.group(1) != folder.group(1), out_again
    for path, jobs in ((folder.group(1), 2), (folder_again.group(1), 1)):
        for shard in range(jobs):
            assert f"shard {shard} of {jobs}" in (Path(path) / str(shard) / "dbt.out").read_text() or jobs == 1


def test_two_dbt_runs_building_the_review_queue_at_once_both_succeed(conn, tenants, project_dir, env):
    """The race of two shard-0s: both find no view, then both rename their new view to the same name.

    A lock the test holds on a table the view reads keeps both runs waiting at the same point."""
    migrate = subprocess.run([str(BIN / "product-images"), "migrate", "--project-dir", str(project_dir)], env=env)
    assert migrate.returncode == 0
    conn.execute("drop view product_images.label_review_queue")
    args = [str(BIN / "dbt"), "run", "--select", "label_review_queue", "--project-dir", str(project_dir)]
    with psycopg.connect(conn.info.dsn, autocommit=False) as blocker:
        blocker.execute("lock table product_images.product_images in access exclusive mode")
        runs = [
            subprocess.Popen(
                [
                    *args,
                    "--target-path",
                    str(project_dir / f"target/race{i}"),
                    "--log-path",
                    str(project_dir / f"logs/race{i}"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for i in range(2)
        ]

        def waiting():
            return (
                conn.execute(
                    "select count(distinct pid) from pg_locks where not granted and pid <> %s "
                    "and pid in (select pid from pg_stat_activity where datname = current_database())",
                    (blocker.info.backend_pid,),
                ).fetchone()[0]
                >= 2
            )

        wait_for(waiting, "both dbt runs waiting", timeout=90)
        blocker.rollback()
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [o[-2500:] for o in outputs]
    assert conn.execute("select to_regclass('product_images.label_review_queue')").fetchone()[0] is not None
