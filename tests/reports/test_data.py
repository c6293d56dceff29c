"""load_run against the real SQLite run store."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from regurgitate.errors import StoreError
from regurgitate.reports import compute_summary, load_run, summary_to_dict
from regurgitate.store import RunStore

from .runs import demo_run


def stored_demo(path: Path) -> RunStore:
    run = demo_run()
    store = RunStore.open(path)
    store.init_run(run.spec)
    store.add_prompts([it.prompt for it in run.items])
    new_ids = store.add_generations([it.generation for it in run.items])
    id_map = {it.generation_id: new for it, new in zip(run.items, new_ids, strict=True)}
    by_detector = defaultdict(list)
    for f in run.findings:
        by_detector[f.detector].append(replace(f, generation_id=id_map[f.generation_id]))
    ok_ids = [id_map[it.generation_id] for it in run.items if it.generation.ok]
    for detector, fs in by_detector.items():
        store.add_findings(fs, detector=detector, generation_ids=ok_ids)
    store.set_meta("index_info", {"name": "idx/tiny", "tokens": 123456, "documents": 42})
    store.set_meta("status", "finished")
    return store


def test_load_run_from_store_matches_hand_built(tmp_path: Path):
    with stored_demo(tmp_path / "run.db") as store:
        run = load_run(store)
    expected = demo_run()
    assert run.spec == expected.spec
    assert len(run.items) == 7 and len(run.findings) == len(expected.findings)
    assert [it.generation.text for it in run.items] == [it.generation.text
                                                        for it in expected.items]
    assert run.index_info == {"name": "idx/tiny", "tokens": 123456, "documents": 42}
    assert run.extra["status"] == "finished"
    assert run.extra["created_at"] and run.stats is not None
    assert (run.stats.generations_ok, run.stats.generations_failed) == (6, 1)
    got, want = summary_to_dict(compute_summary(run)), summary_to_dict(compute_summary(expected))
    for s in (got, want):  # generation ids differ between the store and the hand-built run
        for q in s["sequences"]:
            q.pop("generation_ids")
    assert got == want


def test_load_run_of_empty_store_is_a_store_error(tmp_path: Path):
    with RunStore.open(tmp_path / "empty.db") as store, pytest.raises(StoreError):
        load_run(store)
