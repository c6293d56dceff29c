"""The index commands end to end through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import RunCli

PASSAGE = ("It was the best of times, it was the worst of times, it was the age of wisdom, "
           "it was the age of foolishness, it was the epoch of belief.")



@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    rows = [{"text": "Nothing to see here, just some filler text about gardening."},
            {"text": "Intro. " + PASSAGE + " Outro."},
            {"text": PASSAGE}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_build_then_check_json_reports_spans_with_offsets_and_sources(
        corpus: Path, tmp_path: Path, run_cli: RunCli) -> None:
    idx = tmp_path / "idx"
    code, out, _ = run_cli(["index", "build", str(corpus), "-o", str(idx)])
    assert code == 0 and "indexed 3 documents" in out
    text_file = tmp_path / "output.txt"
    text = "The model said: «" + PASSAGE[:120] + "» and then something new entirely."
    text_file.write_text(text, encoding="utf-8")
    code, out, _ = run_cli(["check", str(text_file), "--index", str(idx), "--json",
                            "--min-tokens", "50"])
    assert code == 0
    result = json.loads(out)
    (span,) = result["spans"]
    assert text[span["start"]:span["end"]] == PASSAGE[:120]
    assert span["tokens"] == 120 and span["count"] == 2 and sorted(span["doc_ids"]) == [1, 2]
    from regurgitate.index import CorpusIndex

    ix = CorpusIndex.open(idx)  # documents and sources are the corpus's own names, alike
    assert span["documents"] == span["sources"] == [ix.doc_name(1), ix.doc_name(2)]
    assert result["coverage"] == [{"start": span["start"], "end": span["end"]}]
    assert "verdict" in result and result["works"][0]["doc_id"] in (1, 2)
    code, out, _ = run_cli(["index", "info", str(idx), "--json"])
    assert code == 0 and json.loads(out)["num_docs"] == 3


def test_bad_record_stops_with_path_and_line_or_is_skipped(
        corpus: Path, tmp_path: Path, run_cli: RunCli) -> None:
    with corpus.open("a", encoding="utf-8") as fh:
        fh.write('{"text": "unterminated\n')
    idx = tmp_path / "idx"
    code, _, err = run_cli(["index", "build", str(corpus), "-o", str(idx)])
    assert code == 3
    assert f"{corpus}:4" in err and "--on-error skip" in err and "Traceback" not in err
    assert not (idx / "manifest.json").exists()
    code, out, err = run_cli(["index", "build", str(corpus), "-o", str(idx),
                              "--on-error", "skip"])
    assert code == 0 and "1 bad record(s) skipped" in out and "corpus.jsonl:4" in err


def test_truncated_index_is_a_one_line_error(
        corpus: Path, tmp_path: Path, run_cli: RunCli) -> None:
    idx = tmp_path / "idx"
    assert run_cli(["index", "build", str(corpus), "-o", str(idx)])[0] == 0
    table = idx / "table.0"
    table.write_bytes(table.read_bytes()[:-3])
    code, _, err = run_cli(["check", "-", "--index", str(idx)])
    assert code == 4 and "table.0" in err and "Traceback" not in err


def test_existing_output_needs_force(corpus: Path, tmp_path: Path,
                                     run_cli: RunCli) -> None:
    idx = tmp_path / "idx"
    assert run_cli(["index", "build", str(corpus), "-o", str(idx)])[0] == 0
    code, _, err = run_cli(["index", "build", str(corpus), "-o", str(idx)])
    assert code == 2 and "--force" in err
    assert run_cli(["index", "build", str(corpus), "-o", str(idx), "--force"])[0] == 0


def test_console_script_prints_no_traceback_for_user_mistakes(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "regurgitate.cli.main", "check", "missing.txt",
                           "--index", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2  # a usage error: the folder is not an index at all
    assert "not an index" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2  # the error and maybe a hint


@pytest.mark.parametrize("args", [["nonsense"], ["scan", "--bogus"],
                                  ["check", "--min-tokens", "abc"]])
def test_usage_errors_are_one_message_and_exit_2(args: list[str], run_cli: RunCli) -> None:
    code, out, err = run_cli(args)
    assert code == 2 and "Traceback" not in out + err
    assert "Error" in out + err


def test_compressed_index_checks_like_the_suffix_array(
        corpus: Path, tmp_path: Path, run_cli: RunCli) -> None:
    """``index build --compressed`` (an FM-index): the build line states the size ratio,
    ``index info`` names the format, ``check`` finds what the suffix array finds, and a
    truncated file is a one-line error."""
    code, out, _ = run_cli(["index", "build", str(corpus), "-o", str(tmp_path / "fm"),
                            "--compressed"])
    assert code == 0 and "x the corpus's" in out and "FM-index" in out
    assert run_cli(["index", "build", str(corpus), "-o", str(tmp_path / "sa")])[0] == 0
    code, out, _ = run_cli(["index", "info", str(tmp_path / "fm"), "--json"])
    assert code == 0 and json.loads(out)["format"].startswith("regurgitate-fm-index")
    text_file = tmp_path / "output.txt"
    text_file.write_text("The model said: " + PASSAGE[:120] + " and more.", encoding="utf-8")
    found = {}
    for name in ("sa", "fm"):
        code, out, _ = run_cli(["check", str(text_file), "--index", str(tmp_path / name),
                                "--json", "--min-tokens", "50"])
        assert code == 0
        found[name] = json.loads(out)["spans"]
    assert found["fm"] == found["sa"] and len(found["fm"]) == 1
    bits = tmp_path / "fm" / "fmbits.0"
    bits.write_bytes(bits.read_bytes()[:-3])
    code, _, err = run_cli(["check", str(text_file), "--index", str(tmp_path / "fm")])
    assert code == 4 and "fmbits.0" in err and "Traceback" not in err


def test_memory_budget_sizes_the_shards(corpus: Path, tmp_path: Path, run_cli: RunCli,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A corpus larger than the budget allows builds as several shards (the budget's scale
    shrunk to this corpus's few hundred bytes), in both formats, answering as one shard."""
    from regurgitate.index import CorpusIndex, memory

    assert memory.shard_bytes(memory.BASE_BYTES + (64 << 20), "sa") < 64 << 20
    code, _, err = run_cli(["index", "build", str(corpus), "-o", str(tmp_path / "x"),
                            "--memory", "100MB"])
    assert code == 2 and "too small" in err
    monkeypatch.setattr(memory, "BASE_BYTES", 0)
    monkeypatch.setattr(memory, "MIN_SHARD_BYTES", 1)
    for fmt in ("sa", "fm"):
        assert run_cli(["index", "build", str(corpus), "-o", str(tmp_path / fmt),
                        "--format", fmt, "--memory", "1000"])[0] == 0
    assert run_cli(["index", "build", str(corpus), "-o", str(tmp_path / "one")])[0] == 0
    one = CorpusIndex.open(tmp_path / "one")
    q = one.tokenizer.encode(PASSAGE)
    for fmt in ("sa", "fm"):
        split = CorpusIndex.open(tmp_path / fmt)
        assert split.num_shards > 1 and split.num_docs == one.num_docs
        assert split.maximal_spans(q, min_tokens=20) == one.maximal_spans(q, min_tokens=20)
