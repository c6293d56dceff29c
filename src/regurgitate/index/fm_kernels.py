"""Compiled loops of the FM-index (numba): rank over a Huffman-shaped wavelet tree of the
BWT, backward search, locating by the sampled suffix array, and text extraction.

The layout is documented in :mod:`regurgitate.index.fm_format`. Symbols are *dense* ids
``0 .. k-1`` of the distinct tokens, ordered as the suffix-array index orders tokens (the
little-endian bytes of the token), so a rank in the FM-index is the rank of the same suffix
in the suffix-array index. Corruption found on the way (a rank count that cannot be, a walk
that does not end) is returned as an error code, never read out of bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regurgitate.index import fm_bits, kernels
from regurgitate.index.fm_bits import prefetch_dir, prefetch_words, rank1, rank_bit
from regurgitate.index.kernels import compiled, compiled_inline, drop_stale_caches

drop_stale_caches(__file__, fm_bits.__file__, kernels.__file__)

OK = 0
#: a rank structure or node table that cannot be right
BAD_STRUCTURE = 3
#: a last-to-first walk longer than the text (a damaged sampled suffix array)
BAD_WALK = 4

#: columns of the node table
N_OFF, N_LEN, N_R0, N_C0, N_C1 = 0, 1, 2, 3, 4
#: columns of the symbol table
S_TOKEN, S_C, S_CODE, S_LEN = 0, 1, 2, 3


@compiled
def lower_bound(values: np.ndarray, x: Any) -> int:
    """The first index of sorted ``values`` whose value is not below ``x``."""
    lo = 0
    hi = values.size
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@compiled_inline
def wt_rank2(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
             syms: np.ndarray, c: int, i: int, j: int) -> tuple[int, int]:
    """Occurrences of dense symbol ``c`` in ``BWT[0:i]`` and in ``BWT[0:j]`` (``j >= i``),
    in one descent of the tree; (-1, -1) for a damaged structure. The descent stops as
    soon as the two counts are equal, returning two equal numbers that are not the
    counts (no ``c`` in ``BWT[i:j]`` is all the caller may read from them)."""
    code = np.uint64(syms[c, 2])
    node = 0
    for k in range(syms[c, 3]):
        off = nodes[node, 0]
        base = nodes[node, 2]
        pos = off + i
        oi = rank1(words, dirs, pos) - base
        oj = oi if j == i else rank1(words, dirs, off + j) - base
        if oi < 0 or oi > i or oj < oi or oj > j:
            return -1, -1
        if (code >> np.uint64(k)) & np.uint64(1):
            i = oi
            j = oj
            node = nodes[node, 4]
        else:
            i = i - oi
            j = j - oj
            node = nodes[node, 3]
        if i == j:  # no ``c`` in the range: both counts are i from here on
            return i, j
        if k + 1 < syms[c, 3] and node < 0:
            return -1, -1
    return i, j


@compiled_inline
def lf(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
       syms: np.ndarray, sep: int, r0: int, last: int, row: int) -> tuple[int, int]:
    """(symbol before the suffix at ``row``, the row of the suffix one position earlier);
    (-1, -1) for a damaged structure. Not defined at ``r0``."""
    node = 0
    i = row
    if nodes.shape[0] == 0:  # one symbol only
        c = 0
    else:
        c = -1
        for _ in range(64):
            off = nodes[node, 0]
            pos = off + i
            ones, bit = rank_bit(words, dirs, pos)
            ones -= nodes[node, 2]
            if ones < 0 or ones > i:
                return -1, -1
            if bit:
                i = ones
                nxt = nodes[node, 4]
            else:
                i = i - ones
                nxt = nodes[node, 3]
            if nxt < 0:
                c = -1 - nxt
                break
            node = nxt
        if c < 0 or c >= syms.shape[0]:
            return -1, -1
    if c == sep and row > r0:
        i -= 1
    return c, syms[c, 1] + (1 if c == last else 0) + i


@compiled_inline
def _step(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
          syms: np.ndarray, sep: int, r0: int, last: int, n: int, c: int, lo: int, hi: int,
          first: bool) -> tuple[int, int]:
    """One backward-search step: the rows of ``c`` followed by the suffixes in ``[lo, hi)``
    (see ``_backward``); empty as ``lo >= hi``, (-1, -1) for a damaged structure. The
    first step (``lo, hi = 0, n``) is read from the symbol table, without a rank."""
    if c < 0:
        return 0, 0
    if first:  # every suffix starting with ``c``
        return syms[c, 1], (syms[c + 1, 1] if c + 1 < syms.shape[0] else n)
    if hi - lo == 1 and lo == r0:  # the text's first suffix: nothing precedes it
        return 0, 0
    base = syms[c, 1] + (1 if c == last else 0)
    rl, rh = wt_rank2(words, dirs, nodes, syms, c, lo, hi)
    if rl < 0 or rh < rl:
        return -1, -1
    if rl == rh:  # no ``c`` in the range (the descent may have stopped early)
        return 0, 0
    if c == sep:  # the placeholder at r0 is no separator
        rl -= 1 if lo > r0 and rl > 0 else 0
        rh -= 1 if hi > r0 and rh > 0 else 0
    # the first step's range holds the text's last suffix too (its tail is empty)
    new_lo = syms[c, 1] if first else base + rl
    new_hi = base + rh
    if new_hi > n:
        return -1, -1
    return new_lo, new_hi


@compiled_inline
def _backward(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
              syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
              a: int, b: int) -> tuple[int, int]:
    """[lo, hi) rows of the suffixes starting with dense symbols ``q[a:b]``; (0, 0) when
    none; (-1, -1) for a damaged structure. A step prepends symbol ``c`` to the range of
    the suffixes that follow it: they are the suffixes starting with ``c`` (from ``C[c]``,
    after the text's last suffix when that is ``c`` alone) in the order of what follows."""
    lo = 0
    hi = n
    for j in range(b - 1, a - 1, -1):
        lo, hi = _step(words, dirs, nodes, syms, sep, r0, last, n, q[j], lo, hi,
                       j == b - 1)
        if lo < 0:
            return -1, -1
        if lo >= hi:
            return 0, 0
    return lo, hi


@compiled
def ranges(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
           syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
           qstart: np.ndarray, qlen: np.ndarray, floor: np.ndarray, ceiling: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """[lower, upper) rows of every query (token slices of ``q``), whether its search
    stopped at its ceiling, and an error code; ``floor`` and ``ceiling``: see
    :func:`searches`."""
    lower, upper, reach, err = searches(words, dirs, nodes, syms, sep, r0, last, n, q,
                                        qstart, qlen, floor, ceiling)
    return lower, upper, reach < qstart, err


@compiled
def searches(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
             syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
             qstart: np.ndarray, qlen: np.ndarray, floor: np.ndarray, ceiling: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Backward searches of every query ``q[a:b]`` (``a = qstart[r]``, ``b = a +
    qlen[r]``): its [lower, upper) rows ((0, 0) when it does not occur; (0, n) when
    empty), the smallest ``s`` with ``q[s:b]`` occurring (``b`` when not even its last
    token does), and an error code.

    ``floor[r] >= 1``: the caller knows the query occurs at least that many times here
    (a window of a span occurs wherever the span does). Ranges only shrink as symbols are
    prepended, so once a range holds ``floor[r]`` rows, that is the query's count and the
    search stops: the rows returned are then those of a suffix of the query, not its own
    (the caller may use only their number), and ``s`` is ``a``. 0: no such knowledge.

    ``ceiling[r] >= 0`` (-1: none): the caller has no use for a count of at most that
    many (a window that cannot be the most repeated one), so once a range holds no more
    rows than that (and more than ``floor[r]``), the search stops with the rows of a
    suffix of the query, whose number is an upper bound of the query's count; ``s`` is
    then ``a - 1`` (the mark of a search stopped at its ceiling).

    ``SEARCH_LANES`` searches advance together (see :func:`_searches_laned`); a tree of
    one symbol is searched one query at a time."""
    if nodes.shape[0] == 0 or qstart.size < 2:
        return _searches_plain(words, dirs, nodes, syms, sep, r0, last, n, q, qstart, qlen,
                               floor, ceiling)
    return _searches_laned(words, dirs, nodes, syms, sep, r0, last, n, q, qstart, qlen,
                           floor, ceiling)


@compiled
def _searches_plain(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                    syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
                    qstart: np.ndarray, qlen: np.ndarray, floor: np.ndarray,
                    ceiling: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`searches`, one query after the other."""
    m = qstart.size
    lower = np.zeros(m, dtype=np.int64)
    upper = np.zeros(m, dtype=np.int64)
    reach = np.zeros(m, dtype=np.int64)
    for r in range(m):
        a = qstart[r]
        b = a + qlen[r]
        lo = 0
        hi = n
        reach[r] = b
        for j in range(b - 1, a - 1, -1):
            lo, hi = _step(words, dirs, nodes, syms, sep, r0, last, n, q[j], lo, hi,
                           j == b - 1)
            if lo < 0:
                return lower, upper, reach, BAD_STRUCTURE
            if lo >= hi:
                break
            reach[r] = j
            if hi - lo <= floor[r]:
                reach[r] = a
                break
            if hi - lo <= ceiling[r] and j > a:
                reach[r] = a - 1
                break
        if reach[r] <= a:
            lower[r] = lo
            upper[r] = hi
    return lower, upper, reach, OK


#: backward searches :func:`searches` advances together (cache misses in flight at once)
SEARCH_LANES = 16


@compiled
def _searches_laned(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                    syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
                    qstart: np.ndarray, qlen: np.ndarray, floor: np.ndarray,
                    ceiling: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`searches` with ``SEARCH_LANES`` searches advancing together.

    A backward step descends the wavelet tree, two ranks a level, each a likely cache miss
    the next level depends on, so one search waits on its misses in turn. Here each lane
    (a search) moves half a level per visit, in turn with the others: a visit either reads
    the directory entries of its two ranks (prefetched at its previous visit) and
    prefetches the words they point to, or counts the ranks (now in cache), descends, and
    prefetches the next level's directory entries. The misses of all lanes are then in
    flight together. The steps and answers are those of :func:`_searches_plain`."""
    m = qstart.size
    lower = np.zeros(m, dtype=np.int64)
    upper = np.zeros(m, dtype=np.int64)
    reach = np.zeros(m, dtype=np.int64)
    lanes = SEARCH_LANES
    lane_r = np.full(lanes, -1, dtype=np.int64)  # the query (-1: idle)
    lane_j = np.zeros(lanes, dtype=np.int64)  # the token being prepended
    lane_lo = np.zeros(lanes, dtype=np.int64)  # rows of what follows it
    lane_hi = np.zeros(lanes, dtype=np.int64)
    lane_node = np.zeros(lanes, dtype=np.int64)  # the descent: node, level, positions
    lane_lev = np.zeros(lanes, dtype=np.int64)
    lane_i = np.zeros(lanes, dtype=np.int64)
    lane_k = np.zeros(lanes, dtype=np.int64)
    lane_words = np.zeros(lanes, dtype=np.bool_)  # the next visit counts (words fetched)
    k_syms = syms.shape[0]
    nxt = 0
    busy = 0
    while True:
        for ln in range(lanes):  # give idle lanes queries, taking their first step
            while lane_r[ln] < 0 and nxt < m:
                r = nxt
                nxt += 1
                a = qstart[r]
                b = a + qlen[r]
                reach[r] = b
                if b <= a:  # empty: every row
                    upper[r] = n
                    continue
                c = q[b - 1]
                if c < 0:
                    continue
                lo = syms[c, 1]
                hi = syms[c + 1, 1] if c + 1 < k_syms else n
                if lo >= hi:
                    continue
                reach[r] = b - 1
                if hi - lo <= floor[r] or b - 1 == a:
                    reach[r] = a
                    lower[r] = lo
                    upper[r] = hi
                    continue
                if hi - lo <= ceiling[r]:
                    reach[r] = a - 1
                    lower[r] = lo
                    upper[r] = hi
                    continue
                # the next token: a descent from the root
                j = b - 2
                c = q[j]
                if c < 0 or (hi - lo == 1 and lo == r0):
                    continue  # nothing precedes: ``reach`` stays b - 1
                lane_r[ln] = r
                lane_j[ln] = j
                lane_lo[ln] = lo
                lane_hi[ln] = hi
                lane_node[ln] = 0
                lane_lev[ln] = 0
                lane_i[ln] = lo
                lane_k[ln] = hi
                lane_words[ln] = False
                prefetch_dir(dirs, nodes[0, 0] + lo)
                prefetch_dir(dirs, nodes[0, 0] + hi)
                busy += 1
        if busy == 0:
            return lower, upper, reach, OK
        for ln in range(lanes):
            r = lane_r[ln]
            if r < 0:
                continue
            node = lane_node[ln]
            off = nodes[node, 0]
            i = lane_i[ln]
            k = lane_k[ln]
            if not lane_words[ln]:  # directory entries in cache: fetch the words
                prefetch_words(words, dirs, off + i)
                prefetch_words(words, dirs, off + k)
                lane_words[ln] = True
                continue
            lane_words[ln] = False
            j = lane_j[ln]
            c = q[j]
            lev = lane_lev[ln]
            base = nodes[node, 2]
            oi = rank1(words, dirs, off + i) - base
            ok = oi if k == i else rank1(words, dirs, off + k) - base
            if oi < 0 or oi > i or ok < oi or ok > k:
                return lower, upper, reach, BAD_STRUCTURE
            if (np.uint64(syms[c, 2]) >> np.uint64(lev)) & np.uint64(1):
                i = oi
                k = ok
                node = nodes[node, 4]
            else:
                i = i - oi
                k = k - ok
                node = nodes[node, 3]
            lev += 1
            done = False
            if i == k:  # no ``c`` before the rows: the search ends
                done = True
            elif lev < syms[c, 3]:
                if node < 0:
                    return lower, upper, reach, BAD_STRUCTURE
                lane_node[ln] = node
                lane_lev[ln] = lev
                lane_i[ln] = i
                lane_k[ln] = k
                prefetch_dir(dirs, nodes[node, 0] + i)
                prefetch_dir(dirs, nodes[node, 0] + k)
                continue
            else:  # a leaf: the step is done (as ``_step`` finishes it)
                lo = lane_lo[ln]
                hi = lane_hi[ln]
                rl = i
                rh = k
                if c == sep:  # the placeholder at r0 is no separator
                    rl -= 1 if lo > r0 and rl > 0 else 0
                    rh -= 1 if hi > r0 and rh > 0 else 0
                cbase = syms[c, 1] + (1 if c == last else 0)
                lo = cbase + rl
                hi = cbase + rh
                if hi > n:
                    return lower, upper, reach, BAD_STRUCTURE
                a = qstart[r]
                if lo >= hi:
                    done = True
                else:
                    reach[r] = j
                    lane_lo[ln] = lo
                    lane_hi[ln] = hi
                    if hi - lo <= floor[r] or j == a:
                        reach[r] = a
                        done = True
                    elif hi - lo <= ceiling[r]:
                        reach[r] = a - 1
                        done = True
                    else:  # the next token
                        j -= 1
                        c = q[j]
                        if c < 0 or (hi - lo == 1 and lo == r0):
                            done = True
                        else:
                            lane_j[ln] = j
                            lane_node[ln] = 0
                            lane_lev[ln] = 0
                            lane_i[ln] = lo
                            lane_k[ln] = hi
                            prefetch_dir(dirs, nodes[0, 0] + lo)
                            prefetch_dir(dirs, nodes[0, 0] + hi)
                            continue
            if done:
                if reach[r] <= qstart[r]:
                    lower[r] = lane_lo[ln]
                    upper[r] = lane_hi[ln]
                lane_r[ln] = -1
                busy -= 1


#: queries up to this many tokens are resolved together by their ends (see ``longest``)
SHORT_QUERY = 128


@compiled
def _gallop(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
            syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray, a: int,
            length: int) -> int:
    """Longest prefix of ``q[a:a+length]`` that occurs (-1: damaged): galloping over the
    length (1, 2, 4, ...), then bisecting, each test one backward search."""
    good = 0
    bad = length + 1
    k = 1
    while k <= length:
        lo, hi = _backward(words, dirs, nodes, syms, sep, r0, last, n, q, a, a + k)
        if lo < 0:
            return -1
        if hi > lo:
            good = k
            if k == length:
                break
            k = min(2 * k, length)
        else:
            bad = k
            break
    while bad - good > 1:
        mid = (good + bad) // 2
        lo, hi = _backward(words, dirs, nodes, syms, sep, r0, last, n, q, a, a + mid)
        if lo < 0:
            return -1
        if hi > lo:
            good = mid
        else:
            bad = mid
    return good


@compiled
def longest(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
            syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
            qstart: np.ndarray, qlen: np.ndarray) -> tuple[np.ndarray, int]:
    """Longest prefix (tokens) of every query (token slices of ``q``) that occurs.

    Short queries (the capped searches of every position) are resolved by their ends: for
    each end ``e`` some query may reach, one backward search from ``e`` finds the smallest
    start ``s(e)`` (down to the lowest query start that covers ``e``) with ``q[s(e):e]``
    occurring; a query ``[a, a + len)`` then gets the largest ``e`` with ``s(e) <= a``
    (occurrence is closed under taking suffixes). That costs about one backward step per
    token of each match instead of a galloping search per query, when the queries are dense
    (their ends at most twice as many as they). Long or sparse queries gallop."""
    m = qstart.size
    best = np.zeros(m, dtype=np.int64)
    total = q.size
    low = np.full(total + 1, -1, dtype=np.int64)
    shorts = 0
    ends = 0
    for r in range(m):
        if qlen[r] <= SHORT_QUERY:
            shorts += 1
            a = qstart[r]
            for e in range(a + 1, a + qlen[r] + 1):
                if low[e] < 0:
                    ends += 1
                if low[e] < 0 or a < low[e]:
                    low[e] = a
    # by ends only where queries are dense (consecutive positions share their ends);
    # sparse queries would search many ends that serve one query each: they gallop
    by_ends = shorts > 0 and ends <= 2 * shorts
    start_of = np.full(total + 1, total + 1, dtype=np.int64)
    if by_ends:  # one backward search from each end, down to its floor
        end_at = np.flatnonzero(low >= 0)
        floors = low[end_at]
        _, _, reach, err = searches(words, dirs, nodes, syms, sep, r0, last, n, q,
                                    floors, end_at - floors,
                                    np.zeros(end_at.size, dtype=np.int64),
                                    np.full(end_at.size, -1, dtype=np.int64))
        if err != OK:
            return best, err
        start_of[end_at] = reach
    for r in range(m):
        a = qstart[r]
        if by_ends and qlen[r] <= SHORT_QUERY:
            for e in range(a + qlen[r], a, -1):
                if start_of[e] <= a:
                    best[r] = e - a
                    break
        else:
            got = _gallop(words, dirs, nodes, syms, sep, r0, last, n, q, a, qlen[r])
            if got < 0:
                return best, BAD_STRUCTURE
            best[r] = got
    return best, OK


@compiled_inline
def _reach(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
           syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray, s: int,
           t: int) -> int:
    """The smallest ``s' >= s`` with ``q[s':t]`` occurring (``t`` when not even
    ``q[t - 1]`` does), by one backward search from ``t``; -1 for a damaged structure."""
    lo = 0
    hi = n
    best = t
    for j in range(t - 1, s - 1, -1):
        lo, hi = _step(words, dirs, nodes, syms, sep, r0, last, n, q[j], lo, hi, j == t - 1)
        if lo < 0:
            return -1
        if lo >= hi:
            break
        best = j
    return best


@compiled
def match_lengths(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                  syms: np.ndarray, sep: int, r0: int, last: int, n: int, q: np.ndarray,
                  pos: np.ndarray, run_end: np.ndarray) -> tuple[np.ndarray, int]:
    """Longest match (tokens) starting at each of ``pos`` (sorted), none reaching past the
    position's ``run_end``, and an error code.

    Within a stretch of consecutive positions ``p0 .. p1`` with one run end ``R``, let
    ``s(e)`` be the smallest start ``>= p0`` with ``q[s(e):e]`` occurring. It never
    decreases as ``e`` grows (a string's suffixes occur wherever it does), and the match at
    ``a`` ends at the last ``e`` with ``s(e) <= a``. So the ends are walked from ``p0``
    with ``S = s(e)`` known: ends ``e + 1, e + 2, e + 4, ...`` are tested (one backward
    search from the end, down to ``S`` at most: ``s`` is still ``S`` exactly when it gets
    there) until one fails, the last end keeping ``S`` is bisected between, and the failed
    search's stopping point is the next ``S``. Positions ``S .. s(bad) - 1`` then match up
    to that last end. A long match costs a few searches of its length instead of a search
    per position (about ``2 L log L`` steps, against ``L`` searches), text that matches in
    short pieces one search per end, as before; the stretch ends once ``S`` passes ``p1``.
    """
    m = pos.size
    out = np.zeros(m, dtype=np.int64)
    k = 0
    while k < m:
        p0 = pos[k]
        big_r = run_end[p0]
        k1 = k
        while k1 + 1 < m and pos[k1 + 1] == pos[k1] + 1 and run_end[pos[k1 + 1]] == big_r:
            k1 += 1
        p1 = pos[k1]
        e = p0
        s = p0
        while s <= p1:
            if e >= big_r:  # every end up to the run's keeps ``s``
                for a in range(s, p1 + 1):
                    out[k + a - p0] = big_r - a
                break
            ok = e
            bad = -1
            s_bad = 0
            g = 1
            while True:
                t = min(e + g, big_r)
                r = _reach(words, dirs, nodes, syms, sep, r0, last, n, q, s, t)
                if r < 0:
                    return out, BAD_STRUCTURE
                if r == s:
                    ok = t
                    if t == big_r:
                        break
                    g *= 2
                else:
                    bad = t
                    s_bad = r
                    break
            if bad < 0:
                e = big_r
                continue
            while bad - ok > 1:
                mid = (ok + bad) // 2
                r = _reach(words, dirs, nodes, syms, sep, r0, last, n, q, s, mid)
                if r < 0:
                    return out, BAD_STRUCTURE
                if r == s:
                    ok = mid
                else:
                    bad = mid
                    s_bad = r
            for a in range(s, min(s_bad, p1 + 1)):
                out[k + a - p0] = ok - a
            e = bad
            s = s_bad
        k = k1 + 1
    return out, OK


#: last-to-first walks :func:`locate` advances together (reads in flight at once)
LANES = 16


@compiled
def locate(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
           syms: np.ndarray, sep: int, r0: int, last: int, n: int, sa: np.ndarray,
           every: int, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Text position (tokens) of the suffix at each of ``rows``: walk last-to-first until
    a sampled row (every ``every``-th, or ``r0``, position 0), adding the steps.

    Each last-to-first step descends the wavelet tree, one rank (a likely cache miss) per
    level, each depending on the one before. ``LANES`` walks advance together, one level
    each per round, so the reads of different walks overlap instead of waiting in turn."""
    out = np.zeros(rows.size, dtype=np.int64)
    if nodes.shape[0] == 0:  # one symbol only: no tree to interleave
        for k in range(rows.size):
            pos, err = _locate_one(words, dirs, nodes, syms, sep, r0, last, n, sa,
                                   every, rows[k])
            if err != OK:
                return out, err
            out[k] = pos
        return out, OK
    lane_k = np.full(LANES, -1, dtype=np.int64)  # which of ``rows`` (-1: idle)
    lane_row = np.zeros(LANES, dtype=np.int64)  # row whose predecessor is sought
    lane_steps = np.zeros(LANES, dtype=np.int64)
    lane_node = np.zeros(LANES, dtype=np.int64)  # node of the descent (0: not started)
    lane_i = np.zeros(LANES, dtype=np.int64)  # position inside that node's bits
    nxt = 0
    busy = 0
    while True:
        # give idle lanes rows, finishing walks that start on a sampled row
        for L in range(LANES):
            while lane_k[L] < 0 and nxt < rows.size:
                row = rows[nxt]
                if row < 0 or row >= n:
                    return out, BAD_WALK
                if row == r0:
                    out[nxt] = 0
                elif row % every == 0:
                    out[nxt] = int(sa[row // every])
                    if out[nxt] >= n:
                        return out, BAD_WALK
                else:
                    lane_k[L] = nxt
                    lane_row[L] = row
                    lane_steps[L] = 0
                    lane_node[L] = 0
                    lane_i[L] = row
                    busy += 1
                nxt += 1
        if busy == 0:
            return out, OK
        for L in range(LANES):
            if lane_k[L] < 0:
                continue
            node = lane_node[L]
            i = lane_i[L]
            pos = nodes[node, 0] + i
            ones, bit = rank_bit(words, dirs, pos)
            ones -= nodes[node, 2]
            if ones < 0 or ones > i:
                return out, BAD_STRUCTURE
            if bit:
                i = ones
                child = nodes[node, 4]
            else:
                i = i - ones
                child = nodes[node, 3]
            if child >= 0:
                lane_node[L] = child
                lane_i[L] = i
                continue
            c = -1 - child  # a leaf: one last-to-first step is done
            if c >= syms.shape[0]:
                return out, BAD_STRUCTURE
            if c == sep and lane_row[L] > r0:
                i -= 1
            row = syms[c, 1] + (1 if c == last else 0) + i
            if row < 0 or row >= n:
                return out, BAD_STRUCTURE
            steps = lane_steps[L] + 1
            if steps > n:
                return out, BAD_WALK
            done = -1
            if row == r0:
                done = steps
            elif row % every == 0:
                done = int(sa[row // every]) + steps
            if done >= 0:
                if done >= n:
                    return out, BAD_WALK
                out[lane_k[L]] = done
                lane_k[L] = -1
                busy -= 1
            else:
                lane_row[L] = row
                lane_steps[L] = steps
                lane_node[L] = 0
                lane_i[L] = row


@compiled
def locate_range(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                 syms: np.ndarray, sep: int, r0: int, last: int, n: int, sa: np.ndarray,
                 every: int, lo: int, hi: int) -> tuple[np.ndarray, int]:
    """:func:`locate` of the rows ``lo .. hi - 1``, walking them as one block while they
    are all preceded by the same symbol (occurrences of a passage that share what comes
    before it, as copies do): a step of the block is one rank descent for all of its rows,
    which stay contiguous and in order, and each step resolves the rows that land on a
    sampled row. The rows left when the block's predecessors differ walk on their own."""
    size = hi - lo
    out = np.full(max(size, 0), -1, dtype=np.int64)
    if size <= 0:
        return out, OK
    left = size
    cur = lo
    steps = 0
    while left > 0 and steps <= n:
        first = (cur + every - 1) // every * every
        for row in range(first, cur + size, every):
            if out[row - cur] < 0:
                out[row - cur] = int(sa[row // every]) + steps
                left -= 1
        if cur <= r0 < cur + size:
            if out[r0 - cur] < 0:
                out[r0 - cur] = steps
                left -= 1
            break  # the text's first suffix has no predecessor: the block ends here
        if left == 0 or nodes.shape[0] == 0:
            break
        c, _ = lf(words, dirs, nodes, syms, sep, r0, last, cur)
        if c < 0:
            return out, BAD_STRUCTURE
        rl, rh = wt_rank2(words, dirs, nodes, syms, c, cur, cur + size)
        if rl < 0:
            return out, BAD_STRUCTURE
        if rh - rl != size:  # predecessors differ: the rest walk alone
            break
        if c == sep and cur > r0:  # the placeholder at r0 is no separator
            rl -= 1
        cur = syms[c, 1] + (1 if c == last else 0) + rl
        if cur < 0 or cur + size > n:
            return out, BAD_STRUCTURE
        steps += 1
    if steps > n:
        return out, BAD_WALK
    if left:
        todo = np.flatnonzero(out < 0)
        pos, err = locate(words, dirs, nodes, syms, sep, r0, last, n, sa, every,
                          todo + cur)
        if err != OK:
            return out, err
        for t in range(todo.size):
            out[todo[t]] = pos[t] + steps
    for t in range(size):
        if out[t] < 0 or out[t] >= n:
            return out, BAD_WALK
    return out, OK


@compiled
def _locate_one(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                syms: np.ndarray, sep: int, r0: int, last: int, n: int, sa: np.ndarray,
                every: int, row: int) -> tuple[int, int]:
    """:func:`locate` of one row, walking alone."""
    if row < 0 or row >= n:
        return 0, BAD_WALK
    steps = 0
    while True:
        if row == r0:
            pos = steps
            break
        if row % every == 0:
            pos = int(sa[row // every]) + steps
            break
        c, row = lf(words, dirs, nodes, syms, sep, r0, last, row)
        if c < 0 or row < 0 or row >= n:
            return 0, BAD_STRUCTURE
        steps += 1
        if steps > n:
            return 0, BAD_WALK
    if pos >= n:
        return 0, BAD_WALK
    return pos, OK


@compiled
def extract(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
            syms: np.ndarray, sep: int, r0: int, last: int, n: int, row: int,
            count: int, first: int) -> tuple[np.ndarray, int]:
    """The ``count`` dense symbols before the suffix at ``row``, in text order; with
    ``first >= 0`` the last of them is ``first`` and the walk starts from ``row`` as the row
    of the suffix that symbol starts (the text's end, which has no row of its own)."""
    out = np.zeros(count, dtype=np.int64)
    k = count - 1
    if first >= 0 and k >= 0:
        out[k] = first
        k -= 1
    while k >= 0:
        if row == r0 or row < 0 or row >= n:
            return out, BAD_WALK
        c, row = lf(words, dirs, nodes, syms, sep, r0, last, row)
        if c < 0:
            return out, BAD_STRUCTURE
        out[k] = c
        k -= 1
    return out, OK


# -- building ------------------------------------------------------------------------------


@compiled
def token_positions(sa: np.ndarray, width: int) -> int:
    """Building: compact the token-aligned entries of a byte suffix array, as token
    positions, into its front, in order (in place); returns how many there are."""
    k = 0
    for i in range(sa.size):
        p = sa[i]
        if p % width == 0:
            sa[k] = p // width
            k += 1
    return k


@compiled
def bwt_of(tokens: np.ndarray, dense: np.ndarray, pos: np.ndarray, sep: int,
           out: np.ndarray) -> int:
    """Building: the dense BWT symbols into ``out`` (the separator at the row of position
    0); returns that row."""
    r0 = -1
    for r in range(pos.size):
        p = pos[r]
        if p == 0:
            out[r] = sep
            r0 = r
        else:
            out[r] = dense[tokens[p - 1]]
    return r0


@compiled
def bwt_of_sorted(tokens: np.ndarray, values: np.ndarray, dense: np.ndarray, pos: np.ndarray,
                  sep: int, out: np.ndarray) -> int:
    """Building: :func:`bwt_of` for wide tokens, each token's dense symbol found by binary
    search in the sorted distinct ``values`` (``dense[i]`` is ``values[i]``'s symbol)."""
    r0 = -1
    for r in range(pos.size):
        p = pos[r]
        if p == 0:
            out[r] = sep
            r0 = r
            continue
        out[r] = dense[lower_bound(values, tokens[p - 1])]
    return r0


@compiled
def count_values(values: np.ndarray, size: int) -> np.ndarray:
    """Building: occurrences of each value ``0 .. size-1`` (``np.bincount`` without its
    int64 copy of the input)."""
    out = np.zeros(size, dtype=np.int64)
    for i in range(values.size):
        out[values[i]] += 1
    return out


@compiled
def fill_bits(bwt: np.ndarray, syms: np.ndarray, nodes: np.ndarray, words: np.ndarray) -> None:
    """Building: write every BWT symbol's code bits into the bit vectors of the nodes on
    its path (each node's bits in BWT order)."""
    cursor = np.zeros(nodes.shape[0], dtype=np.int64)
    for r in range(bwt.size):
        c = bwt[r]
        code = np.uint64(syms[c, 2])
        node = 0
        for j in range(syms[c, 3]):
            b = (code >> np.uint64(j)) & np.uint64(1)
            pos = nodes[node, 0] + cursor[node]
            cursor[node] += 1
            if b:
                words[pos >> 6] |= np.uint64(1) << np.uint64(pos & 63)
                node = nodes[node, 4]
            else:
                node = nodes[node, 3]


@compiled
def doc_rows(tokens: np.ndarray, pos: np.ndarray, sep_token: int, doc_pos: np.ndarray
             ) -> np.ndarray:
    """Building: the row of each document's separator (``doc_pos``: their token positions,
    increasing)."""
    out = np.full(doc_pos.size, -1, dtype=np.int64)
    for r in range(pos.size):
        p = pos[r]
        if tokens[p] == sep_token:
            lo = lower_bound(doc_pos, p)
            if lo < doc_pos.size and doc_pos[lo] == p:
                out[lo] = r
    return out
