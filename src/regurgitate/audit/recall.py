"""Near-verbatim recall of a work from free-running outputs (Ahmed, Cooper et al. 2026).

Text is compared as words: runs of letters and digits, lowercased (punctuation, spacing and
case are not evidence either way). For each output, blocks are found greedily by longest
common substring: every maximal run of at least ``min_words`` words shared by the output and
the work is a candidate, the longest first, and a candidate is kept when it overlaps no kept
block of the same output. Blocks of all outputs are then placed on the work and merged where
the work words between them number at most ``gap`` (an edited word or two inside a long copy
keeps it one near-verbatim block). Recall is the share of the work's characters inside the
merged blocks, not counting a seed the prompt gave (``given``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")

#: a block must hold this many consecutive shared words
MIN_WORDS = 20
#: blocks of the work at most this many words apart are merged
GAP_WORDS = 3


@dataclass(frozen=True)
class Words:
    """A text as lowercased words with their [start, end) character offsets."""

    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, text: str) -> Words:
        found = list(_WORD.finditer(text))
        return cls(tuple(m.group().lower() for m in found),
                   tuple((m.start(), m.end()) for m in found))


@dataclass(frozen=True)
class Block:
    """A run of ``words`` words shared by output ``output`` (from word ``output_word``) and the
    work (from word ``work_word``); ``start``/``end`` are its characters in the work."""

    output: int
    output_word: int
    work_word: int
    words: int
    start: int
    end: int


@dataclass(frozen=True)
class Recall:
    recall: float
    blocks: tuple[Block, ...]
    #: merged near-verbatim stretches of the work, [start, end) characters
    merged: tuple[tuple[int, int], ...]
    min_words: int
    gap: int

    @property
    def longest(self) -> int:
        return max((b - a for a, b in self.merged), default=0)

    def as_json(self) -> dict[str, object]:
        return {"recall": self.recall, "min_words": self.min_words, "gap_words": self.gap,
                "longest_chars": self.longest, "blocks": len(self.blocks),
                "stretches": [{"start": a, "end": b} for a, b in self.merged]}


def _maximal_matches(out: Sequence[str], work: Sequence[str], index: dict[tuple[str, ...],
                     list[int]], k: int) -> list[tuple[int, int, int]]:
    """(length, output start, work start) of every maximal common run of >= k words."""
    found: list[tuple[int, int, int]] = []
    for i in range(len(out) - k + 1):
        for j in index.get(tuple(out[i:i + k]), ()):
            if i > 0 and j > 0 and out[i - 1] == work[j - 1]:
                continue  # not the start of a maximal run
            n = k
            while i + n < len(out) and j + n < len(work) and out[i + n] == work[j + n]:
                n += 1
            found.append((n, i, j))
    return found


def blocks_of(output: Words, work: Words, index: dict[tuple[str, ...], list[int]],
              output_no: int, min_words: int) -> list[Block]:
    """Greedy longest-common-substring blocks of one output (see the module docstring)."""
    kept: list[Block] = []
    taken: list[tuple[int, int]] = []
    for n, i, j in sorted(_maximal_matches(output.words, work.words, index, min_words),
                          key=lambda m: (-m[0], m[1], m[2])):
        if any(i < b and a < i + n for a, b in taken):
            continue
        taken.append((i, i + n))
        kept.append(Block(output_no, i, j, n, work.spans[j][0], work.spans[j + n - 1][1]))
    return kept


def near_verbatim_recall(work_text: str, outputs: Sequence[str], *, min_words: int = MIN_WORDS,
                         gap: int = GAP_WORDS, given: int = 0) -> Recall:
    """Near-verbatim recall of ``work_text`` from ``outputs`` (see the module docstring).
    ``given``: characters at the start of the work that the prompt contained (the seed);
    they count neither as recalled nor in the work's length."""
    if min_words < 1 or gap < 0:
        raise ValueError("min_words must be >= 1 and gap >= 0")
    work = Words.of(work_text)
    index: dict[tuple[str, ...], list[int]] = {}
    for j in range(len(work.words) - min_words + 1):
        index.setdefault(work.words[j:j + min_words], []).append(j)
    blocks = [b for n, text in enumerate(outputs)
              for b in blocks_of(Words.of(text), work, index, n, min_words)]
    merged: list[list[int]] = []  # [first word, end word) of the work
    for b in sorted(blocks, key=lambda b: b.work_word):
        a, e = b.work_word, b.work_word + b.words
        if merged and a - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([a, e])
    stretches = tuple((work.spans[a][0], work.spans[e - 1][1]) for a, e in merged)
    chars = max(len(work_text) - given, 1)
    hit = sum(max(0, e - max(a, given)) for a, e in stretches)
    return Recall(hit / chars, tuple(blocks), stretches, min_words, gap)
