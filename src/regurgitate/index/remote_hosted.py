"""Maximal spans from ``count`` queries alone: how ``RemoteIndex`` reads infini-gram's API.

1. every window of ``min_tokens`` tokens is counted (positions where a long match starts);
2. each such position's longest match is found by binary search on its length, up to the
   server's query limit ``cap``, all positions of a round sent together;
3. spans follow ``CorpusIndex.maximal_spans``'s definition (one per exact maximal match,
   overlapping ones kept apart), except where a match reached the query limit: its length is
   unknown beyond ``cap``, so the overlapping ``cap``-token windows it produced are joined
   into one span with the count of the first window (an upper bound of the whole match's);
   documents are those the ``sources`` lookup returns for the (first) window;
4. with ``window``, each span of at least that many tokens gets its most repeated window
   (``CorpusIndex.maximal_spans``): when ``window`` is ``min_tokens`` the counts of step 1
   are reused, otherwise every window of the span is counted (one ``count`` query each);
   its documents come from one more ``sources`` lookup. A window longer than ``cap`` cannot
   be counted: no window then.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from regurgitate.index.spans import TokenSpan, maximal_pieces
from regurgitate.types import SpanWindow


def spans_by_counting(lists: list[list[int]], min_tokens: int, max_docs: int, cap: int,
                      counts: Callable[[list[list[int]]], list[int]],
                      sources: Callable[[list[list[int]]], list[list[int]]],
                      window: int | None = None) -> list[list[TokenSpan]]:
    """Maximal spans of every token list (see the module docstring)."""
    starts = [(k, i) for k, q in enumerate(lists) for i in range(len(q) - min_tokens + 1)]
    found = counts([lists[k][i:i + min_tokens] for k, i in starts])
    first = dict(zip(starts, found, strict=True))
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
        spans = join_capped(maximal_pieces(lengths, min_tokens), cap)
        docs = sources([q[ps:pe] for _, _, (ps, pe) in spans])
        wins: list[SpanWindow | None] = [None] * len(spans)
        if window is not None and window <= cap:
            known = first if window == min_tokens else {}
            wins = _windows(k, q, [(s, e) for s, e, _ in spans], window, max_docs, known,
                            counts, sources)
        out.append([TokenSpan(s, e, lo[(k, ps)][1], tuple(sorted(set(d)))[:max_docs], ps, pe,
                              win)
                    for (s, e, (ps, pe)), d, win in zip(spans, docs, wins, strict=True)])
    return out


def _windows(k: int, q: list[int], spans: list[tuple[int, int]], window: int, max_docs: int,
             known: dict[tuple[int, int], int],
             counts: Callable[[list[list[int]]], list[int]],
             sources: Callable[[list[list[int]]], list[list[int]]]
             ) -> list[SpanWindow | None]:
    """The most repeated ``window``-token window of each span of token list ``k``, counting
    the windows ``known`` does not hold (keys: ``(k, start)``)."""
    todo = sorted({i for s, e in spans for i in range(s, e - window + 1)
                   if (k, i) not in known})
    got = dict(known)
    got.update({(k, i): c for i, c in zip(todo, counts([q[i:i + window] for i in todo]),
                                          strict=True)})
    best: list[tuple[int, int] | None] = []
    for s, e in spans:
        if e - s < window:
            best.append(None)
            continue
        at = max(range(s, e - window + 1), key=lambda i: (got[(k, i)], -i))
        best.append((at, got[(k, at)]))
    picked = [b for b in best if b is not None]
    docs = sources([q[at:at + window] for at, _ in picked]) if max_docs else \
        [[] for _ in picked]
    it = iter(docs)
    return [None if b is None else SpanWindow(b[0] - s, window, b[1],
                                              tuple(sorted(set(next(it))))[:max_docs])
            for (s, _), b in zip(spans, best, strict=True)]


def join_capped(pieces: list[tuple[int, int]], cap: int
                ) -> list[tuple[int, int, tuple[int, int]]]:
    """``(start, end, first piece)`` per span: every piece on its own, except that a piece
    ``cap`` tokens long overlapping the previous span's last piece, itself ``cap`` long,
    joins that span (one match longer than the query limit, seen window by window)."""
    out: list[tuple[int, int, tuple[int, int]]] = []
    last: tuple[int, int] | None = None
    for s, e in pieces:
        if out and last is not None and e - s >= cap and last[1] - last[0] >= cap \
                and s < last[1]:
            out[-1] = (out[-1][0], e, out[-1][2])
        else:
            out.append((s, e, (s, e)))
        last = (s, e)
    return out
