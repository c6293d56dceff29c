"""The long-form loop runs through the pipeline's generation stage: the run's budget, a stop
request (Ctrl-C) and resume behave as in a scan, counted in turns sent to the target."""

from __future__ import annotations

from pathlib import Path

from regurgitate.audit.longform import LongformSettings, run_longform
from regurgitate.audit.works import Work
from regurgitate.scan.budget import Budget
from regurgitate.store import RunStore
from regurgitate.types import Prompt, RunSpec
from tests.cli.scripted import ScriptedTarget

WORKS = [Work(id=f"w{i}", title=f"Work {i}",
              text=f"Opening sentence of work {i}. " + " ".join(f"w{i}x{k}" for k in range(60)))
         for i in range(2)]
#: every turn adds nothing new, so a work ends after ``patience`` turns without budgets
SETTINGS = LongformSettings(max_turns=4, patience=10)


def _reply(prompt: Prompt) -> str:
    return f"nothing from the book ({prompt.id})"


def _store(path: Path) -> RunStore:
    store = RunStore.open(path)
    store.init_run(RunSpec(target="scripted", attacks=("longform",), index=None))
    return store


def test_the_budget_stops_the_loop_and_resume_sends_no_turn_twice(tmp_path: Path) -> None:
    target = ScriptedTarget(_reply)
    with _store(tmp_path / "run.db") as store:
        first = run_longform(store, target, WORKS, SETTINGS,
                             budget=Budget(max_generations=5))
        assert target.calls == 5
        assert [r.turns for r in first] == [4, 1]
        assert first[-1].stopped == "max-generations (5) reached"
        # the same budget again: the stored turns count against it, nothing is sent
        again = run_longform(store, target, WORKS, SETTINGS, budget=Budget(max_generations=5))
        assert target.calls == 5 and [r.turns for r in again] == [4, 1]
        # a larger budget resumes at the turn reached
        done = run_longform(store, target, WORKS, SETTINGS, budget=Budget(max_generations=8))
        assert target.calls == 8
        assert [r.turns for r in done] == [4, 4]
        assert {r.stopped for r in done} == {"max-turns"}
        assert store.stats().generations_ok == 8


def test_a_stop_request_ends_the_loop_between_turns(tmp_path: Path) -> None:
    target = ScriptedTarget(_reply)
    with _store(tmp_path / "run.db") as store:
        results = run_longform(store, target, WORKS, SETTINGS,
                               should_stop=lambda: target.calls >= 2)
        assert target.calls == 2
        assert [(r.turns, r.stopped) for r in results] == [(2, "interrupted")]
