"""OpenAITarget against the fault-injecting server: retries, Retry-After, give-up, dead ends."""

from __future__ import annotations

import socket
import time

import pytest

from regurgitate.errors import ConfigError, TargetError
from regurgitate.model_server import FaultPlan, make_server
from regurgitate.targets.openai import OpenAITarget
from regurgitate.targets.openai.retries import parse_retry_after
from tests.targets.prompts import greedy, text_prompts


@pytest.fixture()
def faulty(hf_target):
    servers = []

    def build(plan: FaultPlan, **kw):
        srv = make_server(target=hf_target, model_name="tiny", faults=plan, **kw).start()
        servers.append(srv)
        return srv

    yield build
    for srv in servers:
        srv.stop()


def fast_client(srv, **kw) -> OpenAITarget:
    opts = {"api_key_env": None, "timeout": 10.0, "backoff_base": 0.02, "backoff_max": 2.0}
    opts.update(kw)
    return OpenAITarget(srv.url, "tiny", **opts)


@pytest.mark.parametrize("kind", ["500", "429", "stall", "malformed", "drop"])
def test_recovers_from_each_fault(faulty, kind):
    srv = faulty(FaultPlan(schedule=(kind, kind), retry_after=0.05, stall_s=1.5))
    # a stall must outlast the client timeout; other answers get time to spare on a busy box
    with fast_client(srv, timeout=1.0 if kind == "stall" else 10.0) as target:
        (gen,) = target.generate(text_prompts(["The quick brown"], greedy(5)))
    assert gen.ok, gen.error
    assert gen.completion_tokens == len(gen.logprobs) > 0
    assert srv.faults.injected == {kind: 2}
    assert srv.faults.requests_seen == 3


def test_honours_retry_after_seconds(faulty):
    srv = faulty(FaultPlan(schedule=("429",), retry_after=0.8))
    start = time.perf_counter()
    with fast_client(srv) as target:
        (gen,) = target.generate(text_prompts(["jugs"], greedy(3)))
    assert gen.ok
    assert time.perf_counter() - start >= 0.8  # backoff alone would wait ~0.02 s


def test_honours_retry_after_http_date(faulty):
    srv = faulty(FaultPlan(schedule=("429",), retry_after=0.5, retry_after_date=True))
    start = time.perf_counter()
    with fast_client(srv, backoff_max=5.0) as target:
        (gen,) = target.generate(text_prompts(["jugs"], greedy(3)))
    assert gen.ok
    assert time.perf_counter() - start >= 0.9  # the date is at least 1 s ahead


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-2") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


def test_per_prompt_error_when_retries_run_out(faulty):
    srv = faulty(FaultPlan(schedule=("500", "500", "500")))
    prompts = text_prompts(["first", "second"], greedy(4))
    with fast_client(srv, concurrency=1, max_retries=2) as target:
        first, second = target.generate(prompts)
    assert not first.ok and first.text == ""
    assert "HTTP 500" in first.error and "3 attempts" in first.error
    assert second.ok
    assert srv.faults.requests_seen == 4


def test_random_fault_rate_still_completes(faulty):
    plan = FaultPlan(rate=0.4, seed=3, kinds=("500", "429", "malformed", "drop"),
                     retry_after=0.01)
    srv = faulty(plan)
    prompts = text_prompts([f"prompt {i}" for i in range(16)], greedy(4))
    with fast_client(srv, concurrency=4, max_retries=10) as target:
        gens = target.generate(prompts)
    assert all(g.ok for g in gens), [g.error for g in gens if not g.ok]
    assert sum(srv.faults.injected.values()) > 0
    assert srv.stats.ok == len(prompts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_endpoint_raises_target_error():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    target = OpenAITarget(url, "m", api_key_env=None, max_retries=1, backoff_base=0.01)
    with pytest.raises(TargetError, match="cannot connect") as info:
        target.generate(text_prompts(["a", "b", "c"], greedy(3)))
    assert url in str(info.value) and "regurgitate serve" in str(info.value)


def test_wrong_key_is_an_authentication_error(faulty, monkeypatch):
    srv = faulty(FaultPlan(), api_key="right-key")
    monkeypatch.setenv("TINY_KEY", "wrong-key")
    with pytest.raises(TargetError, match="authentication failed"):
        fast_client(srv, api_key_env="TINY_KEY").generate(text_prompts(["a"], greedy(3)))
    assert srv.faults.requests_seen == 0  # refused before any generation, and not retried
    monkeypatch.setenv("TINY_KEY", "right-key")
    (gen,) = fast_client(srv, api_key_env="TINY_KEY").generate(text_prompts(["a"], greedy(3)))
    assert gen.ok


def test_fault_plan_validation():
    with pytest.raises(ConfigError, match="unknown fault kind"):
        FaultPlan(schedule=("boom",))
    with pytest.raises(ConfigError):
        FaultPlan(rate=1.5)
