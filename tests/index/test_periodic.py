"""Repetitive text: copy regions derive most longest-match lengths from one period. Checked
against brute force on periodic corpora and queries, with regions made short enough
(``MIN_REGION``) that small examples use them, and on realistic sizes with the defaults."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regurgitate.corpus.tokenizer import ByteTokenizer, Tokenizer
from regurgitate.index import CorpusIndex, build_index, periodic
from regurgitate.index.periodic import copy_regions, window_keys
from regurgitate.types import Document

from .oracle import Oracle, exact_spans, tokenized

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

units = st.text(alphabet="abc", min_size=1, max_size=4)


@st.composite
def periodic_text(draw: st.DrawFn, max_repeat: int = 20) -> str:
    """Optional noise, a unit repeated, optional noise (sometimes two periodic parts)."""
    parts = [draw(st.text(alphabet="abcde", max_size=4))]
    for _ in range(draw(st.integers(1, 2))):
        parts.append(draw(units) * draw(st.integers(1, max_repeat)))
        parts.append(draw(st.text(alphabet="abcde", max_size=3)))
    return "".join(parts)


corpora = st.lists(st.one_of(periodic_text(12), st.text(alphabet="abc", max_size=20)),
                   min_size=1, max_size=5)


def _check(tok: Tokenizer, corpus: list[str], queries: list[str], min_tokens: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        build_index([Document(t) for t in corpus], Path(tmp) / "ix", tok, shard_tokens=40)
        ix = CorpusIndex.open(Path(tmp) / "ix", tokenizer=tok)
        oracle = Oracle(tokenized(tok, corpus))
        ix.length_cap = 2
        ids = [[int(x) for x in tok.encode(q)] for q in queries]
        got = ix.longest_matches_batch(ids)
        assert [g.tolist() for g in got] == [oracle.longest(q) for q in ids]
        spans = ix.maximal_spans_batch(ids, min_tokens=min_tokens, max_docs=3)
        for q, found in zip(ids, spans, strict=True):
            assert [(s.token_start, s.token_end, s.count, s.documents) for s in found] == \
                exact_spans(oracle, q, min_tokens, 3)


@SETTINGS
@given(corpus=corpora, queries=st.lists(periodic_text(), min_size=1, max_size=3),
       min_tokens=st.integers(1, 8), min_region=st.sampled_from([2, 4, 8]))
def test_periodic_queries_match_oracle(monkeypatch: pytest.MonkeyPatch, corpus: list[str],
                                       queries: list[str], min_tokens: int,
                                       min_region: int) -> None:
    monkeypatch.setattr(periodic, "MIN_REGION", min_region)
    _check(ByteTokenizer(), corpus, queries, min_tokens)


@SETTINGS
@given(corpus=corpora, queries=st.lists(periodic_text(), min_size=1, max_size=2),
       min_tokens=st.integers(1, 6))
def test_periodic_wide_ids_match_oracle(monkeypatch: pytest.MonkeyPatch, wide_tokenizer,
                                        corpus: list[str], queries: list[str],
                                        min_tokens: int) -> None:
    monkeypatch.setattr(periodic, "MIN_REGION", 4)
    _check(wide_tokenizer, corpus, queries, min_tokens)


def test_barriers_split_copy_regions() -> None:
    tokens = np.frombuffer(b"ab" * 1000, dtype=np.uint8).copy()
    run_end = np.full(tokens.size, tokens.size, dtype=np.int64)
    run_end[:600] = 600  # a barrier (unmatchable token) at 600
    regions = copy_regions(tokens, run_end)
    assert len(regions) == 2
    assert all(r.start - r.d >= 600 or r.end <= 600 for r in regions)
    for r in regions:
        seg = tokens[r.start - r.d:r.end]
        assert (seg[r.d:] == seg[:-r.d]).all()


def test_window_keys_equal_only_for_equal_windows() -> None:
    text = b"xy" + b"abc" * 200 + b"q"
    tokens = np.frombuffer(text, dtype=np.uint8).copy()
    regions = copy_regions(tokens)
    rng = np.random.default_rng(0)
    start = rng.integers(0, len(text) - 60, 400)
    length = rng.integers(1, 60, 400)
    keys = window_keys(regions, start, length)
    for i in range(0, 400, 7):
        for j in range(400):
            same = text[start[i]:start[i] + length[i]] == text[start[j]:start[j] + length[j]]
            if keys[i] == keys[j]:
                assert same


def test_long_periodic_text_against_periodic_corpus(tmp_path: Path) -> None:
    """The case that used to take minutes: 'poem ' * 3000 in the corpus, * 4000 queried."""
    tok = ByteTokenizer()
    rng = np.random.default_rng(3)
    filler = " ".join(rng.choice(["red", "green", "blue"], 3000))
    corpus = [filler, "poem " * 3000, "x" + "A" * 700 + "y", "poem " * 40 + "end"]
    build_index([Document(t) for t in corpus], tmp_path / "ix", tok)
    ix = CorpusIndex.open(tmp_path / "ix")
    query = "start " + "poem " * 4000 + " and " + "A" * 5000
    ids = tok.encode(query)
    lengths = ix.longest_matches(ids)
    pre = len("start ")
    assert lengths[pre] == 15000 and lengths[pre + 5 * 900] == 15000
    a = query.index("A")
    assert lengths[a] == 700 and lengths[a + 2000] == 700 and lengths[-1] == 1
    assert lengths[-600] == 600
    spans = ix.maximal_spans(ids, min_tokens=50)
    assert spans[0].token_start == pre - 1 or spans[0].token_start == pre
    assert {s.count for s in spans} >= {1}
    # a window of the periodic text occurs as often as brute force says
    window = "poem " * 100
    assert ix.count(tok.encode(window)) == sum(
        sum(1 for i in range(len(d)) if d.startswith(window, i)) for d in corpus)
