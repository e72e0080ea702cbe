"""`make demo` on a fresh database: every demo product accounted for, and a rerun inserts nothing."""

from __future__ import annotations

import io
import re

from rich.console import Console

from product_images.demo.command import label_precision, run_demo
from product_images.migration.report import tenant_reports


def test_demo_accounts_for_every_product_and_reruns_insert_nothing(conn, database):
    out = io.StringIO()
    code = run_demo(Console(file=out, width=200))
    text = out.getvalue()
    assert code == 0, text[-4000:]
    assert "demo data: loaded" in text
    reports = {r.tenant_schema: r for r in tenant_reports(conn, "product_images")}
    assert sorted(reports) == ["template_tenant", "user_1", "user_2", "user_4", "user_5"]
    assert sum(r.products for r in reports.values()) == 3282
    assert all(r.accounted_for and r.status == "success" for r in reports.values())
    precision = label_precision(conn, "product_images")
    assert (precision.price_tags, precision.found_price_tags) == (611, 611)
    assert "3,282" in text and "611 of 611 price tags found" in text
    # metadata for every demo image that exists, each failure with its reason
    probed = dict(
        conn.execute(
            "select coalesce(metadata_error, 'ok'), count(*) from product_images.product_images "
            "where metadata_probed_at is not null group by 1"
        ).fetchall()
    )
    assert sum(probed.values()) == sum(r.rows_loaded for r in reports.values())
    assert set(probed) == {"ok", "missing", "empty", "not_image", "corrupt"}
    assert "ok 9,023; failed 10 (corrupt 2, empty 2, missing 3, not_image 3)" in text
    # each failed image named, with its reason
    failed_lines = re.findall(
        r"^  (corrupt|empty|missing|not_image): (user_\d+) product (\d+) position (\d+) (https://\S+)$", text, re.M
    )
    assert (
        sorted(
            (tenant, int(product), int(position), url, reason)
            for reason, tenant, product, position, url in failed_lines
        )
        == conn.execute(
            "select tenant_schema, product_id, position, url, metadata_error from product_images.product_images "
            "where metadata_error is not null order by 1, 2, 3"
        ).fetchall()
    )
    # one 64 KiB range GET per photo: a small fraction of the photos' bytes (realistic sizes, ~0.5 MB each)
    downloaded = re.search(r"downloaded ([\d,.]+) MB of ([\d,.]+) MB stored \(([\d.]+)%\)", text)
    assert downloaded, text[-3000:]
    assert float(downloaded[2].replace(",", "")) > 3000 and float(downloaded[3]) < 15
    # the independent witness passes
    assert "checkpoint product_images_migration passed on 5 tenant(s)" in text
    assert "Data Docs: " in text and "index.html" in text
    # publishing: marketplace_tasks migrated everywhere, three products published to the stand-in
    for schema in ("public", "template_tenant", "user_1", "user_2", "user_4", "user_5"):
        assert conn.execute(
            "select count(*) from pg_indexes where schemaname = %s and indexname in "
            "('marketplace_tasks_job_id_position_idx', 'marketplace_tasks_job_id_status_idx')",
            (schema,),
        ).fetchone() == (2,)
    assert re.search(r"│ user_5 +│ added +│ added +│", text), text[-6000:]
    assert "its 2nd upload keeps failing: the job stops there" in text
    assert re.search(
        r"FAILED: \d+ tasks, 2 run, 0 skipped \(already SUCCESS\), 1 retry; stopped at task 2 "
        r"\(Upload image 2/\d\): POST /vinted/photos: HTTP 503",
        text,
    ), text[-6000:]
    assert "the marketplace is back: product-images publish resume --tenant user_1 --job " in text
    assert re.search(
        r"stand-in: (\d+) uploads carried out for \1 photos .*; photos uploaded twice: 0; labels sent: 0 "
        r"of 3; each product's photos in position order: yes; listings: 3",
        text,
    ), text[-3000:]
    # it ends with the command that opens the label review page on the demo
    last = text.strip().splitlines()[-1]
    assert "product-images labels review --demo" in last and "http://127.0.0.1:8765/" in last

    before = conn.execute(
        "select tenant_schema, id, updated_at from product_images.product_images order by 1, 2"
    ).fetchall()
    out = io.StringIO()
    assert run_demo(Console(file=out, width=200)) == 0
    assert "demo data: already there, unchanged" in out.getvalue()
    assert re.search(r"│ user_5 +│ already there +│ already there +│", out.getvalue())
    inserted = conn.execute(
        "select sum(images_inserted), sum(images_updated) from product_images.product_images_runs "
        "where invocation_id = (select invocation_id from product_images.product_images_runs order by started_at "
        "desc limit 1)"
    ).fetchone()
    assert inserted == (0, 0)
    assert (
        conn.execute("select tenant_schema, id, updated_at from product_images.product_images order by 1, 2").fetchall()
        == before
    )
