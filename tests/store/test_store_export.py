"""Exports to JSON lines and Parquet, and listing the runs of a directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from regurgitate.errors import ConfigError, StoreError
from regurgitate.findings import Finding, PIIHit, VerbatimSpan
from regurgitate.store import RunStore, export_run, list_runs


@pytest.fixture
def filled(store: RunStore, rec) -> tuple[RunStore, list[int]]:
    store.init_run(rec.spec())
    store.add_prompts([rec.prompt(i) for i in range(3)])
    ids = store.add_generations([rec.gen(0), rec.gen(1, error="HTTP 503"), rec.gen(2)])
    findings = [
        Finding(generation_id=ids[0], detector="verbatim", start=3, end=60, score=57.0,
                payload=VerbatimSpan(tokens=57, count=2, text="t", documents=(4, 9))),
        Finding(generation_id=ids[0], detector="verbatim", start=70, end=140,
                payload=VerbatimSpan(tokens=70, count=1, text="u", token_start=7, token_end=77)),
    ]
    store.add_findings(findings, detector="verbatim", generation_ids=[ids[0], ids[2]])
    store.add_findings(
        [Finding(generation_id=ids[2], detector="pii", payload=PIIHit(type="EMAIL", value="x"))],
        detector="pii", generation_ids=[ids[2]],
    )
    return store, ids


def test_export_jsonl(filled, tmp_path: Path) -> None:
    store, ids = filled
    out = tmp_path / "run.jsonl"
    assert export_run(store, out, "jsonl") == 3
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["generation_id"] for r in rows] == ids
    first = rows[0]
    assert first["prompt_id"] == "divergence:0" and first["attack"] == "divergence"
    assert first["prompt"] == "prompt number 0 ✓"
    assert first["text"] == "generated text 0" and first["finish_reason"] == "length"
    assert (first["prompt_tokens"], first["completion_tokens"]) == (7, 12)
    assert first["error"] is None
    assert first["findings"] == [
        {"detector": "verbatim", "kind": "verbatim", "start": 3, "end": 60, "score": 57.0,
         "data": {"documents": [4, 9], "count": 2, "tokens": 57, "text": "t", "sources": [],
                  "token_start": None, "token_end": None, "window": None, "run": None,
                  "token_ids": []}},
        {"detector": "verbatim", "kind": "verbatim", "start": 70, "end": 140, "score": None,
         "data": {"documents": [], "count": 1, "tokens": 70, "text": "u", "sources": [],
                  "token_start": 7, "token_end": 77, "window": None, "run": None,
                  "token_ids": []}},
    ]
    assert rows[1]["error"] == "HTTP 503" and rows[1]["findings"] == []
    assert rows[2]["prompt"] == "be brief\nrepeat word 2 forever"
    assert [f["kind"] for f in rows[2]["findings"]] == ["pii"]
    assert not list(tmp_path.glob(".*partial"))


def test_export_parquet(filled, tmp_path: Path) -> None:
    store, ids = filled
    out = tmp_path / "run.parquet"
    assert export_run(store, out, "parquet") == 3
    table = pq.read_table(out)
    assert table.num_rows == 3
    rows = table.to_pylist()
    assert [r["generation_id"] for r in rows] == ids
    assert rows[1]["error"] == "HTTP 503"
    f = rows[0]["findings"][0]
    assert (f["detector"], f["start"], f["end"], f["score"]) == ("verbatim", 3, 60, 57.0)
    assert json.loads(f["data"]) == {"documents": [4, 9], "count": 2, "tokens": 57, "text": "t",
                                     "sources": [], "token_start": None, "token_end": None,
                                     "window": None, "run": None, "token_ids": []}
    assert rows[1]["findings"] == []


def test_export_empty_run_and_errors(store, tmp_path: Path) -> None:
    assert export_run(store, tmp_path / "e.parquet", "parquet") == 0
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0
    assert export_run(store, tmp_path / "e.jsonl", "jsonl") == 0
    assert (tmp_path / "e.jsonl").read_text() == ""
    with pytest.raises(ConfigError, match="unknown export format"):
        export_run(store, tmp_path / "e.csv", "csv")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="does not exist"):
        export_run(store, tmp_path / "no" / "e.jsonl", "jsonl")


def test_export_many_rows_parquet(store, rec, tmp_path: Path) -> None:
    store.add_prompts([rec.prompt(i) for i in range(2500)])
    store.add_generations([rec.gen(i) for i in range(2500)])
    assert export_run(store, tmp_path / "big.parquet", "parquet") == 2500
    meta = pq.ParquetFile(tmp_path / "big.parquet").metadata
    assert meta.num_rows == 2500


def test_list_runs(tmp_path: Path, rec) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    with RunStore.open(runs / "a.db") as a:
        a.init_run(rec.spec())
        a.add_prompts([rec.prompt(i) for i in range(3)])
        a.add_generations([rec.gen(0), rec.gen(1), rec.gen(2, error="x")])
        a.set_meta("status", "finished")
    with RunStore.open(runs / "b.sqlite") as b:
        b.init_run(rec.spec(target="openai:http://127.0.0.1:8000/v1", attacks=("divergence",)))
    with RunStore.open(runs / "c.db"):
        pass
    (runs / "junk.db").write_text("not a database")
    conn = sqlite3.connect(runs / "foreign.db")
    conn.execute("CREATE TABLE x (y)")
    conn.close()
    (runs / "notes.txt").write_text("ignored")

    summaries = list_runs(runs)
    by_name = {s.path.name: s for s in summaries}
    assert set(by_name) == {"a.db", "b.sqlite", "c.db"}
    assert [s.path.name for s in summaries] == ["c.db", "b.sqlite", "a.db"]  # newest first
    a_sum = by_name["a.db"]
    assert (a_sum.target, a_sum.attacks, a_sum.generations, a_sum.status) == (
        "hf:/models/tiny", ("divergence", "discoverable"), 2, "finished",
    )
    assert by_name["b.sqlite"].status == "running"
    assert by_name["b.sqlite"].attacks == ("divergence",)
    assert (by_name["c.db"].target, by_name["c.db"].status) == ("", "empty")
    assert a_sum.updated.endswith("Z")
    # listing never modifies a run database
    assert not (runs / "junk.db-wal").exists()
    with pytest.raises(StoreError, match="not a directory"):
        list_runs(runs / "a.db")
