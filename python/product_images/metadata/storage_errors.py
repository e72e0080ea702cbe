"""Storage errors that are the run's, not one object's: they would fail every object alike, so a run stops on the first.

The metadata backfill (:mod:`product_images.metadata.backfill`) and ``labels detect``
(:mod:`product_images.labels.detect.worker`) download object after object; most failures belong to one
object (a missing key, a corrupt file, a read cut short) and are recorded on its row. Two kinds are not:

* :class:`StorageConfigurationError`: the store ANSWERED, with an S3 error code that says the bucket or the
  credentials are wrong (:func:`storage_configuration_error`).
* :class:`StoreUnreachableError`: no TCP connection to the endpoint could be made at all, after botocore's
  retries (:func:`connect_failure`, :func:`store_unreachable_error`).
* :class:`StoreFailingError`: the store answers, but with HTTP 5xx, for :data:`FAILING_OBJECTS_IN_A_ROW` objects
  in a row after botocore's retries (:func:`server_error`, :class:`ServerErrorRun`): an outage, not an object.

All three stop the run with exit 2 (the command's configuration-error path): the batch in flight is not written,
its claims are released, every earlier score or measurement stays as it was.
"""

from __future__ import annotations

import threading

from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

__all__ = [
    "FAILING_OBJECTS_IN_A_ROW",
    "ServerErrorRun",
    "StorageConfigurationError",
    "StoreFailingError",
    "StoreUnreachableError",
    "connect_failure",
    "server_error",
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

#: Objects in a row whose request the store answered with HTTP 5xx, after botocore's retries, that stop a run
#: (:class:`ServerErrorRun`). Each of them already had 6 attempts answered 5xx (standard retry mode, 5 retries, see
#: ``storage.MAX_RETRIES``), so 5 in a row with no other answer in between is some 30 answers 5xx: the store is
#: failing, not one object; fewer would let a short burst of 500s (R2 answers some now and then) stop a
#: millions-object run, more would touch more rows with ``network`` and spend more retries (up to 1.55 s of
#: backoff per object for 500/502/503/504, up to 31 s for a throttling ``SlowDown``) before the run stops.
FAILING_OBJECTS_IN_A_ROW = 5


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


class StoreFailingError(StorageConfigurationError):
    """The store answers HTTP 5xx to object after object, after botocore's retries: it is failing, retry later.

    The rule (:class:`ServerErrorRun`): :data:`FAILING_OBJECTS_IN_A_ROW` objects in a row (in the order their
    requests ended) whose request ended with an HTTP 5xx answer (500 ``InternalError``, 502, 503
    ``ServiceUnavailable`` / ``SlowDown``, 504) once botocore's retries were spent (standard mode, 5 retries:
    6 attempts; fewer once the client's retry quota is spent) stop the run. One object answered 5xx among objects
    answered otherwise stays that object's ``network`` failure.

    Attributes:
        bucket: the bucket of the last request; code: its answer, e.g. ``"HTTP 503 SlowDown"``;
        what: "storage error" (the store is failing, not a setting).
    """

    what = "storage error"

    def __init__(self, bucket: str, answer: str, endpoint: str | None, objects: int) -> None:
        message = (
            f"the store at {endpoint or 'AWS S3'} is failing: {objects} objects in a row of bucket {bucket!r} "
            f"were answered {answer} after botocore's retries: retry later, once the store answers again"
        )
        super().__init__(bucket, answer, endpoint, message)


def server_error(error: BaseException | None) -> str | None:
    """The store's 5xx answer an S3 error stands for, e.g. ``"HTTP 503 SlowDown"``; None for any other error.

    Args:
        error: an exception a boto3 S3 call raised (after botocore's retries), or None.

    Returns:
        ``"HTTP <status> <S3 error code>"`` (the code left out when the body carried none) when ``error`` is a
        ``ClientError`` whose HTTP status is 500..599; None otherwise (4xx answers, transport errors, None).
    """
    if not isinstance(error, ClientError):
        return None
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if not 500 <= status <= 599:
        return None
    code = str(error.response.get("Error", {}).get("Code", ""))
    return f"HTTP {status} {code}" if code and code != str(status) else f"HTTP {status}"


class ServerErrorRun:
    """Counts the objects in a row the store answered 5xx; raises :class:`StoreFailingError` at the threshold.

    One per run (per worker process), shared by its threads (a lock guards the count). Call :meth:`record` once per
    object whose request was made, in the order the requests ended: with its :func:`server_error` when its last
    answer was 5xx (the count goes up), else None (a success or any other failure, a 404 or a dropped connection:
    the count starts again).

    Args:
        endpoint: the client's endpoint (``client.meta.endpoint_url``), None for AWS S3, named in the error.
        threshold: objects in a row that stop the run (>= 1), :data:`FAILING_OBJECTS_IN_A_ROW` by default.
    """

    def __init__(self, endpoint: str | None, threshold: int = FAILING_OBJECTS_IN_A_ROW) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        self.endpoint, self.threshold, self.in_a_row = endpoint, threshold, 0
        self._lock = threading.Lock()

    def record(self, bucket: str, answer: str | None) -> None:
        """Count one object of ``bucket`` whose last answer was the 5xx ``answer`` (None: not a 5xx).

        Raises:
            StoreFailingError: ``answer`` is the ``threshold``-th 5xx in a row, or a later one (threads still
                running when the run stops); its message says ``threshold`` objects.
        """
        with self._lock:
            self.in_a_row = self.in_a_row + 1 if answer is not None else 0
            if answer is not None and self.in_a_row >= self.threshold:
                raise StoreFailingError(bucket, answer, self.endpoint, self.threshold)


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
