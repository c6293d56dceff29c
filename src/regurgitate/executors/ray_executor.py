"""Run units of work as Ray tasks and generation on Ray actors (``regurgitate[ray]``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from regurgitate.errors import ConfigError
from regurgitate.executors.base import Executor
from regurgitate.executors.ray_support import import_ray, unwrap
from regurgitate.targets.base import Target

R = TypeVar("R")


def _call(unit: Callable[[], Any]) -> Any:
    return unit()


class RayExecutor(Executor):
    """Connects to the cluster at ``address`` (``auto``, ``ray://HOST:10001``, ``HOST:6379``)
    or, without one, starts a local cluster (shut down again on :meth:`close`). A cluster
    that is already initialised in this process is used as it is."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        ray = import_ray()
        self._ray = ray
        self._owns = False
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:
                    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"cannot connect to the Ray cluster at {address}: {exc}",
                                  hint="check --ray-address (e.g. auto, or ray://HOST:10001)"
                                  ) from None
            self._owns = True

    def run(self, units: Sequence[Callable[[], R]]) -> list[R]:
        ray = self._ray
        task = ray.remote(_call)
        refs = [task.remote(u) for u in units]
        try:
            return list(ray.get(refs))
        except ray.exceptions.RayError as exc:
            raise unwrap(exc) from None

    def make_target(self, spec: str, *, replicas: int | None = None,
                    threads: int | None = None) -> Target:
        from regurgitate.executors.ray_generation import make_ray_target

        return make_ray_target(spec, replicas=replicas or 1, threads=threads)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
