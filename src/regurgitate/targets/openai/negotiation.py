"""What to send to which server: server families, their neutral sampling fields, and the
fields an endpoint refuses.

Servers apply samplers of their own when a request leaves a field out (llama.cpp: top_k 40,
min_p 0.05; llama-cpp-python also repeat_penalty 1.1; vLLM: the model's generation_config),
which changes greedy output and every sampled figure without a word. So every request carries
explicit neutral values for every sampler its server family may apply by default; a field the
server refuses by name (HTTP 400/422) is dropped for the run. The family is recognised from
``/v1/models`` (``owned_by``), the URL, response headers or an error's shape; an unrecognised
server gets the union of the common neutral fields. docs/api-servers.md lists each family's
defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: neutral values of OpenAI's own sampling fields (accepted by every OpenAI-style server)
_OPENAI_NEUTRAL: dict[str, Any] = {"top_p": 1.0, "frequency_penalty": 0.0,
                                   "presence_penalty": 0.0}
#: llama.cpp's samplers off (its server and llama-cpp-python's take these names)
_LLAMA_NEUTRAL: dict[str, Any] = {**_OPENAI_NEUTRAL, "top_k": 0, "min_p": 0.0,
                                  "typical_p": 1.0, "repeat_penalty": 1.0}

_LLAMA_RENAME = {"repetition_penalty": ("repeat_penalty",)}


@dataclass(frozen=True, slots=True)
class Family:
    """A server family: how to switch its own samplers off and what it calls our controls."""

    name: str
    #: fields sent on every request so the server applies no sampler of its own
    neutral: Mapping[str, Any]
    #: our field name -> the names it goes out under (``repetition_penalty`` -> llama.cpp's
    #: ``repeat_penalty``; both where the family is unknown)
    renames: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: extra fields a chat request needs to get log-probs back
    chat_logprobs: Mapping[str, Any] = field(default_factory=dict)
    #: the defaults it applies to a request that omits them (docs and the run's note)
    defaults: str = ""

    def shape(self, body: dict[str, Any], *, chat: bool, extensions: bool = True) -> set[str]:
        """Add the neutral fields ``body`` lacks and rename our controls, in place; the names
        of the neutral fields added. With ``extensions`` off only OpenAI's own are added."""
        for ours, theirs in self.renames.items():
            if ours in body:
                value = body.pop(ours)
                body.update(dict.fromkeys(theirs, value))
        added = set()
        for name, value in self.neutral.items():
            if not extensions and name not in _OPENAI_NEUTRAL:
                continue
            if name not in body:
                body[name] = value
                added.add(name)
        if chat and body.get("logprobs"):
            body.update(self.chat_logprobs)
        return added


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("llama-cpp-python", _LLAMA_NEUTRAL, _LLAMA_RENAME,
           {"top_logprobs": 1},
           "temperature 0.8, top_p 0.95, top_k 40, min_p 0.05, repeat_penalty 1.1"),
    Family("llama.cpp", {**_LLAMA_NEUTRAL, "xtc_probability": 0.0, "dry_multiplier": 0.0,
                         "top_n_sigma": -1.0, "mirostat": 0},
           _LLAMA_RENAME, {"top_logprobs": 1},
           "temperature 0.8, top_p 0.95, top_k 40, min_p 0.05 (repeat_penalty 1.0)"),
    Family("lm-studio", _LLAMA_NEUTRAL, _LLAMA_RENAME,
           {"top_logprobs": 1},
           "temperature 0.8, top_p 0.95, top_k 40, min_p 0.05, repeat_penalty 1.1 "
           "(llama.cpp engine)"),
    Family("ollama", _OPENAI_NEUTRAL, {}, {"top_logprobs": 1},
           "temperature 0.8, top_p 0.9, top_k 40, repeat_penalty 1.1; /v1 cannot change "
           "top_k, min_p or repeat_penalty (set them in a Modelfile)"),
    Family("vllm", {**_OPENAI_NEUTRAL, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0},
           {}, {"top_logprobs": 0},
           "the model's generation_config.json (temperature, top_p, top_k, min_p, "
           "repetition_penalty) unless started with --generation-config vllm"),
    Family("tgi", {"frequency_penalty": 0.0, "presence_penalty": 0.0}, {},
           {"top_logprobs": 1},
           "none beyond the request's; top_p must be < 1, so it is left out"),
    Family("transformers-serve", _OPENAI_NEUTRAL, {}, {},
           "the model's generation_config.json (do_sample, top_k 50 when sampling); refuses "
           "top_k, min_p and repetition_penalty by name (HTTP 422)"),
    Family("openai", _OPENAI_NEUTRAL, {}, {}, "none (top_p 1, penalties 0)"),
    Family("regurgitate", {**_OPENAI_NEUTRAL, "top_k": 0, "repetition_penalty": 1.0}, {}, {},
           "none (top_k 0, top_p 1, penalties off)"),
    Family("unknown", {**_LLAMA_NEUTRAL, "repetition_penalty": 1.0},
           {"repetition_penalty": ("repetition_penalty", "repeat_penalty")},
           {"top_logprobs": 1}, "unknown"),
)}
#: ``owned_by`` of ``/v1/models`` entries -> family
_OWNED_BY = {"me": "llama-cpp-python", "llamacpp": "llama.cpp", "vllm": "vllm",
             "library": "ollama", "ollama": "ollama", "organization_owner": "lm-studio",
             "regurgitate": "regurgitate", "openai": "openai", "system": "openai",
             "tgi": "tgi"}


def family(name: str) -> Family:
    return FAMILIES.get(name, FAMILIES["unknown"])


def family_from_models(data: Any, model: str) -> str | None:
    """The family a ``/v1/models`` answer names (``owned_by``, llama.cpp's ``meta``)."""
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    chosen = [e for e in entries if isinstance(e, dict) and e.get("id") == model] or [
        e for e in entries if isinstance(e, dict)]
    for entry in chosen[:1]:
        owner = str(entry.get("owned_by", "")).lower()
        if owner in _OWNED_BY:
            return _OWNED_BY[owner]
        if isinstance(entry.get("meta"), dict) and "n_ctx_train" in entry["meta"]:
            return "llama.cpp"
    return None


def family_from_url(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").lower()
    return "openai" if host == "api.openai.com" else None


def family_from_headers(headers: Mapping[str, str]) -> str | None:
    server = str(headers.get("server", "")).lower()
    if "llama.cpp" in server:
        return "llama.cpp"
    if "x-compute-type" in headers or "x-compute-time" in headers:
        return "tgi"
    return None


def family_from_error(shape: str, message: str) -> str | None:
    """The family an error's shape gives away (TGI's ``error_type``, transformers serve's
    FastAPI ``detail`` with "Unexpected fields")."""
    if shape == "tgi":
        return "tgi"
    if shape == "fastapi" and "Unexpected fields in the request" in message:
        return "transformers-serve"
    return None


#: request fields never dropped on a refusal (without them there is no request)
_CORE = frozenset({"model", "prompt", "messages", "max_tokens", "temperature"})


def refused_fields(body: Mapping[str, Any], message: str) -> list[str]:
    """Fields of ``body`` an error message names (each is dropped for the run)."""
    return [f for f in body if f not in _CORE
            and re.search(rf"(?<![A-Za-z_]){re.escape(f)}(?![A-Za-z_])", message)]


#: our controls, and the fields that may carry each (after a family's renames)
CONTROL_FIELDS: dict[str, tuple[str, ...]] = {
    "repetition_penalty": ("repetition_penalty", "repeat_penalty"),
    "frequency_penalty": ("frequency_penalty",),
    "presence_penalty": ("presence_penalty",),
    "min_tokens": ("min_tokens",),
    "logit_bias": ("logit_bias",),
    "top_k": ("top_k",),
    "top_p": ("top_p",),
    "seed": ("seed",),
    "temperature": ("temperature",),
    "logprobs": ("logprobs", "top_logprobs"),
}
