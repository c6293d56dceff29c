"""Entry-point groups read as registries of components: the mechanism under
:mod:`regurgitate.registry` (which names the groups of targets, attacks and detectors) and
under :func:`regurgitate.findings.payload_type` (finding payload kinds).

It depends on nothing but errors and option hints, so every layer may use it.

Besides installed distributions, the modules and ``.py`` files named in the environment
variable ``REGURGITATE_PLUGINS`` (separated by ``os.pathsep`` or commas; ``regurgitate
--plugins`` sets it) register the components they define, to try a plugin before packaging
it: every class defined in such a module that subclasses a group's base class, under its
registry name (:func:`local_name`). A local file that fails to import is named in one
ConfigError; a name registered twice (locally and by a distribution, or by two local files)
is refused where it is used, as two distributions registering one name are.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, cast

from regurgitate.errors import ConfigError
from regurgitate.options import suggest

__all__ = ["ATTACKS_GROUP", "DETECTORS_GROUP", "PLUGINS_ENV", "TARGETS_GROUP", "Entry", "Registry",
           "local_modules"]

#: environment variable naming modules or ``.py`` files of local (unpackaged) plugins
PLUGINS_ENV = "REGURGITATE_PLUGINS"

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


def _plugin_specs() -> tuple[str, ...]:
    raw = os.environ.get(PLUGINS_ENV, "")
    parts = [p.strip() for chunk in raw.split(os.pathsep) for p in chunk.split(",")]
    seen: dict[str, str] = {}  # one module per file, however often it is named
    for part in parts:
        if part:
            seen.setdefault(_module_name(part), part)
    return tuple(seen.values())


def _module_name(spec: str) -> str:
    """The module a local plugin spec names: itself, or a synthetic name for a ``.py`` file."""
    if spec.endswith(".py"):
        path = os.path.abspath(spec)
        stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(path)[0])
        return f"regurgitate_local_plugin{stem}"
    return spec


def _import_local(spec: str) -> Any:
    """Import a local plugin module or file once (kept in ``sys.modules``); ConfigError naming
    it when it cannot be imported or raises."""
    name = _module_name(spec)
    if name in sys.modules:
        return sys.modules[name]
    try:
        if spec.endswith(".py"):
            if not os.path.isfile(spec):
                raise FileNotFoundError(f"no such file: {spec}")
            loader_spec = importlib.util.spec_from_file_location(name, spec)
            if loader_spec is None or loader_spec.loader is None:
                raise ImportError(f"cannot load {spec}")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            try:
                loader_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            return module
        return importlib.import_module(spec)
    except Exception as exc:  # a broken plugin is named, never a traceback
        raise ConfigError(f"the local plugin {spec!r} ({PLUGINS_ENV}) failed to import: "
                          f"{type(exc).__name__}: {exc}",
                          hint=f"fix it, or remove it from --plugins / {PLUGINS_ENV}") from None


def local_modules() -> list[tuple[str, Any]]:
    """``(spec, module)`` of every local plugin named in ``REGURGITATE_PLUGINS``, imported."""
    return [(spec, _import_local(spec)) for spec in _plugin_specs()]


def _local_entries(group: str, base: type, name_of: Callable[[type], str]
                   ) -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    for spec, module in local_modules():
        for attr, obj in vars(module).items():
            if not (isinstance(obj, type) and issubclass(obj, base) and obj is not base
                    and obj.__module__ == module.__name__ and not inspect.isabstract(obj)):
                continue
            name = name_of(obj)
            if not name:
                continue
            out.setdefault(name, []).append(
                Entry(name, f"{module.__name__}:{attr}", f"local plugin {spec}"))
    return out


def _no_name(cls: type) -> str:
    return ""


class Registry(Generic[T]):
    """The components of one kind (``"attack"``), read from one entry-point group (and from
    the local plugins of ``REGURGITATE_PLUGINS``: ``name_of`` gives a class's registry name
    there, e.g. an attack's ``name``)."""

    def __init__(self, kind: str, group: str, base: type,
                 name_of: Callable[[type], str] = _no_name) -> None:
        self.kind = kind
        self.group = group
        self.base = base
        self.name_of = name_of

    def entries(self) -> dict[str, list[Entry]]:
        """Name -> every distinct entry registered under it (normally exactly one)."""
        found = {name: list(e) for name, e in _scan(self.group, tuple(sys.path)).items()}
        if _plugin_specs():
            for name, local in _local_entries(self.group, self.base, self.name_of).items():
                found.setdefault(name, []).extend(local)
            found = dict(sorted(found.items()))
        return found

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
            raise ConfigError(f"two plugins register the {self.kind} {name!r}: "
                              f"{where}", hint="uninstall or remove one of them")
        return found[0]

    def load(self, name: str) -> type[T]:
        """The class registered under ``name``, imported now and checked."""
        entry = self.entry(name)
        module, _, attr = entry.value.partition(":")
        try:
            obj: Any = sys.modules.get(module) or __import__(module, fromlist=["_"])
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
        declared = self.name_of(obj)
        if declared and declared != name:
            raise ConfigError(f"the {self.kind} registered as {name!r} ({entry.value} from "
                              f"{entry.source}) calls itself {declared!r}",
                              hint="make the entry point's name and the class's name equal")
        return cast(type[T], obj)
