"""Copy regions of a query: long stretches where the query repeats itself at a fixed distance.

Repetitive output (a word repeated thousands of times, a paragraph looping) against a corpus
that holds long repeated runs makes every position of the query match thousands of tokens,
and following those matches one period at a time costs time quadratic in the text length.
A *copy region* ``(s, t, d)`` says ``q[i] == q[i - d]`` for every ``i`` in ``[s, t)``, so
``q`` is ``d``-periodic on ``[s - d, t)``. Two facts make such a region cheap:

* any two windows of equal length inside ``[s - d, t)`` whose starts are congruent mod ``d``
  hold the same tokens (so they have the same matches in the corpus);
* the longest match at ``i`` in ``[s, t)`` equals the one at ``i - d`` whenever
  ``i + L[i - d] < t`` (the same ``L + 1`` tokens follow both positions, and they do not
  occur), so only the first period and the positions within ``max L`` of ``t`` need a search.

Regions are found without guessing periods: the nearest earlier occurrence of every short
gram gives candidate distances; the few distances seen at least ``MIN_REGION / 2`` times are
checked token by token (vectorised), and their stretches of agreement at least
``MIN_REGION`` long are kept, non-overlapping, in query order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: shortest copy region worth deriving (tokens); shorter repeats are searched as usual
MIN_REGION = 256
#: at most this many candidate distances are checked per query buffer
MAX_DISTANCES = 8


@dataclass(frozen=True, slots=True)
class CopyRegion:
    """``q[i] == q[i - d]`` for every ``i`` in ``[start, end)``."""

    start: int
    end: int
    d: int


def _grams(tokens: np.ndarray) -> np.ndarray:
    """An 8-byte key at every token position (the bytes of the next tokens, zero-padded)."""
    raw = np.ascontiguousarray(tokens).view(np.uint8)
    w = tokens.dtype.itemsize
    padded = np.concatenate([raw, np.zeros(8, np.uint8)])
    return np.ndarray(shape=(tokens.size,), dtype="<u8", buffer=padded, offset=0,
                      strides=(w,))


def candidate_distances(tokens: np.ndarray) -> list[int]:
    """Distances to the nearest earlier occurrence of the same gram that are frequent."""
    n = tokens.size
    if n < MIN_REGION:
        return []
    keys = _grams(tokens)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    same = sk[1:] == sk[:-1]
    d = (order[1:] - order[:-1])[same]
    if not d.size:
        return []
    counts = np.bincount(d)
    good = np.flatnonzero(counts >= MIN_REGION // 2)
    if not good.size:
        return []
    best = good[np.argsort(-counts[good], kind="stable")][:MAX_DISTANCES]
    return [int(x) for x in best if x > 0]


def copy_regions(tokens: np.ndarray, run_end: np.ndarray | None = None) -> list[CopyRegion]:
    """Non-overlapping copy regions of ``tokens`` at least ``MIN_REGION`` long, by start.

    With ``run_end`` (see :meth:`Matcher.prepare`), a region never spans two runs: all of
    ``[start - d, end)`` lies inside one run, so no match crosses its inside."""
    found: list[CopyRegion] = []
    for d in candidate_distances(tokens):
        if d >= tokens.size:
            continue
        agree = tokens[d:] == tokens[:-d]
        if run_end is not None:
            agree &= run_end[d:] == run_end[:-d]
        edges = np.diff(np.concatenate(([0], agree.view(np.int8), [0])))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        keep = ends - starts >= max(MIN_REGION, d)
        found.extend(CopyRegion(int(s) + d, int(e) + d, d)
                     for s, e in zip(starts[keep], ends[keep], strict=True))
    found.sort(key=lambda r: (r.start, -(r.end - r.start)))
    out: list[CopyRegion] = []
    for r in found:
        start = max(r.start, out[-1].end if out else 0)
        if r.end - start >= max(MIN_REGION, r.d):
            out.append(CopyRegion(start, r.end, r.d))
    return out


def window_keys(regions: list[CopyRegion], start: np.ndarray,
                length: np.ndarray) -> np.ndarray:
    """A key per window ``[start, start + length)`` (tokens): windows with equal keys hold
    equal tokens. Windows inside a region's periodic stretch share keys by phase; every
    other window gets a key of its own (``-1 - its index``)."""
    key = -1 - np.arange(start.size, dtype=np.int64)
    if not regions:
        return key
    lo = np.array([r.start - r.d for r in regions], dtype=np.int64)
    hi = np.array([r.end for r in regions], dtype=np.int64)
    d = np.array([r.d for r in regions], dtype=np.int64)
    k = np.searchsorted(hi, start, side="right")  # first region ending after the start
    ok = k < hi.size
    kk = np.where(ok, k, 0)
    inside = ok & (start >= lo[kk]) & (start + length <= hi[kk]) & (length > 0)
    if not inside.any():
        return key
    phase = (start - lo[kk]) % d[kk]
    # (region, phase, length) -> one non-negative key; phase < d and length <= the span
    # of the region, so the packing is exact below 2**63 for any query buffer that fits
    # in memory
    span = int((hi - lo).max()) + 1
    key[inside] = (kk[inside] * span + phase[inside]) * span + length[inside]
    return key
