"""``CorpusIndex``: open an index directory and answer exact-match queries over all shards."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from regurgitate.corpus.tokenizer import ByteTokenizer, Tokenizer, tokenizer_from_description
from regurgitate.errors import ConfigError, IndexCorruptError, TokenizerMismatchError
from regurgitate.index import format as fmt
from regurgitate.index import periodic
from regurgitate.index.matching import AnyShard, IdsLike, Matcher
from regurgitate.index.repeated_windows import most_repeated_windows
from regurgitate.index.shard import Queries, Shard
from regurgitate.index.spans import (
    Occurrence,
    TokenSpan,
    char_span,
    doc_label,
    maximal_pieces,
    window_starts,
)
from regurgitate.types import Document, Span, SpanWindow

#: At most this many occurrences are read to list the documents of a span.
DOC_SCAN_LIMIT = 10_000
#: At most this many occurrences are read to list the documents of a span's window.
WINDOW_DOC_SCAN_LIMIT = 1_000
#: At most this many rank ranges keep their document lists between queries.
_DOC_MEMO_SIZE = 4096
#: Every position is first searched up to this many tokens (see ``_exact_lengths``).
LENGTH_CAP = 64
#: window searches of more queries than this look for equal windows first
WINDOW_DEDUP_MIN = 64


class CorpusIndex:
    """A suffix-array index of a tokenized corpus (one or more memory-mapped shards).

    Document ids are global: shard 0's documents first, in corpus order, then shard 1's, ...
    ``length_cap`` tunes how far every position is searched before long matches are
    resolved by jumps (see ``_exact_lengths``); it changes speed, never results.
    """

    length_cap: int = LENGTH_CAP
    #: a corpus index answers text questions (an image index is ``images.index.ImageIndex``)
    modality: ClassVar[str] = "text"

    def __init__(self, path: Path, shards: list[AnyShard], tokenizer: Tokenizer,
                 manifest: dict[str, Any] | None) -> None:
        self.path = path
        self._shards = shards
        self._tokenizer = tokenizer
        self._manifest = manifest
        self._dtype = shards[0].dtype
        self._m = Matcher(shards, self._dtype)
        self._doc_base = np.cumsum([0] + [s.num_docs for s in shards])
        self._doc_memo: dict[tuple[int, ...], tuple[int, ...]] = {}

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, verify: bool = False, tokenizer: Tokenizer | None = None,
             token_dtype: str | None = None) -> CorpusIndex:
        """Open an index built by :func:`build_index` or by infini-gram's own indexer.

        With a manifest, file sizes are checked (and full checksums with ``verify``); the
        tokenizer comes from the manifest. Without one (infini-gram's index), the token
        dtype is ``token_dtype`` (``u8``/``u16``/``u32``) or inferred from the file sizes,
        and ``tokenizer`` is required unless the dtype is u8 (then raw bytes are assumed).
        """
        path = Path(path)
        if not path.is_dir():
            # a usage error (exit 2), not a damaged index
            raise ConfigError(f"{path}: no index directory there",
                              hint="build one with: regurgitate index build CORPUS -o DIR")
        manifest = fmt.read_manifest(path)
        if manifest is not None:
            fmt.check_files(path, manifest, verify=verify)
            dtype = fmt.DTYPES.get(str(manifest.get("dtype")))
            if dtype is None:
                raise IndexCorruptError(f"{path / fmt.MANIFEST}: unknown dtype "
                                        f"{manifest.get('dtype')!r}")
            ids = [int(s["id"]) for s in manifest["shards"]]
            recorded = manifest["tokenizer"]
            if tokenizer is None:
                tok = tokenizer_from_description(recorded, path)
            elif tokenizer.fingerprint != recorded.get("fingerprint"):
                raise TokenizerMismatchError(
                    f"index {path} was built with tokenizer {recorded.get('name')} "
                    f"({recorded.get('fingerprint')}), not {tokenizer.name} "
                    f"({tokenizer.fingerprint})")
            else:
                tok = tokenizer
        else:
            ids = fmt.shard_ids(path)
            dtype = fmt.infer_dtype(path, ids, token_dtype)
            if tokenizer is None:
                if dtype.itemsize != 1:
                    raise ConfigError(
                        f"index {path} has no manifest.json: pass the tokenizer it was "
                        "built with (tokenizer=...)")
                tokenizer = ByteTokenizer()
            if tokenizer.dtype.itemsize != dtype.itemsize:
                raise TokenizerMismatchError(
                    f"tokenizer {tokenizer.name} uses {tokenizer.dtype} ids but index {path} "
                    f"stores {fmt.dtype_name(dtype)}")
            tok = tokenizer
        shards: list[AnyShard]
        if fmt.is_fm(manifest):
            from regurgitate.index.fm_shard import FMShard

            assert manifest is not None
            shards = [FMShard(path, i, dtype, rec) for i, rec in zip(ids, manifest["shards"],
                                                                      strict=True)]
        else:
            shards = [Shard(path, i, dtype) for i in ids]
        if manifest is not None:
            for shard, rec in zip(shards, manifest["shards"], strict=True):
                if shard.num_docs != rec["num_docs"]:
                    raise IndexCorruptError(
                        f"{path / f'offset.{shard.id}'}: {shard.num_docs} documents, the "
                        f"manifest records {rec['num_docs']}")
        return cls(path, shards, tok, manifest)

    # -- properties ----------------------------------------------------------------------

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def num_docs(self) -> int:
        return int(self._doc_base[-1])

    @property
    def num_tokens(self) -> int:
        """Corpus tokens, document separators not counted."""
        return sum(s.n - s.num_docs for s in self._shards)

    @property
    def num_shards(self) -> int:
        return len(self._shards)

    @property
    def info(self) -> dict[str, Any]:
        m = self._manifest or {}
        return {
            "path": str(self.path),
            "format": f"{m.get('format')} v{fmt.FORMAT_VERSION}" if m else "infini-gram",
            "tokenizer": self._tokenizer.describe(),
            "dtype": fmt.dtype_name(self._dtype),
            "num_docs": self.num_docs,
            "num_tokens": self.num_tokens,
            "num_shards": self.num_shards,
            "bytes": sum(s.disk_bytes for s in self._shards),
            "build_seconds": m.get("build_seconds"),
            "created": m.get("created"),
        }

    # -- helpers -------------------------------------------------------------------------

    def check_tokenizer(self, tokenizer: Tokenizer | None) -> None:
        """Raise :class:`TokenizerMismatchError` unless ``tokenizer`` is the index's."""
        if tokenizer is not None and tokenizer.fingerprint != self._tokenizer.fingerprint:
            raise TokenizerMismatchError(
                f"the query tokenizer {tokenizer.name} ({tokenizer.fingerprint}) differs from "
                f"the index's {self._tokenizer.name} ({self._tokenizer.fingerprint})",
                hint="tokenize queries with index.tokenizer")

    def _single(self, ids: IdsLike) -> Queries | None:
        buf, run_end, _ = self._m.prepare([ids])
        n = run_end.size
        if n == 0:
            raise ConfigError("empty query: give at least one token id")
        if int(run_end[0]) < n:  # contains a token that never occurs
            return None
        return Queries(buf, np.zeros(1, np.int64),
                       np.array([n * self._dtype.itemsize], np.int64))

    def _occ_pointers(self, ranges: list[tuple[np.ndarray, np.ndarray]], row: int,
                      limit: int) -> Iterator[tuple[int, np.ndarray]]:
        """Sorted byte pointers per shard (at most ``limit`` ranks read per shard), shard by
        shard as the caller asks for them: a caller that has enough stops reading (an
        FM-index locates each occurrence by a walk, so the shards not reached cost nothing)."""
        for shard, (lo, hi) in zip(self._shards, ranges, strict=True):
            a, b = int(lo[row]), int(hi[row])
            if b > a:
                ranks = np.arange(a, min(b, a + limit), dtype=np.int64)
                yield shard.id, np.sort(shard.pointers(ranks))

    def _documents(self, ranges: list[tuple[np.ndarray, np.ndarray]], row: int,
                   max_docs: int, limit: int = DOC_SCAN_LIMIT) -> tuple[int, ...]:
        # repetitive text asks for the same rank ranges again and again: the answer depends
        # only on the (immutable) index, so it is remembered (a bounded, per-index memo)
        key: tuple[int, ...] = (max_docs, limit, *(int(b[row]) for lo, hi in ranges
                                                   for b in (lo, hi)))
        found = self._doc_memo.get(key)
        if found is not None:
            return found
        docs: list[int] = []
        for sid, ptrs in self._occ_pointers(ranges, row, limit):
            # the shard's smallest ids, only as many as are still wanted
            local = np.unique(self._shards[sid].doc_of(ptrs))[:max_docs - len(docs)]
            docs.extend(int(d) + int(self._doc_base[sid]) for d in local)
            if len(docs) >= max_docs:
                break
        if len(self._doc_memo) >= _DOC_MEMO_SIZE:
            self._doc_memo.clear()
        self._doc_memo[key] = result = tuple(docs[:max_docs])
        return result

    def _documents_rows(self, ranges: list[tuple[np.ndarray, np.ndarray]], rows: int,
                        max_docs: int) -> list[tuple[int, ...]]:
        """:meth:`_documents` of rows ``0 .. rows - 1``, each distinct rank range read
        once (repetitive text has thousands of spans with the same ranges)."""
        if rows <= WINDOW_DEDUP_MIN or not ranges:
            return [self._documents(ranges, row, max_docs) for row in range(rows)]
        bounds = np.stack([b for lo, hi in ranges for b in (lo, hi)], axis=1)
        _, first, inverse = np.unique(bounds, axis=0, return_index=True,
                                      return_inverse=True)
        found = [self._documents(ranges, int(row), max_docs) for row in first]
        return [found[k] for k in inverse.ravel()]

    # -- queries -------------------------------------------------------------------------

    def count(self, ids: IdsLike) -> int:
        """Occurrences of the token sequence ``ids`` in the corpus (summed over shards)."""
        q = self._single(ids)
        if q is None:
            return 0
        return int(sum(int(hi[0] - lo[0]) for lo, hi in self._m.ranges(q)))

    def occurrences(self, ids: IdsLike, limit: int = 100) -> list[Occurrence]:
        """Up to ``limit`` occurrences of ``ids`` in corpus order (doc id, token offset)."""
        q = self._single(ids)
        if q is None or limit <= 0:
            return []
        return self._occurrences_at(self._m.ranges(q), 0, limit)

    def _occurrences_at(self, ranges: list[tuple[np.ndarray, np.ndarray]], row: int,
                        limit: int) -> list[Occurrence]:
        out: list[Occurrence] = []
        w = self._dtype.itemsize
        for sid, ptrs in self._occ_pointers(ranges, row, 2**62):
            shard = self._shards[sid]
            ptrs = ptrs[:limit - len(out)]
            local = shard.doc_of(ptrs)
            tok_start = shard.doc_starts[local].astype(np.int64) // w + 1
            offs = ptrs // w - tok_start
            base = int(self._doc_base[sid])
            out.extend(Occurrence(int(d) + base, int(o)) for d, o in zip(local, offs,
                                                                        strict=True))
            if len(out) >= limit:
                break
        return out

    def occurrences_batch(self, seqs: Sequence[IdsLike],
                          limit: int = 100) -> list[list[Occurrence]]:
        """:meth:`occurrences` of many sequences with one batched search."""
        out: list[list[Occurrence]] = [[] for _ in seqs]
        if not seqs or limit <= 0:
            return out
        rows, ranges = self._batch_ranges(seqs)
        for row, k in enumerate(rows):
            out[k] = self._occurrences_at(ranges, row, limit)
        return out

    def _batch_ranges(self, seqs: Sequence[Sequence[int] | np.ndarray]) -> tuple[list[int], Any]:
        """The sequences that can occur (not empty, no token the index cannot hold) and the
        suffix-array ranges of those, one row each, from one batched search."""
        buf, run_end, starts = self._m.prepare(seqs)
        rows = [k for k, (a, b) in enumerate(zip(starts[:-1], starts[1:], strict=True))
                if b > a and int(run_end[a]) >= b]  # empty or with an unmatchable token: none
        if not rows:
            return rows, None
        w = self._dtype.itemsize
        first = np.array([starts[k] for k in rows], dtype=np.int64)
        size = np.array([starts[k + 1] - starts[k] for k in rows], dtype=np.int64)
        return rows, self._m.ranges(Queries(buf, first * w, size * w))

    def first_occurrences(self, seqs: Sequence[IdsLike]) -> list[Occurrence | None]:
        """The first occurrence (corpus order) of each sequence, or None, batched."""
        return [found[0] if found else None
                for found in self.occurrences_batch(seqs, limit=1)]

    def longest_matches(self, ids: IdsLike) -> np.ndarray:
        """For each position i, the length of the longest prefix of ``ids[i:]`` occurring in
        the corpus (matches never cross a document separator)."""
        return self.longest_matches_batch([ids])[0]

    def longest_matches_batch(self, seqs: Sequence[IdsLike]) -> list[np.ndarray]:
        """:meth:`longest_matches` of several sequences, searched together."""
        buf, run_end, starts = self._m.prepare(seqs)
        lengths = self._m.exact_lengths(buf, run_end, np.arange(run_end.size, dtype=np.int64),
                                      cap=self.length_cap)
        return [lengths[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]

    def maximal_spans(self, ids: IdsLike, min_tokens: int = 50, max_docs: int = 10, *,
                      window_tokens: int | None = None,
                      windows: bool = True) -> list[TokenSpan]:
        """Exact maximal matches of ``ids`` at least ``min_tokens`` long, as infini-gram's
        ``attribute`` and OLMoTrace report them.

        Definition: let ``L[i]`` be :meth:`longest_matches`. A span is ``[i, i + L[i])``
        with ``L[i] >= min_tokens`` that is not contained in ``[i - 1, i - 1 + L[i - 1])``:
        it occurs in the corpus and cannot be extended left or right. Its ``count`` is the
        number of corpus occurrences of exactly those tokens, and ``documents`` the distinct
        ids, ascending, of up to ``max_docs`` documents containing them (taken from at most
        ``DOC_SCAN_LIMIT`` occurrences per shard). Matches from different places may
        overlap; each is its own span, ordered by start (never merged: a union of two
        matches need not occur anywhere). Coverage is the union of the spans
        (:func:`regurgitate.index.spans.union_regions`).

        With ``windows``, every span of at least ``window_tokens`` tokens (default
        ``min_tokens``) also gets its most repeated window (:class:`~regurgitate.types.
        SpanWindow`): the count of every window of that many tokens inside it is one
        suffix-array range, all of them searched in one batch (windows shared by overlapping
        spans once); the first window with the highest count is kept, with its documents
        given as the span's are. A span's own count is that of its rarest stretch; the
        window's is how often the passage it is built around occurs.
        """
        return self.maximal_spans_batch([ids], min_tokens=min_tokens, max_docs=max_docs,
                                        window_tokens=window_tokens, windows=windows)[0]

    def maximal_spans_batch(self, seqs: Sequence[IdsLike], min_tokens: int = 50,
                            max_docs: int = 10, *, window_tokens: int | None = None,
                            windows: bool = True) -> list[list[TokenSpan]]:
        """:meth:`maximal_spans` of several sequences, searched together."""
        if min_tokens < 1:
            raise ConfigError("min_tokens must be at least 1")
        window = min_tokens if window_tokens is None else window_tokens
        if windows and window < 1:
            raise ConfigError("window_tokens must be at least 1")
        buf, run_end, starts = self._m.prepare(seqs)
        total = run_end.size
        cand = self._m.candidates(buf, run_end, min_tokens)
        lengths = np.zeros(total, dtype=np.int64)
        lengths[cand] = self._m.chain_lengths(buf, run_end, cand,
                                            cap=max(self.length_cap // 2, min_tokens))
        pieces_per_seq = [maximal_pieces(lengths[a:b], min_tokens)
                          for a, b in zip(starts[:-1], starts[1:], strict=True)]
        flat = [(starts[k] + s, starts[k] + e) for k, ps in enumerate(pieces_per_seq)
                for s, e in ps]
        w = self._dtype.itemsize
        ranges = []
        if flat:
            arr = np.array(flat, dtype=np.int64)
            ranges = self._m.ranges(Queries(buf, arr[:, 0] * w, (arr[:, 1] - arr[:, 0]) * w))
        counts = [int(sum(int(hi[row] - lo[row]) for lo, hi in ranges))
                  for row in range(len(flat))]
        docs = self._documents_rows(ranges, len(flat), max_docs)
        wins = self._windows(buf, flat, counts, docs, window, max_docs, ranges) if windows \
            else [None] * len(flat)
        out: list[list[TokenSpan]] = []
        row = 0
        for pieces in pieces_per_seq:
            spans = []
            for s, e in pieces:
                spans.append(TokenSpan(s, e, counts[row], docs[row], s, e, wins[row]))
                row += 1
            out.append(spans)
        return out

    def _window_counts(self, buf: np.ndarray, starts: np.ndarray, window: int, *,
                       inside: tuple[np.ndarray, list[np.ndarray]] | None = None,
                       ceiling: np.ndarray | None = None
                       ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Corpus count of the ``window`` tokens at each of ``starts`` (token positions of
        the query buffer), the rank ranges per shard they came from, and which counts are
        only bounded (see below).

        ``inside``: spans the windows lie in, as ``[s, e)`` rows sorted by start, and each
        span's count per shard. A window inside a span occurs at least as often as the span
        in every shard, so a shard may stop its search once that count is certain (see
        :meth:`Matcher.bounded_ranges`): then its ranges may be those of a suffix of the
        window, which holds the same occurrences, shifted, in the same order.
        ``ceiling`` (with ``inside``): per window, a count (-1: none) the caller has no use
        for a window reaching at most; a search may stop once that is certain, and its
        count is then only an upper bound, at most the ceiling (marked in the result)."""
        w = self._dtype.itemsize
        inverse = None
        if ceiling is None:
            ceiling = np.full(starts.size, -1, dtype=np.int64)
        if starts.size > WINDOW_DEDUP_MIN:  # repetitive text: equal windows searched once
            rows = np.lib.stride_tricks.sliding_window_view(buf, window * w)[starts * w]
            keys = np.ascontiguousarray(rows).view(np.dtype((np.void, window * w))).ravel()
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            if first.size < starts.size:
                inverse = inverse.ravel()
                # equal windows share a search: no count of use to any of them
                least = np.full(first.size, np.iinfo(np.int64).max, dtype=np.int64)
                np.minimum.at(least, inverse, ceiling)
                starts, ceiling = starts[first], least
            else:
                inverse = None
        q = Queries(buf, starts * w, np.full(starts.size, window * w, dtype=np.int64))
        if inside is None:
            ranges = self._m.plain_ranges(q, rare=True)
            bounded = np.zeros(starts.size, dtype=bool)
        else:
            spans, per_shard = inside
            at = np.searchsorted(spans[:, 0], starts, side="right") - 1
            safe = np.maximum(at, 0)
            # the span starting last before a window holds it, or the window lies in an
            # earlier, overlapping span: no floor then (0 is always true)
            held = (at >= 0) & (starts + window <= spans[safe, 1])
            floors = [np.where(held, c[safe], 0) for c in per_shard]
            ranges, bounded = self._m.bounded_ranges(q, floors, ceiling)
        if inverse is not None:
            ranges = [(lo[inverse], hi[inverse]) for lo, hi in ranges]
            bounded = bounded[inverse]
        counts = np.zeros(bounded.size, dtype=np.int64)
        for lo, hi in ranges:
            counts += hi - lo
        return counts, ranges, bounded

    def _windows(self, buf: np.ndarray, spans: list[tuple[int, int]], counts: list[int],
                 docs: list[tuple[int, ...]], window: int, max_docs: int,
                 span_ranges: list[tuple[np.ndarray, np.ndarray]]
                 ) -> list[SpanWindow | None]:
        """The most repeated ``window``-token window of each span ``[s, e)`` (positions of
        the query buffer, with their ``counts`` and ``docs``); None for a span shorter than
        ``window`` (see :mod:`regurgitate.index.repeated_windows`). A window's documents are taken
        from at most ``WINDOW_DOC_SCAN_LIMIT`` occurrences per shard."""
        searched: dict[int, tuple[list[tuple[np.ndarray, np.ndarray]], int]] = {}

        # windows and probes lie inside spans: each occurs, in every shard, at least as
        # often as its span (spans are sorted by start)
        inside = (np.array(spans, dtype=np.int64).reshape(-1, 2),
                  [np.asarray(hi - lo, dtype=np.int64) for lo, hi in span_ranges]) \
            if span_ranges else None

        def count(pos: np.ndarray, length: int, ceiling: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
            found, ranges, bounded = self._window_counts(buf, pos, length, inside=inside,
                                                         ceiling=ceiling)
            if length == window:  # remember where each window's ranks are
                searched.update((int(p), (ranges, row)) for row, p in enumerate(pos)
                                if not bounded[row])
            return found, bounded

        rep = self._equal_spans(buf, spans)
        # repetitive text: the window of each distinct span text is found once
        first, inverse = rep if rep is not None else (np.arange(len(spans)), None)
        reps = [int(i) for i in first]
        best = most_repeated_windows([spans[i] for i in reps], [counts[i] for i in reps],
                                     window, count)
        out: list[SpanWindow | None] = []
        for k, f in zip(reps, best, strict=True):
            if f is None:
                out.append(None)
            elif f[1] <= counts[k]:
                # as frequent as its span, it occurs only inside it: the span's documents
                out.append(SpanWindow(f[0], window, f[1], docs[k]))
            else:  # more frequent: it was searched
                ranges, row = searched[spans[k][0] + f[0]]
                out.append(SpanWindow(f[0], window, f[1], self._documents(
                    ranges, row, max_docs, WINDOW_DOC_SCAN_LIMIT)))
        return out if inverse is None else [out[j] for j in inverse]

    def _equal_spans(self, buf: np.ndarray, spans: list[tuple[int, int]]
                     ) -> tuple[np.ndarray, np.ndarray] | None:
        """For many spans of repetitive text: the index of one span per distinct span
        text (spans of one copy region, same phase and length, hold equal tokens: see
        :func:`regurgitate.index.periodic.window_keys`) and each span's group; None when
        the spans are few or all distinct. Equal spans have equal windows, counts and
        documents, so the window work is done once per distinct text."""
        if len(spans) <= WINDOW_DEDUP_MIN or buf.size % self._dtype.itemsize:
            return None
        regions = periodic.copy_regions(buf.view(self._dtype))
        arr = np.array(spans, dtype=np.int64)
        keys = periodic.window_keys(regions, arr[:, 0], arr[:, 1] - arr[:, 0])
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if first.size == len(spans):
            return None
        return first, inverse.ravel()

    def window_counts(self, seqs: Sequence[IdsLike], window: int) -> list[np.ndarray]:
        """For each sequence, the corpus count of every window of ``window`` tokens in it
        (``len(seq) - window + 1`` counts, none for a shorter sequence), searched together.
        A window holding a token that cannot occur counts 0."""
        if window < 1:
            raise ConfigError("window must be at least 1")
        buf, run_end, starts = self._m.prepare(seqs)
        spans = list(zip(starts[:-1], starts[1:], strict=True))
        pos, slices = window_starts(spans, window)
        counts = np.zeros(pos.size, dtype=np.int64)
        ok = run_end[pos] - pos >= window if pos.size else np.zeros(0, dtype=bool)
        if ok.any():
            counts[ok] = self._window_counts(buf, pos[ok], window)[0]
        return [counts[a:b] for a, b in slices]

    def documents_batch(self, seqs: Sequence[IdsLike], max_docs: int = 10,
                        scan_limit: int = DOC_SCAN_LIMIT) -> list[tuple[int, ...]]:
        """The documents of each sequence as :meth:`maximal_spans` gives a span's: distinct
        ids, ascending, up to ``max_docs``, from at most ``scan_limit`` occurrences per
        shard; () for one that does not occur."""
        out: list[tuple[int, ...]] = [() for _ in seqs]
        rows, ranges = self._batch_ranges(seqs)
        for row, k in enumerate(rows):
            out[k] = self._documents(ranges, row, max_docs, scan_limit)
        return out

    def find_spans(self, texts: Sequence[str], min_tokens: int = 50, max_docs: int = 10,
                   *, tokenizer: Tokenizer | None = None, window_tokens: int | None = None,
                   windows: bool = True) -> list[list[Span]]:
        """Exact maximal spans of each text with character offsets (see
        :meth:`maximal_spans`; overlapping spans overlap in characters too), each with its
        most repeated window of ``window_tokens`` tokens (default ``min_tokens``) unless
        ``windows`` is False. ``tokenizer``, if given, must be the index's."""
        self.check_tokenizer(tokenizer)
        return self.find_spans_encoded([self._tokenizer.encode_offsets(t) for t in texts],
                                       min_tokens=min_tokens, max_docs=max_docs,
                                       window_tokens=window_tokens, windows=windows)

    def find_spans_encoded(self, encoded: Sequence[tuple[IdsLike, np.ndarray]],
                           min_tokens: int = 50, max_docs: int = 10, *,
                           window_tokens: int | None = None,
                           windows: bool = True) -> list[list[Span]]:
        """:meth:`find_spans` of texts already tokenized by the index's tokenizer: one
        ``(ids, offsets)`` pair per text, as ``index.tokenizer.encode_offsets`` gives them
        (so a caller that needs the tokens too tokenizes each text once)."""
        found = self.maximal_spans_batch([ids for ids, _ in encoded], min_tokens=min_tokens,
                                         max_docs=max_docs, window_tokens=window_tokens,
                                         windows=windows)
        return [[char_span(s, offsets) for s in spans]
                for (_, offsets), spans in zip(encoded, found, strict=True)]

    # -- documents -----------------------------------------------------------------------

    def _locate(self, doc_id: int) -> tuple[AnyShard, int]:
        if not 0 <= doc_id < self.num_docs:
            raise ConfigError(f"document id {doc_id} out of range (index has "
                              f"{self.num_docs} documents)")
        sid = int(np.searchsorted(self._doc_base, doc_id, side="right")) - 1
        return self._shards[sid], doc_id - int(self._doc_base[sid])

    def document_tokens(self, doc_id: int) -> np.ndarray:
        shard, local = self._locate(doc_id)
        start, end = shard.doc_token_range(local)
        return np.array(shard.tokens(start, end))

    def document_meta(self, doc_id: int) -> dict[str, Any]:
        """The metadata stored for a document: its ``id``, the fields chosen with
        ``--meta-fields`` under their own names, and where it came from (``source``,
        ``line``/``row``/``path``); an infini-gram index's metadata line as it wrote it."""
        shard, local = self._locate(doc_id)
        raw = shard.metadata(local)
        if not raw or not raw.strip():
            return {}
        try:
            meta = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"{self.path / f'metadata.{shard.id}'}: bad metadata "
                                    f"for document {doc_id}: {exc}") from exc
        return meta if isinstance(meta, dict) else {"metadata": meta}

    def document(self, doc_id: int) -> Document:
        return Document(text=self._tokenizer.decode(self.document_tokens(doc_id)),
                        meta=self.document_meta(doc_id))

    def doc_name(self, doc_id: int) -> str:
        """The document's name in its corpus (:func:`~regurgitate.index.spans.doc_label`)."""
        return doc_label(self.document_meta(doc_id), doc_id)

    def context(self, doc_id: int, token_offset: int, length: int,
                margin: int = 30) -> tuple[str, str, str]:
        """Decoded (before, match, after) around ``length`` tokens at ``token_offset``."""
        toks = self.document_tokens(doc_id)
        a = max(0, token_offset)
        b = min(toks.size, token_offset + length)
        dec = self._tokenizer.decode
        return (dec(toks[max(0, a - margin):a]), dec(toks[a:b]), dec(toks[b:b + margin]))

