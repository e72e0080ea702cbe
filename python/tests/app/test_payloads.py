"""Marketplace payloads read from the database: every demo product, each drop reason, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest
from psycopg import sql

from helpers.legacy_data import make_tenant, photos
from product_images.app.marketplaces import MARKETPLACE_RULES, DropReason, NoPublishablePhotoError
from product_images.app.payloads import PAYLOAD_BUILDERS, describe_dropped, payload_urls, product_payload
from product_images.app.service import ProductImageService, UnknownProductError, UnknownTenantError
from product_images.demo.data import TENANT_PRODUCTS, load_demo_data

U = "https://images.example.com/"
C = "user_7"  # the crafted tenant
EBAY_TYPES = "image/avif, image/bmp, image/gif, image/heic, image/jpeg, image/png, image/tiff, image/webp"


@pytest.fixture(scope="module")
def migrated(conn, dbt):
    """The demo data set plus a crafted tenant, migrated by a real dbt run, then shaped by the app."""
    assert load_demo_data(conn)
    make_tenant(
        conn,
        C,
        {
            1: [*photos(1, 2, C), {"url": f"{U}{C}/1/label.jpg", "order": 2}],  # rule label: label.jpg
            2: photos(2, 26, C),  # 25 photos and a label
            3: photos(3, 1, C),  # one photo, which a person then marks as the label
            4: [{"url": f"http://images.example.com/{C}/4/{i}.jpg", "order": i} for i in range(2)],
            5: None,
        },
    )
    assert dbt("seed").success
    result = dbt("run", "--select", "product_images")
    assert result.success, [r.message for r in result.node_results()]

    svc = ProductImageService(conn, C)
    ids = {image.url.rsplit("/", 1)[1]: image.id for image in svc.get_images(1)}
    for name, kwargs in (
        ("plain-http.jpg", {}),
        ("small.jpg", {"width": 499, "height": 300}),
        ("0.jpg", {}),  # same URL as the first photo
        ("label.jpg", {}),  # a product photo row carrying the label's URL
        ("vector.svg", {}),
        ("big.jpg", {"width": 500, "height": 400, "mime_type": "image/jpeg"}),
    ):
        base = "http://images.example.com/" if name == "plain-http.jpg" else U
        image = svc.add_image(1, f"{base}{C}/1/{name}", **kwargs)
        ids.setdefault(name + "#2" if name in ids else name, image.id)
    # what the metadata prober records for an SVG (the service refuses to store it)
    conn.execute("update user_7.product_images set mime_type = 'image/svg+xml' where id = %s", (ids["vector.svg"],))
    svc.set_label_flag(svc.get_images(3)[0].id, True)
    return ids


# --------------------------------------------------------------------------- #
# Every demo product
# --------------------------------------------------------------------------- #


def test_every_demo_product_payload_is_label_free_and_within_limits(conn, migrated):
    failures: Counter[str] = Counter()
    built: Counter[str] = Counter()
    products = 0
    for tenant in TENANT_PRODUCTS:
        table = sql.Identifier(tenant, "product_images")
        label_urls: dict[int, set[str]] = defaultdict(set)
        for product_id, url in conn.execute(sql.SQL("select product_id, url from {} where is_label").format(table)):
            label_urls[product_id].add(url)
        true_labels = dict(
            conn.execute(
                "select product_id, label_url from demo.label_truth where tenant_schema = %s", (tenant,)
            ).fetchall()
        )
        product_ids = [
            row[0]
            for row in conn.execute(sql.SQL("select id from {} order by id").format(sql.Identifier(tenant, "products")))
        ]
        products += len(product_ids)
        for product_id in product_ids:
            for marketplace in ("ebay", "vinted"):
                try:
                    payload, selection = product_payload(conn, tenant, product_id, marketplace)
                except NoPublishablePhotoError as error:
                    assert error.selection.kept == ()
                    failures[marketplace] += 1
                    continue
                built[marketplace] += 1
                urls = payload_urls(payload, marketplace)
                assert urls == list(selection.urls)
                assert 1 <= len(urls) <= MARKETPLACE_RULES[marketplace].max_photos
                assert not set(urls) & label_urls[product_id], (tenant, product_id)
                assert true_labels.get(product_id) not in urls, (tenant, product_id)
                assert len(set(urls)) == len(urls)
                if marketplace == "ebay":
                    assert list(payload) == ["product"] and list(payload["product"]) == ["imageUrls"]
                    assert all(url.startswith("https://") for url in urls)
                else:
                    assert list(payload) == ["photos"]
                    assert [photo["position"] for photo in payload["photos"]] == list(range(len(urls)))
    # computed independently: products without any non-label image in product_images
    no_photo = sum(
        conn.execute(
            sql.SQL(
                "select count(*) from {products} as p where not exists ("
                " select 1 from {images} as i where i.product_id = p.id and not i.is_label)"
            ).format(products=sql.Identifier(tenant, "products"), images=sql.Identifier(tenant, "product_images"))
        ).fetchone()[0]
        for tenant in TENANT_PRODUCTS
    )
    assert products == 3282
    assert no_photo == 6  # NULL, [], JSON null, and the three non-array images values of the demo
    assert failures == {"ebay": no_photo, "vinted": no_photo}
    assert built == {"ebay": 3282 - no_photo, "vinted": 3282 - no_photo}


def test_payload_builders_cover_every_marketplace():
    assert set(PAYLOAD_BUILDERS) == set(MARKETPLACE_RULES)


def test_unknown_marketplace_tenant_and_product(conn, migrated):
    with pytest.raises(ValueError, match=r"^marketplace must be one of 'ebay', 'vinted'; got 'etsy'$"):
        product_payload(conn, C, 1, "etsy")
    with pytest.raises(UnknownTenantError, match=r"^unknown tenant 'user_99': no schema of that name$"):
        product_payload(conn, "user_99", 1, "ebay")
    with pytest.raises(UnknownProductError, match=r"^product 999 does not exist in tenant 'user_7'$"):
        product_payload(conn, C, 999, "ebay")


# --------------------------------------------------------------------------- #
# Each drop reason, end to end
# --------------------------------------------------------------------------- #


def test_every_drop_reason_for_ebay(conn, migrated):
    ids = migrated
    payload, selection = product_payload(conn, C, 1, "ebay")
    assert payload == {"product": {"imageUrls": [f"{U}{C}/1/0.jpg", f"{U}{C}/1/1.jpg", f"{U}{C}/1/big.jpg"]}}
    assert [(d.image.id, d.image.position, d.reason, d.detail) for d in selection.dropped] == [
        (ids["label.jpg"], 2, DropReason.LABEL, "price-tag label photo (is_label = true)"),
        (ids["plain-http.jpg"], 3, DropReason.NOT_HTTPS, "ebay accepts https URLs only"),
        (ids["small.jpg"], 4, DropReason.TOO_SMALL, "longest side 499 px < 500 px minimum for ebay (499x300 px)"),
        (ids["0.jpg#2"], 5, DropReason.DUPLICATE, f"same url as image id={ids['0.jpg']} at position 0"),
        (ids["label.jpg#2"], 6, DropReason.LABEL, f"url is also the url of label image id={ids['label.jpg']}"),
        (
            ids["vector.svg"],
            7,
            DropReason.UNSUPPORTED_TYPE,
            f"'image/svg+xml' is not accepted by ebay (accepted: {EBAY_TYPES})",
        ),
    ]


def test_every_drop_reason_for_vinted(conn, migrated):
    ids = migrated
    payload, selection = product_payload(conn, C, 1, "vinted")
    assert payload == {
        "photos": [
            {"url": f"{U}{C}/1/0.jpg", "position": 0},
            {"url": f"{U}{C}/1/1.jpg", "position": 1},
            {"url": f"http://images.example.com/{C}/1/plain-http.jpg", "position": 2},
            {"url": f"{U}{C}/1/small.jpg", "position": 3},
            {"url": f"{U}{C}/1/vector.svg", "position": 4},
            {"url": f"{U}{C}/1/big.jpg", "position": 5},
        ]
    }
    assert [(d.image.id, d.reason) for d in selection.dropped] == [
        (ids["label.jpg"], DropReason.LABEL),
        (ids["0.jpg#2"], DropReason.DUPLICATE),
        (ids["label.jpg#2"], DropReason.LABEL),
    ]


def test_over_limit(conn, migrated):
    ebay, ebay_selection = product_payload(conn, C, 2, "ebay")
    vinted, vinted_selection = product_payload(conn, C, 2, "vinted")
    assert ebay["product"]["imageUrls"] == [f"{U}{C}/2/{i}.jpg" for i in range(24)]
    assert [photo["url"] for photo in vinted["photos"]] == [f"{U}{C}/2/{i}.jpg" for i in range(20)]
    assert [(d.image.position, d.reason) for d in ebay_selection.dropped] == [
        (24, DropReason.OVER_LIMIT),
        (25, DropReason.LABEL),
    ]
    assert [(d.image.position, d.reason) for d in vinted_selection.dropped] == [
        *((position, DropReason.OVER_LIMIT) for position in range(20, 25)),
        (25, DropReason.LABEL),
    ]


@pytest.mark.parametrize(
    ("product_id", "marketplace", "message", "reasons"),
    [
        (3, "ebay", "no publishable photo for ebay (product 3): 1 image(s) dropped (label: 1)", [DropReason.LABEL]),
        (3, "vinted", "no publishable photo for vinted (product 3): 1 image(s) dropped (label: 1)", [DropReason.LABEL]),
        (
            4,
            "ebay",
            "no publishable photo for ebay (product 4): 2 image(s) dropped (label: 1, not_https: 1)",
            [DropReason.NOT_HTTPS, DropReason.LABEL],
        ),
        (5, "ebay", "no publishable photo for ebay: no images given", []),
    ],
)
def test_no_publishable_photo(conn, migrated, product_id, marketplace, message, reasons):
    with pytest.raises(NoPublishablePhotoError) as raised:
        product_payload(conn, C, product_id, marketplace)
    assert str(raised.value) == message
    assert [d.reason for d in raised.value.selection.dropped] == reasons


def test_http_only_product_is_fine_for_vinted(conn, migrated):
    payload, _ = product_payload(conn, C, 4, "vinted")
    assert payload == {"photos": [{"url": f"http://images.example.com/{C}/4/0.jpg", "position": 0}]}


# --------------------------------------------------------------------------- #
# The CLI, as a user runs it
# --------------------------------------------------------------------------- #


def cli(database: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PGDATABASE": database, **env}
    return subprocess.run(
        [sys.executable, "-m", "product_images", "payload", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def test_cli_prints_the_payload_and_the_dropped_images(database, migrated, conn):
    ids = migrated
    result = cli(database, "--tenant", C, "--product", "1", "--marketplace", "ebay")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "product": {"imageUrls": [f"{U}{C}/1/0.jpg", f"{U}{C}/1/1.jpg", f"{U}{C}/1/big.jpg"]}
    }
    _, selection = product_payload(conn, C, 1, "ebay")
    assert result.stderr == "".join(line + "\n" for line in describe_dropped(selection))
    assert result.stderr.splitlines()[0] == (
        f"dropped image {ids['label.jpg']} (position 2, {U}{C}/1/label.jpg): label: price-tag label photo (is_label "
        "= true)"
    )
    assert [line.split("): ", 1)[1].split(":", 1)[0] for line in result.stderr.splitlines()] == [
        "label",
        "not_https",
        "too_small",
        "duplicate",
        "label",
        "unsupported_type",
    ]


def test_cli_vinted(database, migrated):
    result = cli(database, "--tenant", C, "--product", "2", "--marketplace", "vinted")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"photos": [{"url": f"{U}{C}/2/{i}.jpg", "position": i} for i in range(20)]}
    assert [line.split("): ", 1)[1].split(":", 1)[0] for line in result.stderr.splitlines()] == ["over_limit"] * 5 + [
        "label"
    ]


def test_cli_exits_1_when_no_photo_is_publishable(database, migrated):
    result = cli(database, "--tenant", C, "--product", "4", "--marketplace", "ebay")
    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert [line.split("): ", 1)[1] for line in lines[:2]] == [
        "not_https: ebay accepts https URLs only",
        "label: price-tag label photo (is_label = true)",
    ]
    assert lines[2:] == [
        "Error: no publishable photo for ebay (product 4): 2 image(s) dropped (label: 1, not_https: 1)"
    ]


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (
            ("--tenant", C, "--product", "999", "--marketplace", "ebay"),
            1,
            "Error: product 999 does not exist in tenant 'user_7'\n",
        ),
        (
            ("--tenant", "user_99", "--product", "1", "--marketplace", "vinted"),
            1,
            "Error: unknown tenant 'user_99': no schema of that name\n",
        ),
        (
            ("--tenant", "user_archive", "--product", "1", "--marketplace", "vinted"),
            1,
            "Error: unknown tenant 'user_archive': schema has no product_images table "
            "(has `dbt run --select product_images` migrated it?)\n",
        ),
    ],
    ids=["unknown-product", "unknown-tenant", "not-migrated"],
)
def test_cli_unknown_tenant_or_product(database, migrated, args, code, stderr):
    result = cli(database, *args)
    assert (result.returncode, result.stdout, result.stderr) == (code, "", stderr)


def test_cli_bad_marketplace_names_the_allowed_values(database, migrated):
    result = cli(database, "--tenant", C, "--product", "1", "--marketplace", "etsy")
    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr.splitlines()[-1]
        == "Error: Invalid value for '--marketplace': 'etsy' is not one of 'ebay', 'vinted'."
    )


def test_cli_unreachable_server(database, migrated, tmp_path):
    result = cli(database, "--tenant", C, "--product", "1", "--marketplace", "ebay", PGHOST=str(tmp_path), PGPORT="1")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(
        f"Error: cannot connect to {os.environ.get('PGUSER', os.environ.get('USER', ''))}@{tmp_path}:1/{database}: "
    )
