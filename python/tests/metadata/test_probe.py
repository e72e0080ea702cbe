"""Tests of the S3 client factory, the URL → object mapping, the demo images and the metadata prober.

The prober runs against moto's S3 server over real HTTP (``ThreadedMotoServer``),
with the demo catalog uploaded by boto3; nothing in boto3 or in our code is patched.
Error statuses moto cannot produce (403, 500, a store ignoring ``Range``) come
from a tiny local HTTP server speaking S3's XML error format.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import logging
import random
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from moto.server import ThreadedMotoServer
from PIL import Image

from product_images.demo.pictures import DemoImage, demo_image_catalog, render_image
from product_images.metadata.probe import (
    FIRST_RANGE_BYTES,
    NEXT_RANGE_BYTES,
    ProbeError,
    ProbeResult,
    StorageConfigurationError,
    naive_probe,
    probe_many,
    probe_object,
    sniff_image_type,
)
from product_images.metadata.storage import MappingRule, ObjectRef, UrlMapping, s3_client

BUCKET = "product-images"
EXIF_ORIENTATION = 0x0112
CATALOG = demo_image_catalog()
BY_KEY = {item.key: item for item in CATALOG}
STUDIO = BY_KEY["products/p-1003/studio.jpg"]  # 120 KB ICC profile before the SOF
CAMERA = BY_KEY["products/p-1003/camera.jpg"]  # 65 KB EXIF segment straddling byte 65,536
FRONT = BY_KEY["products/p-1001/front.jpg"]  # ordinary baseline JPEG larger than 64 KiB
TRUNCATED_BIG_KEY = "products/p-1010/studio-cut.jpg"  # STUDIO cut at 100,000 bytes, inside its 2nd APP2
_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials, no config files, no endpoint/region variables (the factory's defaults apply)."""
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    with pytest.MonkeyPatch.context() as env:
        for name in _ENV_TO_CLEAR:
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_CONFIG_FILE", str(empty))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="module")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    """moto's S3 on a free local port, over real HTTP, for this module."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def client(moto_endpoint: str) -> BaseClient:
    return s3_client(endpoint_url=moto_endpoint, max_pool_connections=16)


@pytest.fixture(scope="module")
def bucket(client: BaseClient) -> str:
    """The bucket holding the demo catalog (+ one big truncated JPEG), uploaded with put_object."""
    # moto quirk: with region "auto" (R2's), CreateBucket needs an explicit LocationConstraint.
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "auto"})
    for item in CATALOG:
        client.put_object(Bucket=BUCKET, Key=item.key, Body=item.data, ContentType=item.content_type)
    client.put_object(Bucket=BUCKET, Key=TRUNCATED_BIG_KEY, Body=STUDIO.data[:100_000], ContentType="image/jpeg")
    return BUCKET


class _S3ErrorStub(http.server.BaseHTTPRequestHandler):
    """Answers path-style S3 GET/HEAD requests for the few keys the tests need."""

    full_body = FRONT.data

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _error(self, status: int, code: str, message: str) -> None:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>stub</RequestId></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        key = self.path.split("?", 1)[0].split("/", 2)[2]
        if key == "denied.jpg":
            self._error(403, "AccessDenied", "Access Denied")
        elif key == "bad-key.jpg":
            self._error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        elif key == "bad-secret.jpg":
            self._error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        elif key == "broken.jpg":
            self._error(500, "InternalError", "We encountered an internal error. Please try again.")
        elif key == "ignores-range.jpg":  # a store that ignores Range: 200, whole body, no Content-Range
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(self.full_body)))
            self.send_header("ETag", f'"{hashlib.md5(self.full_body).hexdigest()}"')
            self.end_headers()
            self.wfile.write(self.full_body)
        else:
            self._error(400, "InvalidArgument", "Unsupported stub request")

    do_HEAD = do_GET


@pytest.fixture(scope="module")
def stub_endpoint(aws_env: None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _S3ErrorStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _single_attempt_client(endpoint: str) -> BaseClient:
    """Like s3_client but without retries, so 5xx and refused connections fail fast."""
    config = Config(
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 1},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=2,
        read_timeout=5,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="auto", config=config)


def _assert_matches_catalog(result: ProbeResult, item: DemoImage) -> None:
    assert (result.bucket, result.key) == (BUCKET, item.key)
    assert result.mime_type == item.mime_type
    assert (result.width, result.height) == (item.width, item.height)
    assert result.exif_orientation == item.orientation
    assert result.error == (ProbeError(item.error) if item.error else None)
    assert (result.error_detail is None) == (item.error is None)
    assert result.size_bytes == len(item.data)
    assert result.etag == hashlib.md5(item.data).hexdigest()
    assert result.content_type_hint == item.content_type


# --------------------------------------------------------------------------- client factory


def test_client_config_has_r2_safe_settings(moto_endpoint: str) -> None:
    client = s3_client(endpoint_url=moto_endpoint, max_pool_connections=48)
    config = client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert config.max_pool_connections == 48
    # botocore's max_attempts=5 counts retries; it is stored as 6 attempts in total.
    assert config.retries == {"mode": "standard", "total_max_attempts": 6}
    assert (config.connect_timeout, config.read_timeout) == (5.0, 30.0)
    assert config.s3 == {"addressing_style": "path"}
    assert config.signature_version == "s3v4"
    assert client.meta.region_name == "auto"
    assert client.meta.endpoint_url == moto_endpoint


def test_client_reads_endpoint_and_region_from_env(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://fallback.example.com")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://0123abcd.r2.cloudflarestorage.com")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = s3_client()
    assert client.meta.endpoint_url == "https://0123abcd.r2.cloudflarestorage.com"
    assert client.meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "weur")
    assert s3_client().meta.region_name == "weur"
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    assert s3_client().meta.endpoint_url == "https://fallback.example.com"


def test_client_rejects_bad_endpoint_naming_the_variable(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "0123abcd.r2.cloudflarestorage.com")
    with pytest.raises(ValueError, match=r"^AWS_ENDPOINT_URL_S3 must be an http:// or https:// URL"):
        s3_client()
    with pytest.raises(ValueError, match=r"^endpoint_url must be"):
        s3_client(endpoint_url="ftp://example.com")
    with pytest.raises(ValueError, match="max_pool_connections must be >= 1"):
        s3_client(max_pool_connections=0, endpoint_url="https://example.com")


# --------------------------------------------------------------------------- URL mapping


def test_mapping_single_rule_from_env_decodes_and_drops_query() -> None:
    mapping = UrlMapping.from_env({"IMAGE_URL_PREFIX": "https://cdn.example.com/img/", "IMAGE_BUCKET": "images"})
    assert mapping.rules == (MappingRule("https://cdn.example.com/img/", "images", ""),)
    assert mapping.object_for("https://cdn.example.com/img/p/1/front.jpg") == ObjectRef("images", "p/1/front.jpg")
    assert mapping.object_for("https://cdn.example.com/img/p/1/price%20tag.jpg?w=300&h=200#top") == ObjectRef(
        "images", "p/1/price tag.jpg"
    )
    assert mapping.object_for("https://cdn.example.com/img/p/%C3%A9tiquette+1.png") == ObjectRef(
        "images", "p/étiquette+1.png"
    )
    assert mapping.object_for("https://cdn.example.com/img/a%2Fb.jpg") == ObjectRef("images", "a/b.jpg")
    assert mapping.object_for("https://other.example.com/img/p/1/front.jpg") is None
    assert mapping.object_for("https://cdn.example.com/img/") is None
    assert mapping.object_for("https://cdn.example.com/img/?v=2") is None


def test_mapping_key_prefix_from_env() -> None:
    mapping = UrlMapping.from_env(
        {"IMAGE_URL_PREFIX": "https://cdn.example.com/", "IMAGE_BUCKET": "images", "IMAGE_KEY_PREFIX": "tenant-7/"}
    )
    assert mapping.object_for("https://cdn.example.com/a%20b.webp") == ObjectRef("images", "tenant-7/a b.webp")


def test_mapping_file_longest_prefix_wins(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(
        json.dumps(
            [
                {"url_prefix": "https://cdn.example.com/", "bucket": "general"},
                {"url_prefix": "https://cdn.example.com/labels/", "bucket": "labels", "key_prefix": "tags/"},
                {"url_prefix": "https://legacy.example.net/media/", "bucket": "legacy-media", "key_prefix": ""},
            ]
        )
    )
    mapping = UrlMapping.from_env({"IMAGE_URL_MAP_FILE": str(path)})
    assert len(mapping.rules) == 3
    assert mapping.object_for("https://cdn.example.com/labels/p1.jpg") == ObjectRef("labels", "tags/p1.jpg")
    assert mapping.object_for("https://cdn.example.com/labelsX/p1.jpg") == ObjectRef("general", "labelsX/p1.jpg")
    assert mapping.object_for("https://cdn.example.com/photos/p1.jpg") == ObjectRef("general", "photos/p1.jpg")
    assert mapping.object_for("https://legacy.example.net/media/x%2By.png") == ObjectRef("legacy-media", "x+y.png")
    assert mapping.object_for("http://cdn.example.com/photos/p1.jpg") is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, r"^no image URL mapping configured: set IMAGE_URL_PREFIX"),
        ({"IMAGE_URL_PREFIX": "https://cdn.example.com/"}, r"^IMAGE_BUCKET is not set"),
        ({"IMAGE_BUCKET": "images"}, r"^IMAGE_URL_PREFIX is not set"),
        (
            {"IMAGE_URL_PREFIX": "https://cdn.example.com/", "IMAGE_BUCKET": "Images_Bucket"},
            r"^IMAGE_BUCKET: bucket must be an S3 bucket name",
        ),
        (
            {"IMAGE_URL_PREFIX": "https://cdn.example.com/", "IMAGE_BUCKET": "images", "IMAGE_URL_MAP_FILE": "/x.json"},
            r"^IMAGE_URL_MAP_FILE is set together with IMAGE_URL_PREFIX/IMAGE_BUCKET",
        ),
    ],
)
def test_mapping_bad_env_raises_value_error_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UrlMapping.from_env(environ)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"^IMAGE_URL_MAP_FILE \(.*\): cannot read the file"),
        ("{not json", r"^IMAGE_URL_MAP_FILE \(.*\): not valid UTF-8 JSON"),
        ("[]", r"^IMAGE_URL_MAP_FILE \(.*\): expected a non-empty JSON list"),
        ('{"url_prefix": "https://a/", "bucket": "images"}', r"expected a non-empty JSON list"),
        ('[{"url_prefix": "https://a/"}]', r"^IMAGE_URL_MAP_FILE \(.*\): entry 0 lacks bucket$"),
        (
            '[{"url_prefix": "https://a/", "bucket": "images", "prefix": "x"}]',
            r"entry 0 has unknown field\(s\) \['prefix'\]",
        ),
        ('[{"url_prefix": "", "bucket": "images"}]', r"entry 0: url_prefix must be a non-empty string"),
        (
            '[{"url_prefix": "https://a/", "bucket": "images"}, {"url_prefix": "https://a/", "bucket": "other"}]',
            r"^IMAGE_URL_MAP_FILE \(.*\): duplicate url_prefix: https://a/$",
        ),
    ],
)
def test_mapping_bad_file_raises_value_error_naming_the_variable(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "map.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        UrlMapping.from_env({"IMAGE_URL_MAP_FILE": str(path)})


# --------------------------------------------------------------------------- demo images and sniffing


def test_demo_images_are_deterministic_and_varied() -> None:
    assert render_image("label", 300, 200, 14, "png") == BY_KEY["products/p-1007/étiquette.png"].data
    assert render_image("product", 640, 480, 99, "jpeg") == render_image("product", 640, 480, 99, "jpeg")
    assert render_image("product", 640, 480, 99, "jpeg") != render_image("product", 640, 480, 100, "jpeg")
    assert len({item.key for item in CATALOG}) == len(CATALOG) == 18
    small = [item.key for item in CATALOG if item.width is not None and max(item.width, item.height or 0) < 500]
    assert small == [
        "products/p-1004/cutout.png",
        "products/p-1005/spin.gif",
        "products/p-1005/modern.avif",
        "products/p-1006/scan.bmp",
        "products/p-1007/price tag.jpg",
        "products/p-1007/étiquette.png",
        "products/p-1008/really-a-png.jpg",
    ]
    with pytest.raises(ValueError, match="kind must be one of"):
        render_image("poster", 100, 100, 1, "png")
    with pytest.raises(ValueError, match="apply to fmt='jpeg' only"):
        render_image("product", 100, 100, 1, "png", progressive=True)
    with pytest.raises(ValueError, match=r"grain must be 0.0..1.0, got 1.5"):
        render_image("product", 100, 100, 1, "jpeg", grain=1.5)
    # grain: camera-like noise makes a 1600x1200 JPEG weigh what a photo does (~0.5 MB), deterministically
    plain, grainy = (
        render_image("product", 1600, 1200, 3, "jpeg"),
        render_image("product", 1600, 1200, 3, "jpeg", grain=0.12),
    )
    assert len(plain) < 150_000 < 400_000 < len(grainy) < 700_000
    assert grainy == render_image("product", 1600, 1200, 3, "jpeg", grain=0.12)


def test_demo_jpeg_layouts_put_the_sof_where_the_tests_need_it() -> None:
    assert STUDIO.data.index(b"\xff\xc0\x00\x11") == 120_230  # after 2 APP2 (ICC) segments
    assert CAMERA.data.index(b"\xff\xc0\x00\x11") == 65_692  # after a 65,534-byte APP1 (EXIF) segment
    assert FRONT.data.index(b"\xff\xc0\x00\x11") == 158
    assert BY_KEY["products/p-1001/side.jpg"].data.index(b"\xff\xc2\x00\x11") == 158  # progressive: SOF2
    assert BY_KEY["products/p-1002/print.jpg"].data.index(b"\xff\xee") == 2  # Adobe APP14 of a CMYK JPEG
    assert b"\xff\xc0" not in BY_KEY["products/p-1009/truncated.jpg"].data


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF89a\x10\x00\x10\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "image/avif"),
        (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", "image/heif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),
        (b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image/bmp"),
        (b"BMW\x20Motorrad price list\n", None),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"<!DOCTYPE html><html>", None),
        (b"", None),
    ],
)
def test_sniff_image_type(head: bytes, expected: str | None) -> None:
    assert sniff_image_type(head) == expected


# --------------------------------------------------------------------------- probe_object against moto


@pytest.mark.parametrize(
    "item", CATALOG, ids=[item.key.rsplit("/", 2)[-2] + "/" + item.key.rsplit("/", 1)[-1] for item in CATALOG]
)
def test_probe_object_reports_format_size_orientation_or_failure(
    client: BaseClient, bucket: str, item: DemoImage
) -> None:
    result = probe_object(client, ObjectRef(bucket, item.key))
    _assert_matches_catalog(result, item)
    if item.header_beyond_first_range:
        assert result.requests >= 2
    elif item.error == "empty":
        # 416 InvalidRange on bytes=0-65535, then one HeadObject confirming the size.
        assert (result.requests, result.bytes_downloaded) == (2, 0)
    else:
        assert result.requests == 1
        assert result.bytes_downloaded == min(len(item.data), FIRST_RANGE_BYTES)


def test_jpeg_with_big_icc_profile_fetches_only_segment_headers(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, STUDIO.key))
    assert (result.mime_type, result.width, result.height, result.exif_orientation) == ("image/jpeg", 900, 700, 3)
    assert result.size_bytes == len(STUDIO.data) == 154_307
    # bytes 0-65535, then 16 KiB at the 2nd APP2 header (65,593), then 16 KiB at the DQT/SOF run (120,092).
    assert result.requests == 3
    assert result.bytes_downloaded == FIRST_RANGE_BYTES + 2 * NEXT_RANGE_BYTES == 98_304
    assert FIRST_RANGE_BYTES < result.bytes_downloaded < len(STUDIO.data)


def test_jpeg_with_exif_straddling_the_first_range_keeps_its_orientation(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, CAMERA.key))
    assert (result.mime_type, result.width, result.height, result.exif_orientation) == ("image/jpeg", 700, 900, 8)
    assert (result.requests, result.bytes_downloaded) == (2, FIRST_RANGE_BYTES + NEXT_RANGE_BYTES)
    assert FIRST_RANGE_BYTES < result.bytes_downloaded < len(CAMERA.data)


def test_orientation_6_is_recorded_with_stored_dimensions(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, "products/p-1002/phone.jpg"))
    assert (result.width, result.height, result.exif_orientation) == (1024, 768, 6)


def test_cmyk_and_progressive_jpegs_are_measured(client: BaseClient, bucket: str) -> None:
    cmyk = probe_object(client, ObjectRef(bucket, "products/p-1002/print.jpg"))
    progressive = probe_object(client, ObjectRef(bucket, "products/p-1001/side.jpg"))
    assert (cmyk.mime_type, cmyk.width, cmyk.height, cmyk.error) == ("image/jpeg", 640, 480, None)
    assert (progressive.mime_type, progressive.width, progressive.height, progressive.error) == (
        "image/jpeg",
        800,
        600,
        None,
    )


def test_large_ordinary_jpeg_costs_one_64k_range(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, FRONT.key))
    assert (result.width, result.height, result.size_bytes) == (1600, 1200, 97_885)
    assert (result.requests, result.bytes_downloaded) == (1, 65_536)


def test_missing_key_is_missing_and_a_missing_bucket_raises_naming_it(
    client: BaseClient, bucket: str, moto_endpoint: str
) -> None:
    missing = probe_object(client, ObjectRef(bucket, "products/nope.jpg"))
    assert (missing.error, missing.requests, missing.bytes_downloaded, missing.size_bytes) == (
        ProbeError.MISSING,
        1,
        0,
        None,
    )
    assert missing.error_detail == "NoSuchKey (HTTP 404): The specified key does not exist."
    with pytest.raises(StorageConfigurationError) as raised:  # every object of the bucket would fail alike
        probe_object(client, ObjectRef("no-such-bucket", "a.jpg"))
    assert str(raised.value) == (
        f"bucket 'no-such-bucket' does not exist at {moto_endpoint} (NoSuchBucket): check IMAGE_BUCKET "
        "(or the bucket of the IMAGE_URL_MAP_FILE rule) and AWS_ENDPOINT_URL_S3"
    )
    assert (raised.value.bucket, raised.value.code) == ("no-such-bucket", "NoSuchBucket")


def test_empty_object(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, "products/p-1009/empty.jpg"))
    assert (result.error, result.error_detail, result.size_bytes) == (ProbeError.EMPTY, "0-byte object", 0)
    assert result.etag == "d41d8cd98f00b204e9800998ecf8427e"  # MD5 of b"", from the HeadObject


def test_big_jpeg_truncated_before_sof_is_corrupt(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, TRUNCATED_BIG_KEY))
    assert (result.error, result.mime_type, result.size_bytes) == (ProbeError.CORRUPT, "image/jpeg", 100_000)
    assert result.error_detail == "JPEG of 100000 bytes ends at byte 120092 before its SOF (size) marker"
    assert (result.requests, result.bytes_downloaded) == (2, FIRST_RANGE_BYTES + NEXT_RANGE_BYTES)


def test_header_budget_exhausted_falls_back_to_full_get_or_too_large(client: BaseClient, bucket: str) -> None:
    ref = ObjectRef(bucket, STUDIO.key)
    full = probe_object(client, ref, max_header_bytes=FIRST_RANGE_BYTES, max_full_bytes=200_000)
    assert (full.width, full.height, full.exif_orientation, full.error) == (900, 700, 3, None)
    assert (full.requests, full.bytes_downloaded) == (2, FIRST_RANGE_BYTES + len(STUDIO.data))

    too_large = probe_object(client, ref, max_header_bytes=FIRST_RANGE_BYTES, max_full_bytes=100_000)
    assert (too_large.error, too_large.mime_type, too_large.width) == (ProbeError.TOO_LARGE, "image/jpeg", None)
    assert (too_large.requests, too_large.bytes_downloaded) == (1, FIRST_RANGE_BYTES)
    assert too_large.error_detail == (
        "size header not found within 65536 bytes of ranged reads; object of 154307 bytes exceeds max_full_bytes=100000"
    )


def test_small_first_range(client: BaseClient, bucket: str) -> None:
    result = probe_object(client, ObjectRef(bucket, FRONT.key), first_range=1024)
    assert (result.width, result.height, result.requests, result.bytes_downloaded) == (1600, 1200, 1, 1024)
    with pytest.raises(ValueError, match="first_range must be >= 64 bytes"):
        probe_object(client, ObjectRef(bucket, FRONT.key), first_range=10)


def test_url_mapping_to_probe_end_to_end(client: BaseClient, bucket: str) -> None:
    mapping = UrlMapping.from_env({"IMAGE_URL_PREFIX": "https://cdn.example.com/", "IMAGE_BUCKET": bucket})
    ref = mapping.object_for("https://cdn.example.com/products/p-1007/price%20tag.jpg?width=300")
    assert ref == ObjectRef(bucket, "products/p-1007/price tag.jpg")
    result = probe_object(client, ref)
    assert (result.mime_type, result.width, result.height) == ("image/jpeg", 450, 300)


# --------------------------------------------------------------------------- failures moto cannot produce


def test_access_denied(stub_endpoint: str) -> None:
    result = probe_object(s3_client(endpoint_url=stub_endpoint), ObjectRef("images", "denied.jpg"))
    assert (result.error, result.error_detail, result.requests) == (
        ProbeError.ACCESS_DENIED,
        "AccessDenied (HTTP 403): Access Denied",
        1,
    )


@pytest.mark.parametrize(
    "key, code", [("bad-key.jpg", "InvalidAccessKeyId"), ("bad-secret.jpg", "SignatureDoesNotMatch")]
)
def test_rejected_credentials_raise_naming_the_bucket_and_the_variables(
    stub_endpoint: str, key: str, code: str
) -> None:
    with pytest.raises(StorageConfigurationError) as raised:
        probe_object(s3_client(endpoint_url=stub_endpoint), ObjectRef("images", key))
    assert str(raised.value) == (
        f"the store rejected the credentials for bucket 'images' at {stub_endpoint} ({code}): "
        "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


def test_server_error_is_network(stub_endpoint: str) -> None:
    result = probe_object(_single_attempt_client(stub_endpoint), ObjectRef("images", "broken.jpg"))
    assert result.error == ProbeError.NETWORK
    assert result.error_detail == "InternalError (HTTP 500): We encountered an internal error. Please try again."


def test_refused_connection_is_network() -> None:
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = probe_object(_single_attempt_client(f"http://127.0.0.1:{port}"), ObjectRef("images", "a.jpg"))
    assert (result.error, result.requests, result.bytes_downloaded) == (ProbeError.NETWORK, 1, 0)
    assert result.error_detail.startswith("EndpointConnectionError: Could not connect to the endpoint URL")


def test_store_ignoring_range_is_read_only_up_to_first_range(stub_endpoint: str) -> None:
    result = probe_object(s3_client(endpoint_url=stub_endpoint), ObjectRef("images", "ignores-range.jpg"))
    assert (result.mime_type, result.width, result.height, result.error) == ("image/jpeg", 1600, 1200, None)
    assert (result.size_bytes, result.requests, result.bytes_downloaded) == (97_885, 1, FIRST_RANGE_BYTES)
    assert result.etag == hashlib.md5(FRONT.data).hexdigest()


# --------------------------------------------------------------------------- probe_many and naive_probe


def test_probe_many_returns_every_result(client: BaseClient, bucket: str) -> None:
    refs = [ObjectRef(bucket, item.key) for item in CATALOG] + [ObjectRef(bucket, "products/nope.jpg")]
    seen: list[ProbeResult] = []
    results = list(probe_many(client, (ref for ref in refs), concurrency=8, progress=seen.append))
    assert len(results) == len(refs) == 19
    assert seen == results
    by_key = {result.key: result for result in results}
    assert set(by_key) == {ref.key for ref in refs}
    for item in CATALOG:
        _assert_matches_catalog(by_key[item.key], item)
    assert by_key["products/nope.jpg"].error == ProbeError.MISSING


def test_probe_many_rejects_concurrency_beyond_the_pool(client: BaseClient) -> None:
    with pytest.raises(ValueError, match="concurrency=17 exceeds the client's max_pool_connections=16"):
        list(probe_many(client, [], concurrency=17))
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        list(probe_many(client, [], concurrency=0))
    assert list(probe_many(client, [], concurrency=4)) == []


def test_naive_probe_agrees_but_downloads_everything(client: BaseClient, bucket: str) -> None:
    results = {
        r.key: r
        for r in probe_many(client, [ObjectRef(bucket, i.key) for i in CATALOG], concurrency=8, probe=naive_probe)
    }
    for item in CATALOG:
        result = results[item.key]
        _assert_matches_catalog(result, item)
        assert (result.requests, result.bytes_downloaded) == (1, len(item.data))


# --------------------------------------------------------------------------- HEIC/AVIF orientation, OS/2 BMP


def _avif(orientation: int | None, *, noisy: bool = False) -> bytes:
    """A 400 x 300 AVIF encoded by Pillow (libavif), which turns an EXIF orientation into irot/imir properties."""
    size = (400, 300)
    if noisy:  # random pixels: over 64 KiB, so a whole download would show in the bytes downloaded
        picture = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    else:
        picture = Image.new("RGB", size, "red")
    options: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        options["exif"] = exif.tobytes()
    out = io.BytesIO()
    picture.save(out, "AVIF", quality=90, **options)
    return out.getvalue()


def _os2_bmp(width: int, height: int) -> bytes:
    """A 24-bit BMP with the 12-byte BITMAPCOREHEADER of OS/2 1.x (16-bit width and height)."""
    pixels = bytes((width * 3 + 3) // 4 * 4 * height)
    dib = struct.pack("<IHHHH", 12, width, height, 1, 24)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib) + len(pixels), 0, 0, 14 + len(dib)) + dib + pixels


@pytest.fixture(scope="module")
def heif_keys(client: BaseClient, bucket: str) -> dict[str, tuple[int | None, bytes]]:
    """AVIFs for EXIF orientations none and 1..8, the same files branded heic, a rotated AVIF over 64 KiB, uploaded;
    key → (orientation, bytes)."""
    objects: dict[str, tuple[int | None, bytes]] = {}
    for orientation in (None, *range(1, 9)):
        data = _avif(orientation)
        objects[f"heif/{orientation}.avif"] = (orientation, data)
        objects[f"heif/{orientation}.heic"] = (orientation, data.replace(b"avif", b"heic"))  # what an iPhone brands
    objects["heif/big-6.avif"] = (6, _avif(6, noisy=True))
    for key, (_, data) in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    return objects


def test_rotated_heic_and_avif_are_measured_from_their_first_range(
    client: BaseClient, bucket: str, heif_keys: dict[str, tuple[int | None, bytes]]
) -> None:
    assert len(heif_keys["heif/big-6.avif"][1]) > FIRST_RANGE_BYTES
    for key, (orientation, data) in heif_keys.items():
        result = probe_object(client, ObjectRef(bucket, key))
        mime = "image/heic" if key.endswith(".heic") else "image/avif"
        expected = orientation if orientation != 1 else None
        assert (result.mime_type, result.width, result.height, result.exif_orientation, result.error) == (
            mime,
            400,
            300,
            expected,
            None,
        ), key
        assert (result.requests, result.bytes_downloaded) == (1, min(len(data), FIRST_RANGE_BYTES)), key
        if mime == "image/avif":  # Pillow (libavif) reads the same size as coded and orientation back
            with Image.open(io.BytesIO(data)) as picture:
                assert (picture.size, picture.getexif().get(EXIF_ORIENTATION)) == ((400, 300), expected), key


def test_os2_bmp_dimensions_are_16_bit(client: BaseClient, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="bmp/os2.bmp", Body=_os2_bmp(300, 200))
    result = probe_object(client, ObjectRef(bucket, "bmp/os2.bmp"))
    assert (result.mime_type, result.width, result.height, result.error, result.requests) == (
        "image/bmp",
        300,
        200,
        None,
        1,
    )
