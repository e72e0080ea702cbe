"""The review page's routes over HTTP (Starlette's TestClient against the real app, a real PostgreSQL and a
real S3 endpoint): what each page shows, the thumbnails, the security of a local tool, and the decisions in the
review list.

The data, the bucket and the tables are the module's; each test has a review session of its own (the rule's
queue, an empty review list, a thumbnail cache of its own) and leaves the review list as it found it; a test that
applies decisions puts the tables back too. So the tests run in any order, and each passes alone."""

from __future__ import annotations

import io
import re

import boto3
import pytest
from click.testing import CliRunner
from PIL import Image
from psycopg.types.json import Jsonb
from starlette.testclient import TestClient

from helpers.dbt import table_rows
from helpers.legacy_data import make_tenant, photo, photos
from helpers.review import TOKEN, image_ids
from helpers.s3 import PREFIX, moto_endpoint
from product_images.cli import main
from product_images.connection import connect
from product_images.demo.pictures import render_image
from product_images.labels.overrides import read_overrides_file
from product_images.labels.review.app import TOKEN_HEADER, ReviewSettings, create_app
from product_images.labels.review.queue import ReviewDatabase
from product_images.labels.review.server import apply_decisions
from product_images.labels.review.session import ReviewSession
from product_images.labels.review.thumbnails import ThumbnailStore
from product_images.metadata.storage import UrlMapping, s3_client

BUCKET = "review-test"
XSS_TITLE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
XSS_URL = PREFIX + 'user_1/6/"><script>window.__xss = 3</script>.jpg'
OUTSIDE = "https://elsewhere.example.org/user_1/4/0.jpg"

U1 = PREFIX + "user_1/"


@pytest.fixture(scope="module")
def data(conn, dbt):
    make_tenant(
        conn,
        "user_1",
        {
            1: photos(1, 3, "user_1"),
            2: photos(2, 2, "user_1"),
            3: photos(3, 1, "user_1"),
            4: [photo(OUTSIDE, 0), photo(U1 + "4/missing.jpg", 1)],
            5: [photo(U1 + "5/a.jpg", 0), photo(U1 + "5/a.jpg", 1), photo(U1 + "5/b.jpg", 2)],
            6: [photo("javascript:alert(1)", 0), photo(XSS_URL, 1)],
        },
    )
    conn.execute("update user_1.products set title = %s where id = 6", (XSS_TITLE,))
    make_tenant(conn, "user_2", {1: photos(1, 2, "user_2")})
    assert dbt("run", "--select", "product_images").success


@pytest.fixture(scope="module")
def storage(tmp_path_factory, data):
    scratch = tmp_path_factory.mktemp("s3")
    with moto_endpoint(scratch, BUCKET) as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        big = render_image("product", 2048, 1536, 1, "jpeg", grain=0.1)
        for key in ("user_1/1/0.jpg", "user_1/1/1.jpg", "user_1/3/0.jpg", "user_1/5/a.jpg", "user_1/5/b.jpg"):
            client.put_object(Bucket=BUCKET, Key=key, Body=big, ContentType="image/jpeg")
        client.put_object(Bucket=BUCKET, Key="user_1/1/2.jpg", Body=render_image("label", 800, 600, 2, "png"))
        # stored landscape, EXIF orientation 6: a viewer shows it portrait
        client.put_object(
            Bucket=BUCKET, Key="user_1/2/0.jpg", Body=render_image("product", 400, 200, 3, "jpeg", orientation=6)
        )
        client.put_object(Bucket=BUCKET, Key="user_1/2/1.jpg", Body=b"<html>not an image</html>")
        for key in ("user_2/1/0.jpg", "user_2/1/1.jpg"):
            client.put_object(Bucket=BUCKET, Key=key, Body=render_image("product", 300, 300, 4, "webp"))
        yield endpoint


@pytest.fixture
def review(storage, project_dir, tmp_path):
    """A review session of the test's own: the rule's queue as the tables are now, the review list as the module
    starts it (no decision) and put back so when the test ends, an empty thumbnail cache."""
    overrides = project_dir / "seeds" / "label_overrides.csv"
    before = overrides.read_bytes()
    database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
    try:
        queue = database.load_queue("rule")
        session = ReviewSession(database, queue, overrides, user="tester")
        thumbnails = ThumbnailStore(tmp_path / "thumbs", UrlMapping.from_env(), s3_client())
        settings = ReviewSettings(token=TOKEN, allowed_hosts=["testserver", "127.0.0.1"])
        app = create_app(session, thumbnails, settings)
        with TestClient(app, base_url="http://testserver") as client:
            client.session_state = session  # type: ignore[attr-defined]
            client.thumbnails = thumbnails  # type: ignore[attr-defined]
            yield client
    finally:
        database.close()
        overrides.write_bytes(before)


@pytest.fixture
def tables_put_back(conn, dbt, project_dir):
    """For a test that applies the review list: afterwards the list is as before and applied again, and the
    tenants' tables are checked to be exactly as the test found them."""
    overrides = project_dir / "seeds" / "label_overrides.csv"
    before = overrides.read_bytes()
    columns = "id, product_id, position, url, is_label, label_source"
    tables = {tenant: table_rows(conn, tenant, columns) for tenant in ("user_1", "user_2")}
    yield
    overrides.write_bytes(before)
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success
    assert {tenant: table_rows(conn, tenant, columns) for tenant in ("user_1", "user_2")} == tables


def shown_ids(html: str) -> list[int]:
    return [int(value) for value in re.findall(r'<li class="photo[^"]*" data-image-id="(\d+)"', html)]


def decision(tenant: str, product_id: int, label: int | None) -> dict[str, object]:
    """A decision's body as the page sends it: with the URLs of the photos it shows (the product's as it is now)."""
    with connect(autocommit=True) as conn:
        urls = [
            url
            for (url,) in conn.execute(
                f"select url from {tenant}.product_images where product_id = %s order by position", (product_id,)
            )
        ]
    return {"tenant_schema": tenant, "product_id": product_id, "label_image_id": label, "shown_urls": urls}


def post(client, path, body, **headers):
    return client.post(path, json=body, headers={TOKEN_HEADER: TOKEN, **headers})


def csv_rows(project_dir):
    return [
        (r.tenant_schema, r.product_id, r.url, r.is_label)
        for r in read_overrides_file(project_dir / "seeds" / "label_overrides.csv")
    ]


def test_the_home_page_opens_the_first_product_of_the_queue(review):
    response = review.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/review/user_1/1"


def test_a_product_page_shows_every_photo_in_position_order_and_where_the_decision_comes_from(review, conn):
    response = review.get("/review/user_1/1")
    assert response.status_code == 200
    html = response.text
    assert shown_ids(html) == image_ids(conn, "user_1", 1)
    assert "product 1 of 6 in the queue" in html  # user_1 1, 2, 4, 5, 6 (not 3: one photo) and user_2 1
    assert "0 of 6 reviewed" in html
    assert (
        "photo 3 is the price tag" in html
        and "the interim rule (best-scoring photo of a doubtful product, else the last)" in html
    )
    assert html.count('src="/thumb/user_1/') == 3
    assert "product 1" in html  # the title from products.title
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "img-src 'self'" in policy and "unsafe-inline" not in policy
    assert '<meta name="review-token" content="session-token-for-the-tests">' in html


def test_unknown_tenants_products_and_images_are_404s_with_a_message(review):
    for path, text in [
        ("/review/user_9/1", "no tenant &#39;user_9&#39;"),
        ("/review/pg_catalog/1", "no tenant &#39;pg_catalog&#39;"),
        ("/review/user_1/999", "no product 999 in tenant user_1"),
        ("/review/user_1/abc", "no page at /review/user_1/abc"),
    ]:
        response = review.get(path)
        assert response.status_code == 404, path
        assert text in response.text, response.text
        assert "Traceback" not in response.text
    assert review.get("/thumb/user_1/99999").status_code == 404
    assert review.get("/thumb/user_9/1").text.startswith("no tenant")
    assert review.get("/static/..%2F..%2Fapp.py").status_code == 404
    assert review.get("/static/review.js").headers["content-type"].startswith("text/javascript")


def test_thumbnails_are_small_upright_jpegs_cached_under_a_hash(review, conn):
    first, _, label = image_ids(conn, "user_1", 1)
    response = review.get(f"/thumb/user_1/{first}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (320, 240)  # from 2048 x 1536
    with Image.open(io.BytesIO(review.get(f"/thumb/user_1/{label}").content)) as thumb:
        assert thumb.size == (320, 240)  # a PNG, 800 x 600
    rotated = image_ids(conn, "user_1", 2)[0]
    with Image.open(io.BytesIO(review.get(f"/thumb/user_1/{rotated}").content)) as thumb:
        assert thumb.size == (160, 320)  # stored 400 x 200 with EXIF orientation 6: shown standing up
    made = review.thumbnails.made
    assert review.get(f"/thumb/user_1/{first}").content == response.content
    assert review.thumbnails.made == made and review.thumbnails.served_from_cache >= 1
    names = [path.name for path in review.thumbnails.cache_dir.iterdir()]
    assert len(names) == 3 and all(re.fullmatch(r"[0-9a-f]{64}\.jpg", name) for name in names)


def test_photos_outside_the_bucket_or_broken_say_so_and_are_never_fetched(review, conn):
    outside, missing = image_ids(conn, "user_1", 4)
    html = review.get("/review/user_1/4").text
    assert "not in the bucket" in html
    assert f'src="/thumb/user_1/{outside}"' not in html and f'src="/thumb/user_1/{missing}"' in html
    response = review.get(f"/thumb/user_1/{outside}")
    assert (response.status_code, response.text) == (404, "not in the bucket")
    response = review.get(f"/thumb/user_1/{missing}")
    assert (response.status_code, response.text) == (404, "missing from the bucket")
    response = review.get(f"/thumb/user_1/{image_ids(conn, 'user_1', 2)[1]}")
    assert (response.status_code, response.text) == (422, "not an image")


def test_titles_and_urls_from_the_database_are_escaped(review):
    html = review.get("/review/user_1/6").text
    assert "<script>window.__xss" not in html and 'onerror="window.__xss' not in html
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "javascript:alert(1)" in html  # shown as text...
    assert not re.search(r'(href|src|action)="\s*javascript:', html)  # ...never as a link or a source
    assert "&#34;&gt;&lt;script&gt;window.__xss = 3" in html


def test_state_changing_requests_need_the_token_json_and_the_apps_own_origin(review, conn, project_dir):
    before = (project_dir / "seeds" / "label_overrides.csv").read_bytes()
    body = decision("user_1", 1, None)
    assert review.post("/api/decision", json=body).status_code == 403
    assert "session token" in review.post("/api/decision", json=body).json()["error"]
    assert review.post("/api/decision", json=body, headers={TOKEN_HEADER: "guess"}).status_code == 403
    assert review.post("/api/undo", json={}).status_code == 403
    assert review.post("/api/finish", json={}).status_code == 403
    assert post(review, "/api/decision", body, origin="http://evil.example").status_code == 403
    as_form = review.post(
        "/api/decision", content="tenant_schema=user_1", headers={TOKEN_HEADER: TOKEN, "content-type": "text/plain"}
    )
    assert as_form.status_code == 415
    assert review.get("/", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
    assert (project_dir / "seeds" / "label_overrides.csv").read_bytes() == before


def test_a_decision_is_in_the_review_list_when_the_answer_comes_and_undo_takes_it_back(review, conn, project_dir):
    first, second, third = image_ids(conn, "user_1", 1)
    response = post(review, "/api/decision", decision("user_1", 1, first))
    assert response.status_code == 200, response.text
    assert response.json()["next_url"] == "/review/user_1/2"
    assert response.json()["progress"] == "1 of 6 reviewed"
    assert csv_rows(project_dir) == [
        ("user_1", 1, U1 + "1/0.jpg", True),
        ("user_1", 1, U1 + "1/1.jpg", False),
        ("user_1", 1, U1 + "1/2.jpg", False),
    ]
    notes = {row.note for row in read_overrides_file(project_dir / "seeds" / "label_overrides.csv")}
    assert len(notes) == 1 and re.fullmatch(r"reviewed by tester on \d{4}-\d{2}-\d{2}", notes.pop())
    html = review.get("/review/user_1/1").text
    assert "photo 1 is the price tag" in html and "review list, not applied yet" in html
    assert "1 of 6 reviewed" in html

    # no price tag for product 2, then undo it: the list is as it was
    response = post(review, "/api/decision", decision("user_1", 2, None))
    assert [row[3] for row in csv_rows(project_dir) if row[1] == 2] == [False, False]
    response = post(review, "/api/undo", {})
    assert response.status_code == 200 and response.json()["url"] == "/review/user_1/2"
    assert [row[1] for row in csv_rows(project_dir)] == [1, 1, 1]
    # deciding again replaces the product's rows, never duplicates them
    post(review, "/api/decision", decision("user_1", 1, third))
    post(review, "/api/decision", decision("user_1", 1, second))
    assert [row[3] for row in csv_rows(project_dir)] == [False, True, False]
    post(review, "/api/undo", {})
    assert [row[3] for row in csv_rows(project_dir)] == [False, False, True]


def test_decisions_that_cannot_be_recorded_are_refused_with_a_reason(review, conn, project_dir):
    before = csv_rows(project_dir)
    copy, _, other = image_ids(conn, "user_1", 5)
    response = post(review, "/api/decision", decision("user_1", 5, copy))
    assert response.status_code == 422 and "is in user_1 product 5 2 times" in response.json()["error"]
    foreign = image_ids(conn, "user_2", 1)[0]
    response = post(review, "/api/decision", decision("user_1", 5, foreign))
    assert response.status_code == 422 and "is not a photo of user_1 product 5" in response.json()["error"]
    response = post(
        review, "/api/decision", {"tenant_schema": "user_9", "product_id": 5, "label_image_id": None, "shown_urls": []}
    )
    assert response.status_code == 404
    response = post(review, "/api/decision", {"tenant_schema": "user_1", "product_id": "5", "label_image_id": None})
    assert response.status_code == 422
    assert csv_rows(project_dir) == before
    response = post(review, "/api/decision", decision("user_1", 5, other))
    assert response.status_code == 200
    assert [(row[2], row[3]) for row in csv_rows(project_dir) if row[1] == 5] == [
        (U1 + "5/a.jpg", False),
        (U1 + "5/b.jpg", True),
    ]


def test_the_grid_shows_a_page_of_the_queue(review):
    html = review.get("/grid").text
    assert "page 1 of 1" in html
    assert len(re.findall(r'<article class="card', html)) == 6
    assert html.index("/review/user_1/1") < html.index("/review/user_2/1")


def test_the_all_queue_and_the_tenant_filter(review):
    database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
    assert [entry.key for entry in database.load_queue("all").entries] == [
        *(("user_1", product_id) for product_id in range(1, 7)),
        ("user_2", 1),
    ]
    assert [entry.key for entry in database.load_queue("rule", "user_2").entries] == [("user_2", 1)]
    database.close()


def test_applying_the_decisions_gives_label_source_override(review, tables_put_back, conn, project_dir):
    # the decisions to apply: product 1's third photo is the price tag, product 5's b.jpg (its last)
    third = image_ids(conn, "user_1", 1)[2]
    other = image_ids(conn, "user_1", 5)[2]
    for product_id, label in [(1, third), (5, other)]:
        response = post(review, "/api/decision", decision("user_1", product_id, label))
        assert response.status_code == 200, response.text
    out = io.StringIO()
    outcome = apply_decisions(
        {"user_1"}, out, project_dir=project_dir, profiles_dir=project_dir / "target" / "profiles"
    )
    assert outcome.success, out.getvalue()
    assert [name for name, _ in outcome.commands] == ["dbt seed", "dbt run --select product_images"]
    labels = [
        (pid, pos, is_label, source)
        for pid, pos, is_label, source in table_rows(conn, "user_1", "product_id, position, is_label, label_source")
        if pid in (1, 5)
    ]
    assert labels == [
        (1, 0, False, "override"),
        (1, 1, False, "override"),
        (1, 2, True, "override"),
        (5, 0, False, "override"),
        (5, 1, False, "override"),
        (5, 2, True, "override"),
    ]
    page = review.get("/review/user_1/1").text
    assert "override (review list, applied)" in page
    # the page says what the decisions so far can teach the detector
    assert "Decisions so far in user_1: 2 products decided by people" in page


def test_the_doubtful_queue_is_the_detectors_once_it_has_run(review, conn):
    database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
    fallback = database.load_queue("doubtful")  # dbt made label_review_queue, but no photo is scored yet
    assert (fallback.requested, fallback.kind) == ("doubtful", "rule")
    assert "The detector has not run (it has looked at no photo yet" in fallback.notice
    conn.execute("update user_1.product_images set label_detected_at = now() where product_id = 4")
    # the detector has looked at user_1 only (labels detect --tenant user_1): user_2's queue is still the rule's
    assert database.load_queue("doubtful", "user_1").kind == "doubtful"
    other = database.load_queue("doubtful", "user_2")
    assert other.kind == "rule"
    assert "The detector has not run (it has looked at no photo of user_2 yet" in other.notice
    first = image_ids(conn, "user_2", 1)[0]
    # what labels detect writes: a doubtful best photo (between label_score_floor and label_score_threshold)
    # in user_2's product 1, and a product of user_1 whose photos all score low but above the floor
    conn.execute(
        """
        update user_2.product_images set label_score = case when id = %(first)s then 0.55 else 0.02 end,
            label_evidence = case when id = %(first)s then '{"barcode": "EAN-13", "text": "12,99"}'::jsonb end,
            label_detector = 'test', label_detected_at = now()
        where product_id = 1
        """,
        {"first": first},
    )
    conn.execute(
        "update user_1.product_images set label_score = 0.12, label_detector = 'test', label_detected_at = now()"
        " where product_id = 4"
    )
    # evidence as the detector writes it (labels/evidence/): shown as what a person can check
    detector_evidence = {
        "cues": {"price_dec": 1.0, "code128": 1.0, "care": 0.0, "euro_dec": 1.0},
        "codes": [{"format": "Code 128", "text": "R70359Y"}],
        "lines": [{"text": "PRIX", "conf": 0.97, "rel_h": 0.1}, {"text": "15,00", "conf": 0.9, "rel_h": 0.2}],
        "second_read": "Prix : 15,00 €",
        "glyph_lines": [{"text": "15", "conf": 0.8, "rel_h": 0.3}],
        "glyph_second_read": "15 €",
        "ocr_ran": True,
        "kraft": 0.9,
        "hist": [0.5, 0.5],
    }
    conn.execute(
        "update user_1.product_images set label_evidence = %s where id = %s",
        (Jsonb(detector_evidence), image_ids(conn, "user_1", 4)[0]),
    )
    try:
        database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
        queue = database.load_queue("doubtful")
        assert queue.kind == "doubtful"
        # the detector has looked at two products only: the queue says it is short, not done
        unseen = conn.execute(
            "select count(*) from product_images.product_images where label_detected_at is null"
        ).fetchone()[0]
        assert unseen > 0
        assert queue.notice == (
            f"{unseen:,} photo(s) have not been looked at by the detector yet: their products are not in "
            "this queue until product-images labels detect scores them."
        )
        assert [entry.key for entry in queue.entries] == [("user_1", 4), ("user_2", 1)]
        session = ReviewSession(database, queue, review.session_state.overrides_path)
        app = create_app(session, review.thumbnails, ReviewSettings(token=TOKEN, allowed_hosts=["testserver"]))
        with TestClient(app) as client:
            html = client.get("/").text  # follows to the queue's first product
            assert "user_1 · product 4" in html and "best score 0.12" in html
            assert "text read: PRIX · 15,00 · 15" in html and "codes: Code 128 R70359Y" in html
            assert "second read: Prix : 15,00 € · 15 €" in html
            assert (
                "cues: a price with cents, a price with cents and €, Code 128" in html and "paper: kraft card" in html
            )
            assert "hist" not in html  # the detector's raw features are not a reviewer's business
            html = client.get("/review/user_2/1").text
            assert 'reason: <span class="reason">doubtful: the best photo scores 0.55' in html
            assert "score 0.55" in html and "barcode: EAN-13" in html and "text: 12,99" in html
            assert "doubtful products (the detector&#39;s queue)" in html
    finally:
        conn.execute(
            "update user_2.product_images set label_score = null, label_evidence = null, label_detector = null,"
            " label_detected_at = null where product_id = 1;"
            "update user_1.product_images set label_score = null, label_evidence = null, label_detector = null,"
            " label_detected_at = null where product_id = 4"
        )


def test_the_command_refuses_an_unknown_tenant(review):
    result = CliRunner().invoke(main, ["labels", "review", "--tenant", "user_9", "--port", "0"])
    assert result.exit_code == 2
    assert "Error: no tenant 'user_9'" in result.stderr


def test_ctrl_c_ends_the_session_and_apply_still_runs(review, tables_put_back, conn, project_dir):
    """The command as a person runs it: start, decide one product over HTTP, Ctrl-C, the decision applied."""
    import os
    import signal
    import subprocess
    import sys

    import httpx

    env = {
        **os.environ,
        "PRODUCT_IMAGES_PROJECT_DIR": str(project_dir),
        "DBT_PROFILES_DIR": str(project_dir / "target" / "profiles"),
    }
    command = [sys.executable, "-m", "product_images", "labels", "review", "--queue", "rule", "--port", "0", "--apply"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("open http://"):
                break
        url = re.search(r"open (http://127\.0\.0\.1:\d+/)", "".join(lines))
        assert url, "".join(lines)
        page = httpx.get(url[1] + "review/user_2/1").text
        token = re.search(r'name="review-token" content="([^"]+)"', page)[1]
        second = image_ids(conn, "user_2", 1)[1]
        decided = httpx.post(
            url[1] + "api/decision",
            json=decision("user_2", 1, None),
            headers={TOKEN_HEADER: token},
        )
        assert decided.status_code == 200, decided.text
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "session ended: 1 decision(s) this session" in rest
    assert "applied: the reviewed images now have label_source = 'override'" in rest
    assert conn.execute(
        "select is_label, label_source from user_2.product_images where id = %s", (second,)
    ).fetchone() == (False, "override")
