"""The FM-index (``index build --format fm``) answers exactly as the suffix-array index built
from the same documents: a differential test on random and adversarial texts (long repeats,
matches at document boundaries, byte-order traps of u16 ids, several shards, the reference
corpus), plus damage detection."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer
from regurgitate.errors import IndexCorruptError
from regurgitate.index import CorpusIndex, build_index
from regurgitate.index import format as fmt
from regurgitate.types import Document

from .oracle import WIDE_IDS, WideCharTokenizer

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far", "away", "zq"]


def _random_docs(rng: random.Random, count: int, words: list[str], sep: str = " "
                 ) -> list[str]:
    docs = [sep.join(rng.choice(words) for _ in range(rng.randint(0, 60)))
            for _ in range(count)]
    docs[1] = docs[0] * 4  # a long repeat of another document
    docs[2] = "a" * 300  # a run
    docs[3] = (words[0] + sep + words[1] + sep) * 40  # a short period
    docs[4] = ""  # an empty document
    return docs


def _pair(tmp: Path, texts: list[str], tok: Tokenizer, shard_tokens: int = 2**30
          ) -> tuple[CorpusIndex, CorpusIndex]:
    docs = [Document(text=t, meta={"id": f"d{i}"}) for i, t in enumerate(texts)]
    build_index(docs, tmp / "sa", tok, shard_tokens=shard_tokens)
    build_index(docs, tmp / "fm", tok, shard_tokens=shard_tokens, index_format="fm")
    return (CorpusIndex.open(tmp / "sa", tokenizer=tok),
            CorpusIndex.open(tmp / "fm", tokenizer=tok))


def _queries(rng: random.Random, texts: list[str], count: int) -> list[str]:
    """Texts that match in parts: pieces of documents (also across two documents' boundary),
    edited copies, and random text."""
    out = []
    for _ in range(count):
        a, b = rng.randrange(len(texts)), rng.randrange(len(texts))
        ta, tb = texts[a], texts[b]
        kind = rng.randrange(4)
        if kind == 0:  # the end of one document then the start of the next
            out.append(ta[len(ta) // 2:] + tb[:len(tb) // 2])
        elif kind == 1:  # a piece with an edit in the middle
            s = rng.randrange(max(len(ta), 1))
            piece = ta[s:s + 120]
            mid = len(piece) // 2
            out.append(piece[:mid] + "q" + piece[mid + 1:])
        elif kind == 2:
            out.append(ta + tb)
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(30)))
    return [q for q in out if q]


def _assert_same(sa: CorpusIndex, fm: CorpusIndex, queries: list[str], min_tokens: int
                 ) -> None:
    assert fm.num_docs == sa.num_docs and fm.num_tokens == sa.num_tokens
    for d in range(sa.num_docs):
        assert fm.document(d) == sa.document(d)
    enc = [sa.tokenizer.encode(q) for q in queries]
    for ids in enc:
        assert fm.count(ids) == sa.count(ids)
        assert fm.occurrences(ids, 50) == sa.occurrences(ids, 50)
        assert np.array_equal(fm.longest_matches(ids), sa.longest_matches(ids))
    assert fm.maximal_spans_batch(enc, min_tokens=min_tokens, max_docs=3) == \
        sa.maximal_spans_batch(enc, min_tokens=min_tokens, max_docs=3)
    assert fm.documents_batch(enc, max_docs=5) == sa.documents_batch(enc, max_docs=5)
    for a, b in zip(fm.window_counts(enc, 6), sa.window_counts(enc, 6), strict=True):
        assert np.array_equal(a, b)
    assert fm.find_spans(queries[:5], min_tokens=min_tokens) == \
        sa.find_spans(queries[:5], min_tokens=min_tokens)


def test_bytes_index_answers_as_the_suffix_array(tmp_path: Path) -> None:
    rng = random.Random(7)
    texts = _random_docs(rng, 40, WORDS)
    sa, fm = _pair(tmp_path, texts, ByteTokenizer())
    assert fm.info["format"].startswith(fmt.FM_FORMAT_NAME)
    assert fm.info["bytes"] < sa.info["bytes"]
    _assert_same(sa, fm, _queries(rng, texts, 40), min_tokens=8)


def test_u16_byte_order_and_several_shards(tmp_path: Path,
                                           wide_tokenizer: WideCharTokenizer) -> None:
    """Wide ids whose value order differs from their byte order, in several shards: ranks,
    counts and the documents read from the first occurrences are the suffix array's."""
    rng = random.Random(3)
    alphabet = [c for c in WIDE_IDS if c != " "]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
             for _ in range(30)]
    texts[1] = texts[0] * 5
    sa, fm = _pair(tmp_path, texts, wide_tokenizer, shard_tokens=400)
    assert fm.num_shards == sa.num_shards > 1
    queries = [texts[0][5:40], texts[1], texts[7] + texts[8], "ab" * 30, "e" * 3]
    queries += ["".join(rng.choice(alphabet) for _ in range(50)) for _ in range(10)]
    _assert_same(sa, fm, [q for q in queries if q], min_tokens=4)


def test_span_windows_across_shards(tmp_path: Path) -> None:
    """Passages copied into documents of every shard, with text around them that occurs
    once: each span's most repeated window (its count, offset and documents) is the suffix
    array's, though FM-index searches of windows stop at each shard's count of their span."""
    rng = random.Random(17)
    passages = [" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(3)]
    texts = []
    for i in range(90):
        own = " ".join(rng.choice(WORDS) + str(i) for _ in range(12))
        texts.append(f"{own} {passages[i % 3]} {own[::-1]}" if i % 4 else own)
    sa, fm = _pair(tmp_path, texts, ByteTokenizer(), shard_tokens=4000)
    assert fm.num_shards == sa.num_shards > 3
    queries = [texts[i][-150:] + " " + texts[i + 1][:150] for i in range(1, 60, 7)]
    queries += [passages[0] + " " + texts[5][:60], passages[1][20:] + passages[2][:90]]
    enc = [sa.tokenizer.encode(q) for q in queries]
    got = fm.maximal_spans_batch(enc, min_tokens=20, max_docs=4)
    assert got == sa.maximal_spans_batch(enc, min_tokens=20, max_docs=4)
    wins = [s.window for spans in got for s in spans if s.window is not None]
    assert any(w.count > 3 for w in wins)  # windows more frequent than their spans
    _assert_same(sa, fm, queries, min_tokens=20)


def test_ceilings_over_several_shards_bound_or_count_exactly(tmp_path: Path) -> None:
    """Window searches told a ceiling (a count the caller has no use for) over several FM
    shards: a count marked bounded is at least the true count and at most the ceiling;
    every other count is exact, also where one shard stopped early but the total exceeds
    the ceiling (that shard is searched again)."""
    from regurgitate.index.shard import Queries

    rng = random.Random(23)
    passage = " ".join(rng.choice(WORDS) for _ in range(30))
    texts = [f"{' '.join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))} "
             f"{passage if rng.random() < 0.6 else ''} {i}" for i in range(120)]
    sa, fm = _pair(tmp_path, texts, ByteTokenizer(), shard_tokens=3000)
    assert fm.num_shards > 3
    ids = np.concatenate([sa.tokenizer.encode(t) for t in texts[:30]])
    buf = ids.astype(np.uint8)
    starts = np.arange(0, ids.size - 30, 2, dtype=np.int64)
    q = Queries(buf, starts, np.full(starts.size, 30, dtype=np.int64))
    exact = [hi - lo for lo, hi in sa._m.plain_ranges(q)]  # per shard
    total = np.sum(exact, axis=0)
    draw = np.random.default_rng(2)
    floors = [np.where(draw.random(starts.size) < 0.5, e, 0) for e in exact]
    ceiling = draw.integers(-1, 2 * total + 3)
    calls: list[int] = []
    for shard in fm._shards:  # count the searches (a second one in a shard: searched again)
        search = shard.bounded_ranges

        def spy(sub: Queries, *, _search=search, **kw: np.ndarray) -> tuple:
            calls.append(sub.start.size)
            return _search(sub, **kw)
        shard.bounded_ranges = spy  # type: ignore[method-assign]
    ranges, bounded = fm._m.bounded_ranges(q, floors, ceiling)
    got = np.sum([hi - lo for lo, hi in ranges], axis=0)
    assert np.array_equal(got[~bounded], total[~bounded])
    assert (got[bounded] >= total[bounded]).all() and (got[bounded] <= ceiling[bounded]).all()
    assert bounded.sum() > 20 and (got[bounded] > total[bounded]).sum() > 5
    assert len(calls) > fm.num_shards  # some shards stopped where the total did not allow it
    # the same without hints: every count exact
    ranges, bounded = fm._m.bounded_ranges(q, [np.zeros_like(f) for f in floors],
                                           np.full(starts.size, -1))
    assert not bounded.any() and np.array_equal(np.sum([b - a for a, b in ranges], 0), total)


def test_match_ends_walked_give_every_longest_match(tmp_path: Path) -> None:
    """Longest matches found by walking match ends (long copies, edited copies, tokens that
    never occur, separators and sequence ends cutting runs, positions with gaps) are the
    suffix array's, position by position, in one shard and in several."""
    rng = random.Random(31)
    texts = _random_docs(rng, 60, WORDS)
    for shard_tokens in (2**30, 900):
        sa, fm = _pair(tmp_path / str(shard_tokens), texts, ByteTokenizer(), shard_tokens)
        assert fm._m.by_ends and not sa._m.by_ends
        seqs = [sa.tokenizer.encode(t) for t in _queries(rng, texts, 25)]
        seqs.append(sa.tokenizer.encode(texts[1] + "\xff" + texts[3]))  # a long copy, cut
        buf, run_end, _ = sa._m.prepare(seqs)
        every = np.arange(run_end.size, dtype=np.int64)
        for pos in (every, np.sort(rng.sample(range(run_end.size), run_end.size // 3)),
                    every[(every // 40) % 2 == 0]):  # stretches with gaps
            pos = np.asarray(pos, dtype=np.int64)
            want = sa._m.exact_lengths(buf, run_end, pos, cap=8)
            assert np.array_equal(fm._m._ends_lengths(buf, run_end, pos), want)
            assert want.max() > 100  # long matches were walked


def test_bpe_tokens_and_many_occurrences(tmp_path: Path, bpe_tokenizer: HFTokenizer) -> None:
    """A real byte-level BPE (u16 ids above 255); a span occurring more often than the
    documents listed, so the occurrences read first must be the same ones."""
    rng = random.Random(11)
    texts = _random_docs(rng, 60, WORDS + ["def", "return", "print(i)"])
    texts += ["the cat sat on the mat"] * 30
    sa, fm = _pair(tmp_path, texts, bpe_tokenizer)
    _assert_same(sa, fm, _queries(rng, texts, 30) + ["the cat sat on the mat " * 3],
                 min_tokens=3)


def test_reference_corpus(tmp_path: Path) -> None:
    """The bundled reference corpus with the reference model's tokenizer."""
    from regurgitate.reference.text.paths import corpus_path, model_dir
    from regurgitate.reference.text.reader import read_corpus_texts

    texts = read_corpus_texts(corpus_path())[:150]
    tok = HFTokenizer(model_dir() / "tokenizer.json", name="reference")
    sa, fm = _pair(tmp_path, texts, tok)
    rng = random.Random(5)
    _assert_same(sa, fm, _queries(rng, texts, 12), min_tokens=12)


@pytest.mark.slow
def test_larger_random_corpus(tmp_path: Path) -> None:
    rng = random.Random(2)
    vocab = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 6)))
             for _ in range(300)]
    texts = _random_docs(rng, 3000, vocab)
    for k in range(5, 3000, 97):  # copies of earlier documents, edited
        src = texts[k // 2]
        texts[k] = src[:len(src) // 3] + "x" + src[len(src) // 3:] + texts[k - 1]
    sa, fm = _pair(tmp_path, texts, ByteTokenizer(), shard_tokens=200_000)
    _assert_same(sa, fm, _queries(rng, texts, 300), min_tokens=10)


# -- damage ---------------------------------------------------------------------------------


def _fm_index(tmp: Path) -> Path:
    texts = _random_docs(random.Random(1), 30, WORDS)
    build_index([Document(text=t) for t in texts], tmp / "fm", ByteTokenizer(),
                index_format="fm")
    return tmp / "fm"


@pytest.mark.parametrize("kind", ["fmbits", "fmrank", "fmnodes", "fmsyms", "fmsa",
                                  "fmdocrow"])
def test_truncated_file_is_a_clear_error(tmp_path: Path, kind: str) -> None:
    path = _fm_index(tmp_path)
    target = path / f"{kind}.0"
    target.write_bytes(target.read_bytes()[:-8])
    with pytest.raises(IndexCorruptError, match="truncated"):
        CorpusIndex.open(path)


def _rewrite_manifest(path: Path) -> None:
    """Record the files' current sizes and checksums: damage the checksums cannot see."""
    m = json.loads((path / fmt.MANIFEST).read_text())
    for shard in m["shards"]:
        shard["files"] = {name: fmt.describe_file(path / name) for name in shard["files"]}
    (path / fmt.MANIFEST).write_text(json.dumps(m))


@pytest.mark.parametrize("kind,offset", [("fmsyms", 8), ("fmnodes", 24), ("fmrank", 8),
                                         ("fmrank", 16), ("fmrank", 28), ("fmbits", 0),
                                         ("fmsa", 0), ("fmdocrow", 8)])
def test_damage_behind_valid_checksums_is_found_on_open(tmp_path: Path, kind: str,
                                                        offset: int) -> None:
    path = _fm_index(tmp_path)
    target = path / f"{kind}.0"
    raw = bytearray(target.read_bytes())
    raw[offset:offset + 4] = b"\xff\xff\xff\x7f"
    target.write_bytes(bytes(raw))
    _rewrite_manifest(path)
    with pytest.raises(IndexCorruptError):
        idx = CorpusIndex.open(path)
        # whatever open could not see must not give an answer either
        for d in range(idx.num_docs):
            idx.document(d)
        idx.find_spans(["the cat sat on the mat"], min_tokens=3)


def test_bad_fm_record_in_manifest(tmp_path: Path) -> None:
    path = _fm_index(tmp_path)
    m = json.loads((path / fmt.MANIFEST).read_text())
    del m["shards"][0]["fm"]["r0"]
    (path / fmt.MANIFEST).write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match="incomplete"):
        CorpusIndex.open(path)


def test_index_of_the_uncompressed_layout_asks_for_a_rebuild(tmp_path: Path) -> None:
    """An FM-index built before the bit vectors were compressed (no ``bit_vectors`` in its
    record) is refused with the command that rebuilds it, not read as damaged data."""
    path = _fm_index(tmp_path)
    m = json.loads((path / fmt.MANIFEST).read_text())
    del m["shards"][0]["fm"]["bit_vectors"]
    (path / fmt.MANIFEST).write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match="rebuild the index with `regurgitate index build"):
        CorpusIndex.open(path)


def test_compressed_bit_vectors_rank_as_the_plain_ones() -> None:
    """Rank and bit reads over the compressed vectors equal counting the plain bits, for
    vectors of uniform runs, random words and their mixtures, at every position."""
    from regurgitate.index import fm_bits as fb

    rng = np.random.default_rng(3)
    for nbits in (1, 63, 64, 65, 511, 512, 2048, 2049, 9000):
        nwords = fb.sizes(nbits)[0]
        kinds = rng.integers(0, 3, size=nwords)
        plain = np.where(kinds == 0, np.uint64(0), np.where(
            kinds == 1, np.uint64(0xFFFFFFFFFFFFFFFF),
            rng.integers(0, 2**63, size=nwords, dtype=np.uint64)))
        plain[-1] = 0
        bits = np.unpackbits(plain.view(np.uint8), bitorder="little")
        ranks = np.concatenate(([0], np.cumsum(bits)))
        words, dirs = fb.compress(plain)
        assert dirs.size == fb.sizes(nbits)[1]
        for pos in range(0, nbits + 1):
            assert fb.rank1(words, dirs, pos) == ranks[pos]
            r, b = fb.rank_bit(words, dirs, pos)
            assert (r, b) == (ranks[pos], bits[pos])


def test_served_fm_index_answers_as_the_local_suffix_array(tmp_path: Path) -> None:
    """``index serve`` of an FM-index, read by a remote client: the suffix array's answers."""
    from regurgitate.index.remote import RemoteIndex
    from regurgitate.index.server import BackgroundServer, IndexService

    rng = random.Random(9)
    texts = _random_docs(rng, 30, WORDS)
    sa, fm = _pair(tmp_path, texts, ByteTokenizer())
    queries = _queries(rng, texts, 8)
    with BackgroundServer(IndexService({"fm": fm})) as url, \
            RemoteIndex.open(f"{url}?index=fm") as remote:
        assert remote.find_spans(queries, min_tokens=8, max_docs=4) == \
            sa.find_spans(queries, min_tokens=8, max_docs=4)
        for d in (0, 1, 5):
            assert remote.document(d) == sa.document(d)


class _WideIds(WideCharTokenizer):
    """u32 ids (a vocabulary past 65,535) whose byte order differs from their value order."""

    name = "u32-chars"
    vocab_size = 0x01000000
    IDS = {"a": 0x000100FF, "b": 0x00010100, "c": 0x00FF0000, "d": 0x00000101, " ": 0x00000001,
           "e": 0x00FE0001}

    def __init__(self) -> None:
        super().__init__()
        self.fingerprint = "test:u32-chars"
        self._inv = {v: k for k, v in self.IDS.items()}

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:  # type: ignore[override]
        return [np.array([self.IDS[c] for c in t], dtype=np.uint32) for t in texts]


def test_u32_ids(tmp_path: Path) -> None:
    tok = _WideIds()
    assert tok.dtype.itemsize == 4
    rng = random.Random(4)
    texts = ["".join(rng.choice("abcde ") for _ in range(rng.randint(0, 70)))
             for _ in range(25)]
    texts[1] = texts[0] * 3
    sa, fm = _pair(tmp_path, texts, tok)
    queries = [texts[0][3:30], texts[1], texts[5] + texts[6], "ab" * 20, "c" * 4]
    _assert_same(sa, fm, [q for q in queries if q], min_tokens=4)


def test_batched_searches_and_interleaved_walks(tmp_path: Path) -> None:
    """The batched backward searches give each query its own rows and the shortest suffix
    of it that occurs (stopping at one row only where asked), and the walks that advance
    together, level by level, locate every row as a walk alone does."""
    from regurgitate.index import fm_kernels as fk

    rng = random.Random(9)
    texts = _random_docs(rng, 40, WORDS)
    _, fm = _pair(tmp_path, texts, ByteTokenizer())
    shard = fm._shards[0]
    args = shard._args()
    enc = [ByteTokenizer().encode(q) for q in _queries(rng, texts, 30)]
    q = np.concatenate([shard._dense(np.asarray(e, dtype=np.uint8)) for e in enc])
    q[::97] = -1  # tokens that never occur
    starts = np.array([rng.randrange(q.size) for _ in range(300)], dtype=np.int64)
    lens = np.array([min(rng.choice([0, 1, 2, 5, 20, 80]), q.size - s) for s in starts],
                    dtype=np.int64)
    free = np.full(starts.size, -1, np.int64)  # no ceiling
    lo, hi, reach, err = fk.searches(*args, q, starts, lens, np.zeros(starts.size, np.int64),
                                     free)
    assert err == fk.OK
    assert (reach == starts).sum() > 50 and (reach > starts).sum() > 50  # both kinds seen
    for r, (a, n) in enumerate(zip(starts.tolist(), lens.tolist(), strict=True)):
        b = a + n
        whole = fk._backward(*args, q, a, b)
        assert (int(lo[r]), int(hi[r])) == ((whole if whole[1] > whole[0] else (0, 0))
                                            if n else (0, shard.n))
        s = int(reach[r])
        assert s == b or fk._backward(*args, q, s, b)[1] > fk._backward(*args, q, s, b)[0]
        if s > a:
            assert fk._backward(*args, q, s - 1, b) == (0, 0)
    found = np.flatnonzero(hi > lo)  # a floor holds for queries that occur
    counts = hi[found] - lo[found]
    draw = np.random.default_rng(5)
    for floor in (np.ones(found.size, np.int64), counts,  # a floor of 1, the exact count
                  draw.integers(1, counts + 1)):  # and any count in between
        lo1, hi1, reach1, _ = fk.searches(*args, q, starts[found], lens[found], floor,
                                          free[found])
        assert np.array_equal(hi1 - lo1, counts)  # counts exact
        assert np.array_equal(reach1, starts[found])
    assert (counts > 1).sum() > 10  # floors above 1 were tried
    # a ceiling stops a search once its range is no larger: the rows then bound the count
    ceiling = draw.integers(-1, counts + 3)
    lo2, hi2, bounded, err = fk.ranges(*args, q, starts[found], lens[found],
                                       np.zeros(found.size, np.int64), ceiling)
    assert err == fk.OK
    size = hi2 - lo2
    assert np.array_equal(size[~bounded], counts[~bounded])  # not stopped: exact
    assert (size[bounded] >= counts[bounded]).all() and (size[bounded] <= ceiling[bounded]).all()
    assert bounded.sum() > 10 and (size[bounded] > counts[bounded]).sum() > 0
    assert not bounded[ceiling < 0].any()
    rows = np.arange(shard.n, dtype=np.int64)
    assert rows.size > fk.LANES
    pos, err = fk.locate(*args, shard.sa, shard.every, rows)
    assert err == fk.OK
    one = [fk._locate_one(*args, shard.sa, shard.every, int(r)) for r in rows]
    assert np.array_equal(pos, np.array([p for p, _ in one]))
    assert sorted(pos.tolist()) == list(range(shard.n))  # a permutation of the text
    # rank ranges walked as blocks: the ranges of repeated passages (shared left context),
    # of single tokens (the block splits at once), and arbitrary ones (r0 inside some)
    spans = [(int(a), int(b)) for a, b in zip(lo, hi, strict=True) if b - a > 1]
    spans += [(rng.randrange(shard.n), 0) for _ in range(40)]
    spans = [(a, b if b else min(shard.n, a + rng.randint(1, 300))) for a, b in spans]
    spans.append((max(0, shard.r0 - 5), min(shard.n, shard.r0 + 40)))
    assert len(spans) > 60
    for a, b in spans:
        got, err = fk.locate_range(*args, shard.sa, shard.every, a, b)
        assert err == fk.OK and np.array_equal(got, pos[a:b])


def _fm_shard(tmp: Path, texts: list[str], tok: Tokenizer) -> Any:
    build_index([Document(text=t, meta={"id": f"d{i}"}) for i, t in enumerate(texts)],
                tmp, tok, index_format="fm")
    return CorpusIndex.open(tmp, tokenizer=tok)._shards[0]


def _assert_blocks_locate_as_lanes(shard: Any, spans: list[tuple[int, int]]) -> None:
    """Every range located by blocks that split (blocks of any size walked as blocks,
    and small ones handed to the lane walker) as the lane walker locates its rows."""
    from regurgitate.index import fm_kernels as fk
    from regurgitate.index import fm_locate as fl

    args = shard._args()
    pos, err = fk.locate(*args, shard.sa, shard.every, np.arange(shard.n, dtype=np.int64))
    assert err == fk.OK
    for a, b in spans:
        for handoff in (1, 3, fl.HANDOFF, b - a + 1):
            got, err = fl.locate_blocks(*args, shard.sa, shard.every, a, b, handoff)
            assert err == fk.OK and np.array_equal(got, pos[a:b]), (a, b, handoff)
        if b - a > 1:  # the shard's rank ranges take this way
            assert np.array_equal(shard.pointers(np.arange(a, b)), pos[a:b] * shard.width)


def _rows_of(shard: Any, q: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """[lo, hi) rows of the suffixes starting with dense symbols ``q[a:b]``."""
    from regurgitate.index import fm_kernels as fk

    lo, hi = fk._backward(*shard._args(), q, a, b)
    return int(lo), int(hi)


def test_block_walks_locate_as_the_lane_walker(tmp_path: Path,
                                               bpe_tokenizer: HFTokenizer) -> None:
    """Rank ranges located by walking them as blocks that split by preceding symbol: the
    positions of exactly those rows, in row order, on the ranges of a passage copied with
    the same and with different text before it, single rows, the whole index, ranges
    holding the text's first suffix (r0), a u16 index (BPE ids, a deeper tree of more
    symbols) and an index of one symbol only."""
    rng = random.Random(23)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 7)))
             for _ in range(120)]
    passage = " ".join(rng.choice(vocab) for _ in range(40))
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 6))) + " " + passage
             + " " + " ".join(rng.choice(vocab) for _ in range(20)) for _ in range(30)]
    texts += ["same prefix " + passage] * 12 + [passage] * 3 + [""]
    symbols = {}
    for name, tok in (("bytes", ByteTokenizer()), ("bpe", bpe_tokenizer)):
        shard = _fm_shard(tmp_path / name, texts, tok)
        ids = np.ascontiguousarray(tok.encode(passage), dtype=shard.dtype)
        q = shard._dense(ids.view(np.uint8))
        spans = []
        for a, length in ((0, 1), (3, 2), (5, 4), (10, 8), (0, len(q)), (len(q) // 2, 6)):
            spans.append(_rows_of(shard, q, a, min(a + length, len(q))))
        assert max(b - a for a, b in spans) >= 45  # the passage's copies
        spans += [(r, r + 1) for r in range(0, shard.n, max(1, shard.n // 25))]  # single rows
        spans += [(0, shard.n), (shard.r0, shard.r0 + 1),  # the whole index, r0
                  (max(0, shard.r0 - 7), min(shard.n, shard.r0 + 30))]
        spans += [(a, min(shard.n, a + rng.randint(2, 200)))
                  for a in (rng.randrange(shard.n) for _ in range(10))]
        symbols[name] = shard.k
        _assert_blocks_locate_as_lanes(shard, spans)
    assert symbols["bpe"] > symbols["bytes"]  # u16 ids: more symbols, a deeper tree
    shard = _fm_shard(tmp_path / "one", [""] * 50, ByteTokenizer())
    assert shard.k == 1 and shard.nodes.shape[0] == 0  # separators only: one symbol
    _assert_blocks_locate_as_lanes(shard, [(0, shard.n), (3, 9), (shard.r0, shard.r0 + 1)])


def test_block_walks_report_damage(tmp_path: Path) -> None:
    """Damaged bit vectors, rank directory or samples make the block walker return an
    error code (or positions inside the text), never read out of bounds or loop on."""
    from regurgitate.index import fm_kernels as fk
    from regurgitate.index import fm_locate as fl

    rng = random.Random(29)
    passage = " ".join(rng.choice(WORDS) for _ in range(30))
    texts = [passage + " " + " ".join(rng.choice(WORDS) for _ in range(9)) for _ in range(20)]
    shard = _fm_shard(tmp_path, texts, ByteTokenizer())
    words, dirs, nodes, syms, sep, r0, last, n = shard._args()
    sa = np.array(shard.sa)
    sa[len(sa) // 2] = n + 5  # a sample past the text
    sa.setflags(write=False)  # as the shard's arrays are (one compiled signature)
    _, err = fl.locate_blocks(words, dirs, nodes, syms, sep, r0, last, n, sa, shard.every,
                              0, n, 1)
    assert err == fk.BAD_WALK
    codes = set()
    for trial in range(30):
        w, d = np.array(words), np.array(dirs)
        for _ in range(3):
            if trial % 2:
                w[rng.randrange(w.size)] ^= np.uint64(1 << rng.randrange(64))
            else:
                d[rng.randrange(d.size)] ^= np.uint64(1 << rng.randrange(40))
        w.setflags(write=False)
        d.setflags(write=False)
        for a, b in ((0, n), (n // 3, n // 3 + 50)):
            pos, err = fl.locate_blocks(w, d, nodes, syms, sep, r0, last, n, shard.sa,
                                        shard.every, a, b, 1 + trial % 3 * 4)
            assert err in (fk.OK, fk.BAD_STRUCTURE, fk.BAD_WALK)
            if err == fk.OK:
                assert ((pos >= 0) & (pos < n)).all()
            codes.add(err)
    assert fk.BAD_STRUCTURE in codes
