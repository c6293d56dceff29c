"""The limits that stop a scan cleanly, counted over the whole run (resumes included).

Validation errors name the fields; the CLI words its own flags (``--max-cost``) before it
builds a Budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from regurgitate.errors import ConfigError


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
