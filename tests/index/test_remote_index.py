"""A RemoteIndex against `regurgitate index serve`'s server on 127.0.0.1 answers exactly like
the local index; the infini-gram-only path finds the same spans; limits and outages give clear
errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from regurgitate.corpus.tokenizer import HFTokenizer
from regurgitate.errors import IndexCorruptError, IndexLimitError, RemoteIndexError
from regurgitate.index import CorpusIndex
from regurgitate.index.remote import RemoteIndex, RemoteSpec
from regurgitate.index.server import BackgroundServer, IndexService
from regurgitate.types import Document
from tests.executors.conftest import make_queries


@pytest.fixture(scope="module")
def server_url(local_index: CorpusIndex) -> Iterator[str]:
    with BackgroundServer(IndexService({"tiny": local_index})) as url:
        yield url


@pytest.fixture(scope="module")
def remote(server_url: str) -> Iterator[RemoteIndex]:
    with RemoteIndex.open(f"{server_url}?index=tiny") as idx:
        yield idx


def test_remote_spans_counts_and_documents_equal_the_local_index(
        local_index: CorpusIndex, remote: RemoteIndex, corpus: list[Document]) -> None:
    assert remote.extended
    assert remote.tokenizer.fingerprint == local_index.tokenizer.fingerprint
    assert remote.num_docs == local_index.num_docs == len(corpus)
    assert remote.num_tokens == local_index.num_tokens
    texts = make_queries(corpus)
    for m in (3, 8, 20):
        assert remote.find_spans(texts, min_tokens=m, max_docs=4) == \
            local_index.find_spans(texts, min_tokens=m, max_docs=4)
    seqs = [list(local_index.tokenizer.encode(t)) for t in texts]
    found = local_index.maximal_spans_batch(seqs, min_tokens=5, max_docs=50)
    assert any(s.count > 1 and len(s.documents) > 1 for spans in found for s in spans)
    assert remote.maximal_spans_batch(seqs, min_tokens=5, max_docs=50) == found
    pieces = [seq[s.piece_start:s.piece_end] for seq, spans in zip(seqs, found, strict=True)
              for s in spans]
    assert remote.occurrences_batch(pieces, limit=7) == \
        local_index.occurrences_batch(pieces, limit=7)
    assert remote.first_occurrences(pieces) == local_index.first_occurrences(pieces)
    for p in pieces[:5]:
        assert remote.count(p) == local_index.count(p)
        occ = local_index.occurrences(p, limit=1)[0]
        assert remote.context(occ.doc_id, occ.token_offset, len(p), margin=9) == \
            local_index.context(occ.doc_id, occ.token_offset, len(p), margin=9)
    for d in (0, 1, 2, len(corpus) - 1):
        assert list(remote.document_tokens(d)) == list(local_index.document_tokens(d))
        assert remote.document(d) == local_index.document(d)
        assert remote.doc_name(d) == local_index.doc_name(d)
    assert remote.info["num_docs"] == local_index.num_docs


def test_infini_gram_api_path_finds_the_same_spans(
        local_index: CorpusIndex, server_url: str, bpe: HFTokenizer,
        corpus: list[Document]) -> None:
    """Only the documented query types (count, search_docs), as against api.infini-gram.io."""
    spec = f"{server_url}?index=tiny&api=infini-gram&tokenizer={bpe.file}&max_query_tokens=40"
    with RemoteIndex.open(spec) as hosted:
        assert not hosted.extended
        texts = make_queries(corpus, seed=5, n=3)
        seqs = [list(local_index.tokenizer.encode(t)) for t in texts]
        want = local_index.maximal_spans_batch(seqs, min_tokens=6, max_docs=10)
        got = hosted.maximal_spans_batch(seqs, min_tokens=6, max_docs=10)
        for w_spans, g_spans, seq in zip(want, got, seqs, strict=True):
            assert len(g_spans) >= len(w_spans) or not w_spans
            if all(s.piece_end - s.piece_start < 40 for s in w_spans):
                # below the query limit the path is exact: same regions, pieces and counts
                assert [(s.token_start, s.token_end, s.piece_start, s.piece_end, s.count)
                        for s in g_spans] == \
                    [(s.token_start, s.token_end, s.piece_start, s.piece_end, s.count)
                     for s in w_spans]
                for g, w in zip(g_spans, w_spans, strict=True):
                    assert set(g.documents) <= set(local_index.maximal_spans(
                        seq[w.piece_start:w.piece_end], min_tokens=6, max_docs=100)[0]
                        .documents)
                    # the most repeated window, from the counts of the 6-token windows
                    assert g.window is not None and w.window is not None
                    assert (g.window.offset, g.window.count) == (w.window.offset,
                                                                 w.window.count)
                    at = w.token_start + w.window.offset
                    assert set(g.window.documents) <= {o.doc_id for o in local_index.occurrences(
                        seq[at:at + 6], limit=10_000)}
            else:  # longer matches come back as limit-sized windows inside local regions
                for g in g_spans:
                    assert g.piece_end - g.piece_start <= 40
                    assert any(w.token_start <= g.piece_start and g.piece_end <= w.token_end
                               for w in w_spans)
        # windows longer than the spans' threshold are counted one query each
        wide = hosted.maximal_spans_batch(seqs, min_tokens=6, max_docs=3, window_tokens=12)
        local = local_index.maximal_spans_batch(seqs, min_tokens=6, max_docs=3,
                                                window_tokens=12)
        for g_spans, w_spans in zip(wide, local, strict=True):
            if all(s.piece_end - s.piece_start < 40 for s in w_spans):
                assert [(s.window.offset, s.window.count) if s.window else None
                        for s in g_spans] == \
                    [(s.window.offset, s.window.count) if s.window else None for s in w_spans]
        with pytest.raises(IndexLimitError, match="no span that long"):
            hosted.maximal_spans(seqs[0], min_tokens=41)
        with pytest.raises(IndexLimitError, match="does not list documents"):
            _ = hosted.num_docs


def test_a_query_over_the_server_limit_is_a_clear_error(local_index: CorpusIndex) -> None:
    with BackgroundServer(IndexService({"tiny": local_index}, max_query_tokens=30)) as url, \
            RemoteIndex.open(f"{url}?index=tiny") as idx:
        ids = list(local_index.tokenizer.encode("alpha beta gamma " * 20))
        with pytest.raises(IndexLimitError, match="at most 30"):
            idx.maximal_spans(ids, min_tokens=5)
        assert idx.maximal_spans(ids[:30], min_tokens=5) == \
            local_index.maximal_spans(ids[:30], min_tokens=5)


def test_unknown_index_and_unreachable_server(server_url: str) -> None:
    with pytest.raises(RemoteIndexError, match="Invalid index"):
        RemoteIndex.open(f"{server_url}?index=nope")
    with httpx.Client() as c:
        about = c.get(server_url).json()
        assert about["indexes"] == ["tiny"] and about["auth"] == "none"
        assert about["document_text"]["served"] is True
        bad = c.post(server_url, json={"index": "tiny", "query_type": "count"})
        assert bad.status_code == 400 and "query" in bad.json()["error"]
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as s:
        port = s.server_address[1]  # bound, then closed: nothing listens there
    with pytest.raises(RemoteIndexError, match="unreachable") as caught:
        RemoteIndex.open(f"http://127.0.0.1:{port}?index=tiny&retries=1")
    # an unreachable server is not a corrupt index: its own exit code, no "--verify" advice
    assert not isinstance(caught.value, IndexCorruptError) and caught.value.exit_code == 8
    with pytest.raises(Exception, match="names no index"):
        RemoteSpec.parse(server_url)


class _Flaky:
    """A real HTTP proxy in front of the index server that fails every other request with 503
    (then 429 with Retry-After), as a busy hosted API does."""

    def __init__(self, target: str) -> None:
        self.calls = 0
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                flaky.calls += 1
                if flaky.calls % 2 == 1:
                    status = 503 if flaky.calls % 4 == 1 else 429
                    raw = json.dumps({"error": "busy"}).encode()
                    self.send_response(status)
                    self.send_header("Retry-After", "0")
                else:
                    resp = httpx.post(target, content=body,
                                      headers={"Content-Type": "application/json"})
                    raw = resp.content
                    self.send_response(resp.status_code)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_transient_failures_are_retried(local_index: CorpusIndex, server_url: str,
                                        corpus: list[Document]) -> None:
    texts = make_queries(corpus, seed=9, n=4)
    with _Flaky(server_url) as url, \
            RemoteIndex.open(f"{url}?index=tiny&concurrency=1") as idx:
        assert idx.find_spans(texts, min_tokens=5) == local_index.find_spans(texts, min_tokens=5)
    with _Flaky(server_url) as url, pytest.raises(RemoteIndexError, match="503"):
        RemoteIndex.open(f"{url}?index=tiny&retries=0")
