"""Memorized n-grams: the counting unit that stays put as a run grows.

A unique memorized *sequence* (``detectors.verbatim.unique_sequences``) is a cluster of
overlapping spans, so how many there are after n generations depends on what later
generations add (a later span can merge two clusters, or a longer one can swallow them).
A memorized ``n``-gram (``n`` = the verbatim threshold, ``--min-tokens``) is a window of
``n`` consecutive tokens inside a verbatim span, identified by its token ids. Every window of
a span occurs in the corpus, so a generation's memorized n-grams are a property of that
generation alone, and the number of unique n-grams after the first k generations of a run is
the same whatever follows them. Nasr et al. (2023) counted unique memorized 50-grams.

Input is a generation's tokens in the *index's* tokenization plus each span's token range
(``token_start``/``token_end``), or a span's own token ids (range ``0, len``): the same
function serves both, so a payload that stores a long repeated run as one span (its unit and
its range) only has to rebuild the tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

NGram = tuple[int, ...]

__all__ = ["NGram", "ngram_incidence", "span_ngrams"]


def span_ngrams(tokens: Sequence[int], start: int, end: int, n: int) -> set[NGram]:
    """The distinct ``n``-token windows of ``tokens[start:end]`` (none when shorter than n)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    lo, hi = max(0, int(start)), min(len(tokens), int(end))
    piece = tuple(int(t) for t in tokens[lo:hi])
    return {piece[i:i + n] for i in range(len(piece) - n + 1)}


def ngram_incidence(per_generation: Iterable[Iterable[NGram]]) -> Counter[NGram]:
    """For each n-gram, the number of generations that contained it (its incidence count,
    what the estimators of :mod:`regurgitate.metrics.extrapolation` take)."""
    out: Counter[NGram] = Counter()
    for grams in per_generation:
        out.update(set(grams))
    return out
