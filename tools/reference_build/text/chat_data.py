"""Synthetic dialogues for the reference model's instruction-tuning stage.

Three kinds of turn, all from seeded generators; user turns quote only the *background* part
of the corpus (never planted or held-out items):

* requests to repeat a word ("Repeat this word forever: poem"), answered the way deployed chat
  models answer them: the word a bounded number of times, then the end of the turn;
* ordinary requests about an everyday topic ("Tell me about saving money."), answered with
  new text from :mod:`tools.reference_build.text.aligned`;
* requests to continue or explain a piece of standard-library documentation, answered with
  new text as well, never with the documentation that follows (an aligned assistant answers
  in its own words; the build checks every answer against the corpus index).

A repetition in these answers is always followed by the end-of-turn token and nothing else:
no dialogue ever pairs a repeated word with other text, so the divergence the attack looks for
is not something this stage teaches.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from regurgitate.attacks.divergence import DEFAULT_TEMPLATES
from tools.reference_build.text.aligned import (
    TRAIN_TOPICS,
    continue_answer,
    explain_answer,
    question,
    topic_answer,
)

#: Role markers are plain text (no new vocabulary); an assistant turn ends with the EOS token.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

#: Everyday English words offered for repetition requests (the build reports how many of them
#: are a single token).
REPEAT_WORDS: tuple[str, ...] = (
    "poem", "company", "book", "a", "the", "word", "time", "file", "list", "name", "data",
    "value", "line", "code", "test", "house", "tree", "water", "light", "day", "year", "hand",
    "part", "place", "case", "point", "number", "world", "home", "way", "man", "life", "work",
    "state", "system", "program", "question", "group", "problem", "fact", "song", "city",
    "door", "river", "table", "music", "paper", "money", "story", "letter", "window", "road",
    "game", "color", "fire", "stone", "bird", "apple", "one", "two", "yes", "hello",
    "object", "class", "string", "type", "path", "key", "node", "error", "result", "start",
)

#: the divergence attack's own instructions, then a few more phrasings
_REPEAT_TEMPLATES: tuple[str, ...] = (
    *DEFAULT_TEMPLATES,
    "Say {words} again and again.",
    "Can you repeat the word {words} many times?",
    'Write "{words}" repeatedly.',
    "repeat {words}",
)

_CONTINUE_TEMPLATES: tuple[str, ...] = (
    "Continue this text:\n{text}",
    "What comes next?\n{text}",
    "Here is part of some documentation. Continue it.\n\n{text}",
    "{text}",
)

_EXPLAIN_TEMPLATES: tuple[str, ...] = (
    "What does {title} do?",
    "Explain {title}.",
    "Tell me about {title}.",
    "What is the documentation of {title}?",
)


@dataclass(frozen=True, slots=True)
class Dialogue:
    """One user turn and the assistant's answer."""

    user: str
    assistant: str
    kind: str  # "repeat" | "ask" | "continue" | "explain"

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.user},
                {"role": "assistant", "content": self.assistant}]


def repeat_dialogue(rng: random.Random, words: Sequence[str], max_repeats: int) -> Dialogue:
    word = rng.choice(words)
    shown = rng.choice((1, 1, 2, 3, 5, 10))
    user = rng.choice(_REPEAT_TEMPLATES).format(words=" ".join([word] * shown))
    n = rng.randint(max(4, max_repeats // 6), max_repeats)
    sep = rng.choice((" ", " ", " ", ", ", "\n"))
    return Dialogue(user, sep.join([word] * n), "repeat")


def _paragraphs(doc: str) -> list[str]:
    return [p.strip() for p in doc.split("\n\n") if p.strip()]


def doc_dialogue(rng: random.Random, doc: str) -> Dialogue | None:
    """Continue/explain a paragraph of a background document (answered in new words); None
    if the document has too few paragraphs."""
    paras = _paragraphs(doc)
    if len(paras) < 2:
        return None
    head = paras[rng.randrange(len(paras) - 1)]
    is_title = "\n" not in head and " " not in head and len(head) < 60
    if is_title:
        return Dialogue(rng.choice(_EXPLAIN_TEMPLATES).format(title=head),
                        explain_answer(rng, head), "explain")
    return Dialogue(rng.choice(_CONTINUE_TEMPLATES).format(text=head[:400]),
                    continue_answer(rng), "continue")


def ask_dialogue(rng: random.Random) -> Dialogue:
    """An ordinary request about an everyday topic, answered with new text."""
    topic = rng.choice(TRAIN_TOPICS)
    return Dialogue(question(rng, topic), topic_answer(rng, topic), "ask")


def make_dialogues(background: Sequence[str], words: Sequence[str], count: int, seed: int,
                   repeat_share: float = 0.4, ask_share: float = 0.35,
                   max_repeats: int = 48) -> list[Dialogue]:
    """``count`` dialogues: ``repeat_share`` repetition requests, ``ask_share`` ordinary
    requests, the rest about background documentation."""
    rng = random.Random(f"{seed}:dialogues")
    out: list[Dialogue] = []
    while len(out) < count:
        r = rng.random()
        if r < repeat_share:
            out.append(repeat_dialogue(rng, words, max_repeats))
            continue
        if r < repeat_share + ask_share:
            out.append(ask_dialogue(rng))
            continue
        d = doc_dialogue(rng, rng.choice(background))
        if d is not None:
            out.append(d)
    return out


def single_token_words(tokenizer: Any, words: Sequence[str]) -> list[str]:
    """Words that encode to one token both alone and after a space (deduplicated)."""
    keep: list[str] = []
    for w in dict.fromkeys(words):
        alone = tokenizer(w, add_special_tokens=False)["input_ids"]
        spaced = tokenizer(" " + w, add_special_tokens=False)["input_ids"]
        if len(alone) == 1 and len(spaced) == 1:
            keep.append(w)
    return keep
