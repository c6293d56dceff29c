"""VLLMTarget pieces that need no GPU: settings translation, validation, missing dependency."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from regurgitate.errors import ConfigError
from regurgitate.targets.vllm import chosen_logprobs, engine_kwargs, sampling_kwargs
from regurgitate.types import GenerationSettings

from .prompts import greedy


def test_sampling_kwargs_greedy_and_sampled():
    assert sampling_kwargs(greedy(7)) == {"max_tokens": 7, "temperature": 0.0, "logprobs": 1}
    s = GenerationSettings(max_new_tokens=3, temperature=0.8, top_k=20, top_p=0.9, seed=5,
                           logprobs=False)
    assert sampling_kwargs(s) == {"max_tokens": 3, "temperature": 0.8, "top_p": 0.9,
                                  "top_k": 20, "seed": 5}
    assert "top_k" not in sampling_kwargs(GenerationSettings(top_k=0))
    assert sampling_kwargs(GenerationSettings(temperature=0.0))["temperature"] == 0.0


def test_sampling_kwargs_validation():
    with pytest.raises(ConfigError, match="temperature"):
        sampling_kwargs(GenerationSettings(temperature=-1))
    with pytest.raises(ConfigError, match="top_k"):
        sampling_kwargs(GenerationSettings(top_k=-1))


def test_engine_kwargs():
    kw = engine_kwargs("m", tensor_parallel_size=2, dtype="bfloat16", gpu_memory_utilization=0.5,
                       max_model_len=2048, seed=1, extra={"enforce_eager": True})
    assert kw == {"model": "m", "tensor_parallel_size": 2, "dtype": "bfloat16",
                  "gpu_memory_utilization": 0.5, "seed": 1, "max_model_len": 2048,
                  "enforce_eager": True}
    with pytest.raises(ConfigError):
        engine_kwargs("m", tensor_parallel_size=0, dtype="auto", gpu_memory_utilization=0.9,
                      max_model_len=None, seed=0, extra={})
    with pytest.raises(ConfigError):
        engine_kwargs("m", tensor_parallel_size=1, dtype="auto", gpu_memory_utilization=1.5,
                      max_model_len=None, seed=0, extra={})


@dataclass
class _Logprob:  # the shape of vllm.sequence.Logprob
    logprob: float


def test_chosen_logprobs_picks_the_generated_token():
    per_position = [{5: _Logprob(-0.1), 7: _Logprob(-2.0)}, {9: _Logprob(-0.3)}]
    assert chosen_logprobs([5, 9], per_position) == (-0.1, -0.3)
    assert chosen_logprobs([5], None) is None


def test_missing_vllm_names_the_extra():
    code = (
        "import sys; sys.modules['vllm'] = None\n"
        "from regurgitate.errors import MissingDependencyError\n"
        "from regurgitate.targets.vllm import VLLMTarget\n"
        "try:\n"
        "    VLLMTarget('some/model')\n"
        "except MissingDependencyError as e:\n"
        "    print('OK', e.package, e.extra, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.startswith("OK vllm vllm") and "regurgitate[vllm]" in out
