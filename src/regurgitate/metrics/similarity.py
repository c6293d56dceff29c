"""Text similarity measures shared by the near-verbatim and discoverable detectors.

* ``edit_similarity``: rapidfuzz's normalized Levenshtein similarity, 1 - distance / max(len).
* ``longest_common_substring``: length in characters of the longest run both strings share.
* ``rouge_l``: ROUGE-L F1 over whitespace words (longest common subsequence of words).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from rapidfuzz.distance import LCSseq, Levenshtein


def edit_similarity(a: str | Sequence[Hashable], b: str | Sequence[Hashable]) -> float:
    """Normalized Levenshtein similarity in [0, 1]; two empty inputs are identical (1.0)."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    return float(Levenshtein.normalized_similarity(a, b))


def longest_common_substring(a: str, b: str) -> int:
    """Length in characters of the longest common substring.

    Binary search on the length; each probe compares the sets of substrings of that length
    (the property "a common substring of length L exists" is monotone in L).
    """
    if not a or not b:
        return 0
    if len(a) > len(b):
        a, b = b, a
    if a in b:  # the whole of the shorter (a copied passage): no search, whose probes
        return len(a)  # hash every substring of each length (slow for long equal texts)

    def shared(length: int) -> bool:
        seen = {a[i:i + length] for i in range(len(a) - length + 1)}
        return any(b[j:j + length] in seen for j in range(len(b) - length + 1))

    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if shared(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (beta = 1) over whitespace-separated words."""
    c, r = candidate.split(), reference.split()
    if not c or not r:
        return 1.0 if not c and not r else 0.0
    lcs = LCSseq.similarity(c, r)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(c), lcs / len(r)
    return 2 * precision * recall / (precision + recall)
