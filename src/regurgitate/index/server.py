"""Serve local indexes over HTTP in the request/response shape of infini-gram's public API.

One endpoint, ``POST /`` with a JSON object (infini-gram's API, ``api.infini-gram.io``)::

    {"index": NAME, "query_type": TYPE, "query": "text"}      or  "query_ids": [ids...]

and ``GET /`` describes the server: ``{"server": "regurgitate", "indexes": [names],
"auth": "bearer" | "none", "document_text": {"served": bool, "max_tokens": N}}``. Every
answer is a JSON object; a failed query is ``{"error": "..."}`` (HTTP 400 for a malformed
request or unknown index/query type, 200 for a query the engine refuses, as infini-gram
does). Successful answers carry ``token_ids``,
``tokens`` (empty here: tokens are not rendered) and ``latency`` (ms).

Query types of infini-gram's API served here: ``count`` (``count``, ``approx``), ``prob``
(``prompt_cnt``, ``cont_cnt``, ``prob``; -1.0 when the context never occurs), ``ntd``
(``prompt_cnt``, ``result_by_token_id``, ``approx``; ``max_support`` <= 1000),
``infgram_prob`` (+ ``suffix_len``),
``search_docs`` (``cnt``, ``approx``, ``idxs``, ``documents`` with ``doc_ix``, ``doc_len``,
``disp_len``, ``needle_offset``, ``metadata``, ``token_ids``; ``maxnum`` <= 10, ``max_disp_len`` <=
10000). Unlike the hosted service, ``search_docs`` is deterministic: the first ``maxnum``
occurrences in corpus order. ``find``/``get_doc_by_rank`` (suffix-array ranks) are not served:
ranks are an internal detail of each shard.

Extensions (regurgitate's, same shape; what :class:`~regurgitate.index.remote.RemoteIndex` uses):

- ``info``: counts, tokenizer description (and its ``tokenizer.json``), limits, query types;
- ``attribute``: maximal spans of ``query_ids`` of at least ``min_len`` tokens (infini-gram's
  engine ``attribute``): ``spans`` of ``{l, r, length, count, docs: [{doc_ix}], region}`` where
  ``[l, r)`` is the exact match whose ``count``/``docs`` are given and ``region`` the union of
  overlapping matches it belongs to (see ``CorpusIndex.maximal_spans``); ``max_docs`` <= 100;
  each span's ``window`` is its most repeated window of ``window_len`` tokens (default
  ``min_len``; 0: none), ``{offset, length, count, docs: [{doc_ix}]}`` (``offset`` in tokens
  from ``l``), or null for a span shorter than that;
- ``occurrences``: ``occurrences`` ``[[doc_ix, token_offset], ...]`` in corpus order
  (``maxnum`` <= 1000);
- ``get_doc_by_ix``: ``doc_ix`` with optional ``offset``/``max_disp_len``: a document's tokens,
  metadata and ``name`` (``CorpusIndex.doc_name``).

Access, body limit, timeouts and the errors the protocol itself causes (401, 411, 413, a body
that is not JSON) are :mod:`regurgitate.serving`'s, as for every regurgitate server: with an
API key (``make_server(api_key=...)``; ``index serve --api-key-env VAR`` or ``--api-key-file
PATH``) every request needs ``Authorization: Bearer <key>`` (compared in constant time) and is
otherwise answered 401. A key is needed to listen beyond loopback
(:func:`regurgitate.serving.check_exposure`), unless serving open is asked for explicitly
(``--insecure-no-auth``).

Document text: ``max_text_tokens`` caps the document tokens of each answer (``search_docs``
windows, ``get_doc_by_ix``); 0 serves none: those answers keep counts, ids, lengths and
metadata with empty ``token_ids``, and ``ntd`` (which reads the tokens after each match) is
refused. The cap is per answer: a client with the key can still page through a document
when it is above 0.

A JSON *array* of such objects is answered by an array of answers (at most ``MAX_BATCH``).
Query lengths are capped at ``MAX_QUERY_TOKENS`` (infini-gram's hosted default is 500; ours
is larger because verbatim spans of generations can be long).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from regurgitate.errors import ConfigError, QueryError, RegurgitateError
from regurgitate.index.open import open_local
from regurgitate.index.query import CorpusIndex
from regurgitate.serving import JSONHandler, Server, bind_server

MAX_QUERY_TOKENS = 10_000
MAX_BATCH = 512
MAXNUM = 10
MAX_OCCURRENCES = 1000
MAX_DOCS = 100
MAX_SUPPORT = 1000
MAX_DISP_LEN = 10_000

STANDARD_TYPES = ("count", "prob", "ntd", "infgram_prob", "search_docs")
EXTENSION_TYPES = ("info", "attribute", "occurrences", "get_doc_by_ix")


def _int(data: Mapping[str, Any], key: str, default: int | None, lo: int, hi: int) -> int:
    value = data.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int) \
            or not lo <= value <= hi:
        raise QueryError(f"{key} must be an integer in [{lo}, {hi}]!")
    return value


@dataclass
class IndexService:
    """Answers infini-gram-shaped queries against named local indexes (thread-safe reads)."""

    indexes: dict[str, CorpusIndex]
    max_query_tokens: int = MAX_QUERY_TOKENS
    #: most document tokens one answer holds (0: no document text at all)
    max_text_tokens: int = MAX_DISP_LEN
    #: one query at a time: an index's search helpers are not written for concurrent use
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, specs: list[str], max_query_tokens: int = MAX_QUERY_TOKENS,
             max_text_tokens: int = MAX_DISP_LEN) -> IndexService:
        """``DIR`` (named after the directory) or ``NAME=DIR`` per index."""
        if not 0 <= max_text_tokens <= MAX_DISP_LEN:
            raise ConfigError(f"--max-text-tokens must be in [0, {MAX_DISP_LEN}]")
        indexes: dict[str, CorpusIndex] = {}
        for spec in specs:
            name, eq, path = spec.partition("=")
            if not eq:
                path, name = spec, Path(spec).resolve().name
            if not name or name in indexes:
                raise ConfigError(f"index name '{name}' is empty or given twice",
                                  hint="name indexes explicitly: NAME=DIR")
            indexes[name] = open_local(path)
        if not indexes:
            raise ConfigError("give at least one index directory to serve")
        return cls(indexes, max_query_tokens, max_text_tokens)

    @property
    def serves_text(self) -> bool:
        return self.max_text_tokens > 0

    def describe(self, *, auth: bool) -> dict[str, Any]:
        """The answer to ``GET /``."""
        return {"server": "regurgitate", "indexes": sorted(self.indexes),
                "auth": "bearer" if auth else "none",
                "document_text": {"served": self.serves_text,
                                  "max_tokens": self.max_text_tokens}}

    # -- request handling ------------------------------------------------------------------

    def handle(self, payload: Any) -> tuple[int, Any]:
        """(HTTP status, JSON answer) of one request object or a batch (array)."""
        if isinstance(payload, list):
            if len(payload) > MAX_BATCH:
                return 400, {"error": f"Please send at most {MAX_BATCH} queries per batch!"}
            return 200, [self.handle_one(p)[1] for p in payload]
        return self.handle_one(payload)

    def handle_one(self, data: Any) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        try:
            if not isinstance(data, dict):
                raise QueryError("the request must be a JSON object", 400)
            name = data.get("index", data.get("corpus"))
            qtype = data.get("query_type")
            if name not in self.indexes:
                raise QueryError(f"Invalid index: {name}", 400)
            handler = self._handlers().get(str(qtype))
            if handler is None:
                raise QueryError(f"Invalid query_type: {qtype}", 400)
            index = self.indexes[str(name)]
            ids = self._query_ids(index, data, required=qtype not in ("info", "get_doc_by_ix"))
            with self.lock:
                result = handler(index, ids, data)
        except QueryError as exc:
            return exc.status, {"error": str(exc)}
        except RegurgitateError as exc:
            return 200, {"error": exc.message}
        result.setdefault("token_ids", ids)
        result.setdefault("tokens", [])
        result["latency"] = (time.perf_counter() - started) * 1000
        return 200, result

    def _handlers(self) -> dict[str, Callable[[CorpusIndex, list[int], dict[str, Any]],
                                               dict[str, Any]]]:
        return {"count": self._count, "prob": self._prob, "ntd": self._ntd,
                "infgram_prob": self._infgram_prob, "search_docs": self._search_docs,
                "info": self._info, "attribute": self._attribute,
                "occurrences": self._occurrences, "get_doc_by_ix": self._get_doc}

    def _query_ids(self, index: CorpusIndex, data: dict[str, Any], *,
                   required: bool) -> list[int]:
        has_q, has_ids = "query" in data, "query_ids" in data
        if has_q and has_ids:
            raise QueryError("Exactly one of query and query_ids must be present!", 400)
        if not has_q and not has_ids:
            if required:
                raise QueryError("Exactly one of query and query_ids must be present!", 400)
            return []
        if has_q:
            if not isinstance(data["query"], str):
                raise QueryError("query must be a string!")
            ids = [int(t) for t in index.tokenizer.encode(data["query"])]
        else:
            ids = data["query_ids"]
            if not isinstance(ids, list) or not all(
                    isinstance(t, int) and not isinstance(t, bool) for t in ids):
                raise QueryError("query_ids must be a list of integers!")
        if len(ids) > self.max_query_tokens:
            raise QueryError(f"Please limit your input to <= {self.max_query_tokens} tokens!")
        if any(t < 0 or t >= index.tokenizer.vocab_size for t in ids):
            raise QueryError("Some item(s) in your query_ids are out-of-range!")
        return list(ids)

    # -- infini-gram's query types ---------------------------------------------------------

    @staticmethod
    def _count_of(index: CorpusIndex, ids: list[int]) -> int:
        return index.num_tokens if not ids else index.count(ids)

    def _count(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
               ) -> dict[str, Any]:
        return {"count": self._count_of(index, ids), "approx": False}

    def _prob(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
              ) -> dict[str, Any]:
        if not ids:
            raise QueryError("Please provide a non-empty query!")
        prompt_cnt = self._count_of(index, ids[:-1])
        cont_cnt = index.count(ids)
        return {"prompt_cnt": prompt_cnt, "cont_cnt": cont_cnt,
                "prob": cont_cnt / prompt_cnt if prompt_cnt else -1.0}

    def _ntd(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
             ) -> dict[str, Any]:
        support = _int(data, "max_support", MAX_SUPPORT, 1, MAX_SUPPORT)
        if not self.serves_text:
            raise QueryError("this server serves no document text, and ntd reads the tokens "
                             "that follow each match")
        if not ids:
            raise QueryError("this server needs a non-empty context for ntd")
        prompt_cnt = index.count(ids)
        occs = index.occurrences(ids, limit=support)
        counts: dict[int, int] = {}
        for occ in occs:
            toks = index.document_tokens(occ.doc_id)
            nxt = occ.token_offset + len(ids)
            if nxt < toks.size:
                counts[int(toks[nxt])] = counts.get(int(toks[nxt]), 0) + 1
        total = sum(counts.values())
        dist = {str(t): {"token": index.tokenizer.decode([t]), "cont_cnt": c,
                         "prob": c / total} for t, c in sorted(counts.items())}
        return {"prompt_cnt": prompt_cnt, "result_by_token_id": dist,
                "approx": prompt_cnt > support}

    def _infgram_prob(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
                      ) -> dict[str, Any]:
        if not ids:
            raise QueryError("Please provide a non-empty query!")
        prompt = ids[:-1]
        # the count of a suffix only grows as it shortens: binary search the longest found one
        lo, hi = 0, len(prompt)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if index.count(prompt[len(prompt) - mid:]) > 0:
                lo = mid
            else:
                hi = mid - 1
        out = self._prob(index, prompt[len(prompt) - lo:] + ids[-1:], data)
        out["suffix_len"] = lo
        return out

    def _search_docs(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
                     ) -> dict[str, Any]:
        maxnum = _int(data, "maxnum", 1, 1, MAXNUM)
        disp = min(_int(data, "max_disp_len", 1000, 1, MAX_DISP_LEN), self.max_text_tokens)
        if not ids:
            raise QueryError("Please provide a non-empty query!")
        cnt = index.count(ids)
        docs = []
        for occ in index.occurrences(ids, limit=maxnum):
            toks = index.document_tokens(occ.doc_id)
            start = max(0, min(occ.token_offset - max(0, (disp - len(ids)) // 2),
                               toks.size - disp))
            window = toks[start:start + disp] if disp else toks[:0]
            docs.append({"doc_ix": occ.doc_id, "doc_len": int(toks.size),
                         "disp_len": int(window.size),
                         "needle_offset": occ.token_offset - start if disp else 0,
                         "metadata": json.dumps(index.document_meta(occ.doc_id)),
                         "token_ids": [int(t) for t in window], "blocked": False})
        return {"cnt": cnt, "approx": False, "idxs": list(range(len(docs))), "documents": docs}

    # -- extensions --------------------------------------------------------------------------

    def _info(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]) -> dict[str, Any]:
        tok = index.tokenizer
        raw = getattr(tok, "json_bytes", None)
        return {
            "server": "regurgitate", "num_docs": index.num_docs,
            "num_tokens": index.num_tokens, "num_shards": index.num_shards,
            "tokenizer": tok.describe(),
            "tokenizer_json": raw.decode("utf-8") if isinstance(raw, bytes) else None,
            "info": json.loads(json.dumps(index.info, default=str)),
            "limits": {"max_query_tokens": self.max_query_tokens, "max_batch": MAX_BATCH,
                       "maxnum": MAXNUM, "max_occurrences": MAX_OCCURRENCES,
                       "max_docs": MAX_DOCS, "max_disp_len": MAX_DISP_LEN,
                       "max_text_tokens": self.max_text_tokens},
            "document_text": {"served": self.serves_text, "max_tokens": self.max_text_tokens},
            "query_types": list(STANDARD_TYPES + EXTENSION_TYPES),
        }

    def _attribute(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
                   ) -> dict[str, Any]:
        min_len = _int(data, "min_len", None, 1, 1 << 30)
        max_docs = _int(data, "max_docs", 10, 1, MAX_DOCS)
        window = _int(data, "window_len", min_len, 0, 1 << 30)
        spans = index.maximal_spans(ids, min_tokens=min_len, max_docs=max_docs,
                                    window_tokens=window or None,
                                    windows=window > 0) if ids else []
        return {"spans": [
            {"l": s.piece_start, "r": s.piece_end, "length": s.piece_end - s.piece_start,
             "count": s.count, "docs": [{"doc_ix": d} for d in s.documents],
             "region": [s.token_start, s.token_end],
             "window": None if s.window is None else {
                 "offset": s.window.offset, "length": s.window.tokens,
                 "count": s.window.count, "docs": [{"doc_ix": d} for d in s.window.documents]}}
            for s in spans]}

    def _occurrences(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
                     ) -> dict[str, Any]:
        maxnum = _int(data, "maxnum", 100, 1, MAX_OCCURRENCES)
        occs = index.occurrences(ids, limit=maxnum) if ids else []
        return {"occurrences": [[o.doc_id, o.token_offset] for o in occs]}

    def _get_doc(self, index: CorpusIndex, ids: list[int], data: dict[str, Any]
                 ) -> dict[str, Any]:
        doc_ix = _int(data, "doc_ix", None, 0, max(0, index.num_docs - 1))
        offset = _int(data, "offset", 0, 0, 1 << 62)
        disp = min(_int(data, "max_disp_len", MAX_DISP_LEN, 1, MAX_DISP_LEN),
                   self.max_text_tokens)
        toks = index.document_tokens(doc_ix)
        window = toks[offset:offset + disp] if disp else toks[:0]
        return {"doc_ix": doc_ix, "doc_len": int(toks.size), "disp_len": int(window.size),
                "offset": offset, "metadata": json.dumps(index.document_meta(doc_ix)),
                "name": index.doc_name(doc_ix),
                "token_ids": np.asarray(window, dtype=np.int64).tolist()}


#: what the index server exposes, for the exposure rule's messages
SERVES = "the indexes (and their corpus text)"


class _Handler(JSONHandler):
    """infini-gram's routes (``GET /``, ``POST /``); keys, body limit and errors are the
    serving layer's, in infini-gram's error shape ``{"error": "..."}``."""

    auth_realm = "regurgitate index"

    @property
    def app(self) -> IndexService:
        return cast(IndexService, self.server.app)

    def error_body(self, status: int, message: str, kind: str) -> Any:
        return {"error": message}

    def on_get(self) -> None:
        self.send_json(200, self.app.describe(auth=self.server.api_key is not None))

    def on_post(self, body: Any) -> None:
        status, answer = self.app.handle(body)
        self.send_json(status, answer)


def make_server(service: IndexService, host: str = "127.0.0.1", port: int = 0, *,
                api_key: str | None = None, insecure_no_auth: bool = False) -> Server:
    """A server (bound, not yet serving) answering with ``service``; ``port=0`` picks one.

    With ``api_key`` every request needs ``Authorization: Bearer <key>`` (else 401). A host
    beyond loopback needs a key or ``insecure_no_auth`` (checked before binding)."""
    return bind_server(_Handler, host, port, app=service, api_key=api_key,
                       insecure_no_auth=insecure_no_auth, serves=SERVES)


class BackgroundServer:
    """Serve in a thread (for tests and embedding): ``with BackgroundServer(svc) as url:``."""

    def __init__(self, service: IndexService, host: str = "127.0.0.1", port: int = 0, *,
                 api_key: str | None = None) -> None:
        self.server = make_server(service, host, port, api_key=api_key)

    @property
    def url(self) -> str:
        return self.server.base_url

    def __enter__(self) -> str:
        self.server.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
