"""Where work runs, kept apart from the work itself (as datatrove does).

Units of work are small picklable callables (a batch of prompts for a generation replica, one
index part to build, a shard to query); an :class:`Executor` decides where they run:
``local`` (this process) or ``ray`` (a Ray cluster: ``pip install 'regurgitate[ray]'``).
"""

from __future__ import annotations

from regurgitate.errors import ConfigError
from regurgitate.executors.base import Executor
from regurgitate.executors.local import LocalExecutor

EXECUTORS = ("local", "ray")


def make_executor(name: str = "local", *, address: str | None = None,
                  num_cpus: int | None = None) -> Executor:
    """The executor called ``name``; ``address`` is a Ray cluster's (None starts a local one)."""
    if name == "local":
        if address:
            raise ConfigError("--ray-address needs --executor ray")
        return LocalExecutor()
    if name == "ray":
        from regurgitate.executors.ray_executor import RayExecutor

        return RayExecutor(address=address, num_cpus=num_cpus)
    raise ConfigError(f"unknown executor '{name}'", hint=f"choose from {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "make_executor"]
