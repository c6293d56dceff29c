"""``RemoteIndex``: the query interface of ``CorpusIndex`` over infini-gram's HTTP API.

``--index "http(s)://HOST[:PORT][/PATH]?index=NAME[&tokenizer=PATH][&api=infini-gram]
[&max_query_tokens=N][&rate=R][&concurrency=C][&timeout=S][&retries=K][&api_key_env=VAR]
[&api_key_file=PATH]"`` opens one (the key, from that variable or file, is sent as
``Authorization: Bearer <key>``).

Two modes, chosen from the server's answer to an ``info`` query:

- **regurgitate server** (``regurgitate index serve``): maximal spans, occurrences and
  documents come from its extension queries, sent in batches (one HTTP request holds up to
  ``max_batch`` queries); results are identical to opening the index directory locally.
- **infini-gram API** (``api.infini-gram.io``, or ``api=infini-gram`` to force it): only the
  documented query types are used. Maximal spans are found with ``count`` queries (every
  ``min_tokens`` window, then a binary search for each match's length, all windows of a round
  sent concurrently), sources with ``search_docs`` (at most 10 documents per span, as that API
  allows). The tokenizer is not served there: pass ``tokenizer=PATH`` (the one the index was
  built with, e.g. Llama-2's ``tokenizer.json``). Limits: a query holds at most
  ``max_query_tokens`` tokens (infini-gram's default, 500). A match that long is seen as
  windows of that many tokens, joined into one span whose count is that of its first window
  (other overlapping matches stay separate spans, as locally), and a ``--min-tokens`` above
  the limit is refused with :class:`IndexLimitError`, since no verdict is possible. Documents
  are known only through the passages ``search_docs`` returned.

Transient failures (connection errors, HTTP 429 and 5xx) are retried with exponential
backoff (``Retry-After`` honoured); ``rate`` caps requests per second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np

from regurgitate.corpus.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer, load_tokenizer
from regurgitate.errors import (
    ConfigError,
    IndexLimitError,
    RemoteIndexError,
    TokenizerMismatchError,
)
from regurgitate.index.open import is_remote
from regurgitate.index.remote_hosted import spans_by_counting
from regurgitate.index.remote_http import RemoteSpec, Transport
from regurgitate.index.spans import Occurrence, TokenSpan, char_span, doc_label
from regurgitate.types import Document, Span, SpanWindow

__all__ = ["IndexLimitError", "RemoteIndex", "RemoteIndexError", "RemoteSpec", "is_remote"]

HOSTED_MAX_QUERY_TOKENS = 500
HOSTED_MAXNUM = 10
_WINDOW = 10_000


class RemoteIndex:
    """An index behind an infini-gram-shaped HTTP API, with ``CorpusIndex``'s query methods."""

    modality: ClassVar[str] = "text"

    def __init__(self, spec: RemoteSpec, *, client: httpx.Client | None = None) -> None:
        self.spec = spec
        self.path = f"{spec.url}?index={spec.index}"
        self._http = Transport(spec, client)
        self._views: dict[int, np.ndarray] = {}
        self._meta: dict[int, dict[str, Any]] = {}
        self._names: dict[int, str] = {}
        info = self._probe()
        self._info = info
        self.extended = info is not None
        limits = (info or {}).get("limits", {})
        self.max_batch = int(limits.get("max_batch", 1))
        server_max = int(limits.get("max_query_tokens", HOSTED_MAX_QUERY_TOKENS))
        self.max_query_tokens = min(spec.max_query_tokens or server_max, server_max)
        text = (info or {}).get("document_text", {})
        #: document tokens the server returns per answer (0: it serves no document text)
        self.max_text_tokens = int(text.get("max_tokens", _WINDOW)) if text.get(
            "served", True) else 0
        self._tokenizer = self._make_tokenizer(info)

    @classmethod
    def open(cls, spec: str, *, tokenizer: Tokenizer | None = None) -> RemoteIndex:
        rs = RemoteSpec.parse(spec)
        idx = cls(rs)
        idx.check_tokenizer(tokenizer)
        return idx

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setting up --------------------------------------------------------------------------

    def _probe(self) -> dict[str, Any] | None:
        if self.spec.api == "infini-gram":
            return None
        body = {"index": self.spec.index, "query_type": "info"}
        try:
            ans = self._http.post(body)
        except RemoteIndexError as exc:
            if "Invalid query_type" in exc.message:  # infini-gram's own server
                return None
            if "Invalid index" in exc.message:
                raise RemoteIndexError(exc.message, hint="GET on the server URL lists the "
                                       "index names it serves") from None
            raise
        if isinstance(ans, dict) and "error" in ans:
            if "query_type" in str(ans["error"]):
                return None
            raise RemoteIndexError(f"index server {self.spec.url}: {ans['error']}")
        return ans if isinstance(ans, dict) and ans.get("server") == "regurgitate" else None

    def _make_tokenizer(self, info: dict[str, Any] | None) -> Tokenizer:
        if self.spec.tokenizer:
            tok = load_tokenizer(self.spec.tokenizer)
            recorded = (info or {}).get("tokenizer", {})
            if recorded and recorded.get("fingerprint") != tok.fingerprint:
                raise TokenizerMismatchError(
                    f"tokenizer {tok.name} is not the one index {self.spec.index} was built "
                    f"with ({recorded.get('name')}, {recorded.get('fingerprint')})")
            return tok
        if info is None:
            raise ConfigError(f"{self.path}: infini-gram's API does not say which tokenizer "
                              "its index uses", hint="add &tokenizer=PATH/TO/tokenizer.json "
                              "(e.g. Llama-2's for the v4_*_llama indexes), or bytes")
        desc = info.get("tokenizer", {})
        if desc.get("fingerprint") == ByteTokenizer.fingerprint:
            return ByteTokenizer()
        text = info.get("tokenizer_json")
        if not isinstance(text, str):
            raise ConfigError(f"{self.path}: the server sent no tokenizer",
                              hint="add &tokenizer=PATH")
        return _InlineTokenizer(text, str(desc.get("name") or "remote"))

    # -- transport helpers -------------------------------------------------------------------

    def _query(self, qtype: str, **fields: Any) -> dict[str, Any]:
        return {"index": self.spec.index, "query_type": qtype, **fields}

    def _run(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Answers in order; an ``error`` answer raises (IndexLimitError for a limit)."""
        if not queries:
            return []
        if self.extended and self.max_batch > 1:
            answers: list[Any] = []
            for i in range(0, len(queries), self.max_batch):
                ans = self._http.post(queries[i:i + self.max_batch])
                if not isinstance(ans, list) or len(ans) != len(queries[i:i + self.max_batch]):
                    raise RemoteIndexError(f"index server {self.spec.url} answered a batch "
                                           "with something else than one answer per query")
                answers.extend(ans)
        elif len(queries) == 1 or self.spec.concurrency == 1:
            answers = [self._http.post(q) for q in queries]
        else:
            with ThreadPoolExecutor(max_workers=self.spec.concurrency) as pool:
                answers = list(pool.map(self._http.post, queries))
        for ans in answers:
            if not isinstance(ans, dict):
                raise RemoteIndexError(f"index server {self.spec.url} sent a malformed answer")
            if "error" in ans:
                msg = str(ans["error"])
                if "limit your input" in msg or "at most" in msg:
                    raise IndexLimitError(f"index server {self.spec.url}: {msg}",
                                          hint="shorter queries are needed than this check "
                                          "sends; see docs/scale.md")
                raise RemoteIndexError(f"index server {self.spec.url}: {msg}")
        return answers

    def _check_len(self, n: int, what: str) -> None:
        if n > self.max_query_tokens:
            raise IndexLimitError(
                f"{what} has {n} tokens; index server {self.spec.url} accepts at most "
                f"{self.max_query_tokens} per query, so no verdict is possible for it",
                hint="start the server with a larger --max-query-tokens, or shorten the text")

    # -- properties --------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def num_docs(self) -> int:
        if self._info is None:
            raise IndexLimitError(f"{self.path}: infini-gram's API does not list documents, "
                                  "so prompts cannot be sampled from its corpus",
                                  hint="use attacks that need no corpus sampling "
                                  "(e.g. --attack divergence)")
        return int(self._info["num_docs"])

    @property
    def num_tokens(self) -> int:
        if self._info is not None:
            return int(self._info["num_tokens"])
        return int(self._run([self._query("count", query_ids=[])])[0]["count"])

    @property
    def num_shards(self) -> int:
        return int((self._info or {}).get("num_shards", 0))

    @property
    def info(self) -> dict[str, Any]:
        base = dict((self._info or {}).get("info", {}))
        base.update({"path": self.path, "remote": True,
                     "api": "regurgitate" if self.extended else "infini-gram",
                     "tokenizer": self._tokenizer.describe(),
                     "max_query_tokens": self.max_query_tokens})
        return base

    def check_tokenizer(self, tokenizer: Tokenizer | None) -> None:
        if tokenizer is not None and tokenizer.fingerprint != self._tokenizer.fingerprint:
            raise TokenizerMismatchError(
                f"the query tokenizer {tokenizer.name} differs from the index's "
                f"{self._tokenizer.name}", hint="tokenize queries with index.tokenizer")

    # -- queries -----------------------------------------------------------------------------

    def count(self, ids: Sequence[int] | np.ndarray) -> int:
        q = [int(t) for t in ids]
        if not q:
            raise ConfigError("empty query: give at least one token id")
        self._check_len(len(q), "the query")
        return int(self._run([self._query("count", query_ids=q)])[0]["count"])

    def occurrences(self, ids: Sequence[int] | np.ndarray, limit: int = 100
                    ) -> list[Occurrence]:
        return self.occurrences_batch([ids], limit=limit)[0]

    def occurrences_batch(self, seqs: Sequence[Sequence[int] | np.ndarray],
                          limit: int = 100) -> list[list[Occurrence]]:
        out: list[list[Occurrence]] = [[] for _ in seqs]
        rows = [(k, [int(t) for t in s]) for k, s in enumerate(seqs) if len(s)]
        if limit <= 0 or not rows:
            return out
        for _, q in rows:
            self._check_len(len(q), "a span")
        if self.extended:
            answers = self._run([self._query("occurrences", query_ids=q,
                                             maxnum=min(limit, 1000)) for _, q in rows])
            for (k, _), ans in zip(rows, answers, strict=True):
                out[k] = [Occurrence(int(d), int(o)) for d, o in ans["occurrences"]]
            return out
        answers = self._run([self._query("search_docs", query_ids=q, maxnum=min(
            limit, HOSTED_MAXNUM), max_disp_len=_WINDOW) for _, q in rows])
        for (k, _), ans in zip(rows, answers, strict=True):
            out[k] = [self._remember(doc) for doc in ans.get("documents", [])]
        return out

    def _remember(self, doc: dict[str, Any]) -> Occurrence:
        """Keep a passage search_docs returned (its tokens stand for the document)."""
        d = int(doc["doc_ix"])
        self._views[d] = np.asarray(doc.get("token_ids", []), dtype=np.int64)
        self._meta[d] = _parse_meta(doc.get("metadata"))
        return Occurrence(d, int(doc.get("needle_offset", 0)))

    def first_occurrences(self, seqs: Sequence[Sequence[int] | np.ndarray]
                          ) -> list[Occurrence | None]:
        return [found[0] if found else None for found in self.occurrences_batch(seqs, 1)]

    def maximal_spans(self, ids: Sequence[int] | np.ndarray, min_tokens: int = 50,
                      max_docs: int = 10, *, window_tokens: int | None = None,
                      windows: bool = True) -> list[TokenSpan]:
        return self.maximal_spans_batch([ids], min_tokens=min_tokens, max_docs=max_docs,
                                        window_tokens=window_tokens, windows=windows)[0]

    def maximal_spans_batch(self, seqs: Sequence[Sequence[int] | np.ndarray],
                            min_tokens: int = 50, max_docs: int = 10, *,
                            window_tokens: int | None = None,
                            windows: bool = True) -> list[list[TokenSpan]]:
        """Same definition as ``CorpusIndex.maximal_spans``. The most repeated windows come
        from the server (a regurgitate server older than them sends none: ``window`` is
        None) or, on infini-gram's API, from ``count`` queries (see
        :mod:`regurgitate.index.remote_hosted`)."""
        if min_tokens < 1:
            raise ConfigError("min_tokens must be at least 1")
        if min_tokens > self.max_query_tokens:
            raise IndexLimitError(
                f"--min-tokens {min_tokens} exceeds the {self.max_query_tokens}-token query "
                f"limit of index server {self.spec.url}: no span that long can be checked")
        window = (min_tokens if window_tokens is None else window_tokens) if windows else None
        if window is not None and window < 1:
            raise ConfigError("window_tokens must be at least 1")
        lists = [[int(t) for t in s] for s in seqs]
        if self.extended:
            return self._spans_extended(lists, min_tokens, max_docs, window)
        return self._spans_hosted(lists, min_tokens, max_docs, window)

    def _spans_extended(self, lists: list[list[int]], min_tokens: int,
                        max_docs: int, window: int | None) -> list[list[TokenSpan]]:
        rows = [k for k, q in enumerate(lists) if len(q) >= min_tokens]
        for k in rows:
            self._check_len(len(lists[k]), "a generation")
        answers = self._run([self._query("attribute", query_ids=lists[k], min_len=min_tokens,
                                         max_docs=max_docs, window_len=window or 0)
                             for k in rows])
        out: list[list[TokenSpan]] = [[] for _ in lists]
        for k, ans in zip(rows, answers, strict=True):
            out[k] = [TokenSpan(int(s["region"][0]), int(s["region"][1]), int(s["count"]),
                                tuple(int(d["doc_ix"]) for d in s["docs"]), int(s["l"]),
                                int(s["r"]), _window(s.get("window")))
                      for s in ans["spans"]]
        return out

    def _counts(self, pieces: list[list[int]]) -> list[int]:
        answers = self._run([self._query("count", query_ids=p) for p in pieces])
        return [int(a["count"]) for a in answers]

    def _spans_hosted(self, lists: list[list[int]], min_tokens: int,
                      max_docs: int, window: int | None) -> list[list[TokenSpan]]:
        def sources(pieces: list[list[int]]) -> list[list[int]]:
            if not max_docs:
                return [[] for _ in pieces]
            return [[o.doc_id for o in oc] for oc in self.occurrences_batch(pieces, max_docs)]

        return spans_by_counting(lists, min_tokens, max_docs, self.max_query_tokens,
                                 self._counts, sources, window=window)

    def find_spans(self, texts: Sequence[str], min_tokens: int = 50, max_docs: int = 10,
                   *, tokenizer: Tokenizer | None = None, window_tokens: int | None = None,
                   windows: bool = True) -> list[list[Span]]:
        """Maximal verbatim spans of each text with character offsets."""
        self.check_tokenizer(tokenizer)
        encoded = [self._tokenizer.encode_offsets(t) for t in texts]
        found = self.maximal_spans_batch([ids for ids, _ in encoded], min_tokens=min_tokens,
                                         max_docs=max_docs, window_tokens=window_tokens,
                                         windows=windows)
        return [[char_span(s, offs) for s in spans]
                for (_, offs), spans in zip(encoded, found, strict=True)]

    # -- documents ---------------------------------------------------------------------------

    def _fetch(self, doc_id: int, offset: int, length: int) -> dict[str, Any]:
        ans = self._run([self._query("get_doc_by_ix", doc_ix=doc_id, offset=offset,
                                     max_disp_len=max(1, min(length, _WINDOW)))])[0]
        self._meta.setdefault(doc_id, _parse_meta(ans.get("metadata")))
        if isinstance(ans.get("name"), str):
            self._names[doc_id] = ans["name"]
        return ans

    def _text_refused(self, doc_id: int) -> IndexLimitError:
        return IndexLimitError(f"index server {self.spec.url} serves no document text, so "
                               f"document {doc_id}'s text cannot be read",
                               hint="it was started with --max-text-tokens 0: spans, counts "
                               "and document ids are still answered")

    def document_tokens(self, doc_id: int) -> np.ndarray:
        if self.extended and not self.max_text_tokens:
            raise self._text_refused(doc_id)
        if not self.extended:
            if doc_id not in self._views:
                raise IndexLimitError(f"{self.path}: infini-gram's API gives documents only "
                                      f"through search results; document {doc_id} was not "
                                      "among them")
            return self._views[doc_id]
        if doc_id in self._views:
            return self._views[doc_id]
        first = self._fetch(doc_id, 0, _WINDOW)
        parts = [first["token_ids"]]
        total = int(first["doc_len"])
        got = len(first["token_ids"])
        while got < total:
            part = self._fetch(doc_id, got, _WINDOW)["token_ids"]
            if not part:
                raise self._text_refused(doc_id)
            parts.append(part)
            got += len(part)
        toks = np.asarray([t for p in parts for t in p], dtype=np.int64)
        self._meta[doc_id] = _parse_meta(first.get("metadata"))
        if len(self._views) > 256:  # a bounded cache: documents can be large
            self._views.pop(next(iter(self._views)))
        self._views[doc_id] = toks
        return toks

    def document_meta(self, doc_id: int) -> dict[str, Any]:
        if doc_id not in self._meta and self.extended:
            self._meta[doc_id] = _parse_meta(self._fetch(doc_id, 0, 1).get("metadata"))
        return self._meta.get(doc_id, {})

    def document(self, doc_id: int) -> Document:
        return Document(text=self._tokenizer.decode(self.document_tokens(doc_id)),
                        meta=self.document_meta(doc_id))

    def doc_name(self, doc_id: int) -> str:
        """The server's ``CorpusIndex.doc_name``; from search results' metadata otherwise."""
        if self.extended:
            if doc_id not in self._names:
                self._fetch(doc_id, 0, 1)
            if doc_id in self._names:
                return self._names[doc_id]
        return doc_label(self.document_meta(doc_id), doc_id)

    def context(self, doc_id: int, token_offset: int, length: int,
                margin: int = 30) -> tuple[str, str, str]:
        """Decoded (before, match, after) around ``length`` tokens at ``token_offset``;
        empty strings from a server that serves no document text."""
        if self.extended and not self.max_text_tokens:
            return "", "", ""
        if self.extended and doc_id not in self._views \
                and length + 2 * margin <= self.max_text_tokens:
            start = max(0, token_offset - margin)
            ans = self._fetch(doc_id, start, token_offset + length + margin - start)
            self._meta.setdefault(doc_id, _parse_meta(ans.get("metadata")))
            toks = np.asarray(ans["token_ids"], dtype=np.int64)
            a, b = token_offset - start, token_offset - start + length
        else:
            toks = self.document_tokens(doc_id)
            a, b = token_offset, token_offset + length
        a = max(0, a)
        b = min(toks.size, b)
        dec = self._tokenizer.decode
        return (dec(toks[max(0, a - margin):a]), dec(toks[a:b]), dec(toks[b:b + margin]))


def _window(raw: Any) -> SpanWindow | None:
    """A span's most repeated window as the server sent it (None: none, or an older
    server that sends no windows)."""
    if not isinstance(raw, dict):
        return None
    return SpanWindow(int(raw["offset"]), int(raw["length"]), int(raw["count"]),
                      tuple(int(d["doc_ix"]) for d in raw.get("docs", [])))


def _parse_meta(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        return {"metadata": raw}
    return meta if isinstance(meta, dict) else {"metadata": meta}


class _InlineTokenizer(HFTokenizer):
    """An HF tokenizer received as ``tokenizer.json`` text from the server."""

    def __init__(self, text: str, name: str) -> None:
        import hashlib

        from tokenizers import Tokenizer as _Tok

        raw = text.encode("utf-8")
        self._tok = _Tok.from_str(text)
        self.file = Path("tokenizer.json")
        self.json_bytes = raw
        self.name = name
        self.fingerprint = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        self.vocab_size = self._tok.get_vocab_size(with_added_tokens=True)
        self._definition: str | None = None
