"""Exact spans: every reported span occurs exactly `count` times, with its own documents."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.index.spans import covered_length, union_regions
from regurgitate.types import Document

from .oracle import Oracle, exact_spans, oracle_coverage, tokenized


def _letters(rng: random.Random, n: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def test_spliced_passages_are_two_spans_with_their_own_counts(tmp_path: Path) -> None:
    """64 tokens of a passage seen 10x, then a passage seen 100x that begins with the last
    6 of those tokens: two spans, each with its own count and sources, overlapping by 6."""
    rng = random.Random(7)
    a = _letters(rng, 120, "abcdefghijklm")
    b = a[58:64] + _letters(rng, 54, "nopqrstuvwxyz")
    docs = [Document(f"<{i}>" + a + f"[{i}]", {"id": f"ten-{i}"}) for i in range(10)]
    docs += [Document(f"#{i}#" + b + f"({i})", {"id": f"hundred-{i}"}) for i in range(100)]
    docs += [Document(_letters(rng, 200, "ABCDEFGH")) for _ in range(20)]
    tok = ByteTokenizer()
    build_index(docs, tmp_path / "ix", tok)
    ix = CorpusIndex.open(tmp_path / "ix")
    text = a[:64] + b[6:]
    spans = ix.find_spans([text], min_tokens=50, max_docs=200)[0]
    assert [(s.start, s.end, s.count) for s in spans] == [(0, 64, 10), (58, 118, 100)]
    assert spans[0].documents == tuple(range(10))
    assert spans[1].documents == tuple(range(10, 110))
    for s in spans:
        assert ix.count(tok.encode(text[s.start:s.end])) == s.count
    assert ix.count(tok.encode(text)) == 0  # the spliced whole occurs nowhere
    assert union_regions([(s.start, s.end) for s in spans]) == [(0, 118)]


def test_union_regions() -> None:
    assert union_regions([(5, 9), (0, 3), (2, 4), (9, 12), (20, 20)]) == [(0, 4), (5, 9),
                                                                          (9, 12)]
    assert covered_length([(0, 10), (5, 15), (30, 31)]) == 16
    assert union_regions([]) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=st.lists(st.text(alphabet="abc", max_size=40), min_size=1, max_size=10),
       pieces=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 40), st.integers(0, 40)),
                       min_size=1, max_size=4),
       noise=st.text(alphabet="abcd", max_size=6), min_tokens=st.integers(2, 8))
def test_spans_of_spliced_corpus_text_match_oracle(corpus, pieces, noise, min_tokens) -> None:
    """Queries spliced from corpus pieces (the case that used to be merged): each span's
    own tokens occur exactly `count` times in exactly its documents; the union of the spans
    is the oracle's coverage."""
    tok = ByteTokenizer()
    query = noise.join(corpus[d % len(corpus)][a:a + n] for d, a, n in pieces) or "a"
    with tempfile.TemporaryDirectory() as tmp:
        build_index([Document(t) for t in corpus], Path(tmp) / "ix", tok, shard_tokens=25)
        ix = CorpusIndex.open(Path(tmp) / "ix")
        oracle = Oracle(tokenized(tok, corpus))
        q = [int(x) for x in tok.encode(query)]
        spans = ix.maximal_spans(q, min_tokens=min_tokens, max_docs=100)
        assert [(s.token_start, s.token_end, s.count, s.documents) for s in spans] == \
            exact_spans(oracle, q, min_tokens, 100)
        for s in spans:
            occ = oracle.occurrences(q[s.token_start:s.token_end])
            assert s.count == len(occ) > 0
            assert s.documents == tuple(sorted({d for d, _ in occ}))
        covered = {j for s in spans for j in range(s.token_start, s.token_end)}
        assert covered == oracle_coverage(oracle, q, min_tokens)
        assert covered_length([(s.token_start, s.token_end) for s in spans]) == len(covered)
