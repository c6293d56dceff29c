"""Fault injection for the test server: which request gets which failure.

A :class:`FaultPlan` is an immutable description; a :class:`FaultInjector` (one per server)
holds the counter and the seeded random generator that apply it. The n-th generation
request (counting from 0, across all endpoints) gets ``schedule[n]`` while the schedule
lasts; after it, each request fails with probability ``rate``, its kind drawn from ``kinds``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from regurgitate.errors import ConfigError

#: HTTP 500; 429 with Retry-After; no answer for ``stall_s``; a 200 whose body is not JSON;
#: the connection closed without any response.
FAULT_KINDS: tuple[str, ...] = ("500", "429", "stall", "malformed", "drop")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to break and how often (see the module docstring)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    schedule: tuple[str | None, ...] = ()
    retry_after: float = 1.0
    retry_after_date: bool = False
    stall_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ConfigError(f"fault rate must be in [0, 1], got {self.rate}")
        for kind in (*self.kinds, *(k for k in self.schedule if k is not None)):
            if kind not in FAULT_KINDS:
                raise ConfigError(
                    f"unknown fault kind {kind!r}", hint=f"valid: {', '.join(FAULT_KINDS)}"
                )
        if self.rate > 0 and not self.kinds:
            raise ConfigError("a fault rate needs at least one fault kind")
        if self.retry_after < 0 or self.stall_s < 0:
            raise ConfigError("retry_after and stall_s must be >= 0")


class FaultInjector:
    """Thread-safe application of a plan: ``next_fault()`` once per generation request."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._count = 0
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def next_fault(self) -> str | None:
        with self._lock:
            n = self._count
            self._count += 1
            if n < len(self.plan.schedule):
                kind = self.plan.schedule[n]
            elif self.plan.rate > 0 and self._rng.random() < self.plan.rate:
                kind = self._rng.choice(self.plan.kinds)
            else:
                kind = None
            if kind is not None:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

    @property
    def requests_seen(self) -> int:
        with self._lock:
            return self._count
