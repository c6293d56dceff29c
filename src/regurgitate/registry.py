"""Name -> component lookup for targets, attacks and detectors, through entry points only.

Every component, built-in or third-party, is an entry point ``name = "module:Class"`` in one
of three groups; regurgitate's own are declared in its ``pyproject.toml`` exactly as a plugin
declares its own::

    [project.entry-points."regurgitate.targets"]     # scheme -> Target subclass
    [project.entry-points."regurgitate.attacks"]     # name -> Attack subclass
    [project.entry-points."regurgitate.detectors"]   # name -> Detector subclass

(and ``regurgitate.findings`` for finding payload kinds, see :mod:`regurgitate.findings`;
``regurgitate plugins`` lists them all). Entries
are imported only when used; a loaded entry must be a subclass of the group's base class.
Unknown names raise ConfigError with a "did you mean" hint. Nothing is cached: the registry
is read from the installed distributions' metadata at each lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from regurgitate.errors import ConfigError
from regurgitate.options import parse_options, suggest

if TYPE_CHECKING:
    from regurgitate.attacks.base import Attack
    from regurgitate.detectors.base import Detector
    from regurgitate.findings import Payload
    from regurgitate.targets.base import Target

T = TypeVar("T")

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


class Registry(Generic[T]):
    """The components of one kind (``"attack"``), read from one entry-point group."""

    def __init__(self, kind: str, group: str, base: type) -> None:
        self.kind = kind
        self.group = group
        self.base = base

    def entries(self) -> dict[str, list[Entry]]:
        """Name -> every distinct entry registered under it (normally exactly one)."""
        out: dict[str, list[Entry]] = {}
        for ep in entry_points(group=self.group):
            entry = Entry(ep.name, ep.value, _source(ep))
            known = out.setdefault(ep.name, [])
            if all(e.value != entry.value for e in known):  # the same package seen twice
                known.append(entry)
        return dict(sorted(out.items()))

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


def targets() -> Registry[Target]:
    from regurgitate.targets.base import Target

    return Registry[Target]("target scheme", TARGETS_GROUP, Target)


def attacks() -> Registry[Attack]:
    from regurgitate.attacks.base import Attack

    return Registry[Attack]("attack", ATTACKS_GROUP, Attack)


def detectors() -> Registry[Detector]:
    from regurgitate.detectors.base import Detector

    return Registry[Detector]("detector", DETECTORS_GROUP, Detector)


def findings() -> Registry[Payload]:
    from regurgitate.findings import PAYLOAD_GROUP, Payload

    return Registry[Payload]("finding kind", PAYLOAD_GROUP, Payload)


def all_registries() -> list[Registry[Any]]:
    return [targets(), attacks(), detectors(), findings()]


def make_attack(name: str, options: Mapping[str, Any] | None = None) -> Attack:
    """Build the attack registered as ``name`` from options (strings are converted)."""
    cls = attacks().load(name)
    kwargs = parse_options(cls, options or {}, owner=f"attack {name!r}")
    return cls(**kwargs)
