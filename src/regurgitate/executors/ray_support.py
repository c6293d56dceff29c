"""What every Ray-backed module shares: importing Ray, and unwrapping the errors its tasks and
actors raise (so the executor, the generation actors and the search fan-out import this one
module instead of each other)."""

from __future__ import annotations

from typing import Any

from regurgitate.errors import RegurgitateError, optional_import


def import_ray() -> Any:
    return optional_import("ray", extra="ray", purpose="the Ray executor")


def unwrap(exc: BaseException) -> BaseException:
    """The regurgitate error a Ray task or actor raised, if that is what failed."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, RegurgitateError) else exc
