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
queued, its bit-vector words ``PREFETCH_AHEAD`` visits before its turn.

Rows that land on a sampled row (``row % every == 0``) or on ``r0`` are resolved and
dropped. A block left with few rows is handed, with the steps already walked, to the lane
walker :func:`~regurgitate.index.fm_kernels.locate`, so a range whose rows all have
different contexts costs about what walking each alone costs. Corruption is reported with
the error codes of :mod:`regurgitate.index.fm_kernels`, never by reading out of bounds or
looping without end (a walk longer than the text is ``BAD_WALK``).
"""

from __future__ import annotations

from typing import Any

import llvmlite  # type: ignore[import-untyped]
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from regurgitate.index import fm_kernels as fk
from regurgitate.index.fm_bits import _word, popcount
from regurgitate.index.kernels import compiled

#: a block with fewer unresolved rows than this walks its rows in the lane walker
HANDOFF = 1
#: how many queued node visits ahead the bit-vector words of a visit are prefetched
PREFETCH_AHEAD = 8
#: deepest wavelet tree read (code lengths are at most 63)
MAX_DEPTH = 64

#: columns of the queue of node visits
Q_NODE, Q_START, Q_AT, Q_LEN, Q_STEPS, Q_AFTER, Q_DEPTH = 0, 1, 2, 3, 4, 5, 6


@intrinsic
def _prefetch(typingctx: Any, arr: Any, idx: Any) -> Any:
    """Hint the CPU to load the cache line of ``arr[idx]`` (LLVM's ``prefetch``: never
    faults, returns nothing); ``idx`` must lie inside ``arr``."""
    sig = types.void(arr, types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        typed = getattr(llvmlite, "ir_layer_typed_pointers_enabled", True)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8" if typed else "llvm.prefetch.p0")
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all caches, data
        return context.get_dummy_value()

    return sig, codegen


@compiled
def _prefetch_rank(words: np.ndarray, dirs: np.ndarray, pos: int) -> None:
    """Prefetch the stored words a rank at bit ``pos`` reads (those of its 512-bit block,
    located through the directory: see :mod:`regurgitate.index.fm_bits`)."""
    if pos < 0:
        return
    b = pos >> 9
    at = (b >> 2) << 2
    if at + 3 >= dirs.size or words.size == 0:
        return
    d = np.int64((dirs[at + 2 + ((b >> 1) & 1)] >> np.uint64(32 * (b & 1)))
                 & np.uint64(0xFFFFFFFF))
    p = np.int64(dirs[at + 1]) + ((d >> 11) & 0x1F)
    if 0 <= p < words.size:
        _prefetch(words, p)  # type: ignore[call-arg]
        _prefetch(words, min(p + 7, words.size - 1))  # type: ignore[call-arg]


@compiled
def _queue(queue: np.ndarray, tail: int, nodes: np.ndarray, dirs: np.ndarray, node: int,
           start: int, at: int, size: int, steps: int, after: int, depth: int) -> int:
    """Append a node visit to the ring ``queue`` (prefetching its directory line); returns
    the new tail."""
    queue[tail, Q_NODE] = node
    queue[tail, Q_START] = start
    queue[tail, Q_AT] = at
    queue[tail, Q_LEN] = size
    queue[tail, Q_STEPS] = steps
    queue[tail, Q_AFTER] = after
    queue[tail, Q_DEPTH] = depth
    if node >= 0:
        d = 4 * ((nodes[node, 0] + start) >> 11)
        if 0 <= d < dirs.size:
            _prefetch(dirs, d)  # type: ignore[call-arg]
    return tail + 1 if tail + 1 < queue.shape[0] else 0


@compiled
def _admit(out: np.ndarray, koff: np.ndarray, kid: np.ndarray, sa: np.ndarray, every: int,
           r0: int, n: int, nodes: np.ndarray, dirs: np.ndarray, queue: np.ndarray,
           tail: int, hand: np.ndarray, handed: int, handoff: int, cur: int, steps: int,
           a: int, m: int) -> tuple[int, int, int]:
    """A block ``steps`` LF steps from its rows' start: resolve its rows on a sampled row
    or on ``r0``, then queue the visit of the tree's root for the others (two, one each
    side of ``r0`` where that lies inside) or hand them to the lane walker. Returns (tail,
    rows handed, error code)."""
    w = a
    for t in range(a, a + m):
        row = cur + koff[t]
        if row < 0 or row >= n:
            return tail, handed, fk.BAD_STRUCTURE
        if row == r0:
            out[kid[t]] = steps
        elif row % every == 0:
            v = np.int64(sa[row // every]) + steps
            if v >= n:
                return tail, handed, fk.BAD_WALK
            out[kid[t]] = v
        else:
            koff[w] = koff[t]
            kid[w] = kid[t]
            w += 1
    m = w - a
    if m == 0:
        return tail, handed, fk.OK
    if steps >= n:
        return tail, handed, fk.BAD_WALK
    if m < handoff:
        for t in range(a, a + m):
            hand[handed, 0] = cur + koff[t]
            hand[handed, 1] = kid[t]
            hand[handed, 2] = steps
            handed += 1
        return tail, handed, fk.OK
    root = 0 if nodes.shape[0] else -1  # one symbol: the root is its leaf
    # the rows after r0 shift on the separator's leaf, those before it do not: where r0
    # lies among the rows, the rows each side of it step as blocks of their own
    split = a + m
    if cur < r0 < cur + koff[a + m - 1]:
        split = a
        while cur + koff[split] < r0:
            split += 1
    for lo, hi in ((a, split), (split, a + m)):
        if hi > lo:
            first = koff[lo]  # from its first row: ``cur`` is then a row of the block
            for t in range(lo, hi):
                koff[t] -= first
            tail = _queue(queue, tail, nodes, dirs, root, cur + first, lo, hi - lo, steps,
                          1 if cur + first > r0 else 0, 0)
    return tail, handed, fk.OK


@compiled
def locate_blocks(words: np.ndarray, dirs: np.ndarray, nodes: np.ndarray,
                  syms: np.ndarray, sep: int, r0: int, last: int, n: int, sa: np.ndarray,
                  every: int, lo: int, hi: int, handoff: int) -> tuple[np.ndarray, int]:
    """Text position (tokens) of the suffix at each row ``lo .. hi - 1``, in row order:
    :func:`~regurgitate.index.fm_kernels.locate` of those rows, walking them as blocks that
    split (see the module's docstring); blocks under ``handoff`` rows go to the lane walker.
    Returns (positions, error code)."""
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
    # node visits (their segments are disjoint and not empty: at most ``size`` at once)
    queue = np.empty((size + 1, 7), dtype=np.int64)
    head = 0
    tail = 0
    # rows handed to the lane walker: row, output index, steps walked to reach it
    hand = np.empty((size, 3), dtype=np.int64)
    handed = 0
    tail, handed, err = _admit(out, koff, kid, sa, every, r0, n, nodes, dirs, queue, tail,
                               hand, handed, handoff, lo, 0, 0, size)
    if err != fk.OK:
        return out, err
    cap = size + 1
    while head != tail:
        ahead = head + PREFETCH_AHEAD
        if ahead >= cap:
            ahead -= cap
        if (tail - head) % cap > PREFETCH_AHEAD and queue[ahead, Q_NODE] >= 0:
            _prefetch_rank(words, dirs, nodes[queue[ahead, Q_NODE], 0] + queue[ahead, Q_START])
        node = queue[head, Q_NODE]
        s = queue[head, Q_START]
        seg = queue[head, Q_AT]
        sm = queue[head, Q_LEN]
        steps = queue[head, Q_STEPS]
        after = queue[head, Q_AFTER]
        depth = queue[head, Q_DEPTH]
        head += 1
        if head == cap:
            head = 0
        if node < 0:  # the root is a leaf (one symbol only)
            tail, handed, err = _admit(out, koff, kid, sa, every, r0, n, nodes, dirs,
                                       queue, tail, hand, handed, handoff,
                                       syms[0, 1] + (1 if last == 0 else 0) + s
                                       - (after if sep == 0 else 0), steps + 1, seg, sm)
            if err != fk.OK:
                return out, err
            continue
        if depth >= MAX_DEPTH:
            return out, fk.BAD_STRUCTURE
        length = nodes[node, 1]
        if s < 0 or s > length:
            return out, fk.BAD_STRUCTURE
        p0 = nodes[node, 0] + s
        r_word, word = _word(words, dirs, p0)
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
        for t in range(seg, seg + sm):
            k = koff[t]
            if k < 0 or s + k >= length:
                return out, fk.BAD_STRUCTURE
            p = p0 + k
            if (p >> 6) != word_at:
                r_word, word = _word(words, dirs, p)
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
            at = seg if side == 0 else seg + zeros
            if child >= 0:
                tail = _queue(queue, tail, nodes, dirs, child, start, at, cnt, steps, after,
                              depth + 1)
            else:  # a leaf: the rows make a block one step further
                c = -1 - child
                if c >= syms.shape[0]:
                    return out, fk.BAD_STRUCTURE
                new = syms[c, 1] + (1 if c == last else 0) + start
                if c == sep:
                    new -= after
                tail, handed, err = _admit(out, koff, kid, sa, every, r0, n, nodes, dirs,
                                           queue, tail, hand, handed, handoff, new,
                                           steps + 1, at, cnt)
                if err != fk.OK:
                    return out, err
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
