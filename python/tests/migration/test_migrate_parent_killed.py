"""`product-images migrate --jobs N` killed with SIGKILL (kill -9, the OOM killer, a CI runner or a container
stopped): its dbt shards, each in a process group of its own, must not run on unseen. A real command, real dbt
shards held mid-tenant, a real SIGKILL; then the next `migrate` must run and leave every tenant whole."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest
from psycopg import sql

from helpers.legacy_data import make_tenant, photos
from helpers.live import constraint_problems, parity_problems, pause_at_write, wait_for, waiting_for_pause
from helpers.migrate_command import alive, cmdline, migrate_args, migrate_env, shard_of, shard_pids

TENANTS = [f"user_{n}" for n in range(1, 9)]
SHARDS_EXIT_SECONDS = 30.0
APPENDED = "https://images.example.com/{tenant}/1/appended.jpg"


@pytest.fixture(scope="module")
def tenants(conn):
    for tenant in TENANTS:
        make_tenant(conn, tenant, {1: photos(1, 3, tenant), 2: photos(2, 2, tenant)})
    return TENANTS


@pytest.fixture
def env(project_dir):
    return migrate_env(project_dir)


def dbt_backends(conn):
    """(pid, state, wait event, query) of every dbt session on this database."""
    return conn.execute(
        "select pid, state, wait_event, left(query, 80) from pg_stat_activity "
        "where datname = current_database() and application_name = 'dbt'"
    ).fetchall()


def lock_waits(conn):
    """How many dbt sessions wait for a lock (the pause's advisory lock, or a table the paused ones hold)."""
    return conn.execute(
        "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'dbt' "
        "and wait_event_type = 'Lock'"
    ).fetchone()[0]


def invocations(conn):
    return {row[0] for row in conn.execute("select distinct invocation_id from product_images.product_images_runs")}


def append_photo(conn, tenant):
    """A change the next run must load: a fourth photo on product 1."""
    conn.execute(
        sql.SQL(
            "update {} set images = images || jsonb_build_array(jsonb_build_object("
            "'url', %s::text, 'order', 3, 'created_at', '2026-12-01T10:00:00Z')) where id = 1"
        ).format(sql.Identifier(tenant, "products")),
        (APPENDED.format(tenant=tenant),),
    )


def kill_groups(pids):
    """SIGKILL the process group of each shard (its pid: started with process_group=0) left by a failure."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def test_migrate_killed_with_sigkill_stops_its_shards_and_the_next_migrate_runs(conn, tenants, project_dir, env):
    first = subprocess.run(migrate_args(project_dir, 2), env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, (first.stdout, first.stderr)
    shards = shard_of(conn, 2, TENANTS)
    held = [next(t for t in TENANTS if shards[t] == shard) for shard in (0, 1)]  # one tenant in each shard
    for tenant in held:
        append_photo(conn, tenant)
    before = invocations(conn)
    pids: dict[int, int] = {}
    process = None
    try:
        with pause_at_write(conn, held[0]) as release:  # both shards stop at their held tenant's first write
            conn.execute(
                f'create trigger test_pause_write before insert or update on "{held[1]}".product_images '
                "for each statement execute function public.test_pause_write()"
            )
            try:
                process = subprocess.Popen(migrate_args(project_dir, 2), env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True)  # fmt: skip
                pids = shard_pids(process, 2)
                # Held: one shard paused mid-tenant, the other paused too or queued behind it (shard 0 may wait
                # for its ALTER of the run log behind the other's open tenant transaction, which reads it).
                wait_for(lambda: waiting_for_pause(conn) and lock_waits(conn) >= 2, "both shards held", timeout=120)
                process.kill()  # kill -9: the command cannot forward anything
                process.communicate(timeout=30)
                killed_at = time.monotonic()
                # (a) every shard exits, although the tenants they hold are still paused
                while time.monotonic() < killed_at + SHARDS_EXIT_SECONDS and any(alive(p) for p in pids.values()):
                    time.sleep(0.1)
                left = {shard: cmdline(pid)[:160] for shard, pid in pids.items() if alive(pid)}
                assert not left, (
                    f"dbt shards still running {SHARDS_EXIT_SECONDS:.0f} s after migrate was killed: {left}"
                )
                print(f"shards gone {time.monotonic() - killed_at:.1f} s after the SIGKILL")
                # (b) ... and their database sessions with them (tenant locks, open transactions)
                wait_for(lambda: not dbt_backends(conn), "the shards' dbt backends to end", timeout=10)
                assert not waiting_for_pause(conn)
            finally:
                release()  # a shard of a failed run finishes its tenant and ends; then the trigger can go
                kill_groups(pids.values())
                conn.execute(f'drop trigger if exists test_pause_write on "{held[1]}".product_images')
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        kill_groups(pids.values())
    # (d) the killed run left a run log row for each tenant it committed only; the held ones have none
    # (a cancelled tenant is rolled back whole, its 'error' row too: `when others` does not catch a cancel)
    killed_rows = conn.execute(
        "select tenant_schema, status from product_images.product_images_runs where invocation_id <> all(%s)",
        (list(before),),
    ).fetchall()
    assert {tenant for tenant, _ in killed_rows}.isdisjoint(held), killed_rows
    assert {status for _, status in killed_rows} <= {"success", "skipped"}, killed_rows
    for tenant in held:
        found = conn.execute(
            sql.SQL("select count(*) from {} where url = %s").format(sql.Identifier(tenant, "product_images")),
            (APPENDED.format(tenant=tenant),),
        ).fetchone()[0]
        assert found == 0, f"{tenant}: the killed run's half-done tenant was committed"
    # (c) the next migrate starts at once (no lock left behind) and makes every tenant whole
    second = subprocess.run(migrate_args(project_dir, 2), env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, (second.stdout, second.stderr)
    assert re.search(rf": {len(TENANTS)} success tenant\(s\)", second.stdout.splitlines()[0]), second.stdout
    for tenant in TENANTS:
        assert parity_problems(conn, tenant) == [], tenant
        assert constraint_problems(conn, tenant) == [], tenant
