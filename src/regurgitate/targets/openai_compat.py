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

import email.utils
import json
import logging
import random
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
from regurgitate.errors import ConfigError, TargetError
from regurgitate.targets.base import Target
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


def request_body(prompt: Prompt, model: str, chat: bool,
                 extensions: bool = True) -> dict[str, Any]:
    """The JSON body for one prompt (chat or completion), settings translated.

    ``frequency_penalty`` / ``presence_penalty`` are OpenAI's own fields; ``repetition_penalty``
    and ``min_new_tokens`` (as ``min_tokens``) are vLLM's extensions, which vLLM and
    ``regurgitate serve`` honour; with ``extensions=False`` (a strict OpenAI endpoint) using
    them is a :class:`ConfigError` rather than a field the server might ignore.
    """
    s = prompt.settings
    if not extensions:
        require_supported(s, "this OpenAI endpoint (extensions=0)", EXTENSION_CONTROLS)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": s.max_new_tokens,
        "temperature": 0.0 if is_greedy(s) else s.temperature,
    }
    body.update(penalty_fields(s))
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
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
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

    # -- public --------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        for p in prompts:
            validate_settings(p.settings)
            if not self.extensions:
                require_supported(p.settings, "this OpenAI endpoint (extensions=0)",
                                  EXTENSION_CONTROLS)
        if not prompts:
            return []
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

    def __repr__(self) -> str:
        return f"OpenAITarget({self.name!r}, concurrency={self.concurrency})"

    # -- one request with retries ---------------------------------------------------------
    def _one(self, prompt: Prompt, stop: threading.Event) -> Generation | _Failure:
        chat = wants_chat(prompt, self.chat)
        path = "/chat/completions" if chat else "/completions"
        body = request_body(prompt, self.model_name, chat, self.extensions)
        started = time.perf_counter()
        last = _Failure("no attempt made")
        for attempt in range(self.max_retries + 1):
            if stop.is_set():
                return _Failure("cancelled")
            wait: float | None = None
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
                        return Generation(
                            prompt_id=prompt.id,
                            elapsed_s=time.perf_counter() - started,
                            **fields,
                        )
                elif status in RETRY_STATUSES or status >= 500:
                    last = _Failure(f"HTTP {status}: {self._error_text(response)}")
                    wait = parse_retry_after(response.headers.get("retry-after"))
                else:
                    return _Failure(f"HTTP {status}: {self._error_text(response)}")
            if attempt == self.max_retries:
                break
            delay = self._delay(attempt, wait)
            log.debug("retrying %s after %.2f s: %s", path, delay, last.message)
            if stop.wait(delay):
                return _Failure("cancelled")
        return _Failure(f"{last.message} (gave up after {self.max_retries + 1} attempts)",
                        connect=last.connect)

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
