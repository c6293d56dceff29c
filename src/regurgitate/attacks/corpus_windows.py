"""Deterministic sampling of token windows from a corpus index (shared by attacks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regurgitate.errors import ConfigError

if TYPE_CHECKING:
    from regurgitate.index.query import CorpusIndex


@dataclass(frozen=True)
class Window:
    doc_id: int
    offset: int
    ids: np.ndarray


def sample_windows(
    index: CorpusIndex, length: int, count: int, *, seed: int, max_tries_factor: int = 50,
) -> Iterator[Window]:
    """Yield ``count`` windows of exactly ``length`` tokens from random documents long enough
    to hold them (uniform over documents, then over positions). Deterministic for a seed."""
    if index.num_docs == 0:
        raise ConfigError("the index has no documents to sample prompts from")
    rng = np.random.default_rng(seed)
    found = 0
    for _ in range(count * max_tries_factor):
        if found == count:
            return
        doc_id = int(rng.integers(index.num_docs))
        toks = index.document_tokens(doc_id)
        if len(toks) < length:
            continue
        offset = int(rng.integers(len(toks) - length + 1))
        found += 1
        yield Window(doc_id, offset, np.asarray(toks[offset:offset + length]))
    if found < count:
        raise ConfigError(
            f"could only sample {found} of {count} windows of {length} tokens from the index",
            hint="the corpus documents are too short for this attack; lower the token counts",
        )
