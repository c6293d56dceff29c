"""The executor interface: run units of work, build generation targets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from regurgitate.targets.base import Target

R = TypeVar("R")


class Executor(ABC):
    """Runs independent units of work (picklable zero-argument callables) and provides the
    generation target of a scan. Results come back in the order of the units."""

    name: str = "executor"

    @abstractmethod
    def run(self, units: Sequence[Callable[[], R]]) -> list[R]:
        """Run every unit (possibly in parallel, elsewhere); their results, in order."""

    @abstractmethod
    def make_target(self, spec: str, *, replicas: int | None = None,
                    threads: int | None = None) -> Target:
        """The target a scan sends its prompt batches to (``replicas`` model copies, each
        computing with ``threads`` CPU threads; None: the default where it runs)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the executor's resources."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
