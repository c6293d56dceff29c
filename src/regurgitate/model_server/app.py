"""An OpenAI-compatible HTTP server over a local Hugging Face model (stdlib only).

Endpoints: ``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions``
(non-streaming, ``logprobs`` supported). Parameters the server cannot honour (``n`` > 1,
``stream``, ``stop``, tools, ...) get a 400 with a message, never silence; the repetition
controls (frequency/presence/repetition penalty, ``min_tokens``) are honoured.
Concurrent requests are batched through one
:class:`~regurgitate.model_server.batcher.Batcher` in front of one target. With a
:class:`~regurgitate.model_server.faults.FaultPlan` the server misbehaves on purpose, for testing
clients. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from regurgitate.api_keys import bearer_matches, read_api_key
from regurgitate.errors import ConfigError, RegurgitateError
from regurgitate.model_server import protocol
from regurgitate.model_server.batcher import Batcher
from regurgitate.model_server.faults import FaultInjector, FaultPlan
from regurgitate.targets.base import Target

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024


class _App:
    """What the request handlers share: the batcher, faults, model name and optional key."""

    def __init__(self, target: Target, model_name: str, batcher: Batcher,
                 faults: FaultInjector | None, api_key: str | None,
                 any_model: bool = False) -> None:
        self.target = target
        self.model_name = model_name
        #: answer requests for any model name (the only model served answers them)
        self.any_model = any_model
        self.batcher = batcher
        self.faults = faults
        self.api_key = api_key
        self.stats = ServerStats()
        tokenizer = getattr(target, "tokenizer", None)
        if tokenizer is not None:
            self.token_text: Callable[[int], str] = lambda i: tokenizer.decode([i])
        else:
            self.token_text = lambda i: ""


class ServerStats:
    """Counters of generation requests: total, answered 200, and peak in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.ok = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def count_ok(self) -> None:
        with self._lock:
            self.ok += 1


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: _App


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ------------------------------------------------------------------------
    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(obj).encode("utf-8"), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def _authorized(self) -> bool:
        key = self.server.app.api_key
        if key is None:
            return True
        if bearer_matches(self.headers.get("Authorization"), key):
            return True
        self._send_json(401, protocol.error_body("invalid API key", "authentication_error"))
        return False

    def _read_body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(413, protocol.error_body("missing or too large Content-Length"))
            return None
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._send_json(400, protocol.error_body("request body is not valid JSON"))
            return None
        if not isinstance(body, dict):
            self._send_json(400, protocol.error_body("request body must be a JSON object"))
            return None
        return body

    # -- routes --------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, protocol.error_body(f"no route {self.path}"))
            return
        if not self._authorized():
            return
        app = self.server.app
        self._send_json(200, {"object": "list", "data": [
            {"id": app.model_name, "object": "model", "created": 0, "owned_by": "regurgitate"}
        ]})

    def do_POST(self) -> None:
        route = self.path.rstrip("/")
        if route not in ("/v1/completions", "/v1/chat/completions"):
            self.close_connection = True  # its body stays unread: do not reuse the connection
            self._send_json(404, protocol.error_body(f"no route {self.path}"))
            return
        with self.server.app.stats.track():
            self._generate(route)

    def _generate(self, route: str) -> None:
        body = self._read_body()
        if body is None or not self._authorized():
            return
        app = self.server.app
        if app.faults is not None and self._inject(app.faults.next_fault(), app.faults.plan):
            return
        model = body.get("model")
        if model is not None and model != app.model_name and not app.any_model:
            self._send_json(404, protocol.error_body(
                f"model {model!r} not found; this server has {app.model_name!r}",
                "model_not_found"))
            return
        try:
            protocol.check_supported(body, chat=route != "/v1/completions")
            if route == "/v1/completions":
                prompts = protocol.completion_prompts(body)
                if self._overflows(prompts, "prompt"):
                    return
                gens = app.batcher.submit(prompts)
                reply = protocol.completion_response(
                    app.model_name, gens, app.token_text, prompts[0].settings.logprobs)
            else:
                prompt = protocol.chat_prompt(body)
                if self._overflows([prompt], "messages"):
                    return
                gen = app.batcher.submit([prompt])[0]
                gens = [gen]
                reply = protocol.chat_response(
                    app.model_name, gen, app.token_text, prompt.settings.logprobs)
        except ConfigError as exc:
            self._send_json(400, protocol.error_body(str(exc)))
            return
        except RegurgitateError as exc:
            self._send_json(500, protocol.error_body(str(exc), "server_error"))
            return
        failed = [g.error for g in gens if g.error]
        if failed:
            self._send_json(500, protocol.error_body(failed[0], "server_error"))
            return
        app.stats.count_ok()
        self._send_json(200, reply)

    def _overflows(self, prompts: list[Any], part: str) -> bool:
        """Answer vLLM's 400 (and message) when prompt + max_tokens exceeds the model's
        context window; True when it did."""
        app = self.server.app
        window = getattr(app.target, "context_window", None)
        render = getattr(app.target, "render", None)
        tokenizer = getattr(app.target, "tokenizer", None)
        if not window or render is None or tokenizer is None:
            return False
        for prompt in prompts:
            used = len(tokenizer(render(prompt))["input_ids"])
            asked = prompt.settings.max_new_tokens
            if used + asked > window:
                self._send_json(400, protocol.context_error_body(window, used, asked, part))
                return True
        return False

    # -- faults --------------------------------------------------------------------------
    def _inject(self, kind: str | None, plan: FaultPlan) -> bool:
        """Misbehave as ``kind`` says; True when the request is finished (badly)."""
        if kind is None:
            return False
        if kind == "500":
            self._send_json(500, protocol.error_body("injected failure", "server_error"))
        elif kind == "429":
            if plan.retry_after_date:
                when = math.ceil(time.time() + plan.retry_after) + 1
                value = email.utils.formatdate(when, usegmt=True)
            else:
                value = f"{plan.retry_after:g}"
            self._send_json(429, protocol.error_body("injected rate limit", "rate_limit_error"),
                            {"Retry-After": value})
        elif kind == "malformed":
            self._send_raw(200, b'{"choices": [{"text": "trunc')
        elif kind == "stall":
            time.sleep(plan.stall_s)
            self._drop()
        elif kind == "drop":
            self._drop()
        return True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class Server:
    """A running (or ready) server; ``url`` is the OpenAI base URL (ends in ``/v1``)."""

    def __init__(self, httpd: _HTTPServer, batcher: Batcher, faults: FaultInjector | None) -> None:
        self._httpd = httpd
        self._batcher = batcher
        self.faults = faults
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def stats(self) -> ServerStats:
        return self._httpd.app.stats

    @property
    def model_name(self) -> str:
        return self._httpd.app.model_name

    def start(self) -> Server:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._batcher.start()
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name="regurgitate-serve", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C) or stopped."""
        self._batcher.start()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()
            self._batcher.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()
        self._batcher.stop()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(
    model_dir: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    faults: FaultPlan | None = None,
    target: Target | None = None,
    model_name: str | None = None,
    api_key: str | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    any_model: bool = False,
) -> Server:
    """Build (not start) a server over ``model_dir`` or an already loaded ``target``.

    ``port=0`` picks a free port. ``api_key`` set => requests need ``Bearer <key>``.
    ``any_model``: answer a request naming any model (else only ``model_name``; others 404).
    """
    if target is None:
        if model_dir is None:
            raise ConfigError("make_server needs a model directory or a target")
        from regurgitate.targets.hf import HFTarget

        target = HFTarget(model_dir, device=device, batch_size=batch_size)
    name = model_name or (model_dir.rstrip("/").rsplit("/", 1)[-1] if model_dir else target.name)
    try:
        httpd = _HTTPServer((host, port), _Handler)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    batcher = Batcher(target, max_batch=batch_size)
    injector = FaultInjector(faults) if faults is not None else None
    httpd.app = _App(target, name, batcher, injector, api_key, any_model=any_model)
    return Server(httpd, batcher, injector)


def run_server(
    model: str | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    fault_rate: float = 0.0,
    *,
    fault_seed: int = 0,
    api_key_env: str | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    echo: Callable[[str], None] = print,
    model_name: str | None = None,
) -> None:
    """Blocking entry point for ``regurgitate serve``: loads ``model`` (None = the bundled
    reference model), prints the base URL, serves until Ctrl-C. Without ``model_name`` any
    requested model name is answered (so ``?model=my-model`` works as written); with it,
    only that name."""
    if model is None:
        from regurgitate import reference

        model = str(reference.model_dir())
    api_key = read_api_key(api_key_env, required=True)
    faults = FaultPlan(rate=fault_rate, seed=fault_seed) if fault_rate > 0 else None
    server = make_server(model, host, port, faults=faults, api_key=api_key,
                         batch_size=batch_size, device=device, model_name=model_name,
                         any_model=model_name is None)
    names = "any model name" if model_name is None else f"model name {model_name!r}"
    echo(f"serving {server.model_name} at {server.url} for {names}  (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
