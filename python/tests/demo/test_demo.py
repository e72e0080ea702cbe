"""The demo on a fresh database (its small size): every product accounted for, the rule and the evidence
measured against the truth, and a rerun that changes nothing."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from product_images.demo.command import run_demo
from product_images.demo.data import DemoDataError, generate_demo_products, load_demo_data
from product_images.migration.report import tenant_reports


def _table_row(text: str, name: str) -> list[str]:
    """The cells of the label table's row ``name`` (rule, evidence)."""
    match = re.search(rf"^│ {re.escape(name)} +│ (.+?) +│ (.+?) +│$", text, re.M)
    assert match, text[-5000:]
    return [match[1].strip(), match[2].strip()]


def test_demo_accounts_for_every_product_and_reruns_insert_nothing(conn, database):
    out = io.StringIO()
    code = run_demo(Console(file=out, width=200), size="small")
    text = out.getvalue()
    assert code == 0, text[-4000:]
    assert "demo data: loaded (small)" in text
    reports = {r.tenant_schema: r for r in tenant_reports(conn, "product_images")}
    assert sorted(reports) == ["template_tenant", "user_1", "user_2", "user_4", "user_5"]
    assert sum(r.products for r in reports.values()) == 329
    assert all(r.accounted_for and r.status == "success" for r in reports.values())
    # the legacy rule, measured before the detection: every tag found, most flags wrong
    assert "label rule vs demo.label_truth: 171 labels, 60 real price tags (precision 35.1%); 60 of 60" in text
    # the detection: every photo that exists scored once, the unreadable ones with their reason; then the
    # second pass rescores every photo from its stored evidence with the shop profiles, downloading nothing
    passes = re.findall(r"^labels detect: 323 products, 911 photos scored over 5 tenant\(s\) in ", text, re.M)
    assert len(passes) == 2, text[-6000:]
    assert "  not scored: 9 (missing 3, unreadable 6)" in text
    assert "  fetched 0 objects (0.0 MB), 911 photos scored from their stored evidence" in text
    assert re.search(
        r"^  shop profiles from confirmed tags: user_1 \d+, user_2 \d+, user_4 \d+, user_5 \d+$", text, re.M
    )
    # the side-by-side table says what the tables hold (counted here from demo.label_truth)
    flagged, true_flags, evidence_labels, correct = conn.execute(
        "select count(*) filter (where i.is_label), count(*) filter (where i.is_label and t.label_url is not null), "
        "count(*) filter (where i.is_label and i.label_source = 'evidence'), "
        "count(*) filter (where i.is_label and i.label_source = 'evidence' and t.label_url is not null) "
        "from product_images.product_images as i left join demo.label_truth as t "
        "on (t.tenant_schema, t.product_id, t.label_url) = (i.tenant_schema, i.product_id, i.url)"
    ).fetchone()
    assert true_flags == 60  # no real price tag left unflagged before any review
    assert _table_row(text, "labels flagged") == ["171", f"{flagged:,}"]
    assert _table_row(text, "recall") == ["100.0% (60 of 60)", "100.0% (60 of 60)"]
    assert _table_row(text, "price tags left unflagged") == ["0", "0 (0.0%)"]
    decided = conn.execute(
        "select count(*) from (select 1 from product_images.product_images group by tenant_schema, product_id "
        "having bool_or(label_source = 'evidence')) as decided"
    ).fetchone()[0]
    assert _table_row(text, "products decided") == ["0", f"{decided:,} ({decided / 329:.1%})"]
    # the detector abstains where a photo's own evidence does not back the model (labels/abstention.py):
    # on this sample it decides a little over 80% of the products cold
    assert decided > 0.8 * 329
    # on the products the evidence decided: every tag found, at most one photo wrongly hidden (with model
    # labels-dd13aaec82, user_2's product 95: a tee printed with a big white "41" scores 0.916); the
    # accuracy targets are measured on the held-out sets of labels/test_accuracy.py, not on this sample
    assert evidence_labels - correct <= 1, (evidence_labels, correct)
    assert _table_row(text, "  precision / recall on them") == ["-", f"{correct / evidence_labels:.1%} / 100.0%"]
    doubtful = conn.execute("select count(*) from product_images.label_review_queue").fetchone()[0]
    assert _table_row(text, "products doubtful (for a person)") == ["171 (52.0%)", f"{doubtful} ({doubtful / 329:.1%})"]
    assert doubtful + decided <= 329
    # metadata for every demo image that exists, each failure with its reason
    probed = dict(
        conn.execute(
            "select coalesce(metadata_error, 'ok'), count(*) from product_images.product_images "
            "where metadata_probed_at is not null group by 1"
        ).fetchall()
    )
    assert sum(probed.values()) == sum(r.rows_loaded for r in reports.values())
    assert set(probed) == {"ok", "missing", "empty", "not_image", "corrupt"}
    assert "ok 911; failed 9 (corrupt 2, empty 2, missing 3, not_image 2)" in text
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
    # one 64 KiB range GET per photo: a small fraction of the photos' bytes (realistic sizes, ~0.3 MB each)
    downloaded = re.search(r"downloaded ([\d,.]+) MB of ([\d,.]+) MB stored \(([\d.]+)%\)", text)
    assert downloaded, text[-3000:]
    assert float(downloaded[2].replace(",", "")) > 250 and float(downloaded[3]) < 20
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
    assert "product-images-demo review" in last and "http://127.0.0.1:8765/" in last

    before = conn.execute(
        "select tenant_schema, id, updated_at from product_images.product_images order by 1, 2"
    ).fetchall()
    out = io.StringIO()
    assert run_demo(Console(file=out, width=200), size="small") == 0
    assert "demo data: already there, unchanged (small)" in out.getvalue()
    assert "metadata backfill and labels detect: every photo is probed and scored already" in out.getvalue()
    assert re.search(r"│ user_5 +│ already there +│ already there +│", out.getvalue())
    inserted = conn.execute(
        "select coalesce(sum(images_inserted), 0), coalesce(sum(images_updated), 0), "
        "array_agg(distinct mode) from product_images.product_images_runs "
        "where invocation_id = (select invocation_id from product_images.product_images_runs order by started_at "
        "desc limit 1)"
    ).fetchone()
    assert inserted == (0, 0, ["unchanged"])  # every tenant's watermark says unchanged: none is read
    assert (
        conn.execute("select tenant_schema, id, updated_at from product_images.product_images order by 1, 2").fetchall()
        == before
    )
    # the other size on the same database: a clear error naming both, nothing loaded
    with pytest.raises(DemoDataError, match=r"holds the demo with seed 20261122 and size 'small', not seed 20261122"):
        load_demo_data(conn, size="full")


def test_an_unknown_demo_size_names_the_allowed_ones():
    with pytest.raises(DemoDataError, match=r"^size must be one of 'full', 'small'; got 'huge'$"):
        generate_demo_products(size="huge")


def test_demo_object_batches_refuses_an_empty_batch():
    from product_images.demo.objects import demo_object_batches

    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        next(demo_object_batches(["https://images.example.com/user_1/1/a.jpg"], set(), 0))
