"""What the detectors need from a corpus index (``regurgitate.index.CorpusIndex`` provides it).

Declared as a protocol so the detectors depend on the interface, not on the index package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from regurgitate.types import Document, Span


class IndexLike(Protocol):
    @property
    def tokenizer(self) -> Any:  # a regurgitate.corpus.tokenizer.Tokenizer
        ...

    def find_spans(
        self, texts: Sequence[str], min_tokens: int = 50, max_docs: int = 10, *,
        window_tokens: int | None = None, windows: bool = True,
    ) -> list[list[Span]]:
        """Maximal spans, each with its most repeated window of ``window_tokens`` tokens
        (default ``min_tokens``) unless ``windows`` is False."""
        ...

    def count(self, ids: Sequence[int]) -> int:
        """Occurrences of the token sequence in the corpus."""
        ...

    def occurrences(self, ids: Sequence[int], limit: int) -> list[Any]:
        """Objects with ``doc_id`` and ``token_offset`` attributes."""
        ...

    def first_occurrences(self, seqs: Sequence[Sequence[int]]) -> list[Any]:
        """``occurrences(ids, limit=1)[0]`` (or None) of many sequences at once."""
        ...

    def occurrences_batch(self, seqs: Sequence[Sequence[int]], limit: int) -> list[list[Any]]:
        """``occurrences(ids, limit)`` of many sequences at once."""
        ...

    def context(
        self, doc_id: int, token_offset: int, length: int, margin: int = 30
    ) -> tuple[str, str, str]: ...

    def doc_name(self, doc_id: int) -> str: ...

    def document(self, doc_id: int) -> Document: ...
