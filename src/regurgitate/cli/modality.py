"""Which modality (text or image) each registered component works on, for the CLI's listings
and hints (``scan --help``, an unknown ``--attack``)."""

from __future__ import annotations

from typing import Any

from regurgitate import registry
from regurgitate.errors import ConfigError

MODALITIES = ("text", "image")

def modality_of(name: str, cls: type | None) -> str:
    """``"text"`` or ``"image"``: what the component class declares (a class that cannot be
    imported, or is not a component, counts as text)."""
    from regurgitate.attacks.base import Attack
    from regurgitate.detectors.base import Detector
    from regurgitate.targets.base import Target

    if cls is not None and issubclass(cls, (Target, Attack, Detector)):
        return cls.modality
    return "text"


def _names(reg: registry.Registry[Any]) -> list[str]:
    """The registered names, for help texts: a local plugin that fails to import is named
    by the command that uses it, not by ``--help``."""
    try:
        return reg.names()
    except ConfigError:
        return []


def _by_modality(reg: Any) -> dict[str, list[str]]:
    """Modality -> the names registered in ``reg``, in name order, modalities in their usual
    order (a plugin that cannot be imported is listed by its name's mapping)."""
    out: dict[str, list[str]] = {}
    for name in _names(reg):
        try:
            cls: type | None = reg.load(name)
        except ConfigError:
            cls = None
        out.setdefault(modality_of(name, cls), []).append(name)
    return {m: out[m] for m in [*MODALITIES, *sorted(set(out) - set(MODALITIES))] if m in out}


def attacks_by_modality() -> dict[str, list[str]]:
    """Modality -> the registered attacks for it, in name order."""
    return _by_modality(registry.attacks())


def describe_attacks() -> str:
    """``"text: a, b; image: c"``: the registered attacks grouped by modality."""
    return "; ".join(f"{m}: {', '.join(names)}" for m, names in attacks_by_modality().items())


def describe_targets() -> str:
    """``"text: hf, openai; image: images"``: the registered target schemes by modality."""
    return "; ".join(f"{m}: {', '.join(names)}"
                     for m, names in _by_modality(registry.targets()).items())
