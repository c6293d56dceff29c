"""The trace page's HTTP server: the routes of :mod:`regurgitate.trace.api` on the shared
serving layer (:mod:`regurgitate.serving`).

The layer binds 127.0.0.1 unless told otherwise, refuses a host beyond loopback without an
API key (or ``--insecure-no-auth``), checks the key in constant time and keeps connections
alive. Two things differ from a JSON API, and this handler says so: the page and its own
files (``/``, ``/static/...``: no data in them) load without the key, so that a browser can
open the page and send the key with its requests (``Authorization: Bearer``, typed once
into the page); everything under ``/api/`` needs it. A body over the page's limit gets a
message in the page's words before it is read. Errors are ``{"error": MESSAGE}``.
"""

from __future__ import annotations

from typing import Any

from regurgitate.serving import JSONHandler, Server, bind_server
from regurgitate.trace.api import Response, TraceApp, handle, too_large

#: what the server exposes, for the layer's messages
SERVES = "the trace page (the model and the corpus text)"


class TraceHandler(JSONHandler):
    auth_realm = "regurgitate-trace"

    @property
    def trace(self) -> TraceApp:
        return self.app  # type: ignore[no-any-return]

    def error_body(self, status: int, message: str, kind: str) -> Any:
        return {"error": message}

    def authorized(self) -> bool:
        route = self.path.split("?", 1)[0]
        if self.command == "GET" and not route.startswith("/api/"):
            return True  # the page's own files: the page then sends the key itself
        return super().authorized()

    def read_body(self) -> bytes | None:
        length = self._content_length()
        if length is not None and length > self.trace.max_body_bytes:
            self.close_connection = True  # its body is never read
            self._answer(too_large(self.trace, length))
            return None
        return super().read_body()

    def read_json(self) -> Any:
        # the routes parse (and refuse) bodies themselves, with the page's messages
        data = self.read_body()
        return data if data is not None else None

    def _answer(self, resp: Response) -> None:
        self.send_bytes(resp.status, resp.body, resp.content_type, resp.headers)

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def on_get(self) -> None:
        self._answer(handle(self.trace, "GET", self.path, self._headers(), b""))

    def on_post(self, body: Any) -> None:
        if body is None:  # answered already (411, 413)
            return
        self._answer(handle(self.trace, "POST", self.path, self._headers(), body))


def bind_trace_server(app: TraceApp, host: str = "127.0.0.1", port: int = 0, *,
                      api_key: str | None = None, insecure_no_auth: bool = False) -> Server:
    """The page bound to ``host:port`` (0: a free port), not yet serving: ``start()`` in a
    thread (tests) or ``serve_forever()`` (the command). ConfigError beyond loopback with no
    key and no ``insecure_no_auth``, or for a port that cannot be bound."""
    return bind_server(TraceHandler, host, port, app=app, api_key=api_key,
                       insecure_no_auth=insecure_no_auth, serves=SERVES)

