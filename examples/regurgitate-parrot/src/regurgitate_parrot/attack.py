"""``openings``: prompt with the first characters of corpus documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from regurgitate import Attack, AttackContext, ConfigError, GenerationSettings, Prompt


@dataclass(frozen=True)
class OpeningsAttack(Attack):
    """The first ``prefix_chars`` characters of the index's first ``documents`` documents."""

    #: how many documents to prompt with
    documents: int = 4
    #: characters of each document's opening given as the prompt
    prefix_chars: int = 120
    #: tokens asked for per prompt
    max_new_tokens: int = 64
    name: str = field(default="openings", init=False)
    #: it reads ctx.index (Attack.needs_index); default_order stays None: it runs when named
    needs_index: ClassVar[bool] = True

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        if ctx.index is None:
            raise ConfigError("the openings attack needs a corpus index",
                              hint="pass --index DIR (or --index reference)")
        settings = GenerationSettings(max_new_tokens=self.max_new_tokens, greedy=True)
        # ids are deterministic (attack name + position) so that a resumed run skips them
        return [Prompt(id=f"{self.name}:{i}", attack=self.name, settings=settings,
                       text=ctx.index.document(i).text[:self.prefix_chars], meta={"doc": i})
                for i in range(self.documents)]
