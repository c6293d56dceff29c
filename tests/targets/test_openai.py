"""OpenAITarget against the real local server (no faults), and the server's own protocol."""

from __future__ import annotations

import httpx
import pytest

from regurgitate.errors import ConfigError
from regurgitate.model_server import make_server
from regurgitate.targets.openai import OpenAITarget
from regurgitate.targets.openai.target import request_body
from regurgitate.targets.openai.wire import parse_response
from regurgitate.types import GenerationSettings, Prompt

from .prompts import PROMPT_TEXTS, greedy, text_prompts


def client(server, **kw) -> OpenAITarget:
    kw.setdefault("api_key_env", None)
    return OpenAITarget(server.url, server.model_name, **kw)


def test_completions_match_the_local_model(server, hf_target):
    prompts = text_prompts(PROMPT_TEXTS, greedy(10))
    with client(server) as target:
        remote = target.generate(prompts)
    local = [hf_target.generate([p])[0] for p in prompts]
    for r, loc in zip(remote, local, strict=True):
        assert r.ok, r.error
        assert r.text == loc.text
        assert r.finish_reason == loc.finish_reason
        assert r.completion_tokens == loc.completion_tokens
        assert r.prompt_tokens == loc.prompt_tokens
        assert r.logprobs == pytest.approx(loc.logprobs, abs=1e-4)
        assert all(lp <= 0 for lp in r.logprobs)


def test_chat_completions_with_logprobs(server, hf_target):
    messages = ({"role": "user", "content": "Tell me about the quick brown fox"},)
    prompt = Prompt(id="c", attack="chat", text=None, messages=messages, settings=greedy(9))
    with client(server, chat=True) as target:
        (remote,) = target.generate([prompt])
    (local,) = hf_target.generate([prompt])
    assert remote.ok and remote.text == local.text
    assert len(remote.logprobs) == remote.completion_tokens == local.completion_tokens
    assert remote.logprobs == pytest.approx(local.logprobs, abs=1e-4)


def test_logprobs_absent_when_not_requested(server):
    with client(server) as target:
        (gen,) = target.generate(text_prompts(["jugs"], greedy(5, logprobs=False)))
    assert gen.ok and gen.logprobs is None


def test_seeded_sampling_is_reproducible_over_http(server):
    s = GenerationSettings(max_new_tokens=12, temperature=1.0, seed=7)
    prompts = text_prompts(["Once upon a time"], s)
    with client(server, concurrency=1) as target:
        first, again = target.generate(prompts)[0], target.generate(prompts)[0]
    assert first.ok and first.text == again.text


def test_concurrency_limit_is_respected_and_used(hf_target):
    prompts = text_prompts(PROMPT_TEXTS * 4, greedy(6))
    for concurrency in (1, 8):
        with make_server(target=hf_target, model_name="tiny") as srv, \
                OpenAITarget(srv.url, "tiny", concurrency=concurrency,
                             api_key_env=None) as target:
            gens = target.generate(prompts)
            assert all(g.ok for g in gens)
            assert srv.stats.requests == len(prompts)
            if concurrency == 1:
                assert srv.stats.peak_in_flight == 1
            else:
                assert 2 <= srv.stats.peak_in_flight <= concurrency


def test_unknown_model_is_a_per_prompt_error_without_retries(server):
    before = server.stats.requests
    target = OpenAITarget(server.url, "no-such-model", api_key_env=None, backoff_base=0.01)
    gens = target.generate(text_prompts(["a", "b"], greedy(3)))
    assert all(not g.ok and g.text == "" and "404" in g.error for g in gens)
    assert server.stats.requests - before == 2


def test_server_models_and_bad_requests(server):
    with httpx.Client(base_url=server.url) as http:
        models = http.get("/models").json()
        assert [m["id"] for m in models["data"]] == ["tiny"]
        assert http.post("/completions", content=b"{not json").status_code == 400
        bad = http.post("/completions", json={"prompt": "x", "top_p": 0})
        assert bad.status_code == 400 and "top_p" in bad.json()["error"]["message"]
        assert http.post("/chat/completions", json={"messages": []}).status_code == 400
        assert http.post("/nope", json={}).status_code == 404
        many = http.post("/completions", json={"prompt": ["a", "b"], "max_tokens": 3,
                                               "temperature": 0}).json()
        assert [c["index"] for c in many["choices"]] == [0, 1]
        assert many["usage"]["completion_tokens"] <= 6


def test_request_body_translation():
    s = GenerationSettings(max_new_tokens=5, temperature=0.7, top_k=40, top_p=0.9, seed=3)
    body = request_body(Prompt(id="1", attack="a", text="hi", settings=s), "m", chat=False)
    assert body == {"model": "m", "prompt": "hi", "max_tokens": 5, "temperature": 0.7,
                    "top_p": 0.9, "top_k": 40, "seed": 3, "logprobs": 1}
    g = request_body(Prompt(id="1", attack="a", text="hi", settings=greedy(4, logprobs=False)),
                     "m", chat=True)
    assert g == {"model": "m", "max_tokens": 4, "temperature": 0.0,
                 "messages": [{"role": "user", "content": "hi"}]}


def test_parse_response_shapes():
    done = parse_response({"choices": [{"text": "x", "finish_reason": "stop",
                                        "logprobs": {"token_logprobs": [-0.5, None]}}]},
                          chat=False)
    assert done["text"] == "x" and done["logprobs"][0] == -0.5
    chat = parse_response({"choices": [{"message": {"content": "y"},
                                        "logprobs": {"content": [{"logprob": -1.0}]}}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 1}}, chat=True)
    assert chat["logprobs"] == (-1.0,) and chat["prompt_tokens"] == 3
    with pytest.raises(ValueError):
        parse_response({"choices": []}, chat=False)


def test_constructor_validation(tmp_path):
    with pytest.raises(ConfigError):
        OpenAITarget("ftp://x", "m")
    with pytest.raises(ConfigError):
        OpenAITarget("http://127.0.0.1:1/v1", "m", concurrency=0)
    with pytest.raises(ConfigError, match="cannot read API key file"):
        OpenAITarget("http://127.0.0.1:1/v1", "m", api_key_file=str(tmp_path / "missing"))
