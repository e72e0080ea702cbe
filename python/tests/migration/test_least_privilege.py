"""The migration role the README asks for and no more, on tenants the app's own role owns.

On a production server the app's role created the tenant schemas and owns `products`; the
migration runs as another role that has only what the README's "Run it on a real database"
lists: USAGE and CREATE on every tenant schema and on the dbt schema, SELECT and REFERENCES
on each tenant's `products`. Neither role is a superuser (a superuser passes every privilege
check, so these tests would prove nothing as one). The run, `dbt test` and the GX checkpoint
must pass as that role, and the app's role must be able to use the new `product_images`
after the cut-over, although the migration role owns it.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from helpers.legacy_data import make_tenant, photos
from product_images.checks.checkpoints import run_checkpoint
from product_images.cli import main
from product_images.connection import connect

TENANTS = ("user_1", "user_2", "user_3", "user_4", "template_tenant")


def ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def last_runs(conn) -> dict[str, tuple[str, str | None]]:
    """{tenant: (status, message)} of each tenant's last run."""
    return {
        tenant: (status, message)
        for tenant, status, message in conn.execute(
            "select distinct on (tenant_schema) tenant_schema, status, message "
            "from product_images.product_images_runs where tenant_schema = any(%s) "
            "order by tenant_schema, finished_at desc",
            (list(TENANTS),),
        ).fetchall()
    }


@pytest.fixture(scope="module")
def roles(conn, database) -> Iterator[tuple[str, str]]:
    """(app role, migration role): the app's owns the tenants; the migration's has the README's grants."""
    app, migrator = f"app_{database}", f"least_{database}"
    for role in (app, migrator):
        conn.execute(sql.SQL("create role {} login nosuperuser").format(ident(role)))
        # a CREATEROLE role that is no superuser must be granted a role it created to give it objects
        # (PostgreSQL 16) or to drop what it owns; a superuser may anyway
        conn.execute(sql.SQL("grant {} to current_user").format(ident(role)))
    # the app's role made the tenant schemas, so it may create in the database (and own a schema)
    conn.execute(sql.SQL("grant create on database {} to {}").format(ident(database), ident(app)))
    make_tenant(conn, "user_1", {pid: photos(pid, 3, "user_1") for pid in range(1, 6)})
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2"), 2: [{"url": "https://images.example.com/x.jpg"}, 7]})
    for tenant in ("user_3", "user_4"):  # the tenants the last test changes
        make_tenant(conn, tenant, {1: photos(1, 2, tenant)})
    make_tenant(conn, "template_tenant", {})
    for tenant in TENANTS:
        conn.execute(sql.SQL("alter schema {} owner to {}").format(ident(tenant), ident(app)))
        conn.execute(sql.SQL("alter table {} owner to {}").format(sql.Identifier(tenant, "products"), ident(app)))
        conn.execute(sql.SQL("grant usage, create on schema {} to {}").format(ident(tenant), ident(migrator)))
        conn.execute(
            sql.SQL("grant select, references on {} to {}").format(sql.Identifier(tenant, "products"), ident(migrator))
        )
    conn.execute("create schema product_images")
    conn.execute(sql.SQL("grant usage, create on schema product_images to {}").format(ident(migrator)))
    yield app, migrator
    # the checkpoint's connection pool may still hold a session of the migration role
    conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where usename = any(%s) and pid <> pg_backend_pid()",
        ([app, migrator],),
    )
    for role in (migrator, app):
        conn.execute(sql.SQL("drop owned by {} cascade").format(ident(role)))
    for role in (migrator, app):
        conn.execute(sql.SQL("drop role {}").format(ident(role)))


@pytest.fixture(scope="module")
def as_migrator(roles) -> Iterator[str]:
    """PGUSER is the migration role for the module (dbt's profile, the checkpoint and connect() read it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGUSER", roles[1])
        yield roles[1]


@pytest.fixture(scope="module")
def migrated(conn, dbt, as_migrator) -> None:
    assert conn.execute("select rolsuper from pg_roles where rolname = %s", (as_migrator,)).fetchone() == (False,)
    for command in (("seed",), ("run", "--select", "product_images")):
        result = dbt(*command)
        assert result.success, [r.message for r in result.node_results()] or result.exception


def test_the_run_loads_every_tenant_as_a_role_with_only_the_readmes_grants(conn, migrated):
    assert {tenant: status for tenant, (status, _) in last_runs(conn).items()} == {
        tenant: "success" for tenant in TENANTS
    }
    assert conn.execute("select count(*) from user_1.product_images").fetchone() == (15,)
    assert conn.execute("select count(*) from user_2.product_images").fetchone() == (3,)
    assert conn.execute("select count(*) from user_2.product_images_rejects").fetchone() == (1,)


def test_dbt_test_and_the_checkpoint_pass_as_that_role(dbt, migrated, project_dir):
    result = dbt("test")
    assert result.success, [r.message for r in result.node_results() if r.status != "pass"]
    report = run_checkpoint(gx_dir=project_dir / "gx", data_docs="none")
    assert report.success, [outcome.check for outcome in report.outcomes if not outcome.success]


def test_the_apps_role_can_use_product_images_which_the_migration_role_owns(conn, roles, migrated):
    app, migrator = roles
    assert conn.execute(
        "select pg_get_userbyid(relowner) from pg_class where oid = 'user_1.product_images'::regclass"
    ).fetchone() == (migrator,)
    with connect(user=app, autocommit=True) as app_conn:
        assert app_conn.execute("select count(*) from user_1.product_images").fetchone() == (15,)
        with app_conn.transaction(force_rollback=True):
            app_conn.execute(
                "insert into user_1.product_images (product_id, url, position) values (1, 'https://x/new.jpg', 3)"
            )
            app_conn.execute("update user_1.product_images set is_label = true where product_id = 1 and position = 3")
            app_conn.execute("delete from user_1.product_images where product_id = 1 and position = 3")


def test_a_table_an_older_version_loaded_without_the_owners_grant_gets_it_on_the_next_run(conn, dbt, roles, migrated):
    # Versions before 2026-12-06 did not grant products' owner anything on product_images: a
    # tenant they loaded as another role must not stay unreadable to the app after an upgrade.
    app, migrator = roles
    with connect(user=migrator, autocommit=True) as migrator_conn:  # the owner, as the old version was
        migrator_conn.execute(sql.SQL("revoke all on user_1.product_images from {}").format(ident(app)))
    with connect(user=app, autocommit=True) as app_conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for table product_images"):
            app_conn.execute("select count(*) from user_1.product_images")
    assert dbt("run", "--select", "product_images").success
    with connect(user=app, autocommit=True) as app_conn:
        assert app_conn.execute("select count(*) from user_1.product_images").fetchone() == (15,)
        with app_conn.transaction(force_rollback=True):
            app_conn.execute("update user_1.product_images set is_label = false where product_id = 1")
    # granted once: the next run finds nothing to upgrade and leaves the unchanged tenant alone
    assert dbt("run", "--select", "product_images").success
    assert conn.execute(
        "select mode from product_images.product_images_runs where tenant_schema = 'user_1' "
        "order by finished_at desc limit 1"
    ).fetchone() == ("unchanged",)


def test_a_tenant_whose_products_the_role_cannot_read_fails_alone_naming_the_privilege(conn, dbt, roles, migrated):
    # The README's list is needed, not only enough: without SELECT on one tenant's products the
    # rerun fails that tenant, naming the privilege, and still syncs the others.
    app, migrator = roles
    conn.execute(sql.SQL("revoke select on user_3.products from {}").format(ident(migrator)))
    try:
        conn.execute(
            "update user_4.products set images = images || %s::jsonb where id = 1", ('[{"url": "https://x/1.jpg"}]',)
        )
        conn.execute(
            "update user_3.products set images = images || %s::jsonb where id = 1", ('[{"url": "https://x/2.jpg"}]',)
        )
        result = dbt("run", "--select", "product_images")
        assert not result.success
        runs = last_runs(conn)
        assert runs["user_3"][0] == "error"
        assert "permission denied for table products" in runs["user_3"][1]
        assert runs["user_4"][0] == "success"
        assert conn.execute("select count(*) from user_4.product_images").fetchone() == (3,)
    finally:
        conn.execute(sql.SQL("grant select on user_3.products to {}").format(ident(migrator)))
    assert dbt("run", "--select", "product_images").success
    assert conn.execute("select count(*) from user_3.product_images").fetchone() == (3,)


def test_the_rollback_works_as_that_role_and_the_next_run_loads_the_tenant_again(conn, dbt, migrated):
    # Runbook step 2: dropping product_images drops its foreign key to products, which takes
    # products' lock but no privilege on it beyond those the README lists.
    before = conn.execute("select count(*) from user_2.product_images").fetchone()
    result = dbt("run-operation", "rollback_product_images", "--args", "{tenants: [user_2], confirm: true}")
    assert result.success, result.exception
    assert conn.execute("select to_regclass('user_2.product_images')").fetchone() == (None,)
    assert dbt("run", "--select", "product_images").success
    assert conn.execute("select count(*) from user_2.product_images").fetchone() == before


def test_migrate_with_two_jobs_works_as_that_role(conn, migrated, project_dir, monkeypatch):
    # `product-images migrate` makes sure dbt's schema exists before the shards start: it exists
    # here, and the role may not create schemas in the database.
    monkeypatch.setenv("DBT_PROFILES_DIR", str(project_dir / "target" / "profiles"))
    conn.execute("update user_1.products set title = 'renamed' where id = 1")
    result = CliRunner().invoke(main, ["migrate", "--jobs", "2", "--project-dir", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert "; exit 0" in result.output
