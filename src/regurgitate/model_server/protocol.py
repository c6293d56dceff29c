"""The model server's side of the OpenAI wire format: request bodies to Prompts, and which
fields this server refuses. The shapes themselves (settings fields, responses, errors) live in
:mod:`regurgitate.targets.openai.wire`, shared with the OpenAI target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regurgitate.errors import ConfigError
from regurgitate.targets.openai.wire import (
    TokenText,
    chat_response,
    completion_response,
    context_error_body,
    error_body,
    settings_from_body,
)
from regurgitate.types import Prompt

__all__ = ["TokenText", "chat_prompt", "chat_response", "check_supported", "completion_prompts",
           "completion_response", "context_error_body", "error_body", "settings_from_body"]


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
