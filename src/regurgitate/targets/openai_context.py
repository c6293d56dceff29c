"""The context window of a served model, and how long a prompt is in its tokens.

An OpenAI-compatible endpoint fails (vLLM, OpenAI: HTTP 400 naming the maximum context
length; ``transformers serve``: HTTP 500) when prompt + ``max_tokens`` exceeds the model's
window. The OpenAI target keeps every request inside it: the window comes from a
``context=N`` option, ``max_model_len`` of ``/v1/models`` (vLLM), or the config of a local
model folder (``transformers serve DIR`` serves the model under the name ``DIR``); the
prompt's length from a tokenizer, an earlier answer's ``usage.prompt_tokens``, or a
conservative estimate (one token per UTF-8 byte: no byte-level BPE needs more).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

#: config.json keys naming a model's positions, most specific first
_CONFIG_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx")
#: tokens a chat template may add per message and around the conversation (estimate only)
_PER_MESSAGE = 8
_OVERHEAD = 16

_MAX_CONTEXT = re.compile(r"maximum context length is (\d+)", re.IGNORECASE)
_N_CTX = re.compile(r"\"?n_ctx\"?\s*[:=]\s*(\d+)|available context size \((\d+) tokens\)")
_INPUT_TOKENS = (
    re.compile(r"\((\d+) in the messages"),
    re.compile(r"\((\d+) in the prompt"),
    re.compile(r"request has (\d+) input tokens"),
    re.compile(r"messages resulted in (\d+) tokens"),
    re.compile(r"\"?n_prompt_tokens\"?\s*[:=]\s*(\d+)"),
    re.compile(r"request \((\d+) tokens\) exceeds the available context"),
)


def parse_context_error(text: str) -> tuple[int, int | None] | None:
    """``(window, prompt tokens or None)`` from an error naming the maximum context length
    (vLLM's and OpenAI's wording, llama.cpp's message or ``n_ctx``), else None."""
    found = _MAX_CONTEXT.search(text) or _N_CTX.search(text)
    if found is None:
        return None
    window = int(next(g for g in found.groups() if g is not None))
    prompt = None
    for pattern in _INPUT_TOKENS:
        m = pattern.search(text)
        if m:
            prompt = int(m.group(1))
            break
    return window, prompt


def local_model_dir(name: str | None) -> Path | None:
    """``name`` as a local model folder (one holding config.json or a tokenizer), else None."""
    if not name:
        return None
    try:
        path = Path(name).expanduser()
        if path.is_dir() and any((path / f).is_file() for f in
                                 ("config.json", "tokenizer.json", "tokenizer_config.json")):
            return path
    except OSError:
        return None
    return None


def config_context(folder: Path) -> int | None:
    """The positions a local model's config.json gives, else None."""
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for source in (cfg, cfg.get("text_config") or {}):
        for key in _CONFIG_KEYS:
            value = source.get(key) if isinstance(source, dict) else None
            if isinstance(value, int) and value > 0:
                return value
    return None


def models_context(data: Any, model: str) -> int | None:
    """``max_model_len`` of ``model`` in a ``/v1/models`` answer (vLLM offers it), else None."""
    try:
        entries = data["data"]
    except (KeyError, TypeError):
        return None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("id") == model:
            value = entry.get("max_model_len")
            return value if isinstance(value, int) and value > 0 else None
    return None


def estimate_tokens(text: str | None, messages: Any = None) -> int:
    """A length no tokenizer exceeds for byte-level BPEs: one token per UTF-8 byte, plus
    room for what a chat template adds around messages."""
    if messages:
        return _OVERHEAD + sum(_PER_MESSAGE + len(str(m.get("content", "")).encode("utf-8"))
                               for m in messages)
    return _OVERHEAD + len((text or "").encode("utf-8"))


class PromptCounter:
    """Tokens of a prompt under a known tokenizer (a local folder or a cached hub id)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer

    @classmethod
    def load(cls, name: str) -> PromptCounter:
        from regurgitate.errors import ConfigError

        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise ConfigError("tokenizer= needs transformers",
                              hint="pip install 'regurgitate[hf]'") from None
        local = local_model_dir(name) is not None
        try:
            tok = AutoTokenizer.from_pretrained(str(Path(name).expanduser()) if local else name,
                                                local_files_only=True)
        except Exception as exc:
            raise ConfigError(f"cannot load the tokenizer {name!r}: {exc}",
                              hint="give a local folder, or a hub id already cached") from None
        return cls(tok)

    def count(self, text: str | None, messages: Any = None) -> int:
        tok = self._tok
        if messages:
            if getattr(tok, "chat_template", None):
                ids = tok.apply_chat_template([dict(m) for m in messages], tokenize=True,
                                              add_generation_prompt=True)
                if isinstance(ids, dict) or hasattr(ids, "keys"):
                    ids = ids["input_ids"]
                return len(ids)
            text = "\n".join(str(m.get("content", "")) for m in messages)
        return len(tok(text or "")["input_ids"])

    def end_of_text_ids(self) -> list[int]:
        """The tokenizer's end-of-sequence token(s): what ``logit_bias`` suppresses."""
        eos = getattr(self._tok, "eos_token_id", None)
        if eos is None:
            return []
        return sorted({int(e) for e in (eos if isinstance(eos, list) else [eos])})

    def document_start(self) -> str | None:
        """The text of the tokenizer's document boundary token (BOS, else EOS), if any."""
        tok = self._tok
        return getattr(tok, "bos_token", None) or getattr(tok, "eos_token", None)

    def token_text(self, token_id: int) -> str:
        return str(self._tok.convert_ids_to_tokens(token_id))
