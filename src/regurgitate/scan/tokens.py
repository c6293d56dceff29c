"""Token counts for generations that a target returned as text only (the Generation contract,
see :class:`regurgitate.types.Generation`): counted before they are stored, so budgets
(``--max-tokens``, ``--max-cost``) stop such a target and token figures are true."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from regurgitate.errors import ConfigError
from regurgitate.scan.budget import Budget
from regurgitate.targets.base import Target
from regurgitate.types import Generation, TokenCounter

__all__ = ["count_tokens", "token_counter_for"]


def token_counter_for(target: Target, index_tokenizer: TokenCounter | None
                      ) -> TokenCounter | None:
    """What counts a text-only target's tokens: its own :meth:`Target.token_counter`, else the
    index's tokenizer, else None (the counts stay unknown)."""
    own = target.token_counter()
    return own if own is not None else index_tokenizer


def count_tokens(gens: Sequence[Generation], counter: TokenCounter | None, *,
                 target: Target, budget: Budget) -> list[Generation]:
    """``gens`` with ``completion_tokens`` filled in for each successful text generation that
    has neither it nor ``token_ids``, counted by ``counter``. Without a counter they stay
    unknown (None), and a token or cost budget, which could not be enforced, is a
    ConfigError naming the target (raised before the batch is stored)."""
    out: list[Generation] = []
    for g in gens:
        if g.ok and g.image is None and g.completion_tokens is None and g.token_ids is None:
            if counter is None:
                if budget.max_tokens is not None or budget.max_cost is not None:
                    raise ConfigError(
                        f"--max-tokens and --max-cost cannot be enforced: the target "
                        f"{target.name} returns text without token counts, and this scan has "
                        "no tokenizer to count them",
                        hint="pass --index (its tokenizer counts them), or give the target a "
                        "token_counter() (see docs/plugins.md)")
            else:
                g = dataclasses.replace(g, completion_tokens=len(counter.encode(g.text)))
        out.append(g)
    return out
