"""Locating a rank range of an FM-index by walking it as blocks that split (numba).

The rows of a rank range are the occurrences of one pattern. Where they are copies of one
passage they share their left context, so their last-to-first (LF) walks move together: one
LF step maps a run of rows preceded by the same symbol onto a run of rows again. A *block*
is such a group: the rows it stands for lie inside one contiguous row range ``[cur, ...)``,
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

Rows that land on a sampled row (``row % every == 0``) or on ``r0`` are resolved and
dropped. A block left with few rows is handed, with the steps already walked, to the lane
walker :func:`~regurgitate.index.fm_kernels.locate`, so a range whose rows all have
different contexts costs about what walking each alone costs. Corruption is reported with
the error codes of :mod:`regurgitate.index.fm_kernels`, never by reading out of bounds or
looping without end (a walk longer than the text is ``BAD_WALK``).
"""

from __future__ import annotations

import numpy as np

from regurgitate.index import fm_kernels as fk
from regurgitate.index.fm_bits import _word, popcount
from regurgitate.index.kernels import compiled

#: a block with fewer unresolved rows than this walks its rows in the lane walker
HANDOFF = 8
#: deepest wavelet tree read (code lengths are at most 63)
MAX_DEPTH = 64


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
    # the rows of every block: offsets from the block's ``cur``, output indexes; a block
    # owns one segment of these arrays, its sub-blocks sub-segments of it
    koff = np.arange(size, dtype=np.int64)
    kid = np.arange(size, dtype=np.int64)
    tmp_off = np.empty(size, dtype=np.int64)
    tmp_id = np.empty(size, dtype=np.int64)
    # blocks to step: cur, steps walked, segment start, rows
    b_cur = np.empty(size + 2, dtype=np.int64)
    b_steps = np.empty(size + 2, dtype=np.int64)
    b_at = np.empty(size + 2, dtype=np.int64)
    b_len = np.empty(size + 2, dtype=np.int64)
    # the descent of one block: node, start in its bits, segment start, rows, depth
    s_node = np.empty(2 * MAX_DEPTH + 4, dtype=np.int64)
    s_start = np.empty(2 * MAX_DEPTH + 4, dtype=np.int64)
    s_at = np.empty(2 * MAX_DEPTH + 4, dtype=np.int64)
    s_len = np.empty(2 * MAX_DEPTH + 4, dtype=np.int64)
    s_depth = np.empty(2 * MAX_DEPTH + 4, dtype=np.int64)
    # rows handed to the lane walker, with the steps walked to reach them
    h_row = np.empty(size, dtype=np.int64)
    h_id = np.empty(size, dtype=np.int64)
    h_steps = np.empty(size, dtype=np.int64)
    handed = 0
    nb = 1
    b_cur[0] = lo
    b_steps[0] = 0
    b_at[0] = 0
    b_len[0] = size
    one_symbol = nodes.shape[0] == 0
    while nb > 0:
        nb -= 1
        cur = b_cur[nb]
        steps = b_steps[nb]
        a = b_at[nb]
        m = b_len[nb]
        # resolve the rows on a sampled row or on r0, keep the others in order
        w = a
        for t in range(a, a + m):
            row = cur + koff[t]
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
        m = w - a
        if m == 0:
            continue
        first = koff[a]  # from the first row left: ``cur`` is a row of the block
        if first:
            cur += first
            for t in range(a, a + m):
                koff[t] -= first
        if steps >= n:
            return out, fk.BAD_WALK
        if m < handoff:
            for t in range(a, a + m):
                h_row[handed] = cur + koff[t]
                h_id[handed] = kid[t]
                h_steps[handed] = steps
                handed += 1
            continue
        if cur < r0 < cur + koff[a + m - 1]:
            # r0 (resolved) lies inside: the rows after it shift on the separator's leaf,
            # those before it do not; step them as two blocks
            t = a
            while cur + koff[t] < r0:
                t += 1
            shift = r0 + 1 - cur
            for u in range(t, a + m):
                koff[u] -= shift
            b_cur[nb] = cur
            b_steps[nb] = steps
            b_at[nb] = a
            b_len[nb] = t - a
            b_cur[nb + 1] = r0 + 1
            b_steps[nb + 1] = steps
            b_at[nb + 1] = t
            b_len[nb + 1] = a + m - t
            nb += 2
            continue
        after_r0 = 1 if cur > r0 else 0
        ns = 1
        s_node[0] = -1 if one_symbol else 0  # one symbol: the root is its leaf
        s_start[0] = cur
        s_at[0] = a
        s_len[0] = m
        s_depth[0] = 0
        while ns > 0:
            ns -= 1
            node = s_node[ns]
            s = s_start[ns]
            seg = s_at[ns]
            sm = s_len[ns]
            depth = s_depth[ns]
            if node < 0:  # a leaf: its rows make a block one step further
                c = -1 - node
                if c >= syms.shape[0]:
                    return out, fk.BAD_STRUCTURE
                new = syms[c, 1] + (1 if c == last else 0) + s
                if c == sep:
                    new -= after_r0
                b_cur[nb] = new
                b_steps[nb] = steps + 1
                b_at[nb] = seg
                b_len[nb] = sm
                nb += 1
                continue
            if depth >= MAX_DEPTH:
                return out, fk.BAD_STRUCTURE
            length = nodes[node, 1]
            p0 = nodes[node, 0] + s
            if s < 0 or s > length:
                return out, fk.BAD_STRUCTURE
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
            if ones:
                s_node[ns] = nodes[node, 4]
                s_start[ns] = before
                s_at[ns] = seg + zeros
                s_len[ns] = ones
                s_depth[ns] = depth + 1
                ns += 1
            if zeros:
                s_node[ns] = nodes[node, 3]
                s_start[ns] = s - before
                s_at[ns] = seg
                s_len[ns] = zeros
                s_depth[ns] = depth + 1
                ns += 1
    if handed:
        pos, err = fk.locate(words, dirs, nodes, syms, sep, r0, last, n, sa, every,
                             h_row[:handed])
        if err != fk.OK:
            return out, err
        for t in range(handed):
            out[h_id[t]] = pos[t] + h_steps[t]
    for t in range(size):
        if out[t] < 0 or out[t] >= n:
            return out, fk.BAD_WALK
    return out, fk.OK
