"""Deterministic sampling of token windows from a corpus index (shared by attacks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regurgitate.errors import ConfigError

if TYPE_CHECKING:
    from regurgitate.corpus.tokenizer import Tokenizer
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


def sample_text_windows(
    index: CorpusIndex, tokenizer: Tokenizer, length: int, count: int, *, seed: int,
    keep: Callable[[np.ndarray], bool] | None = None, max_shift: int = 16,
    max_tries_factor: int = 50,
) -> Iterator[Window]:
    """Like :func:`sample_windows`, but in the tokens of ``tokenizer`` rather than the
    index's: a random document's text (decoded from the index) is encoded with
    ``tokenizer`` and a window of ``length`` of its tokens drawn (uniform over documents, then
    over positions; ``offset`` counts ``tokenizer``'s tokens). With ``keep``, the start moves
    forward (at most ``max_shift`` tokens) to the first window ``keep`` accepts; a document
    without one is drawn again. Deterministic for a seed."""
    if index.num_docs == 0:
        raise ConfigError("the index has no documents to sample prompts from")
    rng = np.random.default_rng(seed)
    encoded: dict[int, np.ndarray] = {}
    found = 0
    for _ in range(count * max_tries_factor):
        if found == count:
            return
        doc_id = int(rng.integers(index.num_docs))
        if doc_id not in encoded:
            text = index.tokenizer.decode(index.document_tokens(doc_id))
            encoded[doc_id] = tokenizer.encode(text)
        toks = encoded[doc_id]
        if len(toks) < length:
            continue
        offset = int(rng.integers(len(toks) - length + 1))
        for start in range(offset, min(offset + max_shift, len(toks) - length) + 1):
            ids = np.asarray(toks[start:start + length])
            if keep is None or keep(ids):
                found += 1
                yield Window(doc_id, start, ids)
                break
    if found < count:
        raise ConfigError(
            f"could only sample {found} of {count} windows of {length} tokens of "
            f"{tokenizer.name} from the index",
            hint="the corpus documents are too short for this attack; lower the token counts",
        )
