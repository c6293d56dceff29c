"""Everything in this process, one unit after another."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from regurgitate.errors import ConfigError
from regurgitate.executors.base import Executor
from regurgitate.targets.base import Target

R = TypeVar("R")


class LocalExecutor(Executor):
    name = "local"

    def run(self, units: Sequence[Callable[[], R]]) -> list[R]:
        return [unit() for unit in units]

    def make_target(self, spec: str, *, replicas: int | None = None,
                    threads: int | None = None) -> Target:
        """The target in this process; ``threads`` pins torch's CPU threads here (a resumed
        run computes with the threads it recorded)."""
        from regurgitate.runtimes.devices import pin_threads
        from regurgitate.targets.spec import make_target

        if replicas not in (None, 1):
            raise ConfigError("--replicas needs --executor ray")
        pin_threads(threads)
        return make_target(spec)
