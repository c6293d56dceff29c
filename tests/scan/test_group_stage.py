"""The group-detector stage of run.py: a detector that judges all generations of one prompt at
once runs when that prompt's generations are complete, in the run that completes them (a
resumed one included), and a batch detector may not depend on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.detectors.base import Detector, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import DivergedOutput, Finding
from regurgitate.scan.budget import Budget
from regurgitate.scan.pipeline import run_scan
from regurgitate.store import RunStore
from regurgitate.targets.base import Target
from regurgitate.types import Generation, GenerationSettings, Item, Prompt, RunSpec


@dataclass(frozen=True)
class _Seeds(Attack):
    """``per_prompt`` prompts (distinct seeds) for each of two texts, interleaved so a budget
    stop leaves both groups incomplete."""

    name: str = "seeds"
    per_prompt: int = 3

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        return [Prompt(id=f"seeds:{t}:{i}", attack=self.name, text=t,
                       settings=GenerationSettings(max_new_tokens=4, seed=i))
                for i in range(self.per_prompt) for t in ("alpha", "beta")]


class _Echo(Target):
    name = "echo"
    batch_size = 2

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        return [Generation(prompt_id=p.id, text=f"{p.as_text()} {p.settings.seed}",
                           completion_tokens=2) for p in prompts]


class _GroupSize(Detector):
    """Records, on every member, how many generations its group had when judged."""

    name = "group_size"
    groups: ClassVar[bool] = True
    calls: ClassVar[list[int]] = []

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        type(self).calls.append(len(items))
        return [Finding(it.generation_id, self.name,
                        DivergedOutput(word=it.prompt.as_text(), repeats=len(items),
                                       diverged_chars=0)) for it in items]


def _scan(db: Path, budget: Budget | None = None) -> None:
    with RunStore.open(db) as store:
        run_scan(store=store, spec=RunSpec(target="echo", attacks=("seeds",), index=None),
                 target=_Echo(), attacks=[_Seeds()], detectors=[_GroupSize()], index=None,
                 budget=budget)


def _judged(db: Path) -> dict[str, list[int]]:
    with RunStore.open(db) as store:
        out: dict[str, list[int]] = {}
        for f in store.findings(detector="group_size"):
            assert isinstance(f.payload, DivergedOutput)
            out.setdefault(f.payload.word, []).append(f.payload.repeats)
    return out


def test_groups_are_judged_once_complete_whole_and_once(tmp_path: Path) -> None:
    _GroupSize.calls = []
    _scan(tmp_path / "run.db")
    assert _judged(tmp_path / "run.db") == {"alpha": [3, 3, 3], "beta": [3, 3, 3]}
    assert _GroupSize.calls == [3, 3]  # each group once, with all its members
    _scan(tmp_path / "run.db")  # an already complete run judges nothing again
    assert _GroupSize.calls == [3, 3]


def test_a_group_completed_by_a_resume_is_judged_in_the_resumed_run(tmp_path: Path) -> None:
    _GroupSize.calls = []
    db = tmp_path / "run.db"
    _scan(db, Budget(max_generations=4))  # alpha, beta, alpha, beta: both groups incomplete
    assert _judged(db) == {} and _GroupSize.calls == []
    _scan(db, Budget(max_generations=5))  # the fifth generation completes alpha only
    assert _judged(db) == {"alpha": [3, 3, 3]}
    _scan(db)
    assert _judged(db) == {"alpha": [3, 3, 3], "beta": [3, 3, 3]}
    assert _GroupSize.calls == [3, 3]


class _NeedsGroups(Detector):
    name = "needs_groups"
    requires = ("group_size",)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        return []


def test_a_batch_detector_cannot_require_a_group_detector(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "run.db") as store, \
            pytest.raises(ConfigError, match="requires the group detector"):
        run_scan(store=store, spec=RunSpec(target="echo", attacks=("seeds",), index=None),
                 target=_Echo(), attacks=[_Seeds()], detectors=[_GroupSize(), _NeedsGroups()],
                 index=None)
