"""Train the reference byte-level BPE tokenizer (4,096 entries incl. ``<|endoftext|>``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from regurgitate.errors import MissingDependencyError

EOT = "<|endoftext|>"
VOCAB_SIZE = 4096


def train_bpe(docs: Sequence[str], vocab_size: int = VOCAB_SIZE) -> Any:
    """A GPT-2-style byte-level BPE trained on ``docs`` with fixed settings."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    return tok


def save_tokenizer(tok: Any, model_dir: Path) -> None:
    """Save as a transformers ``PreTrainedTokenizerFast`` (tokenizer.json + configs)."""
    try:
        from transformers import PreTrainedTokenizerFast
    except ImportError as exc:
        raise MissingDependencyError("transformers", "hf",
                                     "saving the reference tokenizer") from exc
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOT, eos_token=EOT,
                                   unk_token=EOT, model_max_length=128)
    model_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(model_dir))
    write_special_tokens_map(model_dir)


def write_special_tokens_map(model_dir: Path) -> None:
    """transformers >= 5 no longer writes it; older versions and other tools read it."""
    path = model_dir / "special_tokens_map.json"
    if not path.exists():
        tokens = {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT}
        path.write_text(json.dumps(tokens, indent=2) + "\n", encoding="utf-8")
