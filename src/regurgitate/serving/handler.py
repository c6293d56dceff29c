"""The request handler every regurgitate server derives from: JSON in and out over HTTP/1.1
keep-alive, the bearer-key check, the body limit and one way to answer errors.

A subclass implements :meth:`JSONHandler.on_get` and/or :meth:`JSONHandler.on_post` and
answers with :meth:`JSONHandler.send_json` (or :meth:`JSONHandler.send_json_error`); by the
time either runs the request is authorized and a POST's body is read and parsed. A server
whose clients expect another error shape overrides :meth:`JSONHandler.error_body`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from regurgitate.serving.keys import bearer_matches

if TYPE_CHECKING:
    from regurgitate.serving.server import ServingHTTPServer

log = logging.getLogger("regurgitate.serving")

#: the largest request body any server accepts (413 above it); an index batch of 512 queries
#: of 10,000 token ids fits
MAX_BODY_BYTES = 32 << 20
#: seconds a connection may sit silent (mid-request, or idle between keep-alive requests)
#: before the server closes it; the time a handler takes to answer is not limited
SOCKET_TIMEOUT_S = 60.0

#: error kinds (the ``type`` of the default error body)
INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
SERVER_ERROR = "server_error"


class _NoBody:
    """What :meth:`JSONHandler.read_json` returns when it has already answered (an error)."""

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


class JSONHandler(BaseHTTPRequestHandler):
    """Base class of the servers' request handlers (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without this, Nagle's algorithm holds the body
    # until the client's delayed ACK (~40 ms per request on keep-alive connections)
    disable_nagle_algorithm = True
    timeout = SOCKET_TIMEOUT_S
    max_body_bytes = MAX_BODY_BYTES
    #: the realm named in a 401's ``WWW-Authenticate`` header
    auth_realm = "regurgitate"
    server: ServingHTTPServer
    _answered = False

    # -- for subclasses ---------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """What :func:`~regurgitate.serving.server.bind_server` was given as ``app``."""
        return self.server.app

    def on_get(self) -> None:
        """Answer an authorized GET (default: 405)."""
        self.send_json_error(405, f"{self.command} is not served here")

    def on_post(self, body: Any) -> None:
        """Answer an authorized POST whose body parsed as ``body`` (default: 405)."""
        self.send_json_error(405, f"{self.command} is not served here")

    def error_body(self, status: int, message: str, kind: str) -> Any:
        """The JSON of an error answer. Default: ``{"error": {"message", "type"}}`` (the
        OpenAI shape); a server whose clients expect another shape overrides this."""
        return {"error": {"message": message, "type": kind}}

    # -- answering --------------------------------------------------------------------------

    def send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None
                  ) -> None:
        self.send_bytes(status, json.dumps(obj).encode("utf-8"), headers=headers)

    def send_json_error(self, status: int, message: str, kind: str | None = None,
                        headers: Mapping[str, str] | None = None) -> None:
        if kind is None:
            kind = SERVER_ERROR if status >= 500 else INVALID_REQUEST
        self.send_json(status, self.error_body(status, message, kind), headers)

    def send_bytes(self, status: int, data: bytes, content_type: str = "application/json",
                   headers: Mapping[str, str] | None = None) -> None:
        """One whole answer with its length (so the connection can be kept alive)."""
        self._answered = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, an unknown method, ...), in
        the server's JSON error shape."""
        self.close_connection = True
        try:
            default = HTTPStatus(code).phrase
        except ValueError:
            default = "error"
        if code < 200 or code in (204, 304) or self.command == "HEAD":
            self.send_response(code, message)
            self.send_header("Connection", "close")
            self.end_headers()
            return
        self.send_json_error(code, message or default)

    # -- reading ----------------------------------------------------------------------------

    def _content_length(self) -> int | None:
        """The declared body length; None when it is malformed or the body is chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return length if length >= 0 else None

    def read_body(self) -> bytes | None:
        """The request's body (b"" when none); None after answering 411/413 (the connection
        is then closed: its body stays unread)."""
        length = self._content_length()
        if length is None:
            self.close_connection = True
            self.send_json_error(411, "a body needs a valid Content-Length (chunked bodies "
                                      "are not accepted)")
            return None
        if length > self.max_body_bytes:
            self.close_connection = True
            self.send_json_error(413, f"the request body is {length} bytes; this server "
                                      f"accepts at most {self.max_body_bytes}")
            return None
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True
            return None
        return data

    def read_json(self) -> Any:
        """The request's body parsed as JSON, or :data:`NO_BODY` after answering the error
        (400 no body or not JSON, 411, 413)."""
        data = self.read_body()
        if data is None:
            return NO_BODY
        if not data:
            self.send_json_error(400, "the request needs a JSON body")
            return NO_BODY
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self.send_json_error(400, "the request body is not valid JSON")
            return NO_BODY

    def _drain(self) -> bool:
        """Skip the request's body (so the connection can serve the next request)."""
        length = self._content_length()
        if length is None or length > self.max_body_bytes:
            return False
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return False
            length -= len(chunk)
        return True

    def authorized(self) -> bool:
        """True when the server needs no key or the request carries it; else answers 401
        (constant-time comparison; the key never appears in an answer or a log)."""
        key = self.server.api_key
        if key is None or bearer_matches(self.headers.get("Authorization"), key):
            return True
        if not self._drain():  # a body it cannot skip: the connection ends here
            self.close_connection = True
        self.send_json_error(
            401, "this server needs 'Authorization: Bearer <key>' with its API key",
            AUTHENTICATION, {"WWW-Authenticate": f'Bearer realm="{self.auth_realm}"'})
        return False

    # -- dispatch ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._answered = False
        if self.authorized():
            self._run(self.on_get)

    def do_POST(self) -> None:
        self._answered = False
        if not self.authorized():
            return
        body = self.read_json()
        if body is not NO_BODY:
            self._run(lambda: self.on_post(body))

    def _run(self, answer: Callable[[], None]) -> None:
        try:
            answer()
        except Exception as exc:  # never kill the connection's thread on a bad request
            log.error("%s %s failed: %s", self.command, self.path.split("?")[0],
                      type(exc).__name__)
            log.debug("the failure", exc_info=True)
            if self._answered:  # part of an answer went out: the connection is unusable
                self.close_connection = True
            else:
                self.send_json_error(500, f"internal server error: {type(exc).__name__}")

    def log_message(self, format: str, *args: Any) -> None:
        # request lines only, at debug level; bodies (possibly model output) are never logged
        log.debug("%s %s", self.address_string(), format % args)
