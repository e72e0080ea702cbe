"""The review page in a real browser (Chromium driven by Playwright) on the demo data set, as a person uses it:
thumbnails, a click and keyboard decisions landing in the review list, back and undo, untrusted values inert, a
POST without the token refused, and the session's end applying the decisions (label_source = 'override').

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it). Without one these tests skip,
except under CI (the variable ``CI`` set), where a missing browser fails them.

The tests are the steps of one review session (one server, one page, the decisions adding up, the
last step ending the session): a ``scenario`` module, run in the order written.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
from pathlib import Path

import pytest

from helpers.legacy_data import make_tenant, photo
from product_images.connection import connect
from product_images.demo.data import DEMO_URL_PREFIX, load_demo_data
from product_images.labels.overrides import read_overrides_file
from product_images.labels.review.queue import ReviewDatabase
from product_images.labels.review.server import serve_review

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

pytestmark = pytest.mark.scenario


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


@pytest.fixture(scope="module")
def server(storage, project_dir, tmp_path_factory):
    """`product-images labels review --apply` on the demo, in a thread, on a free port."""
    started = threading.Event()
    found: dict[str, object] = {"out": io.StringIO()}

    def ready(url: str) -> None:
        found["url"] = url
        started.set()

    def run() -> None:
        found["code"] = serve_review(
            queue="doubtful",
            port=0,
            apply=True,
            project_dir=project_dir,
            profiles_dir=project_dir / "target" / "profiles",
            cache_dir=tmp_path_factory.mktemp("thumbnails"),
            out=found["out"],  # type: ignore[arg-type]
            ready=ready,
        )
        started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(60), "the review page did not start"
    assert "url" in found, found["out"].getvalue()  # type: ignore[attr-defined]
    found["thread"] = thread
    yield found
    if thread.is_alive():  # a test failed before the session was finished: end it
        import httpx

        page = httpx.get(str(found["url"]) + "done").text
        token = page.split('name="review-token" content="', 1)[1].split('"', 1)[0]
        httpx.post(str(found["url"]) + "api/finish", json={}, headers={"X-Review-Token": token})
        thread.join(120)


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


@pytest.fixture(scope="module")
def page(browser):
    page = browser.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    return page


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
    product = current_product(page)
    urls = photos_of(conn, *product)
    following = go_on(page, lambda: page.locator('.photo[data-key="1"] button.pick').click())
    assert following != product
    assert review_list(project_dir)[product] == sorted((url, url == urls[0]) for url in urls)
    assert page.locator("#progress").inner_text() == "1 of 1,691 reviewed"


def test_keyboard_decisions_land_in_the_review_list(server, page, conn, project_dir):
    none_product = current_product(page)
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


def test_finishing_the_session_applies_the_decisions(server, page, conn, project_dir):
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
