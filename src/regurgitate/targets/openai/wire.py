"""The OpenAI wire format, both sides: what the OpenAI target sends and reads, and what
``regurgitate serve`` (:mod:`regurgitate.model_server.protocol`) reads and answers.

- request fields <-> :class:`~regurgitate.types.GenerationSettings`
  (:func:`settings_fields` / :func:`settings_from_body`), OpenAI's own fields plus vLLM's
  extensions (``repetition_penalty``, ``min_tokens``, ``ignore_eos``, ``top_k``);
- responses: :func:`completion_response` / :func:`chat_response` write them,
  :func:`parse_response` reads any server's;
- errors: :func:`error_body` and :func:`context_error_body` write OpenAI's shape,
  :func:`error_message` reads every shape seen (OpenAI's ``{"error": {"message"}}``, TGI's
  ``{"error": "...", "error_type"}``, FastAPI's ``{"detail"}``, llama.cpp's), and
  :func:`parse_context_error` reads every context-overflow message seen.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from regurgitate.errors import ConfigError
from regurgitate.targets.settings import is_greedy, penalty_fields, validate_settings
from regurgitate.types import Generation, GenerationSettings, Prompt

TokenText = Callable[[int], str]


# -- settings <-> request fields ----------------------------------------------------------

def settings_fields(settings: GenerationSettings, *, chat: bool) -> dict[str, Any]:
    """The request fields that carry ``settings``: OpenAI's names, vLLM's for its extensions
    (``repetition_penalty``, ``min_tokens`` for ``min_new_tokens``, ``top_k``). Controls at
    their off value are left out here; the target adds each server family's neutral values."""
    s = settings
    body: dict[str, Any] = {
        "max_tokens": s.max_new_tokens,
        "temperature": 0.0 if is_greedy(s) else s.temperature,
    }
    if not is_greedy(s):
        if s.top_p != 1.0:
            body["top_p"] = s.top_p
        if s.top_k:
            body["top_k"] = s.top_k
    body.update(penalty_fields(s))
    if s.seed is not None:
        body["seed"] = s.seed
    if s.logprobs:
        body["logprobs"] = True if chat else 1
    return body


def _number(body: Mapping[str, Any], key: str, default: float, kind: type) -> Any:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"'{key}' must be a number")
    if kind is int and int(value) != value:
        raise ConfigError(f"'{key}' must be an integer")
    return kind(value)


def settings_from_body(body: Mapping[str, Any], *, chat: bool) -> GenerationSettings:
    """Decoding settings of a request (OpenAI defaults: max_tokens 16, temperature 1).

    Repetition controls: OpenAI's ``frequency_penalty`` / ``presence_penalty``, and vLLM's
    ``repetition_penalty``, ``min_tokens`` and ``ignore_eos``; out-of-range values are errors.
    """
    temperature = _number(body, "temperature", 1.0, float)
    top_k = _number(body, "top_k", 0, int)
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError("'seed' must be an integer")
    raw_lp = body.get("logprobs")
    # chat: a boolean; completions: an integer (0 still means "chosen token's log-prob")
    logprobs = bool(raw_lp) if chat else raw_lp is not None and raw_lp is not False
    max_new = _number(body, "max_tokens", 16, int)
    ignore_eos = body.get("ignore_eos", False)
    if not isinstance(ignore_eos, bool):
        raise ConfigError("'ignore_eos' must be a boolean")
    # vLLM's extensions: min_tokens, and ignore_eos (= no end of sequence before max_tokens)
    min_new = max_new if ignore_eos else _number(body, "min_tokens", 0, int)
    settings = GenerationSettings(
        max_new_tokens=max_new,
        frequency_penalty=_number(body, "frequency_penalty", 0.0, float),
        presence_penalty=_number(body, "presence_penalty", 0.0, float),
        repetition_penalty=_number(body, "repetition_penalty", 1.0, float),
        min_new_tokens=min_new,
        temperature=temperature,
        top_k=max(0, top_k),  # vLLM uses -1 for "off"
        top_p=_number(body, "top_p", 1.0, float),
        greedy=temperature == 0.0,
        seed=seed,
        logprobs=logprobs,
    )
    validate_settings(settings)
    return settings


def prompt_fields(prompt: Prompt, *, chat: bool) -> dict[str, Any]:
    """``messages`` (chat) or ``prompt`` (completions) of a request."""
    if chat:
        return {"messages": [dict(m) for m in prompt.messages or ()]
                or [{"role": "user", "content": prompt.text or ""}]}
    return {"prompt": prompt.text if prompt.text is not None else prompt.as_text()}


# -- responses ----------------------------------------------------------------------------

def _usage(gens: list[Generation]) -> dict[str, int]:
    prompt = sum(g.prompt_tokens or 0 for g in gens)
    completion = sum(g.completion_tokens or 0 for g in gens)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def completion_response(model: str, gens: list[Generation], token_text: TokenText,
                        want_logprobs: bool) -> dict[str, Any]:
    choices = []
    for i, g in enumerate(gens):
        logprobs = None
        if want_logprobs and g.logprobs is not None and g.token_ids is not None:
            tokens = [token_text(t) for t in g.token_ids]
            offsets, pos = [], 0
            for tok in tokens:
                offsets.append(pos)
                pos += len(tok)
            logprobs = {"tokens": tokens, "token_logprobs": list(g.logprobs),
                        "top_logprobs": None, "text_offset": offsets}
        choices.append({"index": i, "text": g.text, "logprobs": logprobs,
                        "finish_reason": g.finish_reason})
    return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": model, "choices": choices,
            "usage": _usage(gens)}


def chat_response(model: str, gen: Generation, token_text: TokenText,
                  want_logprobs: bool) -> dict[str, Any]:
    logprobs = None
    if want_logprobs and gen.logprobs is not None and gen.token_ids is not None:
        content = []
        for tok_id, lp in zip(gen.token_ids, gen.logprobs, strict=True):
            tok = token_text(tok_id)
            content.append({"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8")),
                            "top_logprobs": []})
        logprobs = {"content": content}
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": gen.text},
                         "logprobs": logprobs, "finish_reason": gen.finish_reason}],
            "usage": _usage([gen])}


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
            "logprobs": logprobs or None,
            "finish_reason": choice.get("finish_reason"),
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
        }
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected response shape ({type(exc).__name__}: {exc})") from exc


# -- errors -------------------------------------------------------------------------------

def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def context_error_body(window: int, prompt_tokens: int, max_tokens: int,
                       part: str) -> dict[str, Any]:
    """vLLM's 400 for prompt + max_tokens beyond the context window (its wording, which
    OpenAI's API shares: clients parse the window and the prompt's length from it)."""
    return error_body(
        f"This model's maximum context length is {window} tokens. However, you requested "
        f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the {part}, {max_tokens} "
        f"in the completion). Please reduce the length of the {part} or completion.",
        "BadRequestError")


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """An error answer as read: its message, and which server family's shape it had."""

    message: str
    #: ``openai`` ({"error": {"message"}}), ``tgi`` ({"error": str, "error_type"}),
    #: ``fastapi`` ({"detail"}), ``text`` (not JSON)
    shape: str


def error_message(content: bytes) -> ErrorShape:
    """The message of an error answer, whatever its shape."""
    try:
        data = decode_json(content)
    except ValueError:
        return ErrorShape(content.decode("utf-8", "replace"), "text")
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = err.get("message", err)
            # llama.cpp's server puts its counts beside the message: keep them readable
            extra = {k: err[k] for k in ("n_prompt_tokens", "n_ctx") if k in err}
            text = str(message) + (f" {json.dumps(extra)}" if extra else "")
            return ErrorShape(text, "openai")
        if isinstance(err, str):
            return ErrorShape(err, "tgi" if "error_type" in data else "openai")
        if "detail" in data:
            return ErrorShape(str(data["detail"]), "fastapi")
        if "message" in data:
            return ErrorShape(str(data["message"]), "openai")
    return ErrorShape(json.dumps(data)[:2000], "openai")


_MAX_CONTEXT = (
    re.compile(r"maximum context length is (\d+)", re.IGNORECASE),
    re.compile(r"\"?n_ctx\"?\s*[:=]\s*(\d+)"),
    re.compile(r"available context size \((\d+) tokens\)"),
    # TGI: "`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens
    # and 200 `max_new_tokens`"; "`inputs` must have less than 4096 tokens. Given: 5000"
    re.compile(r"`max_new_tokens` must be <= (\d+)"),
    re.compile(r"`inputs` must have less than (\d+) tokens"),
)
_INPUT_TOKENS = (
    re.compile(r"\((\d+) in the messages"),
    re.compile(r"\((\d+) in the prompt"),
    re.compile(r"\((\d+) in your prompt"),  # llama-cpp-python
    re.compile(r"request has (\d+) input tokens"),
    re.compile(r"messages resulted in (\d+) tokens"),
    re.compile(r"\"?n_prompt_tokens\"?\s*[:=]\s*(\d+)"),
    re.compile(r"request \((\d+) tokens\) exceeds the available context"),
    re.compile(r"Given: (\d+) `inputs` tokens"),
    re.compile(r"less than \d+ tokens\. Given: (\d+)"),
)


def parse_context_error(text: str) -> tuple[int, int | None] | None:
    """``(window, prompt tokens or None)`` from an error naming the maximum context length:
    vLLM's and OpenAI's wording, llama-cpp-python's ("... in your prompt"), llama.cpp's
    ``exceed_context_size_error`` (``n_ctx``, ``n_prompt_tokens``) and TGI's validation
    errors; else None. (``transformers serve`` answers a bare HTTP 500 that names nothing:
    the target knows its window from the model's config instead.)"""
    window = None
    for pattern in _MAX_CONTEXT:
        found = pattern.search(text)
        if found:
            window = int(found.group(1))
            break
    if window is None:
        return None
    prompt = None
    for pattern in _INPUT_TOKENS:
        m = pattern.search(text)
        if m:
            prompt = int(m.group(1))
            break
    return window, prompt
