"""Target specs: one string naming a backend and its options.

::

    hf:PATH_OR_ID?device=cpu&batch_size=8&dtype=float32&chat=0&trust_remote_code=0
    openai:http://host:port/v1?model=NAME&chat=1&concurrency=8&api_key_env=VAR
          &api_key_file=PATH&timeout=60&max_retries=5
    vllm:MODEL?tensor_parallel_size=1&dtype=auto&gpu_memory_utilization=0.9
          &max_model_len=4096&seed=0&chat=0
    reference            (the bundled tiny reference model; options as for hf:)

API keys never go in a spec (use ``api_key_env`` or ``api_key_file``); the target's
``name`` is the spec with any URL password removed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from regurgitate.errors import ConfigError
from regurgitate.targets.base import Target

SCHEMES = ("hf", "openai", "vllm", "reference")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no")


def _optional_str(value: str) -> str | None:
    return value or None


@dataclass(frozen=True, slots=True)
class _Scheme:
    options: dict[str, Callable[[str], Any]]
    required: tuple[str, ...] = ()


_HF_OPTIONS: dict[str, Callable[[str], Any]] = {
    "device": str, "dtype": str, "batch_size": int, "trust_remote_code": _bool, "chat": _bool,
}
_SCHEMES: dict[str, _Scheme] = {
    "hf": _Scheme(_HF_OPTIONS),
    "reference": _Scheme(_HF_OPTIONS),
    "openai": _Scheme(
        {"model": str, "chat": _bool, "concurrency": int, "api_key_env": _optional_str,
         "api_key_file": str, "timeout": float, "max_retries": int, "backoff_base": float,
         "backoff_max": float, "extensions": _bool},
        required=("model",),
    ),
    "vllm": _Scheme(
        {"tensor_parallel_size": int, "dtype": str, "gpu_memory_utilization": float,
         "max_model_len": int, "seed": int, "chat": _bool, "batch_size": int},
    ),
}


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


@dataclass(frozen=True, slots=True)
class ParsedSpec:
    """A spec split into scheme, location (path, id or URL) and typed options."""

    scheme: str
    location: str
    options: dict[str, Any]
    name: str


def parse_spec(spec: str) -> ParsedSpec:
    """Split and validate a spec without building anything (raises ConfigError)."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty target spec", hint=f"valid schemes: {', '.join(SCHEMES)}")
    head, _, query = spec.partition("?")
    if head == "reference":
        scheme, location = "reference", ""
    else:
        scheme, sep, location = head.partition(":")
        if not sep or scheme not in _SCHEMES:
            word = scheme if sep else head
            raise ConfigError(
                f"unknown target scheme {word!r}",
                hint=f"{_suggest(word, SCHEMES)}valid: hf:PATH, openai:URL?model=NAME, "
                "vllm:MODEL, reference",
            )
        if not location:
            raise ConfigError(f"target spec {spec!r} names no model or URL after '{scheme}:'")
    kind = _SCHEMES[scheme]
    options: dict[str, Any] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"cannot parse the options of target spec {head!r}",
                          hint="write them as ?key=value&key=value") from None
    for key, raw in pairs:
        if key in ("api_key", "key", "token"):
            raise ConfigError(
                "API keys are not accepted in a target spec",
                hint="put the key in an environment variable (api_key_env=VAR) "
                "or a file (api_key_file=PATH)",
            )
        if key not in kind.options:
            valid = sorted(kind.options)
            raise ConfigError(
                f"unknown option {key!r} for {scheme} targets",
                hint=f"{_suggest(key, valid)}valid: {', '.join(valid)}",
            )
        if key in options:
            raise ConfigError(f"option {key!r} given twice in the target spec")
        try:
            options[key] = kind.options[key](raw)
        except ValueError as exc:
            raise ConfigError(f"bad value {raw!r} for option {key!r}: {exc}") from None
    for key in kind.required:
        if key not in options:
            raise ConfigError(f"{scheme} targets need the option {key!r}",
                              hint=f"e.g. {scheme}:{location or 'URL'}?{key}=NAME")
    if scheme == "openai":
        location = _strip_password(location)
    name = head if scheme != "openai" else f"openai:{location}"
    if query:
        name += "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return ParsedSpec(scheme, location, options, name)


def _strip_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"openai targets need an http(s) URL, got {url!r}",
                          hint="e.g. openai:http://127.0.0.1:8000/v1?model=NAME")
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=host))


def make_target(spec: str) -> Target:
    """Build the target a spec describes (heavy libraries are imported only here)."""
    parsed = parse_spec(spec)
    opts = dict(parsed.options)
    target: Target
    if parsed.scheme in ("hf", "reference"):
        from regurgitate.targets.hf import HFTarget

        location = parsed.location
        if parsed.scheme == "reference":
            from regurgitate import reference

            location = str(reference.model_dir())
            opts.setdefault("chat", True)  # a chat model: messages go through its template
        target = HFTarget(location, **opts)
    elif parsed.scheme == "openai":
        from regurgitate.targets.openai_compat import OpenAITarget

        model = opts.pop("model")
        target = OpenAITarget(spec.strip().partition("?")[0].partition(":")[2], model, **opts)
    else:
        from regurgitate.targets.vllm import VLLMTarget

        target = VLLMTarget(parsed.location, **opts)
    target.name = parsed.name
    return target
