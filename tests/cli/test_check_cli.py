"""`regurgitate check` end to end: exact spans with their own counts, coverage, HTML."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.types import Document

from .conftest import RunCli


def test_check_json_spans_are_exact_and_coverage_is_their_union(tmp_path: Path,
                                                                run_cli: RunCli) -> None:
    rng = random.Random(2)
    a = "".join(rng.choice("abcdefghijklm") for _ in range(120))
    b = a[58:64] + "".join(rng.choice("nopqrstuvwxyz") for _ in range(54))
    rows = [{"id": f"ten-{i}", "text": f"<{i}>{a}[{i}]"} for i in range(10)]
    rows += [{"id": f"hundred-{i}", "text": f"#{i}#{b}({i})"} for i in range(100)]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    idx = tmp_path / "idx"
    assert run_cli(["index", "build", str(corpus), "-o", str(idx)])[0] == 0
    text = a[:64] + b[6:]
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    html = tmp_path / "c.html"
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(idx), "--json",
                            "--max-docs", "200", "--html", str(html)])
    assert code == 0
    res = json.loads(out)
    ix = CorpusIndex.open(idx)
    assert [(s["start"], s["end"], s["count"]) for s in res["spans"]] == [(0, 64, 10),
                                                                         (58, 118, 100)]
    for s in res["spans"]:  # every span's own text occurs exactly `count` times
        assert ix.count(ix.tokenizer.encode(s["text"])) == s["count"]
        assert s["documents"] == [ix.doc_name(d) for d in s["doc_ids"]]
    assert len(res["spans"][1]["documents"]) == 100
    assert res["coverage"] == [{"start": 0, "end": 118}] and res["covered_share"] == 1.0
    assert "<!DOCTYPE html>" in html.read_text(encoding="utf-8")
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(idx)])
    assert code == 0 and "verdict: Mostly verbatim copy" in out and "Closest works" in out


def test_check_names_the_sources_of_the_passage_a_copy_is_built_around(
        tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A passage held by 100 works plus a few characters of one of them: the span occurs
    once, in one work; its most repeated window 100 times, its first 10 sources named."""
    rng = random.Random(5)

    def words(n: int) -> str:
        return " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7)))
                        for _ in range(n))

    passage = words(60)
    docs = [Document(f"{words(20)} {passage} {words(20)}", {"id": f"work-{i:03d}"})
            for i in range(100)]
    build_index(docs + [Document(words(200), {"id": f"bg-{i}"}) for i in range(20)],
                tmp_path / "ix", ByteTokenizer())
    ix = CorpusIndex.open(tmp_path / "ix")
    at = docs[0].text.index(passage) + len(passage)
    text = passage + docs[0].text[at:at + 6]
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    args = ["check", str(tmp_path / "t.txt"), "--index", str(tmp_path / "ix")]
    code, out, _ = run_cli([*args, "--json"])
    assert code == 0
    (span,) = json.loads(out)["spans"]
    assert (span["count"], span["sources"]) == (1, ["work-000"])
    win = span["window"]
    assert (win["tokens"], win["count"]) == (50, 100)
    assert win["sources"] == [f"work-{i:03d}" for i in range(10)]  # --max-docs 10
    assert win["doc_ids"] == list(range(10))
    assert win["text"] == text[win["start"]:win["end"]] and win["end"] - win["start"] == 50
    assert ix.count(ix.tokenizer.encode(win["text"])) == 100
    monkeypatch.setenv("COLUMNS", "160")  # the count cell on one line
    code, out, _ = run_cli([*args, "--html", str(tmp_path / "c.html")])
    assert code == 0
    flat = " ".join(out.split())
    assert "1 (whole span) · 100 (its most repeated 50-byte window: work-000 +99)" in flat
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "Most repeated window" in page and "work-000 +9" in page


def test_check_on_the_reference_index_names_the_planted_passage(
        tmp_path: Path, run_cli: RunCli, cache_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The passage planted in 100 documents, with 12 characters of ref-00000 before it:
    one span seen once, its most repeated 50-token window 100 times."""
    from regurgitate import reference
    from regurgitate.targets.reference import reference_index

    path = reference_index(cache_dir, lambda _: None)
    ix = CorpusIndex.open(path)
    item = reference.load_manifest().by_id("passage-x100-01")
    assert item.copies == 100
    home = next(d for d in range(ix.num_docs) if ix.doc_name(d) == "ref-00000")
    doc = ix.document(home).text
    at = doc.index(item.text)
    text = doc[at - 12:at + len(item.text)]
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(path), "--json"])
    assert code == 0
    (span,) = json.loads(out)["spans"]
    assert (span["count"], span["sources"]) == (1, ["ref-00000"])
    win = span["window"]
    assert (win["tokens"], win["count"]) == (50, 100) and len(win["sources"]) == 10
    assert set(win["sources"]) <= set(item.doc_ids) and win["text"] in item.text
    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(path)])
    assert code == 0
    assert "1 (whole span) · 100 (its most repeated 50-token window: ref-00000 +99)" in \
        " ".join(out.split())


def _bytes_index(tmp_path: Path, run_cli: RunCli) -> tuple[Path, str]:
    """A byte-level index (the `index build` default) and a text with one long copy."""
    rng = random.Random(5)
    docs = ["".join(rng.choice("abcdefghij klmnop") for _ in range(400)) for _ in range(4)]
    corpus = tmp_path / "b.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                              for i, t in enumerate(docs)), encoding="utf-8")
    idx = tmp_path / "bidx"
    assert run_cli(["index", "build", str(corpus), "-o", str(idx)])[0] == 0
    filler = "\n".join(f"line {i} of the user's own text, nothing copied" for i in range(300))
    return idx, filler + "\n" + docs[1][:200] + "\n" + filler


def test_a_bytes_index_never_calls_its_bytes_tokens(tmp_path: Path, run_cli: RunCli) -> None:
    idx, text = _bytes_index(tmp_path, run_cli)
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    html = tmp_path / "b.html"
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(idx),
                            "--html", str(html)])
    assert code == 0, out
    verdict = " ".join(out[out.index("verdict:"):].split())
    assert ">= 50 bytes" in verdict and "token" not in verdict
    page = html.read_text(encoding="utf-8")
    assert "tokens)" not in page and "bytes) checked" in page
    data = json.loads(run_cli(["check", str(tmp_path / "t.txt"), "--index", str(idx),
                               "--json"])[1])
    assert data["unit"] == "bytes" and "token" not in data["verdict"]


def test_check_output_scales_quiet_is_the_verdict_and_a_pipe_gets_no_echo(
        tmp_path: Path, run_cli: RunCli) -> None:
    idx, text = _bytes_index(tmp_path, run_cli)
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    code, out, _ = run_cli(["check", "-q", str(tmp_path / "t.txt"), "--index", str(idx)])
    assert code == 0 and out.startswith("verdict: ") and len(out.splitlines()) <= 3
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(idx)])
    assert code == 0 and "of the user's own text" not in out  # not a terminal: no echo
    assert len(out.splitlines()) < 40 and "verdict: " in out
