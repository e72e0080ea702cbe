"""The review page in a real browser (Chromium driven by Playwright) on the demo data set, as a person uses it:
thumbnails, a click and keyboard decisions landing in the review list, back and undo, untrusted values inert, a
POST without the token refused, and the session's end applying the decisions (label_source = 'override').

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it). Without one these tests skip,
except under CI (the variable ``CI`` set), where a missing browser fails them.

One server and one browser serve the module; each test has a page of its own, puts in place the decisions it
builds on (through the API, as the page would) and takes back what it decided, so the review list is empty again.
Ending the session stops the server: that test starts a server of its own and puts the tables back afterwards.
So the tests run in any order, and each passes alone.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from psycopg.types.json import Jsonb

from helpers.legacy_data import make_tenant, photo
from helpers.review import image_ids, serve_with_apply
from product_images.connection import connect
from product_images.demo.data import DEMO_URL_PREFIX, load_demo_data
from product_images.labels.overrides import read_overrides_file
from product_images.labels.review.app import TOKEN_HEADER
from product_images.labels.review.queue import ReviewDatabase

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS_TITLE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
XSS_URL = DEMO_URL_PREFIX + 'user_9/1/"><img src=x onerror="window.__xss = 3">.jpg'
SHOTS = os.environ.get("REVIEW_SCREENSHOTS")  # a folder: the tests save their screenshots there


def find_chromium() -> str | None:
    """The system Chromium: $CHROMIUM, else chromium or chromium-browser on the PATH."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def no_browser(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs Debian's chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module", autouse=True)
def chromium() -> str:
    """The browser, looked for first: without one the module skips (fails under CI) before any set-up."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        no_browser("Playwright is not installed (pip install -e '.[dev]')")
    found = find_chromium()
    if found is None:
        no_browser("no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chromium)")
    return str(found)


@pytest.fixture(scope="module")
def demo(conn, dbt):
    load_demo_data(conn)
    # A tenant whose data is hostile: markup in a title, a javascript: URL, a URL breaking out of an attribute.
    make_tenant(conn, "user_9", {1: [photo("javascript:alert(1)", 0), photo(XSS_URL, 1)]})
    conn.execute("update user_9.products set title = %s where id = 1", (XSS_TITLE,))
    assert dbt("run", "--select", "product_images").success


@pytest.fixture(scope="module")
def storage(demo, conn):
    """moto's S3 with the demo pictures of the queue's first products (exactly what `make demo` stores there)."""
    from product_images.demo.storage import demo_objects, start_demo_storage

    database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
    first = [entry.key for entry in database.load_queue("rule").entries[:4]]
    database.close()
    wanted = [
        url
        for tenant, product_id in first
        for (url,) in conn.execute(
            f"select url from {tenant}.product_images where product_id = %s", (product_id,)
        ).fetchall()
    ]
    with start_demo_storage(demo_objects(conn, only=wanted)) as running:
        yield running


@contextmanager
def review_server(project_dir: Path, cache_dir: Path) -> Iterator[dict[str, object]]:
    """`product-images labels review --apply` on the demo, in a thread, on a free port; its session is ended
    (the decisions applied) when the block ends, unless it has ended already."""
    started = threading.Event()
    found: dict[str, object] = {"out": io.StringIO()}

    def ready(url: str) -> None:
        found["url"] = url
        started.set()

    def run() -> None:
        found["code"] = serve_with_apply(project_dir, "doubtful", found["out"], ready, cache_dir=cache_dir)  # type: ignore[arg-type]
        started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(60), "the review page did not start"
    assert "url" in found, found["out"].getvalue()  # type: ignore[attr-defined]
    found["thread"] = thread
    try:
        yield found
    finally:
        if thread.is_alive():  # the session was not finished by a test: end it
            httpx.post(str(found["url"]) + "api/finish", json={}, headers={TOKEN_HEADER: token_of(found)})
            thread.join(120)


def token_of(server: dict[str, object]) -> str:
    page = httpx.get(str(server["url"]) + "done").text
    return page.split('name="review-token" content="', 1)[1].split('"', 1)[0]


def decide(server: dict[str, object], tenant: str, product_id: int, label_image_id: int | None) -> None:
    """A decision through the API, as the page makes it, with the URLs of the photos it shows (a test's set-up)."""
    with connect(autocommit=True) as conn:
        shown = photos_of(conn, tenant, product_id)
    response = httpx.post(
        str(server["url"]) + "api/decision",
        json={
            "tenant_schema": tenant,
            "product_id": product_id,
            "label_image_id": label_image_id,
            "shown_urls": shown,
        },
        headers={TOKEN_HEADER: token_of(server)},
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def module_server(storage, project_dir, tmp_path_factory):
    """The server the module's tests share (one session; each test takes back its decisions)."""
    with review_server(project_dir, tmp_path_factory.mktemp("thumbnails")) as found:
        yield found


@pytest.fixture
def server(module_server, project_dir):
    """The shared server with no decision in its session nor in the review list; when the test ends, every
    decision it made is undone (through the API) and the review list is checked to be as before, byte for byte."""
    overrides = project_dir / "seeds" / "label_overrides.csv"
    before = overrides.read_bytes()
    assert review_list(project_dir) == {}
    yield module_server
    token = token_of(module_server)
    for _ in range(100):
        undone = httpx.post(str(module_server["url"]) + "api/undo", json={}, headers={TOKEN_HEADER: token})
        if undone.status_code == 409:  # nothing (more) to undo in this session
            break
        assert undone.status_code == 200, undone.text
    assert overrides.read_bytes() == before


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser):
    """A tab of the test's own (its dialogs recorded)."""
    page = browser.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    yield page
    page.close()


def review_list(project_dir: Path) -> dict[tuple[str, int], list[tuple[str, bool]]]:
    rows: dict[tuple[str, int], list[tuple[str, bool]]] = {}
    for row in read_overrides_file(project_dir / "seeds" / "label_overrides.csv"):
        rows.setdefault((row.tenant_schema, row.product_id), []).append((row.url, row.is_label))
    return rows


def photos_of(conn, tenant: str, product_id: int) -> list[str]:
    return [
        url
        for (url,) in conn.execute(
            f"select url from {tenant}.product_images where product_id = %s order by position", (product_id,)
        ).fetchall()
    ]


def queue_start(count: int) -> list[tuple[str, int]]:
    """The first ``count`` products of the page's queue (the rule's: the detector has not run)."""
    database = ReviewDatabase(lambda: connect(autocommit=True), "product_images")
    try:
        return [entry.key for entry in database.load_queue("rule").entries[:count]]
    finally:
        database.close()


def current_product(page) -> tuple[str, int]:
    section = page.locator("#product")
    return section.get_attribute("data-tenant"), int(section.get_attribute("data-product-id"))


def go_on(page, action) -> tuple[str, int]:
    """Do ``action`` (a click or keys), wait for the page it leads to (the next product's, or this one
    again after an undo); return that product."""
    with page.expect_navigation(wait_until="networkidle", timeout=15_000):
        action()
    return current_product(page)


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_the_page_lists_the_demos_doubtful_products_with_their_thumbnails(server, page, conn):
    page.goto(str(server["url"]), wait_until="networkidle")
    assert current_product(page) == ("user_1", 1)  # the rule's first candidate: the detector has not run
    assert "The detector has not run" in page.locator(".notice").inner_text()
    candidates = conn.execute(
        "select count(*) from (select 1 from product_images.product_images group by tenant_schema, product_id "
        "having count(*) >= 2 and bool_or(is_label and label_source = 'rule')) as candidates"
    ).fetchone()[0]
    assert candidates == 1690 + 1  # the demo's 1,690 rule labels, and user_9's product
    assert page.locator("#progress").inner_text() == "0 of 1,691 reviewed"
    assert "Navy dress #1" in page.locator("h1").inner_text()
    urls = photos_of(conn, "user_1", 1)
    images = page.locator("#photos img")
    assert images.count() == len(urls) == 4
    loaded = page.evaluate(
        "() => [...document.querySelectorAll('#photos img')].map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert all(complete and 0 < width <= 320 and 0 < height <= 320 for complete, width, height in loaded), loaded
    # the last photo is the rule's pick, highlighted, with where it comes from
    assert page.locator(".photo.selected .keycap").inner_text() == "4"
    assert (
        "the interim rule (best-scoring photo of a doubtful product, else the last)"
        in page.locator(".decision").inner_text()
    )
    # every picture came through the app, none from the bucket's URL
    sources = page.evaluate("() => [...document.images].map(i => new URL(i.src).pathname)")
    assert all(source.startswith("/thumb/") for source in sources)
    shot(page, "review-page")


def test_a_click_on_a_photo_decides_the_product_and_goes_on(server, page, conn, project_dir):
    page.goto(str(server["url"]), wait_until="networkidle")
    product = current_product(page)
    assert product == queue_start(1)[0]
    urls = photos_of(conn, *product)
    following = go_on(page, lambda: page.locator('.photo[data-key="1"] button.pick').click())
    assert following != product
    assert review_list(project_dir)[product] == sorted((url, url == urls[0]) for url in urls)
    assert page.locator("#progress").inner_text() == "1 of 1,691 reviewed"


@pytest.fixture
def user_9_put_back(conn, dbt):
    """For a test that changes user_9's product: its photos back as they were afterwards, the tables rebuilt."""
    (images,) = conn.execute("select images from user_9.products where id = 1").fetchone()
    yield
    conn.execute("update user_9.products set images = %s where id = 1", (Jsonb(images),))
    assert dbt("run", "--select", "product_images").success


def test_a_click_on_photos_that_changed_since_the_page_showed_them_saves_nothing(
    user_9_put_back, server, page, conn, dbt, project_dir
):
    # (user_9_put_back first: it rebuilds the tables once the server's decisions are undone)
    page.goto(str(server["url"]) + "review/user_9/1", wait_until="networkidle")
    # meanwhile the seller adds a photo (a price tag, say) and a run puts it in the tables
    added = Jsonb([photo(DEMO_URL_PREFIX + "user_9/1/tag.jpg", 2)])
    conn.execute("update user_9.products set images = images || %s where id = 1", (added,))
    assert dbt("run", "--select", "product_images").success
    # "no price tag", clicked on the page that shows two photos: refused, the page stays, the list is untouched
    page.locator(".photo.none-card button.pick").click()
    page.wait_for_selector("#message:not([hidden])")
    assert page.locator("#message").inner_text() == (
        "Not saved: the product's photos changed since the page showed them (1 added, 0 gone): "
        "reload the page and decide again; nothing was saved"
    )
    assert current_product(page) == ("user_9", 1)
    assert ("user_9", 1) not in review_list(project_dir)


def test_a_decision_on_a_page_shown_before_another_tabs_decision_saves_nothing(
    server, page, browser, conn, project_dir
):
    product = queue_start(1)[0]
    url = str(server["url"]) + f"review/{product[0]}/{product[1]}"
    page.goto(url, wait_until="networkidle")
    other = browser.new_page()  # a second reviewer (or tab) on the same product
    try:
        other.goto(url, wait_until="networkidle")
        go_on(other, lambda: other.locator('.photo[data-key="1"] button.pick').click())
        decided = review_list(project_dir)[product]
        # the first page still shows no decision: its "no price tag" must not silently replace the other's
        page.locator(".photo.none-card button.pick").click()
        page.wait_for_selector("#message:not([hidden])")
        assert (
            page.locator("#message")
            .inner_text()
            .startswith("Not saved: someone decided this product since the page showed it")
        )
        assert current_product(page) == product
        assert review_list(project_dir)[product] == decided
        shot(page, "review-decided-since")
    finally:
        other.close()


def test_a_second_click_on_a_grid_card_changes_its_decision(server, page, conn, project_dir):
    page.goto(str(server["url"]) + "grid", wait_until="networkidle")
    card = page.locator("article.card").first
    product = (card.get_attribute("data-tenant"), int(card.get_attribute("data-product-id")))
    urls = photos_of(conn, *product)

    def listed() -> list[tuple[str, bool]] | None:
        return review_list(project_dir).get(product)

    card.locator(".photo[data-url] button.pick").first.click()
    expect_soon(lambda: listed() == sorted((url, url == urls[0]) for url in urls))
    # the reviewer changes their mind on the same card: the card now shows its own decision, so it is saved
    card.locator(".photo.none-card button.pick").click()
    expect_soon(lambda: listed() == sorted((url, False) for url in urls))
    assert page.locator("#message").is_hidden() or page.locator("#message").inner_text() == ""


def expect_soon(condition, seconds: float = 10.0) -> None:
    """Wait until ``condition()`` holds (a click's decision is written while the page stays)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_keyboard_decisions_land_in_the_review_list(server, page, conn, project_dir):
    # the queue's first product is decided already (its first photo, as the click test does)
    first, second = queue_start(2)
    decide(server, *first, image_ids(conn, *first)[0])
    page.goto(str(server["url"]), wait_until="networkidle")
    none_product = current_product(page)
    assert none_product == second
    picked = go_on(page, lambda: (page.keyboard.press("0"), page.keyboard.press("Enter")))
    assert review_list(project_dir)[none_product] == sorted((url, False) for url in photos_of(conn, *none_product))

    urls = photos_of(conn, *picked)
    page.keyboard.press("2")
    assert page.locator(".photo.selected .keycap").inner_text() == "2"
    shot(page, "photo-2-selected")
    after = go_on(page, lambda: page.keyboard.press("Enter"))
    assert review_list(project_dir)[picked] == sorted((url, url == urls[1]) for url in urls)
    assert page.locator("#progress").inner_text() == "3 of 1,691 reviewed"

    # Backspace: back to the product just decided, its decision shown as the review list's
    assert go_on(page, lambda: page.keyboard.press("Backspace")) == picked
    assert page.locator(".photo.selected .keycap").inner_text() == "2"
    assert "review list, not applied yet" in page.locator(".decision").inner_text()

    # u: the last decision is taken back, in the file too, and the page shows the rule's pick again
    assert go_on(page, lambda: page.keyboard.press("u")) == picked
    assert picked not in review_list(project_dir)
    assert page.locator("#progress").inner_text() == "2 of 1,691 reviewed"
    assert page.locator(".photo.selected .keycap").inner_text() == str(len(urls))
    # Enter alone confirms what is highlighted (the rule's pick, the last photo)
    assert go_on(page, lambda: page.keyboard.press("Enter")) == after
    assert review_list(project_dir)[picked] == sorted((url, url == urls[-1]) for url in urls)


def test_markup_and_javascript_urls_from_the_database_render_inert(server, page):
    page.goto(str(server["url"]) + "review/user_9/1", wait_until="networkidle")
    assert XSS_TITLE in page.locator(".product-title").inner_text()  # shown as text
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert "javascript:alert(1)" in page.locator("#photos").inner_text()
    assert page.locator('[href^="javascript:"], [src^="javascript:"]').count() == 0
    assert page.locator("#photos img").count() == 1  # the javascript: URL is not in the bucket
    assert "not in the bucket" in page.locator("#photos").inner_text()
    page.wait_for_selector(".thumb-error:not([hidden])")  # the other: in the mapping, missing from the bucket
    assert page.locator(".thumb-error").inner_text() == "missing from the bucket"
    shot(page, "untrusted-values")
    assert page.evaluate("() => window.__xss") is None


def test_a_post_without_the_token_is_refused(server, page, project_dir):
    page.goto(str(server["url"]) + "review/user_9/1", wait_until="networkidle")
    before = (project_dir / "seeds" / "label_overrides.csv").read_bytes()
    status, body = page.evaluate(
        """async () => {
            const response = await fetch('/api/decision', {
                method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({tenant_schema: 'user_9', product_id: 1, label_image_id: null}),
            });
            return [response.status, await response.json()];
        }"""
    )
    assert status == 403 and "session token" in body["error"]
    assert (project_dir / "seeds" / "label_overrides.csv").read_bytes() == before


@pytest.fixture
def tables_put_back(module_server, conn, dbt, project_dir):
    """For the test that applies the review list: afterwards the list is as before and applied again, and the
    tables are checked to be exactly as the test found them."""
    overrides = project_dir / "seeds" / "label_overrides.csv"
    before = overrides.read_bytes()
    query = (
        "select tenant_schema, product_id, url, is_label, label_source from product_images.product_images"
        " order by tenant_schema, product_id, url"
    )
    tables = conn.execute(query).fetchall()
    yield
    overrides.write_bytes(before)
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success
    assert conn.execute(query).fetchall() == tables


def test_finishing_the_session_applies_the_decisions(tables_put_back, page, conn, project_dir, tmp_path):
    # ending the session stops the server: a server of the test's own, with the three decisions the click and
    # keyboard tests make (the first product's first photo, none for the second, the third's rule pick)
    assert review_list(project_dir) == {}
    first, second, third = queue_start(3)
    with review_server(project_dir, tmp_path / "thumbnails") as server:
        decide(server, *first, image_ids(conn, *first)[0])
        decide(server, *second, None)
        decide(server, *third, image_ids(conn, *third)[-1])
        decided = review_list(project_dir)
        assert len(decided) == 3
        page.goto(str(server["url"]) + "done", wait_until="networkidle")
        assert "3 of 1,691 reviewed" in page.locator(".done").inner_text()
        page.locator("#finish").click()
        page.wait_for_selector("#message:not([hidden])")
        assert "Session ended" in page.locator("#message").inner_text()
        shot(page, "finished")
        server["thread"].join(180)  # type: ignore[attr-defined]
    out = server["out"].getvalue()  # type: ignore[attr-defined]
    assert server["code"] == 0, out
    assert "applied: the reviewed images now have label_source = 'override'" in out
    for (tenant, product_id), rows in decided.items():
        in_table = conn.execute(
            f"select url, is_label, label_source from {tenant}.product_images where product_id = %s order by url",
            (product_id,),
        ).fetchall()
        assert in_table == [(url, is_label, "override") for url, is_label in rows], (tenant, product_id)
