"""Compiled suffix-array searches (numba): the inner loops of :mod:`regurgitate.index.shard`.

A batched numpy search pays a dozen array operations per binary-search step whatever the
batch size, which dominated queries of one text (a few hundred positions). These loops run
each query's binary search to the end in machine code instead. The semantics are exactly
those documented on :class:`~regurgitate.index.shard.Shard`; corruption found on the way
(a pointer outside the token data or off a token boundary, a rank outside the table) is
reported through an error code, never by reading out of bounds.

Functions are compiled on first use and cached on disk (numba's ``cache=True``); they
release the GIL, so an index server answers concurrent requests in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import llvmlite  # type: ignore[import-untyped]
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: error codes returned by the batch functions
OK = 0
BAD_RANK = 1
BAD_POINTER = 2

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(fn: F) -> F:
    """``fn`` compiled by numba, its machine code cached on disk (beside this module, else
    in the user's cache folder). Where neither can be written numba refuses the cache when
    the function is defined; it is then compiled in memory on first use in every process."""
    try:
        return cast(F, njit(cache=True, nogil=True, boundscheck=False)(fn))
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return cast(F, njit(nogil=True, boundscheck=False)(fn))


#: the decorator of the compiled loops, for other modules of the package
compiled = _compiled


def drop_stale_caches(module_file: str, *compiled_in: str) -> None:
    """Remove the machine code numba cached beside ``module_file`` (its ``__pycache__``)
    when a module whose compiled functions it calls (``compiled_in``, source files) changed
    after it was cached.

    Numba checks a cache against the source file of the function cached only; the code of
    functions it calls from other modules is compiled into it, unchecked. A checkout that
    changes ``fm_bits.py`` but not ``fm_kernels.py`` would otherwise keep running the old
    rank inside the old kernels. Called at the top of each such module, before any of its
    functions runs; a cache written after every one of its dependencies is kept, and files
    another process removes first are no error. (Where the package's folder is read-only,
    numba caches in the user's cache folder instead; an install rewrites every source file
    there, so each cache goes stale by its own file's stamp.)"""
    here = Path(module_file)
    try:
        newest = max(Path(f).stat().st_mtime for f in compiled_in)
    except (OSError, ValueError):
        return
    for cached in (here.parent / "__pycache__").glob(f"{here.stem}.*.nb[ic]"):
        try:
            if cached.stat().st_mtime < newest:
                cached.unlink()
        except OSError:
            continue


def compiled_inline(fn: F) -> F:
    """:func:`compiled`, inlined into its callers by numba: for the small helpers called
    once per step of a search. A call that is not inlined takes a reference to every
    array it is passed and gives it back on return (atomic counts) at each call."""
    try:
        return cast(F, njit(cache=True, nogil=True, boundscheck=False, inline="always")(fn))
    except RuntimeError:  # see ``_compiled``
        return cast(F, njit(nogil=True, boundscheck=False, inline="always")(fn))


@intrinsic
def prefetch(typingctx: Any, arr: Any, idx: Any) -> Any:
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


@_compiled
def _pointer(table: np.ndarray, psize: int, rank: int) -> int:
    base = rank * psize
    value = 0
    for b in range(psize):
        value |= int(table[base + b]) << (8 * b)
    return value


@_compiled
def _lcp(ds: np.ndarray, ptr: int, qbuf: np.ndarray, qstart: int, qlen: int,
         known: int) -> int:
    """Common prefix (bytes) of query bytes ``qbuf[qstart:qstart + qlen]`` and the suffix at
    ``ptr``, starting the comparison after ``known`` bytes that already match."""
    limit = min(qlen, ds.size - ptr)
    k = min(known, limit)
    while k < limit and qbuf[qstart + k] == ds[ptr + k]:
        k += 1
    return k


@_compiled
def _bucket(prefix: np.ndarray, n: int, qbuf: np.ndarray, qstart: int,
            qlen: int) -> tuple[int, int]:
    """Rank range of the suffixes sharing the query's first two bytes (first byte for a
    one-byte query); the whole table without a prefix table or for an empty query."""
    if prefix.size == 0 or qlen <= 0:
        return 0, n
    b0 = np.int64(qbuf[qstart])
    if qlen >= 2:
        key = b0 * 257 + np.int64(qbuf[qstart + 1]) + 1
        return prefix[key], prefix[key + 1]
    return prefix[b0 * 257], prefix[b0 * 257 + 257]


#: ranks between two sampled keys (``format.SAMPLE_EVERY``; kept equal by a test)
SAMPLE_EVERY = 1024


@_compiled
def _narrow(sample: np.ndarray, lo: int, hi: int, qbuf: np.ndarray, qstart: int,
            qlen: int) -> tuple[int, int]:
    """``[lo, hi)`` narrowed by the sampled keys (``sample.s``), without touching the
    table or the data. With the query's first 8 bytes padded with zeros (``klo``) and with
    0xff (``khi``): a sampled suffix whose key is below ``klo`` sorts before the query, one
    above ``khi`` after it and after everything it prefixes; the answer lies between."""
    if sample.size == 0 or qlen <= 0:
        return lo, hi
    klo = np.uint64(0)
    khi = np.uint64(0)
    for j in range(8):
        b = np.uint64(qbuf[qstart + j]) if j < qlen else np.uint64(0)
        c = np.uint64(qbuf[qstart + j]) if j < qlen else np.uint64(255)
        klo = (klo << np.uint64(8)) | b
        khi = (khi << np.uint64(8)) | c
    a = 0  # first sampled key >= klo
    z = sample.size
    while a < z:
        mid = (a + z) // 2
        if sample[mid] < klo:
            a = mid + 1
        else:
            z = mid
    if a > 0:
        lo = max(lo, (a - 1) * SAMPLE_EVERY + 1)
    a2 = a  # first sampled key > khi
    z = sample.size
    while a2 < z:
        mid = (a2 + z) // 2
        if sample[mid] <= khi:
            a2 = mid + 1
        else:
            z = mid
    if a2 < sample.size:
        hi = min(hi, a2 * SAMPLE_EVERY)
    return lo, max(lo, hi)


#: binary searches :func:`_search_all` advances together (reads in flight at once)
SEARCH_LANES = 16


@_compiled
def _search_all(ds: np.ndarray, table: np.ndarray, psize: int, n: int, width: int,
                prefix: np.ndarray, sample: np.ndarray, qbuf: np.ndarray, qstart: np.ndarray,
                qlen: np.ndarray, upper: bool, rank: np.ndarray, before: np.ndarray,
                at: np.ndarray) -> int:
    """Binary search of every query: its rank (the lower bound, or with ``upper`` the
    upper one) into ``rank``, and the common prefixes of the query with the suffixes just
    below and at that rank, as far as the search compared them, into ``before`` and
    ``at``; returns an error code. Every suffix between two compared ones shares their
    common prefix with the query, so a comparison starts after the smaller of the two
    known prefixes. A search starts in the query's prefix bucket narrowed by the sampled
    keys (both optional).

    Past the cached top levels, each step of a binary search waits for two reads from
    memory, the pointer and then the suffix's bytes, and each step depends on the one
    before. ``SEARCH_LANES`` searches therefore advance together: a round first reads
    every lane's pointer, then compares every lane's suffix, so the reads of different
    searches overlap instead of waiting in turn (the larger the index, the more a step
    misses the caches, and the more this saves)."""
    m = qstart.size
    lanes = SEARCH_LANES
    lane_q = np.full(lanes, -1, dtype=np.int64)
    lo = np.zeros(lanes, dtype=np.int64)
    hi = np.zeros(lanes, dtype=np.int64)
    llo = np.zeros(lanes, dtype=np.int64)
    lhi = np.zeros(lanes, dtype=np.int64)
    ptrs = np.zeros(lanes, dtype=np.int64)
    size = ds.size
    nxt = 0
    busy = 0
    while True:
        for k in range(lanes):
            while lane_q[k] < 0 and nxt < m:
                r = nxt
                nxt += 1
                a, b = _bucket(prefix, n, qbuf, qstart[r], qlen[r])
                a, b = _narrow(sample, a, b, qbuf, qstart[r], qlen[r])
                if a >= b:
                    rank[r] = a
                    before[r] = 0
                    at[r] = 0
                    continue
                lane_q[k] = r
                lo[k] = a
                hi[k] = b
                llo[k] = 0
                lhi[k] = 0
                busy += 1
        if busy == 0:
            return OK
        for k in range(lanes):  # every lane's pointer first
            if lane_q[k] >= 0:
                mid = (lo[k] + hi[k]) // 2
                if mid < 0 or mid >= n:
                    return BAD_RANK
                ptrs[k] = _pointer(table, psize, mid)
        for k in range(lanes):  # then every lane's comparison
            r = lane_q[k]
            if r < 0:
                continue
            ptr = ptrs[k]
            if ptr >= size or ptr % width != 0:
                return BAD_POINTER
            qs = qstart[r]
            ql = qlen[r]
            lcp = _lcp(ds, ptr, qbuf, qs, ql, min(llo[k], lhi[k]))
            if lcp >= ql:
                sign = 0
            elif ptr + lcp >= size or ds[ptr + lcp] < qbuf[qs + lcp]:
                sign = -1
            else:
                sign = 1
            mid = (lo[k] + hi[k]) // 2
            if sign < 0 or (upper and sign == 0):
                lo[k] = mid + 1
                llo[k] = lcp
            else:
                hi[k] = mid
                lhi[k] = lcp
            if lo[k] >= hi[k]:
                rank[r] = lo[k]
                before[r] = llo[k]
                at[r] = lhi[k]
                lane_q[k] = -1
                busy -= 1


@_compiled
def search(ds: np.ndarray, table: np.ndarray, psize: int, n: int, width: int,
           prefix: np.ndarray, sample: np.ndarray, qbuf: np.ndarray, qstart: np.ndarray,
           qlen: np.ndarray, upper: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(rank, lcp_before, lcp_at, error) of every query (see ``Shard.search``)."""
    m = qstart.size
    rank = np.zeros(m, dtype=np.int64)
    before = np.zeros(m, dtype=np.int64)
    at = np.zeros(m, dtype=np.int64)
    err = _search_all(ds, table, psize, n, width, prefix, sample, qbuf, qstart, qlen, upper,
                      rank, before, at)
    return rank, before, at, err


@_compiled
def ranges(ds: np.ndarray, table: np.ndarray, psize: int, n: int, width: int,
           prefix: np.ndarray, sample: np.ndarray, qbuf: np.ndarray, qstart: np.ndarray,
           qlen: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """[lower, upper) ranks of every query and an error code, for queries that occur few
    times: the lower bound by binary search, the upper one by galloping from it (ranks
    ``lower + 1, + 2, + 4, ...`` until a suffix no longer starts with the query, then a
    binary search between the last two), so a query occurring ``c`` times costs
    ``O(log c)`` comparisons beyond its lower bound instead of a second full search.
    The gallops of ``SEARCH_LANES`` queries advance together, as the searches do (see
    :func:`_search_all`)."""
    m = qstart.size
    lower = np.zeros(m, dtype=np.int64)
    upper = np.zeros(m, dtype=np.int64)
    before = np.zeros(m, dtype=np.int64)
    at = np.zeros(m, dtype=np.int64)
    err = _search_all(ds, table, psize, n, width, prefix, sample, qbuf, qstart, qlen, False,
                      lower, before, at)
    if err != OK:
        return lower, upper, err
    lanes = SEARCH_LANES
    lane_q = np.full(lanes, -1, dtype=np.int64)
    good = np.zeros(lanes, dtype=np.int64)  # a rank whose suffix starts with the query
    bad = np.zeros(lanes, dtype=np.int64)  # the first rank known not to (or the bucket's end)
    step = np.zeros(lanes, dtype=np.int64)  # > 0: galloping; 0: bisecting; -1: first check
    probe = np.zeros(lanes, dtype=np.int64)
    ptrs = np.zeros(lanes, dtype=np.int64)
    size = ds.size
    nxt = 0
    busy = 0
    while True:
        for k in range(lanes):
            while lane_q[k] < 0 and nxt < m:
                r = nxt
                nxt += 1
                lo = lower[r]
                upper[r] = lo
                end = _bucket(prefix, n, qbuf, qstart[r], qlen[r])[1]
                if lo >= end:
                    continue
                lane_q[k] = r
                bad[k] = end
                good[k] = lo
                # the search compared the suffix at ``lo`` when it ended there
                step[k] = 1 if at[r] >= qlen[r] else -1
                busy += 1
        if busy == 0:
            return lower, upper, OK
        for k in range(lanes):  # every lane's probe and pointer first
            if lane_q[k] < 0:
                continue
            if step[k] > 0 and good[k] + step[k] >= bad[k]:
                step[k] = 0  # galloped to the end: bisect what is left
            if step[k] < 0:
                probe[k] = good[k]
            elif step[k] > 0:
                probe[k] = good[k] + step[k]
            elif bad[k] - good[k] > 1:
                probe[k] = (good[k] + bad[k]) // 2
            else:
                probe[k] = -1
                continue
            ptrs[k] = _pointer(table, psize, probe[k])
        for k in range(lanes):  # then every lane's comparison
            r = lane_q[k]
            if r < 0:
                continue
            if probe[k] >= 0:
                ptr = ptrs[k]
                if ptr >= size or ptr % width != 0:
                    return lower, upper, BAD_POINTER
                hit = _lcp(ds, ptr, qbuf, qstart[r], qlen[r], 0) >= qlen[r]
                if step[k] < 0:  # the lower bound itself
                    if hit:
                        step[k] = 1
                        continue
                    bad[k] = good[k]
                elif step[k] > 0:
                    if hit:
                        good[k] = probe[k]
                        step[k] *= 2
                        continue
                    bad[k] = probe[k]
                    step[k] = 0
                    continue
                else:
                    if hit:
                        good[k] = probe[k]
                    else:
                        bad[k] = probe[k]
                    continue
            upper[r] = bad[k]
            lane_q[k] = -1
            busy -= 1


@_compiled
def longest(ds: np.ndarray, table: np.ndarray, psize: int, n: int, width: int,
            prefix: np.ndarray, sample: np.ndarray, qbuf: np.ndarray, qstart: np.ndarray,
            qlen: np.ndarray) -> tuple[np.ndarray, int]:
    """Longest prefix (bytes) of every query occurring in the shard, and an error code:
    the best common prefix is with a neighbour of the query's insertion rank."""
    m = qstart.size
    best = np.zeros(m, dtype=np.int64)
    ranks = np.zeros(m, dtype=np.int64)
    befores = np.zeros(m, dtype=np.int64)
    ats = np.zeros(m, dtype=np.int64)
    size = ds.size
    err = _search_all(ds, table, psize, n, width, prefix, sample, qbuf, qstart, qlen, False,
                      ranks, befores, ats)
    if err != OK:
        return best, err
    for r in range(m):
        rank, before, at = ranks[r], befores[r], ats[r]
        if prefix.size or sample.size:  # the ends of the range a search started from
            # were never compared: their prefixes may be missing
            for k in range(2):
                nb = rank - 1 + k
                if 0 <= nb < n:
                    ptr = _pointer(table, psize, nb)
                    if ptr >= size or ptr % width != 0:
                        return best, BAD_POINTER
                    known = before if k == 0 else at
                    found = _lcp(ds, ptr, qbuf, qstart[r], qlen[r], known)
                    if k == 0:
                        before = found
                    else:
                        at = found
        best[r] = max(before, at)
    return best, OK


@_compiled
def pointers(table: np.ndarray, psize: int, n: int, size: int, width: int,
             ranks: np.ndarray) -> tuple[np.ndarray, int]:
    """Byte offsets stored at ``ranks``, and an error code."""
    ptrs = np.zeros(ranks.size, dtype=np.int64)
    for i in range(ranks.size):
        r = ranks[i]
        if r < 0 or r >= n:
            return ptrs, BAD_RANK
        p = _pointer(table, psize, r)
        if p >= size or p % width != 0:
            return ptrs, BAD_POINTER
        ptrs[i] = p
    return ptrs, OK


@_compiled
def pack_table(sa: np.ndarray, width: int, psize: int, out: np.ndarray) -> int:
    """Building: write the token-aligned entries of suffix-array chunk ``sa`` (byte
    offsets) to ``out`` as ``psize``-byte little-endian pointers, in order. Returns the
    number of pointers written."""
    k = 0
    for i in range(sa.size):
        p = sa[i]
        if p % width != 0:
            continue
        v = p
        base = k * psize
        for b in range(psize):
            out[base + b] = v & 0xFF
            v >>= 8
        k += 1
    return k


@_compiled
def count_prefixes(data: np.ndarray, width: int, counts: np.ndarray) -> None:
    """Building: add the two-byte prefix key (:func:`regurgitate.index.format.prefix_key`)
    of every token-aligned offset of ``data`` to ``counts``, in one sequential pass."""
    size = data.size
    for p in range(0, size, width):
        key = int(data[p]) * 257
        if p + 1 < size:
            key += int(data[p + 1]) + 1
        counts[key] += 1
