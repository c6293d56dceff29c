"""Any OpenAI-compatible HTTP endpoint as a target (``/v1/completions``, ``/v1/chat/completions``).

Requests run on a thread pool of ``concurrency`` workers sharing one ``httpx.Client``.
The pieces: the wire format (:mod:`.wire`), which fields a server family needs and which it
refused (:mod:`.negotiation`), probes that show a control's effect (:mod:`.verify`), retries
(:mod:`.retries`), the context window (:mod:`.context`) and what the run records
(:mod:`.notes`). Other 4xx answers are not retried; 401/403 raise :class:`TargetError` at once.

The API key (from ``api_key_env`` or ``api_key_file``) is only ever put in the
``Authorization`` header: it is kept out of ``name``, ``repr`` and every message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from regurgitate.errors import ConfigError, ContextWindowError, TargetError
from regurgitate.serving import read_api_key as _read_key
from regurgitate.targets.base import Target
from regurgitate.targets.openai import negotiation, wire
from regurgitate.targets.openai.context import (
    PromptCounter,
    config_context,
    local_model_dir,
    models_context,
)
from regurgitate.targets.openai.notes import EndpointNotes
from regurgitate.targets.openai.retries import (
    Backoff,
    FailureStreak,
    is_retryable,
    parse_retry_after,
)
from regurgitate.targets.openai.verify import Prober, controls_used
from regurgitate.targets.settings import require_supported, validate_settings, wants_chat
from regurgitate.types import Generation, Prompt

log = logging.getLogger(__name__)

#: controls with no substitute: a strict endpoint (``extensions=0``) refuses the scan
#: (``min_new_tokens`` degrades instead: ``logit_bias`` against end-of-text, or nothing)
STRICT_REFUSED = ("repetition_penalty",)


def request_body(prompt: Prompt, model: str, chat: bool,
                 extensions: bool = True) -> dict[str, Any]:
    """The JSON body for one prompt before a server family shapes it: OpenAI's fields and
    vLLM's extensions (``repetition_penalty``, ``min_tokens``). With ``extensions=False`` (a
    strict OpenAI endpoint) ``repetition_penalty`` is a :class:`ConfigError` rather than a
    field the server might ignore, and ``min_tokens`` is left out (the target substitutes
    ``logit_bias``)."""
    if not extensions:
        require_supported(prompt.settings, "this OpenAI endpoint (extensions=0)",
                          STRICT_REFUSED)
    body: dict[str, Any] = {"model": model, **wire.prompt_fields(prompt, chat=chat),
                            **wire.settings_fields(prompt.settings, chat=chat)}
    if not extensions:
        body.pop("min_tokens", None)
        body.pop("top_k", None)
    return body


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    connect: bool = False  # no connection could be made at all
    attempts: int = 0


@dataclass(slots=True)
class _Count:
    """A prompt's length in the served model's tokens, and who counted it."""

    tokens: int
    source: str


class OpenAITarget(Target):
    """A model behind an OpenAI-compatible server (OpenAI, vLLM, llama.cpp, our own)."""

    @classmethod
    def display_location(cls, location: str) -> str:
        """The base URL without user name or password (an http(s) URL is required)."""
        parts = urlsplit(location)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"openai targets need an http(s) URL, got {location!r}",
                              hint="e.g. openai:http://127.0.0.1:8000/v1?model=NAME")
        if parts.password is None and parts.username is None:
            return location
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=host))

    def __init__(
        self,
        base_url: str,
        #: the model name the server serves
        model: str,
        *,
        chat: bool = False,
        #: environment variable holding the API key
        api_key_env: str | None = "OPENAI_API_KEY",
        #: file holding the API key (instead of api_key_env)
        api_key_file: str | None = None,
        #: requests in flight at once
        concurrency: int = 8,
        #: seconds one request may take
        timeout: float = 60.0,
        #: retries of a failed request before its generation counts as failed
        max_retries: int = 5,
        #: first wait between retries, in seconds (doubled each retry, capped)
        backoff_base: float = 0.5,
        #: longest wait between retries, in seconds
        backoff_max: float = 30.0,
        #: send vLLM's repetition_penalty and min_tokens (off: a strict OpenAI endpoint)
        extensions: bool = True,
        #: the served model's context window in tokens (else from /v1/models or a local
        #: model folder named by ``model`` or ``tokenizer``)
        context: int | None = None,
        #: the served model's tokenizer (a local folder or a cached hub id), to count prompt
        #: tokens and find the end-of-text token; default: ``model`` when it is a local folder
        tokenizer: str | None = None,
        #: the server family (llama-cpp-python, llama.cpp, vllm, ollama, tgi, lm-studio,
        #: transformers-serve, openai, regurgitate, unknown); default: recognised
        family: str | None = None,
        #: probe each control a run sets (a few short greedy requests) to show its effect
        verify: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if context is not None and context < 2:
            raise ConfigError(f"context must be >= 2 tokens, got {context}")
        if family is not None and family not in negotiation.FAMILIES:
            raise ConfigError(f"unknown server family {family!r}",
                              hint=f"one of {', '.join(negotiation.FAMILIES)}")
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https"):
            raise ConfigError(f"base URL must start with http:// or https://, got {base_url!r}")
        # keep any user:password out of everything we print
        self.base_url = str(url.copy_with(username=None, password=None)).rstrip("/")
        self.model_name = model
        self.extensions = extensions  # send vLLM's repetition_penalty / min_tokens fields
        self.chat = chat
        self.concurrency = concurrency
        self.batch_size = max(8, concurrency * 2)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.verify = verify
        self.name = f"openai:{self.base_url}?model={model}" + ("&chat=1" if chat else "")
        self.__key = _read_key(api_key_env, api_key_file)
        headers = {"Content-Type": "application/json"}
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        self._client = httpx.Client(
            base_url=str(url).rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._backoff = Backoff(backoff_base, backoff_max)
        self._context_option = context
        self._tokenizer_name = tokenizer
        self._family_option = family
        self._family = negotiation.family("unknown")
        self._counter: PromptCounter | None = None
        self._resolved = False
        self._resolve_lock = threading.Lock()
        self._counts: dict[str, _Count] = {}  # prompt key -> its length, and who counted it
        self._notes = EndpointNotes()
        self._streak = FailureStreak()
        self._prober = Prober(self)

    # -- public --------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        for p in prompts:
            validate_settings(p.settings)
            if not self.extensions:
                require_supported(p.settings, "this OpenAI endpoint (extensions=0)",
                                  STRICT_REFUSED)
        if not prompts:
            return []
        self._resolve()
        if self.verify:
            self._prober.verify(prompts)
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            futures = [pool.submit(self._one, p, stop) for p in prompts]
            try:
                outcomes = [f.result() for f in futures]
            except TargetError:
                stop.set()
                for f in futures:
                    f.cancel()
                raise
        if all(isinstance(o, _Failure) and o.connect for o in outcomes):
            raise TargetError(
                f"cannot connect to {self.base_url}",
                hint="is the server running and the URL right? A local one starts with "
                "`regurgitate serve`",
            )
        results = []
        for prompt, outcome in zip(prompts, outcomes, strict=True):
            if isinstance(outcome, _Failure):
                results.append(Generation(prompt_id=prompt.id, text="", error=outcome.message,
                                          attempts=max(1, outcome.attempts)))
            else:
                results.append(outcome)
        return results

    def close(self) -> None:
        self._client.close()

    def endpoint_notes(self) -> dict[str, Any]:
        return self._notes.as_dict()

    @property
    def family(self) -> negotiation.Family:
        return self._family

    @property
    def notes(self) -> EndpointNotes:
        return self._notes

    # -- what the endpoint is -------------------------------------------------------------
    def _resolve(self) -> None:
        """Once per target: the tokenizer, the server family and the context window."""
        with self._resolve_lock:
            if self._resolved:
                return
            self._resolved = True
            local = local_model_dir(self._tokenizer_name) or local_model_dir(self.model_name)
            if self._tokenizer_name is not None:
                self._counter = PromptCounter.load(self._tokenizer_name)
            elif local is not None and ((local / "tokenizer.json").is_file()
                                        or (local / "tokenizer_config.json").is_file()):
                with contextlib.suppress(ConfigError):
                    self._counter = PromptCounter.load(str(local))
            models = self._models()
            if self._family_option is not None:
                self._set_family(self._family_option, "the family option")
            elif (name := negotiation.family_from_url(self.base_url)) is not None:
                self._set_family(name, "the URL")
            elif models is not None and (
                    name := negotiation.family_from_models(models, self.model_name)):
                self._set_family(name, "/v1/models")
            context, source = self._context_option, "context option"
            if context is None and models is not None:
                context, source = (models_context(models, self.model_name),
                                   "/v1/models max_model_len")
            if context is None and local is not None:
                context, source = config_context(local), f"config.json of {local}"
            if context is not None:
                self._learn_context(context, source)

    def _models(self) -> Any:
        try:
            response = self._client.get("/models", timeout=min(self.timeout, 10.0))
            if response.status_code != 200:
                return None
            self._family_from_headers(response.headers)
            return wire.decode_json(response.content)
        except (httpx.HTTPError, ValueError):
            return None

    def _set_family(self, name: str, source: str) -> None:
        self._family = negotiation.family(name)
        self._notes.set_family(self._family.name, source)
        log.info("%s: server family %s (from %s)", self.base_url, self._family.name, source)

    def _family_from_headers(self, headers: Mapping[str, str]) -> None:
        if self._family.name == "unknown" and (
                name := negotiation.family_from_headers(headers)) is not None:
            self._set_family(name, "response headers")

    def _learn_context(self, context: int, source: str) -> None:
        if self._notes.context is None or context < self._notes.context:
            self._notes.context, self._notes.context_source = context, source
            log.info("context window of %s: %d tokens (%s)", self.model_name, context, source)

    def _prompt_key(self, body: dict[str, Any]) -> str:
        return json.dumps(body.get("messages", body.get("prompt")), sort_keys=True)

    def _prompt_count(self, body: dict[str, Any], chat: bool) -> _Count | None:
        """The prompt's length when it is known (a tokenizer's count, an answer's usage or
        an overflow error's count); None when it is not (then nothing is guessed)."""
        key = self._prompt_key(body)
        if key in self._counts:
            return self._counts[key]
        if self._counter is not None:
            n = self._counter.count(body.get("prompt"), body.get("messages") if chat else None)
            self._counts[key] = _Count(n, "the tokenizer")
            return self._counts[key]
        return None

    def end_of_text_ids(self) -> list[int]:
        return self._counter.end_of_text_ids() if self._counter is not None else []

    def shape(self, body: dict[str, Any], chat: bool) -> dict[str, Any]:
        """``body`` with the family's neutral fields added and refused fields dropped."""
        added = self._family.shape(body, chat=chat, extensions=self.extensions)
        for name in list(body):
            if self._notes.is_refused(name):
                del body[name]
        self._notes.sent_neutral({k: body[k] for k in added if k in body})
        return body

    def _body(self, prompt: Prompt, chat: bool) -> dict[str, Any]:
        """The request body for a prompt: shaped for the server family, refused fields
        dropped, ``ignore_eos`` carried out as the endpoint allows, and max_tokens within
        the window where the prompt's length is known."""
        body = request_body(prompt, self.model_name, chat, self.extensions)
        if not chat and body["prompt"] == "" and self._counter is not None:
            # an unconditional sample starts from the document boundary token, as the HF
            # target's does (some servers fail on an empty input)
            body["prompt"] = self._counter.document_start() or ""
        s = prompt.settings
        notes = self._notes
        if s.min_new_tokens:
            if "min_tokens" in body and not notes.is_refused("min_tokens"):
                notes.eos_handling = "min_tokens"
            else:
                body.pop("min_tokens", None)
                eot = self.end_of_text_ids()
                if eot and not notes.is_refused("logit_bias"):
                    body["logit_bias"] = {str(i): -100.0 for i in eot}
                    notes.eos_handling = "logit_bias"
                else:
                    notes.eos_handling = "none"
        body = self.shape(body, chat)
        if notes.context is not None:
            count = self._prompt_count(body, chat)
            room = notes.context - (count.tokens if count is not None else 1)
            if room < 1 and count is not None:
                raise ContextWindowError(
                    f"the prompt ({count.tokens} tokens, counted by {count.source}) fills "
                    f"the model's {notes.context}-token context window")
            if body["max_tokens"] > room:
                body["max_tokens"] = room
                if "min_tokens" in body:
                    body["min_tokens"] = min(body["min_tokens"], room)
        return body

    def _negotiate(self, body: dict[str, Any], message: str) -> list[str]:
        """Fields of ``body`` an error message refuses by name; each is dropped for the run
        (and said once)."""
        named = negotiation.refused_fields(body, message)
        for name in named:
            if self._notes.refuse(name):
                log.warning("%s refuses %r (%s): sending it no more in this run",
                            self.base_url, name, message[:120])
        return named

    def __repr__(self) -> str:
        return f"OpenAITarget({self.name!r}, concurrency={self.concurrency})"

    # -- one request ----------------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """One POST (the probes use it too)."""
        response = self._client.post(path, json=body)
        self._family_from_headers(response.headers)
        return response

    def error_text(self, response: httpx.Response) -> str:
        """An error answer's message (any server's shape); learns the family from it."""
        shape = wire.error_message(response.content)
        if self._family.name == "unknown" and (
                name := negotiation.family_from_error(shape.shape, shape.message)):
            self._set_family(name, "an error answer's shape")
        return self._scrub(shape.message[:300])

    def learn_from_overflow(self, body: dict[str, Any], message: str) -> bool:
        """Learn the window and the prompt's length from an overflow error; True if it was one."""
        window = wire.parse_context_error(message)
        if window is None:
            return False
        if window[1] is not None:
            self._counts[self._prompt_key(body)] = _Count(window[1], "the server")
        self._learn_context(window[0], "the endpoint's error message")
        return True

    # -- one request with retries ---------------------------------------------------------
    def _attempts(self, prompt: Prompt, stop: threading.Event) -> Generation | _Failure:
        chat = wants_chat(prompt, self.chat)
        path = "/chat/completions" if chat else "/completions"
        try:
            body = self._body(prompt, chat)
        except ContextWindowError as exc:
            return _Failure(str(exc))
        started = time.perf_counter()
        last = _Failure("no attempt made")
        context_retry = True  # one retry within a window a 400 names
        attempt = 0
        sent = 0  # requests sent for this prompt (what the store records as attempts)
        while True:
            if stop.is_set():
                return _Failure("cancelled", attempts=sent)
            wait: float | None = None
            self._streak.sending(prompt.id)
            sent += 1
            try:
                response = self.post(path, body)
            except httpx.ConnectError as exc:
                last = _Failure(self._scrub(f"connection failed: {exc}"), connect=True)
            except httpx.TimeoutException:
                last = _Failure(f"timed out after {self.timeout:g} s")
            except httpx.TransportError as exc:
                last = _Failure(self._scrub(f"transport error: {type(exc).__name__}: {exc}"))
            else:
                status = response.status_code
                if status in (401, 403):
                    raise TargetError(
                        f"authentication failed at {self.base_url} (HTTP {status})",
                        hint="check the API key given by api_key_env / api_key_file",
                    )
                if status == 200:
                    try:
                        fields = wire.parse_response(wire.decode_json(response.content), chat)
                    except ValueError as exc:  # includes JSONDecodeError
                        last = _Failure(self._scrub(f"malformed response: {exc}"))
                    else:
                        return self._answered(prompt, body, fields, started, sent)
                else:
                    message = self.error_text(response)
                    if status in (400, 413, 422) and self._negotiate(body, message):
                        rebuilt = self._rebuild(prompt, chat, sent)
                        if isinstance(rebuilt, _Failure):
                            return rebuilt
                        body = rebuilt
                        continue  # the same attempt, without the refused field
                    if context_retry and self.learn_from_overflow(body, message):
                        context_retry = False
                        rebuilt = self._rebuild(prompt, chat, sent)
                        if isinstance(rebuilt, _Failure):
                            return rebuilt
                        body = rebuilt
                        continue
                    last = _Failure(f"HTTP {status}: {message}")
                    retry = is_retryable(status)
                    if retry:
                        wait = parse_retry_after(response.headers.get("retry-after"))
                    if self._streak.failure(prompt.id, status, message, retry,
                                            retry_after=wait is not None):
                        raise self._storm(status, message)
                    if not retry:
                        return _Failure(last.message, attempts=sent)
            if attempt == self.max_retries:
                break
            delay = self._backoff.delay(attempt, wait)
            attempt += 1
            log.debug("retrying %s after %.2f s: %s", path, delay, last.message)
            if stop.wait(delay):
                return _Failure("cancelled", attempts=sent)
        return _Failure(f"{last.message} (gave up after {sent} attempts)",
                        connect=last.connect, attempts=sent)

    def _one(self, prompt: Prompt, stop: threading.Event) -> Generation | _Failure:
        try:
            return self._attempts(prompt, stop)
        finally:
            self._streak.done(prompt.id)

    def _rebuild(self, prompt: Prompt, chat: bool, sent: int) -> dict[str, Any] | _Failure:
        try:
            return self._body(prompt, chat)
        except ContextWindowError as exc:
            return _Failure(str(exc), attempts=sent)

    def _answered(self, prompt: Prompt, body: dict[str, Any], fields: dict[str, Any],
                  started: float, sent: int) -> Generation:
        """A 200 answer: clear the failure streak, learn the prompt's length, note the
        controls used, log-probs received, any cut of max_tokens (ours or the server's
        silent one), and the sampling check."""
        self._streak.success(prompt.id)
        if isinstance(fields.get("prompt_tokens"), int):
            self._counts.setdefault(self._prompt_key(body),
                                    _Count(int(fields["prompt_tokens"]), "the server's usage"))
        for control in controls_used(prompt.settings, body):
            self._notes.used(control, prompt.attack)
        self._notes.logprobs(prompt.settings.logprobs and "logprobs" in body,
                             fields.get("logprobs") is not None, prompt.attack)
        max_tokens = int(body["max_tokens"])
        if max_tokens < prompt.settings.max_new_tokens:
            self._notes.cut_to(max_tokens)
        done = fields.get("completion_tokens")
        if fields.get("finish_reason") == "length" and isinstance(done, int) \
                and 0 <= done < max_tokens:
            # the server stopped before the max_tokens sent without an end of text: it cut
            # max_tokens itself (llama-cpp-python does so past its window); keep what it used
            max_tokens = done
            self._notes.server_cut_to(done)
        self._notes.sample(body, fields["text"])
        return Generation(prompt_id=prompt.id, elapsed_s=time.perf_counter() - started,
                          max_tokens=max_tokens, attempts=sent, **fields)

    def _storm(self, status: int, message: str) -> TargetError:
        if status >= 500:
            hint = ("the server fails every request the same way: read its log. If prompt + "
                    "max_tokens may exceed the model's context, give the target context=N "
                    "or tokenizer=DIR")
        elif status == 404:
            hint = "check the URL and the model name (?model=NAME)"
        else:
            hint = ("the server refuses these requests; for a strict OpenAI endpoint give "
                    "extensions=0, or change the settings the message names")
        return TargetError(
            f"stopped: {self.base_url} answered repeated requests the same way, with no "
            f"success in between (HTTP {status}: {message[:200]}); finished work is kept",
            hint=hint)

    def _scrub(self, text: str) -> str:
        return text.replace(self.__key, "***") if self.__key else text
