"""The limits that stop a scan cleanly, counted over the whole run (resumes included), and
how they are shared across the run's attacks.

Validation errors name the fields; the CLI words its own flags (``--max-cost``) before it
builds a Budget.

Sharing: the pending prompts are taken round-robin across the attacks (one of each attack in
turn, :func:`round_robin`), so a generation, token or cost limit that stops the run part-way
has given every attack about the same number of generations (``--max-generations 20`` with
three attacks: 7, 7 and 6), never all of them to the first attack. A resumed run shares what
it has left the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from regurgitate.errors import ConfigError


class _OfAttack(Protocol):
    @property
    def attack(self) -> str: ...


P = TypeVar("P", bound=_OfAttack)

#: what --help says of the budget flags
BUDGET_HELP = ("counted over the whole run, resumes included, and shared round-robin across "
               "the attacks")


def round_robin(prompts: Sequence[P]) -> list[P]:
    """``prompts`` reordered one attack at a time in turn (each attack's own order kept; the
    attacks in order of their first prompt), so that any prefix of the result shares its
    length fairly across the attacks."""
    queues: dict[str, list[P]] = {}
    for p in prompts:
        queues.setdefault(p.attack, []).append(p)
    out: list[P] = []
    lists = list(queues.values())
    for i in range(max((len(q) for q in lists), default=0)):
        out.extend(q[i] for q in lists if i < len(q))
    return out


def generation_order(prompts: Sequence[P], budget: Budget) -> list[P]:
    """The order in which a scan generates its pending ``prompts``.

    Without a limit, as planned: each attack's prompts stay together, so a batch holds
    prompts of one attack and of similar lengths. With any limit, round-robin, so that wherever
    the limit falls the attacks have shared it. The order depends on whether a limit is set,
    never on its value: a run stopped by one budget and resumed with a larger one batches its
    prompts exactly as a straight run with the larger budget (batch composition changes a
    model's padded outputs)."""
    limited = (budget.max_generations, budget.max_tokens, budget.max_cost) != (None,) * 3
    return round_robin(prompts) if limited else list(prompts)


@dataclass(frozen=True)
class Budget:
    """Limits that stop a scan cleanly (counted over the whole run, resumes included)."""

    max_generations: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    #: price per 1,000 generated tokens; needed for ``max_cost``
    price_per_1k_tokens: float | None = None

    def __post_init__(self) -> None:
        if self.max_cost is not None and self.price_per_1k_tokens is None:
            raise ConfigError("a cost limit (max_cost) needs the price per 1,000 tokens",
                              hint="give price_per_1k_tokens as well")
        for name in ("max_generations", "max_tokens", "max_cost"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{name} must be >= 0")

    def exceeded(self, generations: int, tokens: int) -> str | None:
        if self.max_generations is not None and generations >= self.max_generations:
            return f"max-generations ({self.max_generations}) reached"
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return f"max-tokens ({self.max_tokens}) reached"
        if (self.max_cost is not None and self.price_per_1k_tokens is not None
                and tokens / 1000 * self.price_per_1k_tokens >= self.max_cost):
            return f"max-cost ({self.max_cost}) reached"
        return None
