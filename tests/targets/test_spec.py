"""Target spec parsing and make_target."""

from __future__ import annotations

import pytest

from regurgitate.errors import ConfigError
from regurgitate.targets import make_target, parse_spec
from regurgitate.targets.hf import HFTarget
from regurgitate.targets.openai import OpenAITarget


def test_hf_spec_options_are_typed():
    p = parse_spec("hf:/models/tiny?device=cpu&batch_size=16&dtype=float32&chat=1")
    assert p.scheme == "hf" and p.location == "/models/tiny"
    assert p.options == {"device": "cpu", "batch_size": 16, "dtype": "float32", "chat": True}


def test_openai_spec():
    p = parse_spec("openai:http://127.0.0.1:8000/v1?model=tiny&chat=1&concurrency=4&timeout=2.5"
                   "&api_key_env=MY_KEY")
    assert p.location == "http://127.0.0.1:8000/v1"
    assert p.options == {"model": "tiny", "chat": True, "concurrency": 4, "timeout": 2.5,
                         "api_key_env": "MY_KEY"}


def test_vllm_and_reference_specs():
    p = parse_spec("vllm:meta/llama?tensor_parallel_size=2&gpu_memory_utilization=0.5")
    assert p.location == "meta/llama"
    assert p.options == {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.5}
    r = parse_spec("reference?batch_size=4")
    assert r.scheme == "reference" and r.options == {"batch_size": 4}
    assert parse_spec("reference").name == "reference"


@pytest.mark.parametrize(("spec", "words"), [
    ("hff:/x", ["unknown target scheme", "did you mean 'hf'"]),
    ("opneai:http://x/v1?model=m", ["did you mean 'openai'"]),
    ("gguf:/x", ["unknown target scheme", "valid"]),
    ("hf:/x?batchsize=3", ["unknown option 'batchsize'", "did you mean 'batch_size'"]),
    ("hf:/x?batch_size=many", ["bad value 'many'"]),
    ("hf:/x?chat=maybe", ["bad value"]),
    ("hf:", ["names no model"]),
    ("openai:http://x/v1", ["need the option 'model'"]),
    ("openai:localhost:8000?model=m", ["http(s) URL"]),
    ("hf:/x?device=cpu&device=cuda", ["given twice"]),
    ("", ["empty target spec"]),
])
def test_bad_specs(spec, words):
    with pytest.raises(ConfigError) as info:
        parse_spec(spec)
    for word in words:
        assert word in str(info.value)


def test_api_key_in_spec_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as info:
        parse_spec("openai:http://x/v1?model=m&api_key=sk-abc123")
    assert "sk-abc123" not in str(info.value)
    assert "api_key_env" in str(info.value)


def test_url_password_removed_from_name():
    p = parse_spec("openai:http://user:hunter2@example.org:8080/v1?model=m")
    assert "hunter2" not in p.name and "user" not in p.name
    assert p.name == "openai:http://example.org:8080/v1?model=m"


def test_make_target_builds_backends(tiny_model_dir):
    spec = f"hf:{tiny_model_dir}?batch_size=3&dtype=float32"
    hf = make_target(spec)
    assert isinstance(hf, HFTarget) and hf.batch_size == 3 and hf.name == spec
    remote = make_target("openai:http://127.0.0.1:9/v1?model=m&concurrency=2&api_key_env=")
    assert isinstance(remote, OpenAITarget) and remote.concurrency == 2
    assert remote.name == "openai:http://127.0.0.1:9/v1?model=m&concurrency=2&api_key_env="


def test_reference_spec_uses_the_bundled_model():
    from regurgitate import reference

    try:
        expected = reference.model_dir()
    except ConfigError as missing:
        with pytest.raises(ConfigError) as info:
            make_target("reference")
        assert str(info.value) == str(missing)
        return
    target = make_target("reference?batch_size=2")
    assert isinstance(target, HFTarget)
    assert target.name == "reference?batch_size=2" and target.batch_size == 2
    assert target.model.config.name_or_path == str(expected)
