"""Any OpenAI-compatible HTTP endpoint as a target (``/v1/completions``, ``/v1/chat/completions``).

Requests run on a thread pool of ``concurrency`` workers sharing one ``httpx.Client``.
Each request is retried on 429, 5xx, timeouts, dropped connections and unparseable bodies,
waiting ``Retry-After`` when the server sends it (seconds or an HTTP date, capped at
``backoff_max``), else ``backoff_base * 2**attempt`` capped at ``backoff_max`` with full
jitter. Bodies are decoded leniently (:func:`decode_json`): any text an endpoint returns
reaches the store, whose boundary repairs what UTF-8 cannot hold. Other 4xx answers are
not retried; 401/403 raise :class:`TargetError` at once.

The API key (from ``api_key_env`` or ``api_key_file``) is only ever put in the
``Authorization`` header: it is kept out of ``name``, ``repr`` and every message.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from regurgitate.api_keys import read_api_key as _read_key
from regurgitate.errors import ConfigError, ContextWindowError, TargetError
from regurgitate.targets.base import Target
from regurgitate.targets.endpoint_watch import EndpointNotes, FailureStreak
from regurgitate.targets.openai_context import (
    PromptCounter,
    config_context,
    estimate_tokens,
    local_model_dir,
    models_context,
    parse_context_error,
)
from regurgitate.targets.settings import (
    is_greedy,
    penalty_fields,
    require_supported,
    validate_settings,
    wants_chat,
)
from regurgitate.types import Generation, Prompt

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


#: Repetition controls outside OpenAI's API, sent under vLLM's names when ``extensions`` is on.
EXTENSION_CONTROLS = ("repetition_penalty", "min_new_tokens")
#: controls with no substitute: a strict endpoint (``extensions=0``) refuses the scan
#: (``min_new_tokens`` degrades instead: ``logit_bias`` against end-of-text, or nothing)
STRICT_REFUSED = ("repetition_penalty",)
#: request fields an endpoint may refuse by name (HTTP 400/422); they are dropped for the run
NEGOTIABLE = ("min_tokens", "repetition_penalty", "top_k", "seed", "logit_bias",
              "frequency_penalty", "presence_penalty", "logprobs")


def request_body(prompt: Prompt, model: str, chat: bool,
                 extensions: bool = True) -> dict[str, Any]:
    """The JSON body for one prompt (chat or completion), settings translated.

    ``frequency_penalty`` / ``presence_penalty`` are OpenAI's own fields; ``repetition_penalty``
    and ``min_new_tokens`` (as ``min_tokens``) are vLLM's extensions, which vLLM and
    ``regurgitate serve`` honour; with ``extensions=False`` (a strict OpenAI endpoint)
    ``repetition_penalty`` is a :class:`ConfigError` rather than a field the server might
    ignore, and ``min_tokens`` is left out (the target substitutes ``logit_bias``).
    """
    s = prompt.settings
    if not extensions:
        require_supported(s, "this OpenAI endpoint (extensions=0)", STRICT_REFUSED)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": s.max_new_tokens,
        "temperature": 0.0 if is_greedy(s) else s.temperature,
    }
    body.update(penalty_fields(s))
    if not extensions:
        body.pop("min_tokens", None)
    if not is_greedy(s):
        body["top_p"] = s.top_p
        if s.top_k:
            body["top_k"] = s.top_k  # vLLM-style extension, ignored by others
    if s.seed is not None:
        body["seed"] = s.seed
    if chat:
        body["messages"] = [dict(m) for m in prompt.messages or ()] or [
            {"role": "user", "content": prompt.text or ""}
        ]
        if s.logprobs:
            body["logprobs"] = True
    else:
        body["prompt"] = prompt.text if prompt.text is not None else prompt.as_text()
        if s.logprobs:
            body["logprobs"] = 1
    return body


def decode_json(body: bytes) -> Any:
    """A response body as JSON. Invalid UTF-8 bytes become U+FFFD instead of failing the
    prompt forever (a broken multi-byte character from a server is still an answer);
    lone surrogates from ``\\ud800`` escapes pass through and are repaired by the store."""
    return json.loads(body.decode("utf-8", "replace"))


def parse_response(data: Any, chat: bool) -> dict[str, Any]:
    """Fields of a Generation from a decoded response; ValueError when the shape is wrong."""
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"] if chat else choice["text"]
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        logprobs = None
        lp = choice.get("logprobs")
        if lp:
            if chat:
                logprobs = tuple(float(item["logprob"]) for item in lp.get("content") or ())
            elif lp.get("token_logprobs") is not None:
                logprobs = tuple(
                    float(x) if x is not None else float("nan") for x in lp["token_logprobs"]
                )
        usage = data.get("usage") or {}
        return {
            "text": text,
            "logprobs": logprobs,
            "finish_reason": choice.get("finish_reason"),
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
        }
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected response shape ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    connect: bool = False  # no connection could be made at all


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
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if context is not None and context < 2:
            raise ConfigError(f"context must be >= 2 tokens, got {context}")
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
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self._context_option = context
        self._tokenizer_name = tokenizer
        self._counter: PromptCounter | None = None
        self._resolved = False
        self._resolve_lock = threading.Lock()
        self._usage: dict[str, int] = {}  # prompt key -> usage.prompt_tokens seen
        self._notes = EndpointNotes()
        self._streak = FailureStreak()

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
                results.append(Generation(prompt_id=prompt.id, text="", error=outcome.message))
            else:
                results.append(outcome)
        return results

    def close(self) -> None:
        self._client.close()

    def endpoint_notes(self) -> dict[str, Any]:
        return self._notes.as_dict()

    # -- what the endpoint is -------------------------------------------------------------
    def _resolve(self) -> None:
        """Once per target: the tokenizer and the context window (see openai_context)."""
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
            context, source = self._context_option, "context option"
            if context is None:
                context, source = self._models_context(), "/v1/models max_model_len"
            if context is None and local is not None:
                context, source = config_context(local), f"config.json of {local}"
            if context is not None:
                self._learn_context(context, source)

    def _models_context(self) -> int | None:
        try:
            response = self._client.get("/models", timeout=min(self.timeout, 10.0))
            if response.status_code != 200:
                return None
            return models_context(decode_json(response.content), self.model_name)
        except (httpx.HTTPError, ValueError):
            return None

    def _learn_context(self, context: int, source: str) -> None:
        if self._notes.context is None or context < self._notes.context:
            self._notes.context, self._notes.context_source = context, source
            log.info("context window of %s: %d tokens (%s)", self.model_name, context, source)

    def _prompt_key(self, body: dict[str, Any]) -> str:
        return json.dumps(body.get("messages", body.get("prompt")), sort_keys=True)

    def _prompt_tokens(self, prompt: Prompt, body: dict[str, Any], chat: bool) -> int:
        """Tokens of the prompt: the tokenizer's count, an earlier answer's usage, or an
        estimate no byte-level tokenizer exceeds."""
        key = self._prompt_key(body)
        if key in self._usage:
            return self._usage[key]
        if self._counter is not None:
            n = self._counter.count(body.get("prompt"), body.get("messages") if chat else None)
            self._usage[key] = n
            return n
        return estimate_tokens(body.get("prompt"), body.get("messages") if chat else None)

    def _body(self, prompt: Prompt, chat: bool) -> dict[str, Any]:
        """The request body for a prompt, with the fields the endpoint refused dropped,
        ``ignore_eos`` carried out as the endpoint allows, and max_tokens within the window."""
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
                eot = self._counter.end_of_text_ids() if self._counter is not None else []
                if eot and not notes.is_refused("logit_bias"):
                    body["logit_bias"] = {str(i): -100.0 for i in eot}
                    notes.eos_handling = "logit_bias"
                else:
                    notes.eos_handling = "none"
        for name in NEGOTIABLE:
            if name in body and notes.is_refused(name):
                del body[name]
        if notes.context is not None:
            used = self._prompt_tokens(prompt, body, chat)
            room = notes.context - used
            if room < 1:
                raise ContextWindowError(f"the prompt ({used} tokens) fills the model's "
                               f"{notes.context}-token context window")
            if body["max_tokens"] > room:
                body["max_tokens"] = room
                if "min_tokens" in body:
                    body["min_tokens"] = min(body["min_tokens"], room)
        return body

    def _negotiate(self, body: dict[str, Any], message: str) -> list[str]:
        """Fields of ``body`` an error message refuses by name; each is dropped for the run
        (and said once)."""
        named = [f for f in NEGOTIABLE if f in body
                 and re.search(rf"(?<![A-Za-z_]){re.escape(f)}(?![A-Za-z_])", message)]
        for name in named:
            if self._notes.refuse(name):
                log.warning("%s refuses %r (%s): sending it no more in this run",
                            self.base_url, name, message[:120])
        return named

    def __repr__(self) -> str:
        return f"OpenAITarget({self.name!r}, concurrency={self.concurrency})"

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
        while True:
            if stop.is_set():
                return _Failure("cancelled")
            wait: float | None = None
            self._streak.sending(prompt.id)
            try:
                response = self._client.post(path, json=body)
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
                        fields = parse_response(decode_json(response.content), chat)
                    except ValueError as exc:  # includes JSONDecodeError
                        last = _Failure(self._scrub(f"malformed response: {exc}"))
                    else:
                        return self._answered(prompt, body, fields, started)
                else:
                    message = self._error_text(response)
                    if status in (400, 413, 422):
                        if self._negotiate(body, message):
                            rebuilt = self._rebuild(prompt, chat)
                            if isinstance(rebuilt, _Failure):
                                return rebuilt
                            body = rebuilt
                            continue  # the same attempt, without the refused field
                        window = parse_context_error(message)
                        if window is not None and context_retry:
                            context_retry = False
                            if window[1] is not None:
                                self._usage[self._prompt_key(body)] = window[1]
                            self._learn_context(window[0], "the endpoint's error message")
                            rebuilt = self._rebuild(prompt, chat)
                            if isinstance(rebuilt, _Failure):
                                return rebuilt
                            body = rebuilt
                            continue
                    last = _Failure(f"HTTP {status}: {message}")
                    retryable = status in RETRY_STATUSES or status >= 500
                    if retryable:
                        wait = parse_retry_after(response.headers.get("retry-after"))
                    if self._streak.failure(prompt.id, status, message, retryable,
                                            retry_after=wait is not None):
                        raise self._storm(status, message)
                    if not retryable:
                        return last
            if attempt == self.max_retries:
                break
            delay = self._delay(attempt, wait)
            attempt += 1
            log.debug("retrying %s after %.2f s: %s", path, delay, last.message)
            if stop.wait(delay):
                return _Failure("cancelled")
        return _Failure(f"{last.message} (gave up after {self.max_retries + 1} attempts)",
                        connect=last.connect)

    def _one(self, prompt: Prompt, stop: threading.Event) -> Generation | _Failure:
        try:
            return self._attempts(prompt, stop)
        finally:
            self._streak.done(prompt.id)

    def _rebuild(self, prompt: Prompt, chat: bool) -> dict[str, Any] | _Failure:
        try:
            return self._body(prompt, chat)
        except ContextWindowError as exc:
            return _Failure(str(exc))

    def _answered(self, prompt: Prompt, body: dict[str, Any], fields: dict[str, Any],
                  started: float) -> Generation:
        """A 200 answer: clear the failure streak, learn the prompt's length, note the
        controls accepted, any cut of max_tokens, and the sampling check."""
        self._streak.success(prompt.id)
        if isinstance(fields.get("prompt_tokens"), int):
            self._usage.setdefault(self._prompt_key(body), int(fields["prompt_tokens"]))
        self._notes.used({k for k in body if k in NEGOTIABLE or k in ("temperature", "top_p")})
        max_tokens = int(body["max_tokens"])
        if max_tokens < prompt.settings.max_new_tokens:
            self._notes.cut_to(max_tokens)
        self._notes.sample(body, fields["text"])
        return Generation(prompt_id=prompt.id, elapsed_s=time.perf_counter() - started,
                          max_tokens=max_tokens, **fields)

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

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        with self._rng_lock:
            return self._rng.uniform(ceiling / 2, ceiling)

    def _error_text(self, response: httpx.Response) -> str:
        try:
            data = decode_json(response.content)
            message = data["error"]["message"] if isinstance(data.get("error"), dict) else data
        except (ValueError, KeyError, TypeError, AttributeError):
            message = response.content.decode("utf-8", "replace")
        return self._scrub(str(message)[:300])

    def _scrub(self, text: str) -> str:
        return text.replace(self.__key, "***") if self.__key else text
