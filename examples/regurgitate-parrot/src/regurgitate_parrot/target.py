"""``parrot:FILE``: a toy local "model" that has memorized one text file.

It continues a prompt with what follows the prompt's last ``context_chars`` characters in the
file (a memorized passage), or else repeats the prompt's last word. It returns text only, no
token ids and no counts, as many HTTP APIs do: the scan counts its tokens (the Generation
contract), so ``--max-tokens`` stops it. It gives the audit a suffix scorer of its own model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from regurgitate import ConfigError, Generation, Prompt, Target
from regurgitate.runtimes.sampling import ExtractionProbability, Sampling


class ParrotTarget(Target):
    """A model that has memorized ``FILE`` (see the module docstring).

    :param batch_size: prompts per generate call (the base class applies it)
    :param chat: send chat prompts as messages (the base class applies it)
    :param context_chars: how many of the prompt's last characters are looked up in the file
    :param chars_per_token: characters generated per requested token
    :param trace_file: append the size of each batch received to this file (none for no trace)
    """

    scheme: ClassVar[str] = "parrot"

    def __init__(self, location: str, *, batch_size: int = 8, chat: bool = False,
                 context_chars: int = 40, chars_per_token: int = 4,
                 trace_file: str | None = None) -> None:
        # batch_size and chat are merely accepted: Target owns them and sets them after
        # building, so ?batch_size=3 takes effect all the same
        path = Path(location)
        if not path.is_file():
            raise ConfigError(f"parrot: no such file {location}")
        self.memory = path.read_text(encoding="utf-8")
        self.context_chars = context_chars
        self.chars_per_token = chars_per_token
        self.trace_file = trace_file

    def _continue(self, text: str, chars: int) -> str:
        key = text[-self.context_chars:]
        at = self.memory.find(key) if key else -1
        if at >= 0:
            return self.memory[at + len(key):at + len(key) + chars]
        word = (text.split() or ["parrot"])[-1]
        return (" " + word) * max(1, chars // (len(word) + 1))

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        if self.trace_file:
            with open(self.trace_file, "a", encoding="utf-8") as f:
                f.write(f"{len(prompts)}\n")
        return [Generation(prompt_id=p.id, finish_reason="length",
                           text=self._continue(p.as_text(), p.settings.max_new_tokens
                                               * self.chars_per_token))
                for p in prompts]

    def suffix_scorer(self) -> ParrotScorer:
        """The audit's p of a true suffix under this model (1 when it continues the prefix with
        the suffix, else 0)."""
        return ParrotScorer(self)


class ParrotScorer:
    """:class:`regurgitate.runtimes.scoring.SuffixScorer` of the parrot: whole-suffix
    log-probabilities, 0 (p = 1) for a memorized continuation, -inf otherwise."""

    def __init__(self, target: ParrotTarget) -> None:
        self.target = target

    def prompt_text(self, prompt: Prompt) -> str:
        return prompt.as_text()

    def suffix_logprobs(self, pairs: Sequence[tuple[str, str]],
                        sampling: Sampling) -> list[ExtractionProbability]:
        out = []
        for prefix, suffix in pairs:
            said = self.target._continue(prefix, len(suffix))
            log_p = 0.0 if said == suffix else -math.inf
            out.append(ExtractionProbability(log_p=log_p, suffix_tokens=len(suffix.split()),
                                             sampling=sampling))
        return out
