"""Binding, starting and stopping a server: one threading HTTP server (a daemon thread per
connection), port 0 for a free port, and a stop that waits for the requests in flight."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any, Self, TypeVar

from regurgitate.errors import ConfigError
from regurgitate.serving.exposure import check_exposure
from regurgitate.serving.handler import JSONHandler

log = logging.getLogger("regurgitate.serving")

#: seconds :meth:`Server.stop` waits for the requests in flight to be answered
STOP_TIMEOUT_S = 10.0


class ServingHTTPServer(ThreadingHTTPServer):
    """The socket server under :class:`Server`: what handlers reach as ``self.server``."""

    daemon_threads = True
    allow_reuse_address = True
    #: connections waiting to be accepted (socketserver's default, 5, drops the SYNs of a
    #: burst of clients: each then waits a second for its retransmission)
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[JSONHandler], *,
                 app: Any, api_key: str | None, family: socket.AddressFamily) -> None:
        self.address_family = family
        super().__init__(address, handler)
        self.app = app
        self.api_key = api_key
        self._open: set[socket.socket] = set()
        self._idle = threading.Condition()
        #: connections accepted so far (a keep-alive client reuses one for many requests)
        self.accepted = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._open.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self._idle:
                self._open.discard(request)
                self._idle.notify_all()

    @property
    def open_connections(self) -> int:
        with self._idle:
            return len(self._open)

    def close_connections(self, timeout: float) -> bool:
        """End every connection once its request in flight is answered (idle keep-alive
        connections at once); True when all ended within ``timeout`` seconds."""
        with self._idle:
            for conn in list(self._open):
                # no more requests: a handler waiting for one sees the end of the stream;
                # one answering a request still writes its answer
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RD)
            return self._idle.wait_for(lambda: not self._open, timeout)


def _family(host: str) -> socket.AddressFamily:
    try:
        return (socket.AF_INET6 if ipaddress.ip_address(host).version == 6
                else socket.AF_INET)
    except ValueError:
        return socket.AF_INET  # a name ("localhost") or "" (every IPv4 address)


class Server:
    """A bound server: :meth:`start` serves in a background thread (tests, embedding),
    :meth:`serve_forever` in the calling thread (commands; Ctrl-C stops it); :meth:`stop`
    ends both. ``port`` is the bound port (useful after ``port=0``)."""

    def __init__(self, httpd: ServingHTTPServer, *, insecure_no_auth: bool = False,
                 serves: str = "this server", on_start: Callable[[], None] | None = None,
                 on_stop: Callable[[], None] | None = None) -> None:
        self.httpd = httpd
        self.insecure_no_auth = insecure_no_auth
        self.serves = serves
        self._on_start = on_start
        self._on_stop = on_stop
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (no trailing slash; an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def requires_key(self) -> bool:
        return self.httpd.api_key is not None

    @property
    def app(self) -> Any:
        return self.httpd.app

    def _starting(self) -> None:
        self._serving = True
        if self.insecure_no_auth:
            log.warning("warning: --insecure-no-auth: %s serves %s to anyone who reaches it, "
                        "with no API key", self.base_url, self.serves)
        if self._on_start is not None:
            self._on_start()

    def start(self) -> Self:
        """Serve in a background (daemon) thread; returns self."""
        if self._thread is None:
            self._starting()
            self._thread = threading.Thread(target=self.httpd.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name=f"serve-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (KeyboardInterrupt propagates),
        stopped by SIGTERM (in the main thread: it returns, like :meth:`stop`) or by
        :meth:`stop` from another thread; closes the server on the way out."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            def on_sigterm(signum: int, frame: object) -> None:
                # shutdown() waits for this thread's serving loop: ask from another thread
                threading.Thread(target=self.httpd.shutdown, daemon=True).start()

            previous = signal.signal(signal.SIGTERM, on_sigterm)
        self._starting()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self._close()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop accepting, let the requests in flight finish (up to ``timeout`` seconds),
        close every connection and the listening socket. Idempotent."""
        if self._serving:
            self._serving = False
            self.httpd.shutdown()  # returns once the serving loop has ended
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        self._close(timeout)

    def _close(self, timeout: float = STOP_TIMEOUT_S) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._serving = False
        self.httpd.server_close()
        if not self.httpd.close_connections(timeout):
            log.warning("%s: requests still running after %.0f s; left to finish",
                        self.base_url, timeout)
        if self._on_stop is not None:
            self._on_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


S = TypeVar("S", bound=Server)


def bind_server(handler: type[JSONHandler], host: str = "127.0.0.1", port: int = 0, *,
                app: Any = None, api_key: str | None = None, insecure_no_auth: bool = False,
                serves: str = "this server", on_start: Callable[[], None] | None = None,
                on_stop: Callable[[], None] | None = None,
                server_class: type[S] = Server) -> S:  # type: ignore[assignment]
    """A server bound to ``host``:``port`` (0: a free port), not yet serving.

    Handlers reach ``app`` as ``self.app``. With ``api_key`` every request needs
    ``Authorization: Bearer <key>`` (else 401). A host beyond loopback needs a key or
    ``insecure_no_auth`` (checked before binding; ``serves`` names what is exposed in the
    messages). ``on_start``/``on_stop`` run when serving starts and after it stopped.
    ``server_class``: a subclass of :class:`Server` to return (with a server's own
    properties). A port that cannot be bound is a ConfigError."""
    check_exposure(host, api_key, insecure_no_auth=insecure_no_auth, serves=serves)
    bind_host = host.strip().strip("[]")
    try:
        httpd = ServingHTTPServer((bind_host, port), handler, app=app, api_key=api_key,
                                  family=_family(bind_host))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None
    return server_class(httpd, insecure_no_auth=insecure_no_auth, serves=serves,
                  on_start=on_start, on_stop=on_stop)
