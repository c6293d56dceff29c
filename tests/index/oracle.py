"""Helpers of the index tests: a wide-id tokenizer, a small training text, a brute-force oracle."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from regurgitate.corpus.tokenizer import Tokenizer

# Ids picked to trip byte-order bugs: infini-gram sorts suffixes by little-endian *bytes*,
# so 0x01ff must sort before 0x0200 in value but after it in bytes, etc.
WIDE_IDS = {"a": 0x01FF, "b": 0x0200, "c": 0x00FF, "d": 0x0100, " ": 0x0001, "e": 0xFE01}


class WideCharTokenizer(Tokenizer):
    """One u16 token per character of a tiny alphabet (a real tokenizer, written for tests)."""

    name = "wide-chars"
    vocab_size = 0xFE02

    def __init__(self) -> None:
        self.fingerprint = "test:" + hashlib.sha256(repr(sorted(WIDE_IDS.items())).encode()
                                                    ).hexdigest()[:12]
        self._inv = {v: k for k, v in WIDE_IDS.items()}

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [np.array([WIDE_IDS[c] for c in t], dtype=np.uint16) for t in texts]

    def encode_offsets(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids = self.encode(text)
        offs = np.stack([np.arange(len(text)), np.arange(1, len(text) + 1)], axis=1)
        return ids, offs.reshape(-1, 2).astype(np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return "".join(self._inv.get(int(i), "?") for i in ids)


TRAIN_TEXT = (
    "def add(a, b):\n    return a + b\n\n"
    "class Stack:\n    def push(self, item):\n        self.items.append(item)\n"
    "The quick brown fox jumps over the lazy dog. "
    "import numpy as np\nfor i in range(10):\n    print(i * i)\n"
) * 20


# -- brute-force oracle ------------------------------------------------------------------

class Oracle:
    """Answers every query by scanning the tokenized documents directly (Python substring
    search over one character per token; a NUL between documents)."""

    def __init__(self, docs: list[list[int]]) -> None:
        self.docs = docs
        self.strs = [self._s(d) for d in docs]
        self.joined = "\x00".join(self.strs)

    @staticmethod
    def _s(ids: list[int]) -> str:
        return "".join(chr(int(i) + 1) for i in ids)

    def occurrences(self, q: list[int]) -> list[tuple[int, int]]:
        n = len(q)
        return [(d, i) for d, doc in enumerate(self.docs)
                for i in range(len(doc) - n + 1) if doc[i:i + n] == q]

    def occurs(self, q: list[int]) -> bool:
        return self._s(q) in self.joined

    def longest(self, ids: list[int]) -> list[int]:
        out: list[int] = []
        for i in range(len(ids)):
            # occurrence is monotone in length, and ids[i:i+L-1] occurs if ids[i-1:i-1+L] does
            k = max(out[-1] - 1, 0) if out else 0
            assert self.occurs(ids[i:i + k])
            while i + k < len(ids) and self.occurs(ids[i:i + k + 1]):
                k += 1
            out.append(k)
        return out

    def regions(self, ids: list[int], m: int, max_docs: int) -> list[tuple]:
        """Maximal exact matches (not extendable left or right), unioned when they overlap.

        For a start i the only right-maximal end is i + longest[i]; left-maximality is
        checked directly by searching ids[i-1:j]."""
        lengths = self.longest(ids)
        mems = [(i, i + k) for i, k in enumerate(lengths)
                if k >= m and not (i > 0 and self.occurs(ids[i - 1:i + k]))]
        regions: list[list] = []
        for s, e in mems:
            if regions and s < regions[-1][1]:
                reg = regions[-1]
                reg[1] = max(reg[1], e)
                if e - s > reg[3] - reg[2]:
                    reg[2], reg[3] = s, e
            else:
                regions.append([s, e, s, e])
        out = []
        for s, e, ps, pe in regions:
            occ = self.occurrences(ids[ps:pe])
            docs = tuple(sorted({d for d, _ in occ}))[:max_docs]
            out.append((s, e, ps, pe, len(occ), docs))
        return out


def exact_spans(oracle: Oracle, ids: list[int], m: int, max_docs: int) -> list[tuple]:
    """Every maximal exact match of >= m tokens, never merged: (start, end, count, docs),
    count and documents taken by scanning the documents for exactly those tokens."""
    lengths = oracle.longest(ids)
    out = []
    for i, k in enumerate(lengths):
        if k >= m and not (i > 0 and oracle.occurs(ids[i - 1:i + k])):
            occ = oracle.occurrences(ids[i:i + k])
            out.append((i, i + k, len(occ), tuple(sorted({d for d, _ in occ}))[:max_docs]))
    return out


def oracle_coverage(oracle: Oracle, ids: list[int], m: int) -> set[int]:
    """Positions of ``ids`` inside some window of >= m tokens that occurs in the corpus."""
    return {j for i in range(len(ids)) for j in range(i, i + m)
            if i + m <= len(ids) and oracle.occurs(ids[i:i + m])}


def tokenized(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [[int(x) for x in ids] for ids in tok.encode_batch(texts)]
