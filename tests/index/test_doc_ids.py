"""Documents are named by the corpus's own ids (and keep chosen metadata) across JSONL,
Parquet, text directories, infini-gram-built indexes and the bundled reference corpus."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.corpus.readers import read_corpus
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import ConfigError, CorpusError
from regurgitate.index import CorpusIndex, build_index

PASSAGE = ("It was the best of times, it was the worst of times, it was the age of wisdom, "
           "it was the age of foolishness, it was the epoch of belief.")


def _build(paths: list[Path], out: Path, **kw: object) -> CorpusIndex:
    build_index(read_corpus(paths, **kw), out, ByteTokenizer())  # type: ignore[arg-type]
    return CorpusIndex.open(out)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_ids_default_to_the_id_field_else_path_line(tmp_path: Path) -> None:
    with_ids = _jsonl(tmp_path / "a.jsonl", [
        {"id": "t007109", "text": "first " + PASSAGE, "url": "https://x.example/1",
         "title": "One"},
        {"id": 42, "text": "second document"}])
    without = _jsonl(tmp_path / "b.jsonl", [{"text": "third"}, {"text": "fourth"}])
    ix = _build([with_ids, without], tmp_path / "ix", meta_fields=["url", "title"])
    assert [ix.doc_name(d) for d in range(4)] == \
        ["t007109", "42", f"{without}:1", f"{without}:2"]
    meta = ix.document_meta(0)
    assert meta["url"] == "https://x.example/1" and meta["title"] == "One"
    assert "url" not in ix.document_meta(1)


def test_explicit_id_field(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"doc_id": "A-1", "id": 9, "text": "alpha"},
                                         {"text": "no id here"},
                                         {"doc_id": "A-3", "text": "gamma"}])
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: record has no id field 'doc_id'"):
        _build([path], tmp_path / "ix", id_field="doc_id")
    skipped: list[CorpusError] = []
    ix = _build([path], tmp_path / "ix2", id_field="doc_id", on_error="skip",
                on_skip=skipped.append)
    assert [ix.doc_name(d) for d in range(ix.num_docs)] == ["A-1", "A-3"]
    assert len(skipped) == 1
    with pytest.raises(ConfigError, match="'source'"):
        read_corpus([path], meta_fields=["source"])


def test_parquet_ids_and_rows(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["alpha", "beta"], "title": ["A", "B"]}), path)
    ix = _build([path], tmp_path / "ix", meta_fields=["title"])
    assert [ix.doc_name(0), ix.doc_name(1)] == [f"{path}:1", f"{path}:2"]
    assert ix.document_meta(1)["title"] == "B" and ix.document_meta(1)["row"] == 2
    keyed = tmp_path / "e.parquet"
    pq.write_table(pa.table({"text": ["alpha"], "key": ["k-1"]}), keyed)
    assert _build([keyed], tmp_path / "ix2", id_field="key").doc_name(0) == "k-1"


def test_text_directory_ids_are_paths(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.md").write_text("beta")
    ix = _build([root], tmp_path / "ix")
    assert [ix.doc_name(0), ix.doc_name(1)] == [str(root / "a.txt"), str(root / "sub/b.md")]


def test_cli_build_options_and_check_sources(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _jsonl(tmp_path / "train.jsonl", [
        {"uid": "w-1", "text": "filler about gardening", "title": "Garden"},
        {"uid": "w-2", "text": "Intro. " + PASSAGE, "title": "Dickens"}])
    out = tmp_path / "ix"

    def run(args: list[str]) -> tuple[int, str]:
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().out

    code, _ = run(["index", "build", str(corpus), "-o", str(out), "--id-field", "uid",
                   "--meta-fields", "title"])
    assert code == 0
    ix = CorpusIndex.open(out)
    assert ix.doc_name(1) == "w-2" and ix.document_meta(1)["title"] == "Dickens"
    text = tmp_path / "gen.txt"
    text.write_text("The model said " + PASSAGE, encoding="utf-8")
    code, out_json = run(["check", str(text), "--index", str(out), "--json"])
    assert code == 0
    spans = json.loads(out_json)["spans"]
    assert spans and all("w-2" in s["sources"] for s in spans)


def test_infinigram_built_index_exposes_ids(tmp_path: Path) -> None:
    pytest.importorskip("infini_gram.engine")
    data = tmp_path / "data"
    data.mkdir()
    _jsonl(data / "part.jsonl", [{"id": f"doc-{i}", "text": f"text number {i}"}
                                 for i in range(5)])
    cmd = [sys.executable, "-m", "infini_gram.indexing", "--data_dir", str(data),
           "--save_dir", str(tmp_path / "ig"), "--mem", "1", "--cpus", "1", "--ulimit",
           "20000", "--token_dtype", "u8", "--add_metadata"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ix = CorpusIndex.open(tmp_path / "ig")
    assert [ix.doc_name(d) for d in range(5)] == [f"doc-{i}" for i in range(5)]


def test_reference_corpus_documents_carry_their_manifest_ids(tmp_path: Path) -> None:
    from regurgitate.reference.text.paths import corpus_path
    from regurgitate.reference.text.reader import iter_corpus_file

    docs = list(itertools.islice(iter_corpus_file(corpus_path()), 4))
    build_index(docs, tmp_path / "ix", ByteTokenizer())
    ix = CorpusIndex.open(tmp_path / "ix")
    assert [ix.doc_name(d) for d in range(4)] == [d.meta["id"] for d in docs]
    assert ix.doc_name(3) == "ref-00003"


def test_local_and_remote_indexes_name_documents_by_one_rule() -> None:
    from regurgitate.index.spans import doc_label

    assert doc_label({"path": "p.jsonl", "linenum": 7}, 3) == "p.jsonl:8"  # infini-gram's
    assert doc_label({"id": "x", "path": "p", "line": 3}, 3) == "x"
    assert doc_label({"path": "p", "row": 4}, 3) == "p:4"
    assert doc_label({"metadata": {"id": "w1"}}, 3) == "w1"
    assert doc_label({}, 3) == "doc 3"
