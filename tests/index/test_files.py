"""Index directory handling: manifest, corruption, empty corpus, atomic builds, documents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import (
    ConfigError,
    CorpusError,
    IndexCorruptError,
    TokenizerMismatchError,
)
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

DOCS = [Document(f"line {i}: " + "lorem ipsum dolor sit amet " * (i % 5 + 1),
                 {"path": f"src/f{i % 3}.py", "line": i + 1}) for i in range(30)]


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    build_index(DOCS, tmp_path / "ix", ByteTokenizer(), shard_tokens=500)
    return tmp_path / "ix"


def _truncate(path: Path, by: int = 3) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-by])


def test_manifest_and_info(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["num_docs"] == len(DOCS)
    assert manifest["shards"][0]["files"]["table.0"]["size"] == (built / "table.0").stat().st_size
    ix = CorpusIndex.open(built, verify=True)
    info = ix.info
    assert info["num_docs"] == 30 and info["num_shards"] == ix.num_shards > 1
    assert info["num_tokens"] == sum(len(d.text.encode()) for d in DOCS)
    assert not list(built.parent.glob(".ix.building-*"))


@pytest.mark.parametrize("name", ["table.1", "tokenized.0", "offset.2", "metadata.0"])
def test_truncated_file_is_reported(built: Path, name: str) -> None:
    _truncate(built / name)
    with pytest.raises(IndexCorruptError, match=rf"{name}: size is \d+ bytes.*truncated"):
        CorpusIndex.open(built)


def test_missing_file_is_reported(built: Path) -> None:
    (built / "table.0").unlink()
    with pytest.raises(IndexCorruptError, match=r"table\.0: file missing"):
        CorpusIndex.open(built)


def test_checksums_on_open_and_with_verify(built: Path) -> None:
    path = built / "tokenized.0"
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))
    # a small file is hashed whole on every open (large ones in 64 sampled blocks)
    with pytest.raises(IndexCorruptError, match=r"tokenized\.0: sampled checksum") as exc:
        CorpusIndex.open(built)
    assert exc.value.hint is not None and "--verify" in exc.value.hint
    with pytest.raises(IndexCorruptError, match=r"tokenized\.0: checksum"):
        CorpusIndex.open(built, verify=True)


def test_manifest_mismatch(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    manifest["shards"][0]["num_docs"] += 1
    (built / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match=r"offset\.0: \d+ documents, the manifest"):
        CorpusIndex.open(built)
    (built / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable manifest"):
        CorpusIndex.open(built)


def test_no_manifest_truncated_table(built: Path) -> None:
    (built / "manifest.json").unlink()
    _truncate(built / "table.0", 1)
    with pytest.raises(IndexCorruptError, match=r"table\.0: size"):
        CorpusIndex.open(built, token_dtype="u8")


def test_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no index directory"):
        CorpusIndex.open(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not an index directory"):
        CorpusIndex.open(tmp_path / "empty")


def test_empty_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no documents"):
        build_index([], tmp_path / "ix", ByteTokenizer())
    assert not (tmp_path / "ix").exists()
    assert not list(tmp_path.glob(".ix.building-*"))


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    def docs():
        yield Document("fine")
        raise CorpusError("bad record", path="x.jsonl", line=2)

    with pytest.raises(CorpusError, match="x.jsonl:2"):
        build_index(docs(), tmp_path / "ix", ByteTokenizer(), batch_docs=1)
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_needs_overwrite(built: Path) -> None:
    with pytest.raises(ConfigError, match="already exists"):
        build_index(DOCS[:2], built, ByteTokenizer())
    info = build_index(DOCS[:2], built, ByteTokenizer(), overwrite=True)
    assert info.num_docs == 2 and CorpusIndex.open(built).num_docs == 2


def test_progress_and_documents(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    build_index(DOCS, tmp_path / "ix", ByteTokenizer(), batch_docs=7,
                progress=lambda d, t: seen.append((d, t)))
    assert [d for d, _ in seen] == [7, 14, 21, 28, 30]
    ix = CorpusIndex.open(tmp_path / "ix")
    assert ix.document(4) == DOCS[4]
    assert ix.doc_name(4) == "src/f1.py:5"
    occ = ix.occurrences(ix.tokenizer.encode("line 12:"))
    assert [(o.doc_id, o.token_offset) for o in occ] == [(12, 0)]
    before, match, after = ix.context(12, 2, 6, margin=2)
    assert (before, match, after) == ("li", "ne 12:", " l")
    with pytest.raises(ConfigError, match="out of range"):
        ix.document(30)


def test_tokenizer_mismatch(built: Path, bpe_tokenizer) -> None:
    ix = CorpusIndex.open(built)
    with pytest.raises(TokenizerMismatchError):
        ix.find_spans(["lorem ipsum"], tokenizer=bpe_tokenizer)
    with pytest.raises(TokenizerMismatchError):
        CorpusIndex.open(built, tokenizer=bpe_tokenizer)
    assert ix.find_spans(["x lorem ipsum dolor sit amet lorem"], min_tokens=10,
                         tokenizer=ByteTokenizer())[0][0].start == 1


def test_find_spans_character_offsets(tmp_path: Path, bpe_tokenizer) -> None:
    text = "def add(a, b):\n    return a + b\n\nclass Stack:\n    def push(self, item):\n"
    build_index([Document("préambule " + text + " épilogue")], tmp_path / "ix", bpe_tokenizer)
    ix = CorpusIndex.open(tmp_path / "ix")
    assert (tmp_path / "ix" / "tokenizer.json").is_file()
    query = "ünïcode zzz " + text + " QQQ"
    [spans] = ix.find_spans([query], min_tokens=8)
    assert len(spans) == 1
    span = spans[0]
    assert text.strip() in query[span.start:span.end]
    assert span.count == 1 and span.documents == (0,)
    ids = ix.tokenizer.encode(query)
    assert span.token_end - span.token_start == ix.longest_matches(ids)[span.token_start]


def test_u8_and_u16_pointer_widths(tmp_path: Path) -> None:
    """ptr_size grows with the shard: 1 byte for tiny shards, 2 beyond 256 bytes."""
    build_index([Document("ab" * 60)], tmp_path / "a", ByteTokenizer())
    build_index([Document("ab" * 600)], tmp_path / "b", ByteTokenizer())
    for name, width in (("a", 1), ("b", 2)):
        ix = CorpusIndex.open(tmp_path / name)
        n = ix.num_tokens + 1
        assert (tmp_path / name / "table.0").stat().st_size == n * width
        assert ix.count(np.frombuffer(b"abab", np.uint8)) == ix.num_tokens // 2 - 1


@pytest.mark.parametrize("index_format", ["sa", "fm"])
def test_an_index_larger_than_memory_answers_the_same_without_readahead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_format: str) -> None:
    """An index over half of the machine's memory is mapped for random reads (no
    readahead); its answers are those of the same index mapped as usual."""
    from regurgitate.index import shard as shard_module

    texts = [f"document {i}: " + "the quick brown fox jumps over the lazy dog " * (i % 5 + 1)
             for i in range(40)]
    build_index([Document(text=t) for t in texts], tmp_path / "ix", ByteTokenizer(),
                index_format=index_format)
    assert not shard_module._larger_than_memory(tmp_path / "ix")
    queries = [texts[7][5:200], texts[3] + texts[4][:40], "nothing of the kind here"]
    usual = CorpusIndex.open(tmp_path / "ix").find_spans(queries, min_tokens=12)
    monkeypatch.setattr(shard_module, "machine_memory", lambda: 1024)
    assert shard_module._larger_than_memory(tmp_path / "ix")
    assert CorpusIndex.open(tmp_path / "ix").find_spans(queries, min_tokens=12) == usual
    assert any(usual)
