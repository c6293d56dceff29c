"""The run store on real SQLite files: round trips, resume rules, findings, stats."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from regurgitate.errors import StoreError
from regurgitate.findings import Finding, Payload, PIIHit, VerbatimSpan
from regurgitate.store import RunStore, is_secret_key
from regurgitate.store.stats import AttackStats
from regurgitate.types import Generation, RunSpec


@dataclass(frozen=True)
class Loose(Payload):
    """A test-only finding kind holding any value."""

    kind: ClassVar[str] = "test-loose"
    value: Any = None

def test_new_database_pragmas(store: RunStore) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert store.spec() is None
    assert store.stats().prompts == 0


def test_spec_round_trip_and_resume(store_factory, rec) -> None:
    spec = rec.spec()
    with store_factory() as store:
        assert store.init_run(spec) is True
        assert store.spec() == spec
        assert isinstance(store.spec().settings["presets"], tuple)
    with store_factory() as store:
        assert store.init_run(rec.spec(tool_version="0.2.0")) is False
        assert store.spec() == spec  # the original spec, tool version included
        assert [(e, v) for e, v, _ in store.history()] == [
            ("start", "0.1.0"), ("resume", "0.2.0"),
        ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"target": "hf:/models/other"},
         "target: stored 'hf:/models/tiny', now 'hf:/models/other'"),
        ({"attacks": ("divergence",)}, "attacks: stored"),
        ({"index": None}, "index: stored '/idx/tiny', now None"),
        ({"settings": {"max_new_tokens": 32, "seed": 3, "presets": ("a", "b"),
                       "nested": {"k": 1}}}, "settings.max_new_tokens: stored 64, now 32"),
        ({"settings": {"max_new_tokens": 64, "seed": 3, "presets": ("a", "b"),
                       "nested": {"k": 2}}}, "settings.nested.k: stored 1, now 2"),
        ({"settings": {"max_new_tokens": 64, "presets": ("a", "b"), "nested": {"k": 1}}},
         "settings.seed removed"),
    ],
)
def test_resume_with_a_different_run_is_refused(store, rec, changes, expected) -> None:
    store.init_run(rec.spec())
    with pytest.raises(StoreError) as info:
        store.init_run(rec.spec(**changes))
    assert expected in str(info.value)
    assert "--run NEW.db" in (info.value.hint or "")
    assert store.spec() == rec.spec()


@pytest.mark.parametrize(
    "settings",
    [{"api_key": "sk-x"}, {"headers": {"Authorization": "Bearer x"}}, {"key": "v"},
     {"token": "t"}, {"hf_token": "t"}, {"targets": [{"OPENAI-API-KEY": "x"}]},
     {"password": "p"}, {"options": {"openai": {"api_key": "sk-x"}}},
     {"detectors": {"x": {"auth_token": "t"}}}],
)
def test_settings_with_secret_keys_are_refused(store, rec, settings) -> None:
    with pytest.raises(StoreError, match="looks like a credential"):
        store.init_run(rec.spec(settings=settings))
    assert store.spec() is None


def test_component_names_are_not_credentials(store, rec) -> None:
    # an attack named like a credential key ("repeated-token") is a name, not a setting
    settings = {"options": {"repeated-token": {"units": ["jq_THREADS"]}},
                "detectors": {"my_token": {"k": 3}}}
    store.init_run(rec.spec(settings=settings))
    assert store.spec() is not None and store.spec().settings == settings


@pytest.mark.parametrize(
    "target",
    ["openai:http://h/v1?api_key=abc", "http://h Authorization: Bearer abc",
     "openai:sk-abcdefghijklmnopqrstuvwx"],
)
def test_targets_carrying_secrets_are_refused(store, rec, target) -> None:
    with pytest.raises(StoreError, match="credential"):
        store.init_run(rec.spec(target=target))


def test_secret_key_names() -> None:
    assert all(map(is_secret_key, ["api_key", "API-KEY", "key", "token", "authorization",
                                   "access_token", "client_secret"]))
    assert not any(map(is_secret_key, ["max_new_tokens", "tokenizer", "top_k", "keys_seen",
                                       "token_dtype", "monkey"]))


def test_prompts_round_trip_and_idempotent(store, rec) -> None:
    prompts = [rec.prompt(i) for i in range(6)] + [rec.prompt(0, "discoverable")]
    assert store.add_prompts(prompts) == 7
    assert store.add_prompts(prompts[:3]) == 0
    assert store.add_prompts([rec.prompt(9)] + prompts) == 1
    assert store.pending_prompts() == prompts + [rec.prompt(9)]
    assert store.pending_prompts("discoverable") == [prompts[-1]]
    got = store.pending_prompts("divergence")[0]
    assert got.meta["true_suffix_ids"] == (5, 6, 7)
    assert got.meta["list"] == [1, (2, 3)]
    assert isinstance(store.pending_prompts()[2].messages, tuple)


def test_generations_round_trip(store, rec) -> None:
    prompts = [rec.prompt(i) for i in range(4)]
    store.add_prompts(prompts)
    gens = [rec.gen(0), rec.gen(1), rec.gen(2, error="HTTP 500"),
            Generation(prompt_id="divergence:3", text="")]
    ids = store.add_generations(gens)
    assert len(set(ids)) == 4
    items = list(store.generations(ok_only=False))
    assert [i.generation_id for i in items] == ids
    assert [i.generation for i in items] == gens
    assert [i.prompt for i in items] == prompts
    assert items[0].generation.token_ids[-2:] == (70_000, 0)
    assert [i.generation_id for i in store.generations()] == [ids[0], ids[1], ids[3]]
    got = store.get_generation(ids[1])
    assert got.generation == gens[1] and got.prompt == prompts[1]
    with pytest.raises(StoreError, match="no generation 999"):
        store.get_generation(999)


def test_failed_generation_is_superseded_not_duplicated(store, rec) -> None:
    store.add_prompts([rec.prompt(i) for i in range(3)])
    first = store.add_generations([rec.gen(0), rec.gen(1, error="timeout")])
    assert [p.id for p in store.pending_prompts()] == ["divergence:1", "divergence:2"]
    assert store.stats().generations_ok == 1 and store.stats().generations_failed == 1
    again = store.add_generations([rec.gen(1, error="timeout again")])
    assert again == [first[1]]
    assert store.get_generation(first[1]).generation.error == "timeout again"
    retry = store.add_generations([rec.gen(1), rec.gen(2)])
    assert retry[0] == first[1]
    assert store.get_generation(first[1]).generation == rec.gen(1)
    # a successful generation is never replaced, by a failure or another success
    late = Generation(prompt_id="divergence:0", text="different")
    assert store.add_generations([late, rec.gen(0, error="boom")]) == [first[0], first[0]]
    assert store.get_generation(first[0]).generation == rec.gen(0)
    assert store.pending_prompts() == []
    assert store.stats().generations_ok == 3 and store.stats().generations_failed == 0
    probe = sqlite3.connect(store.path)
    assert probe.execute("SELECT count(*) FROM generations").fetchone()[0] == 3
    probe.close()


def test_attempts_add_up_the_requests_each_generation_sent(store, rec) -> None:
    store.add_prompts([rec.prompt(0)])
    failed = replace(rec.gen(0, error="HTTP 500 (gave up after 6 attempts)"), attempts=6)
    store.add_generations([failed])
    store.add_generations([replace(rec.gen(0), attempts=2)])  # a later run: two requests
    probe = sqlite3.connect(store.path)
    assert probe.execute("SELECT attempts FROM generations").fetchone()[0] == 8
    probe.close()


def test_generation_for_unknown_prompt_rolls_back_batch(store, rec) -> None:
    store.add_prompts([rec.prompt(0)])
    with pytest.raises(StoreError, match="divergence:5"):
        store.add_generations([rec.gen(0), rec.gen(5)])
    assert list(store.generations(ok_only=False)) == []


def test_generations_filter_and_pagination(store, rec) -> None:
    prompts = [rec.prompt(i, a) for a in ("a1", "a2") for i in range(700)]
    store.add_prompts(prompts)
    store.add_generations([rec.gen(i, "a2") for i in range(700)])
    store.add_generations([rec.gen(i, "a1") for i in range(700)])
    a1 = [item.prompt.id for item in store.generations(attack="a1")]
    assert a1 == [f"a1:{i}" for i in range(700)]
    assert sum(1 for _ in store.generations()) == 1400


def test_findings_replace_and_mark(store, rec) -> None:
    store.add_prompts([rec.prompt(i) for i in range(4)])
    ids = store.add_generations([rec.gen(0), rec.gen(1), rec.gen(2), rec.gen(3, error="x")])
    assert store.undetected("verbatim") == ids[:3]
    f1 = Finding(generation_id=ids[0], detector="verbatim", start=0, end=9, score=55.0,
                 payload=VerbatimSpan(tokens=55, count=3, text="t", documents=(1, 2)))
    f2 = Finding(generation_id=ids[0], detector="verbatim", start=20, end=40,
                 payload=VerbatimSpan(tokens=1, count=1, text="u"))
    store.add_findings([f1, f2], detector="verbatim", generation_ids=ids[:2])
    assert store.undetected("verbatim") == [ids[2]]
    assert store.undetected("pii") == ids[:3]
    assert list(store.findings()) == [f1, f2]
    # rerunning a detector on the same generations replaces, never duplicates
    f3 = Finding(generation_id=ids[1], detector="verbatim", score=0.5,
                 payload=VerbatimSpan(tokens=1, count=1, text="v"))
    store.add_findings([f3], detector="verbatim", generation_ids=ids[:2])
    assert list(store.findings()) == [f3]
    pii = Finding(generation_id=ids[2], detector="pii", payload=PIIHit(type="EMAIL", value="x"))
    store.add_findings([pii], detector="pii", generation_ids=[ids[2]])
    assert list(store.findings(kind="pii")) == [pii]
    assert list(store.findings(detector="verbatim", generation_id=ids[1])) == [f3]
    assert list(store.findings(generation_id=ids[0])) == []
    assert store.stats().findings == {"pii": 1, "verbatim": 1}


def test_findings_contract_errors_leave_nothing(store, rec) -> None:
    store.add_prompts([rec.prompt(0)])
    (gid,) = store.add_generations([rec.gen(0)])
    outside = Finding(generation_id=gid, detector="verbatim",
                      payload=VerbatimSpan(tokens=1, count=1, text="v"))
    with pytest.raises(StoreError, match="outside the batch"):
        store.add_findings([outside], detector="verbatim", generation_ids=[gid + 1])
    with pytest.raises(StoreError, match="stored as 'pii'"):
        store.add_findings([outside], detector="pii", generation_ids=[gid])
    with pytest.raises(StoreError, match="no generation"):
        store.add_findings([], detector="verbatim", generation_ids=[gid, 12345])
    assert store.undetected("verbatim") == [gid]
    assert list(store.findings()) == []


def test_unstorable_values_are_refused(store, rec) -> None:
    store.add_prompts([rec.prompt(0)])
    (gid,) = store.add_generations([rec.gen(0)])
    bad = Finding(generation_id=gid, detector="d", payload=Loose(value={1, 2}))
    with pytest.raises(StoreError, match="type set"):
        store.add_findings([bad], detector="d", generation_ids=[gid])
    with pytest.raises(StoreError, match="token ids"):
        store.add_generations([Generation(prompt_id="divergence:0", text="", token_ids=(-1,),
                                          error="x")])


def test_meta(store) -> None:
    assert store.get_meta("status") is None
    assert store.get_meta("status", "running") == "running"
    store.set_meta("status", "finished")
    store.set_meta("budget", {"tokens": 100, "pair": (1, 2)})
    store.set_meta("status", "interrupted")
    assert store.get_meta("status") == "interrupted"
    assert store.get_meta("budget") == {"tokens": 100, "pair": (1, 2)}


def test_stats(store, rec) -> None:
    before = store.stats()
    store.init_run(rec.spec())
    store.add_prompts([rec.prompt(i) for i in range(3)] + [rec.prompt(0, "discoverable")])
    store.add_generations([rec.gen(0), rec.gen(1, error="x"),
                           Generation(prompt_id="discoverable:0", text="t", token_ids=(1, 2, 3))])
    stats = store.stats()
    assert stats.prompts == 4
    assert (stats.generations_ok, stats.generations_failed) == (2, 1)
    assert stats.tokens_generated == 12 + 3
    assert stats.per_attack == {
        "discoverable": AttackStats(prompts=1, ok=1, failed=0, pending=0, tokens=3),
        "divergence": AttackStats(prompts=3, ok=1, failed=1, pending=2, tokens=12),
    }
    assert stats.findings == {}
    assert stats.created_at == before.created_at
    assert stats.updated_at > before.updated_at


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run database"):
        RunStore.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(StoreError, match="does not exist"):
        RunStore.open(tmp_path / "nodir" / "run.db")
    text = tmp_path / "notes.db"
    text.write_text("this is not sqlite at all, just some text " * 100)
    with pytest.raises(StoreError, match="not a run database"):
        RunStore.open(text)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a regurgitate run database"):
        RunStore.open(other)
    with pytest.raises(StoreError, match="directory"):
        RunStore.open(tmp_path)


def test_existing_run_opens_with_create_false(store_factory, rec) -> None:
    with store_factory() as store:
        store.init_run(rec.spec())
    again = store_factory(create=False)
    assert again.spec() == rec.spec()


def test_spec_with_empty_settings(store) -> None:
    spec = RunSpec(target="t", attacks=(), index=None)
    assert store.init_run(spec) is True
    assert store.spec() == spec
    assert store.init_run(spec) is False


def test_numpy_values_are_stored_as_python_numbers(store, rec) -> None:
    import numpy as np

    store.add_prompts([rec.prompt(0)])
    gen = Generation(prompt_id="divergence:0", text="x",
                     token_ids=tuple(np.arange(3, dtype=np.int64)),
                     logprobs=tuple(np.array([-0.5, -1.25], dtype=np.float32)),
                     completion_tokens=np.int64(3))
    (gid,) = store.add_generations([gen])
    got = store.get_generation(gid).generation
    assert got.token_ids == (0, 1, 2) and got.logprobs == (-0.5, -1.25)
    assert got.completion_tokens == 3 and type(got.completion_tokens) is int
    f = Finding(generation_id=np.int64(gid), detector="v",
                start=np.int32(1), end=np.int64(5), score=np.float32(0.5),
                payload=VerbatimSpan(documents=np.array([3, 4]), tokens=np.int16(2),
                                     count=np.int64(1), text="x"))
    store.add_findings([f], detector="v", generation_ids=[np.int64(gid)])
    (back,) = store.findings()
    assert back == Finding(generation_id=gid, detector="v", start=1, end=5, score=0.5,
                           payload=VerbatimSpan(documents=(3, 4), tokens=2, count=1, text="x"))
    assert type(back.payload.tokens) is int
