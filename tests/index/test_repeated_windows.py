"""A span's most repeated window: the passage a copy is built around, with its own count and
sources, found with few searches and equal to counting every window."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.index.shard import Queries
from regurgitate.types import Document


def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7)))
                    for _ in range(n))


def passage_corpus(path: Path) -> tuple[CorpusIndex, str, str]:
    """A passage held by 100 documents (``work-000`` ... ``work-099``), each with its own
    text around it, and background documents; and a text made of the passage plus a few
    characters of what follows it in ``work-000``."""
    rng = random.Random(5)
    passage = _words(rng, 60)
    docs = [Document(f"{_words(rng, 20)} {passage} {_words(rng, 20)}", {"id": f"work-{i:03d}"})
            for i in range(100)]
    docs += [Document(_words(rng, 200), {"id": f"bg-{i}"}) for i in range(20)]
    build_index(docs, path, ByteTokenizer())
    first = docs[0].text
    at = first.index(passage) + len(passage)
    return CorpusIndex.open(path), passage, passage + first[at:at + 6]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusIndex, str, str]:
    return passage_corpus(tmp_path_factory.mktemp("windows") / "ix")


def test_a_copy_of_a_common_passage_shows_the_passage_count(world) -> None:
    ix, passage, text = world
    (span,) = ix.find_spans([text], min_tokens=50, max_docs=10)[0]
    assert (span.start, span.end, span.count) == (0, len(text), 1)
    assert [ix.doc_name(d) for d in span.documents] == ["work-000"]
    win = span.window
    assert win is not None and win.tokens == 50 and win.count == 100
    assert win.offset + win.tokens <= len(passage.encode())  # inside the shared passage
    assert (win.start, win.end) == (win.offset, win.offset + 50)  # bytes: chars = tokens
    assert ix.count(ix.tokenizer.encode(text[win.start:win.end])) == 100
    assert [ix.doc_name(d) for d in win.documents] == [f"work-{i:03d}" for i in range(10)]
    # without windows the span is what it was
    (plain,) = ix.find_spans([text], min_tokens=50, max_docs=10, windows=False)[0]
    assert plain.window is None and (plain.count, plain.documents) == (1, span.documents)


def test_windows_equal_counting_every_window(tmp_path: Path) -> None:
    """Every span's window is the first of the highest count among all its windows, over
    two shards, for windows shorter and as long as the threshold; overlapping spans too."""
    rng = random.Random(3)
    passages = [_words(rng, rng.randint(10, 40)) for _ in range(6)]
    docs = []
    for i in range(150):
        parts = [_words(rng, rng.randint(1, 15))]
        for _ in range(rng.randint(0, 3)):
            parts.append(passages[min(rng.randrange(len(passages)), rng.randrange(6))])
            parts.append(_words(rng, rng.randint(0, 3)))
        docs.append(Document(" ".join(parts), {"id": f"d{i}"}))
    build_index(docs, tmp_path / "ix", ByteTokenizer(), shard_tokens=12_000)
    ix = CorpusIndex.open(tmp_path / "ix")
    assert ix.num_shards > 1
    texts = []
    for _ in range(25):
        a, b = rng.sample(range(len(docs)), 2)
        texts.append(docs[a].text[rng.randrange(20):] + " " + docs[b].text[:rng.randrange(400)])
    seqs = [ix.tokenizer.encode(t) for t in texts]
    checked = raised = 0
    for window in (8, 20, 40):
        found = ix.maximal_spans_batch(seqs, min_tokens=40, max_docs=5, window_tokens=window)
        for seq, spans in zip(seqs, found, strict=True):
            for s in spans:
                counts = ix.window_counts([seq[s.token_start:s.token_end]], window)[0]
                k = int(np.argmax(counts))
                assert s.window is not None
                assert (s.window.offset, s.window.count) == (k, int(counts[k]))
                piece = seq[s.token_start + k:s.token_start + k + window]
                assert set(s.window.documents) <= \
                    {o.doc_id for o in ix.occurrences(piece, limit=10_000)}
                checked += 1
                raised += s.window.count > s.count
    assert checked > 30 and raised > 10
    # a span shorter than the window has none
    short = ix.maximal_spans_batch(seqs, min_tokens=10, window_tokens=40)
    assert all((s.window is None) == (s.tokens < 40) for spans in short for s in spans)


def test_gallop_ranges_equal_the_two_sided_search(world) -> None:
    ix, _, _ = world
    shard = ix._shards[0]
    rng = np.random.default_rng(0)
    for length in (1, 2, 3, 20, 50):
        pos = rng.integers(0, shard.size - length, 400)
        buf = np.concatenate([shard.ds[p:p + length] for p in pos])
        buf[rng.integers(0, buf.size, 40)] = rng.integers(0, 255, 40)  # some never occur
        q = Queries(buf, np.arange(pos.size) * length, np.full(pos.size, length))
        lo, hi = shard.ranges(q)
        rare_lo, rare_hi = shard.rare_ranges(q)
        assert np.array_equal(lo, rare_lo) and np.array_equal(hi, rare_hi)
