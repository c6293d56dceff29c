"""Damaged index files are caught, never used: flipped bytes in any file give
:class:`IndexCorruptError` (exit 4, one line, a hint to run ``index info --verify``), never an
IndexError traceback, on open (checksums, invariants) or while querying (bounds checks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from regurgitate.cli.main import main
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import IndexCorruptError
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

PASSAGE = ("It was the best of times, it was the worst of times, it was the age of wisdom, "
           "it was the age of foolishness, it was the epoch of belief.")
DOCS = [Document(f"record {i}: " + "lorem ipsum dolor sit amet " * (i % 4 + 1) + PASSAGE,
                 {"path": f"f{i}.txt", "line": i + 1}) for i in range(25)]
FILES = ["table.0", "prefix.0", "offset.0", "tokenized.0"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "ix"
    build_index(DOCS, path, ByteTokenizer())
    return path


def _copy(pristine: Path, dest: Path, *, manifest: bool = True) -> Path:
    shutil.copytree(pristine, dest)
    if not manifest:
        (dest / "manifest.json").unlink()
    return dest


def _flip(path: Path, rng: np.random.Generator, count: int) -> None:
    data = bytearray(path.read_bytes())
    for pos in rng.integers(0, len(data), count):
        data[pos] ^= int(rng.integers(1, 256))
    path.write_bytes(bytes(data))


def _queries(ix: CorpusIndex) -> None:
    tok = ByteTokenizer()
    query = tok.encode("The model wrote: " + PASSAGE + " lorem ipsum dolor sit amet")
    for span in ix.maximal_spans(query, min_tokens=20):
        for d in span.documents:
            ix.doc_name(d)
            ix.document(d)
    ix.count(tok.encode("lorem ipsum"))
    ix.occurrences(tok.encode("it was the"), limit=50)
    ix.longest_matches(query)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", FILES)
def test_flipped_bytes_are_caught_on_open(pristine: Path, tmp_path: Path, name: str) -> None:
    for trial in range(5):
        ix_dir = _copy(pristine, tmp_path / f"ix{trial}")
        _flip(ix_dir / name, np.random.default_rng(trial), 1 + trial)
        with pytest.raises(IndexCorruptError, match=name.replace(".", r"\.")) as exc:
            CorpusIndex.open(ix_dir)
        assert exc.value.hint is not None and "index info" in exc.value.hint


@pytest.mark.parametrize("name", ["table.0", "prefix.0", "offset.0", "metaoff.0"])
def test_without_checksums_damage_is_an_index_error_never_a_crash(
        pristine: Path, tmp_path: Path, name: str) -> None:
    """An index without a manifest (as infini-gram's indexer writes) has no checksums: the
    open-time invariants and the query-time bounds checks must still catch what they can,
    and nothing may fail with anything but IndexCorruptError."""
    caught = 0
    for trial in range(12):
        ix_dir = _copy(pristine, tmp_path / f"ix{trial}", manifest=False)
        _flip(ix_dir / name, np.random.default_rng(100 + trial), 1 + trial % 4)
        try:
            ix = CorpusIndex.open(ix_dir, token_dtype="u8")
            _queries(ix)
        except IndexCorruptError as exc:
            caught += 1
            assert exc.hint is not None and "--verify" in exc.hint
    if name != "metaoff.0":  # a flip may leave metaoff monotone; the others always show
        assert caught >= 6


def test_tokenized_damage_without_checksums_never_crashes(pristine: Path,
                                                          tmp_path: Path) -> None:
    caught_at_open = 0
    for trial in range(12):
        ix_dir = _copy(pristine, tmp_path / f"ix{trial}", manifest=False)
        _flip(ix_dir / "tokenized.0", np.random.default_rng(200 + trial), 1 + trial)
        try:
            ix = CorpusIndex.open(ix_dir, token_dtype="u8")
        except IndexCorruptError as exc:
            caught_at_open += 1
            assert exc.hint is not None and "--verify" in exc.hint
            continue
        try:  # damage the open-time checks let through: the queries must cope
            _queries(ix)
        except IndexCorruptError as exc:
            assert exc.hint is not None and "--verify" in exc.hint
    # with byte tokens every suffix starts at a byte, so a flipped byte moves a suffix out of
    # its prefix bucket: the open-time invariants see it
    assert caught_at_open >= 6


def test_pointer_outside_the_data_is_caught_while_querying(pristine: Path,
                                                           tmp_path: Path) -> None:
    ix_dir = _copy(pristine, tmp_path / "ix", manifest=False)
    ix = CorpusIndex.open(ix_dir, token_dtype="u8")
    tok = ByteTokenizer()
    word = tok.encode("lorem ipsum")
    lo = min(ix._shards[0].search(ix._single(word))[0])  # first rank matching the query
    table = ix_dir / "table.0"
    data = bytearray(table.read_bytes())
    width = ix._shards[0].ptr_size
    data[int(lo) * width:(int(lo) + 1) * width] = b"\xff" * width
    table.write_bytes(bytes(data))
    try:
        ix2 = CorpusIndex.open(ix_dir, token_dtype="u8")
    except IndexCorruptError:
        return  # the open-time sample saw it
    with pytest.raises(IndexCorruptError, match=r"table\.0: .*outside the token data"):
        ix2.occurrences(word, limit=100)


@pytest.mark.parametrize("name", FILES)
def test_check_and_scan_exit_4_with_one_line(pristine: Path, tmp_path: Path, name: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ix_dir = _copy(pristine, tmp_path / "ix")
    _flip(ix_dir / name, np.random.default_rng(7), 3)
    text = tmp_path / "out.txt"
    text.write_text(PASSAGE, encoding="utf-8")
    code, err = run(["check", str(text), "--index", str(ix_dir)], capsys)
    assert code == 4 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error:") and name in lines[0]
    assert len(lines) == 2 and "--verify" in lines[1]
    code, err = run(["scan", "--target", "reference", "--attack", "divergence", "--index",
                     str(ix_dir), "--run", str(tmp_path / "run.db"), "--no-html"], capsys)
    assert code == 4 and "Traceback" not in err and name in err and "--verify" in err


def test_manifest_sizes_still_checked(pristine: Path, tmp_path: Path) -> None:
    ix_dir = _copy(pristine, tmp_path / "ix")
    manifest = json.loads((ix_dir / "manifest.json").read_text())
    manifest["shards"][0]["files"]["offset.0"]["size"] += 8
    (ix_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match=r"offset\.0: size"):
        CorpusIndex.open(ix_dir)
