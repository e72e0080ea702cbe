"""``make bench``: every benchmark, one after the other, then a summary table.

Steps (each in its own process, with its own embedded PostgreSQL unless PGHOST is set):

1. ``migration``: 200 tenants × 1,000 products × 5 images = 1M images (``bench/migration.py``);
2. ``migration_2000_tenants``: 2,000 tenants × 100 products × 5 images = 500 images
   per tenant, 1M in all: first load, idempotent rerun and ``dbt test`` (the
   many-tenants targets: per-tenant transactions, dbt peak memory);
3. ``probe``: 2,000 objects through 20 ms of added latency (``bench/probe.py``);
4. ``probe_100mbit``: 1,000 of them through 20 ms and a 100 Mbit/s link (the naive
   approach downloads ~1.3 MB an image there: about 9 images/s);
5. ``live_app``: one tenant of 300k images migrated while the app writes
   (``bench/live_app.py``): the app's write latency, the first load's speed;
6. ``label_detection``: ``product-images labels detect`` on about 300 clothing photos
   at ``--concurrency`` 1, 2 and 4 (``bench/label_detection.py``): photos/s, CPU and
   bytes per photo, the demo's 9,195 photos extrapolated against 10 minutes.

Writes ``bench/results/run_all.json`` (steps, seconds, the 15-minute budget) and
``bench/results/summary.md`` (the table of targets), and prints the table.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, RESULTS_DIR, checkpoint_met, log, machine_info, write_result

BUDGET_SECONDS = 15 * 60
STEPS: dict[str, list[str]] = {
    "migration": ["migration.py", "--name", "migration"],
    "migration_2000_tenants": [
        "migration.py",
        "--name",
        "migration_2000_tenants",
        "--tenants",
        "2000",
        "--products",
        "100",
        "--images",
        "5",
        "--only-dbt",
        "--skip-incremental",
        "--checkpoint-tenants",
        "-1",
        "--profile-tenants",
        "0",
        "--jobs",
        "1",
    ],
    "probe": ["probe.py", "--name", "probe"],
    "probe_100mbit": ["probe.py", "--name", "probe_100mbit", "--bandwidth-mbit", "100", "--objects", "1000"],
    "live_app": ["live_app.py", "--name", "live_app"],
    "label_detection": ["label_detection.py", "--name", "label_detection"],
}


def run_step(name: str, argv: list[str]) -> dict[str, Any]:
    """Run one benchmark script with this interpreter; its output passes through."""
    log(f"=== {name}: {' '.join(argv)}")
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, str(BENCH_DIR / argv[0]), *argv[1:]], check=False)
    seconds = time.perf_counter() - started
    log(f"=== {name}: {seconds:.0f} s, exit {completed.returncode}")
    return {"seconds": round(seconds, 1), "returncode": completed.returncode}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def summary_table(total_seconds: float | None) -> str:
    """The markdown table of targets, from the result files present."""
    rows: list[tuple[str, str, str]] = []
    migration = _load("migration")
    if migration:
        ratios = migration["ratios"]
        first = migration["first_load"]
        rows.append(
            (
                "first load (a) ≤ 1.3 × hand-written baseline (d), 1M images / 200 tenants",
                f"{first['seconds']:.1f} s vs {migration['baseline']['seconds']:.1f} s = "
                f"**{ratios['first_load_over_baseline']}×** (SQL blocks alone "
                f"{ratios.get('first_load_tenant_blocks_over_baseline')}×)",
                _met(ratios["first_load_over_baseline"] <= 1.3),
            )
        )
        naive = migration.get("naive")
        if naive:
            rows.append(
                (
                    "first load ≥ 20 × faster than the naive loop (e)",
                    f"{first['images_per_second']:,.0f} vs {naive['images_per_second']:,.0f} images/s = "
                    f"**{ratios['naive_over_first_load']}×** (naive over {naive['tenants']} tenants, extrapolated)",
                    _met(ratios["naive_over_first_load"] >= 20),
                )
            )
        rerun = migration["idempotent_rerun"]
        rows.append(
            (
                "idempotent rerun (b) < 10% of the first load",
                f"{rerun['seconds']:.1f} s = **{rerun['fraction_of_first_load']:.0%}**",
                _met(rerun["fraction_of_first_load"] < 0.10),
            )
        )
        incremental = migration.get("incremental_rerun")
        if incremental:
            rows.append(
                (
                    "incremental rerun (c), +1% images (no target)",
                    f"{incremental['seconds']:.1f} s, {incremental['run_log'].get('images_inserted', 0):,} images "
                    "inserted",
                    "–",
                )
            )
        if "dbt_test" in migration:
            rows.append(("`dbt test` on 1M images (no target)", f"{migration['dbt_test']['seconds']:.1f} s", "–"))
        if "checkpoint" in migration:
            check = migration["checkpoint"]
            again = check.get("again")
            rows.append(
                (
                    "`product-images checkpoint run` on 1M images ≤ the dbt first load (a), its first run and the next",
                    f"≈ {check['extrapolated_seconds_all_tenants']:.0f} s "
                    "("
                    + (f"extrapolated from {check['tenants_sampled']} tenants" if check["extrapolated"] else "measured")
                    + (f"; run again: {again['seconds']:.1f} s" if again else "")
                    + f") vs {migration['first_load']['seconds']:.1f} s",
                    "yes" if checkpoint_met(check, migration["first_load"]["seconds"]) else "**no**",
                )
            )
    many = _load("migration_2000_tenants")
    if many:
        first = many["first_load"]
        statuses = first["run_log"].get("statuses", {})
        ok = (
            first["returncode"] == 0
            and statuses.get("success", 0) >= many["spec"]["tenants"]
            and first.get("per_tenant_commits_observed")
        )
        rows.append(
            (
                f"{many['spec']['tenants']:,} tenants × {many['spec']['products'] * many['spec']['images']} images: "
                "completes, per-tenant transactions",
                f"{first['seconds']:.0f} s, {statuses.get('success', 0):,} tenants committed one by one",
                _met(bool(ok)),
            )
        )
        rows.append(
            (
                "… dbt process peak memory < 1 GiB",
                f"**{first['peak_rss_mib']:.0f} MiB**",
                _met(first["peak_rss_bytes"] < 1024**3),
            )
        )
        rerun = many["idempotent_rerun"]
        rows.append(
            (
                "… idempotent rerun (no target)",
                f"{rerun['seconds']:.0f} s ({rerun['fraction_of_first_load']:.0%} of the first load)",
                "–",
            )
        )
        test = many.get("dbt_test")
        if test:
            errors = "; ".join(test.get("errors") or [])
            rows.append(
                (
                    "… `dbt test` (no target)",
                    f"{test['seconds']:.0f} s, exit {test['returncode']}"
                    f"{' (' + test['tests'] + ')' if test.get('tests') else ''}{': ' + errors if errors else ''}",
                    "–",
                )
            )
    for name in ("probe", "probe_100mbit"):
        probe = _load(name)
        if not probe:
            continue
        settings = probe["settings"]
        link = f", {settings['bandwidth_mbit']:g} Mbit/s" if settings.get("bandwidth_mbit") else ""
        if name == "probe":
            rows.append(
                (
                    "prober ≤ 64 KiB per ordinary image",
                    f"max {probe['prober']['bytes_per_ordinary_image_max']:,} B, mean "
                    f"{probe['prober']['bytes_per_image_mean'] / 1024:.0f} KiB "
                    f"(naive {probe['naive']['bytes_per_image_mean'] / 1024:.0f} KiB)",
                    _met(probe["prober"]["bytes_per_ordinary_image_max"] <= 65_536),
                )
            )
        rows.append(
            (
                f"prober ≥ 10 × naive images/s at {settings['latency_ms']:g} ms{link}",
                f"{probe['prober']['images_per_second']:.0f} vs {probe['naive']['images_per_second']:.0f} images/s = "
                f"**{probe['speedup']}×**",
                _met(probe["speedup"] >= 10) if name == "probe" else "(informative)",
            )
        )
    live = _load("live_app")
    if live:
        for target in live["targets"]:
            rows.append((target["target"], target["measured"], _met(target["met"])))
    labels = _load("label_detection")
    if labels:
        for target in labels["targets"]:
            rows.append((f"`labels detect`: {target['target']}", target["measured"], _met(target["met"])))
        levels = labels["levels"]
        rows.append(
            (
                f"… photos/s by --concurrency, {levels[0]['photos_scored']} photos (no target)",
                ", ".join(
                    f"{level['concurrency']}: **{level['photos_per_second']}** "
                    f"(steady {level['steady_photos_per_second']})"
                    for level in levels
                ),
                "–",
            )
        )
        rows.append(
            (
                "… CPU s and bytes downloaded per photo (no target)",
                ", ".join(
                    f"{level['concurrency']}: {level['cpu_seconds_per_photo']} s "
                    f"(command {level['command_cpu_seconds_per_photo']} s)"
                    for level in levels
                )
                + f"; {(levels[0]['bytes_downloaded_per_photo'] or 0) / 1024:,.0f} KiB a photo",
                "–",
            )
        )
    if total_seconds is not None:
        rows.append(
            ("`make bench` < 15 min on 2 cores", f"{total_seconds / 60:.1f} min", _met(total_seconds < BUDGET_SECONDS))
        )
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {target} | {measured} | {met} |" for target, measured, met in rows]
    return "\n".join(lines)


def _met(value: bool) -> str:
    return "yes" if value else "**no**"


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=list(STEPS), help="run only these steps")
    parser.add_argument("--summary-only", action="store_true", help="print the table from the existing results")
    args = parser.parse_args(argv)
    if args.summary_only:
        previous = _load("run_all")
        print(summary_table(previous["seconds"] if previous else None))
        return
    machine = machine_info()
    started = time.perf_counter()
    steps = {name: run_step(name, argv) for name, argv in STEPS.items() if not args.only or name in args.only}
    total = time.perf_counter() - started
    failed = [name for name, step in steps.items() if step["returncode"] != 0]
    write_result(
        "run_all",
        {
            "machine_at_start": machine,
            "steps": steps,
            "seconds": round(total, 1),
            "budget_seconds": BUDGET_SECONDS,
            "within_budget": total < BUDGET_SECONDS,
            "failed": failed,
        },
    )
    table = summary_table(total if not args.only else None)
    (RESULTS_DIR / "summary.md").write_text(
        f"Measured {machine['date']} on {machine['cores']} cores, {machine['memory_bytes'] / 2**30:.0f} GiB "
        f"(load average at start {machine['load_average_1m']}).\n\n{table}\n",
        encoding="utf-8",
    )
    print(table)
    log(f"make bench: {total / 60:.1f} min{'; FAILED: ' + ', '.join(failed) if failed else ''}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
