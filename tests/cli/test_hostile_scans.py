"""Issue 9, items 3, 6, 8 and 9 through real scans over HTTP: hostile model output is stored
and shown safely, outcomes are honest, hints make progress, errors stay one line."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import httpx
import pytest

from regurgitate.model_server import make_server
from regurgitate.model_server.faults import FaultPlan
from regurgitate.store import RunStore
from regurgitate.untrusted import recover

from .conftest import RunCli
from .scripted import ScriptedTarget, cli_process, scan_args, serve

ANSI = "\x1b[2J\x1b[31mRED\x1b]0;owned\x07"


def test_lone_surrogate_from_an_endpoint_is_stored_flagged_and_rerun_works(
        run_cli: RunCli, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    html = tmp_path / "s.html"
    with serve(ScriptedTarget(lambda p: "x \ud800 y")) as server:
        args = [a for a in scan_args(server, db) if a != "--no-html"] + ["--html", str(html)]
        code, out, err = run_cli(args)
        assert code == 0, err
        assert "Traceback" not in err
        code2, _, err2 = run_cli(args)  # the rerun does not crash either
        assert code2 == 0 and "already complete" in " ".join(err2.split())
    with RunStore.open(db, create=False) as store:
        items = list(store.generations())
        assert len(items) == 4
        for it in items:
            assert it.generation.text == "x \ufffd y"
            raw = store.get_meta(f"text_repaired:{it.prompt.id}")
            assert recover(raw["text"]) == "x \ud800 y"
    assert "\ufffd" in html.read_text(encoding="utf-8")


def test_ansi_in_endpoint_error_text_is_escaped_and_failures_exit_7(
        run_cli: RunCli, tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    with serve(ScriptedTarget(error=f"boom {ANSI}")) as server:
        code, out, err = run_cli(scan_args(server, db, max_retries=0))
    assert code == 7, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "\\x1b[2J" in err
    assert "rerun to retry" in err and "4 generation(s) failed" in err
    with RunStore.open(db, create=False) as store:
        assert store.get_meta("status") == "incomplete"


def test_scan_without_index_says_no_corpus_check_instead_of_zero(
        run_cli: RunCli, tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    html = tmp_path / "n.html"
    with serve(ScriptedTarget()) as server:
        args = [a for a in scan_args(server, db) if a != "--no-html"] + ["--html", str(html)]
        code, out, err = run_cli(args)
    assert code == 0, err
    assert "No corpus check was done" in out
    assert "Generations with a verbatim span" in out
    line = next(x for x in out.splitlines() if "Generations with a verbatim span" in x)
    assert "not checked" in line and "0.0%" not in line
    page = html.read_text(encoding="utf-8")
    assert 'id="no-corpus-check"' in page and "No corpus check was done" in page


def test_budget_resume_hint_makes_progress(run_cli: RunCli, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "b.db"
    with serve(ScriptedTarget()) as server:
        args = scan_args(server, db, "--max-generations", "2")
        monkeypatch.setattr(sys, "argv", ["regurgitate", *args])
        code, _, err = run_cli(args)
        assert code == 0
        hint = err.split("resume with:")[-1].strip().splitlines()[0]
        assert "--max-generations 4" in hint
        words = shlex.split(hint)
        assert words[:2] == ["regurgitate", "scan"]
        code, _, _ = run_cli(words[1:])  # exactly the hinted command
        assert code == 0
    with RunStore.open(db, create=False) as store:
        assert store.stats().generations_ok == 4  # the hinted command made progress


def test_changed_spec_on_resume_is_one_short_line(run_cli: RunCli, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with serve(ScriptedTarget()) as server:
        assert run_cli(scan_args(server, db))[0] == 0
        long_words = ",".join(f"word{i:04d}" for i in range(3000))  # ~27 KB of option value
        args = scan_args(server, db)
        args[args.index("divergence.words=poem,book")] = f"divergence.words={long_words}"
        code, out, err = run_cli(args)
    assert code == 6
    lines = [x for x in err.splitlines() if x.strip()]
    error_line = next(x for x in lines if x.startswith("error:"))
    assert "settings.options.divergence.words" in error_line
    assert len(error_line) < 400 and len(err) < 1200


def test_serve_answers_the_readme_model_name_and_rejects_unsupported_parameters() -> None:
    server = make_server(target=ScriptedTarget(lambda p: "ok"), model_name="model",
                         any_model=True).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert [m["id"] for m in http.get("/models").json()["data"]] == ["model"]
            r = http.post("/chat/completions", json={
                "model": "my-model", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ok"
            for extra in ({"n": 2}, {"stream": True}, {"best_of": 3}, {"stop": ["\n"]},
                          {"top_logprobs": 3}, {"logprobs": 5}, {"echo": True},
                          {"logit_bias": {"1": 5}}):
                r = http.post("/completions", json={"model": "x", "prompt": "a", **extra})
                key = next(iter(extra))
                assert r.status_code == 400, extra
                assert key in r.json()["error"]["message"]
            fine = http.post("/completions", json={"prompt": "a", "n": 1, "stream": False,
                                                   "logprobs": 1, "stop": None})
            assert fine.status_code == 200
    finally:
        server.stop()


def test_readme_example_scan_against_serve_defaults_works(run_cli: RunCli, tmp_path: Path,
                                                          cache_dir: Path) -> None:
    """README, as written: `regurgitate serve` (the reference model, whose id is "model"),
    then `scan --target "openai:http://127.0.0.1:8000/v1?model=my-model&chat=1"`."""
    server = cli_process(["serve", "--port", "0"], tmp_path)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert url is not None, line + (server.stderr.read() if server.poll() else "")
        target = f"openai:{url.group(1)}?model=my-model&chat=1&api_key_env=NO_SUCH_KEY_VAR"
        code, out, err = run_cli(["scan", "--target", target, "--attack", "divergence",
                                  "--set", "divergence.words=poem", "--set",
                                  "divergence.repeats=1", "--set",
                                  "divergence.max_new_tokens=8", "--run",
                                  str(tmp_path / "api.db"), "--no-html"])
    finally:
        server.terminate()
        server.communicate(timeout=60)
    assert code == 0, err
    assert "failed" not in err
    with RunStore.open(tmp_path / "api.db", create=False) as store:
        assert (store.stats().generations_ok, store.stats().generations_failed) == (3, 0)


def test_failed_faulty_server_generations_are_kept_for_retry(run_cli: RunCli,
                                                             tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    target = ScriptedTarget()
    server = make_server(target=target, model_name="scripted", any_model=True,
                         faults=FaultPlan(schedule=("500",) * 4)).start()
    try:
        code, _, err = run_cli(scan_args(server, db, max_retries=0, concurrency=1))
        assert code == 7 and "rerun to retry" in err
        code, _, err = run_cli(scan_args(server, db, max_retries=0, concurrency=1))
        assert code == 0, err
    finally:
        server.stop()
    with RunStore.open(db, create=False) as store:
        assert (store.stats().generations_ok, store.stats().generations_failed) == (4, 0)
        assert store.get_meta("status") == "finished"
    assert json.dumps(err)  # printable


def test_check_shows_control_characters_of_corpus_and_text_as_escapes(
        run_cli: RunCli, tmp_path: Path) -> None:
    passage = ("The bell rang at dawn for seven days \x1b[2J\x1b[41m and nobody "
               "\u202eknew why\u202c the orchard burned. " * 2)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": passage, "id": "doc\x1b[31m1"}) + "\n",
                      encoding="utf-8")
    code, _, err = run_cli(["index", "build", str(corpus), "-o", str(tmp_path / "idx"),
                            "--tokenizer", "bytes"])
    assert code == 0, err
    query = tmp_path / "q.txt"
    query.write_text("Model said: " + passage, encoding="utf-8")
    code, out, err = run_cli(["check", str(query), "--index", str(tmp_path / "idx"),
                              "--min-tokens", "40"])
    assert code == 0, err
    assert "\x1b" not in out + err and "\u202e" not in out + err
    # the text itself is echoed only on a terminal (issue 41); the corpus's names still show
    assert "doc\\x1b[31m1" in " ".join(out.split()).replace(" ", "") or "\\x1b[31m" in out
    assert "verbatim span(s) of >= 40 bytes" in out  # a byte-level index counts bytes
