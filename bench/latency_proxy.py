"""A tiny TCP proxy that adds network latency (and optionally a bandwidth cap) in front of a local server.

Each HTTP request waits ``latency`` seconds in the proxy before it is forwarded:
the proxy delays the first bytes a client sends after the previous response
began (HTTP/1.1 keep-alive connections carry one request at a time), so every
request/response exchange costs one extra ``latency``, like a round trip to a
remote object store. With ``bandwidth`` set, responses share one link of that
many bytes per second. Nothing in boto3 or in the server is patched.

:func:`serve_store` runs moto's ``ThreadedMotoServer`` and the proxy in a child
process, so the store and the client under test do not share a GIL.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

_CHUNK = 65_536


class _Link:
    """A shared link of ``bytes_per_second``: each chunk reserves its transfer time, in order."""

    def __init__(self, bytes_per_second: float) -> None:
        self.bytes_per_second = bytes_per_second
        self._lock = threading.Lock()
        self._free_at = 0.0

    def wait(self, size: int) -> None:
        """Sleep until ``size`` bytes have had time to cross the link."""
        with self._lock:
            start = max(time.monotonic(), self._free_at)
            self._free_at = start + size / self.bytes_per_second
            until = self._free_at
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class LatencyProxy:
    """Forwards TCP connections on ``127.0.0.1:<port>`` to ``upstream``, delaying each request.

    Args:
        upstream: (host, port) of the real server.
        latency: seconds added to every request (0 for none).
        bandwidth: bytes per second of the shared response link, None for unlimited.
    """

    def __init__(self, upstream: tuple[str, int], *, latency: float, bandwidth: float | None = None) -> None:
        self.upstream = upstream
        self.latency = latency
        self._link = _Link(bandwidth) if bandwidth else None
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()

    def start(self) -> LatencyProxy:
        """Accept connections on a daemon thread; returns self."""
        threading.Thread(target=self._accept, daemon=True, name="latency-proxy").start()
        return self

    def stop(self) -> None:
        """Stop accepting connections (open ones end with their peers)."""
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        awaiting_request = threading.Event()
        awaiting_request.set()
        responses = threading.Thread(target=self._responses, args=(upstream, client, awaiting_request), daemon=True)
        responses.start()
        self._requests(client, upstream, awaiting_request)
        responses.join()
        client.close()
        upstream.close()

    def _requests(self, client: socket.socket, upstream: socket.socket, awaiting_request: threading.Event) -> None:
        """Client → server: the first chunk of each request waits ``latency``."""
        try:
            while chunk := client.recv(_CHUNK):
                if awaiting_request.is_set():
                    awaiting_request.clear()
                    if self.latency:
                        time.sleep(self.latency)
                upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            _shutdown(upstream)

    def _responses(self, upstream: socket.socket, client: socket.socket, awaiting_request: threading.Event) -> None:
        """Server → client: through the shared link when capped; marks the connection ready for the next request."""
        try:
            while chunk := upstream.recv(_CHUNK):
                awaiting_request.set()
                if self._link is not None:
                    self._link.wait(len(chunk))
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            _shutdown(client)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve_store(ready: Queue, stop: Event, latency: float, bandwidth: float | None) -> None:
    """Child-process entry point: moto's S3 on a free port, the proxy in front.

    ``ready`` gets ``(moto_url, proxy_url)``.

    Runs until ``stop`` is set.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    proxy = LatencyProxy((host, port), latency=latency, bandwidth=bandwidth).start()
    ready.put((f"http://{host}:{port}", f"http://127.0.0.1:{proxy.port}"))
    stop.wait()
    proxy.stop()
    server.stop()
