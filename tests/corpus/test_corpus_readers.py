"""Corpus readers on real files of every supported format."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from regurgitate.corpus.readers import ReadStats, detect_format, read_corpus
from regurgitate.errors import CorpusError

RECORDS = [
    {"text": "first document", "id": 1, "lang": "en", "score": 0.5, "ok": True},
    {"text": "second — with unicode ✓", "id": 2, "lang": "fr", "long": "x" * 201,
     "nested": {"a": 1}, "tags": ["a", "b"]},
    {"text": "third", "id": 3, "lang": None},
]


def _jsonl_bytes(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _texts(docs) -> list[str]:
    return [d.text for d in docs]


@pytest.mark.parametrize("name", ["c.jsonl", "c.json", "c.jsonl.gz", "c.jsonl.zst", "C.JSON.GZ"])
def test_jsonl_plain_and_compressed(tmp_path: Path, name: str) -> None:
    data = _jsonl_bytes(RECORDS)
    path = tmp_path / name
    if name.lower().endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    docs = list(read_corpus([path]))
    assert _texts(docs) == [r["text"] for r in RECORDS]
    assert docs[0].meta == {
        "source": str(path), "line": 1, "id": "1",
        "fields": {"id": 1, "lang": "en", "score": 0.5, "ok": True},
    }
    # long strings and non-scalars are left out of fields; None is kept
    assert docs[1].meta["fields"] == {"id": 2, "lang": "fr"}
    assert docs[2].meta["fields"] == {"id": 3, "lang": None}
    assert docs[2].meta["line"] == 3


def test_zst_large_stream_multiple_frames(tmp_path: Path) -> None:
    records = [{"text": f"doc {i} " + "y" * (i % 50)} for i in range(5000)]
    path = tmp_path / "big.jsonl.zst"
    cctx = zstandard.ZstdCompressor()
    half = len(records) // 2
    path.write_bytes(cctx.compress(_jsonl_bytes(records[:half]))
                     + cctx.compress(_jsonl_bytes(records[half:])))
    docs = list(read_corpus([path]))
    assert len(docs) == 5000
    assert docs[-1].meta["line"] == 5000 and docs[-1].text == records[-1]["text"]


def test_text_field_and_string_path(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"content": "abc", "text": 5}\n')
    docs = list(read_corpus(str(path), text_field="content"))
    assert _texts(docs) == ["abc"]
    assert docs[0].meta["fields"] == {"text": 5}
    assert docs[0].meta["source"] == str(path)


def test_bad_jsonl_lines_stop(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "good"}\n{"text": "broken\n')
    docs = read_corpus([path])
    assert next(docs).text == "good"
    with pytest.raises(CorpusError) as info:
        next(docs)
    assert info.value.path == str(path) and info.value.line == 2
    assert f"{path}:2: invalid JSON" in str(info.value)


def test_bad_records_skip_reports_each(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        b'{"text": "one"}',
        b'{"text": "bro',  # invalid JSON
        b'{"text": "caf\xe9"}',  # latin-1 byte: invalid UTF-8
        b'{"body": "no text field"}',  # missing field
        b'{"text": 42}',  # non-string
        b'{"text": null}',  # non-string
        b'[1, 2]',  # not an object
        b'',  # blank line: ignored, not an error
        b'{"text": "   "}',  # empty document: skipped silently, counted
        b'{"text": ""}',
        b'{"text": "two"}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    skipped: list[CorpusError] = []
    stats = ReadStats()
    docs = list(read_corpus([path], on_error="skip", on_skip=skipped.append, stats=stats))
    assert _texts(docs) == ["one", "two"]
    assert [d.meta["line"] for d in docs] == [1, 11]
    assert [e.line for e in skipped] == [2, 3, 4, 5, 6, 7]
    assert "invalid UTF-8" in skipped[1].message
    assert "no field 'text'" in skipped[2].message and "body" in str(skipped[2])
    assert (stats.files, stats.documents, stats.skipped, stats.empty) == (1, 2, 6, 2)
    assert len(stats.errors) == 6
    with pytest.raises(CorpusError, match="invalid UTF-8"):
        list(read_corpus([_only_line(tmp_path, lines[2])]))


def _only_line(tmp_path: Path, line: bytes) -> Path:
    path = tmp_path / "one.jsonl"
    path.write_bytes(line + b"\n")
    return path


def test_json_array_gets_hint(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text('[\n{"text": "a"}\n]\n')
    with pytest.raises(CorpusError) as info:
        list(read_corpus([path]))
    assert info.value.hint and "one JSON object per line" in info.value.hint


def test_truncated_gzip_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(gzip.compress(_jsonl_bytes(RECORDS * 200))[:-40])
    with pytest.raises(CorpusError, match="cannot decompress"):
        list(read_corpus([path], on_error="skip"))


def test_corrupt_zst_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 20)
    with pytest.raises(CorpusError, match="cannot decompress"):
        list(read_corpus([path]))


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    table = pa.table({
        "text": ["alpha", None, "", "gamma"] * 600,
        "n": list(range(2400)),
        "blob": ["z" * 300] * 2400,
    })
    pq.write_table(table, path, row_group_size=700)
    skipped: list[CorpusError] = []
    stats = ReadStats()
    docs = list(read_corpus([path], on_error="skip", on_skip=skipped.append, stats=stats))
    assert len(docs) == 1200
    # rows are numbered from 1, like JSON lines, in metadata and in errors
    assert docs[1].meta == {"source": str(path), "row": 4, "id": f"{path}:4",
                            "fields": {"n": 3}}
    assert docs[-1].meta["row"] == 2400
    assert len(skipped) == 600 and skipped[0].line == 2
    assert str(skipped[0]).startswith(f"{path}: row 2: field 'text' is NoneType")
    assert stats.empty == 600
    with pytest.raises(CorpusError, match="row 2: field 'text' is NoneType, not a string"):
        list(read_corpus([path]))
    with pytest.raises(CorpusError, match="no column 'body'") as info:
        list(read_corpus([path], text_field="body", on_error="skip"))
    assert "text" in (info.value.hint or "")


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("hello")
    with pytest.raises(CorpusError, match="not a readable Parquet file"):
        list(read_corpus([path]))


def test_text_directory(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "b.txt").write_text("bee")
    (root / "a.md").write_text("# ay")
    (root / "sub" / "code.py").write_text("print('hi')\n")
    (root / "sub" / "deeper" / "NOTES").write_text("no extension")
    (root / "sub" / "empty.txt").write_text("\n\n")
    (root / ".hidden.txt").write_text("hidden")
    (root / ".git" / "config").write_text("hidden too")
    (root / "latin.txt").write_bytes(b"caf\xe9")
    stats = ReadStats()
    skipped: list[CorpusError] = []
    docs = list(read_corpus([root], on_error="skip", on_skip=skipped.append, stats=stats))
    assert [d.meta["path"] for d in docs] == [
        "a.md", "b.txt", "sub/code.py", "sub/deeper/NOTES",
    ]
    assert _texts(docs) == ["# ay", "bee", "print('hi')\n", "no extension"]
    assert all(d.meta["source"] == str(root) for d in docs)
    assert len(skipped) == 1 and skipped[0].path == str(root / "latin.txt")
    assert (stats.files, stats.documents, stats.empty, stats.skipped) == (6, 4, 1, 1)
    with pytest.raises(CorpusError, match="invalid UTF-8") as info:
        list(read_corpus([root]))
    assert "--on-error skip" in (info.value.hint or "")
    (root / "latin.txt").unlink()
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(CorpusError, match=r"image\.png: a binary file") as info:
        list(read_corpus([root]))
    assert "--on-error skip" in (info.value.hint or "")


def test_single_text_file(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("whole file\nis one document")
    docs = list(read_corpus([path]))
    assert _texts(docs) == ["whole file\nis one document"]
    assert docs[0].meta == {"source": str(path), "path": str(path), "id": str(path)}


def test_datasets_save_to_disk(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({
        "text": [f"row {i}" for i in range(30)] + [""],
        "label": list(range(31)),
    })
    single = tmp_path / "single"
    ds.save_to_disk(str(single), num_shards=3)
    assert detect_format(single) == "dataset"
    stats = ReadStats()
    docs = list(read_corpus([single], stats=stats))
    assert _texts(docs) == [f"row {i}" for i in range(30)]
    assert [d.meta["row"] for d in docs] == list(range(1, 31))
    assert docs[7].meta == {"source": str(single), "row": 8, "id": f"{single}:8",
                            "fields": {"label": 7}}
    assert stats.files == 3 and stats.empty == 1

    both = tmp_path / "dict"
    datasets.DatasetDict({
        "train": ds.select(range(5)),
        "test": ds.select([20, 10]),  # an indices mapping: save_to_disk flattens it
    }).save_to_disk(str(both))
    assert detect_format(both) == "datasetdict"
    docs = list(read_corpus([both]))
    assert [(d.meta["split"], d.meta["row"], d.text) for d in docs] == [
        ("train", 1, "row 0"), ("train", 2, "row 1"), ("train", 3, "row 2"),
        ("train", 4, "row 3"), ("train", 5, "row 4"),
        ("test", 1, "row 20"), ("test", 2, "row 10"),
    ]


def test_dataset_with_missing_arrow_file(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    root = tmp_path / "ds"
    datasets.Dataset.from_dict({"text": ["a", "b"]}).save_to_disk(str(root))
    for arrow in root.glob("*.arrow"):
        arrow.unlink()
    with pytest.raises(CorpusError, match="missing"):
        list(read_corpus([root]))


def test_many_paths_in_order(tmp_path: Path) -> None:
    a = tmp_path / "a.jsonl"
    a.write_text('{"text": "from a"}\n')
    d = tmp_path / "dir"
    d.mkdir()
    (d / "x.txt").write_text("from dir")
    stats = ReadStats()
    assert _texts(read_corpus([d, a, str(a)], stats=stats)) == ["from dir", "from a", "from a"]
    assert stats.files == 3 and stats.documents == 3


def test_empty_corpus(tmp_path: Path) -> None:
    empty_file = tmp_path / "empty.jsonl"
    empty_file.write_bytes(b"")
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    stats = ReadStats()
    assert list(read_corpus([empty_file, empty_dir], stats=stats)) == []
    assert (stats.files, stats.documents) == (1, 0)
    assert list(read_corpus([])) == []


def test_missing_path_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file") as info:
        list(read_corpus([tmp_path / "nope.jsonl"]))
    assert info.value.hint and ".parquet" in info.value.hint
    other = tmp_path / "data.pdf"
    other.write_bytes(b"%PDF-1.4 binary")
    with pytest.raises(CorpusError, match="a PDF file, not text") as info:
        list(read_corpus([other], on_error="skip"))
    assert info.value.hint and "extract the text first" in info.value.hint
    with pytest.raises(CorpusError, match="on_error"):
        list(read_corpus([other], on_error="ignore"))  # type: ignore[arg-type]


def test_paths_checked_at_once_records_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(CorpusError, match="no such file"):
        read_corpus([path, tmp_path / "missing.jsonl"])  # before any iteration
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(CorpusError, match="a PDF file"):
        read_corpus([path, pdf])
    docs = read_corpus([path])
    assert next(docs).text == "ok"  # the bad second line is not read yet
    with pytest.raises(CorpusError, match=":2: invalid JSON"):
        next(docs)


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n")
    return path


def test_text_directory_does_not_follow_directory_links(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "link.txt").symlink_to(root / "sub" / "a.txt")
    docs = list(read_corpus([root]))
    assert [d.meta["path"] for d in docs] == ["link.txt", "sub/a.txt"]


def test_one_rule_for_files_and_folders(tmp_path: Path) -> None:
    """Issue 41: a .csv file was refused but a folder holding it indexed; a file without an
    extension likewise; a folder of .gz documentation stopped at the first file as binary;
    with --on-error skip the hint still said to pass it; a PDF got a raw decode error."""
    import gzip

    root = tmp_path / "docs"
    root.mkdir()
    (root / "table.csv").write_text("a,b\n1,2\n")
    (root / "README").write_text("no extension")
    (root / "guide.txt.gz").write_bytes(gzip.compress(b"compressed guide"))
    (root / "rows.jsonl").write_text('{"text": "a record"}\n')
    (root / "paper.pdf").write_bytes(b"%PDF-1.5 ...")
    (root / "blob.bin").write_bytes(b"\x00\x01\x02")
    skipped: list[CorpusError] = []
    docs = list(read_corpus([root], on_error="skip", on_skip=skipped.append))
    assert sorted(d.text for d in docs) == ["a record", "a,b\n1,2\n", "compressed guide",
                                            "no extension"]
    assert sorted(Path(e.path or "").name for e in skipped) == ["blob.bin", "paper.pdf"]
    pdf = next(e for e in skipped if (e.path or "").endswith(".pdf"))
    assert "extract the text first" in (pdf.hint or "")
    assert all("--on-error skip" not in (e.hint or "") for e in skipped)
    # the same files given alone follow the same rule
    for name in ("table.csv", "README", "guide.txt.gz"):
        alone = list(read_corpus([root / name]))
        assert [d.text for d in alone] == [d.text for d in docs
                                           if d.meta.get("path") == name]
    with pytest.raises(CorpusError, match="a PDF file") as info:
        list(read_corpus([root / "paper.pdf"]))
    assert "extract the text first" in (info.value.hint or "")
    with pytest.raises(CorpusError, match="a binary file") as info:
        list(read_corpus([root]))
    assert "--on-error skip" in (info.value.hint or "") or "extract" in (info.value.hint or "")
