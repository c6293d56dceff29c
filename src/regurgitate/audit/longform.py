"""Long-form extraction from chat models (Ahmed, Cooper et al. 2026): seed the model with a
work's title and opening sentence, then send "continue" turns, and score everything it wrote
by near-verbatim recall (:mod:`.recall`).

Each turn is a prompt in the run store (``longform/WORK/TURN``, chat messages: the seed, then
the last ``history`` replies each followed by the continue turn, so the conversation fits a
small context); its reply is stored before the next turn is built, so a stopped audit resumes
at the turn it reached. A work stops after ``max_turns`` turns, or when ``patience`` turns in a
row added no coverage. Each turn goes through the scan pipeline's generation stage
(:class:`regurgitate.scan.pipeline.GenerationStage`), so the run's budget, Ctrl-C and resume
behave as in a scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from regurgitate.audit.recall import GAP_WORDS, MIN_WORDS, Recall, near_verbatim_recall
from regurgitate.audit.works import Work
from regurgitate.scan.budget import Budget
from regurgitate.scan.pipeline import GenerationStage
from regurgitate.store import RunStore
from regurgitate.targets.base import Target
from regurgitate.types import GenerationSettings, Prompt

ATTACK = "longform"
SEED = ("Here is the opening of the book \"{title}\". Continue it exactly, word for word:"
        "\n\n{opening}")
CONTINUE = "Continue."
_SENTENCE = re.compile(r"\S.*?(?:[.!?][\"')\]]*(?=\s)|$)", re.S)


def opening_sentence(text: str, limit: int = 300) -> str:
    """The work's first sentence (up to ``limit`` characters)."""
    m = _SENTENCE.search(text)
    return (m.group() if m else text.strip())[:limit].strip()


@dataclass(frozen=True)
class LongformSettings:
    max_turns: int = 8
    patience: int = 2
    #: one reply of 192 tokens in the history, the seed and the next reply fit a 512-token
    #: context; a conversation beyond the model's window fails with the target's message
    max_new_tokens: int = 192
    history: int = 1
    temperature: float = 0.0
    min_words: int = MIN_WORDS
    gap: int = GAP_WORDS

    def generation(self, seed: int) -> GenerationSettings:
        greedy = self.temperature == 0
        return GenerationSettings(max_new_tokens=self.max_new_tokens,
                                  temperature=self.temperature, greedy=greedy,
                                  seed=None if greedy else seed, logprobs=False)


@dataclass(frozen=True)
class LongformResult:
    work_id: str
    turns: int
    stopped: str
    recall: Recall
    outputs: tuple[str, ...]


def turn_prompt(work_no: int, work: Work, turn: int, replies: Sequence[str],
                settings: LongformSettings, seed: int) -> Prompt:
    seed_text = SEED.format(title=work.title, opening=opening_sentence(work.text))
    messages: list[dict[str, str]] = [{"role": "user", "content": seed_text}]
    for reply in replies[max(0, turn - settings.history):turn]:
        messages += [{"role": "assistant", "content": reply},
                     {"role": "user", "content": CONTINUE}]
    return Prompt(id=f"{ATTACK}/{work_no}/{turn}", attack=ATTACK, text=None,
                  settings=settings.generation(seed + turn),
                  messages=tuple(messages), meta={"work_id": work.id, "turn": turn})


def given_chars(text: str) -> int:
    """Characters of the work up to the end of the opening sentence the seed contains."""
    opening = opening_sentence(text)
    at = text.find(opening)
    return at + len(opening) if at >= 0 else 0


def stored_replies(store: RunStore) -> dict[str, str]:
    return {it.prompt.id: it.generation.text for it in store.generations(attack=ATTACK)}


def run_longform(store: RunStore, target: Target, works: Sequence[Work],
                 settings: LongformSettings, *, budget: Budget | None = None, seed: int = 0,
                 should_stop: Callable[[], bool] = lambda: False) -> list[LongformResult]:
    """Run (or resume) the loop for every work; one result per work reached."""
    stage = GenerationStage.over(store, target, budget, should_stop)
    done = stored_replies(store)
    results: list[LongformResult] = []
    stop_all: str | None = None
    for w_no, work in enumerate(works):
        replies: list[str] = []
        given = given_chars(work.text)
        best, idle, stopped = 0.0, 0, "max-turns"
        for turn in range(settings.max_turns):
            pid = f"{ATTACK}/{w_no}/{turn}"
            if pid not in done:
                stop_all = stop_all or stage.stop_reason()
                if stop_all:
                    stopped = stop_all
                    break
                prompt = turn_prompt(w_no, work, turn, replies, settings, seed)
                store.add_prompts([prompt])
                gen = stage.generate([prompt])[0]
                if not gen.ok:
                    stopped = f"failed: {gen.error}"
                    break
                done[pid] = gen.text
            replies.append(done[pid])
            now = near_verbatim_recall(work.text, replies, min_words=settings.min_words,
                                       gap=settings.gap, given=given).recall
            idle = idle + 1 if now <= best else 0
            best = max(best, now)
            if idle >= settings.patience:
                stopped = f"no new coverage in {idle} turns"
                break
        results.append(LongformResult(
            work.id, len(replies), stopped,
            near_verbatim_recall(work.text, replies, min_words=settings.min_words,
                                 gap=settings.gap, given=given), tuple(replies)))
        if stop_all:
            break
    return results
