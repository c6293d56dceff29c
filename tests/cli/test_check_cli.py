"""`regurgitate check` end to end: exact spans with their own counts, coverage, HTML."""

from __future__ import annotations

import json
import random
from pathlib import Path

from regurgitate.index import CorpusIndex

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
