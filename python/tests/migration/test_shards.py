"""Tenants in shards: `--vars '{tenant_shards: N, tenant_shard: i}'` splits the model's tenants with no overlap
and none missing, the union views cover every tenant whichever shard finished last, and
`product-images migrate --jobs N` runs the shards as processes at once with one summary."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.legacy_data import make_tenant, photos
from product_images.cli import main
from product_images.migration.shards import KEPT_COMMAND_FOLDERS

TENANTS = [f"user_{n}" for n in range(1, 13)]


@pytest.fixture(scope="module")
def tenants(conn):
    for tenant in TENANTS:
        make_tenant(conn, tenant, {1: photos(1, 3, tenant), 2: photos(2, 2, tenant)})
    return TENANTS


def unmigrate(conn):
    """Every tenant back to before its first load, and no run log: whatever ran before in this module's database."""
    for tenant in TENANTS:
        conn.execute(
            f"drop table if exists {tenant}.product_images, {tenant}.product_images_rejects, "
            f"{tenant}.product_images_sync cascade"
        )
    conn.execute("drop schema if exists product_images cascade")


def migrated_by_invocation(conn):
    rows = conn.execute(
        "select invocation_id, tenant_schema from product_images.product_images_runs where status = 'success'"
    ).fetchall()
    by_invocation: dict[str, list[str]] = {}
    for invocation, tenant in rows:
        by_invocation.setdefault(invocation, []).append(tenant)
    return by_invocation


def test_three_shards_take_every_tenant_once_and_the_union_view_covers_all(conn, dbt, tenants):
    unmigrate(conn)
    for shard in (2, 0, 1):
        result = dbt(
            "run", "--select", "product_images", "--vars", json.dumps({"tenant_shards": 3, "tenant_shard": shard})
        )
        assert result.success, [r.message for r in result.node_results()]
    shares = list(migrated_by_invocation(conn).values())
    assert len(shares) == 3
    assert all(shares), shares  # 12 tenants: no shard is empty
    assert sorted(tenant for share in shares for tenant in share) == sorted(TENANTS)  # each exactly once
    assert conn.execute(
        "select count(distinct tenant_schema), count(*) from product_images.product_images "
        "where tenant_schema like 'user_%%'"
    ).fetchone() == (12, 60)
    expected = {
        tenant: shard
        for tenant, shard in conn.execute(
            "select t, mod(abs(hashtextextended(t, 0)), 3) from unnest(%s::text[]) as t", (TENANTS,)
        ).fetchall()
    }
    for share in shares:
        assert len({expected[tenant] for tenant in share}) == 1  # a shard is the tenants of one hash value


@pytest.mark.parametrize(
    ("shard_vars", "message"),
    [
        (
            {"tenant_shards": 3, "tenant_shard": 3},
            "var tenant_shard must be an integer 0..2 (tenant_shards is 3), got 3",
        ),
        ({"tenant_shards": 0}, "var tenant_shards must be an integer 1..1024, got 0"),
    ],
)
def test_a_shard_out_of_range_is_refused_naming_the_range(dbt, tenants, shard_vars, message, capfd):
    capfd.readouterr()
    result = dbt("run", "--select", "product_images", "--vars", json.dumps(shard_vars))
    assert not result.success
    assert message in capfd.readouterr().out


def test_migrate_jobs_runs_the_shards_at_once_and_prints_one_summary(conn, tenants, project_dir, monkeypatch):
    unmigrate(conn)
    # earlier commands' folders: the oldest beyond KEPT_COMMAND_FOLDERS go, a folder of another name stays
    shards = project_dir / "target" / "shards"
    shutil.rmtree(shards, ignore_errors=True)  # the module's other commands' folders
    earlier = [shards / f"2026010{day}T000000Z-abcdef" for day in range(1, 10)]
    earlier += [shards / f"202602{day:02d}T000000Z-abcdef" for day in range(1, 16)]
    for folder in [*earlier, shards / "kept-by-hand"]:
        (folder / "0").mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(project_dir / "target" / "profiles"))
    result = CliRunner().invoke(main, ["migrate", "--jobs", "2", "--project-dir", str(project_dir)])
    left = sorted(path.name for path in shards.iterdir())
    assert len(left) == KEPT_COMMAND_FOLDERS + 1 and left[-1] == "kept-by-hand"
    assert left[: KEPT_COMMAND_FOLDERS - 1] == [path.name for path in earlier[-(KEPT_COMMAND_FOLDERS - 1) :]]
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 shard(s) in ")
    assert ": 12 success tenant(s), 60 images inserted; exit 0" in result.output
    assert len(migrated_by_invocation(conn)) == 2
    assert conn.execute(
        "select count(distinct tenant_schema) from product_images.product_images where tenant_schema like 'user_%%'"
    ).fetchone() == (12,)
    folder = re.search(r"shard output: (\S+)/<i>/dbt\.out", result.output)
    assert folder, result.output
    assert (Path(folder.group(1)) / "1" / "dbt.out").read_text(encoding="utf-8").count("shard 1 of 2") == 1


def test_migrate_refuses_vars_that_are_not_a_mapping():
    result = CliRunner().invoke(main, ["migrate", "--vars", "[1, 2]"])
    assert result.exit_code == 2
    assert "--vars must be a YAML or JSON mapping" in result.output


def test_over_many_tenants_the_union_views_are_unions_of_part_views(conn, dbt, tenants):
    def part_views():
        return [
            name
            for (name,) in conn.execute(
                "select relname from pg_class where relnamespace = 'product_images'::regnamespace "
                "and relkind = 'v' and relname like '%%__part_%%' order by relname"
            )
        ]

    result = dbt("run", "--select", "product_images", "--vars", json.dumps({"union_view_part_tenants": 5}))
    assert result.success, [r.message for r in result.node_results()]
    assert part_views() == [
        "product_images__part_1", "product_images__part_2", "product_images__part_3",
        "product_images_rejects__part_1", "product_images_rejects__part_2", "product_images_rejects__part_3",
    ]  # fmt: skip
    assert conn.execute(
        "select count(distinct tenant_schema), count(*) from product_images.product_images "
        "where tenant_schema like 'user_%%'"
    ).fetchone() == (12, 60)
    assert dbt("run", "--select", "product_images").success
    assert part_views() == []  # one view again: the parts are dropped
    assert conn.execute(
        "select count(*) from product_images.product_images where tenant_schema like 'user_%%'"
    ).fetchone() == (60,)
