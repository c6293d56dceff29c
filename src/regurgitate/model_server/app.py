"""An OpenAI-compatible HTTP server over a local Hugging Face model (stdlib only).

Endpoints: ``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions``
(non-streaming, ``logprobs`` supported). Parameters the server cannot honour (``n`` > 1,
``stream``, ``stop``, tools, ...) get a 400 with a message, never silence; the repetition
controls (frequency/presence/repetition penalty, ``min_tokens``) are honoured.
Concurrent requests are batched through one
:class:`~regurgitate.model_server.batcher.Batcher` in front of one target. With a
:class:`~regurgitate.model_server.faults.FaultPlan` the server misbehaves on purpose, for testing
clients. It binds 127.0.0.1 unless told otherwise, and beyond loopback only with an API key
(or ``insecure_no_auth``); keys, body limit, timeouts and protocol errors are
:mod:`regurgitate.serving`'s, shared with the index server.
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from regurgitate.errors import ConfigError, RegurgitateError
from regurgitate.model_server import protocol
from regurgitate.model_server.batcher import Batcher
from regurgitate.model_server.faults import FaultInjector, FaultPlan
from regurgitate.serving import JSONHandler, bind_server, check_exposure, server_api_key
from regurgitate.serving import Server as HTTPServer
from regurgitate.targets.base import Target

log = logging.getLogger(__name__)


class _App:
    """What the request handlers share: the target, batcher, faults and model name."""

    def __init__(self, target: Target, model_name: str, batcher: Batcher,
                 faults: FaultInjector | None, any_model: bool = False) -> None:
        self.target = target
        self.model_name = model_name
        #: answer requests for any model name (the only model served answers them)
        self.any_model = any_model
        self.batcher = batcher
        self.faults = faults
        self.stats = ServerStats()
        # The request threads count and decode tokens with their own copy of the tokenizer,
        # one at a time: a fast tokenizer is not thread-safe (a call without padding from a
        # request thread, during the batcher's padded call, left rows of unequal length:
        # "expected sequence of length 38 at dim 1 (got 30)", 500s under 16 clients)
        tokenizer = getattr(target, "tokenizer", None)
        self._tokenizer = copy.deepcopy(tokenizer) if tokenizer is not None else None
        self._tokenizer_lock = threading.Lock()

    def token_text(self, token_id: int) -> str:
        if self._tokenizer is None:
            return ""
        with self._tokenizer_lock:
            return str(self._tokenizer.decode([token_id]))

    def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` as the model reads it (None: no tokenizer)."""
        if self._tokenizer is None:
            return None
        with self._tokenizer_lock:
            return len(self._tokenizer(text)["input_ids"])


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


class _Handler(JSONHandler):
    """The OpenAI routes; keys, body limit and errors are the serving layer's."""

    auth_realm = "regurgitate model"

    @property
    def app(self) -> _App:
        return cast(_App, self.server.app)

    def error_body(self, status: int, message: str, kind: str) -> Any:
        return protocol.error_body(message, kind)

    # -- routes --------------------------------------------------------------------------
    def on_get(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self.send_json_error(404, f"no route {self.path}")
            return
        app = self.app
        self.send_json(200, {"object": "list", "data": [
            {"id": app.model_name, "object": "model", "created": 0, "owned_by": "regurgitate"}
        ]})

    def on_post(self, body: Any) -> None:
        route = self.path.rstrip("/")
        if route not in ("/v1/completions", "/v1/chat/completions"):
            self.send_json_error(404, f"no route {self.path}")
            return
        if not isinstance(body, dict):
            self.send_json_error(400, "request body must be a JSON object")
            return
        with self.app.stats.track():
            self._generate(route, body)

    def _generate(self, route: str, body: dict[str, Any]) -> None:
        app = self.app
        if app.faults is not None and self._inject(app.faults.next_fault(), app.faults.plan):
            return
        model = body.get("model")
        if model is not None and model != app.model_name and not app.any_model:
            self.send_json_error(
                404, f"model {model!r} not found; this server has {app.model_name!r}",
                "model_not_found")
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
            self.send_json_error(400, str(exc))
            return
        except RegurgitateError as exc:
            self.send_json_error(500, str(exc))
            return
        failed = [g.error for g in gens if g.error]
        if failed:
            self.send_json_error(500, failed[0])
            return
        app.stats.count_ok()
        self.send_json(200, reply)

    def _overflows(self, prompts: list[Any], part: str) -> bool:
        """Answer vLLM's 400 (and message) when prompt + max_tokens exceeds the model's
        context window; True when it did."""
        app = self.app
        window = getattr(app.target, "context_window", None)
        render = getattr(app.target, "render", None)
        if not window or render is None:
            return False
        for prompt in prompts:
            used = app.count_tokens(render(prompt))
            if used is None:
                return False
            asked = prompt.settings.max_new_tokens
            if used + asked > window:
                self.send_json(400, protocol.context_error_body(window, used, asked, part))
                return True
        return False

    # -- faults --------------------------------------------------------------------------
    def _inject(self, kind: str | None, plan: FaultPlan) -> bool:
        """Misbehave as ``kind`` says; True when the request is finished (badly)."""
        if kind is None:
            return False
        if kind == "500":
            self.send_json_error(500, "injected failure")
        elif kind == "429":
            if plan.retry_after_date:
                when = math.ceil(time.time() + plan.retry_after) + 1
                value = email.utils.formatdate(when, usegmt=True)
            else:
                value = f"{plan.retry_after:g}"
            self.send_json_error(429, "injected rate limit", "rate_limit_error",
                                 {"Retry-After": value})
        elif kind == "malformed":
            self.send_bytes(200, b'{"choices": [{"text": "trunc')
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


class Server(HTTPServer):
    """A running (or ready) server; ``url`` is the OpenAI base URL (ends in ``/v1``)."""

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def faults(self) -> FaultInjector | None:
        return cast(_App, self.app).faults

    @property
    def stats(self) -> ServerStats:
        return cast(_App, self.app).stats

    @property
    def model_name(self) -> str:
        return cast(_App, self.app).model_name


#: what the model server exposes, for the exposure rule's messages
SERVES = "the model"


def make_server(
    model_dir: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    faults: FaultPlan | None = None,
    target: Target | None = None,
    model_name: str | None = None,
    api_key: str | None = None,
    insecure_no_auth: bool = False,
    batch_size: int = 8,
    device: str = "cpu",
    any_model: bool = False,
) -> Server:
    """Build (not start) a server over ``model_dir`` or an already loaded ``target``.

    ``port=0`` picks a free port. ``api_key`` set => requests need ``Bearer <key>``; a host
    beyond loopback needs one, or ``insecure_no_auth`` (refused before the model loads).
    ``any_model``: answer a request naming any model (else only ``model_name``; others 404).
    """
    check_exposure(host, api_key, insecure_no_auth=insecure_no_auth, serves=SERVES)
    if target is None:
        if model_dir is None:
            raise ConfigError("make_server needs a model directory or a target")
        from regurgitate.targets.hf import HFTarget

        target = HFTarget(model_dir, device=device, batch_size=batch_size)
    name = model_name or (model_dir.rstrip("/").rsplit("/", 1)[-1] if model_dir else target.name)
    batcher = Batcher(target, max_batch=batch_size)
    injector = FaultInjector(faults) if faults is not None else None
    app = _App(target, name, batcher, injector, any_model=any_model)
    return bind_server(_Handler, host, port, app=app, api_key=api_key,
                       insecure_no_auth=insecure_no_auth, serves=SERVES,
                       on_start=batcher.start, on_stop=batcher.stop, server_class=Server)


def run_server(
    model: str | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    fault_rate: float = 0.0,
    *,
    fault_seed: int = 0,
    api_key_env: str | None = None,
    api_key_file: str | None = None,
    insecure_no_auth: bool = False,
    batch_size: int = 8,
    device: str = "cpu",
    echo: Callable[[str], None] = print,
    model_name: str | None = None,
) -> None:
    """Blocking entry point for ``regurgitate serve``: loads ``model`` (None = the bundled
    reference model), prints the base URL, serves until Ctrl-C. Without ``model_name`` any
    requested model name is answered (so ``?model=my-model`` works as written); with it,
    only that name. A host beyond loopback without a key (``api_key_env``/``api_key_file``)
    is refused before the model loads, unless ``insecure_no_auth``."""
    api_key = server_api_key(host, api_key_env, api_key_file,
                             insecure_no_auth=insecure_no_auth, serves=SERVES)
    if model is None:
        from regurgitate import reference

        model = str(reference.model_dir())
    faults = FaultPlan(rate=fault_rate, seed=fault_seed) if fault_rate > 0 else None
    server = make_server(model, host, port, faults=faults, api_key=api_key,
                         insecure_no_auth=insecure_no_auth, batch_size=batch_size,
                         device=device, model_name=model_name, any_model=model_name is None)
    names = "any model name" if model_name is None else f"model name {model_name!r}"
    echo(f"serving {server.model_name} at {server.url} for {names}  (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
