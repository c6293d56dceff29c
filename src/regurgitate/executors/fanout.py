"""Queries fanned out to one Ray actor per index part, merged on the driver.

For an index built by :func:`~regurgitate.executors.sharded_build.build_sharded`, each actor
opens one part (a complete index) where it runs. Merging follows the definitions of
``CorpusIndex``: a position's longest match is the longest over the parts; the spans (one
per exact maximal match) come from those lengths; a span's count is the sum of the parts'
counts and its documents are the parts' documents in part order (global ids: each part's ids
shifted by the documents of the parts before it), cut at ``max_docs``. So the answers equal
those of the same index opened whole (``CorpusIndex.open``). A span's most repeated window
likewise: every window's count is the sum of the parts' counts, the first highest is kept, and
its documents are merged as a span's are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.corpus.tokenizer import Tokenizer, tokenizer_from_description
from regurgitate.errors import ConfigError
from regurgitate.executors.ray_support import import_ray, unwrap
from regurgitate.index import format as fmt
from regurgitate.index.spans import Occurrence, TokenSpan, char_span, maximal_pieces
from regurgitate.types import Document, Span, SpanWindow


class PartActor:
    """One index part, opened where the actor runs."""

    def __init__(self, path: str) -> None:
        from regurgitate.index.open import open_local

        self.index = open_local(path)

    def num_docs(self) -> int:
        return self.index.num_docs

    def longest(self, seqs: list[list[int]]) -> list[np.ndarray]:
        return self.index.longest_matches_batch(seqs) if seqs else []

    def pieces(self, pieces: list[list[int]], max_docs: int) -> list[tuple[int, tuple[int, ...]]]:
        """(count, documents) of each piece in this part, as ``maximal_spans`` reports them."""
        out = []
        found = self.index.maximal_spans_batch(pieces, min_tokens=1, max_docs=max_docs,
                                                windows=False)
        for piece, spans in zip(pieces, found, strict=True):
            # the piece occurs here iff it is itself a maximal match of the query
            whole = [s for s in spans if s.piece_start == 0 and s.piece_end == len(piece)]
            out.append((whole[0].count, whole[0].documents) if whole else (0, ()))
        return out

    def window_counts(self, pieces: list[list[int]], window: int) -> list[np.ndarray]:
        """This part's count of every ``window``-token window of each piece."""
        return self.index.window_counts(pieces, window) if pieces else []

    def documents(self, seqs: list[list[int]], max_docs: int) -> list[tuple[int, ...]]:
        """The documents of each window, as ``maximal_spans`` gives a window's."""
        from regurgitate.index.query import WINDOW_DOC_SCAN_LIMIT

        return self.index.documents_batch(seqs, max_docs, WINDOW_DOC_SCAN_LIMIT) \
            if seqs else []

    def occurrences(self, seqs: list[list[int]], limit: int) -> list[list[tuple[int, int]]]:
        return [[(o.doc_id, o.token_offset) for o in occ]
                for occ in self.index.occurrences_batch(seqs, limit=limit)]

    def document(self, doc_id: int) -> tuple[np.ndarray, dict[str, Any]]:
        return self.index.document_tokens(doc_id), self.index.document_meta(doc_id)

    def doc_name(self, doc_id: int) -> str:
        return self.index.doc_name(doc_id)


class FanOutIndex:
    """The detectors' index interface over Ray actors, one per part of a sharded build."""

    def __init__(self, path: str | Path, *, num_cpus: float = 0.5) -> None:
        path = Path(path)
        manifest = fmt.read_manifest(path)
        if manifest is None or not manifest.get("parts"):
            raise ConfigError(f"{path} was not built in parts",
                              hint="build it with 'regurgitate index build-sharded'")
        ray = import_ray()
        self._ray = ray
        self.path = path
        self._tokenizer: Tokenizer = tokenizer_from_description(manifest["tokenizer"], path)
        actor = ray.remote(num_cpus=num_cpus)(PartActor)
        self._actors = [actor.remote(str(path / p)) for p in manifest["parts"]]
        counts = self._get([a.num_docs.remote() for a in self._actors])
        self._base = np.cumsum([0, *counts])
        self._manifest = manifest

    def _get(self, refs: list[Any]) -> list[Any]:
        try:
            return list(self._ray.get(refs))
        except self._ray.exceptions.RayError as exc:
            raise unwrap(exc) from None

    def close(self) -> None:
        for a in self._actors:
            self._ray.kill(a)
        self._actors = []

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def num_docs(self) -> int:
        return int(self._base[-1])

    @property
    def info(self) -> dict[str, Any]:
        return {"path": str(self.path), "num_docs": self.num_docs,
                "num_tokens": self._manifest["num_tokens"], "parts": len(self._actors),
                "tokenizer": self._tokenizer.describe(), "fan_out": "ray"}

    def maximal_spans_batch(self, seqs: Sequence[Sequence[int] | np.ndarray],
                            min_tokens: int = 50, max_docs: int = 10, *,
                            window_tokens: int | None = None,
                            windows: bool = True) -> list[list[TokenSpan]]:
        if min_tokens < 1:
            raise ConfigError("min_tokens must be at least 1")
        window = min_tokens if window_tokens is None else window_tokens
        if windows and window < 1:
            raise ConfigError("window_tokens must be at least 1")
        lists = [[int(t) for t in s] for s in seqs]
        per_part = self._get([a.longest.remote(lists) for a in self._actors])
        lengths = [np.max(np.stack([p[k] for p in per_part]), axis=0) if len(q) else
                   np.zeros(0, np.int64) for k, q in enumerate(lists)]
        pieces = [maximal_pieces(lens, min_tokens) for lens in lengths]
        wanted = [lists[k][s:e] for k, pcs in enumerate(pieces) for s, e in pcs]
        stats = self._get([a.pieces.remote(wanted, max_docs) for a in self._actors])
        wins = self._windows(wanted, window, max_docs) if windows else [None] * len(wanted)
        out: list[list[TokenSpan]] = []
        row = 0
        for pcs in pieces:
            spans = []
            for s, e in pcs:  # one span per exact maximal match, as CorpusIndex gives
                count = sum(part[row][0] for part in stats)
                docs = self._merged([part[row][1] for part in stats], max_docs)
                spans.append(TokenSpan(s, e, count, docs, s, e, wins[row]))
                row += 1
            out.append(spans)
        return out

    def _merged(self, per_part: list[tuple[int, ...]], max_docs: int) -> tuple[int, ...]:
        """The parts' documents in part order as global ids, cut at ``max_docs``."""
        docs: list[int] = []
        for k, part in enumerate(per_part):
            docs.extend(int(d) + int(self._base[k]) for d in part)
            if len(docs) >= max_docs:
                break
        return tuple(docs[:max_docs])

    def _windows(self, pieces: list[list[int]], window: int, max_docs: int
                 ) -> list[SpanWindow | None]:
        """The most repeated window of each span's tokens (None when shorter than it)."""
        rows = [k for k, p in enumerate(pieces) if len(p) >= window]
        out: list[SpanWindow | None] = [None] * len(pieces)
        if not rows:
            return out
        sub = [pieces[k] for k in rows]
        per_part = self._get([a.window_counts.remote(sub, window) for a in self._actors])
        best: list[tuple[int, int]] = []
        for j in range(len(rows)):
            total = np.sum(np.stack([np.asarray(part[j]) for part in per_part]), axis=0)
            at = int(np.argmax(total))
            best.append((at, int(total[at])))
        chosen = [sub[j][at:at + window] for j, (at, _) in enumerate(best)]
        docs = self._get([a.documents.remote(chosen, max_docs) for a in self._actors])
        for j, (k, (at, count)) in enumerate(zip(rows, best, strict=True)):
            out[k] = SpanWindow(at, window, count,
                                self._merged([part[j] for part in docs], max_docs))
        return out

    def find_spans(self, texts: Sequence[str], min_tokens: int = 50, max_docs: int = 10,
                   *, window_tokens: int | None = None, windows: bool = True
                   ) -> list[list[Span]]:
        encoded = [self._tokenizer.encode_offsets(t) for t in texts]
        found = self.maximal_spans_batch([ids for ids, _ in encoded], min_tokens, max_docs,
                                         window_tokens=window_tokens, windows=windows)
        return [[char_span(s, offs) for s in spans]
                for (_, offs), spans in zip(encoded, found, strict=True)]

    def occurrences_batch(self, seqs: Sequence[Sequence[int] | np.ndarray],
                          limit: int = 100) -> list[list[Occurrence]]:
        lists = [[int(t) for t in s] for s in seqs]
        per_part = self._get([a.occurrences.remote(lists, limit) for a in self._actors])
        out = []
        for k in range(len(lists)):
            occ = [Occurrence(d + int(self._base[p]), o) for p, part in enumerate(per_part)
                   for d, o in part[k]]
            out.append(occ[:limit])
        return out

    def first_occurrences(self, seqs: Sequence[Sequence[int] | np.ndarray]
                          ) -> list[Occurrence | None]:
        return [o[0] if o else None for o in self.occurrences_batch(seqs, limit=1)]

    def _part(self, doc_id: int) -> int:
        if not 0 <= doc_id < self.num_docs:
            raise ConfigError(f"document id {doc_id} out of range")
        return int(np.searchsorted(self._base, doc_id, side="right")) - 1

    def _doc(self, doc_id: int) -> tuple[np.ndarray, dict[str, Any]]:
        part = self._part(doc_id)
        toks, meta = self._get([self._actors[part].document.remote(
            doc_id - int(self._base[part]))])[0]
        return np.asarray(toks), dict(meta)

    def document_tokens(self, doc_id: int) -> np.ndarray:
        return self._doc(doc_id)[0]

    def document(self, doc_id: int) -> Document:
        toks, meta = self._doc(doc_id)
        return Document(text=self._tokenizer.decode(toks), meta=meta)

    def doc_name(self, doc_id: int) -> str:
        part = self._part(doc_id)
        local = doc_id - int(self._base[part])
        name = str(self._get([self._actors[part].doc_name.remote(local)])[0])
        # a part numbers its documents from 0: its fallback label must use the global id
        return f"doc {doc_id}" if name == f"doc {local}" else name

    def context(self, doc_id: int, token_offset: int, length: int,
                margin: int = 30) -> tuple[str, str, str]:
        toks = self.document_tokens(doc_id)
        a, b = max(0, token_offset), min(toks.size, token_offset + length)
        dec = self._tokenizer.decode
        return dec(toks[max(0, a - margin):a]), dec(toks[a:b]), dec(toks[b:b + margin])
