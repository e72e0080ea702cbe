"""Publish plans from stored products: order, content, never a label, the marketplaces' limits, bad input."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from helpers.publishing import U, product_photo_urls
from product_images.cli import main
from product_images.publish.plans import (
    BadPublishInput,
    NothingToPublishError,
    SchemaNotReadyError,
    build_plan,
    idempotency_key,
)

T = "user_1"


def test_plan_validates_uploads_each_photo_by_position_then_creates_the_listing(conn, prepared):
    job = uuid.UUID("11111111-2222-3333-4444-555555555555")
    plan = build_plan(conn, T, 1, "vinted", job_id=job)
    assert [(t.position, t.task_type, t.description) for t in plan.tasks] == [
        (0, "validate", "Validate product 1 for vinted (3 photos)"),
        (1, "upload_image", "Upload image 1/3"),
        (2, "upload_image", "Upload image 2/3"),
        (3, "upload_image", "Upload image 3/3"),
        (4, "create_listing", "Create listing"),
    ]
    assert plan.photo_urls == product_photo_urls(T, 1, 3)
    assert f"{U}{T}/1/label.jpg" not in str([t.payload for t in plan.tasks if t.task_type != "validate"])
    upload = plan.tasks[2].payload
    assert upload == {
        "product_id": 1,
        "marketplace": "vinted",
        "image_id": upload["image_id"],
        "url": f"{U}{T}/1/1.jpg",
        "image_position": 1,
        "index": 2,
        "count": 3,
    }
    assert plan.tasks[0].payload["dropped"] == [
        {"image_id": plan.tasks[0].payload["dropped"][0]["image_id"], "url": f"{U}{T}/1/label.jpg", "reason": "label"}
    ]
    listing = plan.tasks[4].payload["listing"]
    assert listing["title"] == "product 1"
    assert listing["images"] == {"photos": [{"url": url, "position": i} for i, url in enumerate(plan.photo_urls)]}
    # keys: one per task, derived from the job, the task and the photo; the same plan gives the same keys
    keys = [t.idempotency_key for t in plan.tasks]
    assert len(set(keys)) == 5
    assert keys == [t.idempotency_key for t in build_plan(conn, T, 1, "vinted", job_id=job).tasks]
    assert keys[2] == idempotency_key(job, 2, "upload_image", upload["image_id"], upload["url"])
    assert keys != [t.idempotency_key for t in build_plan(conn, T, 1, "vinted").tasks]  # another job, other keys
    lines = plan.lines()
    assert lines[0] == f"plan of job {job}: user_1 product 1 on vinted, 5 tasks"
    assert any(line.strip().startswith("dropped image") and "label.jpg): label:" in line for line in lines)


@pytest.mark.parametrize(("marketplace", "kept"), [("vinted", 20), ("ebay", 24)])
def test_plan_stays_within_each_marketplaces_limit(conn, prepared, marketplace, kept):
    plan = build_plan(conn, T, 2, marketplace)
    assert plan.photo_urls == product_photo_urls(T, 2, kept)
    assert plan.tasks[-2].description == f"Upload image {kept}/{kept}"
    reasons = [d["reason"] for d in plan.tasks[0].payload["dropped"]]
    assert reasons == ["over_limit"] * (25 - kept) + ["label"]
    if marketplace == "ebay":
        assert plan.tasks[-1].payload["listing"]["images"] == {"product": {"imageUrls": plan.photo_urls}}


def test_bad_input_names_the_argument_and_what_is_allowed(conn, prepared):
    with pytest.raises(BadPublishInput, match=r"^unknown marketplace 'etsy': allowed: ebay, vinted$"):
        build_plan(conn, T, 1, "etsy")
    with pytest.raises(
        BadPublishInput, match=r"^unknown tenant 'user_9': tenants with a marketplace_tasks table: user_1, user_3$"
    ):
        build_plan(conn, "user_9", 1, "vinted")
    with pytest.raises(BadPublishInput, match=r"^unknown product 999: no product of that id in user_1.products$"):
        build_plan(conn, T, 999, "vinted")
    with pytest.raises(NothingToPublishError, match=r"product 4 of user_1 has no photo vinted accepts"):
        build_plan(conn, T, 4, "vinted")
    with pytest.raises(
        NothingToPublishError,
        match=r"has no photo ebay accepts: dropped image \d+ \(position 0, "
        r"http://images.example.com/user_1/3/0.jpg\): not_https",
    ):
        build_plan(conn, T, 3, "ebay")
    assert build_plan(conn, T, 3, "vinted").photo_urls == ["http://images.example.com/user_1/3/0.jpg"]
    with pytest.raises(
        SchemaNotReadyError,
        match=r"^user_3.marketplace_tasks has no column position: "
        r"run `dbt run-operation marketplace_tasks_position` first$",
    ):
        build_plan(conn, "user_3", 1, "vinted")


def test_cli_dry_run_prints_the_plan_and_creates_nothing(conn, prepared):
    before = conn.execute("select count(*) from user_1.marketplace_tasks").fetchone()
    result = CliRunner().invoke(
        main, ["publish", "--tenant", T, "--product", "1", "--marketplace", "ebay", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("plan of job ") and lines[0].endswith(": user_1 product 1 on ebay, 5 tasks")
    assert [line.split()[:2] for line in lines[1:6]] == [
        ["0", "validate"],
        ["1", "upload_image"],
        ["2", "upload_image"],
        ["3", "upload_image"],
        ["4", "create_listing"],
    ]
    assert "Upload image 2/3" in lines[3] and lines[3].endswith(f"{U}{T}/1/1.jpg")
    assert lines[-1] == "dry run: no job created"
    assert conn.execute("select count(*) from user_1.marketplace_tasks").fetchone() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--tenant", T, "--product", "1", "--marketplace", "etsy"],
            "Invalid value for '--marketplace': 'etsy' is not one of 'ebay', 'vinted'.",
        ),
        (
            ["--tenant", "user_9", "--product", "1", "--marketplace", "vinted", "--dry-run"],
            "Error: unknown tenant 'user_9': tenants with a marketplace_tasks table: user_1, user_3",
        ),
        (
            ["--tenant", T, "--product", "999", "--marketplace", "vinted", "--dry-run"],
            "Error: unknown product 999: no product of that id in user_1.products",
        ),
        (
            ["--tenant", T, "--product", "4", "--marketplace", "vinted", "--endpoint", "http://127.0.0.1:9"],
            "Error: product 4 of user_1 has no photo vinted accepts",
        ),
        (
            ["--tenant", T, "--product", "1", "--marketplace", "vinted"],
            "Error: --endpoint (or PRODUCT_IMAGES_MARKETPLACE_URL) is required to run a job",
        ),
        (["status", "--tenant", T, "--job", "not-a-uuid"], "Error: unknown job 'not-a-uuid': a job id is a UUID"),
        (
            ["status", "--tenant", T, "--job", "00000000-0000-0000-0000-000000000000"],
            "Error: unknown job '00000000-0000-0000-0000-000000000000': no task of user_1.marketplace_tasks has this "
            "job_id",
        ),
        (
            ["resume", "--tenant", "user_3", "--job", "00000000-0000-0000-0000-000000000000", "--endpoint", "http://x"],
            "Error: user_3.marketplace_tasks has no column position: run `dbt run-operation "
            "marketplace_tasks_position`",
        ),
        (["--tenant", T, "status", "--job", "x"], "the options of publishing a product go without a subcommand"),
        ([], "Error: missing --tenant, --product, --marketplace (or a subcommand: resume, status)"),
    ],
)
def test_cli_bad_input_exits_2_with_what_was_not_found(conn, prepared, monkeypatch, args, message):
    monkeypatch.delenv("PRODUCT_IMAGES_MARKETPLACE_URL", raising=False)
    result = CliRunner().invoke(main, ["publish", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
