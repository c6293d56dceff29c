"""Prompts and decoding settings the target tests share."""

from __future__ import annotations


def greedy(max_new_tokens: int = 12, **kw):
    from regurgitate.types import GenerationSettings

    return GenerationSettings(max_new_tokens=max_new_tokens, greedy=True, **kw)


def text_prompts(texts, settings, attack: str = "t"):
    from regurgitate.types import Prompt

    return [Prompt(id=f"{attack}-{i}", attack=attack, text=t, settings=settings)
            for i, t in enumerate(texts)]


PROMPT_TEXTS = [
    "The quick brown",
    "Once upon a time there was a small model",
    "def",
    "Sphinx of black quartz, judge my vow and pack my box",
    "How vexingly",
    "jugs",
]
