"""The components of one scan, resolved through the registry and filtered by modality.

Every attack and detector, built-in or plugin, comes from its entry-point group
(:mod:`regurgitate.registry`) and declares the ``modality`` it serves. A scan of a text target
uses only text components and a scan of an image target only image ones; naming a component of
the other modality (``--attack``, ``--set``) is a ConfigError that names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from regurgitate.attacks.base import Attack
from regurgitate.detectors.base import Detector, DetectorContext, order_detectors
from regurgitate.errors import ConfigError
from regurgitate.options import suggest
from regurgitate.registry import attacks as attack_registry
from regurgitate.registry import detectors as detector_registry
from regurgitate.registry import make_attack
from regurgitate.types import Modality

__all__ = ["build_attacks", "check_option_groups", "default_attack_names", "default_detectors",
           "detector_names"]


def _what(modality: Modality) -> str:
    return "images" if modality == "image" else "text"


def detector_names(modality: Modality) -> list[str]:
    """The registered detectors that judge generations of ``modality``."""
    reg = detector_registry()
    return [n for n in reg.names() if reg.load(n).modality == modality]


def attack_names(modality: Modality) -> list[str]:
    """The registered attacks that prompt targets of ``modality``."""
    reg = attack_registry()
    return [n for n in reg.names() if reg.load(n).modality == modality]


def default_attack_names(modality: Modality, *, has_index: bool) -> list[str]:
    """The attacks a scan runs when neither the user nor the target names any: every
    registered attack of ``modality`` with a ``default_order``, in that order (then by name),
    less those that need an index when the scan has none."""
    reg = attack_registry()
    ranked: list[tuple[int, str]] = []
    for name in reg.names():
        cls = reg.load(name)
        position = cls.default_position()
        if cls.modality == modality and position is not None and \
                (has_index or not cls.needs_index):
            ranked.append((position, name))
    if not ranked:
        raise ConfigError(f"no registered {modality} attack runs by default here",
                          hint="name the attacks to run with --attack")
    return [name for _, name in sorted(ranked)]


def check_attack_names(names: Sequence[str], modality: Modality) -> None:
    """ConfigError for a name that is not a registered attack of ``modality``: an unknown
    name gets a suggestion among that modality's attacks only, and an attack of the other
    modality is named as such."""
    mine = attack_names(modality)
    for name in names:
        if name in mine:
            continue
        known = attack_registry().names()
        if name in known:
            other = attack_registry().load(name).modality
            raise ConfigError(
                f"the attack {name!r} prompts {other} models, and this scan's target "
                f"makes {_what(modality)}",
                hint=f"{modality} attacks: {', '.join(mine) or 'none'}")
        raise ConfigError(f"unknown attack {name!r}",
                          hint=f"{suggest(name, mine)}{modality} attacks: "
                          f"{', '.join(mine) or 'none registered'}")


def build_attacks(names: Sequence[str], options: Mapping[str, Mapping[str, Any]],
                  modality: Modality = "text") -> list[Attack]:
    """The attacks called ``names`` (options converted by their annotations); ConfigError for
    an unknown attack or one that does not prompt targets of ``modality``."""
    check_attack_names(names, modality)
    return [make_attack(name, options.get(name, {})) for name in names]


def check_option_groups(user_options: Mapping[str, Mapping[str, str]], attacks: Sequence[str],
                        modality: Modality = "text") -> None:
    """Options the user gave with --set must name an attack of this scan or a detector of its
    modality (a detector of the other modality is named as such)."""
    detectors = detector_names(modality)
    unknown = set(user_options) - set(attacks) - set(detectors)
    if not unknown:
        _check_attack_options_for_detector(user_options, attacks)
        return
    other = sorted(unknown & set(detector_registry().names()))
    if other:
        raise ConfigError(
            f"--set names {', '.join(other)}, which judge{'s' if len(other) == 1 else ''} "
            f"{'text' if modality == 'image' else 'images'}; this scan's target makes "
            f"{_what(modality)}",
            hint=f"detectors here: {', '.join(sorted(detectors))}")
    raise ConfigError(f"--set names a component that is not in this scan: "
                      f"{', '.join(sorted(unknown))}",
                      hint=f"attacks here: {', '.join(attacks)}; detectors: "
                      f"{', '.join(sorted(detectors))}")


def _check_attack_options_for_detector(user_options: Mapping[str, Mapping[str, str]],
                                       attacks: Sequence[str]) -> None:
    """``--set discoverable.preset=pythia`` without ``--attack discoverable`` goes to the
    detector of the same name; when that detector has no such option, the user meant the
    attack: say it is not among this scan's attacks and how to add it."""
    from regurgitate.option_docs import option_names

    attack_names = attack_registry().names()
    for comp, opts in user_options.items():
        if comp in attacks or comp not in attack_names:
            continue
        known = option_names(detector_registry().load(comp))
        stray = sorted(set(opts) - known)
        if stray:
            raise ConfigError(
                f"--set {comp}.{stray[0]}: {comp!r} is not among this scan's attacks "
                f"({', '.join(attacks)}), and the {comp} detector has no option {stray[0]!r}",
                hint=f"add the attack with --attack {','.join([*attacks, comp])}")


def _check_detector_names(names: Sequence[str], modality: Modality, flag: str) -> None:
    reg = detector_registry()
    known = reg.names()
    mine = detector_names(modality)
    for name in names:
        if name in mine:
            continue
        if name in known:
            raise ConfigError(f"{flag} {name}: the detector {name!r} judges "
                              f"{_what(reg.load(name).modality)}, and this scan's target makes "
                              f"{_what(modality)}", hint=f"detectors here: {', '.join(mine)}")
        raise ConfigError(f"{flag} {name}: unknown detector {name!r}",
                          hint=f"{suggest(name, mine)}{modality} detectors: {', '.join(mine)}")


def _with_requirements(names: Sequence[str]) -> list[str]:
    """``names`` and, before each, the detectors it requires (transitively)."""
    reg = detector_registry()
    out: list[str] = []

    def add(name: str, path: tuple[str, ...]) -> None:
        if name in out or name in path:
            return
        for req in reg.load(name).requires:
            add(req, (*path, name))
        out.append(name)

    for name in names:
        add(name, ())
    return out


def default_detectors(
    ctx: DetectorContext | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    names: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> list[Detector]:
    """The detectors for a scan, ordered so each runs after those it requires: the one
    builder of detectors (each through its class's :meth:`Detector.create`).

    Without ``names``: every detector registered in the ``regurgitate.detectors`` entry-point
    group (built-ins, installed and local plugins) of the context's modality that applies to
    ``ctx`` (e.g. ``verbatim`` only with an index). With ``names`` (``--detector``): those and
    the detectors they require, and a ConfigError naming one that cannot run here. ``exclude``
    (``--no-detector``) leaves detectors out; leaving out one that a detector of the scan
    requires is a ConfigError naming both. ``options`` maps a detector name to its options
    (``--set NAME.OPTION=VALUE``).
    """
    ctx = ctx or DetectorContext()
    options = options or {}
    registry = detector_registry()
    if names is not None:
        _check_detector_names(names, ctx.modality, "--detector")
    _check_detector_names(exclude, ctx.modality, "--no-detector")
    wanted = _with_requirements(names) if names is not None else registry.names()
    built: list[Detector] = []
    for name in wanted:
        if name in exclude:
            continue
        cls = registry.load(name)
        if cls.modality != ctx.modality:
            continue
        det = cls.create(ctx, dict(options.get(name, {})))
        if det is None:
            if names is not None:
                hint = (f"it needs {cls.needs}" if cls.needs else
                        "it needs a training-image index: pass --index"
                        if ctx.modality == "image" else
                        "it needs a reference-corpus index: pass --index")
                raise ConfigError(f"the detector {name!r} cannot run in this scan", hint=hint)
            continue
        if det.name != name:
            raise ConfigError(f"the detector registered as {name!r} calls itself {det.name!r}")
        built.append(det)
    for det in built:
        dropped = [r for r in det.requires if r in exclude]
        if dropped:
            raise ConfigError(f"the detector {det.name!r} requires {dropped[0]!r}, which "
                              f"--no-detector leaves out",
                              hint=f"leave out both: --no-detector "
                              f"{','.join([*exclude, det.name])}")
    return order_detectors(built)
