"""OpenAI wire format: request bodies to Prompts, Generations to response bodies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from regurgitate.errors import ConfigError
from regurgitate.targets.settings import validate_settings
from regurgitate.types import Generation, GenerationSettings, Prompt

TokenText = Callable[[int], str]


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


def completion_prompts(body: Mapping[str, Any]) -> list[Prompt]:
    raw = body.get("prompt")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ConfigError("'prompt' must be a string or a non-empty list of strings")
    settings = settings_from_body(body, chat=False)
    return [Prompt(id=str(i), attack="serve", text=t, settings=settings)
            for i, t in enumerate(texts)]


def chat_prompt(body: Mapping[str, Any]) -> Prompt:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigError("'messages' must be a non-empty list")
    clean = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise ConfigError("each message needs a string 'content'")
        clean.append({"role": str(m.get("role", "user")), "content": m["content"]})
    settings = settings_from_body(body, chat=True)
    return Prompt(id="0", attack="serve", text=None, messages=tuple(clean), settings=settings)


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


def context_error_body(window: int, prompt_tokens: int, max_tokens: int,
                       part: str) -> dict[str, Any]:
    """vLLM's 400 for prompt + max_tokens beyond the context window (its wording, which
    OpenAI's API shares: clients parse the window and the prompt's length from it)."""
    return error_body(
        f"This model's maximum context length is {window} tokens. However, you requested "
        f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the {part}, {max_tokens} "
        f"in the completion). Please reduce the length of the {part} or completion.",
        "BadRequestError")


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


#: request fields this server cannot honour, with the values that mean "off"
_UNSUPPORTED: dict[str, tuple[object, ...]] = {
    "n": (None, 1),
    "best_of": (None, 1),
    "stream": (None, False),
    "echo": (None, False),
    "suffix": (None, ""),
    "stop": (None, "", []),
    "logit_bias": (None, {}),
    "top_logprobs": (None, 0),
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none"),
    "function_call": (None, "none"),
    "stream_options": (None,),
}


def _is_off(value: object, off: tuple[object, ...]) -> bool:
    return value is None or any(
        value == v and isinstance(value, bool) == isinstance(v, bool) for v in off)


def check_supported(body: Mapping[str, Any], *, chat: bool) -> None:
    """ConfigError (a 400 answer) for any parameter the server would otherwise ignore:
    a client asking for ``n=4`` or ``stream=true`` must not get one silent non-streamed
    answer."""
    for key, off in _UNSUPPORTED.items():
        value = body.get(key)
        if _is_off(value, off):
            continue
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        allowed = ", ".join(repr(v) for v in off if v is not None)
        raise ConfigError(f"'{key}' = {shown} is not supported by this server "
                          f"(use {allowed} or leave it out)" if allowed else
                          f"'{key}' is not supported by this server (leave it out)")
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise ConfigError("'response_format' other than text is not supported by this server")
    lp = body.get("logprobs")
    if not chat and not _is_off(lp, (False, 0, 1)):
        raise ConfigError(f"'logprobs' = {lp!r} is not supported by this server (only the "
                          "chosen token's log-prob: use 0 or 1)")
