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
Unknown names raise ConfigError with a "did you mean" hint. The entry points of a group are
read from the installed distributions' metadata once per group and ``sys.path`` (see
:func:`regurgitate.entrypoints.Registry.entries`): a distribution added to the path is seen at
once, one installed into a folder already on the path by the next process.

Each kind of component has one builder: :func:`make_attack` here (attacks),
:func:`regurgitate.scan.assembly.default_detectors` (detectors, each through its class's
``create``) and :func:`regurgitate.targets.spec.make_target` (targets, from a spec); options are
converted by :func:`regurgitate.options.convert_options` only. An entry point's name must equal
the name its class declares (``Target.scheme`` when set, ``Attack.name``, ``Detector.name``,
``Payload.kind``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from regurgitate.entrypoints import ATTACKS_GROUP, DETECTORS_GROUP, TARGETS_GROUP, Entry, Registry
from regurgitate.options import convert_options

if TYPE_CHECKING:
    from regurgitate.attacks.base import Attack
    from regurgitate.detectors.base import Detector
    from regurgitate.findings import Payload
    from regurgitate.targets.base import Target

__all__ = ["ATTACKS_GROUP", "DETECTORS_GROUP", "TARGETS_GROUP", "Entry", "Registry",
           "all_registries", "attacks", "detectors", "findings", "make_attack", "targets"]


def _class_name(cls: type) -> str:
    """An attack's or detector's declared ``name`` (a plain string on the class)."""
    from regurgitate.attacks.base import Attack
    from regurgitate.detectors.base import Detector

    name = cls.name if issubclass(cls, (Attack, Detector)) else ""
    return name if isinstance(name, str) else ""


def targets() -> Registry[Target]:
    from regurgitate.targets.spec import target_registry

    return target_registry()


def attacks() -> Registry[Attack]:
    from regurgitate.attacks.base import Attack

    return Registry[Attack]("attack", ATTACKS_GROUP, Attack, _class_name)


def detectors() -> Registry[Detector]:
    from regurgitate.detectors.base import Detector

    return Registry[Detector]("detector", DETECTORS_GROUP, Detector, _class_name)


def findings() -> Registry[Payload]:
    """The finding kinds: the same registry :func:`regurgitate.findings.payload_type` reads."""
    from regurgitate.findings import payload_registry

    return payload_registry()


def all_registries() -> list[Registry[Any]]:
    return [targets(), attacks(), detectors(), findings()]


def make_attack(name: str, options: Mapping[str, Any] | None = None) -> Attack:
    """Build the attack registered as ``name`` from options (strings are converted)."""
    cls = attacks().load(name)
    kwargs = convert_options(cls, options or {}, owner=f"attack {name!r}")
    return cls(**kwargs)
