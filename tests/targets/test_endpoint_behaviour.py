"""The OpenAI target against endpoints it did not write: context windows, refused fields,
failure streaks, endpoints that do not sample (issue 26). Real local HTTP servers only."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from regurgitate.errors import TargetError
from regurgitate.reports.text_endpoint import endpoint_lines, endpoint_not_computed
from regurgitate.targets.openai import OpenAITarget, negotiation
from regurgitate.targets.openai.notes import EndpointNotes
from regurgitate.targets.openai.wire import error_message, parse_context_error
from regurgitate.types import GenerationSettings, Prompt
from tests.targets.prompts import greedy, text_prompts


def test_our_server_answers_vllms_400_beyond_the_context(server) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url) as http:
        r = http.post("/completions", json={"prompt": "The quick brown", "max_tokens": 500})
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert message.startswith("This model's maximum context length is 128 tokens.")
        assert parse_context_error(message) == (128, 3)
        chat = http.post("/chat/completions", json={
            "messages": [{"role": "user", "content": "hi"}], "max_tokens": 200})
        assert chat.status_code == 400 and "in the messages" in chat.text


def test_a_400_naming_the_context_is_retried_once_within_it(server) -> None:  # type: ignore[no-untyped-def]
    before = server.stats.requests
    with OpenAITarget(server.url, "tiny", api_key_env=None) as target:
        (gen,) = target.generate(text_prompts(["The quick brown"], greedy(500)))
        assert gen.ok and gen.max_tokens == 125 and gen.completion_tokens <= 125
        assert server.stats.requests - before == 2  # the 400, then one request within it
        assert gen.attempts == 2  # both requests are counted
        # the window is learned for the rest of the run; without a tokenizer the next
        # prompt's length is not known, so it is sent within the window and the server's
        # 400 gives its true count (nothing is estimated)
        (again,) = target.generate(text_prompts(["Pack my box"], greedy(500)))
        assert again.ok and again.max_tokens is not None and again.max_tokens < 128
        assert server.stats.requests - before == 4 and again.attempts == 2
        notes = target.endpoint_notes()
    assert notes["context"] == 128 and notes["max_tokens_cut"]["requests"] == 2


def test_context_option_and_tokenizer_keep_requests_inside(server, tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    before = server.stats.requests
    with OpenAITarget(server.url, "tiny", api_key_env=None, context=128,
                      tokenizer=str(tiny_model_dir)) as target:
        gens = target.generate(text_prompts(["The quick brown", "def add(a, b):"], greedy(500)))
    assert all(g.ok for g in gens) and server.stats.requests - before == 2
    assert all(g.max_tokens is not None and g.max_tokens < 128 for g in gens)


def test_refused_field_is_dropped_and_ignore_eos_degrades_honestly(server, tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    # a strict endpoint gets no min_tokens; with the tokenizer known the target sends
    # logit_bias against end-of-text, which this server refuses by name: dropped, said once
    s = GenerationSettings(max_new_tokens=6, min_new_tokens=6, temperature=0.0, greedy=True)
    prompts = [Prompt(id=f"p{i}", attack="t", text=t, settings=s)
               for i, t in enumerate(["The quick", "Pack my", "How vexingly"])]
    before = server.stats.requests
    with OpenAITarget(server.url, "tiny", api_key_env=None, extensions=False,
                      tokenizer=str(tiny_model_dir), concurrency=1, verify=False) as target:
        gens = target.generate(prompts)
        notes = target.endpoint_notes()
    assert all(g.ok for g in gens)
    assert server.stats.requests - before == 4  # one refusal, then three plain requests
    assert notes["refused"] == ["logit_bias"] and notes["ignore_eos"] == "none"
    assert any("NOT applied" in line for line, warn in endpoint_lines(notes) if warn)


def test_an_endpoint_that_does_not_sample_is_named() -> None:
    notes = EndpointNotes()
    for prompt in ("a", "b"):
        for seed in (1, 2, 3):
            notes.sample({"prompt": prompt, "temperature": 1.0, "seed": seed}, "x" * 40)
    assert notes.not_sampling
    (line, warning), *_ = endpoint_lines(notes.as_dict())
    assert warning and "NOT sampling" in line and "sample-rank" in line
    other = EndpointNotes()
    other.sample({"prompt": "a", "temperature": 1.0, "seed": 1}, "x" * 40)
    other.sample({"prompt": "a", "temperature": 1.0, "seed": 2}, "y" * 40)
    assert not other.not_sampling


@pytest.mark.parametrize(("message", "expected"), [
    ("This model's maximum context length is 4096 tokens. However, you requested 4200 tokens "
     "(200 in the messages, 4000 in the completion).", (4096, 200)),
    ("'max_tokens' or 'max_completion_tokens' is too large: 4000. This model's maximum context "
     "length is 4096 tokens and your request has 200 input tokens (4000 > 4096 - 200).",
     (4096, 200)),
    ('{"code": 400, "message": "the request exceeds the available context size", '
     '"n_prompt_tokens": 300, "n_ctx": 256}', (256, 300)),
    ("request (4476 tokens) exceeds the available context size (4096 tokens)", (4096, 4476)),
    # llama-cpp-python 0.3.36, as answered here
    ("This model's maximum context length is 512 tokens, however you requested 1851 tokens "
     "(1801 in your prompt; 50 for the completion). Please reduce the length of the messages "
     "or completion.", (512, 1801)),
    # TGI's validation errors (HTTP 422)
    ("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 "
     "`inputs` tokens and 200 `max_new_tokens`", (4096, 4000)),
    ("Input validation error: `inputs` must have less than 4096 tokens. Given: 5000",
     (4096, 5000)),
    # transformers serve: a bare 500 that names nothing (its window comes from config.json)
    ("Internal Server Error", None),
])
def test_context_errors_of_known_servers_parse(message: str, expected: Any) -> None:
    assert parse_context_error(message) == expected


@pytest.mark.parametrize(("body", "message", "shape"), [
    (b'{"error": {"message": "bad", "type": "x"}}', "bad", "openai"),
    (b'{"error": "Input validation error: x", "error_type": "validation"}',
     "Input validation error: x", "tgi"),
    (b'{"detail": "Unexpected fields in the request: {\'top_k\'}"}',
     "Unexpected fields in the request: {'top_k'}", "fastapi"),
    (b"Internal Server Error", "Internal Server Error", "text"),
])
def test_error_shapes_of_known_servers_are_read(body: bytes, message: str, shape: str) -> None:
    read = error_message(body)
    assert (read.message, read.shape) == (message, shape)


def test_server_families_are_recognised() -> None:
    def models(owner: str) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owner}]}

    assert negotiation.family_from_models(models("me"), "m") == "llama-cpp-python"
    assert negotiation.family_from_models(models("vllm"), "m") == "vllm"
    assert negotiation.family_from_models(models("library"), "m") == "ollama"
    assert negotiation.family_from_models(models("organization_owner"), "m") == "lm-studio"
    assert negotiation.family_from_models(models("someone"), "m") is None
    assert negotiation.family_from_headers({"server": "llama.cpp"}) == "llama.cpp"
    assert negotiation.family_from_error("tgi", "x") == "tgi"
    assert negotiation.family_from_error(
        "fastapi", "Unexpected fields in the request: {'top_k'}") == "transformers-serve"
    assert negotiation.family_from_url("https://api.openai.com/v1") == "openai"


def test_every_family_sends_neutral_samplers_and_keeps_purposeful_ones() -> None:
    body = {"model": "m", "prompt": "x", "max_tokens": 4, "temperature": 1.0,
            "repetition_penalty": 1.3}
    added = negotiation.family("llama-cpp-python").shape(body, chat=False)
    assert body["top_k"] == 0 and body["min_p"] == 0.0 and body["top_p"] == 1.0
    assert body["repeat_penalty"] == 1.3 and "repetition_penalty" not in body
    assert "repeat_penalty" not in added  # set on purpose, not a neutral value
    unknown = {"model": "m", "prompt": "x", "max_tokens": 4, "repetition_penalty": 1.3}
    negotiation.family("unknown").shape(unknown, chat=False)
    assert unknown["repetition_penalty"] == unknown["repeat_penalty"] == 1.3
    strict = {"model": "m", "prompt": "x", "max_tokens": 4}
    negotiation.family("unknown").shape(strict, chat=False, extensions=False)
    assert set(strict) - {"model", "prompt", "max_tokens"} == {
        "top_p", "frequency_penalty", "presence_penalty"}


def test_report_tells_three_control_states_and_names_what_rests_on_them() -> None:
    notes = EndpointNotes()
    notes.set_family("llama-cpp-python", "/v1/models")
    notes.sent_neutral({"top_k": 0, "min_p": 0.0})
    for control in ("repetition_penalty", "seed", "min_tokens"):
        notes.used(control, "divergence")
    notes.settle("seed", "honoured", "a seed repeated its sample")
    notes.refuse("min_tokens")
    notes.logprobs(asked=True, received=False)
    record = notes.as_dict()
    assert record["honoured"] == ["seed"]
    assert record["unverified"] == ["logprobs", "repetition_penalty"]  # none came back
    assert record["controls"]["min_tokens"]["state"] == "refused"
    lines = endpoint_lines(record)
    text = " | ".join(line for line, _ in lines)
    assert "server family llama-cpp-python" in text and "top_k 0" in text
    assert "honoured (effect shown): seed" in text
    unverified = next(w for line, w in lines if "UNVERIFIED" in line)
    assert unverified and "figures of divergence rest on it" in text
    assert "refused by the endpoint" in text and "min_tokens" in text
    assert "not computed: membership signals" in text
    assert endpoint_not_computed(record)


class _Scripted(BaseHTTPRequestHandler):
    """Answers ``ok`` chat completions for the first ``good`` requests, then HTTP 500."""

    good = 0
    count = 0
    first_failure: float | None = None
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(404, b"no")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        cls = type(self)
        with cls.lock:
            cls.count += 1
            n = cls.count
        if n > cls.good:
            self._send(500, b"Internal Server Error")
            return
        answer = {"choices": [{"message": {"content": f"answer {n} " * 5},
                               "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 10}}
        self._send(200, json.dumps(answer).encode())


@pytest.fixture()
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"good": 0, "count": 0, "lock": threading.Lock()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


#: fewer failing requests than every prompt's 6 attempts (16 x 6) before the target gives up
#: (31 measured at concurrency 8; how many depends on how the workers interleave)
GIVE_UP_REQUESTS = 16 * 6 - 1


def test_an_always_500_server_is_given_up_after_a_few_requests(scripted) -> None:  # type: ignore[no-untyped-def]
    url, handler = scripted
    with OpenAITarget(url, "m", api_key_env=None) as target, \
            pytest.raises(TargetError, match="answered repeated requests the same way"):
        target.generate(text_prompts([f"p{i}" for i in range(16)], greedy(4)))
    assert handler.count <= GIVE_UP_REQUESTS


def test_a_scan_stops_early_and_keeps_finished_work(scripted, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, handler = scripted
    handler.good = 16  # the first batch (16 prompts) is answered, then the server breaks
    db = tmp_path / "run.db"
    code, out, err = run_cli(["scan", "--target", f"openai:{url}?model=m&chat=1&verify=0",
                              "--attack", "divergence", "--run", str(db)])
    assert code == 5, err
    # given up after a few failing requests, not every prompt's retries
    assert 0 < handler.count - 16 <= GIVE_UP_REQUESTS
    assert "answered repeated requests the same way" in err and "HTTP 500" in err
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM generations WHERE ok = 1").fetchone()[0] == 16
