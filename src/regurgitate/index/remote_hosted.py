"""Maximal spans from ``count`` queries alone: how ``RemoteIndex`` reads infini-gram's API.

1. every window of ``min_tokens`` tokens is counted (positions where a long match starts);
2. each such position's longest match is found by binary search on its length, up to the
   server's query limit ``cap``, all positions of a round sent together;
3. maximal pieces and regions follow ``CorpusIndex.maximal_spans``'s definition; a region's
   count is its longest piece's, its documents those the ``sources`` lookup returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from regurgitate.index.spans import TokenSpan, maximal_pieces, merge_pieces


def spans_by_counting(lists: list[list[int]], min_tokens: int, max_docs: int, cap: int,
                      counts: Callable[[list[list[int]]], list[int]],
                      sources: Callable[[list[list[int]]], list[list[int]]]
                      ) -> list[list[TokenSpan]]:
    """Maximal spans of every token list (see the module docstring)."""
    starts = [(k, i) for k, q in enumerate(lists) for i in range(len(q) - min_tokens + 1)]
    found = counts([lists[k][i:i + min_tokens] for k, i in starts])
    lo = {key: (min_tokens, c) for key, c in zip(starts, found, strict=True) if c > 0}
    hi = {key: min(len(lists[key[0]]) - key[1], cap) for key in lo}
    while True:
        todo = [key for key in lo if lo[key][0] < hi[key]]
        if not todo:
            break
        mids = [(lo[key][0] + hi[key] + 1) // 2 for key in todo]
        got = counts([lists[k][i:i + m] for (k, i), m in zip(todo, mids, strict=True)])
        for key, m, c in zip(todo, mids, got, strict=True):
            if c > 0:
                lo[key] = (m, c)
            else:
                hi[key] = m - 1
    out: list[list[TokenSpan]] = []
    for k, q in enumerate(lists):
        lengths = np.zeros(len(q), dtype=np.int64)
        for (kk, i), (length, _) in lo.items():
            if kk == k:
                lengths[i] = length
        pieces = maximal_pieces(lengths, min_tokens)
        regions = merge_pieces(pieces)
        best = [pieces[b] for _, _, b in regions]
        docs = sources([q[s:e] for s, e in best])
        out.append([TokenSpan(s, e, lo[(k, ps)][1], tuple(sorted(set(d)))[:max_docs], ps, pe)
                    for (s, e, _), (ps, pe), d in zip(regions, best, docs, strict=True)])
    return out
