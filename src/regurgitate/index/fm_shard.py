"""One shard of an FM-index, read through the same methods as a suffix-array
:class:`~regurgitate.index.shard.Shard` (the layout is in :mod:`regurgitate.index.format`).

Rows of the FM-index are the ranks of the suffix-array index built from the same documents
(tokens are ordered by their little-endian bytes, as there), so rank ranges, counts, the
occurrences read to list documents, and therefore every answer, are the suffix array's.
Searches are backward searches (both ends of the range ranked in one descent of the
wavelet tree per token); the longest prefix of each query that occurs is found from the
query ends (dense capped queries) or by galloping over its length (see
:func:`regurgitate.index.fm_kernels.longest`); positions come from the sampled suffix array
by last-to-first walks; a document's tokens are read back from the BWT, walking from the
row of the separator that follows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.errors import IndexCorruptError
from regurgitate.index import fm_bits as fb
from regurgitate.index import fm_kernels as fk
from regurgitate.index import fm_locate as fl
from regurgitate.index import format as fmt
from regurgitate.index.shard import DocumentFiles, Queries, _checked, _map

#: files read at random places by every search (see ``shard._map``)
RANDOM_FILES = ("fmbits", "fmrank", "fmsa")


class FMShard(DocumentFiles):
    """Memory maps of one FM-index shard with the batched searches of a ``Shard``."""

    def __init__(self, directory: Path, shard: int, dtype: np.dtype,
                 record: dict[str, Any]) -> None:
        self.id = shard
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.width = self.dtype.itemsize
        self._directory = directory
        paths = {k: fmt.shard_file(directory, k, shard) for k in fmt.FM_SHARD_FILES}
        self._paths = paths
        for k in fmt.FM_SHARD_FILES:
            if not paths[k].is_file():
                raise fmt.corrupt(directory, f"{paths[k]}: file missing from the index")
        fm = record.get("fm")
        if not isinstance(fm, dict):
            raise fmt.corrupt(directory, f"{directory / fmt.MANIFEST}: shard {shard} has "
                              "no FM-index record")
        try:
            self.n = int(fm["n"])
            self.bits = int(fm["bits"])
            self.k = int(fm["symbols"])
            self.every = int(fm["sample_every"])
            self.r0 = int(fm["r0"])
            self.last = int(fm["last"])
            self.sep = int(fm["sep"])
            sa_dtype = {"u4": "<u4", "u8": "<u8"}[fm["sa_dtype"]]
            num_nodes = int(fm["nodes"])
            layout = fm.get("bit_vectors")
            stored = int(fm["words"]) if layout == fb.LAYOUT else 0
        except (KeyError, TypeError, ValueError) as exc:
            raise fmt.corrupt(directory, f"{directory / fmt.MANIFEST}: shard {shard}'s "
                              f"FM-index record is incomplete ({exc})") from exc
        if layout != fb.LAYOUT:
            raise fmt.corrupt(directory, f"{directory / fmt.MANIFEST}: shard {shard}'s bit "
                              f"vectors are in layout {layout or 'plain (uncompressed)'}, "
                              f"this regurgitate reads {fb.LAYOUT}: rebuild the index with "
                              "`regurgitate index build --format fm`")
        self.size = self.n * self.width
        self.ptr_size = fmt.ptr_size(self.size)
        self.words = self._array("fmbits", "<u8", stored)
        self.dirs = self._array("fmrank", "<u8", fb.sizes(self.bits)[1])
        self.nodes = self._array("fmnodes", "<i8", num_nodes * 5).reshape(num_nodes, 5)
        self.syms = self._array("fmsyms", "<i8", self.k * 4).reshape(self.k, 4)
        self.sa = self._array("fmsa", sa_dtype, (self.n + self.every - 1) // self.every
                              if self.every > 0 else -1)
        self.load_documents(directory, paths)
        self.doc_rows = self._array("fmdocrow", "<u8", self.num_docs).astype(np.int64)
        self._lookup = self._token_lookup()
        self.check_invariants()

    # -- files and integrity -------------------------------------------------------------

    def _array(self, kind: str, dtype: str, count: int) -> np.ndarray:
        raw = _map(self._paths[kind], random=kind in RANDOM_FILES)
        item = np.dtype(dtype).itemsize
        if count < 0 or raw.size != count * item:
            raise self._corrupt(kind, f"size {raw.size} bytes, expected {max(count, 0) * item}")
        arr = raw.view(dtype) if raw.size else np.zeros(0, dtype=dtype)
        return np.ascontiguousarray(arr.astype(np.dtype(dtype).newbyteorder("="), copy=False))

    def _corrupt(self, kind: str, what: str) -> IndexCorruptError:
        return fmt.corrupt(self._directory, f"{self._paths[kind]}: {what}")

    def _token_lookup(self) -> np.ndarray:
        """Dense id of every token value (-1: absent) for u8/u16; for u32 the tokens sorted
        by value (their dense ids in ``_value_dense``)."""
        tokens = self.syms[:, fk.S_TOKEN]
        if self.width <= 2:
            table = np.full(1 << (8 * self.width), -1, dtype=np.int64)
            if tokens.size and (int(tokens.min()) < 0 or int(tokens.max()) >= table.size):
                raise self._corrupt("fmsyms", "a symbol is not a token of this width")
            table[tokens] = np.arange(self.k)
            return table
        order = np.argsort(tokens, kind="stable")  # symbols by token value
        self._value_dense = order.astype(np.int64)
        return np.ascontiguousarray(tokens[order])

    @property
    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self._paths.values())

    def check_invariants(self) -> None:
        """Structural checks run on every open: counts, the symbol and node tables, every
        symbol's code leading to its leaf, a sample of rank counts, and a sample of
        documents located through the sampled suffix array."""
        n, k = self.n, self.k
        syms, nodes = self.syms, self.nodes
        if not 0 <= self.r0 < max(n, 1) or not 0 <= self.last < max(k, 1) or \
                self.sep != k - 1 or self.every < 1:
            raise self._corrupt("fmsyms", "the FM-index record does not fit its tables")
        if k and int(syms[self.sep, fk.S_TOKEN]) != fmt.separator(self.dtype):
            raise self._corrupt("fmsyms", "the last symbol is not the document separator")
        c = syms[:, fk.S_C]
        if k and (int(c[0]) != 0 or bool((np.diff(c) < 0).any()) or int(c[-1]) > n):
            raise self._corrupt("fmsyms", "symbol counts are not monotone")
        lens = syms[:, fk.S_LEN]
        if k and (int(lens.min()) < 0 or int(lens.max()) > 63 or
                  (k > 1 and int(lens.min()) < 1)):
            raise self._corrupt("fmsyms", "a code length is out of range")
        if nodes.size:
            if int(nodes[:, 0].min()) < 0 or int((nodes[:, 0] + nodes[:, 1]).max()) > self.bits:
                raise self._corrupt("fmnodes", "a node lies outside the bit vectors")
            kids = nodes[:, 3:5]
            if bool(((kids >= nodes.shape[0]) | (kids < -k)).any()) or \
                    bool(((kids >= 0) & (kids == 0)).any()):
                raise self._corrupt("fmnodes", "a node's child is out of range")
        for s in range(k):  # each code leads to its own leaf
            node, code = 0, int(syms[s, fk.S_CODE])
            for j in range(int(lens[s])):
                child = int(nodes[node, 3 + ((code >> j) & 1)]) if nodes.size else -1
                last_step = j + 1 == int(lens[s])
                if (child < 0) != last_step or (last_step and child != -1 - s):
                    raise self._corrupt("fmnodes", f"symbol {s}'s code does not lead to it")
                node = child
        self._check_rank_sample()
        if self.sa.size and int(self.sa.max()) >= max(n, 1):
            raise self._corrupt("fmsa", "a sampled position lies past the text")
        if self.num_docs:
            if int(self.doc_starts[0]) != 0 or bool((self.doc_starts % np.uint64(self.width))
                                                    .any()):
                raise self._corrupt("offset", "document offsets are not aligned to the tokens")
            if self.num_docs > 1 and not bool((self.doc_starts[1:] > self.doc_starts[:-1])
                                              .all()):
                raise self._corrupt("offset", "document offsets do not increase")
            if int(self.doc_starts[-1]) >= max(self.size, 1) or \
                    bool((self.doc_rows >= n).any()) or bool((self.doc_rows < 0).any()):
                raise self._corrupt("fmdocrow", "a document lies outside the text")
            pick = np.unique(np.linspace(0, self.num_docs - 1, min(self.num_docs, 16))
                             .astype(np.int64))
            found = self.pointers(self.doc_rows[pick])
            if bool((found != self.doc_starts[pick].astype(np.int64)).any()):
                raise self._corrupt("fmdocrow", "document rows do not locate their documents")
        elif n:
            raise self._corrupt("offset", "no documents but token data")
        self.check_metadata()

    def _check_rank_sample(self, spots: int = 64) -> None:
        """The directory's totals, and ``spots`` superblocks read in full against it."""
        dirs = self.dirs
        nsup = dirs.size // 4
        if int(dirs[-3]) != self.words.size:
            raise self._corrupt("fmrank", "the rank directory does not match the bit vectors")
        pick = np.unique(np.linspace(0, nsup - 2, min(spots, nsup - 1)).astype(np.int64))
        for s in pick:
            if not fb.check_superblock(self.words, dirs, int(s)):
                raise self._corrupt("fmrank", "the rank directory does not match the bit "
                                    "vectors")

    def _check(self, err: int) -> None:
        if err == fk.BAD_STRUCTURE:
            raise self._corrupt("fmbits", "the wavelet tree's rank counts are inconsistent")
        if err == fk.BAD_WALK:
            raise self._corrupt("fmsa", "a walk to a sampled position did not end")

    # -- searches ------------------------------------------------------------------------

    def _args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int, int,
                             int]:
        return (self.words, self.dirs, self.nodes, self.syms, self.sep, self.r0,
                self.last, self.n)

    def _dense(self, buf: np.ndarray) -> np.ndarray:
        """Dense symbol of each token of a query buffer (-1: never occurs here)."""
        usable = buf.size - buf.size % self.width
        toks = buf[:usable].view(self.dtype).astype(np.int64)
        if self.width <= 2:
            return np.ascontiguousarray(self._lookup[toks])
        pos = np.searchsorted(self._lookup, toks)
        ok = pos < self._lookup.size
        ok[ok] = self._lookup[pos[ok]] == toks[ok]
        return np.where(ok, self._value_dense[np.minimum(pos, self._lookup.size - 1)],
                        -1).astype(np.int64)

    def _token_queries(self, q: Queries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start, length = _checked(q)
        w = self.width
        return self._dense(q.buf), start // w, length // w

    def ranges(self, q: Queries) -> tuple[np.ndarray, np.ndarray]:
        """[lower, upper) rows (= suffix-array ranks) of the suffixes starting with each
        query."""
        return self.rare_ranges(q)

    def rare_ranges(self, q: Queries, *, floor: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`ranges`. ``floor``: per query, a count the caller knows it reaches in
        this shard (0: unknown); a search stops as soon as its range holds that many rows.
        Its count is then exact, but its rows may be those of a suffix of the query, so
        the caller must use only the counts of queries with a floor."""
        lo, hi, _ = self.bounded_ranges(q, floor=floor)
        return lo, hi

    def bounded_ranges(self, q: Queries, *, floor: np.ndarray | None = None,
                       ceiling: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`rare_ranges`, and whether each search stopped at its ``ceiling``: a count
        (-1: none) the caller has no use for a query reaching at most. A stopped search's
        rows are those of a suffix of the query, their number an upper bound of its count
        (at most the ceiling)."""
        dense, start, length = self._token_queries(q)
        floors = np.zeros(start.size, dtype=np.int64) if floor is None else \
            np.ascontiguousarray(floor, dtype=np.int64)
        ceilings = np.full(start.size, -1, dtype=np.int64) if ceiling is None else \
            np.ascontiguousarray(ceiling, dtype=np.int64)
        if floors.size != start.size or ceilings.size != start.size:
            raise ValueError("one floor and one ceiling per query")
        lo, hi, bounded, err = fk.ranges(*self._args(), dense, start, length, floors,
                                         ceilings)
        self._check(err)
        return np.asarray(lo), np.asarray(hi), np.asarray(bounded)

    def search(self, q: Queries, *, upper: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``Shard.search``'s answer as far as callers use it: the bound's rank, and
        ``lcp_at`` equal to the query's length where it occurs (0 where it does not);
        ``lcp_before`` is 0 (a backward search compares no neighbours)."""
        lo, hi = self.ranges(q)
        found = hi > lo
        at = np.where(found, np.asarray(q.length, dtype=np.int64), 0)
        return (hi if upper else lo), np.zeros_like(lo), at

    def longest(self, q: Queries) -> np.ndarray:
        """For each query, the longest prefix (bytes) occurring in the shard."""
        dense, start, length = self._token_queries(q)
        best, err = fk.longest(*self._args(), dense, start, length)
        self._check(err)
        return np.asarray(best) * self.width

    def match_lengths(self, buf: np.ndarray, pos: np.ndarray, run_end: np.ndarray
                      ) -> np.ndarray:
        """Longest match (tokens) in this shard starting at each of the token positions
        ``pos`` (sorted) of the query buffer ``buf``, none past the position's ``run_end``
        (see :func:`regurgitate.index.fm_kernels.match_lengths`)."""
        pos = np.ascontiguousarray(pos, dtype=np.int64)
        run_end = np.ascontiguousarray(run_end, dtype=np.int64)
        dense = self._dense(buf)
        if pos.size and (int(pos[0]) < 0 or int(pos[-1]) >= run_end.size or
                         int(run_end.max()) > dense.size):
            raise ValueError("positions or run ends outside the query buffer")
        if pos.size > 1 and bool((np.diff(pos) <= 0).any()):
            raise ValueError("positions must be sorted and distinct")
        best, err = fk.match_lengths(*self._args(), dense, pos, run_end)
        self._check(err)
        return np.asarray(best)

    def pointers(self, ranks: np.ndarray) -> np.ndarray:
        """Byte offsets of the suffixes at ``ranks`` (from the sampled suffix array); a
        rank range is walked as blocks that split (:mod:`regurgitate.index.fm_locate`)."""
        ranks = np.ascontiguousarray(ranks, dtype=np.int64)
        if ranks.size and (int(ranks.min()) < 0 or int(ranks.max()) >= self.n):
            raise self._corrupt("fmsa", "a search left the suffix array")
        if ranks.size > 1 and int(ranks[-1]) - int(ranks[0]) == ranks.size - 1 and \
                bool((np.diff(ranks) == 1).all()):  # a rank range: walked as blocks
            pos, err = fl.locate_blocks(*self._args(), self.sa, self.every, int(ranks[0]),
                                        int(ranks[-1]) + 1, fl.HANDOFF)
        else:
            pos, err = fk.locate(*self._args(), self.sa, self.every, ranks)
        self._check(err)
        return np.asarray(pos) * self.width

    # -- text ----------------------------------------------------------------------------

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Tokens ``[start, end)`` read back from the BWT (walking from the first document
        boundary at or after ``end``)."""
        if end <= start:
            return np.zeros(0, dtype=self.dtype)
        doc_pos = self.doc_starts.astype(np.int64) // self.width
        nxt = int(np.searchsorted(doc_pos, end, side="left"))
        if nxt < self.num_docs:
            stop, row, first = int(doc_pos[nxt]), int(self.doc_rows[nxt]), -1
        else:  # the text's end: its last symbol's suffix is the first of that symbol's
            stop = self.n
            row = int(self.syms[self.last, fk.S_C])
            first = self.last
        dense, err = fk.extract(*self._args(), row, stop - start, first)
        self._check(err)
        toks: np.ndarray = self.syms[np.asarray(dense), fk.S_TOKEN].astype(self.dtype)
        return toks[:end - start]
