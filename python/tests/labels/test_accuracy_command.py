"""`product-images labels accuracy`: the evidence measured on the people's decisions, end to end.

Real dbt runs, a real PostgreSQL, moto's S3 over HTTP and the real detector. Products 1-5
hold three garment photos and a price card ("PRIX 29,50 €": a price only a shop writes, so
the evidence labels the card whatever the model scores); people decide products 1-8 in the
overrides seed (product 5's person flags its front photo: the evidence disagrees), and
product 9 only partly.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont

from helpers.legacy_data import make_tenant, photo
from helpers.s3 import PREFIX, moto_endpoint
from product_images.cli import main
from product_images.demo.pictures import render_image
from product_images.labels.detect import detect_labels
from product_images.metadata.storage import UrlMapping, s3_client

BUCKET = "accuracy-photos"
T = "user_1"
FONT = (
    Path(__file__).resolve().parents[2]
    / "product_images"
    / "labels"
    / "development"
    / "clothing_fonts"
    / "DejaVuSans-Bold.ttf"
)


def price_card(seed: int) -> bytes:
    """A white card on a grey table: "PRIX", an amount with cents and €, a reference."""
    rng = random.Random(seed)
    image = Image.new("RGB", (900, 700), (rng.randint(60, 120),) * 3)
    draw = ImageDraw.Draw(image)
    draw.rectangle((250, 150, 650, 550), fill=(250, 248, 240))
    small, big = ImageFont.truetype(str(FONT), 44), ImageFont.truetype(str(FONT), 90)
    draw.text((290, 190), "PRIX", font=small, fill=(20, 20, 20))
    draw.text((290, 270), f"{rng.randint(5, 40)},{rng.choice(['00', '50'])} €", font=big, fill=(20, 20, 20))
    draw.text((290, 420), f"REF {rng.randint(1000, 9999)}", font=small, fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_endpoint(tmp_path_factory.mktemp("aws"), BUCKET) as url:
        yield url


@pytest.fixture(scope="module")
def tenant(conn: psycopg.Connection, dbt: Any, endpoint: str) -> dict[int, list[str]]:
    client = s3_client(max_pool_connections=4)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    products: dict[int, list[str]] = {}
    for pid in range(1, 10):
        urls = []
        for n in range(3):
            key = f"{T}/{pid}/{n}.jpg"
            client.put_object(Bucket=BUCKET, Key=key, Body=render_image("product", 900, 700, pid * 10 + n, "jpeg"))
            urls.append(PREFIX + key)
        if pid <= 5:
            key = f"{T}/{pid}/card.jpg"
            client.put_object(Bucket=BUCKET, Key=key, Body=price_card(pid))
            urls.append(PREFIX + key)
        products[pid] = urls
    make_tenant(conn, T, {pid: [photo(url, n) for n, url in enumerate(urls)] for pid, urls in products.items()})
    make_tenant(conn, "template_tenant", {})
    assert dbt("run", "--select", "product_images").success
    with psycopg.connect(autocommit=True) as own:
        summary = detect_labels(own, client, UrlMapping.from_env(), schema="product_images", tenants=[T])
    assert summary.photos_scored == sum(len(urls) for urls in products.values())
    return products


def test_accuracy_counts_what_the_evidence_would_have_said(conn, dbt, project_dir, tenant) -> None:
    rows = ["tenant_schema,product_id,url,is_label,note"]
    for pid in (1, 2, 3, 4):  # the card is the label
        rows += [f"{T},{pid},{url},{str(url.endswith('card.jpg')).lower()},test" for url in tenant[pid]]
    rows += [f"{T},5,{url},{str(url.endswith('/0.jpg')).lower()},test" for url in tenant[5]]  # the front photo
    for pid in (6, 7, 8):  # no label
        rows += [f"{T},{pid},{url},false,test" for url in tenant[pid]]
    rows.append(f"{T},9,{tenant[9][0]},false,test")  # partly decided
    (project_dir / "seeds" / "label_overrides.csv").write_text("\n".join(rows) + "\n")
    assert dbt("seed").success
    assert dbt("run", "--select", "product_images").success

    result = CliRunner().invoke(main, ["labels", "accuracy", "--tenant", T, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (found,) = report["tenants"]
    assert found == report["total"] | {"tenant": T}
    assert (found["decided"], found["partly_decided"], found["unscored"], found["doubtful"]) == (8, 1, 0, 0)
    # the card labelled on products 1-5; right on 1-4; 6-8 cleared, rightly
    assert (found["labels"], found["correct"], found["decided_tags"], found["cleared_wrongly"]) == (5, 4, 5, 0)
    assert (found["precision"], found["recall"]) == (0.8, 0.8)
    assert found["precision_interval"] == pytest.approx([0.3755, 0.9638], abs=2e-4)  # Wilson 95% on 4 of 5

    text = CliRunner().invoke(main, ["labels", "accuracy"])
    assert text.exit_code == 0, text.output
    assert "user_1: 8 decided products (0 doubtful, 1 partly decided, 0 unscored); precision 0.800" in text.output
    assert "template_tenant: no product decided by a person yet\n" in text.output


def test_accuracy_names_a_tenant_that_is_not_one(tenant) -> None:
    result = CliRunner().invoke(main, ["labels", "accuracy", "--tenant", "user_9"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: --tenant: not a tenant with a product_images table: 'user_9' (tenants: template_tenant, user_1)\n"
    )
