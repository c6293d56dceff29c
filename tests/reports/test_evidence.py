"""Evidence packets from a real run store, written through the CLI."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from regurgitate.cli.main import main
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.detectors import VerbatimDetector
from regurgitate.index import CorpusIndex, build_index
from regurgitate.scan.pipeline import detect_pending
from regurgitate.store import RunStore
from regurgitate.types import Document, Generation, GenerationSettings, Prompt, RunSpec


def _run(tmp_path: Path) -> tuple[Path, Path, str, str]:
    rng = random.Random(5)
    a = "".join(rng.choice("abcdefgh ") for _ in range(120))
    b = a[-8:] + "".join(rng.choice("nopqrstu ") for _ in range(90))
    docs = [Document(f"<{i}>{a}</{i}>", {"id": f"novel-{i}", "title": f"Novel <{i}>",
                                          "url": "https://ex.org/n?x=1&y=2"})
            for i in range(3)]
    docs += [Document(f"[{i}]{b}[{i}]", {"id": f"news-{i}"}) for i in range(7)]
    ix_path = tmp_path / "ix"
    build_index(docs, ix_path, ByteTokenizer())
    ix = CorpusIndex.open(ix_path)
    db = tmp_path / "run.db"
    output = "<script>alert(1)</script> " + a + b[8:] + " done."
    with RunStore.open(db) as store:
        store.init_run(RunSpec(target="hf:x", attacks=("a",), index=str(ix_path),
                               tool_version="t"))
        p = Prompt(id="a/0", attack="a", text="Tell me <b>everything</b>",
                   settings=GenerationSettings(max_new_tokens=300, temperature=0.0,
                                               greedy=True))
        store.add_prompts([p])
        store.add_generations([Generation(prompt_id="a/0", text=output)])
        detect_pending(store, [VerbatimDetector(ix, min_tokens=50)])
    return db, ix_path, a, b


def test_evidence_packets_per_sequence(tmp_path: Path, capsys) -> None:
    db, ix_path, a, b = _run(tmp_path)
    out = tmp_path / "evidence"
    try:
        main(["export", str(db), "--format", "evidence", "-o", str(out)])
    except SystemExit as exc:
        assert not exc.code
    assert "2 evidence packet(s)" in capsys.readouterr().out
    packets = [json.loads((out / f"{n:04d}.json").read_text(encoding="utf-8"))
               for n in (1, 2)]
    by_text = {p["text"]: p for p in packets}
    assert set(by_text) == {a, b}  # the spliced output: two sequences, each with its sources
    pa, pb = by_text[a], by_text[b]
    assert pa["corpus_count"] == 3 and pb["corpus_count"] == 7
    assert [s["id"] for s in pa["sources"]] == ["novel-0", "novel-1", "novel-2"]
    assert {s["id"] for s in pb["sources"]} == {f"news-{i}" for i in range(7)}
    ix = CorpusIndex.open(ix_path)
    for s in pa["sources"]:  # offsets point at the match inside the source document
        doc = ix.document(s["doc_id"]).text
        assert doc[s["char_start"]:s["char_end"]] == a == s["match"]
        assert s["before"] == doc[:s["char_start"]][-300:]
    assert pa["output"][pa["span_start"]:pa["span_end"]] == a
    assert pa["prompt"] == "Tell me <b>everything</b>" and pa["settings"]["greedy"] is True
    total = ix.num_tokens
    want = sum(math.log(ix.count([t]) / total) for t in a.encode())
    assert math.isclose(pa["rarity"], want, rel_tol=1e-9)
    assert pa["index_fingerprint"].startswith("blake2b:") and pa["tool_version"]
    page = (out / "0001.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "<mark>" in page
    assert "&lt;b&gt;everything" in page and "Content-Security-Policy" in page
    assert sorted(p.name for p in out.iterdir()) == ["0001.html", "0001.json", "0002.html",
                                                     "0002.json", "index.html", "index.json"]


def test_evidence_needs_the_index(tmp_path: Path, capsys) -> None:
    db, ix_path, _, _ = _run(tmp_path)
    moved = tmp_path / "moved"
    ix_path.rename(moved)
    try:
        main(["export", str(db), "--format", "evidence", "-o", str(tmp_path / "e")])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2 and "--index" in capsys.readouterr().err
    main(["export", str(db), "--format", "evidence", "-o", str(tmp_path / "e"), "--index",
          str(moved)])
    assert (tmp_path / "e" / "0001.json").is_file()


def test_a_diverged_output_gives_packets_proportional_to_it(tmp_path: Path, capsys) -> None:
    """A long output repeating a word (a corpus run of it) and quoting a passage: one
    packet per sequence, the repetition one periodic run, each packet holding an excerpt
    of the output around its span rather than the whole output."""
    rng = random.Random(8)
    passage = "".join(rng.choice("abcdefgh ") for _ in range(200))
    ix_path = tmp_path / "ix"
    build_index([Document("poem " * 300, {"id": "run"}), Document(passage, {"id": "book"})],
                ix_path, ByteTokenizer())
    output = "poem " * 8000 + passage + "".join(rng.choice("xyz ") for _ in range(30_000))
    db = tmp_path / "run.db"
    with RunStore.open(db) as store:
        store.init_run(RunSpec(target="hf:x", attacks=("a",), index=str(ix_path),
                               tool_version="t"))
        p = Prompt(id="a/0", attack="a", text="repeat poem forever",
                   settings=GenerationSettings(max_new_tokens=300))
        store.add_prompts([p])
        store.add_generations([Generation(prompt_id="a/0", text=output)])
        detect_pending(store, [VerbatimDetector(CorpusIndex.open(ix_path), min_tokens=50)])
    out = tmp_path / "evidence"
    try:
        main(["export", str(db), "--format", "evidence", "-o", str(out)])
    except SystemExit as exc:
        assert not exc.code
    capsys.readouterr()
    files = sorted(out.glob("0*.json"))
    packets = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert sum(f.stat().st_size for f in files) < 3 * len(output)
    runs = [pk for pk in packets if pk["run"]]
    assert len(runs) == 1 and runs[0]["run"]["unit"] == "poem "
    book = next(pk for pk in packets if pk["text"] == passage)
    for pk in (runs[0], book):
        assert pk["output_chars"] == len(output) and len(pk["output"]) < len(output)
        at = pk["output_offset"]
        assert output[at:at + len(pk["output"])] == pk["output"]
        marked = pk["output"][pk["span_start"] - at:pk["span_end"] - at]
        assert marked == output[pk["span_start"]:pk["span_end"]]
    assert book["output"][book["span_start"] - book["output_offset"]:][:200] == passage
    r = runs[0]
    assert output[r["span_start"]:r["span_start"] + len(r["text"])] == r["text"]
    assert "<mark>" in (out / files[0].name.replace(".json", ".html")).read_text("utf-8")
