"""One memory-mapped shard and the suffix-array searches over it.

All comparisons work on bytes: a query of token ids becomes its little-endian bytes, and the
suffix array is ordered by the bytes of ``tokenized.s`` (see :mod:`regurgitate.index.format`).
A longest common prefix in bytes, floored to whole tokens, is the token LCP. Searches take
many queries at once and run each one's binary search in compiled code
(:mod:`regurgitate.index.kernels`); this class maps the files, checks their structure and
turns the kernels' error codes into :class:`~regurgitate.errors.IndexCorruptError`.
"""

from __future__ import annotations

import contextlib
import mmap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regurgitate.errors import IndexCorruptError
from regurgitate.index import format as fmt
from regurgitate.index import kernels
from regurgitate.index.memory import machine_memory


@dataclass(frozen=True)
class Queries:
    """Byte slices of one buffer ``buf``: query r is ``buf[start[r]:start[r] + length[r]]``."""

    buf: np.ndarray
    start: np.ndarray
    length: np.ndarray


class DocumentFiles:
    """The document files a shard of either format keeps (``offset.s``, ``metadata.s``,
    ``metaoff.s``) and the lookups on them."""

    _directory: Path
    _paths: dict[str, Path]
    width: int
    n: int
    doc_starts: np.ndarray
    num_docs: int
    meta: np.ndarray | None
    meta_offsets: np.ndarray | None

    def _corrupt(self, kind: str, what: str) -> IndexCorruptError:
        return fmt.corrupt(self._directory, f"{self._paths[kind]}: {what}")

    def load_documents(self, directory: Path, paths: dict[str, Path]) -> None:
        offsets = _map(paths["offset"])
        if offsets.size % 8:
            raise fmt.corrupt(directory, f"{paths['offset']}: size {offsets.size} is not a "
                              "multiple of 8")
        self.doc_starts = offsets.view("<u8")
        self.num_docs = int(self.doc_starts.size)
        self.meta = None
        self.meta_offsets = None
        if paths["metadata"].is_file() and paths["metaoff"].is_file():
            self.meta = _map(paths["metadata"])
            metaoff = _map(paths["metaoff"])
            if metaoff.size % 8:
                raise fmt.corrupt(directory, f"{paths['metaoff']}: size {metaoff.size} is not "
                                  "a multiple of 8")
            self.meta_offsets = metaoff.view("<u8")

    def check_metadata(self) -> None:
        """Metadata offsets are monotone and inside the metadata file."""
        if self.meta is not None and self.meta_offsets is not None and \
                self.meta_offsets.size:
            mo = self.meta_offsets
            if int(mo[0]) != 0 or int(mo[-1]) > self.meta.size or \
                    not bool((mo[1:] >= mo[:-1]).all()):
                raise self._corrupt("metaoff", "metadata offsets are not monotone inside "
                                    f"{self._paths['metadata'].name}")

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

    def metadata(self, local: int) -> bytes | None:
        if self.meta is None or self.meta_offsets is None or local >= self.meta_offsets.size:
            return None
        a = int(self.meta_offsets[local])
        b = int(self.meta_offsets[local + 1]) if local + 1 < self.meta_offsets.size \
            else self.meta.size
        if not 0 <= a <= b <= self.meta.size:
            raise self._corrupt("metaoff", f"metadata of document {local} lies outside "
                                f"{self._paths['metadata'].name}")
        return bytes(self.meta[a:b])


class Shard(DocumentFiles):
    """Memory maps of one shard's files with batched bound, range and longest-match searches."""

    def __init__(self, directory: Path, shard: int, dtype: np.dtype) -> None:
        self.id = shard
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.width = self.dtype.itemsize
        paths = {k: fmt.shard_file(directory, k, shard) for k in fmt.SHARD_FILES}
        self._directory = directory
        self._paths = paths
        for k in fmt.REQUIRED_SHARD_FILES:
            if not paths[k].is_file():
                raise fmt.corrupt(directory, f"{paths[k]}: file missing from the index")
        self.ds = _map(paths["tokenized"], random=True)
        self.size = int(self.ds.size)
        if self.size % self.width:
            raise fmt.corrupt(directory, f"{paths['tokenized']}: size {self.size} is not a "
                              f"multiple of the token width {self.width}")
        self.n = self.size // self.width
        self.ptr_size = fmt.ptr_size(self.size)
        table = _map(paths["table"], random=True)
        if table.size != self.n * self.ptr_size:
            raise fmt.corrupt(
                directory,
                f"{paths['table']}: size {table.size} bytes, expected {self.n * self.ptr_size} "
                f"({self.n} pointers of {self.ptr_size} bytes for {paths['tokenized'].name})")
        self._table_bytes = table
        self.load_documents(directory, paths)
        if self.num_docs and int(self.doc_starts[-1]) >= max(self.size, 1):
            raise fmt.corrupt(directory, f"{paths['offset']}: document offsets point past "
                              f"the end of {paths['tokenized'].name}")
        self.prefix: np.ndarray | None = None
        if paths["prefix"].is_file() and \
                paths["prefix"].stat().st_size == 8 * (fmt.PREFIX_KEYS + 1):
            self.prefix = _map(paths["prefix"]).view("<u8").astype(np.int64)
            if int(self.prefix[-1]) != self.n:
                raise fmt.corrupt(directory, f"{paths['prefix']}: counts "
                                  f"{int(self.prefix[-1])} suffixes, the table has {self.n}")
        #: the prefix table as the compiled searches take it (empty: none)
        self._prefix_arg = self.prefix if self.prefix is not None else \
            np.zeros(0, dtype=np.int64)
        #: the sampled keys (``sample.s``), read into memory (empty: none); a file of
        #: another size (another sampling) is not used
        self.sample = np.zeros(0, dtype=np.uint64)
        if paths["sample"].is_file() and \
                paths["sample"].stat().st_size == 8 * fmt.sample_size(self.n) and self.n:
            self.sample = np.fromfile(paths["sample"], dtype="<u8").astype(np.uint64)
        self.check_invariants()

    # -- integrity -----------------------------------------------------------------------

    @property
    def disk_bytes(self) -> int:
        """Bytes of the token data and the suffix array."""
        return self.size + self.n * self.ptr_size

    def check_invariants(self) -> None:
        """Cheap structural checks, run on every open (O(documents + 64K) or sampled):
        document offsets start at 0, increase, are token-aligned and (sampled) point at a
        separator; the prefix table is monotone; metadata offsets are monotone and inside
        the file; a sample of adjacent suffix-array entries point inside the data, sit in
        their prefix bucket and are in order."""
        w, starts = self.width, self.doc_starts
        if self.num_docs:
            if int(starts[0]) != 0 or (w > 1 and bool((starts % np.uint64(w)).any())):
                raise self._corrupt("offset", "document offsets are not aligned to the "
                                    "token data")
            if self.num_docs > 1 and not bool((starts[1:] > starts[:-1]).all()):
                raise self._corrupt("offset", "document offsets do not increase")
            pick = np.unique(np.linspace(0, self.num_docs - 1, min(self.num_docs, 256))
                             .astype(np.int64))
            sep = fmt.separator(self.dtype)
            first = self.ds.view(self.dtype)[starts[pick].astype(np.int64) // w]
            if bool((first != sep).any()):
                raise self._corrupt("offset", "a document offset does not point at a "
                                    "document separator")
        elif self.n:
            raise self._corrupt("offset", "no documents but token data")
        if self.prefix is not None and (
                int(self.prefix[0]) != 0 or not bool((np.diff(self.prefix) >= 0).all())):
            raise self._corrupt("prefix", "prefix counts are not monotone")
        self.check_metadata()
        self._check_order_sample()
        self._check_sample()

    def _check_sample(self, spots: int = 64) -> None:
        """The sampled keys never decrease and (at ``spots`` evenly spaced entries) are the
        keys of the suffixes they sample."""
        keys = self.sample
        if not keys.size:
            return
        if keys.size > 1 and not bool((keys[1:] >= keys[:-1]).all()):
            raise self._corrupt("sample", "sampled suffix keys are out of order")
        pick = np.unique(np.linspace(0, keys.size - 1, min(spots, keys.size)).astype(np.int64))
        want = fmt.sample_keys(self.ds, self.pointers(pick * fmt.SAMPLE_EVERY))
        if not bool((keys[pick] == want).all()):
            raise self._corrupt("sample", "sampled suffix keys do not match the suffix array")

    def _check_order_sample(self, samples: int = 1024, span: int = 48,
                            every_below: int = 16384) -> None:
        """Adjacent suffix-array entries (all of them in a table of fewer than
        ``every_below`` entries, else ``samples`` evenly spaced pairs): in range, aligned,
        in their prefix bucket, and in byte order (compared over at most ``span`` bytes)."""
        if self.n < 2:
            return
        count = self.n - 1 if self.n <= every_below else min(samples, self.n - 1)
        ranks = np.unique(np.linspace(0, self.n - 2, count).astype(np.int64))
        a = self.pointers(ranks)
        b = self.pointers(ranks + 1)
        if self.prefix is not None:
            key = fmt.prefix_key(self.ds, a)
            if bool(((self.prefix[key] > ranks) | (self.prefix[key + 1] <= ranks)).any()):
                raise self._corrupt("table", "suffix-array entries lie outside their prefix "
                                    f"bucket in {self._paths['prefix'].name}")
        offs = np.arange(span, dtype=np.int64)
        ia, ib = a[:, None] + offs, b[:, None] + offs
        va = np.where(ia < self.size, self.ds[np.minimum(ia, self.size - 1)].astype(np.int16),
                      -1)
        vb = np.where(ib < self.size, self.ds[np.minimum(ib, self.size - 1)].astype(np.int16),
                      -1)
        diff = va != vb
        has = diff.any(axis=1)
        j = np.argmax(diff, axis=1)
        rows = np.flatnonzero(has)
        if bool((va[rows, j[rows]] > vb[rows, j[rows]]).any()) or \
                bool((~has & (a == b)).any()):
            raise self._corrupt("table", "suffix-array entries are out of order")

    # -- raw access ----------------------------------------------------------------------

    def pointers(self, ranks: np.ndarray) -> np.ndarray:
        """Byte offsets stored at suffix-array ``ranks``."""
        ranks = np.ascontiguousarray(ranks, dtype=np.int64)
        ptrs, err = kernels.pointers(self._table_bytes, self.ptr_size, self.n, self.size,
                                     self.width, ranks)
        self._check(err)
        return np.asarray(ptrs)

    def tokens(self, start: int, end: int) -> np.ndarray:
        return self.ds[start * self.width:end * self.width].view(self.dtype)

    def _check(self, err: int) -> None:
        if err == kernels.BAD_RANK:
            raise self._corrupt("prefix", "a search left the suffix array")
        if err == kernels.BAD_POINTER:
            raise self._corrupt("table", "a suffix-array entry points outside the token "
                                "data")

    # -- batched searches ----------------------------------------------------------------

    def search(self, q: Queries, *, upper: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Binary search of every query.

        Returns ``(rank, lcp_before, lcp_at)``: ``rank`` is the first rank whose suffix does
        not sort before the query (``upper``: that sorts after it), comparing only the
        query's length, so [lower, upper) are the matching ranks; ``lcp_before``/``lcp_at``
        are the query's common prefix (bytes) with the suffixes at ``rank - 1`` and ``rank``
        as far as the search compared them (0 where it did not). Every suffix ranked
        between two others shares their common prefix with the query, so each comparison
        starts after ``min(lcp with the lower end, lcp with the upper end)``: a long match
        costs O(log n + length) byte comparisons, not O(length log n). The loops are
        compiled (:mod:`regurgitate.index.kernels`).
        """
        start, length = _checked(q)
        rank, before, at, err = kernels.search(self.ds, self._table_bytes, self.ptr_size,
                                               self.n, self.width, self._prefix_arg,
                                               self.sample, q.buf, start, length, upper)
        self._check(err)
        return np.asarray(rank), np.asarray(before), np.asarray(at)

    def ranges(self, q: Queries) -> tuple[np.ndarray, np.ndarray]:
        """[lower, upper) ranks of the suffixes that start with each query."""
        lo, hi = self.search(q)[0], self.search(q, upper=True)[0]
        if bool((hi < lo).any()):  # only an unsorted suffix array does this
            raise self._corrupt("table", "suffix-array entries are out of order")
        return lo, hi

    def rare_ranges(self, q: Queries, *, floor: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`ranges`, cheaper for queries that occur few times (the upper bound is
        found by galloping from the lower one, see :func:`kernels.ranges`). ``floor`` (a
        count each query is known to reach) is a hint the suffix array has no use for."""
        start, length = _checked(q)
        lo, hi, err = kernels.ranges(self.ds, self._table_bytes, self.ptr_size, self.n,
                                     self.width, self._prefix_arg, self.sample, q.buf, start,
                                     length)
        self._check(err)
        return np.asarray(lo), np.asarray(hi)

    def bounded_ranges(self, q: Queries, *, floor: np.ndarray | None = None,
                       ceiling: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`rare_ranges`, exact for every query (no search stops at a ceiling, see
        ``FMShard.bounded_ranges``: a binary search has no count to stop at early)."""
        lo, hi = self.rare_ranges(q, floor=floor)
        return lo, hi, np.zeros(lo.size, dtype=bool)

    def longest(self, q: Queries) -> np.ndarray:
        """For each query, the longest prefix (bytes) occurring in the shard: the best
        common prefix is with a neighbour of the query's insertion rank."""
        start, length = _checked(q)
        best, err = kernels.longest(self.ds, self._table_bytes, self.ptr_size, self.n,
                                    self.width, self._prefix_arg, self.sample, q.buf, start,
                                    length)
        self._check(err)
        return np.asarray(best)


def _checked(q: Queries) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous int64 starts and lengths of ``q``, checked to lie inside its buffer (the
    compiled loops read without bounds checks)."""
    start = np.ascontiguousarray(q.start, dtype=np.int64)
    length = np.ascontiguousarray(q.length, dtype=np.int64)
    if start.size and (int(start.min()) < 0 or int(length.min()) < 0
                       or int((start + length).max()) > q.buf.size):
        raise ValueError("query slices outside their buffer")
    if q.buf.dtype != np.uint8 or not q.buf.flags.c_contiguous:
        raise ValueError("query buffer must be contiguous uint8")
    return start, length


def _larger_than_memory(directory: Path) -> bool:
    """Whether the index files in ``directory`` together exceed half of this machine's
    memory (then the page cache cannot keep them)."""
    total = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    return total > machine_memory() // 2


def _map(path: Path, *, random: bool = False) -> np.ndarray:
    """The file's bytes, memory-mapped read-only. ``random``: the file is read at random
    places (a suffix array, the data its pointers lead to, an FM-index's rank structures);
    when its index is larger than half of the machine's memory, the kernel is then told not
    to read ahead: every miss would otherwise read 32 pages to use one, and the pages read
    ahead push out the ones the next search needs (an index that fits keeps the readahead,
    which warms it faster from a cold page cache)."""
    size = path.stat().st_size
    if size == 0:
        return np.zeros(0, dtype=np.uint8)
    mapped = np.memmap(path, dtype=np.uint8, mode="r")
    raw = getattr(mapped, "_mmap", None)
    if random and raw is not None and hasattr(mmap, "MADV_RANDOM") and \
            _larger_than_memory(path.parent):
        with contextlib.suppress(OSError):  # advice only: a platform may refuse it
            raw.madvise(mmap.MADV_RANDOM)
    return mapped.view(np.ndarray)
