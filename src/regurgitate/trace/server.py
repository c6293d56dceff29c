"""The trace page's HTTP server: the routes of :mod:`regurgitate.trace.api` over a
threading stdlib server.

It binds 127.0.0.1 unless told otherwise; beyond loopback it refuses to start without an
API key, and with a key every ``/api/`` request must carry ``Authorization: Bearer KEY``
(the page asks for the key once and keeps it for the tab). Bodies over the limit are
refused before they are read.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from regurgitate.api_keys import bearer_matches
from regurgitate.errors import ConfigError
from regurgitate.trace.api import Response, TraceApp, error, handle, too_large

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(resp.body)

    def _serve(self, method: str) -> None:
        app = self.server.app
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.server.api_key is not None and self.path.startswith("/api/") and \
                not bearer_matches(headers.get("authorization"), self.server.api_key):
            self.close_connection = True
            self._send(error(401, "this server needs its API key: enter it on the page "
                                  "(sent as Authorization: Bearer KEY)"))
            return
        body = b""
        if method == "POST":
            try:
                size = int(headers.get("content-length", "0"))
            except ValueError:
                size = -1
            if size < 0:
                self.close_connection = True
                self._send(error(400, "bad Content-Length"))
                return
            if size > app.max_body_bytes:
                self.close_connection = True  # the body is never read
                self._send(too_large(app, size))
                return
            body = self.rfile.read(size)
        self._send(handle(app, method, self.path, headers, body))

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: TraceApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key
        super().__init__(address, _Handler)


class TraceServer:
    """The page served on ``host:port`` (port 0 picks a free one) in a background thread
    (:meth:`start`) or the foreground (:meth:`serve_forever`)."""

    def __init__(self, app: TraceApp, host: str = "127.0.0.1", port: int = 0,
                 api_key: str | None = None) -> None:
        if not is_loopback(host) and api_key is None:
            raise ConfigError(f"refusing to serve the trace page on {host} without an API key",
                              hint="pass --api-key-env VAR or --api-key-file FILE, or bind "
                                   "127.0.0.1")
        try:
            self._server = _Server((host, port), app, api_key)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def start(self) -> TraceServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="trace-server")
        self._thread.start()
        return self

    def serve_forever(self, ready: Callable[[str], None] = lambda url: None) -> None:
        ready(self.url)
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> TraceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
