"""Character copying, CopyBench's non-literal measure: do free-form generations prompted by a
work's title reproduce the names of its characters, more than generations prompted by
control titles do?

Names come from the work's ``names`` list when the user gives one. Otherwise by rule: a
capitalised word (a capital letter then lowercase letters, 3+ characters) is a name when it
occurs at least ``min_count`` times in the work, at least once not at the start of a sentence,
never in lowercase, and is not a common function word. The rule finds places as well as
characters; give ``names`` where that matters.

A name is reproduced when it occurs as a whole word in a generation. For each work: the
distinct names of the work reproduced by the generations from its title, next to those
reproduced by the generations from the control titles (the same prompts with invented titles).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.audit.works import Work, load_works
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Prompt

ATTACK = "characters"
PROMPT = "Write a scene from the book \"{title}\", with its characters."
CONTROL_TITLES = ("The Glass Orchard", "A Winter at Pellingham", "The Cartographer's Daughter",
                  "Salt and Lanterns")
_CAP = re.compile(r"\b[A-Z][a-z]{2,}\b")
_STOP_WORDS = """
The This That These Those There Then They Their Them When Where While What Which Who Whom
Whose Why How And But For Nor Yet Not Now Our Out Over Into Onto Upon With Within Without
From Here His Her Hers She He Its It's Mrs Mr Miss Dear After Before Once Every Each Some
Any All One Two Three Four Five Six Seven Eight Nine Ten Chapter Part Book Yes No Nobody
Nothing Everyone Someone Sir Lord Lady Monday Tuesday Wednesday Thursday Friday Saturday
Sunday January February March April May June July August September October November
December Although Because Since Though Unless Until"""
_STOP = frozenset(_STOP_WORDS.split())


def extract_names(text: str, min_count: int = 2) -> tuple[str, ...]:
    """Names in ``text`` by the rule of the module docstring, most frequent first."""
    lower = {w.lower() for w in re.findall(r"\b[a-z][a-z]+\b", text)}
    counts: Counter[str] = Counter()
    mid_sentence: set[str] = set()
    for m in _CAP.finditer(text):
        word = m.group()
        counts[word] += 1
        before = text[:m.start()].rstrip()
        if before and before[-1] not in ".!?\"'“”‘’:;\n" and not before.endswith("--"):
            mid_sentence.add(word)
    names = [w for w, c in counts.most_common() if c >= min_count and w in mid_sentence
             and w not in _STOP and w.lower() not in lower]
    return tuple(names)


def names_for(work: Work, min_count: int = 2) -> tuple[str, ...]:
    return work.names if work.names is not None else extract_names(work.text, min_count)


def reproduced(names: Iterable[str], generations: Iterable[str]) -> set[str]:
    """The names occurring as whole words in any generation."""
    text = "\n".join(generations)
    return {n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)}


@dataclass(frozen=True)
class CharacterPromptsAttack(Attack):
    """Free-form generations prompted by each work's title and by the control titles."""

    works: str | tuple[Work, ...] = ()
    controls: tuple[str, ...] = CONTROL_TITLES
    samples: int = 4
    max_new_tokens: int = 200
    temperature: float = 1.0
    name: str = field(default=ATTACK, init=False)

    def __post_init__(self) -> None:
        if isinstance(self.works, str):
            object.__setattr__(self, "works", tuple(load_works(Path(self.works))))
        if self.samples < 1 or not self.controls:
            raise ConfigError("characters needs samples >= 1 and at least one control title")

    def _prompt(self, pid: str, title: str, seed: int, meta: dict[str, Any]) -> Prompt:
        content = PROMPT.format(title=title)
        return Prompt(id=pid, attack=self.name, text=content,
                      messages=({"role": "user", "content": content},),
                      settings=GenerationSettings(max_new_tokens=self.max_new_tokens,
                                                  temperature=self.temperature, seed=seed,
                                                  logprobs=False), meta=meta)

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        out: list[Prompt] = []
        works = self.works if isinstance(self.works, tuple) else ()
        for w_no, work in enumerate(works):
            for j in range(self.samples):
                out.append(self._prompt(f"{self.name}/{w_no}/{j}", work.title,
                                        ctx.seed + 7919 * w_no + j, {"work_id": work.id}))
        for c_no, title in enumerate(self.controls):
            for j in range(self.samples):
                out.append(self._prompt(f"{self.name}/control/{c_no}/{j}", title,
                                        ctx.seed + 104729 + 7919 * c_no + j, {"control": title}))
        return out


def character_figures(works: Sequence[Work], by_work: dict[str, list[str]],
                      controls: Sequence[str], min_count: int = 2) -> dict[str, dict[str, Any]]:
    """Per work: its names, those its title's generations reproduce, those the control
    titles' generations reproduce."""
    out: dict[str, dict[str, Any]] = {}
    for w in works:
        names = names_for(w, min_count)
        copied = reproduced(names, by_work.get(w.id, ()))
        control = reproduced(names, controls)
        out[w.id] = {"names": len(names), "copied": len(copied), "control_copied": len(control),
                     "copied_names": sorted(copied), "control_names": sorted(control),
                     "source": "given" if w.names is not None else "extracted"}
    return out
