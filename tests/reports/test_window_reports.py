"""A verbatim finding's most repeated window, from a real run store, in every place a span
is reported: the stored payload (and old payloads without it), the export, the terminal and
HTML reports and the evidence packets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from regurgitate.cli.main import main
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.detectors import VerbatimDetector
from regurgitate.findings import VerbatimSpan, payload_from_json
from regurgitate.index import CorpusIndex, build_index
from regurgitate.scan.pipeline import detect_pending
from regurgitate.store import RunStore
from regurgitate.types import Document, Generation, GenerationSettings, Prompt, RunSpec


def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7)))
                    for _ in range(n))


@pytest.fixture(scope="module")
def run_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A run whose one output copies a passage held by 100 works plus a few characters of
    work-000 (the span occurs once; its passage 100 times)."""
    tmp = tmp_path_factory.mktemp("winrun")
    rng = random.Random(8)
    passage = _words(rng, 60)
    docs = [Document(f"{_words(rng, 20)} {passage} {_words(rng, 20)}", {"id": f"work-{i:03d}"})
            for i in range(100)]
    build_index(docs, tmp / "ix", ByteTokenizer())
    ix = CorpusIndex.open(tmp / "ix")
    at = docs[0].text.index(passage) + len(passage)
    copy = passage + docs[0].text[at:at + 6]
    db = tmp / "run.db"
    with RunStore.open(db) as store:
        store.init_run(RunSpec(target="hf:x", attacks=("a",), index=str(tmp / "ix"),
                               settings={"min_tokens": 50}, tool_version="t"))
        store.add_prompts([Prompt(id="a/0", attack="a", text="go",
                                  settings=GenerationSettings())])
        store.add_generations([Generation(prompt_id="a/0", text="Sure:" + copy + "|...")])
        detect_pending(store, [VerbatimDetector(ix, min_tokens=50, max_docs=10)])
    return db, tmp / "ix", copy


def _cli(args: list[str]) -> None:
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code


def test_the_finding_stores_the_window_and_old_payloads_still_decode(run_db) -> None:
    db, _, copy = run_db
    with RunStore.open(db) as store:
        (f,) = list(store.findings())
    span = f.payload_as(VerbatimSpan)
    assert span is not None and span.count == 1 and span.text == copy
    win = span.window
    assert win is not None and (win.tokens, win.count) == (50, 100)
    assert win.sources == tuple(f"work-{i:03d}" for i in range(10)) and len(win.documents) == 10
    assert win.text in copy and len(win.text) == 50
    old = {k: v for k, v in span.to_json().items() if k != "window"}
    decoded = payload_from_json("verbatim", 1, old)
    assert isinstance(decoded, VerbatimSpan) and decoded.window is None
    assert payload_from_json("verbatim", 1, span.to_json()) == span


def test_export_terminal_html_and_evidence_show_the_window(
        run_db, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    db, ix_path, copy = run_db
    _cli(["export", str(db), "--format", "jsonl", "-o", str(tmp_path / "x.jsonl")])
    (row,) = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    (finding,) = row["findings"]
    assert finding["data"]["count"] == 1 and finding["data"]["window"]["count"] == 100
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "120")
    _cli(["report", str(db), "--html", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    table = out[out.index("Top memorized sequences"):]
    header = next(line for line in table.splitlines() if "Corpus" in line)
    assert header.split()[:3] == ["Tokens", "Corpus", "Window"]
    row_line = next(line for line in table.splitlines()
                    if line.split()[:1] == [str(len(copy))])
    assert row_line.split()[1:3] == ["1", "100"]  # the whole span's count, the window's
    assert "Window: of its most repeated 50-token window" in " ".join(table.split())
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "its most repeated 50-token window 100× in corpus (work-000 +9)" in page
    assert "Most repeated window" in page
    _cli(["export", str(db), "--format", "evidence", "-o", str(tmp_path / "ev"),
          "--index", str(ix_path)])
    packet = json.loads((tmp_path / "ev" / "0001.json").read_text(encoding="utf-8"))
    assert packet["corpus_count"] == 1 and packet["window"]["count"] == 100
    assert [s["id"] for s in packet["window"]["sources"]] == \
        [f"work-{i:03d}" for i in range(10)]
    assert "Most repeated 50-token window: 100&times;" in \
        (tmp_path / "ev" / "0001.html").read_text(encoding="utf-8")
    listing = json.loads((tmp_path / "ev" / "index.json").read_text(encoding="utf-8"))
    assert listing[0]["window_count"] == 100
