"""Storage errors that are the run's, not one object's: they would fail every object alike, so a run stops on the first.

The metadata backfill (:mod:`product_images.metadata.backfill`) and ``labels detect``
(:mod:`product_images.labels.detect.worker`) download object after object; most failures belong to one
object (a missing key, a corrupt file, a read cut short) and are recorded on its row. Two kinds are not:

* :class:`StorageConfigurationError`: the store ANSWERED, with an S3 error code that says the bucket or the
  credentials are wrong (:func:`storage_configuration_error`).
* :class:`StoreUnreachableError`: no TCP connection to the endpoint could be made at all, after botocore's
  retries (:func:`connect_failure`, :func:`store_unreachable_error`).

Both stop the run with exit 2 (the command's configuration-error path): the batch in flight is not written,
its claims are released, every earlier score or measurement stays as it was.
"""

from __future__ import annotations

from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

__all__ = [
    "StorageConfigurationError",
    "StoreUnreachableError",
    "connect_failure",
    "storage_configuration_error",
    "store_unreachable_error",
]

#: S3 error codes that say the bucket or the credentials are wrong, not the object: every object would fail alike.
#: From the S3 API reference, "Error responses" (also R2's): NoSuchBucket (404); InvalidAccessKeyId (403), the
#: access key does not exist; SignatureDoesNotMatch (403), the secret is wrong; ExpiredToken (400), the session
#: token (AWS_SESSION_TOKEN, temporary credentials) has expired; InvalidToken (400), it is malformed or invalid;
#: TokenRefreshRequired (400), it must be refreshed.
_NO_BUCKET_CODES = frozenset({"NoSuchBucket"})
_BAD_CREDENTIALS_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch"})
_BAD_TOKEN_CODES = frozenset({"ExpiredToken", "InvalidToken", "TokenRefreshRequired"})

#: botocore's exceptions for "no TCP connection could be made" (botocore/httpsession.py, URLLib3Session.send):
#: EndpointConnectionError wraps urllib3's NewConnectionError (connection refused, no route to host) and
#: NameResolutionError / socket.gaierror (the host does not resolve); ConnectTimeoutError wraps urllib3's
#: ConnectTimeoutError (no answer to the TCP handshake within ``connect_timeout``). Not here, so one object's
#: failure: ReadTimeoutError, ConnectionClosedError, ResponseStreamingError, IncompleteReadError (a connection
#: made, then cut or silent), SSLError (TLS after the connection) and ProxyConnectionError.
_CONNECT_FAILURES = (EndpointConnectionError, ConnectTimeoutError)


class StorageConfigurationError(Exception):
    """The store refused a request for a reason every object of the bucket shares: fix the configuration.

    Raised (not recorded per object) when S3 answers ``NoSuchBucket`` (the bucket does not exist at this
    endpoint), ``InvalidAccessKeyId`` / ``SignatureDoesNotMatch`` (the access key or the secret is wrong), or
    ``ExpiredToken`` / ``InvalidToken`` / ``TokenRefreshRequired`` (the session token of temporary credentials
    expired or is invalid). The message names the bucket, the endpoint, the S3 error code and the variables to
    check.

    Attributes:
        bucket: the bucket of the request.
        code: the S3 error code.
        what: how the commands name the error ("storage configuration error while probing ...").
    """

    what = "storage configuration error"

    def __init__(self, bucket: str, code: str, endpoint: str | None, message: str | None = None) -> None:
        super().__init__(message or _configuration_message(bucket, code, endpoint))
        self.bucket = bucket
        self.code = code


def _configuration_message(bucket: str, code: str, endpoint: str | None) -> str:
    """What :class:`StorageConfigurationError` says for the S3 error ``code``: bucket, endpoint, what to check."""
    where = f" at {endpoint}" if endpoint else ""
    if code in _NO_BUCKET_CODES:
        return (
            f"bucket {bucket!r} does not exist{where} ({code}): check IMAGE_BUCKET (or the bucket of the "
            "IMAGE_URL_MAP_FILE rule) and AWS_ENDPOINT_URL_S3"
        )
    if code in _BAD_TOKEN_CODES:
        return (
            f"the store rejected the credentials for bucket {bucket!r}{where} ({code}): check AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (session credentials expire: get new ones)"
        )
    return (
        f"the store rejected the credentials for bucket {bucket!r}{where} ({code}): "
        "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


class StoreUnreachableError(StorageConfigurationError):
    """No TCP connection to the store's endpoint could be made, after botocore's retries: every object would fail.

    The rule: botocore's ``EndpointConnectionError`` (connection refused, no route, a host that does not resolve)
    or ``ConnectTimeoutError`` (no answer to the TCP handshake within ``connect_timeout``, 5 s), raised once its
    retries are spent (standard mode: 5 retries; fewer once the client's retry quota is spent), stops the run.
    Connecting does not depend on the object: the connection goes to the endpoint's host and port, the same for
    every key of the bucket (path-style addressing; a bucket's own host otherwise), so when it cannot be made, no
    object can be read. A connection made and then cut, reset or silent (``ReadTimeoutError``,
    ``ConnectionClosedError``, a short body) stays one object's ``network`` failure: a blip must not stop a run.

    Attributes:
        bucket: the bucket of the request.
        code: botocore's exception class name (``EndpointConnectionError``, ``ConnectTimeoutError``).
        what: "storage error" (the store is down or the endpoint wrong, not necessarily a setting).
    """

    what = "storage error"

    def __init__(self, bucket: str, failure: str, endpoint: str | None) -> None:
        code = failure.split(":", 1)[0]
        message = (
            f"cannot connect to the store at {endpoint or 'AWS S3'} ({failure}, after botocore's retries): "
            "check AWS_ENDPOINT_URL_S3 (scheme, host and port) and that the store is up"
        )
        super().__init__(bucket, code, endpoint, message)


def storage_configuration_error(error: Exception, client: BaseClient, bucket: str) -> StorageConfigurationError | None:
    """The :class:`StorageConfigurationError` an S3 error of ``bucket`` stands for, naming ``client``'s endpoint.

    Args:
        error: an exception a boto3 S3 call raised; client: the client that made the call; bucket: its bucket.

    Returns:
        The error for NoSuchBucket, InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken, InvalidToken and
        TokenRefreshRequired (every object would fail alike), else None: an error of the object only (the metadata
        backfill and ``labels detect`` stop on the first, record the others per object). Connection failures are
        :func:`store_unreachable_error`'s.
    """
    if not isinstance(error, ClientError):
        return None
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code not in _NO_BUCKET_CODES | _BAD_CREDENTIALS_CODES | _BAD_TOKEN_CODES:
        return None
    return StorageConfigurationError(bucket, code, getattr(client.meta, "endpoint_url", None))


def connect_failure(error: BaseException | None) -> str | None:
    """Whether ``error`` says no TCP connection to the endpoint could be made (see :class:`StoreUnreachableError`).

    Args:
        error: an exception a boto3 S3 call raised (after botocore's retries), or None.

    Returns:
        ``"<botocore class>: <reason>"``, the reason being the socket error's text, e.g.
        ``"EndpointConnectionError: Connection refused"``, ``"EndpointConnectionError: Name or service not
        known"``, ``"ConnectTimeoutError: timed out"``; None for any other error (one object's failure).
    """
    if not isinstance(error, _CONNECT_FAILURES):
        return None
    reason = str(error)
    cause: BaseException | None = error.kwargs.get("error")
    for _ in range(8):  # urllib3's error, raised from the socket's OSError
        if cause is None or isinstance(cause, OSError):
            break
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError):
        reason = cause.strerror or str(cause)
    return f"{type(error).__name__}: {reason}"


def store_unreachable_error(error: BaseException, client: BaseClient, bucket: str) -> StoreUnreachableError | None:
    """The :class:`StoreUnreachableError` ``error`` stands for, naming ``client``'s endpoint; None when a TCP
    connection was made (or the error is no connection error): then the failure is the object's."""
    failure = connect_failure(error)
    if failure is None:
        return None
    return StoreUnreachableError(bucket, failure, getattr(client.meta, "endpoint_url", None))
