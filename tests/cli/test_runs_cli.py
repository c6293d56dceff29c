"""runs list/show, report --html and export against a real run made by a real scan."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from regurgitate.cli.main import main

from .conftest import RunCli


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A small sample-and-rank scan of the reference model."""
    out = tmp_path_factory.mktemp("runs")
    db = out / "small.db"
    try:
        main(["scan", "--target", "reference", "--attack", "sample-rank",
              "--set", "sample-rank.num_samples=4", "--set", "sample-rank.max_new_tokens=16",
              "--run", str(db), "--no-html"])
    except SystemExit as exc:
        assert not exc.code
    return db


def test_runs_list_and_show(small_run: Path, run_cli: RunCli) -> None:
    code, out, _ = run_cli(["runs", "list", str(small_run.parent)])
    assert code == 0 and "small.db" in out and "sample-rank" in out and "finished" in out
    code, out, _ = run_cli(["runs", "show", str(small_run)])
    assert code == 0 and "reference" in out and "Overview" in out


def test_report_html_and_exports(small_run: Path, tmp_path: Path,
                                 run_cli: RunCli) -> None:
    html = tmp_path / "r.html"
    code, out, _ = run_cli(["report", str(small_run), "--html", str(html)])
    assert code == 0 and html.is_file() and "<html" in html.read_text(encoding="utf-8")
    jsonl = tmp_path / "x.jsonl"
    code, out, _ = run_cli(["export", str(small_run), "-o", str(jsonl)])
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert code == 0 and len(rows) == 4 and all(r["attack"] == "sample-rank" for r in rows)
    parquet = tmp_path / "x.parquet"
    code, _, _ = run_cli(["export", str(small_run), "-f", "parquet", "-o", str(parquet)])
    assert code == 0 and pq.read_table(parquet).num_rows == 4


def test_missing_run_is_a_clear_error(tmp_path: Path, run_cli: RunCli) -> None:
    code, _, err = run_cli(["report", str(tmp_path / "nope.db")])
    assert code == 2 and "no run database" in err and "Traceback" not in err
    code, _, err = run_cli(["export", str(tmp_path / "nope.db"), "-f", "csv"])
    assert code == 2 and "jsonl, parquet or evidence" in err


def test_piped_runs_list_keeps_every_column_whole_and_shows_the_index(
        small_run: Path, run_cli: RunCli) -> None:
    """Issue 41: a pipe dropped columns and cut values, and no column named the index."""
    code, out, _ = run_cli(["runs", "list", str(small_run.parent)])
    lines = out.splitlines()
    assert code == 0 and lines[0].split("\t") == ["run", "target", "attacks", "index",
                                                  "generations", "status", "updated"]
    row = next(line.split("\t") for line in lines[1:] if line.startswith(str(small_run)))
    assert row[1] == "reference" and row[2] == "sample-rank" and row[5] == "finished"
    assert row[3].startswith(("/", "reference")) or "reference-index" in row[3]
