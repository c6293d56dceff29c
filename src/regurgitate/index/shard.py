"""One memory-mapped shard and the vectorised suffix-array searches over it.

All comparisons work on bytes: a query of token ids becomes its little-endian bytes, and the
suffix array is ordered by the bytes of ``tokenized.s`` (see :mod:`regurgitate.index.format`).
A longest common prefix in bytes, floored to whole tokens, is the token LCP. Each search
runs many queries at once: one binary search step for all of them is a handful of numpy
operations, and the suffix comparisons proceed in blocks of growing size so that a long match
costs O(log length) numpy calls rather than one per token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from regurgitate.errors import IndexCorruptError
from regurgitate.index import format as fmt


@dataclass(frozen=True)
class Queries:
    """Byte slices of one buffer ``buf``: query r is ``buf[start[r]:start[r] + length[r]]``."""

    buf: np.ndarray
    start: np.ndarray
    length: np.ndarray


class Shard:
    """Memory maps of one shard's files with batched lower/upper-bound and LCP searches."""

    def __init__(self, directory: Path, shard: int, dtype: np.dtype) -> None:
        self.id = shard
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.width = self.dtype.itemsize
        paths = {k: fmt.shard_file(directory, k, shard) for k in fmt.SHARD_FILES}
        for k in fmt.REQUIRED_SHARD_FILES:
            if not paths[k].is_file():
                raise IndexCorruptError(f"{paths[k]}: file missing from the index")
        self.ds = _map(paths["tokenized"])
        self.size = int(self.ds.size)
        self._words = _words(self.ds)
        if self.size % self.width:
            raise IndexCorruptError(f"{paths['tokenized']}: size {self.size} is not a multiple "
                                    f"of the token width {self.width}")
        self.n = self.size // self.width
        self.ptr_size = fmt.ptr_size(self.size)
        table = _map(paths["table"])
        if table.size != self.n * self.ptr_size:
            raise IndexCorruptError(
                f"{paths['table']}: size {table.size} bytes, expected {self.n * self.ptr_size} "
                f"({self.n} pointers of {self.ptr_size} bytes for {paths['tokenized'].name})")
        self._table_bytes = table
        if self.ptr_size in (1, 2, 4, 8):
            self._table: np.ndarray | None = table.view(f"<u{self.ptr_size}")
        else:
            self._table = None
        offsets = _map(paths["offset"])
        if offsets.size % 8:
            raise IndexCorruptError(f"{paths['offset']}: size {offsets.size} is not a "
                                    "multiple of 8")
        self.doc_starts = offsets.view("<u8")
        self.num_docs = int(self.doc_starts.size)
        if self.num_docs and int(self.doc_starts[-1]) >= max(self.size, 1):
            raise IndexCorruptError(f"{paths['offset']}: document offsets point past the end "
                                    f"of {paths['tokenized'].name}")
        self.prefix: np.ndarray | None = None
        if paths["prefix"].is_file() and \
                paths["prefix"].stat().st_size == 8 * (fmt.PREFIX_KEYS + 1):
            self.prefix = _map(paths["prefix"]).view("<u8").astype(np.int64)
            if int(self.prefix[-1]) != self.n:
                raise IndexCorruptError(f"{paths['prefix']}: counts {int(self.prefix[-1])} "
                                        f"suffixes, the table has {self.n}")
        self.meta: np.ndarray | None = None
        self.meta_offsets: np.ndarray | None = None
        if paths["metadata"].is_file() and paths["metaoff"].is_file():
            self.meta = _map(paths["metadata"])
            self.meta_offsets = _map(paths["metaoff"]).view("<u8")

    # -- raw access ----------------------------------------------------------------------

    def pointers(self, ranks: np.ndarray) -> np.ndarray:
        """Byte offsets stored at suffix-array ``ranks``."""
        ranks = np.asarray(ranks, dtype=np.int64)
        if self._table is not None:
            out: np.ndarray = self._table[ranks].astype(np.int64)
            return out
        idx = ranks[:, None] * self.ptr_size + np.arange(self.ptr_size)
        raw = self._table_bytes[idx].astype(np.int64)
        pointers: np.ndarray = (raw << (8 * np.arange(self.ptr_size, dtype=np.int64))).sum(axis=1)
        return pointers

    def doc_of(self, ptrs: np.ndarray) -> np.ndarray:
        """Local document index of each byte pointer."""
        return np.searchsorted(self.doc_starts, np.asarray(ptrs, dtype=np.uint64),
                               side="right").astype(np.int64) - 1

    def doc_token_range(self, local: int) -> tuple[int, int]:
        """[start, end) token positions of a document's tokens (separator excluded)."""
        start = int(self.doc_starts[local]) // self.width + 1
        end = int(self.doc_starts[local + 1]) // self.width if local + 1 < self.num_docs \
            else self.n
        return start, end

    def tokens(self, start: int, end: int) -> np.ndarray:
        return self.ds[start * self.width:end * self.width].view(self.dtype)

    def metadata(self, local: int) -> bytes | None:
        if self.meta is None or self.meta_offsets is None or local >= self.meta_offsets.size:
            return None
        a = int(self.meta_offsets[local])
        b = int(self.meta_offsets[local + 1]) if local + 1 < self.meta_offsets.size \
            else self.meta.size
        return bytes(self.meta[a:b])

    # -- batched searches ----------------------------------------------------------------

    def lcp(self, q: Queries, ptrs: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
        """Common prefix length in bytes of each query with the suffix at its pointer;
        ``known`` bytes per row are already known to match and are not compared again.

        Compares 8 bytes at a time through unaligned u64 views of both buffers."""
        limit = np.minimum(q.length, self.size - ptrs)
        done = np.zeros(ptrs.size, dtype=np.int64) if known is None else \
            np.minimum(known, limit)
        active = np.flatnonzero(limit > done)
        if not active.size:
            return done
        if self.size < 8:
            return self._lcp_bytes(q, ptrs, done, limit, active)
        qwords = _words(np.concatenate([q.buf, np.zeros(8, np.uint8)]))
        last = self.size - 8
        block = 2
        while active.size:
            k = done[active]
            room = limit[active] - k
            offs = np.arange(block, dtype=np.int64) * 8
            qi = np.minimum(q.start[active, None] + k[:, None] + offs, qwords.size - 1)
            ci = ptrs[active, None] + k[:, None] + offs
            over = np.maximum(ci - last, 0)
            cw = self._words[np.minimum(ci, last)] >> (over.astype(np.uint64) * np.uint64(8))
            diff = qwords[qi] ^ cw
            nbytes = np.minimum(np.maximum(room[:, None] - offs, 0), 8)
            stop = (diff != 0) | (nbytes < 8)
            ended = stop.any(axis=1)
            j = np.argmax(stop, axis=1)
            rows = np.flatnonzero(ended)
            dj = diff[rows, j[rows]]
            byte = np.argmax(dj[:, None].view(np.uint8).reshape(-1, 8) != 0, axis=1)
            byte = np.where(dj != 0, byte, 8)
            matched = np.where(ended, 0, block * 8)
            matched[rows] = 8 * j[rows] + np.minimum(byte, nbytes[rows, j[rows]])
            done[active] = k + matched
            active = active[~ended]
            block *= 2
        return done

    def _lcp_bytes(self, q: Queries, ptrs: np.ndarray, done: np.ndarray, limit: np.ndarray,
                   active: np.ndarray) -> np.ndarray:
        """Byte-at-a-time LCP, for shards too small for the u64 view."""
        for r in active:
            k = int(done[r])
            while k < limit[r] and q.buf[q.start[r] + k] == self.ds[ptrs[r] + k]:
                k += 1
            done[r] = k
        return done

    def _compare(self, q: Queries, ranks: np.ndarray,
                 known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lcp bytes, sign) of each query vs the suffix at its rank; sign in {-1, 0, 1}:
        -1 suffix sorts before the query, 0 the query is a prefix of it, 1 it sorts after."""
        ptrs = self.pointers(ranks)
        lcp = self.lcp(q, ptrs, known)
        sign = np.zeros(ranks.size, dtype=np.int8)
        short = lcp < q.length
        ended = short & (ptrs + lcp >= self.size)
        sign[ended] = -1
        cmp = np.flatnonzero(short & ~ended)
        if cmp.size:
            qb = q.buf[q.start[cmp] + lcp[cmp]]
            cb = self.ds[ptrs[cmp] + lcp[cmp]]
            sign[cmp] = np.where(cb < qb, -1, 1)
        return lcp, sign

    def search(self, q: Queries, *, upper: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Binary search of every query at once.

        Returns ``(rank, lcp_before, lcp_at)``: ``rank`` is the first rank whose suffix does
        not sort before the query (``upper``: that sorts after it), comparing only the
        query's length, so [lower, upper) are the matching ranks; ``lcp_before``/``lcp_at``
        are the query's common prefix (bytes) with the suffixes at ``rank - 1`` and ``rank``
        (0 where there is none). Every suffix ranked between two others shares their common
        prefix with the query, so each comparison starts after
        ``min(lcp with the lower end, lcp with the upper end)``: a long match costs
        O(log n + length) byte comparisons, not O(length log n).
        """
        m = q.start.size
        lo = np.zeros(m, dtype=np.int64)
        hi = np.full(m, self.n, dtype=np.int64)
        if self.prefix is not None:
            lo, hi = self._bucket(q)
        llo = np.zeros(m, dtype=np.int64)
        lhi = np.zeros(m, dtype=np.int64)
        active = np.flatnonzero(lo < hi)
        while active.size:
            mid = (lo[active] + hi[active]) // 2
            sub = Queries(q.buf, q.start[active], q.length[active])
            lcp, sign = self._compare(sub, mid, np.minimum(llo[active], lhi[active]))
            right = sign <= 0 if upper else sign < 0
            go, stay = active[right], active[~right]
            lo[go] = mid[right] + 1
            llo[go] = lcp[right]
            hi[stay] = mid[~right]
            lhi[stay] = lcp[~right]
            active = active[lo[active] < hi[active]]
        return lo, llo, lhi

    def _bucket(self, q: Queries) -> tuple[np.ndarray, np.ndarray]:
        """Rank range of the suffixes sharing each query's first two bytes (first byte for
        one-byte queries); every match lies inside it."""
        b0 = q.buf[np.minimum(q.start, q.buf.size - 1)].astype(np.int64)
        b1 = q.buf[np.minimum(q.start + 1, q.buf.size - 1)].astype(np.int64)
        two = q.length >= 2
        key = np.where(two, b0 * 257 + b1 + 1, b0 * 257)
        end = np.where(two, key + 1, b0 * 257 + 257)
        prefix = cast(np.ndarray, self.prefix)  # callers check it is there
        lo, hi = prefix[key], prefix[end]
        empty = q.length <= 0
        return np.where(empty, 0, lo), np.where(empty, self.n, hi)

    def bound(self, q: Queries, *, upper: bool) -> np.ndarray:
        return self.search(q, upper=upper)[0]

    def ranges(self, q: Queries) -> tuple[np.ndarray, np.ndarray]:
        return self.bound(q, upper=False), self.bound(q, upper=True)

    def longest(self, q: Queries) -> np.ndarray:
        """For each query, the longest prefix (bytes) occurring in the shard: the best
        common prefix is with a neighbour of the query's insertion rank."""
        rank, before, at = self.search(q)
        if self.prefix is not None:  # bucket ends were never compared: lcp may be missing
            for ranks, known in ((rank - 1, before), (rank, at)):
                ok = np.flatnonzero((ranks >= 0) & (ranks < self.n))
                if ok.size:
                    sub = Queries(q.buf, q.start[ok], q.length[ok])
                    known[ok] = self.lcp(sub, self.pointers(ranks[ok]), known[ok])
        longest: np.ndarray = np.maximum(before, at)
        return longest


def _words(data: np.ndarray) -> np.ndarray:
    """u64 view starting at every byte (unaligned, stride 1) of ``data``: element i is the
    little-endian word of bytes i..i+7."""
    if data.size < 8:
        return np.zeros(0, dtype="<u8")
    return np.ndarray(shape=(data.size - 7,), dtype="<u8", buffer=data, offset=0,
                      strides=(1,))


def _map(path: Path) -> np.ndarray:
    size = path.stat().st_size
    if size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray)
