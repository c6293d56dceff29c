"""The most repeated window of every span, found with few suffix-array searches.

A span's own count is that of its rarest stretch; its most repeated window (the first of
its windows of ``w`` tokens with the highest corpus count) says how often the passage it is
built around occurs. Counting every window costs one range search per token of the span,
several times the span search itself. Two facts avoid most of them:

* every window occurs at least as often as the span (each occurrence of the span holds it),
  so the span's count ``c`` is a lower bound of every window's;
* a window occurs at most as often as any stretch inside it. Probes of ``h = w // 2``
  tokens every ``t = w - h + 1`` positions put one probe inside every window; its count is
  an upper bound of the window's.

A window whose bound is ``c`` occurs exactly ``c`` times, without a search. For the others,
all spans together, one batched search per step: the window of the highest bound of each
span is searched (in a copy of a common passage it finds that passage's count at once);
then, ``REFINE_STEPS`` times, the windows still open get longer probes (``t`` halved, one
probe per ``t`` windows); then the open windows are searched in rounds, the highest bounds
first (``ROUNDS``: at most 4 per span, then 16, 64, then all), so that the best count found
early closes most windows without a search. A window is open while its bound exceeds the
best count found in its span (or equals it earlier in the span, for the first-of-the-highest
rule). Each search is also told that best count (its *ceiling*): a counter may stop a search
as soon as the window cannot beat it (an FM-index's backward search does, when its range
holds no more rows), returning a bound instead of a count. The result is that of searching
every window.

Measured on 1,000-byte texts over a 1 GB FM-index (see docs/scale.md):
rounds and ceilings cut the window searches from about 330 to 39 per text cut from the
corpus, and from 285 to 94 per near-duplicate text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from regurgitate.index.kernels import compiled

#: windows shorter than this are all searched (probes would be as many)
PROBE_MIN_WINDOW = 8
#: times the bounds of open windows are tightened with longer probes before the search
REFINE_STEPS = 1
#: then the open windows of the highest bounds are searched, at most this many per span
#: a round (0: all of them), so that the best counts found first stop the later searches
ROUNDS = (4, 16, 64, 0)

#: ``count(positions, length, ceiling)``: corpus count of the ``length`` tokens at each
#: position, and which counts are only bounded. ``ceiling`` (None: none) gives per position a
#: count (-1: none) the caller has no use for one reaching at most: the counter may then
#: return an upper bound of at most that instead, marked True.
Counter = Callable[[np.ndarray, int, np.ndarray | None], tuple[np.ndarray, np.ndarray]]


@compiled
def _bounds(probe_counts: np.ndarray, length: int, window: int, h: int, t: int) -> np.ndarray:
    """Upper bound of the count of each window of a span of ``length`` tokens: the least
    count of the probes (``h`` tokens every ``t``) inside it."""
    m = length - window + 1
    ub = np.empty(m, dtype=np.int64)
    for i in range(m):
        first = (i + t - 1) // t  # first probe starting at or after the window
        last = (i + window - h) // t  # last probe ending inside it
        v = probe_counts[first]
        for k in range(first + 1, last + 1):
            v = min(v, probe_counts[k])
        ub[i] = v
    return ub


@compiled
def _open(ub: np.ndarray, exact: np.ndarray, one: bool) -> np.ndarray:
    """Windows still to search: not yet known (``exact < 0``) and able to beat the best
    known count, or to tie it earlier. With ``one``, only the first of the highest bound."""
    best = 0
    for i in range(exact.size):
        if exact[i] > exact[best]:
            best = i
    top = exact[best]
    out = np.empty(ub.size, dtype=np.int64)
    n = 0
    for i in range(ub.size):
        if exact[i] < 0 and (ub[i] > top or (ub[i] == top and i < best)):
            if one:
                if n == 0 or ub[i] > ub[out[0]]:
                    out[0] = i
                    n = 1
            else:
                out[n] = i
                n += 1
    return out[:n]


def _highest(ub: np.ndarray, idx: np.ndarray, limit: int) -> np.ndarray:
    """The ``limit`` windows of ``idx`` with the highest bounds (all for 0), in order."""
    if not limit or idx.size <= limit:
        return idx
    return np.sort(idx[np.argsort(-ub[idx], kind="stable")[:limit]])


def _overlapping(spans: list[tuple[int, int]]) -> bool:
    """Whether two spans share a position (then their windows and probes may coincide)."""
    ordered = sorted(spans)
    return any(b[0] < a[1] for a, b in zip(ordered, ordered[1:], strict=False))


def _count_distinct(pos: np.ndarray, length: int, count: Counter, dedup: bool,
                    ceiling: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``count(pos, length, ceiling)``, each distinct position searched once when ``dedup``
    (with the least of its ceilings: a bound at most that serves each)."""
    if not pos.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    if not dedup:
        return count(pos, length, ceiling)
    uniq, inverse = np.unique(pos, return_inverse=True)
    inverse = inverse.ravel()
    least = None
    if ceiling is not None:
        least = np.full(uniq.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(least, inverse, ceiling)
    found, bounded = count(uniq, length, least)
    return found[inverse], bounded[inverse]


def _ceilings(exact: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """For windows ``idx`` of a span whose known counts are ``exact`` (-1: unknown): the
    count at most which a window can no longer be the span's answer (the first of the
    highest): the best known count, less one before the window holding it; -1 (none) while
    no count is known. The best count only grows, so this holds for every later step."""
    best = int(np.argmax(exact)) if exact.size else 0
    top = int(exact[best]) if exact.size else -1
    if top < 0:
        return np.full(idx.size, -1, dtype=np.int64)
    return np.where(idx < best, top - 1, top).astype(np.int64)


def _probe_bounds(spans: list[tuple[int, int]], window: int, count: Counter
                  ) -> list[np.ndarray]:
    """For each span of at least ``window`` tokens, an upper bound of each window's count
    (the least count of the probes inside it); an empty array for a shorter span."""
    h = window // 2
    t = window - h + 1
    per_span = [np.arange(s, e - h + 1, t, dtype=np.int64) if e - s >= window
                else np.zeros(0, dtype=np.int64) for s, e in spans]
    flat = np.concatenate(per_span) if per_span else np.zeros(0, dtype=np.int64)
    counts = _count_distinct(flat, h, count, _overlapping(spans))[0]
    bounds: list[np.ndarray] = []
    at = 0
    for (s, e), probes in zip(spans, per_span, strict=True):
        pc = np.ascontiguousarray(counts[at:at + probes.size], dtype=np.int64)
        at += probes.size
        bounds.append(_bounds(pc, e - s, window, h, t) if e - s >= window
                      else np.zeros(0, dtype=np.int64))
    return bounds


def _refine(spans: list[tuple[int, int]], bounds: list[np.ndarray], exact: list[np.ndarray],
            span_counts: list[int], window: int, t: int, count: Counter,
            overlap: bool) -> None:
    """Tighten the bounds of the windows still open with one probe of ``window - t + 1``
    tokens each (every ``t`` positions: ``t`` consecutive windows share one)."""
    h = window - t + 1
    opens = [_open(ub, ex, False) if ub.size else np.zeros(0, dtype=np.int64)
             for ub, ex in zip(bounds, exact, strict=True)]
    firsts: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    ceilings: list[np.ndarray] = []
    for o, ex in zip(opens, exact, strict=True):
        k = (o + t - 1) // t  # the probe at k * t lies inside window o
        change = np.ones(k.size, dtype=bool)
        change[1:] = k[1:] != k[:-1]
        firsts.append(k[change] * t)
        group = np.cumsum(change) - 1
        groups.append(group)
        # a probe's count bounds every window it lies in: of use while above all their ceilings
        ceil = np.full(int(change.sum()), -1, dtype=np.int64)
        np.maximum.at(ceil, group, _ceilings(ex, o))
        ceilings.append(ceil)
    pos = np.concatenate([s + f for (s, _), f in zip(spans, firsts, strict=True)])
    if not pos.size:
        return
    got = _count_distinct(pos, h, count, overlap, np.concatenate(ceilings))[0]
    at = 0
    for ub, ex, c, o, f, g in zip(bounds, exact, span_counts, opens, firsts, groups,
                                  strict=True):
        ub[o] = np.minimum(ub[o], got[at:at + f.size][g])
        at += f.size
        ex[o[ub[o] <= c]] = c


def most_repeated_windows(spans: list[tuple[int, int]], span_counts: list[int], window: int,
                          count: Counter) -> list[tuple[int, int] | None]:
    """``(offset in the span, count)`` of each span's most repeated ``window``-token window
    (the first of the highest count), None for a span shorter than ``window``. ``spans``
    are ``[s, e)`` positions of ``count``'s query buffer; ``span_counts`` their counts."""
    overlap = _overlapping(spans)
    probing = window >= PROBE_MIN_WINDOW
    if probing:
        bounds = _probe_bounds(spans, window, count)
    else:
        bounds = [np.full(max(0, e - s - window + 1), np.iinfo(np.int64).max, dtype=np.int64)
                  for s, e in spans]
    exact = [np.where(ub <= c, c, -1).astype(np.int64)
             for ub, c in zip(bounds, span_counts, strict=True)]
    t = window - window // 2 + 1
    steps: tuple[str | int, ...] = ("pick", *("refine",) * REFINE_STEPS, *ROUNDS) \
        if probing else (0,)
    for step in steps:
        if step == "refine":
            t = max(1, t // 2)
            _refine(spans, bounds, exact, span_counts, window, t, count, overlap)
            continue
        picks = [_highest(ub, _open(ub, ex, step == "pick"), int(step) if step != "pick"
                          else 0) if ub.size else np.zeros(0, dtype=np.int64)
                 for ub, ex in zip(bounds, exact, strict=True)]
        if not any(p.size for p in picks):
            break
        pos = np.concatenate([s + p for (s, _), p in zip(spans, picks, strict=True)])
        ceil = np.concatenate([_ceilings(ex, p) for ex, p in zip(exact, picks, strict=True)])
        got, bounded = _count_distinct(pos, window, count, overlap, ceil)
        at = 0
        for ub, ex, c, p in zip(bounds, exact, span_counts, picks, strict=True):
            g, b = got[at:at + p.size], bounded[at:at + p.size]
            at += p.size
            ex[p[~b]] = g[~b]
            # a bounded count cannot make its window the answer; it closes it
            ub[p[b]] = np.minimum(ub[p[b]], g[b])
            ex[p[b & (ub[p] <= c)]] = c
    out: list[tuple[int, int] | None] = []
    for ex in exact:
        if not ex.size:
            out.append(None)
            continue
        best = int(np.argmax(ex))
        out.append((best, int(ex[best])))
    return out
