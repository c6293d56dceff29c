"""The API key must never leak into names, reprs, exceptions, per-prompt errors or logs."""

from __future__ import annotations

import logging
import socket

import pytest

from regurgitate.errors import TargetError
from regurgitate.model_server import FaultPlan, make_server
from regurgitate.targets import make_target
from regurgitate.targets.openai import OpenAITarget

from .prompts import greedy, text_prompts

SECRET = "sk-test-5ecret-d0-not-leak-9876"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_key_never_appears(hf_target, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("REGURGITATE_TEST_KEY", SECRET)
    seen: list[str] = []

    # a dead port: TargetError
    dead = OpenAITarget(f"http://127.0.0.1:{_free_port()}/v1", "m",
                        api_key_env="REGURGITATE_TEST_KEY", max_retries=1, backoff_base=0.01)
    seen += [dead.name, repr(dead), str(dead)]
    with pytest.raises(TargetError) as info:
        dead.generate(text_prompts(["a"], greedy(2)))
    seen += [str(info.value), repr(info.value), info.value.message, str(info.value.hint)]

    # a server that wants another key: 401
    with make_server(target=hf_target, model_name="tiny", api_key="other") as srv:
        wrong = OpenAITarget(srv.url, "tiny", api_key_env="REGURGITATE_TEST_KEY")
        with pytest.raises(TargetError) as info:
            wrong.generate(text_prompts(["a"], greedy(2)))
        seen += [str(info.value), repr(info.value)]

    # the right key from a file, and retries that run out: per-prompt errors
    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "\n")
    plan = FaultPlan(schedule=("500", "drop", "malformed", "429"), retry_after=0.01)
    with make_server(target=hf_target, model_name="tiny", api_key=SECRET, faults=plan) as srv:
        spec = f"openai:{srv.url}?model=tiny&api_key_file={key_file}&max_retries=3&timeout=2"
        target = make_target(spec)
        gens = target.generate(text_prompts(["a"], greedy(2)))
        assert not gens[0].ok  # 4 attempts, 4 faults
        seen += [g.error or "" for g in gens] + [target.name, repr(target)]
        (good,) = target.generate(text_prompts(["b"], greedy(2)))
        assert good.ok  # the key really was sent

    seen += [r.getMessage() for r in caplog.records]
    seen.append(caplog.text)
    assert not [s for s in seen if SECRET in s]
