"""Long stretches take the chain-first search; check it against brute force on text that is
memorized in long runs, edited every few dozen characters, or both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.index.spans import maximal_pieces
from regurgitate.types import Document


def brute_lengths(query: str, docs: list[str]) -> np.ndarray:
    joined = "\x00".join(docs)
    out = np.zeros(len(query), dtype=np.int64)
    for i in range(len(query)):
        lo, hi = 0, len(query) - i
        while lo < hi:  # longest l with query[i:i+l] in the corpus (monotone in l)
            mid = (lo + hi + 1) // 2
            if query[i:i + mid] in joined:
                lo = mid
            else:
                hi = mid - 1
        out[i] = lo
    return out


@pytest.mark.parametrize("edit_every", [0, 37, 300])
def test_maximal_spans_match_brute_force_on_long_queries(tmp_path: Path, edit_every: int) -> None:
    rng = np.random.default_rng(edit_every)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    docs = [" ".join(rng.choice(words, 300)) for _ in range(6)]
    build_index([Document(d) for d in docs], tmp_path / "ix", ByteTokenizer(), shard_tokens=4000)
    ix = CorpusIndex.open(tmp_path / "ix")
    chars = list(docs[2][50:1250] + " / " + docs[4][:600])
    if edit_every:
        for k in range(edit_every, len(chars), edit_every):
            chars[k] = "#"
    query = "".join(chars)
    lengths = brute_lengths(query, docs)
    for min_tokens in (20, 50):
        want = maximal_pieces(lengths, min_tokens)
        got = [(s.token_start, s.token_end) for s in ix.maximal_spans(
            ByteTokenizer().encode(query), min_tokens=min_tokens)]
        assert got == want


def test_candidates_of_probes_that_occur_alone_are_bounded(tmp_path: Path) -> None:
    """Text that matches in short pieces (shorter than a span) keeps few of the starts its
    probes make candidates, and none of a span's: pieces of 20-45 characters copied from
    the corpus between random letters (one at the very start), and one piece of 90 (a real
    span)."""
    rng = np.random.default_rng(4)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    docs = [" ".join(rng.choice(words, 300)) for _ in range(6)]
    build_index([Document(d) for d in docs], tmp_path / "ix", ByteTokenizer())
    ix = CorpusIndex.open(tmp_path / "ix")
    parts = [docs[0][7:47]]  # the text starts inside the corpus (a bound below 0)
    for size in (20, 30, 45, 90, 35, 25):
        d = docs[int(rng.integers(6))]
        a = int(rng.integers(len(d) - size))
        parts += ["".join(rng.choice(list("QXZWVK#"), 30)), d[a:a + size]]
    query = "".join(parts)
    ids = ByteTokenizer().encode(query)
    buf, run_end, _ = ix._m.prepare([ids])
    cand = ix._m.candidates(buf, run_end, 50)
    want = maximal_pieces(brute_lengths(query, docs), 50)
    assert len(want) == 1
    assert [(s.token_start, s.token_end) for s in ix.maximal_spans(ids, min_tokens=50)] == want
    start, end = want[0]
    assert start in cand
    # the short pieces' probes occur too (each would make 25 starts candidates): few remain
    elsewhere = cand[(cand < start - 25) | (cand >= end)]
    assert elsewhere.size <= 12
