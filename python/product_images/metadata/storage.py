"""Object storage access: the shared boto3 S3 client and the image URL → object mapping.

The photos live in S3-compatible object storage (Cloudflare R2 in production,
moto's S3 server in the demo and tests). The database stores public URLs; an
:class:`UrlMapping` turns such a URL into the :class:`ObjectRef` (bucket, key)
the prober reads.

Configuration comes from the environment:

* endpoint: ``AWS_ENDPOINT_URL_S3``, then ``AWS_ENDPOINT_URL``
  (R2: ``https://<account id>.r2.cloudflarestorage.com``);
* region: ``AWS_REGION``, then ``AWS_DEFAULT_REGION``, else ``auto`` (what R2 expects)
  when an endpoint is set;
* credentials: the usual ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (or any
  source boto3 knows: profile, config file);
* mapping: ``IMAGE_URL_PREFIX`` + ``IMAGE_BUCKET`` (+ optional ``IMAGE_KEY_PREFIX``),
  or ``IMAGE_URL_MAP_FILE`` (a JSON list of rules).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.client import BaseClient
from botocore.config import Config

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "READ_TIMEOUT_SECONDS",
    "MAX_RETRIES",
    "MappingRule",
    "ObjectRef",
    "UrlMapping",
    "s3_client",
]

#: Seconds to wait for a TCP/TLS connection to the store.
CONNECT_TIMEOUT_SECONDS = 5.0
#: Seconds to wait between two reads on an open connection (not a total per request).
READ_TIMEOUT_SECONDS = 30.0
#: botocore ``retries["max_attempts"]``, which counts RETRIES after the first attempt
#: (botocore stores it as ``total_max_attempts`` = 6). "standard" mode retries connection
#: errors, timeouts, throttling and 5xx with exponential backoff (random, up to 20 s each).
MAX_RETRIES = 5

_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
# S3 bucket naming rules (also R2's, which is stricter: no dots, but we accept both).
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _first_env(environ: Mapping[str, str], names: Sequence[str]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def s3_client(*, max_pool_connections: int = 32, endpoint_url: str | None = None) -> BaseClient:
    """Build a boto3 S3 client for R2 or any S3-compatible store, safe to share between threads.

    Args:
        max_pool_connections: HTTP connections kept open; must be >= the number of
            threads using the client at once (``probe_many``'s ``concurrency``), else
            urllib3 discards connections and every request pays a new TLS handshake.
        endpoint_url: ``http(s)://host[:port]`` of the store. When None it is read from
            ``AWS_ENDPOINT_URL_S3``, then ``AWS_ENDPOINT_URL``; when none is set the client
            talks to AWS S3 itself.

    Returns:
        A botocore S3 client (``BaseClient``). Settings, readable from ``client.meta.config``:

        * ``request_checksum_calculation="when_required"`` and
          ``response_checksum_validation="when_required"``: boto3 >= 1.36 otherwise sends
          CRC32 checksum headers/trailers (aws-chunked uploads) by default, which R2 and
          other S3-compatible stores reject or mishandle;
        * ``retries={"mode": "standard", "max_attempts": 5}``: up to 5 retries, so 6 attempts
          (read back from ``client.meta.config.retries`` as ``{"mode": "standard",
          "total_max_attempts": 6}``);
        * ``connect_timeout`` 5 s, ``read_timeout`` 30 s (see the module constants);
        * signature v4 (R2 only accepts SigV4); path-style addressing when an endpoint
          is given (works on R2, MinIO and moto alike), botocore's default otherwise;
        * region: ``AWS_REGION``, then ``AWS_DEFAULT_REGION``; if neither is set,
          ``"auto"`` (R2's region) with a custom endpoint, boto3's own resolution
          (config file, else us-east-1) without one, since ``"auto"`` is no AWS region.

        Credentials are left to boto3's chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
        profile, ...); they are resolved on the first request, not here.

    Raises:
        ValueError: ``max_pool_connections`` < 1, or the endpoint (argument or variable,
            named in the message) is not an ``http://`` or ``https://`` URL.

    The client is built from a fresh ``boto3.session.Session()``: sessions (and the
    default session behind ``boto3.client``) are not thread-safe, clients are.
    """
    if max_pool_connections < 1:
        raise ValueError(f"max_pool_connections must be >= 1, got {max_pool_connections}")
    endpoint_url = _endpoint(endpoint_url)
    found_region = _first_env(os.environ, _REGION_VARIABLES)
    region = found_region[1] if found_region else ("auto" if endpoint_url else None)
    config = _client_config(region, endpoint_url, max_pool_connections)
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _endpoint(endpoint_url: str | None) -> str | None:
    """The store's endpoint: the argument, else the first endpoint variable set; None for AWS S3 itself."""
    source = "endpoint_url"
    if endpoint_url is None:
        found = _first_env(os.environ, _ENDPOINT_VARIABLES)
        if found is not None:
            source, endpoint_url = found
    if endpoint_url is not None and not re.match(r"^https?://[^/\s]+", endpoint_url):
        raise ValueError(
            f"{source} must be an http:// or https:// URL such as "
            f"https://<account>.r2.cloudflarestorage.com, got {endpoint_url!r}"
        )
    return endpoint_url


def _client_config(region: str | None, endpoint_url: str | None, max_pool_connections: int) -> Config:
    """The botocore settings :func:`s3_client` documents."""
    return Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=max_pool_connections,
        retries={"mode": "standard", "max_attempts": MAX_RETRIES},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        tcp_keepalive=True,
        user_agent_appid="product-images",
    )


@dataclass(frozen=True)
class ObjectRef:
    """One stored object: ``bucket`` (S3 bucket name) and ``key`` (UTF-8 object key, not URL-encoded)."""

    bucket: str
    key: str


@dataclass(frozen=True)
class MappingRule:
    """URLs starting with ``url_prefix`` live in ``bucket`` under ``key_prefix`` + the rest of the URL.

    Fields:
        url_prefix: a non-empty literal prefix, usually ``https://host/path/`` (end it with
            ``/`` unless you mean a partial path segment: the match is plain ``startswith``).
        bucket: S3/R2 bucket name (3-63 characters: lowercase letters, digits, ``-``, ``.``).
        key_prefix: prepended verbatim to the decoded rest of the URL; may be empty.

    Raises:
        ValueError: empty ``url_prefix``, invalid bucket name, or non-str fields.
    """

    url_prefix: str
    bucket: str
    key_prefix: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.url_prefix, str) or not self.url_prefix.strip():
            raise ValueError(f"url_prefix must be a non-empty string, got {self.url_prefix!r}")
        if not isinstance(self.bucket, str) or not _BUCKET_NAME.match(self.bucket):
            raise ValueError(
                "bucket must be an S3 bucket name (3-63 characters: lowercase letters, "
                f"digits, '-', '.'), got {self.bucket!r}"
            )
        if not isinstance(self.key_prefix, str):
            raise ValueError(f"key_prefix must be a string, got {self.key_prefix!r}")


@dataclass(frozen=True)
class UrlMapping:
    """Ordered rules turning image URLs into stored objects; the longest matching prefix wins.

    ``rules`` is a tuple (a list is converted) of :class:`MappingRule`; at least one, with
    distinct prefixes. Build it directly, or with :meth:`from_env`.

    Raises:
        ValueError: no rules, or two rules with the same ``url_prefix``.
    """

    rules: tuple[MappingRule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))  # accept a list, keep the mapping hashable
        if not self.rules:
            raise ValueError("a UrlMapping needs at least one rule")
        prefixes = [rule.url_prefix for rule in self.rules]
        duplicates = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if duplicates:
            raise ValueError(f"duplicate url_prefix: {', '.join(duplicates)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> UrlMapping:
        """Read the mapping from the environment (``os.environ`` unless ``environ`` is given).

        Either ``IMAGE_URL_MAP_FILE``: the path of a UTF-8 JSON file holding a non-empty list
        ``[{"url_prefix": "https://cdn.example.com/", "bucket": "images", "key_prefix": ""}]``
        (``key_prefix`` optional), or ``IMAGE_URL_PREFIX`` + ``IMAGE_BUCKET`` for a single rule,
        with an optional ``IMAGE_KEY_PREFIX``.

        Returns:
            The :class:`UrlMapping`.

        Raises:
            ValueError: nothing configured, both styles configured, ``IMAGE_URL_PREFIX``
                without ``IMAGE_BUCKET`` or the reverse, an unreadable or malformed map file,
                or an invalid rule. The message names the variable and what it expects.
        """
        env = os.environ if environ is None else environ
        map_file = env.get("IMAGE_URL_MAP_FILE", "").strip()
        prefix = env.get("IMAGE_URL_PREFIX", "").strip()
        bucket = env.get("IMAGE_BUCKET", "").strip()
        key_prefix = env.get("IMAGE_KEY_PREFIX", "")

        if map_file:
            if prefix or bucket:
                raise ValueError(
                    "IMAGE_URL_MAP_FILE is set together with IMAGE_URL_PREFIX/IMAGE_BUCKET: "
                    "set either the map file or the single-rule variables, not both"
                )
            return cls(_rules_from_file(map_file))
        if not prefix and not bucket:
            raise ValueError(
                "no image URL mapping configured: set IMAGE_URL_PREFIX (e.g. "
                "https://cdn.example.com/) and IMAGE_BUCKET, or IMAGE_URL_MAP_FILE "
                "(a JSON list of {url_prefix, bucket, key_prefix})"
            )
        if not bucket:
            raise ValueError("IMAGE_BUCKET is not set: IMAGE_URL_PREFIX needs the bucket its objects live in")
        if not prefix:
            raise ValueError(
                "IMAGE_URL_PREFIX is not set: IMAGE_BUCKET needs the URL prefix that maps to it "
                "(e.g. https://cdn.example.com/)"
            )
        try:
            rule = MappingRule(prefix, bucket, key_prefix)
        except ValueError as error:
            variable = "IMAGE_BUCKET" if str(error).startswith("bucket") else "IMAGE_URL_PREFIX"
            raise ValueError(f"{variable}: {error}") from None
        return cls((rule,))

    def object_for(self, url: str) -> ObjectRef | None:
        """Map one image URL to its object.

        The longest ``url_prefix`` that the URL starts with wins; the rest of the URL,
        without its query string (``?...``) and fragment (``#...``), is percent-decoded
        as UTF-8 (``%20`` → space; ``+`` stays ``+``, as in URL paths) and appended to
        the rule's ``key_prefix``. Bytes that are not UTF-8 (``%FF``) decode to U+FFFD, a key
        that cannot exist, so such URLs probe as ``missing``.

        Args:
            url: the URL as stored in the database.

        Returns:
            The :class:`ObjectRef`, or None when no rule matches or the key would be empty
            (the URL is the prefix itself).
        """
        best: MappingRule | None = None
        for rule in self.rules:
            if url.startswith(rule.url_prefix) and (best is None or len(rule.url_prefix) > len(best.url_prefix)):
                best = rule
        if best is None:
            return None
        rest = url[len(best.url_prefix) :].split("#", 1)[0].split("?", 1)[0]
        if not rest:
            return None
        return ObjectRef(best.bucket, best.key_prefix + unquote(rest))


def _rules_from_file(path: str) -> tuple[MappingRule, ...]:
    where = f"IMAGE_URL_MAP_FILE ({path})"
    try:
        entries: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{where}: cannot read the file: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{where}: not valid UTF-8 JSON: {error}") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError(
            f'{where}: expected a non-empty JSON list of {{"url_prefix": ..., "bucket": ..., '
            f'"key_prefix": ...}} objects'
        )
    rules = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: entry {index} must be an object, got {type(entry).__name__}")
        unknown = sorted(set(entry) - {"url_prefix", "bucket", "key_prefix"})
        if unknown:
            raise ValueError(
                f"{where}: entry {index} has unknown field(s) {unknown}; "
                "expected url_prefix, bucket and optional key_prefix"
            )
        missing = [name for name in ("url_prefix", "bucket") if name not in entry]
        if missing:
            raise ValueError(f"{where}: entry {index} lacks {' and '.join(missing)}")
        try:
            rules.append(MappingRule(entry["url_prefix"], entry["bucket"], entry.get("key_prefix", "")))
        except ValueError as error:
            raise ValueError(f"{where}: entry {index}: {error}") from None
    try:
        UrlMapping(tuple(rules))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return tuple(rules)


def storage_from_env(*, max_pool_connections: int = 32) -> tuple[UrlMapping, BaseClient]:
    """The URL mapping and an S3 client, both from the environment, as the commands use them.

    Args:
        max_pool_connections: the client's HTTP connection pool (at least the threads that share it).

    Returns:
        ``(UrlMapping.from_env(), s3_client(...))``.

    Raises:
        ValueError: a mapping variable is missing or malformed, or no AWS credentials are
            found (the message names the variables to set).
        botocore.exceptions.BotoCoreError: another AWS configuration error (partial
            credentials, an unknown AWS_PROFILE).
    """
    import boto3

    mapping = UrlMapping.from_env()
    client = s3_client(max_pool_connections=max_pool_connections)
    if boto3.session.Session().get_credentials() is None:
        raise ValueError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
    return mapping, client
