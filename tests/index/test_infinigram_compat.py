"""Interoperability with infini-gram 2.6.0: its engine reads our indexes, we read its indexes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

from .oracle import Oracle, tokenized

engine_mod = pytest.importorskip("infini_gram.engine")

WORDS = ["def", "self", "return", "x", "y", "(", ")", ":", "\n", "    ", "+", "1", "é"]


def _corpus(seed: int, n_docs: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(WORDS, int(rng.integers(0, 60)))) for _ in range(n_docs)]


def _queries(ix: CorpusIndex, oracle: Oracle, seed: int, n: int = 60) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        doc = oracle.docs[int(rng.integers(len(oracle.docs)))]
        if len(doc) > 3 and rng.random() < 0.7:
            a = int(rng.integers(len(doc) - 2))
            out.append(doc[a:a + int(rng.integers(1, 12))])
        else:
            out.append([int(x) for x in rng.integers(0, min(ix.tokenizer.vocab_size, 300),
                                                     int(rng.integers(1, 5)))])
    return out


def _engine(path: Path, dtype: str, vocab: int):
    return engine_mod.InfiniGramEngine(
        index_dir=str(path), eos_token_id=0, vocab_size=vocab, token_dtype=dtype, version=4,
        ds_prefetch_depth=0, sa_prefetch_depth=0, od_prefetch_depth=0)


@pytest.mark.parametrize("kind", ["bytes", "bpe", "wide"])
def test_engine_reads_our_index(kind, tmp_path, bpe_tokenizer, wide_tokenizer) -> None:
    tok = {"bytes": ByteTokenizer(), "bpe": bpe_tokenizer, "wide": wide_tokenizer}[kind]
    corpus = _corpus(3) if kind != "wide" else \
        ["".join(np.random.default_rng(i).choice(list("abcde "), 40)) for i in range(30)]
    build_index([Document(t) for t in corpus], tmp_path / "ix", tok, shard_tokens=400)
    ix = CorpusIndex.open(tmp_path / "ix", tokenizer=tok)
    assert ix.num_shards > 1
    dtype = "u8" if tok.dtype.itemsize == 1 else "u16"
    vocab = 255 if dtype == "u8" else 65535
    eng = _engine(tmp_path / "ix", dtype, vocab)
    oracle = Oracle(tokenized(tok, corpus))
    for q in _queries(ix, oracle, 7):
        assert eng.count(q)["count"] == ix.count(q) == len(oracle.occurrences(q)), q
    for text in corpus[:5]:
        q = [int(x) for x in tok.encode("e" + text[5:40] + "e")]
        rs = eng.creativity(q)["rs"]
        lengths = ix.longest_matches(q)
        assert [r - i for i, r in enumerate(rs)] == lengths.tolist()


def _run_indexer(data_dir: Path, save_dir: Path, *extra: str) -> None:
    cmd = [sys.executable, "-m", "infini_gram.indexing", "--data_dir", str(data_dir),
           "--save_dir", str(save_dir), "--mem", "1", "--cpus", "1", "--ulimit", "20000",
           *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_we_read_infinigram_bytes_index(tmp_path) -> None:
    corpus = _corpus(5, 60)
    data = tmp_path / "data"
    data.mkdir()
    with (data / "part.jsonl").open("w", encoding="utf-8") as f:
        for i, t in enumerate(corpus):
            f.write(json.dumps({"text": t, "n": i}) + "\n")
    _run_indexer(data, tmp_path / "ig", "--token_dtype", "u8", "--add_metadata")
    ix = CorpusIndex.open(tmp_path / "ig")
    assert ix.num_docs == len(corpus)
    assert ix.document(7).text == corpus[7]
    assert ix.doc_name(7) == "part.jsonl:8"  # infini-gram counts lines from 0
    tok = ByteTokenizer()
    oracle = Oracle(tokenized(tok, corpus))
    for q in _queries(ix, oracle, 11):
        assert ix.count(q) == len(oracle.occurrences(q)), q


def test_we_read_infinigram_pretokenized_u16_index(tmp_path, bpe_tokenizer) -> None:
    """infini-gram's offline path: we write tokenized.0/offset.0, its indexer sorts."""
    corpus = _corpus(9, 50)
    docs = bpe_tokenizer.encode_batch(corpus)
    ig = tmp_path / "ig"
    ig.mkdir()
    offsets, buf = [], bytearray()
    for d in docs:
        offsets.append(len(buf))
        buf += b"\xff\xff" + d.astype("<u2").tobytes()
    (ig / "tokenized.0").write_bytes(bytes(buf))
    (ig / "offset.0").write_bytes(np.array(offsets, dtype="<u8").tobytes())
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.jsonl").write_text('{"text": "unused"}\n')
    _run_indexer(data, ig, "--token_dtype", "u16")
    ours = tmp_path / "ours"
    build_index([Document(t) for t in corpus], ours, bpe_tokenizer)
    assert (ours / "table.0").read_bytes() == (ig / "table.0").read_bytes()
    ix = CorpusIndex.open(ig, tokenizer=bpe_tokenizer)
    oracle = Oracle(tokenized(bpe_tokenizer, corpus))
    for q in _queries(ix, oracle, 13):
        assert ix.count(q) == len(oracle.occurrences(q)), q
