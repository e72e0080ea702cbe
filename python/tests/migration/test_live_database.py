"""The migration while the app keeps writing: no photo lost, no app write stalled, the failures named.

Windows are opened deterministically: a dbt step is paused at a chosen statement by
a trigger that waits for an advisory lock the test holds, or blocked by a row lock
an app transaction holds; the app writes meanwhile, then the test lets go.
"""

from __future__ import annotations

import threading
import time

import pytest
from psycopg import sql

from helpers.dbt import run_log
from helpers.legacy_data import make_tenant, photos
from helpers.live import (
    AppWriter,
    app_writing,
    constraint_problems,
    dbt_process,
    kill_hard,
    parity_problems,
    pause_at_ddl,
    pause_at_write,
    terminate_backends,
    wait_for,
    waiting_for_pause,
)
from product_images.app.service import InvalidOrderError, ProductImageService
from product_images.checks.checkpoints import run_checkpoint
from product_images.connection import connect

LIVE = "user_7"
OTHER = "user_8"
RUN = ("run", "--select", "product_images")
FAST_LOCKS = "{lock_timeout: '300ms', lock_retries: 2, lock_retry_wait: 0.1}"
PRODUCTS = list(range(1, 201))


@pytest.fixture
def live(conn, dbt):
    """A fresh tenant of 200 products x 3 photos, and another tenant, both not migrated yet."""
    for tenant in (LIVE, OTHER):
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(tenant)))
    make_tenant(conn, LIVE, {pid: photos(pid, 3, LIVE) for pid in PRODUCTS})
    make_tenant(conn, OTHER, {pid: photos(pid, 2, OTHER) for pid in range(1, 11)})
    yield
    for tenant in (LIVE, OTHER):
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(tenant)))


def run_ok(dbt, *extra):
    result = dbt(*RUN, *extra)
    assert result.success, [r.message for r in result.node_results()] or result.exception
    return result


def urls_loaded(conn, tenant):
    return set(
        conn.execute(
            sql.SQL("select product_id, url from {}").format(sql.Identifier(tenant, "product_images"))
        ).fetchall()
    )


def synced_but_not_loaded(conn, tenant, appended):
    """Appended photos that are not loaded although their product's JSONB is recorded as synced."""
    loaded = urls_loaded(conn, tenant)
    current = dict(
        conn.execute(
            sql.SQL(
                "select products.id, md5(products.images::text) = synced.images_md5 from {} as products "
                "join {} as synced on synced.product_id = products.id"
            ).format(sql.Identifier(tenant, "products"), sql.Identifier(tenant, "product_images_sync"))
        ).fetchall()
    )
    return [(pid, url) for pid, url in appended if (pid, url) not in loaded and current.get(pid)]


def test_photos_appended_during_a_first_load_are_loaded_by_the_next_run(conn, dbt, live):
    # The first load is paused after it has read products (at its first ALTER TABLE,
    # which builds the keys of the table it just loaded); the app appends meanwhile.
    with pause_at_ddl(conn, LIVE) as release:
        result = {}
        runner = threading.Thread(target=lambda: result.update(run=dbt(*RUN)))
        runner.start()
        wait_for(lambda: waiting_for_pause(conn), "the first load to pause")
        writer = AppWriter(LIVE, PRODUCTS)
        for _ in range(60):
            with connect(autocommit=True) as app:
                writer.write_once(app)
        release()
        runner.join(timeout=120)
    assert result["run"].success
    assert run_log(conn)[LIVE]["mode"] == "first_load"
    loaded = urls_loaded(conn, LIVE)
    assert len(loaded) == 600  # what the snapshot held, no more
    assert not synced_but_not_loaded(conn, LIVE, writer.appended)
    assert len(parity_problems(conn, LIVE)) == 60  # the app's photos, not loaded yet

    run_ok(dbt)
    assert set(writer.appended) <= urls_loaded(conn, LIVE)
    assert parity_problems(conn, LIVE) == []
    assert constraint_problems(conn, LIVE) == []


def test_photos_appended_during_an_incremental_run_are_loaded_by_the_next_run(conn, dbt, live):
    run_ok(dbt)
    with connect(autocommit=True) as app:
        first = AppWriter(LIVE, PRODUCTS[:50], seed=2)
        for _ in range(30):
            first.write_once(app)
    # The incremental run is paused at its first write to product_images, after it
    # has read the changed products; the app appends again meanwhile.
    with pause_at_write(conn, LIVE) as release:
        result = {}
        runner = threading.Thread(target=lambda: result.update(run=dbt(*RUN)))
        runner.start()
        wait_for(lambda: waiting_for_pause(conn), "the incremental run to pause")
        second = AppWriter(LIVE, PRODUCTS[:50], seed=3)  # some of the products the run is changing
        with connect(autocommit=True) as app:
            for _ in range(40):
                second.write_once(app)
        release()
        runner.join(timeout=120)
    assert result["run"].success
    assert set(first.appended) <= urls_loaded(conn, LIVE)
    assert not synced_but_not_loaded(conn, LIVE, second.appended)

    run_ok(dbt)
    assert set(first.appended + second.appended) <= urls_loaded(conn, LIVE)
    assert parity_problems(conn, LIVE) == []
    assert constraint_problems(conn, LIVE) == []


def test_an_app_writing_all_along_loses_nothing_and_the_checkpoint_passes(conn, dbt, live, project_dir):
    with app_writing(LIVE, PRODUCTS, interval=0.001) as writer:
        run_ok(dbt)  # first load
        wait_for(lambda: len(writer.appended) > 50, "the app to write")
        run_ok(dbt)  # incremental, still writing
    assert len(writer.appended) > 50
    run_ok(dbt)  # the next run after the app stopped
    assert set(writer.appended) <= urls_loaded(conn, LIVE)
    assert parity_problems(conn, LIVE) == []
    assert constraint_problems(conn, LIVE) == []
    report = run_checkpoint(gx_dir=project_dir / "gx", tenants=[LIVE], data_docs="none")
    assert [outcome.check for outcome in report.outcomes if not outcome.success] == []


def test_a_held_row_lock_never_stalls_the_app_and_fails_that_tenant_alone_naming_it(conn, dbt, live):
    holder = connect(application_name="long app transaction")
    holder.execute(sql.SQL("update {} set title = 'held' where id = 1").format(sql.Identifier(LIVE, "products")))
    holder_pid = holder.info.backend_pid
    try:
        with app_writing(LIVE, PRODUCTS[1:], table_write="price", interval=0.005) as writer:
            result = dbt(*RUN, "--vars", FAST_LOCKS)
        assert not result.success
        message = result.node_results()[0].message
        assert (
            f"{LIVE} (step constraints, 55P03: gave up after 3 attempts (lock_timeout 300ms, lock_retries 2)" in message
        )
        assert f"pid {holder_pid} holds RowExclusiveLock on {LIVE}.products (idle in transaction" in message
        assert "application 'long app transaction'): update" in message
        assert OTHER not in message
        log = run_log(conn)
        assert (log[LIVE]["status"], log[LIVE]["failed_step"], log[LIVE]["attempts"]) == ("error", "constraints", 3)
        assert log[OTHER]["status"] == "success"
        # No app write waited for the migration longer than lock_timeout (+ a margin for a busy machine).
        assert len(writer.latencies) > 20
        assert max(writer.latencies) < 0.3 + 0.25, sorted(writer.latencies)[-5:]
        assert constraint_problems(conn, OTHER) == []
    finally:
        holder.rollback()
        holder.close()
    result = run_ok(dbt, "--vars", FAST_LOCKS)
    assert run_log(conn)[LIVE]["status"] == "success"
    assert constraint_problems(conn, LIVE) == []
    assert parity_problems(conn, LIVE) == []


def test_the_blocker_named_is_what_it_does_when_the_retries_run_out(conn, dbt, live):
    """pg_stat_activity is read once per transaction unless cleared: the report must not be stale."""
    holder = connect(application_name="long app transaction")
    holder.execute(sql.SQL("update {} set title = 'held' where id = 1").format(sql.Identifier(LIVE, "products")))
    results = []
    run = threading.Thread(
        target=lambda: results.append(
            dbt(*RUN, "--vars", "{lock_timeout: '300ms', lock_retries: 1, lock_retry_wait: 2}")
        )
    )
    run.start()
    try:

        def dbt_waits(event):
            return conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'dbt' "
                "and wait_event = %s",
                (event,),
            ).fetchone()[0]

        wait_for(lambda: dbt_waits("PgSleep"), "dbt to sleep after its first attempt")
        holder.execute("select 'the holder''s second statement'")
        run.join(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    message = results[0].node_results()[0].message
    assert "gave up after 2 attempts" in message
    assert "application 'long app transaction'): select 'the holder''s second statement'" in message, message


def test_an_app_schema_change_holding_products_fails_the_first_load_naming_it(conn, dbt, live):
    holder = connect(application_name="app migration")
    holder.execute(sql.SQL("lock table {} in access exclusive mode").format(sql.Identifier(LIVE, "products")))
    try:
        result = dbt(*RUN, "--vars", FAST_LOCKS)
        assert not result.success
        message = result.node_results()[0].message
        assert f"{LIVE} (step sync, 55P03: gave up after 3 attempts" in message
        assert f"pid {holder.info.backend_pid} holds AccessExclusiveLock on {LIVE}.products" in message
        assert conn.execute("select to_regclass(%s)", (f"{LIVE}.product_images",)).fetchone()[0] is None
    finally:
        holder.rollback()
        holder.close()
    run_ok(dbt, "--vars", FAST_LOCKS)
    assert constraint_problems(conn, LIVE) == []


def test_dbt_killed_while_adding_the_foreign_keys_then_rerun(conn, dbt, live, project_dir):
    holder = connect(application_name="long app transaction")
    holder.execute(sql.SQL("update {} set title = 'held' where id = 1").format(sql.Identifier(LIVE, "products")))
    process = dbt_process(project_dir, *RUN, "--vars", "{lock_timeout: '60s'}")
    try:
        wait_for(
            lambda: conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'dbt' "
                "and wait_event_type = 'Lock' "
                "and query like %s",
                ("%product_images_constraints%",),
            ).fetchone()[0],
            "dbt to wait for the products lock",
        )
        kill_hard(process)
    finally:
        holder.rollback()
        holder.close()
    terminate_backends(conn)
    # The first load was committed, its foreign keys were not.
    assert (
        conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(LIVE, "product_images"))).fetchone()[0]
        == 600
    )
    assert "3 foreign keys" not in " ".join(constraint_problems(conn, LIVE))
    run_ok(dbt)
    assert run_log(conn)[LIVE]["mode"] == "incremental"
    assert constraint_problems(conn, LIVE) == []
    assert parity_problems(conn, LIVE) == []


def test_dbt_killed_during_a_first_load_then_rerun(conn, dbt, live, project_dir):
    with pause_at_ddl(conn, LIVE):
        process = dbt_process(project_dir, *RUN)
        wait_for(lambda: waiting_for_pause(conn), "the first load to pause")
        kill_hard(process)
        terminate_backends(conn)
    assert conn.execute("select to_regclass(%s)", (f"{LIVE}.product_images",)).fetchone()[0] is None
    run_ok(dbt)
    assert run_log(conn)[LIVE]["mode"] == "first_load"
    assert constraint_problems(conn, LIVE) == []
    assert parity_problems(conn, LIVE) == []


def test_service_operations_during_a_run_wait_for_it_and_keep_every_constraint(conn, dbt, live):
    run_ok(dbt)
    # Products whose JSONB changed, so the next run has work on them.
    with connect(autocommit=True) as app:
        writer = AppWriter(LIVE, PRODUCTS[:20], seed=5)
        for _ in range(20):
            writer.write_once(app)
        AppWriter(LIVE, [2], seed=5).write_once(app)  # product 2 surely gains a photo in the run
    errors: list[BaseException] = []
    done: list[str] = []

    def app_operations(product_id: int) -> None:
        try:
            with connect(autocommit=True, application_name="app") as app:
                service = ProductImageService(app, LIVE)
                added = service.add_image(product_id, f"https://images.example.com/{LIVE}/svc/{product_id}.jpg")
                images = service.get_images(product_id)
                service.reorder_images(product_id, [image.id for image in reversed(images)])
                service.set_label_flag(added.id, True)
                done.append(f"product {product_id}")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    with pause_at_write(conn, LIVE) as release:
        result = {}
        runner = threading.Thread(target=lambda: result.update(run=dbt(*RUN)))
        runner.start()
        wait_for(lambda: waiting_for_pause(conn), "the incremental run to pause")
        # A reorder built from what the app read before the run gained an image is
        # refused, naming the product, not applied half-way.
        stale = ProductImageService(conn, LIVE).get_images(2)
        stale_error: list[BaseException] = []

        def stale_reorder() -> None:
            try:
                with connect(autocommit=True, application_name="app") as app:
                    ProductImageService(app, LIVE).reorder_images(2, [image.id for image in stale])
            except InvalidOrderError as error:
                stale_error.append(error)

        workers = [threading.Thread(target=app_operations, args=(pid,)) for pid in (1, 2, 3, 150, 151)]
        workers.append(threading.Thread(target=stale_reorder))
        for worker in workers:
            worker.start()
        # They wait for the run: the service takes the tenant's migration lock shared.
        wait_for(
            lambda: conn.execute(
                "select count(*) >= 6 from pg_locks where locktype = 'advisory' and not granted and mode = 'ShareLock' "
                "and database = (select oid from pg_database where datname = current_database())"
            ).fetchone()[0],
            "the service calls to wait for the run",
        )
        release()
        runner.join(timeout=120)
        for worker in workers:
            worker.join(timeout=60)
    assert result["run"].success
    assert errors == []
    assert len(done) == 5
    [refused] = stale_error
    assert "reorder of product 2 must list each of its" in str(refused)
    assert constraint_problems(conn, LIVE) == []
    labels = dict(
        conn.execute(
            sql.SQL("select product_id, url from {} where is_label and product_id in (1, 2, 3, 150, 151)").format(
                sql.Identifier(LIVE, "product_images")
            )
        ).fetchall()
    )
    assert labels == {pid: f"https://images.example.com/{LIVE}/svc/{pid}.jpg" for pid in (1, 2, 3, 150, 151)}
    run_ok(dbt)  # the rerun keeps the people's labels
    assert constraint_problems(conn, LIVE) == []
    assert (
        dict(
            conn.execute(
                sql.SQL("select product_id, url from {} where is_label and product_id in (1, 2, 3, 150, 151)").format(
                    sql.Identifier(LIVE, "product_images")
                )
            ).fetchall()
        )
        == labels
    )
    assert set(writer.appended) <= urls_loaded(conn, LIVE)


def test_a_service_call_holding_the_tenant_lock_is_waited_for_only_lock_timeout(conn, dbt, live):
    run_ok(dbt)
    with connect(autocommit=True) as app:
        AppWriter(LIVE, PRODUCTS[:5], seed=6).write_once(app)
    caller = connect(application_name="app request")  # a caller's own transaction around a service call
    first_image = ProductImageService(caller, LIVE).get_images(1)[0]
    caller.execute("select 1")  # the caller's transaction is open...
    ProductImageService(caller, LIVE).set_label_flag(first_image.id, True)  # ...so the service's lock stays held
    try:
        started = time.perf_counter()
        result = dbt(*RUN, "--vars", FAST_LOCKS)
        elapsed = time.perf_counter() - started
        assert not result.success
        message = result.node_results()[0].message
        assert f"{LIVE} (step sync, 55P03" in message
        assert f"pid {caller.info.backend_pid} holds ShareLock on the tenant's migration lock" in message
        assert elapsed < 30
    finally:
        caller.rollback()
        caller.close()
    run_ok(dbt)


def test_a_metadata_backfill_during_a_run_skips_the_rows_the_run_holds_and_loses_nothing(conn, dbt, live, tmp_path):
    from helpers.s3 import moto_endpoint
    from product_images.demo.pictures import render_image
    from product_images.metadata.backfill import backfill
    from product_images.metadata.storage import UrlMapping, s3_client

    run_ok(dbt)
    with connect(autocommit=True) as app:
        writer = AppWriter(LIVE, PRODUCTS[:20], seed=7)
        for _ in range(20):
            writer.write_once(app)
    picture = render_image("product", 64, 48, 1, "jpeg")
    keys = [f"{LIVE}/{pid}/{i}.jpg" for pid in PRODUCTS for i in range(3)]
    keys += [url.removeprefix("https://images.example.com/") for _, url in writer.appended]
    with moto_endpoint(tmp_path, "live-images"):
        client = s3_client(max_pool_connections=8)
        client.create_bucket(Bucket="live-images", CreateBucketConfiguration={"LocationConstraint": "auto"})
        for key in keys:
            client.put_object(Bucket="live-images", Key=key, Body=picture, ContentType="image/jpeg")
        mapping = UrlMapping.from_env()
        with pause_at_write(conn, LIVE) as release:
            result = {}
            runner = threading.Thread(target=lambda: result.update(run=dbt(*RUN)))
            runner.start()
            wait_for(lambda: waiting_for_pause(conn), "the incremental run to pause")
            with connect(autocommit=True, application_name="backfill") as worker:
                during = backfill(worker, client, mapping, tenants=[LIVE], concurrency=4, batch_size=50, progress=False)
            release()
            runner.join(timeout=120)
        assert result["run"].success
        # The rows of the products the run changed were locked by it: skipped, not waited for.
        changed_products = {pid for pid, _ in writer.appended}
        assert during.rows_probed == 600 - 3 * len(changed_products)
        with connect(autocommit=True, application_name="backfill") as worker:
            after = backfill(worker, client, mapping, tenants=[LIVE], concurrency=4, batch_size=50, progress=False)
    assert after.rows_probed == 3 * len(changed_products) + len(writer.appended)
    assert (during.failed, after.failed) == ({}, {})
    assert (
        conn.execute(
            sql.SQL("select count(*) from {} where metadata_probed_at is null or width <> 64").format(
                sql.Identifier(LIVE, "product_images")
            )
        ).fetchone()[0]
        == 0
    )
    assert constraint_problems(conn, LIVE) == []
    assert parity_problems(conn, LIVE) == []
