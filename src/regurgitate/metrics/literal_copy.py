"""CopyBench's literal-copy measure: ROUGE-L of a whole text against a source's best window.

:func:`best_window_rouge_l` compares a text of ``n`` words with every window of ``n``
consecutive words of a source and returns the window with the highest ROUGE-L F1 (words are
whitespace-separated, as in :func:`regurgitate.metrics.similarity.rouge_l`). With windows
as long as the text, F1 is the longest common subsequence of words divided by ``n``. A source
no longer than the text is one window: the whole source.

All windows are scored at once, exactly, in O(n * D) for a source of D words, by the
seaweed method of semi-local LCS (Tiskin, "Semi-local string comparison", 2008): after
"combing" the alignment grid, column ``j`` holds a seaweed that entered at column ``h[j]``
(or from the left, ``-1``), and ``LCS(text, source[l:r])`` is the number of columns ``j`` in
``[l, r)`` with ``h[j] < l``. The loop is compiled by numba; a short text against a short
source is scored window by window with rapidfuzz instead. Past ``CELL_BUDGET`` grid cells
(a book against a longer book) it scores ``SAMPLED_WINDOWS`` evenly spaced windows instead,
with rapidfuzz, and says the figure is a lower bound (``exact=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from rapidfuzz.distance import LCSseq

#: grid cells (text words x source words) scored exactly; past it windows are sampled
CELL_BUDGET = 1_000_000_000
#: windows scored when the grid is past CELL_BUDGET
SAMPLED_WINDOWS = 16
#: a text of at most this many words, against at most SMALL_GRID / words windows, is scored
#: window by window with rapidfuzz instead (no compilation for the usual short output)
SMALL_TEXT_WORDS = 256
SMALL_GRID = 2_000_000

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(fn: F) -> F:
    try:
        return cast(F, njit(cache=True, nogil=True)(fn))
    except RuntimeError:  # no cache locator (read-only install): compile in memory
        return cast(F, njit(nogil=True)(fn))


@_compiled
def _window_lcs(a: np.ndarray, b: np.ndarray, width: int) -> np.ndarray:
    """LCS(a, b[l:l + width]) for every l in [0, len(b) - width]."""
    d = b.size
    h = np.arange(d, dtype=np.int64)
    for i in range(a.size):
        v = np.int64(-1)
        x = a[i]
        for j in range(d):
            hj = h[j]
            if x == b[j] or hj < v:
                h[j] = v
                v = hj
    # column j counts for the windows starting in [max(h[j] + 1, j - width + 1), j]
    windows = d - width + 1
    diff = np.zeros(windows + 1, dtype=np.int64)
    for j in range(d):
        lo = max(h[j] + 1, j - width + 1)
        hi = min(j, windows - 1)
        if lo <= hi:
            diff[lo] += 1
            diff[hi + 1] -= 1
    return np.cumsum(diff[:windows])


@dataclass(frozen=True)
class WindowMatch:
    """The source window that best matches a whole text, by ROUGE-L over words."""

    rouge_l: float  # F1 of the text against the window
    lcs_words: int  # their longest common subsequence, in words
    text_words: int
    window_start: int  # the window, in words of the source
    window_words: int
    exact: bool  # False: the best of SAMPLED_WINDOWS windows, a lower bound


def _f1(lcs: int, n: int, m: int) -> float:
    return 0.0 if lcs == 0 else 2 * lcs / (n + m)


class WindowScorer:
    """One text, scored against many sources: the text's words are encoded once."""

    def __init__(self, text: str) -> None:
        self._vocab: dict[str, int] = {}
        words = text.split()
        self._codes = np.fromiter((self._vocab.setdefault(w, len(self._vocab)) for w in words),
                                  dtype=np.int64, count=len(words))
        self._list: list[int] | None = None

    def _text_list(self) -> list[int]:
        if self._list is None:
            self._list = self._codes.tolist()
        return self._list

    def best(self, source: str, *, cell_budget: int = CELL_BUDGET) -> WindowMatch:
        """The window of ``source`` (as many words as the text) with the highest ROUGE-L."""
        sw = source.split()
        a, n, d = self._codes, self._codes.size, len(sw)
        if n == 0 or d == 0:
            return WindowMatch(1.0 if n == d else 0.0, 0, n, 0, d, True)
        b = np.fromiter((self._vocab.get(w, -1) for w in sw), dtype=np.int64, count=d)
        if d <= n:
            lcs = int(LCSseq.similarity(self._text_list(), b.tolist()))
            return WindowMatch(_f1(lcs, n, d), lcs, n, 0, d, True)
        if n * d <= cell_budget:
            windows = d - n + 1
            if n <= SMALL_TEXT_WORDS and n * windows <= SMALL_GRID:
                al, bl = self._text_list(), b.tolist()
                scores = np.array([LCSseq.similarity(al, bl[i:i + n]) for i in range(windows)])
            else:
                scores = _window_lcs(a, b, n)
            start = int(np.argmax(scores))
            lcs = int(scores[start])
            return WindowMatch(lcs / n, lcs, n, start, n, True)
        best = (-1, 0)
        starts = np.unique(np.linspace(0, d - n, SAMPLED_WINDOWS).astype(np.int64))
        for start in starts.tolist():
            lcs = int(LCSseq.similarity(self._text_list(), b[start:start + n].tolist()))
            if lcs > best[0]:
                best = (lcs, start)
        return WindowMatch(best[0] / n, best[0], n, best[1], n, False)


def best_window_rouge_l(text: str, source: str, *,
                        cell_budget: int = CELL_BUDGET) -> WindowMatch:
    """The window of ``source`` (as many words as ``text``) with the highest ROUGE-L F1."""
    return WindowScorer(text).best(source, cell_budget=cell_budget)
