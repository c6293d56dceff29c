"""The sampled keys (sample.s) narrow searches without changing any answer."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import IndexCorruptError
from regurgitate.index import CorpusIndex, build_index, kernels
from regurgitate.index import format as fmt
from regurgitate.index.shard import Queries
from regurgitate.types import Document


def test_kernels_and_format_agree_on_the_sampling() -> None:
    assert kernels.SAMPLE_EVERY == fmt.SAMPLE_EVERY


@pytest.fixture(scope="module")
def ix(tmp_path_factory: pytest.TempPathFactory) -> CorpusIndex:
    rng = random.Random(3)
    words = ["  ", "def ", "self", "return ", "\n    ", "x", "\x00", "ÿ", "aaaa", "ab"]
    docs = ["".join(rng.choice(words) for _ in range(rng.randint(10, 800)))
            for _ in range(400)]
    docs += ["a" * 5000, "ab" * 3000]
    path = tmp_path_factory.mktemp("sample") / "ix"
    build_index([Document(d) for d in docs], path, ByteTokenizer())
    return CorpusIndex.open(path)


def test_every_search_answers_as_without_the_sample(ix: CorpusIndex) -> None:
    shard = ix._shards[0]
    assert shard.sample.size == fmt.sample_size(shard.n) > 100
    rng = np.random.default_rng(4)
    data = np.asarray(shard.ds)
    qs = [data[p:p + k] for p, k in zip(rng.integers(0, data.size - 40, 600),
                                        rng.integers(1, 40, 600), strict=True)]
    qs += [rng.integers(0, 256, k).astype(np.uint8) for k in rng.integers(1, 12, 300)]
    qs += [np.array([b], np.uint8) for b in (0, 1, 97, 255)]
    qs += [np.full(k, 97, np.uint8) for k in (1, 7, 8, 9, 64, 5000, 5001)]
    buf = np.concatenate(qs).astype(np.uint8)
    lengths = np.array([q.size for q in qs], dtype=np.int64)
    q = Queries(buf, np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    with_sample = (shard.search(q), shard.search(q, upper=True), shard.rare_ranges(q),
                   shard.longest(q))
    kept = shard.sample
    try:
        shard.sample = np.zeros(0, dtype=np.uint64)
        plain = (shard.search(q), shard.search(q, upper=True), shard.rare_ranges(q),
                 shard.longest(q))
    finally:
        shard.sample = kept
    for a, b in zip(with_sample[:2], plain[:2], strict=True):
        assert (a[0] == b[0]).all()  # the same ranks
        # where the answer's suffix starts with the query, its prefix is known either way
        full = b[2] >= lengths
        assert (a[2][full] == b[2][full]).all() and ((a[2] >= lengths) == full).all()
    assert all((x == y).all() for x, y in zip(with_sample[2], plain[2], strict=True))
    assert (with_sample[3] == plain[3]).all()


def test_a_damaged_sample_is_caught(ix: CorpusIndex, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "ix"
    shutil.copytree(ix.path, copy)
    path = fmt.shard_file(copy, "sample", 0)
    keys = np.fromfile(path, dtype="<u8")
    keys[len(keys) // 2] = keys[len(keys) // 2 + 1] + np.uint64(1)  # out of order
    path.write_bytes(keys.tobytes())
    # the manifest's checksums catch it first; without them the structural check does
    with pytest.raises(IndexCorruptError):
        CorpusIndex.open(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(IndexCorruptError, match="sample"):
        CorpusIndex.open(copy)
