"""A real HTTP S3 endpoint for the tests: moto's ThreadedMotoServer on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

PREFIX = "https://images.example.com/"
"""The public URL prefix the tests' URL mapping strips to get a key."""

AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "IMAGE_URL_MAP_FILE",
    "IMAGE_KEY_PREFIX",
    "PRODUCT_IMAGES_TENANT_REGEX",
    "PRODUCT_IMAGES_EXTRA_TENANTS",
    "PRODUCT_IMAGES_LEASE_SECONDS",
)
"""Variables of the developer's shell that would point boto3 or the mapping elsewhere."""


@contextmanager
def moto_endpoint(scratch: Path, bucket: str) -> Iterator[str]:
    """Start moto's S3 server and point this process's environment at it.

    Args:
        scratch: a folder for an empty AWS config file.
        bucket: the bucket ``IMAGE_BUCKET`` names (not created here).

    Yields:
        The endpoint URL, ``http://127.0.0.1:<port>``; the AWS_* and IMAGE_* variables
        are set while the block runs (subprocesses started meanwhile inherit them).
    """
    empty = scratch / "empty"
    empty.write_text("")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with pytest.MonkeyPatch.context() as env:
            for name in AWS_VARIABLES:
                env.delenv(name, raising=False)
            env.setenv("AWS_ACCESS_KEY_ID", "testing")
            env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            env.setenv("AWS_CONFIG_FILE", str(empty))
            env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
            env.setenv("AWS_EC2_METADATA_DISABLED", "true")
            env.setenv("AWS_ENDPOINT_URL_S3", f"http://{host}:{port}")
            env.setenv("IMAGE_URL_PREFIX", PREFIX)
            env.setenv("IMAGE_BUCKET", bucket)
            yield f"http://{host}:{port}"
    finally:
        server.stop()
