"""`check` and `scan` with --index http://127.0.0.1:PORT?index=NAME give what the local index
gives; `index serve` starts from the command line."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from regurgitate.index import CorpusIndex
from regurgitate.index.server import BackgroundServer, IndexService
from regurgitate.targets.reference import reference_index
from regurgitate.types import Document
from tests.executors.conftest import make_queries

RunCli = Callable[[list[str]], tuple[int, str, str]]  # the fixture in tests/conftest.py


def test_check_through_the_server_equals_the_local_check(
        local_index: CorpusIndex, corpus: list[Document], tmp_path: Path,
        run_cli: RunCli) -> None:
    text = tmp_path / "gen.txt"
    text.write_text(make_queries(corpus, seed=3, n=1)[0], encoding="utf-8")
    with BackgroundServer(IndexService({"tiny": local_index})) as url:
        remote = run_cli(["check", str(text), "--index", f"{url}?index=tiny", "--min-tokens",
                          "6", "--json"])
        missing = run_cli(["check", str(text), "--index", f"{url}?index=other"])
        info = run_cli(["index", "info", f"{url}?index=tiny", "--json"])
    local = run_cli(["check", str(text), "--index", str(local_index.path), "--min-tokens", "6",
                     "--json"])
    assert remote[0] == local[0] == 0
    got, want = json.loads(remote[1]), json.loads(local[1])
    assert got["spans"] and got["spans"] == want["spans"]
    # the server refused: exit 8 (index server), not 4 (a corrupt index)
    assert missing[0] == 8 and "Invalid index" in missing[2] and "Traceback" not in missing[2]
    assert info[0] == 0 and json.loads(info[1])["num_docs"] == local_index.num_docs


def _findings(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return sorted(con.execute(
            "SELECT p.id, f.detector, f.kind, f.start_char, f.end_char, f.data FROM findings f "
            "JOIN generations g ON g.id = f.generation_id JOIN prompts p ON p.id = g.prompt_id"
        ).fetchall())


@pytest.mark.slow  # two scans of the reference model: over a minute on 2 shared cores
def test_scan_with_a_remote_index_gives_the_local_findings(
        cache_dir: Path, tmp_path: Path, run_cli: RunCli) -> None:
    path = reference_index(cache_dir, lambda m: None)
    args = ["scan", "--target", "reference", "--attack", "sample-rank,corpus-prompts",
            "--set", "sample-rank.num_samples=2", "--set", "sample-rank.max_new_tokens=64",
            "--set", "corpus-prompts.num_prompts=2", "--set", "corpus-prompts.max_new_tokens=64",
            "--min-tokens", "20", "--no-html"]
    with BackgroundServer(IndexService({"ref": CorpusIndex.open(path)})) as url:
        code, _, err = run_cli([*args, "--index", f"{url}?index=ref", "--run",
                                str(tmp_path / "remote.db")])
        assert code == 0, err
    code, _, err = run_cli([*args, "--index", str(path), "--run", str(tmp_path / "local.db")])
    assert code == 0, err
    remote, local = _findings(tmp_path / "remote.db"), _findings(tmp_path / "local.db")
    assert any(f[2] == "verbatim" for f in local)
    # DC-PDD counts token frequencies in a *local* index only (docs/membership.md): the one
    # membership signal a remote index leaves out; every other figure is the local scan's
    assert all(json.loads(f[5])["dc_pdd"] is None for f in remote if f[2] == "membership")
    assert any(json.loads(f[5])["dc_pdd"] is not None for f in local if f[2] == "membership")
    assert [_without_dc_pdd(f) for f in remote] == [_without_dc_pdd(f) for f in local]


def _without_dc_pdd(finding: tuple) -> tuple:
    if finding[2] != "membership":
        return finding
    data = json.loads(finding[5])
    data.pop("dc_pdd")
    return (*finding[:5], data)


def test_index_serve_command_answers_infini_gram_queries(local_index: CorpusIndex) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "regurgitate.cli.main", "index", "serve",
                             f"tiny={local_index.path}", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(200):
            try:
                names = httpx.get(url).json()["indexes"]
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    pytest.fail(proc.communicate()[1])
                time.sleep(0.05)
        assert names == ["tiny"]
        ids = [int(t) for t in local_index.tokenizer.encode("alpha beta")]
        ans = httpx.post(url, json={"index": "tiny", "query_type": "count",
                                    "query_ids": ids}).json()
        assert ans["count"] == local_index.count(ids) and ans["token_ids"] == ids
        ans = httpx.post(url, json={"index": "tiny", "query_type": "prob",
                                    "query": "alpha beta"}).json()
        assert ans["cont_cnt"] == local_index.count(ids)
        assert ans["prompt_cnt"] == local_index.count(ids[:-1])
        bad = httpx.post(url, json={"index": "tiny", "query_type": "search_docs",
                                    "query": "alpha", "maxnum": 11})
        assert "maxnum" in bad.json()["error"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
