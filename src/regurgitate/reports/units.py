"""What a run's verbatim figures count, so reports state them honestly.

Verbatim spans are measured in the reference index's units: tokens of the index's tokenizer,
or UTF-8 bytes for a byte-level index. Generated tokens are the model's. Dividing one by the
other gave "154% memorized" for a BPE model checked against a byte-level index; here the
memorized share is recomputed over the generated text measured in the index's own unit
(bytes are countable from the text itself) and can never exceed 100%.

A run without a reference index checked nothing: its verbatim figures are "not checked",
never 0%.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from regurgitate.types import Item

TOKENS = "tokens"
BYTES = "bytes"


def index_unit(index_info: dict[str, Any] | None) -> str:
    """``bytes`` for a byte-level index, else ``tokens``."""
    info = index_info or {}
    tok = info.get("tokenizer")
    name = tok.get("name") if isinstance(tok, dict) else None
    return BYTES if info.get("dtype") == "u8" or name == BYTES else TOKENS


def generated_bytes(items: Sequence[Item]) -> int:
    return sum(len(it.generation.text.encode("utf-8", "replace"))
               for it in items if it.generation.ok)


def in_unit(summary: Any, items: Sequence[Item], unit: str) -> Any:
    """``summary`` (an AttackSummary over ``items``) with its memorized share over generated
    text counted in ``unit`` and capped at 100%."""
    den = generated_bytes(items) if unit == BYTES else summary.generated_tokens
    rate = None if not den else min(1.0, summary.memorized_tokens / den)
    return dataclasses.replace(summary, memorized_token_rate=rate)
