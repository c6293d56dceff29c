"""Locating a rank range of an FM-index by walking it as blocks that split (numba).

The rows of a rank range are the occurrences of one pattern. Where they are copies of one
passage they share their left context, so their last-to-first (LF) walks move together: one
LF step maps a run of rows preceded by the same symbol onto a run of rows again. A *block*
is such a group: the rows it stands for lie inside one contiguous row range from ``cur``,
each kept as its offset from ``cur`` and the output index it stands for (after a split the
rows of a block are no longer contiguous in the original range).

One LF step of a block descends the wavelet tree once for all of its rows: at each node its
rows are bits of one contiguous stretch of that node's vector, read word by word (in cache
after the first), and the rows are partitioned stably into the 0-side and the 1-side (LF
keeps the order of rows preceded by the same symbol); each side's start in the child comes
from one rank at the stretch's start. A leaf (symbol ``c``) turns its rows into a block one
step further, at ``C[c] + (c == last) + rank_c(cur)``, with the placeholder rule of
:func:`~regurgitate.index.fm_kernels.lf` (the row ``r0`` has no predecessor; rows after it
preceded by the separator shift down by one). A step costs a few ranks per distinct
predecessor instead of a full descent per row.

The visits of tree nodes (one per block and node) wait in a first-in first-out queue. Each
rank at a visit is a likely cache miss that the visit's work depends on, so the misses of
queued visits are overlapped: the directory line of a visit is prefetched when it is
queued, its bit-vector words ``PREFETCH_AHEAD`` visits before its turn. A block of one row
is then walked faster than by the lane walker :func:`~regurgitate.index.fm_kernels.locate`
(6 against 17 µs per row at 1 GB, on ranges of 1,000 rows from random ranks, which rarely
share a context: ``benchmarks/bench_fm_locate.py``), so blocks are handed to it (with the
steps already walked) only below ``handoff`` rows, 1 by default: never.

Rows that land on a sampled row (``row % every == 0``) or on ``r0`` are resolved and
dropped. Corruption is reported with the error codes of :mod:`regurgitate.index.fm_kernels`,
never by reading out of bounds or looping without end (a walk longer than the text is
``BAD_WALK``).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numba import njit

from regurgitate.index import fm_bits, kernels
from regurgitate.index import fm_kernels as fk
from regurgitate.index.fm_bits import _word, popcount, prefetch_dir, prefetch_words
from regurgitate.index.kernels import compiled, drop_stale_caches

drop_stale_caches(__file__, fm_bits.__file__, fk.__file__, kernels.__file__)

#: :func:`regurgitate.index.fm_bits._word` compiled without numba's reference counting of
#: the arrays passed to it (it allocates nothing): counted, the two atomic updates per
#: array and call cost about as much as the rest of a node visit
_rank_word = cast(Any, njit)(nogil=True, boundscheck=False, _nrt=False)(
    cast(Any, _word).py_func)

#: a block with fewer unresolved rows than this walks its rows in the lane walker (1: none
#: does; measured faster at every block size, see the module's docstring)
HANDOFF = 1
#: how many queued node visits ahead the bit-vector words of a visit are prefetched
PREFETCH_AHEAD = 8
#: deepest wavelet tree read (code lengths are at most 63)
MAX_DEPTH = 64

#: columns of the queue of node visits: the node (a leaf's ``-1 - symbol`` for a tree of one
#: symbol), the stretch's start in its bits (a block's ``cur`` at the root), the rows'
#: segment and count, the LF steps walked, whether the rows lie after ``r0``, the node's
#: depth, and whether the visit starts a block (its rows not yet checked for samples)
Q_NODE, Q_START, Q_AT, Q_LEN, Q_STEPS, Q_AFTER, Q_DEPTH, Q_BLOCK = 0, 1, 2, 3, 4, 5, 6, 7


@compiled
def locate_blocks(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                  syms: np.ndarray, sep: int, r0: int, last: int, n: int, sa: np.ndarray,
                  every: int, lo: int, hi: int, handoff: int) -> tuple[np.ndarray, int]:
    """Text position (tokens) of the suffix at each row ``lo .. hi - 1``, in row order:
    :func:`~regurgitate.index.fm_kernels.locate` of those rows, walking them as blocks that
    split (see the module's docstring); blocks under ``handoff`` rows go to the lane walker.
    Returns (positions, error code).

    One loop, calling no function that takes arrays but ``_rank_word`` (numba counts the
    references to the arrays passed to a function: two atomic updates per array and call,
    about as costly as the rest of a node visit)."""
    size = max(hi - lo, 0)
    out = np.full(size, -1, dtype=np.int64)
    if size == 0:
        return out, fk.OK
    if lo < 0 or hi > n:
        return out, fk.BAD_WALK
    # the rows of every block: offsets from the block's ``cur``, output indexes; a queued
    # visit owns one segment of these arrays, the visits it queues sub-segments of it
    koff = np.arange(size, dtype=np.int64)
    kid = np.arange(size, dtype=np.int64)
    tmp_off = np.empty(size, dtype=np.int64)
    tmp_id = np.empty(size, dtype=np.int64)
    # a ring of node visits (their segments are disjoint and not empty: at most ``size``)
    cap = size + 1
    queue = np.empty((cap, 8), dtype=np.int64)
    # the visits one visit queues (at most two)
    new = np.empty((2, 8), dtype=np.int64)
    # rows handed to the lane walker: row, output index, steps walked to reach it
    hand = np.empty((size, 3), dtype=np.int64)
    handed = 0
    root = 0 if nodes.shape[0] else -1  # one symbol: the root is its leaf
    queue[0, Q_NODE] = root
    queue[0, Q_START] = lo
    queue[0, Q_AT] = 0
    queue[0, Q_LEN] = size
    queue[0, Q_STEPS] = 0
    queue[0, Q_AFTER] = 0
    queue[0, Q_DEPTH] = 0
    queue[0, Q_BLOCK] = 1
    head = 0
    tail = 1
    while head != tail:
        waiting = tail - head if tail >= head else tail + cap - head
        if waiting > PREFETCH_AHEAD:
            # the stored words of the rank block of a visit a few turns ahead, located
            # through the directory (the layout of fm_bits) that was prefetched when queued
            ahead = head + PREFETCH_AHEAD
            if ahead >= cap:
                ahead -= cap
            node = queue[ahead, Q_NODE]
            if node >= 0:
                prefetch_words(words, dirs, nodes[node, 0] + queue[ahead, Q_START])
        node = queue[head, Q_NODE]
        s = queue[head, Q_START]
        seg = queue[head, Q_AT]
        sm = queue[head, Q_LEN]
        steps = queue[head, Q_STEPS]
        after = queue[head, Q_AFTER]
        depth = queue[head, Q_DEPTH]
        block = queue[head, Q_BLOCK]
        head = head + 1 if head + 1 < cap else 0
        made = 0
        visit = True
        if block:  # resolve the rows on a sampled row or on r0, keep the others in order
            w = seg
            for t in range(seg, seg + sm):
                row = s + koff[t]
                if row < 0 or row >= n:
                    return out, fk.BAD_STRUCTURE
                if row == r0:
                    out[kid[t]] = steps
                elif row % every == 0:
                    v = np.int64(sa[row // every]) + steps
                    if v >= n:
                        return out, fk.BAD_WALK
                    out[kid[t]] = v
                else:
                    koff[w] = koff[t]
                    kid[w] = kid[t]
                    w += 1
            sm = w - seg
            visit = sm > 0
            if visit:
                first = koff[seg]  # from its first row: ``cur`` is then a row of the block
                if first:
                    s += first
                    for t in range(seg, seg + sm):
                        koff[t] -= first
                if steps >= n:
                    return out, fk.BAD_WALK
                if sm < handoff:
                    for t in range(seg, seg + sm):
                        hand[handed, 0] = s + koff[t]
                        hand[handed, 1] = kid[t]
                        hand[handed, 2] = steps
                        handed += 1
                    visit = False
                elif s < r0 < s + koff[seg + sm - 1]:
                    # the rows after r0 shift on the separator's leaf, those before it do
                    # not: the rows each side of it step as blocks of their own
                    split = seg
                    while s + koff[split] < r0:
                        split += 1
                    for j in range(2):
                        new[j, Q_NODE] = node
                        new[j, Q_START] = s
                        new[j, Q_AT] = seg if j == 0 else split
                        new[j, Q_LEN] = split - seg if j == 0 else seg + sm - split
                        new[j, Q_STEPS] = steps
                        new[j, Q_AFTER] = 0
                        new[j, Q_DEPTH] = 0
                        new[j, Q_BLOCK] = 1  # again: its first row becomes its ``cur``
                    made = 2
                    visit = False
                else:
                    after = 1 if s > r0 else 0
        if visit and node < 0:  # a tree of one symbol: the root is its leaf
            new[0, Q_NODE] = node
            new[0, Q_START] = syms[0, 1] + (1 if last == 0 else 0) + s - after
            new[0, Q_AT] = seg
            new[0, Q_LEN] = sm
            new[0, Q_STEPS] = steps + 1
            new[0, Q_AFTER] = 0
            new[0, Q_DEPTH] = 0
            new[0, Q_BLOCK] = 1
            made = 1
        elif visit:
            if depth >= MAX_DEPTH:
                return out, fk.BAD_STRUCTURE
            length = nodes[node, 1]
            if s < 0 or s > length:
                return out, fk.BAD_STRUCTURE
            p0 = nodes[node, 0] + s
            r_word, word = _rank_word(words, dirs, p0)
            if r_word < 0:
                return out, fk.BAD_STRUCTURE
            word_at = p0 >> 6
            rank0 = r_word + popcount(word & ((np.uint64(1) << np.uint64(p0 & 63))
                                              - np.uint64(1)))
            before = rank0 - nodes[node, 2]  # ones before the stretch in this node
            if before < 0 or before > s:
                return out, fk.BAD_STRUCTURE
            zeros = 0
            ones = 0
            if sm == 1 and koff[seg] == 0:  # one row, at the stretch's start: no partition
                if s >= length:
                    return out, fk.BAD_STRUCTURE
                if (word >> np.uint64(p0 & 63)) & np.uint64(1):
                    tmp_off[0] = 0  # copied back below
                    tmp_id[0] = kid[seg]
                    ones = 1
                else:
                    zeros = 1
                sm = 0  # nothing left to partition
            for t in range(seg, seg + sm):
                k = koff[t]
                if k < 0 or s + k >= length:
                    return out, fk.BAD_STRUCTURE
                p = p0 + k
                if (p >> 6) != word_at:
                    r_word, word = _rank_word(words, dirs, p)
                    if r_word < 0:
                        return out, fk.BAD_STRUCTURE
                    word_at = p >> 6
                sh = np.uint64(p & 63)
                inside = r_word + popcount(word & ((np.uint64(1) << sh) - np.uint64(1))) \
                    - rank0  # ones of the stretch before this row
                if inside < 0 or inside > k:
                    return out, fk.BAD_STRUCTURE
                if (word >> sh) & np.uint64(1):
                    tmp_off[ones] = inside
                    tmp_id[ones] = kid[t]
                    ones += 1
                else:
                    koff[seg + zeros] = k - inside
                    kid[seg + zeros] = kid[t]
                    zeros += 1
            for u in range(ones):
                koff[seg + zeros + u] = tmp_off[u]
                kid[seg + zeros + u] = tmp_id[u]
            for side in range(2):
                cnt = zeros if side == 0 else ones
                if cnt == 0:
                    continue
                child = nodes[node, 3 + side]
                start = s - before if side == 0 else before
                new[made, Q_AT] = seg if side == 0 else seg + zeros
                new[made, Q_LEN] = cnt
                new[made, Q_AFTER] = after
                if child >= 0:
                    new[made, Q_NODE] = child
                    new[made, Q_START] = start
                    new[made, Q_STEPS] = steps
                    new[made, Q_DEPTH] = depth + 1
                    new[made, Q_BLOCK] = 0
                else:  # a leaf: the rows make a block one step further
                    c = -1 - child
                    if c >= syms.shape[0]:
                        return out, fk.BAD_STRUCTURE
                    new[made, Q_NODE] = root
                    new[made, Q_START] = syms[c, 1] + (1 if c == last else 0) + start \
                        - (after if c == sep else 0)
                    new[made, Q_STEPS] = steps + 1
                    new[made, Q_DEPTH] = 0
                    new[made, Q_BLOCK] = 1
                made += 1
        for j in range(made):  # queue them, prefetching their directory lines
            for col in range(8):
                queue[tail, col] = new[j, col]
            tail = tail + 1 if tail + 1 < cap else 0
            if new[j, Q_NODE] >= 0:
                prefetch_dir(dirs, nodes[new[j, Q_NODE], 0] + new[j, Q_START])
    if handed:
        pos, err = fk.locate(words, dirs, nodes, syms, sep, r0, last, n, sa, every,
                             np.ascontiguousarray(hand[:handed, 0]))
        if err != fk.OK:
            return out, err
        for t in range(handed):
            out[hand[t, 1]] = pos[t] + hand[t, 2]
    for t in range(size):
        if out[t] < 0 or out[t] >= n:
            return out, fk.BAD_WALK
    return out, fk.OK
