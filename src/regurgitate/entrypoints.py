"""Entry-point groups read as registries of components: the mechanism under
:mod:`regurgitate.registry` (which names the groups of targets, attacks and detectors) and
under :func:`regurgitate.findings.payload_type` (finding payload kinds).

It depends on nothing but errors and option hints, so every layer may use it.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, cast

from regurgitate.errors import ConfigError
from regurgitate.options import suggest

__all__ = ["ATTACKS_GROUP", "DETECTORS_GROUP", "TARGETS_GROUP", "Entry", "Registry"]

T = TypeVar("T")

#: the entry-point groups of the components (finding kinds: ``findings.PAYLOAD_GROUP``)
TARGETS_GROUP = "regurgitate.targets"
ATTACKS_GROUP = "regurgitate.attacks"
DETECTORS_GROUP = "regurgitate.detectors"

@dataclass(frozen=True)
class Entry:
    """One registered component: its name, ``module:attr`` and the distribution that
    declared it (``name version``)."""

    name: str
    value: str
    source: str


def _source(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


@functools.lru_cache(maxsize=32)
def _scan(group: str, path: tuple[str, ...]) -> dict[str, tuple[Entry, ...]]:
    """The entries of one group as the distributions on ``path`` declare them.

    Reading entry points parses every installed distribution's metadata (tens of
    milliseconds); a scan reads findings back by the hundred, each naming its payload kind,
    so the answer is kept per group and ``sys.path``: a distribution added to the path (as
    plugins are, and as the tests add theirs) is seen at once, one pip-installed into a
    folder already on the path by the next process.
    """
    out: dict[str, list[Entry]] = {}
    for ep in entry_points(group=group):
        entry = Entry(ep.name, ep.value, _source(ep))
        known = out.setdefault(ep.name, [])
        if all(e.value != entry.value for e in known):  # the same package seen twice
            known.append(entry)
    return {name: tuple(found) for name, found in sorted(out.items())}


class Registry(Generic[T]):
    """The components of one kind (``"attack"``), read from one entry-point group."""

    def __init__(self, kind: str, group: str, base: type) -> None:
        self.kind = kind
        self.group = group
        self.base = base

    def entries(self) -> dict[str, list[Entry]]:
        """Name -> every distinct entry registered under it (normally exactly one)."""
        return {name: list(found) for name, found in _scan(self.group, tuple(sys.path)).items()}

    def names(self) -> list[str]:
        return list(self.entries())

    def entry(self, name: str) -> Entry:
        entries = self.entries()
        if name not in entries:
            names = list(entries)
            if not names:  # regurgitate's own metadata is missing or stale
                raise ConfigError(f"unknown {self.kind} {name!r}: no {self.kind}s are registered",
                                  hint="reinstall regurgitate (pip install -e .) so that its "
                                  f"entry points ({self.group}) are installed")
            raise ConfigError(f"unknown {self.kind} {name!r}",
                              hint=f"{suggest(name, names)}choose from {', '.join(names)}")
        found = entries[name]
        if len(found) > 1:
            where = "; ".join(f"{e.value} from {e.source}" for e in found)
            raise ConfigError(f"two installed packages register the {self.kind} {name!r}: "
                              f"{where}", hint="uninstall one of them")
        return found[0]

    def load(self, name: str) -> type[T]:
        """The class registered under ``name``, imported now and checked."""
        entry = self.entry(name)
        module, _, attr = entry.value.partition(":")
        try:
            obj: Any = __import__(module, fromlist=["_"])
            for part in attr.split("."):
                obj = getattr(obj, part)
        except ImportError as exc:
            raise ConfigError(f"cannot import the {self.kind} {name!r} ({entry.value} from "
                              f"{entry.source}): {exc}") from exc
        except AttributeError as exc:
            raise ConfigError(f"the {self.kind} {name!r} points at {entry.value} "
                              f"({entry.source}), which does not exist") from exc
        if not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise ConfigError(f"the {self.kind} {name!r} ({entry.value} from {entry.source}) "
                              f"is not a subclass of {self.base.__name__}")
        return cast(type[T], obj)
