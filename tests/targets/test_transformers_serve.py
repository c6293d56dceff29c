"""The OpenAI target against a server no one here wrote: `transformers serve` running the
bundled chat model on CPU (issue 26). It answers HTTP 500 beyond the model's 512 positions,
422 for fields it does not know (vLLM's ``min_tokens``), and samples only when the model's
generation_config says so. One short scan runs in the default suite; the full runs of the
default divergence, the nasr2023 preset and sample-rank are slow tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from regurgitate.reference.text.paths import model_dir

pytest.importorskip("fastapi", reason="the transformers-serve extra (in dev) is not installed")
pytest.importorskip("accelerate", reason="the transformers-serve extra is not installed")

_SERVE = ("import sys; from transformers.cli.transformers import main; "
          "sys.argv[0] = 'transformers'; main()")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_transformers_serve(model: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`transformers serve MODEL` on a free 127.0.0.1 port; (process, base URL) once it
    answers /v1/models."""
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "serve", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--device", "cpu", "--dtype", "float32"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600  # a loaded machine imports slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"transformers serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"transformers serve did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled chat model behind `transformers serve`; the target spec for it."""
    log = tmp_path_factory.mktemp("tserve") / "serve.log"
    proc, url = start_transformers_serve(model_dir(), log)
    try:
        yield f"openai:{url}?model={model_dir()}&chat=1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _counts(db: Path) -> tuple[int, int, list[int]]:
    with sqlite3.connect(db) as con:
        ok = con.execute("SELECT count(*) FROM generations WHERE ok = 1").fetchone()[0]
        failed = con.execute("SELECT count(*) FROM generations WHERE ok = 0").fetchone()[0]
        sent = [r[0] for r in con.execute("SELECT max_tokens FROM generations")]
    return ok, failed, sent


def _endpoint(db: Path) -> dict:  # type: ignore[type-arg]
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'endpoint'").fetchone()
    return dict(json.loads(row[0])) if row else {}


def test_divergence_fits_the_context_of_transformers_serve(served, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "run.db"
    code, out, err = run_cli(["scan", "--target", served, "--attack", "divergence",
                              "--max-generations", "2", "--run", str(db)])
    assert code == 0, err
    ok, failed, sent = _counts(db)
    assert (ok, failed) == (2, 0)
    # 512 new tokens asked; prompt + max_tokens kept within the model's 512 positions
    assert all(n is not None and 0 < n < 512 for n in sent)
    notes = _endpoint(db)
    assert notes["context"] == 512 and "config.json" in notes["context_source"]
    assert "context window 512 tokens" in " ".join(out.split())
    html = (tmp_path / "run.html").read_text()
    assert 'id="endpoint"' in html and "max_tokens cut to" in html


@pytest.mark.slow
def test_default_divergence_has_no_failures(served, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "run.db"
    code, _, err = run_cli(["scan", "--target", served, "--attack", "divergence",
                            "--run", str(db)])
    assert code == 0, err
    assert _counts(db)[:2] == (36, 0)


@pytest.mark.slow
def test_nasr2023_degrades_ignore_eos_to_logit_bias(served, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "run.db"
    code, out, err = run_cli(["scan", "--target", served, "--attack", "divergence",
                              "--set", "divergence.preset=nasr2023", "--run", str(db)])
    assert code == 0, err
    assert _counts(db)[:2] == (96, 0)
    notes = _endpoint(db)
    assert "min_tokens" in notes["refused"] and notes["ignore_eos"] == "logit_bias"
    # accepted, but not shown to work: its /v1/completions answer to the end-of-text probe
    # stops after 1 token with or without logit_bias (the chat probe never stops early)
    assert notes["controls"]["logit_bias"]["state"] == "unverified"
    assert "suppressed with logit_bias" in " ".join(out.split())


@pytest.mark.slow
def test_sample_rank_has_no_failures_and_samples_differ(served, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "run.db"
    code, out, err = run_cli(["scan", "--target", served, "--attack", "sample-rank",
                              "--run", str(db)])
    assert code == 0, err
    ok, failed, _ = _counts(db)
    assert ok > 0 and failed == 0
    assert not _endpoint(db).get("sampling", {}).get("not_sampling")


@pytest.mark.slow
def test_a_greedy_served_model_is_reported_not_sampling(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the bundled model as it was before issue 26: generation_config without do_sample
    copy = tmp_path / "greedy-model"
    shutil.copytree(model_dir(), copy)
    cfg_path = copy / "generation_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("do_sample", None)
    cfg_path.write_text(json.dumps(cfg))
    proc, url = start_transformers_serve(copy, tmp_path / "serve.log")
    try:
        db = tmp_path / "run.db"
        code, out, err = run_cli(["scan", "--target", f"openai:{url}?model={copy}&chat=1",
                                  "--attack", "divergence",
                                  "--set", "divergence.preset=nasr2023",
                                  "--set", "divergence.ignore_eos=false",
                                  "--set", "divergence.max_new_tokens=64",
                                  "--max-generations", "12", "--run", str(db)])
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert code == 0, err
    assert _endpoint(db)["sampling"]["not_sampling"]
    text = " ".join(out.split())
    assert "NOT sampling" in text and "sample-rank" in text


@pytest.mark.slow
def test_neutral_samplers_it_refuses_are_dropped_and_greedy_equals_hf(served) -> None:  # type: ignore[no-untyped-def]
    # issue 40 through transformers serve: the union of neutral samplers goes out, the 422
    # names the fields it does not know (they are dropped), its FastAPI error shape gives the
    # family away, and greedy chat output equals the Hugging Face model's
    from regurgitate.targets.hf import HFTarget
    from regurgitate.targets.openai import OpenAITarget
    from regurgitate.types import GenerationSettings, Prompt

    url = served.removeprefix("openai:").split("?", 1)[0]
    s = GenerationSettings(max_new_tokens=24, greedy=True, temperature=0.0, logprobs=False)
    prompts = [Prompt(id=f"c{i}", attack="t", text=None,
                      messages=({"role": "user", "content": text},), settings=s)
               for i, text in enumerate(["Tell me a story", "What is a prime number?"])]
    with OpenAITarget(url, str(model_dir()), api_key_env=None, chat=True,
                      concurrency=1) as target:
        remote = target.generate(prompts)
        notes = target.endpoint_notes()
    local = HFTarget(str(model_dir()), dtype="float32").generate(prompts)
    assert [g.text for g in remote] == [g.text for g in local]
    assert notes["family"] == "transformers-serve"
    assert {"top_k", "min_p", "typical_p"} <= set(notes["refused"])
    assert notes["neutral"]["top_p"] == 1.0 and "top_k" not in notes["neutral"]
