"""Repetition controls (frequency/presence/repetition penalties, min_new_tokens) through the
HF target, the OpenAI-compatible target + ``serve``, and vLLM's SamplingParams kwargs."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import torch

from regurgitate.errors import ConfigError
from regurgitate.targets.hf import HFTarget
from regurgitate.targets.hf_penalties import openai_penalty_processor
from regurgitate.targets.openai import OpenAITarget
from regurgitate.targets.openai.target import request_body
from regurgitate.targets.settings import validate_settings
from regurgitate.targets.vllm import sampling_kwargs
from regurgitate.types import GenerationSettings, Prompt
from tests.targets.conftest import model_stopping_at

from .prompts import greedy, text_prompts


def _greedy(n: int, **kw: float | int) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=n, greedy=True, logprobs=False, **kw)  # type: ignore[arg-type]


def test_openai_penalty_counts_only_generated_tokens() -> None:
    proc = openai_penalty_processor(prompt_len=2, frequency=0.5, presence=1.0)
    ids = torch.tensor([[3, 3, 1, 1, 2]])  # prompt [3, 3]; generated 1 twice, 2 once
    out = proc(ids, torch.zeros(1, 5))
    assert out.tolist() == [[0.0, -2.0, -1.5, 0.0, 0.0]]


def test_frequency_penalty_breaks_a_greedy_loop(hf_target: HFTarget) -> None:
    prompt = text_prompts(["The quick brown fox"], _greedy(40))
    (plain,) = hf_target.generate(prompt)
    (penal,) = hf_target.generate(text_prompts(["The quick brown fox"],
                                               _greedy(40, frequency_penalty=2.0)))
    top_plain = Counter(plain.token_ids).most_common(1)[0][1]
    top_penal = Counter(penal.token_ids).most_common(1)[0][1]
    assert top_penal < top_plain
    assert len(set(penal.token_ids)) > len(set(plain.token_ids))


def test_repetition_penalty_changes_greedy_output(hf_target: HFTarget) -> None:
    (plain,) = hf_target.generate(text_prompts(["Pack my box"], _greedy(30)))
    (penal,) = hf_target.generate(text_prompts(["Pack my box"],
                                               _greedy(30, repetition_penalty=3.0)))
    assert plain.token_ids != penal.token_ids


def test_min_new_tokens_suppresses_eos(tiny_model_dir: Path, tmp_path: Path) -> None:
    (free,) = HFTarget(str(tiny_model_dir)).generate(text_prompts(["The quick brown"],
                                                                  _greedy(12)))
    stop_token = free.token_ids[3]
    # a copy whose generation config treats that token as end-of-sequence
    copy = model_stopping_at(tiny_model_dir, tmp_path, stop_token)
    target = HFTarget(str(copy))
    (short,) = target.generate(text_prompts(["The quick brown"], _greedy(12)))
    (long,) = target.generate(text_prompts(["The quick brown"], _greedy(12, min_new_tokens=12)))
    assert short.finish_reason == "stop" and short.completion_tokens < 12
    assert long.finish_reason == "length" and long.completion_tokens == 12
    assert stop_token not in long.token_ids


@pytest.mark.parametrize("kwargs", [
    {"frequency_penalty": 2.5}, {"presence_penalty": -3.0}, {"repetition_penalty": 0.0},
    {"min_new_tokens": -1}, {"min_new_tokens": 20},
])
def test_out_of_range_controls_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        validate_settings(GenerationSettings(max_new_tokens=10, **kwargs))


def test_request_body_sends_openai_fields_and_vllm_extensions() -> None:
    s = GenerationSettings(max_new_tokens=9, temperature=0.5, frequency_penalty=0.4,
                           presence_penalty=0.2, repetition_penalty=1.3, min_new_tokens=9,
                           logprobs=False)
    body = request_body(Prompt(id="1", attack="a", text="hi", settings=s), "m", chat=False)
    assert body["frequency_penalty"] == 0.4 and body["presence_penalty"] == 0.2
    assert body["repetition_penalty"] == 1.3 and body["min_tokens"] == 9
    # a strict endpoint: repetition_penalty has no substitute (refused before sending);
    # min_new_tokens is left out (the target substitutes logit_bias, see test_endpoint_*)
    with pytest.raises(ConfigError, match="repetition_penalty"):
        request_body(Prompt(id="1", attack="a", text="hi", settings=s), "m", chat=False,
                     extensions=False)
    eos_only = replace(s, repetition_penalty=1.0)
    strict = request_body(Prompt(id="1", attack="a", text="hi", settings=eos_only), "m",
                          chat=False, extensions=False)
    assert "min_tokens" not in strict and strict["frequency_penalty"] == 0.4
    plain = request_body(Prompt(id="1", attack="a", text="hi", settings=greedy(3)), "m",
                         chat=False)
    assert not {"frequency_penalty", "presence_penalty", "repetition_penalty",
                "min_tokens"} & set(plain)


def test_strict_openai_target_refuses_extensions_before_sending(server) -> None:
    s = GenerationSettings(max_new_tokens=4, repetition_penalty=1.2)
    before = server.stats.requests
    with OpenAITarget(server.url, server.model_name, api_key_env=None,
                      extensions=False) as target, pytest.raises(ConfigError):
        target.generate(text_prompts(["fox"], s))
    assert server.stats.requests == before


def test_controls_over_http_match_the_local_model(server, hf_target: HFTarget) -> None:
    s = _greedy(20, frequency_penalty=1.5, presence_penalty=0.5, repetition_penalty=1.2,
                min_new_tokens=20)
    prompts = text_prompts(["The quick brown fox"], s)
    with OpenAITarget(server.url, server.model_name, api_key_env=None) as target:
        (remote,) = target.generate(prompts)
    (local,) = hf_target.generate(prompts)
    assert remote.ok, remote.error
    assert remote.text == local.text and remote.completion_tokens == 20


def test_serve_maps_ignore_eos_and_rejects_bad_controls(server) -> None:
    base = {"model": server.model_name, "prompt": "fox", "max_tokens": 7, "temperature": 0}
    r = httpx.post(f"{server.url}/completions", json={**base, "ignore_eos": True})
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 7
    for bad in ({"frequency_penalty": 9}, {"repetition_penalty": "x"}, {"ignore_eos": "yes"}):
        r = httpx.post(f"{server.url}/completions", json={**base, **bad})
        assert r.status_code == 400, bad


def test_vllm_sampling_kwargs_carry_the_controls() -> None:
    kw = sampling_kwargs(GenerationSettings(max_new_tokens=8, frequency_penalty=0.3,
                                            presence_penalty=0.1, repetition_penalty=1.1,
                                            min_new_tokens=8, logprobs=False))
    assert kw["frequency_penalty"] == 0.3 and kw["presence_penalty"] == 0.1
    assert kw["repetition_penalty"] == 1.1 and kw["min_tokens"] == 8
    assert "min_tokens" not in sampling_kwargs(GenerationSettings(max_new_tokens=8))
