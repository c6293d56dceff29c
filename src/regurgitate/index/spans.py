"""Records returned by index queries and the pure logic turning match lengths into spans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from regurgitate.types import Span, SpanWindow


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a token sequence occurs: global document id and token offset inside it."""

    doc_id: int
    token_offset: int


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """An exact maximal match [token_start, token_end) of a query (see
    :meth:`regurgitate.index.CorpusIndex.maximal_spans` for the exact definition).

    The span's own tokens occur exactly ``count`` times in the corpus, in ``documents``.
    Overlapping matches are separate spans (use :func:`union_regions` for coverage);
    ``piece_start``/``piece_end`` equal ``token_start``/``token_end`` (kept for callers that
    read them). ``window``: the span's most repeated window (:class:`SpanWindow`, offsets in
    tokens only), None for a span shorter than the window or when none was computed.
    """

    token_start: int
    token_end: int
    count: int
    documents: tuple[int, ...]
    piece_start: int
    piece_end: int
    window: SpanWindow | None = None

    @property
    def tokens(self) -> int:
        return self.token_end - self.token_start


def window_starts(spans: list[tuple[int, int]], window: int
                  ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The distinct start positions of every ``window``-token window inside the spans
    ``[s, e)`` (overlapping spans share theirs), sorted, and for each span the slice of that
    array holding its own windows (empty for a span shorter than ``window``)."""
    runs = [np.arange(s, e - window + 1, dtype=np.int64) for s, e in spans
            if e - s >= window]
    starts = np.unique(np.concatenate(runs)) if runs else np.zeros(0, dtype=np.int64)
    slices = []
    for s, e in spans:
        if e - s < window:
            slices.append((0, 0))
        else:
            a = int(np.searchsorted(starts, s))
            slices.append((a, a + e - window + 1 - s))
    return starts, slices


def char_span(s: TokenSpan, offsets: np.ndarray) -> Span:
    """The :class:`~regurgitate.types.Span` of a token span, with character offsets from the
    tokenizer's ``offsets`` (one ``[start, end)`` row per token), its window's too."""
    win = s.window
    if win is not None:
        a = s.token_start + win.offset
        win = SpanWindow(win.offset, win.tokens, win.count, win.documents,
                         start=int(offsets[a, 0]), end=int(offsets[a + win.tokens - 1, 1]))
    return Span(start=int(offsets[s.token_start, 0]), end=int(offsets[s.token_end - 1, 1]),
                token_start=s.token_start, token_end=s.token_end, count=s.count,
                documents=s.documents, piece_start=s.piece_start, piece_end=s.piece_end,
                window=win)


def doc_label(meta: dict[str, Any], doc_id: int) -> str:
    """A document's name from its stored metadata (see ``CorpusIndex.doc_name``): the id
    stored at build time (the record's id field, else ``path:line``/``path:row``/the file's
    path); for an index built by infini-gram, the ``id`` among the record's fields it kept,
    else ``path:line`` (its 0-based ``linenum`` shown 1-based); ``doc N`` when nothing is
    known."""
    if meta.get("id") not in (None, ""):
        return str(meta["id"])
    inner = meta.get("metadata")
    if isinstance(inner, dict) and inner.get("id") not in (None, ""):
        return str(inner["id"])
    path = meta.get("path") or meta.get("source") or meta.get("file")
    line = meta.get("line", meta.get("row"))
    if line is None and isinstance(meta.get("linenum"), int):
        line = meta["linenum"] + 1
    if path and line is not None:
        return f"{path}:{line}"
    if path:
        return str(path)
    return f"doc {doc_id}"


def maximal_pieces(lengths: np.ndarray, min_tokens: int) -> list[tuple[int, int]]:
    """Maximal exact matches from longest-match lengths ``L``: every ``[i, i + L[i])`` with
    ``L[i] >= min_tokens`` not contained in ``[i - 1, i - 1 + L[i - 1])``.

    Since ``L[i] >= L[i - 1] - 1`` always holds, containment means ``L[i] == L[i - 1] - 1``;
    such a match can be extended neither right (L is the longest) nor left.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 0:
        return []
    prev = np.concatenate(([0], lengths[:-1]))
    keep = (lengths >= min_tokens) & (lengths >= prev)
    return [(int(i), int(i + lengths[i])) for i in np.flatnonzero(keep)]


def union_regions(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of half-open intervals as sorted disjoint regions. Overlapping intervals
    merge; intervals that only touch stay separate regions (coverage is the same either
    way, and each region then still names where one run of matches begins and ends)."""
    regions: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if regions and s < regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], e))
        else:
            regions.append((s, e))
    return regions


def covered_length(intervals: list[tuple[int, int]]) -> int:
    """Number of positions inside at least one interval (the size of their union)."""
    return sum(e - s for s, e in union_regions(intervals))
