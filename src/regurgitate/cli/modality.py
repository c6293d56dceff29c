"""Which modality (text or image) each registered component works on, for the CLI's listings
and hints (``scan --help``, an unknown ``--attack``)."""

from __future__ import annotations

from regurgitate import registry
from regurgitate.errors import ConfigError
from regurgitate.options import suggest

MODALITIES = ("text", "image")

#: regurgitate's own image components, for a component class that does not declare a
#: ``modality`` class attribute itself (one that does always wins); everything else is text
IMAGE_COMPONENTS = frozenset({
    "carlini", "recorded-images",                               # attacks
    "reference-image", "diffusers", "images",                   # targets
    "image_copy", "image_clique", "image_similarity",           # detectors
})


def modality_of(name: str, cls: type | None) -> str:
    """``"text"`` or ``"image"``: the class's own ``modality`` when it declares one, else
    :data:`IMAGE_COMPONENTS` by registered name."""
    declared = getattr(cls, "modality", None) if cls is not None else None
    if isinstance(declared, str) and declared:
        return declared
    return "image" if name in IMAGE_COMPONENTS else "text"


def attacks_by_modality() -> dict[str, list[str]]:
    """Modality -> the registered attacks for it, in name order (a plugin that cannot be
    imported is listed by its name's mapping)."""
    reg = registry.attacks()
    out: dict[str, list[str]] = {}
    for name in reg.names():
        try:
            cls: type | None = reg.load(name)
        except ConfigError:
            cls = None
        out.setdefault(modality_of(name, cls), []).append(name)
    return {m: out[m] for m in [*MODALITIES, *sorted(set(out) - set(MODALITIES))] if m in out}


def describe_attacks() -> str:
    """``"text: a, b; image: c"``: the registered attacks grouped by modality."""
    return "; ".join(f"{m}: {', '.join(names)}" for m, names in attacks_by_modality().items())


def check_attacks(names: list[str], modality: str, target: str) -> None:
    """ConfigError for a name that is not a registered attack of ``modality``: the hint
    offers only the attacks that work on that modality (an image attack on a text target
    is named as such)."""
    groups = attacks_by_modality()
    mine = groups.get(modality, [])
    for name in names:
        if name in mine:
            continue
        other = next((m for m, group in groups.items() if name in group), None)
        what = f"the {other} attack {name!r}" if other else f"unknown attack {name!r}"
        problem = f"{what} does not work on the {modality} target {target}" if other else what
        raise ConfigError(problem, hint=f"{suggest(name, mine)}{modality} attacks: "
                                        f"{', '.join(mine) or 'none registered'}")
