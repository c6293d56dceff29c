"""Corpus prompts: short prompts cut from the indexed corpus, long sampled continuations.

This is the "extractable memorization" setting of the large-scale extraction studies: start the
model on a few real tokens and let it sample; anything long it emits that is in the corpus is
memorized text, whether or not it continues the prompt's own document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.attacks.corpus_windows import sample_windows
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Prompt


@dataclass(frozen=True)
class CorpusPromptsAttack(Attack):
    #: how many prompts are cut from the corpus
    num_prompts: int = 64
    #: shortest prompt, in index tokens
    min_tokens: int = 5
    #: longest prompt, in index tokens
    max_tokens: int = 10
    #: tokens generated after each prompt
    max_new_tokens: int = 256
    #: sampling temperature
    temperature: float = 1.0
    #: sample from the k most likely tokens (0: all)
    top_k: int = 40
    #: nucleus sampling: the smallest set of tokens with this probability mass
    top_p: float = 1.0
    name: str = field(default="corpus-prompts", init=False)
    default_order: ClassVar[int | None] = 30
    needs_index: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not 1 <= self.min_tokens <= self.max_tokens:
            raise ConfigError("corpus-prompts needs 1 <= min_tokens <= max_tokens")
        if self.num_prompts < 1 or self.max_new_tokens < 1:
            raise ConfigError("corpus-prompts num_prompts and max_new_tokens must be >= 1")

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        if ctx.index is None:
            raise ConfigError("the corpus-prompts attack samples from a corpus",
                              hint="pass --index DIR")
        rng = np.random.default_rng(ctx.seed + 17)
        lengths = rng.integers(self.min_tokens, self.max_tokens + 1, size=self.num_prompts)
        out: list[Prompt] = []
        for i, length in enumerate(lengths):
            win = next(sample_windows(ctx.index, int(length), 1, seed=ctx.seed * 7919 + i))
            text = ctx.index.tokenizer.decode(win.ids)
            out.append(Prompt(
                id=f"{self.name}/{i}", attack=self.name, text=text,
                settings=GenerationSettings(
                    max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                    top_k=self.top_k, top_p=self.top_p, seed=ctx.seed * 1_000_003 + i,
                ),
                meta={"doc_id": win.doc_id, "token_offset": win.offset,
                      "prompt_tokens": int(length)},
            ))
        return out
