"""Property tests: every query equals a brute-force scan of the documents."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regurgitate.corpus.tokenizer import ByteTokenizer, Tokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

from .oracle import Oracle, exact_spans, oracle_coverage, tokenized

ALPHABET = "abcde "
texts = st.text(alphabet="abc", min_size=0, max_size=30)
corpora = st.lists(texts, min_size=1, max_size=8)
queries = st.text(alphabet=ALPHABET, min_size=1, max_size=25)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(tok: Tokenizer, corpus: list[str], query: str, shard_tokens: int,
           min_tokens: int, length_cap: int) -> None:
    docs = [Document(t, {"path": f"f{i}", "line": i}) for i, t in enumerate(corpus)]
    with tempfile.TemporaryDirectory() as tmp:
        build_index(docs, Path(tmp) / "ix", tok, shard_tokens=shard_tokens, batch_docs=3)
        ix = CorpusIndex.open(Path(tmp) / "ix", verify=True, tokenizer=tok)
        oracle = Oracle(tokenized(tok, corpus))
        q = [int(x) for x in tok.encode(query)]
        ix.length_cap = length_cap  # small caps force the jump logic on short queries
        assert ix.num_docs == len(corpus)
        assert ix.num_tokens == sum(len(d) for d in oracle.docs)
        assert ix.count(q) == len(oracle.occurrences(q))
        occ = [(o.doc_id, o.token_offset) for o in ix.occurrences(q, limit=5)]
        assert occ == oracle.occurrences(q)[:5]
        assert ix.longest_matches(q).tolist() == oracle.longest(q)
        spans = ix.maximal_spans(q, min_tokens=min_tokens, max_docs=3)
        got = [(s.token_start, s.token_end, s.count, s.documents) for s in spans]
        assert got == exact_spans(oracle, q, min_tokens, 3)
        for s in spans:  # every reported span occurs exactly `count` times
            assert s.count == len(oracle.occurrences(q[s.token_start:s.token_end])) > 0
        covered = {j for s in spans for j in range(s.token_start, s.token_end)}
        assert covered == oracle_coverage(oracle, q, min_tokens)
        for d, text in enumerate(corpus):
            assert ix.document(d).text == text
            assert ix.document_tokens(d).tolist() == oracle.docs[d]


@SETTINGS
@given(corpus=corpora, query=queries, shard_tokens=st.sampled_from([8, 30, 2**30]),
       min_tokens=st.integers(1, 6), length_cap=st.sampled_from([1, 2, 3, 64]))
def test_bytes_index_matches_oracle(corpus, query, shard_tokens, min_tokens,
                                    length_cap) -> None:
    _check(ByteTokenizer(), corpus, query, shard_tokens, min_tokens, length_cap)


@SETTINGS
@given(corpus=st.lists(st.text(alphabet="abcde ", max_size=30), min_size=1, max_size=8),
       query=queries, shard_tokens=st.sampled_from([8, 30, 2**30]),
       min_tokens=st.integers(1, 6), length_cap=st.sampled_from([1, 2, 3, 64]))
def test_wide_ids_index_matches_oracle(wide_tokenizer, corpus, query, shard_tokens,
                                       min_tokens, length_cap) -> None:
    _check(wide_tokenizer, corpus, query, shard_tokens, min_tokens, length_cap)


@SETTINGS
@given(corpus=corpora, seqs=st.lists(queries, min_size=0, max_size=4),
       min_tokens=st.integers(1, 8))
def test_batches_equal_single_queries(corpus, seqs, min_tokens) -> None:
    tok = ByteTokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        build_index([Document(t) for t in corpus], Path(tmp) / "ix", tok, shard_tokens=16)
        ix = CorpusIndex.open(Path(tmp) / "ix")
        ids = [tok.encode(s) for s in seqs]
        batch = ix.longest_matches_batch(ids)
        assert [b.tolist() for b in batch] == [ix.longest_matches(i).tolist() for i in ids]
        spans = ix.maximal_spans_batch(ids, min_tokens=min_tokens)
        assert spans == [ix.maximal_spans(i, min_tokens=min_tokens) for i in ids]


def test_long_repeated_text_spans(tmp_path: Path) -> None:
    """Long matches exercise the growing comparison blocks and the probe pruning."""
    rng = np.random.default_rng(1)
    words = ["alpha", "beta", "gamma", "delta", "eps"]
    corpus = [" ".join(rng.choice(words, 400)) for _ in range(5)]
    tok = ByteTokenizer()
    build_index([Document(t) for t in corpus], tmp_path / "ix", tok, shard_tokens=3000)
    ix = CorpusIndex.open(tmp_path / "ix")
    assert ix.num_shards >= 2
    ix.length_cap = 16
    planted = corpus[3][100:900]
    query = "zzz " + planted + " qqq " + corpus[0][:300]
    ids = tok.encode(query)
    spans = ix.maximal_spans(ids, min_tokens=50)
    oracle = Oracle(tokenized(tok, corpus))
    assert [(s.token_start, s.token_end, s.count) for s in spans] == \
        [(r[0], r[1], r[2]) for r in exact_spans(oracle, list(map(int, ids)), 50, 10)]
    assert any(s.tokens >= len(planted) and 3 in s.documents for s in spans)
    assert ix.longest_matches(ids).tolist() == oracle.longest(list(map(int, ids)))


def test_separator_and_unknown_ids_stop_matches(tmp_path: Path) -> None:
    tok = ByteTokenizer()
    build_index([Document("abcabc"), Document("xyz")], tmp_path / "ix", tok)
    ix = CorpusIndex.open(tmp_path / "ix")
    ids = [97, 98, 255, 99, 120, 121, 122, 300]
    assert ix.longest_matches(ids).tolist() == [2, 1, 0, 1, 3, 2, 1, 0]
    assert ix.count([97, 98, 255]) == 0
    assert ix.count([99, 120]) == 0  # "c" ends doc 0, "x" starts doc 1: never joined
