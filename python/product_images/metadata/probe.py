"""Image metadata prober: real format, pixel size and EXIF orientation of stored objects, from a few KiB each.

For each object, :func:`probe_object` makes ONE ranged GetObject for the first
64 KiB (``Range: bytes=0-65535``), which also tells the total size
(``Content-Range: bytes 0-65535/TOTAL``) and the ETag, so no HeadObject is
needed. The real type is sniffed from the magic numbers in those bytes (never
from the key's extension or the stored Content-Type, which is kept as a hint
only); ``imagesize`` reads the dimensions as stored plus the EXIF orientation,
Pillow is the fallback (both in :mod:`product_images.metadata.image_headers`).

JPEGs may carry big APP segments (EXIF thumbnails, ICC profiles, XMP) before
the SOF marker that holds the size. Then the prober walks the JPEG segment
chain in the bytes it has, and fetches a small chunk at the exact offset of the
next segment header, skipping the big payloads, until it reaches the SOF
(within ``max_header_bytes`` downloaded); beyond that budget it falls back to a
full GET when the object is at most ``max_full_bytes``.

Failures are returned in :class:`ProbeResult` (``error`` is a :class:`ProbeError`),
never raised: :func:`probe_many` runs over millions of objects and one bad object
must not stop it. Only programming and configuration errors raise (bad arguments,
no credentials at all, and :class:`StorageConfigurationError`: a bucket that does not exist
or credentials the store rejects, which would fail every object alike). An endpoint no TCP
connection can be made to is recorded as ``network`` like any transport failure, with
``ProbeResult.unreachable`` set: the run, not the prober, decides that it stops
(:mod:`product_images.metadata.storage_errors`).

:func:`naive_probe` (full GET + ``PIL.Image.open``) is kept as the baseline for
the benchmark.
"""

from __future__ import annotations

import enum
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from PIL import Image

from product_images.metadata.image_headers import (
    EXIF_ORIENTATION_TAG,
    CorruptJpeg,
    jpeg_header,
    measure_image,
    sniff_image_type,
)
from product_images.metadata.storage import ObjectRef
from product_images.metadata.storage_errors import (
    StorageConfigurationError,
    connect_failure,
    server_error,
    storage_configuration_error,
)

__all__ = [
    "classify_storage_error",
    "FIRST_RANGE_BYTES",
    "MAX_FULL_BYTES",
    "MAX_HEADER_BYTES",
    "NEXT_RANGE_BYTES",
    "ProbeError",
    "ProbeResult",
    "StorageConfigurationError",
    "naive_probe",
    "storage_configuration_error",
    "probe_many",
    "probe_object",
    "sniff_image_type",
]

#: Bytes asked for by the first ranged GET: enough for the size header of nearly every image.
FIRST_RANGE_BYTES = 65_536
#: Bytes fetched at each follow-up offset while walking a JPEG's segment chain.
NEXT_RANGE_BYTES = 16_384
#: Budget of bytes downloaded by ranged GETs looking for the size header.
MAX_HEADER_BYTES = 1_048_576
#: Largest object the prober downloads whole when ranged reads could not find the size.
MAX_FULL_BYTES = 50 * 1024 * 1024

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$", re.IGNORECASE)


class ProbeError(enum.StrEnum):
    """Why an object has no measurements. A ``str`` enum: ``ProbeError.MISSING == "missing"``.

    * ``missing``: 404, ``NoSuchKey`` (a bucket that does not exist is no object's
      failure: :class:`StorageConfigurationError`).
    * ``empty``: a 0-byte object (S3, R2 and moto answer a ranged GET on it with
      416 ``InvalidRange``; the prober confirms the size with one HeadObject).
    * ``not_image``: the bytes carry no known image signature (e.g. an HTML error
      page saved as ``.jpg``).
    * ``corrupt``: a known image signature, but the dimensions cannot be read (the
      file ends, or is garbled, before its size header).
    * ``too_large``: the size header is not within ``max_header_bytes`` of ranged
      reads and the object is bigger than ``max_full_bytes``.
    * ``access_denied``: 401/403, e.g. ``AccessDenied`` (credentials the store rejects,
      ``InvalidAccessKeyId``, ``SignatureDoesNotMatch`` or an expired or invalid session
      token, raise :class:`StorageConfigurationError` instead).
    * ``network``: transient or transport-level failure after botocore's retries:
      connection errors, timeouts, 5xx, a short read, the object changing between
      two reads (412 on ``If-Match``), and any other unexpected S3 error response
      (its code is in ``error_detail``). Worth probing again later. (No connection
      made at all: also ``ProbeResult.unreachable``, which stops the backfill; 5xx: ``server_error``.)
    """

    MISSING = "missing"
    EMPTY = "empty"
    NOT_IMAGE = "not_image"
    CORRUPT = "corrupt"
    TOO_LARGE = "too_large"
    ACCESS_DENIED = "access_denied"
    NETWORK = "network"


@dataclass(frozen=True)
class ProbeResult:
    """What the prober learned about one object.

    Fields:
        bucket, key: the object probed.
        etag: the object's ETag without quotes, None when no response carried one.
        size_bytes: total object size in bytes (from ``Content-Range``), None when unknown.
        mime_type: type sniffed from the bytes (``image/jpeg``, ``image/png``, ``image/gif``,
            ``image/webp``, ``image/avif``, ``image/heic``, ``image/heif``, ``image/bmp``,
            ``image/tiff``), None when not an image or not read.
        content_type_hint: the Content-Type stored with the object (unverified), or None.
        width, height: pixel dimensions as stored, NOT swapped for EXIF orientation;
            None when ``error`` is set.
        exif_orientation: EXIF orientation 1..8 (6 and 8 mean a viewer shows the image
            rotated by 90°, so displayed width/height are swapped), None when absent or
            unreadable. Read for JPEG, TIFF and HEIF/AVIF (``irot`` mapped to EXIF values).
        bytes_downloaded: body bytes received over all requests.
        requests: S3 requests made (ranged/full GETs, plus the HeadObject confirming an
            empty object).
        error: None on success, else the :class:`ProbeError`.
        error_detail: a human-readable reason when ``error`` is set (S3 error code,
            offsets...), else None.
        unreachable: when ``error`` is ``network`` because no TCP connection to the endpoint
            could be made (``storage_errors.connect_failure``), its reason, e.g.
            ``"EndpointConnectionError: Connection refused"``; else None.
        server_error: when ``error`` is ``network`` because the store answered HTTP 5xx after botocore's
            retries (``storage_errors.server_error``), that answer, e.g. ``"HTTP 503 SlowDown"``; else None.
    """

    bucket: str
    key: str
    etag: str | None
    size_bytes: int | None
    mime_type: str | None
    content_type_hint: str | None
    width: int | None
    height: int | None
    exif_orientation: int | None
    bytes_downloaded: int
    requests: int
    error: ProbeError | None
    error_detail: str | None
    unreachable: str | None = None
    server_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the object was measured (``error`` is None)."""
        return self.error is None


class _Failed(Exception):
    """Internal: ends a probe with a classified failure."""

    def __init__(self, error: ProbeError, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def _classify(error: Exception) -> _Failed | None:
    """Map a botocore exception to a failure class; None for errors that are bugs or bad configuration."""
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        detail = f"{code or 'HTTP error'} (HTTP {status}): {info.get('Message', '')}".rstrip(": ")
        if status == 404 or code in ("NoSuchKey", "NoSuchBucket", "NotFound"):
            return _Failed(ProbeError.MISSING, detail)
        if status in (401, 403) or code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return _Failed(ProbeError.ACCESS_DENIED, detail)
        if status == 412 or code == "PreconditionFailed":
            return _Failed(ProbeError.NETWORK, f"object changed while being probed (If-Match failed): {detail}")
        return _Failed(ProbeError.NETWORK, detail)
    if isinstance(error, (BotoConnectionError, HTTPClientError, IncompleteReadError)):
        # Connection refused/reset, DNS, TLS, connect/read timeouts, truncated bodies.
        return _Failed(ProbeError.NETWORK, f"{type(error).__name__}: {error}")
    return None


def classify_storage_error(error: Exception) -> tuple[ProbeError, str] | None:
    """The failure class and a one-line detail of an S3 error, as the prober records them.

    Args:
        error: an exception raised by a boto3 S3 call.

    Returns:
        ``(ProbeError.MISSING | ACCESS_DENIED | NETWORK, detail)``, e.g.
        ``(ProbeError.MISSING, "NoSuchKey (HTTP 404): The specified key does not exist.")``;
        None for errors that are bugs or bad configuration (they should propagate).
    """
    failed = _classify(error)
    return (failed.error, failed.detail) if failed is not None else None


def _is_invalid_range(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 416 or error.response.get("Error", {}).get("Code") == "InvalidRange"


class _Reader:
    """GETs for one probe, counting requests and bytes; botocore errors become :class:`_Failed`."""

    def __init__(self, client: BaseClient, ref: ObjectRef) -> None:
        self.client = client
        self.ref = ref
        self.requests = 0
        self.bytes_downloaded = 0
        self.etag: str | None = None
        self.size: int | None = None
        self.content_type: str | None = None
        self.mime_type: str | None = None

    def _call(self, method: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        self.requests += 1
        try:
            return method(Bucket=self.ref.bucket, Key=self.ref.key, **kwargs)
        except Exception as error:
            configuration = storage_configuration_error(error, self.client, self.ref.bucket)
            if configuration is not None:
                raise configuration from error
            failure = _classify(error)
            if failure is None:
                raise
            raise failure from error

    def _read_body(self, response: dict[str, Any], limit: int | None) -> bytes:
        body = response["Body"]
        try:
            data = body.read(limit) if limit is not None else body.read()
        except Exception as error:
            failure = _classify(error)
            if failure is None:
                raise
            raise failure from error
        finally:
            # After a complete read the connection is already back in the pool; after a
            # partial one (a store ignoring Range) close() drops it instead of draining.
            body.close()
        self.bytes_downloaded += len(data)
        return data

    def _remember(self, response: dict[str, Any]) -> None:
        etag = response.get("ETag")
        if etag:
            self.etag = etag.strip('"')
        if response.get("ContentType") and self.content_type is None:
            self.content_type = response["ContentType"]

    def get_range(self, start: int, length: int, *, first: bool = False) -> bytes:
        """Bytes [start, start+length) (fewer at the end of the object); sets ``size`` from Content-Range."""
        kwargs: dict[str, Any] = {"Range": f"bytes={start}-{start + length - 1}"}
        if not first and self.etag:
            kwargs["IfMatch"] = f'"{self.etag}"'  # every later range must come from the same object version
        response = self._call(self.client.get_object, **kwargs)
        self._remember(response)
        content_range = response.get("ContentRange")
        if content_range:
            match = _CONTENT_RANGE.match(content_range.strip())
            if match is None:
                response["Body"].close()
                raise _Failed(ProbeError.NETWORK, f"unparseable Content-Range {content_range!r}")
            range_start, range_end, total = (int(group) for group in match.groups())
            data = self._read_body(response, length)
            if range_start != start or len(data) != range_end - range_start + 1:
                raise _Failed(
                    ProbeError.NETWORK,
                    f"asked for bytes {start}-{start + length - 1}, got {content_range!r} with {len(data)} body bytes",
                )
            self.size = total
            return data
        # 200 without Content-Range: the store sent the whole object (it ignores Range, or
        # answers so for small objects); read no further than the range asked for.
        total = int(response.get("ContentLength", 0))
        data = self._read_body(response, start + length)
        if len(data) != min(start + length, total):
            raise _Failed(ProbeError.NETWORK, f"short read: {len(data)} of {min(start + length, total)} bytes")
        self.size = total
        return data[start:]

    def get_full(self) -> bytes:
        """The whole object (If-Match the ETag seen so far)."""
        kwargs: dict[str, Any] = {"IfMatch": f'"{self.etag}"'} if self.etag else {}
        response = self._call(self.client.get_object, **kwargs)
        self._remember(response)
        data = self._read_body(response, None)
        self.size = len(data)
        return data

    def head_size(self) -> int:
        """Object size from a HeadObject (used only after a 416 on the first range)."""
        response = self._call(self.client.head_object)
        self._remember(response)
        self.size = int(response.get("ContentLength", 0))
        return self.size

    def result(
        self, measured: tuple[int, int, int | None] | None = None, failure: _Failed | None = None
    ) -> ProbeResult:
        width, height, orientation = measured if measured is not None else (None, None, None)
        return ProbeResult(
            bucket=self.ref.bucket,
            key=self.ref.key,
            etag=self.etag,
            size_bytes=self.size,
            mime_type=self.mime_type,
            content_type_hint=self.content_type,
            width=width,
            height=height,
            exif_orientation=orientation,
            bytes_downloaded=self.bytes_downloaded,
            requests=self.requests,
            error=failure.error if failure is not None else None,
            error_detail=failure.detail if failure is not None else None,
            unreachable=connect_failure(failure.__cause__) if failure is not None else None,
            server_error=server_error(failure.__cause__) if failure is not None else None,
        )


def probe_object(
    client: BaseClient,
    ref: ObjectRef,
    *,
    first_range: int = FIRST_RANGE_BYTES,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_full_bytes: int = MAX_FULL_BYTES,
) -> ProbeResult:
    """Probe one object: real type, pixel size as stored, EXIF orientation, size and ETag.

    Args:
        client: an S3 client (see ``storage.s3_client``); thread-safe, may be shared.
        ref: the object.
        first_range: bytes asked for by the first ranged GET (>= 64); 64 KiB holds the
            size header of nearly every image.
        max_header_bytes: budget (bytes, >= ``first_range``) downloaded by ranged GETs while
            walking a JPEG's segments towards its SOF marker, each follow-up GET fetching
            16 KiB (:data:`NEXT_RANGE_BYTES`) at the exact offset of the next segment header.
        max_full_bytes: objects up to this many bytes are downloaded whole when ranged reads
            did not find the size (non-JPEG formats with late headers, such as a TIFF
            whose IFD is at the end, or a JPEG past the budget); larger ones fail as
            ``too_large``.

    Returns:
        A :class:`ProbeResult`. The ordinary case costs one request of at most
        ``first_range`` bytes. Failures are classified in ``error`` (see :class:`ProbeError`)
        and never raised.

    Raises:
        ValueError: arguments out of range.
        botocore.exceptions.NoCredentialsError and other non-HTTP botocore errors:
            configuration problems that would fail every object.
        StorageConfigurationError: the bucket does not exist (``NoSuchBucket``) or the store
            rejects the credentials (``InvalidAccessKeyId``, ``SignatureDoesNotMatch``,
            ``ExpiredToken``, ``InvalidToken``, ``TokenRefreshRequired``).

    Rules: the total size comes from ``Content-Range: bytes 0-65535/TOTAL`` (no HeadObject);
    a 200 answer without Content-Range is the whole object (size = ContentLength). A 416
    ``InvalidRange`` on ``bytes=0-...`` means a 0-byte object on S3, R2 and moto; one
    HeadObject confirms it. Follow-up reads send ``If-Match`` with the first ETag, so
    measurements never mix two versions of an object.
    """
    _check_limits(first_range, max_header_bytes, max_full_bytes)
    reader = _Reader(client, ref)
    try:
        head = _first_range(reader, first_range, max_full_bytes)
        total = reader.size if reader.size is not None else len(head)
        if total == 0:
            raise _Failed(ProbeError.EMPTY, "0-byte object")
        reader.mime_type = sniff_image_type(head[:64])
        if reader.mime_type is None:
            raise _Failed(ProbeError.NOT_IMAGE, f"no image signature in the first bytes: {head[:24]!r}")
        return reader.result(_measure_object(reader, head, total, max_header_bytes, max_full_bytes))
    except _Failed as failure:
        return reader.result(failure=failure)


def _check_limits(first_range: int, max_header_bytes: int, max_full_bytes: int) -> None:
    """Raise ValueError when :func:`probe_object`'s byte limits are out of range."""
    if first_range < 64:
        raise ValueError(f"first_range must be >= 64 bytes, got {first_range}")
    if max_header_bytes < first_range:
        raise ValueError(f"max_header_bytes ({max_header_bytes}) must be >= first_range ({first_range})")
    if max_full_bytes < 0:
        raise ValueError(f"max_full_bytes must be >= 0, got {max_full_bytes}")


def _first_range(reader: _Reader, first_range: int, max_full_bytes: int) -> bytes:
    """The object's first bytes; a 416 fails as ``empty`` on a 0-byte object, else reads the object whole."""
    try:
        return reader.get_range(0, first_range, first=True)
    except _Failed as failure:
        cause = failure.__cause__
        if not (isinstance(cause, ClientError) and _is_invalid_range(cause)):
            raise
        if reader.head_size() == 0:
            raise _Failed(ProbeError.EMPTY, "0-byte object") from None
        # A store refusing a range that starts at byte 0 of a non-empty object: read it whole.
        return _full_or_too_large(reader, max_full_bytes, "the store refused a ranged GET")


def _measure_object(
    reader: _Reader, head: bytes, total: int, max_header_bytes: int, max_full_bytes: int
) -> tuple[int, int, int | None]:
    """(width, height, orientation) from the first bytes, else a JPEG's segment headers, else the whole object."""
    measured = measure_image(head, complete=len(head) >= total)
    if measured is not None:
        return measured
    if len(head) >= total:
        raise _Failed(ProbeError.CORRUPT, f"{reader.mime_type} of {total} bytes: dimensions unreadable")

    if reader.mime_type == "image/jpeg":
        measured = _measure_jpeg_header(reader, head, total, max_header_bytes)
        if measured is not None:
            return measured

    data = _full_or_too_large(
        reader, max_full_bytes, f"size header not found within {reader.bytes_downloaded} bytes of ranged reads"
    )
    measured = measure_image(data, complete=True)
    if measured is None:
        raise _Failed(ProbeError.CORRUPT, f"{reader.mime_type} of {len(data)} bytes: dimensions unreadable")
    return measured


def _measure_jpeg_header(
    reader: _Reader, head: bytes, total: int, max_header_bytes: int
) -> tuple[int, int, int | None] | None:
    """A JPEG's size from its segments up to the SOF, fetched within the budget; None when the walk gave up."""
    try:
        header = jpeg_header(reader, head, total, budget=max_header_bytes, chunk=NEXT_RANGE_BYTES)
    except CorruptJpeg as error:
        raise _Failed(ProbeError.CORRUPT, str(error)) from None
    if header is None:
        return None
    measured = measure_image(header, complete=False)
    if measured is None:
        raise _Failed(ProbeError.CORRUPT, f"JPEG SOF segment unreadable (header of {len(header)} bytes)")
    return measured


def _full_or_too_large(reader: _Reader, max_full_bytes: int, why: str) -> bytes:
    if reader.size is not None and reader.size > max_full_bytes:
        raise _Failed(
            ProbeError.TOO_LARGE, f"{why}; object of {reader.size} bytes exceeds max_full_bytes={max_full_bytes}"
        )
    return reader.get_full()


def naive_probe(client: BaseClient, ref: ObjectRef) -> ProbeResult:
    """Baseline for the benchmark: download the whole object, then ``PIL.Image.open`` it.

    Args:
        client: an S3 client; ref: the object.

    Returns:
        A :class:`ProbeResult` like :func:`probe_object`'s (``requests`` == 1,
        ``bytes_downloaded`` == the object size), with the MIME type from Pillow's format
        (MPO reported as ``image/jpeg``). Formats Pillow cannot open (HEIC without a
        plugin) come back as ``corrupt`` when their signature is known, else ``not_image``.
        Never ``too_large``: it downloads whatever is there.

    Raises:
        Same as :func:`probe_object` (configuration errors only).
    """
    reader = _Reader(client, ref)
    try:
        data = reader.get_full()
        if not data:
            raise _Failed(ProbeError.EMPTY, "0-byte object")
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                image_format = image.format or ""
                orientation = image.getexif().get(EXIF_ORIENTATION_TAG)
        except Exception as error:  # noqa: BLE001 - Pillow raises many types on bad bytes
            reader.mime_type = sniff_image_type(data[:64])
            kind = ProbeError.CORRUPT if reader.mime_type else ProbeError.NOT_IMAGE
            raise _Failed(kind, f"Pillow cannot open it: {error}") from None
        reader.mime_type = "image/jpeg" if image_format == "MPO" else Image.MIME.get(image_format)
        valid_orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None
        return reader.result((width, height, valid_orientation))
    except _Failed as failure:
        return reader.result(failure=failure)


def probe_many(
    client: BaseClient,
    refs: Iterable[ObjectRef],
    *,
    concurrency: int = 32,
    progress: Callable[[ProbeResult], object] | None = None,
    probe: Callable[[BaseClient, ObjectRef], ProbeResult] = probe_object,
) -> Iterator[ProbeResult]:
    """Probe many objects on a thread pool; yield results in completion order.

    Args:
        client: one shared S3 client; its ``max_pool_connections`` must be >= ``concurrency``
            (``storage.s3_client(max_pool_connections=...)``).
        refs: the objects, any iterable (a generator over millions is fine: at most
            ``2 * concurrency`` are in flight or waiting, so memory stays flat).
        concurrency: worker threads (>= 1); each waits on one HTTP request at a time.
        progress: called with each result in the consuming thread just before it is
            yielded (e.g. to advance a progress bar); must not raise.
        probe: the per-object function, :func:`probe_object` by default
            (:func:`naive_probe` for the benchmark).

    Returns:
        An iterator of :class:`ProbeResult`, exactly one per ref, in completion order (match
        them by ``bucket``/``key``). Closing it early cancels the refs not started yet and
        waits for the running ones.

    Raises:
        ValueError: ``concurrency`` < 1 or larger than the client's connection pool.
        Exceptions raised by ``probe`` itself (programming/configuration errors) propagate.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    pool_size = getattr(client.meta.config, "max_pool_connections", None)
    if pool_size is not None and pool_size < concurrency:
        raise ValueError(
            f"concurrency={concurrency} exceeds the client's max_pool_connections={pool_size}; "
            "build the client with s3_client(max_pool_connections>=concurrency)"
        )

    pending_refs = iter(refs)
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe")
    in_flight: set[Future[ProbeResult]] = set()
    try:
        for ref in itertools.islice(pending_refs, 2 * concurrency):
            in_flight.add(executor.submit(probe, client, ref))
        while in_flight:
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for ref in itertools.islice(pending_refs, len(done)):
                in_flight.add(executor.submit(probe, client, ref))
            for future in done:
                result = future.result()
                if progress is not None:
                    progress(result)
                yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
