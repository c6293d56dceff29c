"""The context window of a served model, and how long a prompt is in its tokens.

The window comes from a ``context=N`` option, ``max_model_len`` of ``/v1/models`` (vLLM), or
the config of a local model folder (``transformers serve DIR`` serves the model under the name
``DIR``); the prompt's length from a tokenizer or an answer's ``usage.prompt_tokens`` or an
overflow error's count (:func:`regurgitate.targets.openai.wire.parse_context_error`). Nothing
here estimates: without a known count the prompt is sent and the server decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: config.json keys naming a model's positions, most specific first
_CONFIG_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx")


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
