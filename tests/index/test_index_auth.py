"""The index server behind a key, against a real server on 127.0.0.1: no key or a wrong key
gets 401, the right key answers, the remote index with its key answers like the local index;
a host beyond loopback without a key is refused (without binding it); with document text
turned off no answer holds any."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from regurgitate.errors import ConfigError, IndexLimitError, RemoteIndexError
from regurgitate.index import CorpusIndex
from regurgitate.index.remote import RemoteIndex
from regurgitate.index.server import BackgroundServer, IndexService, make_server
from regurgitate.serving import check_exposure, is_loopback
from regurgitate.types import Document
from tests.executors.conftest import make_queries

RunCli = Callable[[list[str]], tuple[int, str, str]]  # the fixture in tests/conftest.py

KEY = "idx-test-key-7f3a9c0e51d2"
ENV = "REGURGITATE_TEST_INDEX_KEY"


@pytest.fixture(scope="module")
def keyed_url(local_index: CorpusIndex) -> Iterator[str]:
    with BackgroundServer(IndexService({"tiny": local_index}), api_key=KEY) as url:
        yield url


def _count_query(index: CorpusIndex) -> dict[str, Any]:
    ids = [int(t) for t in index.tokenizer.encode("alpha beta")]
    return {"index": "tiny", "query_type": "count", "query_ids": ids}


def test_requests_without_the_right_key_get_401(local_index: CorpusIndex,
                                                keyed_url: str) -> None:
    query = _count_query(local_index)
    wrong = [None, f"Bearer {KEY}x", f"Bearer {KEY[:-1]}", f"bearer {KEY}", KEY,
             f"Basic {KEY}", "Bearer  x"]
    with httpx.Client() as c:
        for header in wrong:
            headers = {} if header is None else {"Authorization": header}
            for resp in (c.post(keyed_url, json=query, headers=headers),
                         c.post(keyed_url, json=[query], headers=headers),
                         c.get(keyed_url, headers=headers)):
                assert resp.status_code == 401, header
                assert "Bearer" in resp.json()["error"] and KEY not in resp.text
                assert "count" not in resp.json() and "indexes" not in resp.json()
        ok = c.post(keyed_url, json=query, headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
        assert ok.json()["count"] == local_index.count(query["query_ids"]) > 0
        about = c.get(keyed_url, headers={"Authorization": f"Bearer {KEY}"}).json()
        assert about["indexes"] == ["tiny"] and about["auth"] == "bearer"
        assert KEY not in json.dumps(about)


def test_the_remote_index_with_its_key_answers_like_the_local_index(
        local_index: CorpusIndex, keyed_url: str, corpus: list[Document], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, KEY)
    key_file = tmp_path / "index.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    texts = make_queries(corpus, seed=7, n=6)
    seqs = [list(local_index.tokenizer.encode(t)) for t in texts]
    for param in (f"api_key_env={ENV}", f"api_key_file={key_file}"):
        with RemoteIndex.open(f"{keyed_url}?index=tiny&{param}") as remote:
            assert remote.num_docs == local_index.num_docs
            assert remote.find_spans(texts, min_tokens=5, max_docs=4) == \
                local_index.find_spans(texts, min_tokens=5, max_docs=4)
            found = local_index.maximal_spans_batch(seqs, min_tokens=5, max_docs=20)
            assert any(found)
            assert remote.maximal_spans_batch(seqs, min_tokens=5, max_docs=20) == found
            pieces = [seq[s.piece_start:s.piece_end]
                      for seq, spans in zip(seqs, found, strict=True) for s in spans]
            assert remote.occurrences_batch(pieces, limit=5) == \
                local_index.occurrences_batch(pieces, limit=5)
            occ = local_index.occurrences(pieces[0], limit=1)[0]
            assert remote.context(occ.doc_id, occ.token_offset, len(pieces[0])) == \
                local_index.context(occ.doc_id, occ.token_offset, len(pieces[0]))
            assert remote.document(occ.doc_id) == local_index.document(occ.doc_id)
            # the key is in no description of the index (manifests and run records use these)
            assert KEY not in json.dumps(remote.info) + remote.path


def test_the_client_without_or_with_a_wrong_key_is_told_so(
        keyed_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RemoteIndexError, match="needs an API key") as caught:
        RemoteIndex.open(f"{keyed_url}?index=tiny")
    assert "api_key_env" in str(caught.value)
    monkeypatch.setenv(ENV, "not-the-key")
    with pytest.raises(RemoteIndexError, match="refused the API key") as caught:
        RemoteIndex.open(f"{keyed_url}?index=tiny&api_key_env={ENV}")
    assert "not-the-key" not in str(caught.value)
    monkeypatch.delenv(ENV)
    with pytest.raises(ConfigError, match=f"{ENV} is empty or unset"):
        RemoteIndex.open(f"{keyed_url}?index=tiny&api_key_env={ENV}")
    with pytest.raises(ConfigError, match="must not hold the API key"):
        RemoteIndex.open(f"{keyed_url}?index=tiny&api_key={KEY}")


def test_check_on_the_command_line_sends_the_key_and_never_prints_it(
        local_index: CorpusIndex, keyed_url: str, corpus: list[Document], tmp_path: Path,
        run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    text = tmp_path / "gen.txt"
    text.write_text(make_queries(corpus, seed=3, n=1)[0], encoding="utf-8")
    monkeypatch.setenv(ENV, KEY)
    args = ["check", str(text), "--min-tokens", "6", "--json"]
    remote = run_cli([*args, "--index", f"{keyed_url}?index=tiny&api_key_env={ENV}"])
    local = run_cli([*args, "--index", str(local_index.path)])
    assert remote[0] == local[0] == 0
    assert json.loads(remote[1])["spans"] == json.loads(local[1])["spans"] != []
    refused = run_cli([*args, "--index", f"{keyed_url}?index=tiny"])
    assert refused[0] == 8 and "needs an API key" in refused[2]
    assert "Traceback" not in refused[2]
    assert all(KEY not in out for out in (*remote[1:], *refused[1:]))


def test_beyond_loopback_without_a_key_is_refused_before_binding(
        local_index: CorpusIndex, run_cli: RunCli, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"):
        assert is_loopback(host)
        check_exposure(host, None)
    for host in ("0.0.0.0", "::", "", "192.168.1.20", "10.0.0.1", "example.org"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="--api-key-env"):
            check_exposure(host, None)
        check_exposure(host, KEY)  # a key makes it acceptable
        check_exposure(host, None, insecure_no_auth=True)  # as does asking explicitly
    # the library refuses before it binds anything
    with pytest.raises(ConfigError, match="--insecure-no-auth"):
        make_server(IndexService({"tiny": local_index}), "0.0.0.0", 0)
    # the command refuses before it opens the index (a missing directory would fail later)
    missing = str(tmp_path / "no-such-index")
    code, _, err = run_cli(["index", "serve", missing, "--host", "0.0.0.0", "--port", "0"])
    assert code == 2 and "--api-key-env" in err and "--insecure-no-auth" in err
    assert "Traceback" not in err
    monkeypatch.delenv(ENV, raising=False)
    code, _, err = run_cli(["index", "serve", missing, "--api-key-env", ENV, "--port", "0"])
    assert code == 2 and f"{ENV} is empty or unset" in err
    monkeypatch.setenv(ENV, KEY)
    code, _, err = run_cli(["index", "serve", missing, "--api-key-env", ENV,
                            "--insecure-no-auth", "--host", "0.0.0.0", "--port", "0"])
    assert code == 2 and "exclude each other" in err and KEY not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(args: list[str], env: dict[str, str] | None = None) -> tuple[str, str]:
    """Start `index serve ARGS` on a free loopback port, wait for GET / to answer (any
    status), stop it; (its stderr, the first GET's body)."""
    import os

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "regurgitate.cli.main", "index", "serve",
                             *args, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {}), "COLUMNS": "200"})
    try:
        for _ in range(400):
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/").text
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    pytest.fail(proc.communicate()[1])
                time.sleep(0.05)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    return err, body


def test_the_serve_command_requires_its_key_and_warns_when_open(
        local_index: CorpusIndex) -> None:
    err, body = _serve([f"tiny={local_index.path}", "--api-key-env", ENV], {ENV: KEY})
    assert "key required" in err and KEY not in err
    assert "Bearer" in json.loads(body)["error"]
    err, body = _serve([f"tiny={local_index.path}", "--insecure-no-auth"])
    assert "warning" in err and "--insecure-no-auth" in err
    assert json.loads(body)["auth"] == "none"


def _int_lists(value: Any) -> Iterator[list[int]]:
    if isinstance(value, list):
        if value and all(isinstance(v, int) for v in value):
            yield value
        for v in value:
            yield from _int_lists(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _int_lists(v)


def _holds(answer: Any, needle: list[int], text: str) -> bool:
    """Whether an answer holds the token run ``needle`` or its text anywhere."""
    raw = json.dumps(answer)
    n = len(needle)
    return text in raw or any(seq[i:i + n] == needle for seq in _int_lists(answer)
                              for i in range(len(seq) - n + 1))


def _every_query(index: CorpusIndex, ids: list[int], doc: int) -> list[dict[str, Any]]:
    base = {"index": "tiny", "query_ids": ids}
    return [{**base, "query_type": t} for t in
            ("count", "prob", "ntd", "infgram_prob", "occurrences")] + [
        {**base, "query_type": "search_docs", "maxnum": 10, "max_disp_len": 10_000},
        {**base, "query_type": "attribute", "min_len": 3, "max_docs": 100},
        {"index": "tiny", "query_type": "get_doc_by_ix", "doc_ix": doc},
        {"index": "tiny", "query_type": "get_doc_by_ix", "doc_ix": doc, "offset": 5,
         "max_disp_len": 50},
        {"index": "tiny", "query_type": "info"}]


@pytest.mark.parametrize("served", [True, False])
def test_text_turned_off_leaves_no_document_text_in_any_answer(
        local_index: CorpusIndex, served: bool) -> None:
    """The text next to a match (and the document's start) appear in answers when text is
    served, and in none when it is turned off; counts and ids stay."""
    doc = 4
    toks = [int(t) for t in local_index.document_tokens(doc)]
    assert len(toks) > 40
    ids = toks[10:16]
    secrets = [toks[16:24], toks[2:10]]  # after the match, and elsewhere in the document
    service = IndexService({"tiny": local_index}, max_text_tokens=10_000 if served else 0)
    headers = {"Authorization": f"Bearer {KEY}"}
    with BackgroundServer(service, api_key=KEY) as url, httpx.Client(headers=headers) as c:
        queries = _every_query(local_index, ids, doc)
        answers = [c.post(url, json=q).json() for q in queries]
        answers.append(c.post(url, json=queries).json())
        about = c.get(url).json()
    assert about["document_text"]["served"] is served
    leaked = [q["query_type"] for q, a in zip(queries, answers, strict=False)
              if any(_holds(a, s, local_index.tokenizer.decode(s)) for s in secrets)]
    by_type = {q["query_type"]: a for q, a in zip(queries, answers, strict=False)}
    assert by_type["count"]["count"] == local_index.count(ids) > 0
    assert doc in [d for d, _ in by_type["occurrences"]["occurrences"]]
    assert by_type["search_docs"]["cnt"] == local_index.count(ids)
    assert doc in [d["doc_ix"] for d in by_type["search_docs"]["documents"]]
    assert by_type["get_doc_by_ix"]["doc_len"] == len(toks)
    if served:
        assert {"search_docs", "get_doc_by_ix"} <= set(leaked)
    else:
        assert leaked == [] and not any(_holds(answers[-1], s, local_index.tokenizer.decode(s))
                                       for s in secrets)
        assert "no document text" in by_type["ntd"]["error"]


def test_the_remote_index_over_a_server_without_text(
        local_index: CorpusIndex, corpus: list[Document], tmp_path: Path,
        run_cli: RunCli) -> None:
    service = IndexService({"tiny": local_index}, max_text_tokens=0)
    texts = make_queries(corpus, seed=9, n=4)
    gen = tmp_path / "gen.txt"
    gen.write_text(texts[0], encoding="utf-8")
    args = ["check", str(gen), "--min-tokens", "6", "--json"]
    with BackgroundServer(service) as url:
        got = run_cli([*args, "--index", f"{url}?index=tiny"])
    want = run_cli([*args, "--index", str(local_index.path)])
    assert got[0] == want[0] == 0, got[2]
    assert json.loads(got[1])["spans"] == json.loads(want[1])["spans"] != []
    with BackgroundServer(service) as url, RemoteIndex.open(f"{url}?index=tiny") as remote:
        # verdicts with sources by id are unchanged
        assert remote.find_spans(texts, min_tokens=5, max_docs=4) == \
            local_index.find_spans(texts, min_tokens=5, max_docs=4)
        assert remote.doc_name(3) == local_index.doc_name(3)
        assert remote.context(3, 2, 4) == ("", "", "")
        with pytest.raises(IndexLimitError, match="serves no document text"):
            remote.document_tokens(3)


def test_a_text_limit_caps_every_answer(local_index: CorpusIndex) -> None:
    service = IndexService({"tiny": local_index}, max_text_tokens=8)
    doc = 4
    toks = [int(t) for t in local_index.document_tokens(doc)]
    with BackgroundServer(service) as url, httpx.Client() as c:
        answers = [c.post(url, json=q).json()
                   for q in _every_query(local_index, toks[10:16], doc)]
        with RemoteIndex.open(f"{url}?index=tiny") as remote:
            # paged through 8 tokens at a time, and contexts read from those pages
            assert list(remote.document_tokens(doc)) == toks
            assert remote.context(doc, 10, 6) == local_index.context(doc, 10, 6)
    assert answers[-3]["disp_len"] == 8 and answers[-2]["disp_len"] == 8
    for a in answers:  # the query's own ids (6) are echoed; documents give at most 8 tokens
        for d in a.get("documents", [a]):
            assert len(d.get("token_ids", [])) <= 8
