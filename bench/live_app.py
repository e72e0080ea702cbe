"""The migration with the app writing: the app's write latency and the first load's speed.

One tenant of 60,000 products x 5 images (300k JSONB elements), as in the issue that
found the lost photos and the stalled writes. Three databases, copies of one
generated database:

* ``quiet``: ``dbt run`` alone (first load), then a rerun: the reference speed;
* ``live``: the same while the app writes: a thread appends a photo to a random
  product every ``--interval-ms`` and commits (its latency measured per write),
  and an ordinary long app transaction holds one product's row lock from just
  before the run until ``--hold-seconds`` after the foreign-key step began to wait
  for it (so that step times out and retries meanwhile); then an incremental
  rerun, still with the app writing, and a last rerun after the app stopped.
  Every photo the app committed must be loaded then.
* ``app only``: the app's write latency with no migration running.

Targets (issue "The migration while the app keeps working"): the app's max write
latency during the migration below lock_timeout + 100 ms; the first load no more
than 10% slower than on the quiet database.

Writes ``bench/results/live_app.json``.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.common import (
    child_env,
    create_database,
    dbt_command,
    drop_database,
    ensure_postgres,
    log,
    project_copy,
    rate,
    run_measured,
    write_result,
)
from bench.generate import DatasetSpec, ensure_app_role, load_dataset
from product_images.connection import connect

TENANT = "user_1"


class AppWriter(threading.Thread):
    """Appends one photo to a random product and commits, every ``interval`` seconds; times each write."""

    def __init__(self, database: str, products: int, interval: float, seed: int = 1) -> None:
        super().__init__(daemon=True)
        self.database, self.products, self.interval = database, products, interval
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.appended: list[tuple[int, str]] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        statement = sql.SQL(
            "update {} set images = images || jsonb_build_array(jsonb_build_object('url', %s::text, 'order', "
            "%s::integer)) "
            "where id = %s"
        ).format(sql.Identifier(TENANT, "products"))
        try:
            with connect(autocommit=True, dbname=self.database, application_name="app") as conn:
                count = 0
                while not self.stopping.is_set():
                    count += 1
                    product_id = self.rng.randint(1, self.products)
                    url = f"https://images.example.com/{TENANT}/app/{product_id}/{count}.jpg"
                    started = time.perf_counter()
                    conn.execute(statement, (url, 1000 + count, product_id))
                    self.latencies.append(time.perf_counter() - started)
                    self.appended.append((product_id, url))
                    time.sleep(self.interval)
        except BaseException as error:  # noqa: BLE001 - reported in the result
            self.error = error

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)


def hold_until_the_foreign_keys_wait(
    database: str, holder: psycopg.Connection, seconds: float, waited: dict[str, float]
) -> None:
    """Keep the long app transaction open until dbt's foreign-key step waits for it, then ``seconds`` more."""
    started = time.perf_counter()
    with connect(autocommit=True, dbname=database) as monitor:
        while time.perf_counter() - started < 600:
            (count,) = monitor.execute(
                "select count(*) from pg_stat_activity where application_name = 'dbt' and wait_event_type = 'Lock' "
                "and query like '%product_images_constraints%'"
            ).fetchone()  # type: ignore[misc]
            if count:
                waited["from"] = round(time.perf_counter() - started, 2)
                break
            time.sleep(0.02)
    time.sleep(seconds)
    holder.rollback()


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    """Median, p99 and max of write latencies, in milliseconds."""
    if not latencies:
        return {"writes": 0}
    ordered = sorted(latencies)
    return {
        "writes": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def dbt_run(project: Path, work: Path, name: str, vars_yaml: str) -> dict[str, Any]:
    run = run_measured(
        dbt_command(project, "run", "--select", "product_images", "--vars", vars_yaml),
        log_path=work / f"{name}.log",
        env=child_env(),
    )
    log(f"{name}: dbt run exit {run.returncode} in {run.seconds:.1f} s")
    return {"seconds": round(run.seconds, 2), "returncode": run.returncode}


def run_log(database: str) -> list[dict[str, Any]]:
    with connect(dbname=database) as conn:
        conn.row_factory = psycopg.rows.dict_row
        return conn.execute(
            "select status, mode, failed_step, attempts, products_changed, images_inserted, images_total, "
            "round(extract(epoch from finished_at - started_at)::numeric, 2)::float as seconds, message "
            "from product_images.product_images_runs where tenant_schema = %s order by started_at",
            (TENANT,),
        ).fetchall()


def missing_photos(database: str, appended: list[tuple[int, str]]) -> int:
    with connect(dbname=database) as conn:
        loaded = set(
            conn.execute(
                sql.SQL("select product_id, url from {}").format(sql.Identifier(TENANT, "product_images"))
            ).fetchall()
        )
    return sum(1 for item in appended if item not in loaded)


def run(args: argparse.Namespace) -> dict[str, Any]:
    mode = ensure_postgres()
    spec = DatasetSpec(tenants=1, products=args.products, images=args.images)
    work = Path(tempfile.mkdtemp(prefix="product-images-bench-live-"))
    project = project_copy(work / "project")
    lock_timeout_ms = int(args.lock_timeout_ms)
    vars_yaml = f"{{lock_timeout: '{lock_timeout_ms}ms', lock_retries: {args.lock_retries}, lock_retry_wait: 0.5}}"
    source = "bench_live_source"
    create_database(source)
    with connect(dbname=source) as conn:
        ensure_app_role(conn)
        load_dataset(conn, spec)
    result: dict[str, Any] = {
        "postgres": mode,
        "elements": spec.elements,
        "products": spec.products,
        "lock_timeout_ms": lock_timeout_ms,
        "lock_retries": args.lock_retries,
        "hold_seconds": args.hold_seconds,
        "interval_ms": args.interval_ms,
    }

    # The app alone: its latency with no migration.
    create_database("bench_live_app_only", template=source)
    writer = AppWriter("bench_live_app_only", spec.products, args.interval_ms / 1000)
    writer.start()
    time.sleep(args.app_only_seconds)
    writer.stop()
    result["app_only"] = latency_summary(writer.latencies)
    drop_database("bench_live_app_only")

    # Quiet: the migration alone.
    create_database("bench_live_quiet", template=source)
    with pointing_at("bench_live_quiet"):
        first = dbt_run(project, work, "quiet_first_load", vars_yaml)
        rerun = dbt_run(project, work, "quiet_rerun", vars_yaml)
    tenant_seconds = run_log("bench_live_quiet")[0]["seconds"]
    result["quiet"] = {
        "first_load": first,
        "rerun": rerun,
        "first_load_tenant_seconds": tenant_seconds,
        "images_per_second": rate(spec.elements, tenant_seconds),
    }
    drop_database("bench_live_quiet")

    # Live: the app writing all along (the first load's speed beside the quiet one)...
    create_database("bench_live_writes", template=source)
    with pointing_at("bench_live_writes"):
        writer = AppWriter("bench_live_writes", spec.products, args.interval_ms / 1000, seed=2)
        writer.start()
        first = dbt_run(project, work, "live_first_load", vars_yaml)
        during_first = latency_summary(writer.latencies)
        mark = len(writer.latencies)
        rerun = dbt_run(project, work, "live_rerun", vars_yaml)
        during_rerun = latency_summary(writer.latencies[mark:])
        writer.stop()
        last = dbt_run(project, work, "live_last_rerun", vars_yaml)
    runs = run_log("bench_live_writes")
    result["live"] = {
        "first_load": first,
        "rerun": rerun,
        "last_rerun": last,
        "app_during_first_load": during_first,
        "app_during_rerun": during_rerun,
        "first_load_tenant_seconds": runs[0]["seconds"],
        "images_per_second": rate(spec.elements, runs[0]["seconds"]),
        "run_log": runs,
        "photos_appended": len(writer.appended),
        "photos_missing_after_last_rerun": missing_photos("bench_live_writes", writer.appended),
        "app_error": repr(writer.error) if writer.error else None,
    }
    drop_database("bench_live_writes")

    # ...and with a long app transaction holding a row lock when the foreign-key step comes.
    create_database("bench_live_held", template=source)
    with pointing_at("bench_live_held"):
        holder = connect(dbname="bench_live_held", application_name="long app transaction")
        holder.execute(sql.SQL("update {} set title = title where id = 1").format(sql.Identifier(TENANT, "products")))
        waited: dict[str, float] = {}
        release = threading.Thread(
            target=hold_until_the_foreign_keys_wait,
            args=("bench_live_held", holder, args.hold_seconds, waited),
            daemon=True,
        )
        held_writer = AppWriter("bench_live_held", spec.products, args.interval_ms / 1000, seed=3)
        held_writer.start()
        release.start()
        held = dbt_run(project, work, "held_first_load", vars_yaml)
        release.join(timeout=600)
        holder.close()
        held_writer.stop()
    held_runs = run_log("bench_live_held")
    result["held"] = {
        "first_load": held,
        "app_during_first_load": latency_summary(held_writer.latencies),
        "foreign_key_step_waited_from_s": waited.get("from"),
        "held_for_s_after_the_wait_began": args.hold_seconds,
        "run_log": held_runs,
        "app_error": repr(held_writer.error) if held_writer.error else None,
    }
    drop_database("bench_live_held")
    drop_database(source)

    quiet_rate, live_rate = result["quiet"]["images_per_second"], result["live"]["images_per_second"]
    max_during = max(
        result["live"]["app_during_first_load"].get("max_ms", 0),
        result["live"]["app_during_rerun"].get("max_ms", 0),
        result["held"]["app_during_first_load"].get("max_ms", 0),
    )
    missing = result["live"]["photos_missing_after_last_rerun"]
    result["targets"] = [
        {
            "target": "max app write latency during the migration < lock_timeout + 100 ms "
            f"= {lock_timeout_ms + 100} ms",
            "measured": f"{max_during} ms (app alone: {result['app_only'].get('max_ms')} ms)",
            "met": max_during < lock_timeout_ms + 100,
        },
        {
            "target": "first load with the app writing no more than 10% slower than quiet",
            "measured": f"{live_rate} vs {quiet_rate} images/s",
            "met": bool(quiet_rate and live_rate and live_rate >= 0.9 * quiet_rate),
        },
        {
            "target": "every photo the app committed is loaded after the next run",
            "measured": f"{missing} of {result['live']['photos_appended']} missing",
            "met": missing == 0,
        },
        {
            "target": "a row lock held across the foreign-key step: the tenant completes after retries",
            "measured": f"status {held_runs[0]['status']}, {held_runs[0]['attempts']} attempts",
            "met": held_runs[0]["status"] == "success" and (held_runs[0]["attempts"] or 0) > 1,
        },
    ]
    return result


class pointing_at:  # noqa: N801 - a context manager named for what it does
    """Set PGDATABASE for the dbt child processes while the block runs."""

    def __init__(self, database: str) -> None:
        self.database = database

    def __enter__(self) -> None:
        import os

        self.previous = os.environ.get("PGDATABASE")
        os.environ["PGDATABASE"] = self.database

    def __exit__(self, *exc: object) -> None:
        import os

        if self.previous is None:
            os.environ.pop("PGDATABASE", None)
        else:
            os.environ["PGDATABASE"] = self.previous


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="live_app", help="result file name (bench/results/<name>.json)")
    parser.add_argument("--products", type=int, default=60_000, help="products in the tenant")
    parser.add_argument("--images", type=int, default=5, help="JSONB elements per product")
    parser.add_argument("--interval-ms", type=float, default=5.0, help="pause between two app writes")
    parser.add_argument(
        "--hold-seconds",
        type=float,
        default=4.0,
        help="how long the long app transaction keeps its row lock after the foreign-key step began to wait",
    )
    parser.add_argument("--lock-timeout-ms", type=int, default=1000, help="var lock_timeout, in ms")
    parser.add_argument("--lock-retries", type=int, default=5, help="var lock_retries")
    parser.add_argument(
        "--app-only-seconds", type=float, default=10.0, help="how long the app-only latency is measured"
    )
    args = parser.parse_args(argv)
    result = run(args)
    path = write_result(args.name, result)
    for target in result["targets"]:
        log(f"{'met' if target['met'] else 'MISSED'}: {target['target']}: {target['measured']}")
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
