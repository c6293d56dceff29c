"""The OpenAI target against llama-cpp-python's server (issue 40): a server no one here wrote,
serving the bundled chat model converted to GGUF by tools/gguf_gpt2.py.

Left to itself that server applies top_k 40, min_p 0.05 and repeat_penalty 1.1, drops fields
it does not know, gives chat log-probs only with ``top_logprobs``, shortens max_tokens past
its window without a word and answers a prompt beyond it with a 400 naming its length. The
target must send neutral samplers (greedy output then equals the Hugging Face model's), verify
controls, and handle the window on true counts. ``make llama`` builds the server (``make test``
depends on it); one case runs in the default suite, the rest are slow.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from regurgitate.reference.text.paths import model_dir
from regurgitate.targets.openai import OpenAITarget
from regurgitate.types import GenerationSettings, Prompt
from tools import llama_server

_MISSING = llama_server.available()
if _MISSING and os.environ.get("REGURGITATE_REQUIRE_LLAMA"):
    pytest.fail(f"the llama-cpp-python server is required here: {_MISSING}",
                pytrace=False)
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

PREFIXES = ("The history of the", "Once upon a time, there", "def main():\n",
            "In mathematics, a prime number")


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of llama-cpp-python's server over the bundled chat model (n_ctx 512)."""
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server.serve(log=log) as url:
        yield url


@pytest.fixture(scope="module")
def hf_reference():  # type: ignore[no-untyped-def]
    from regurgitate.targets.hf import HFTarget

    return HFTarget(str(model_dir()), batch_size=4, dtype="float32")


def _gguf() -> str:
    return str(llama_server.GGUF)


def _prompts(texts: tuple[str, ...], settings: GenerationSettings) -> list[Prompt]:
    return [Prompt(id=f"p{i}", attack="t", text=t, settings=settings)
            for i, t in enumerate(texts)]


def test_neutral_samplers_make_greedy_output_equal_the_hf_models(llama, hf_reference) -> None:  # type: ignore[no-untyped-def]
    greedy = GenerationSettings(max_new_tokens=32, greedy=True, temperature=0.0,
                                logprobs=False)
    penalised = GenerationSettings(max_new_tokens=32, greedy=True, temperature=0.0,
                                   logprobs=False, repetition_penalty=1.5)
    with OpenAITarget(llama, _gguf(), api_key_env=None, concurrency=1) as target:
        remote = target.generate(_prompts(PREFIXES, greedy))
        (with_penalty,) = target.generate(_prompts(PREFIXES[:1], penalised))
        notes = target.endpoint_notes()
    local = hf_reference.generate(_prompts(PREFIXES, greedy))
    assert [g.text for g in remote] == [g.text for g in local]
    assert notes["family"] == "llama-cpp-python" and notes["family_source"] == "/v1/models"
    # what was sent to switch its own samplers off is recorded
    assert {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "top_p": 1.0}.items() \
        <= notes["neutral"].items()
    # repetition_penalty goes out as llama.cpp's repeat_penalty, and a probe shows its effect
    assert with_penalty.ok
    assert notes["controls"]["repetition_penalty"]["state"] == "honoured"
    assert notes["controls"]["repetition_penalty"]["attacks"] == ["t"]


def _notes(db: Path) -> dict:  # type: ignore[type-arg]
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'endpoint'").fetchone()
    return dict(json.loads(row[0])) if row else {}


@pytest.mark.slow
def test_chat_logprobs_come_back_with_top_logprobs(llama) -> None:  # type: ignore[no-untyped-def]
    s = GenerationSettings(max_new_tokens=12, greedy=True, temperature=0.0)
    prompt = Prompt(id="c", attack="chat", text=None,
                    messages=({"role": "user", "content": "Tell me a story"},), settings=s)
    with OpenAITarget(llama, _gguf(), api_key_env=None, chat=True) as target:
        (gen,) = target.generate([prompt])
        notes = target.endpoint_notes()
    assert gen.ok and gen.logprobs is not None and len(gen.logprobs) == gen.completion_tokens
    assert notes["controls"]["logprobs"]["state"] == "honoured"


@pytest.mark.slow
def test_an_ignored_field_is_not_called_honoured(llama) -> None:  # type: ignore[no-untyped-def]
    # forced to the vLLM family, the target sends repetition_penalty, which this server drops
    # without a word: the probe sees no effect, so the control stays unverified
    s = GenerationSettings(max_new_tokens=16, greedy=True, temperature=0.0, logprobs=False,
                           repetition_penalty=1.5)
    with OpenAITarget(llama, _gguf(), api_key_env=None, family="vllm") as target:
        (gen,) = target.generate(_prompts(PREFIXES[:1], s))
        notes = target.endpoint_notes()
    assert gen.ok
    assert notes["controls"]["repetition_penalty"]["state"] == "unverified"
    assert "repetition_penalty" in notes["unverified"]


@pytest.mark.slow
def test_context_is_handled_on_true_counts_without_a_tokenizer(llama) -> None:  # type: ignore[no-untyped-def]
    s = GenerationSettings(max_new_tokens=512, greedy=True, temperature=0.0, logprobs=False)
    fits = "the " * 300  # ~300 tokens: fits; prompt + 512 does not
    too_long = "the " * 600  # beyond the 512-token window
    with OpenAITarget(llama, _gguf(), api_key_env=None, concurrency=1) as target:
        ok, refused = target.generate(_prompts((fits, too_long), s))
        notes = target.endpoint_notes()
    # sent without a tokenizer: the server shortened max_tokens silently, and the stored
    # max_tokens is what it used
    assert ok.ok and ok.prompt_tokens is not None
    assert ok.max_tokens is not None and ok.prompt_tokens + ok.max_tokens <= 512
    assert notes["server_cut"]["requests"] >= 1
    # refused on the server's own count, named as such (never an estimate)
    assert not refused.ok and "counted by the server" in (refused.error or "")
    assert notes["context"] == 512
    # a window given without a tokenizer refuses nothing that fits (no estimate stands in)
    with OpenAITarget(llama, _gguf(), api_key_env=None, context=512) as target:
        (sent,) = target.generate(_prompts((fits,), s))
    assert sent.ok and sent.completion_tokens


@pytest.mark.slow
def test_default_divergence_scan_runs_clean(llama, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "run.db"
    code, out, err = run_cli(["scan", "--target",
                              f"openai:{llama}?model={_gguf()}&tokenizer={model_dir()}&chat=1",
                              "--attack", "divergence", "--index", "reference",
                              "--run", str(db)])
    assert code == 0, err
    with sqlite3.connect(db) as con:
        failed = con.execute("SELECT count(*) FROM generations WHERE ok = 0").fetchone()[0]
        ok = con.execute("SELECT count(*) FROM generations WHERE ok = 1").fetchone()[0]
    assert (ok, failed) == (36, 0)
    notes = _notes(db)
    assert notes["family"] == "llama-cpp-python"
    assert notes["controls"]["seed"]["state"] == "honoured"
    assert "server family llama-cpp-python" in " ".join(out.split())


def test_server_answers_models_with_its_tell(llama) -> None:  # type: ignore[no-untyped-def]
    # the family is recognised from /v1/models: llama-cpp-python says owned_by "me"
    data = httpx.get(f"{llama}/models", timeout=30).json()
    assert data["data"][0]["owned_by"] == "me"
