"""The conformance checks every registered component passes, built-in or a plugin's.

One check per registered target, attack, detector and finding kind (:func:`cases`), each
returning the problems it found (an empty list: it conforms):

- it loads: its entry point imports and names a subclass of the group's base class, whose
  declared name (``Target.scheme``, ``Attack.name``, ``Detector.name``, ``Payload.kind``)
  equals the entry point's name;
- it declares a ``modality`` (``"text"`` or ``"image"``);
- every option is convertible from text (or excluded as filled by code) and documented (a
  ``#:`` comment or a docstring clause: ``regurgitate plugins --options NAME`` shows it);
- an attack builds from its defaults; a detector's ``create`` works on a minimal context (no
  index, no target: it returns a detector or None, and never raises);
- a finding kind is a frozen dataclass whose payloads round-trip through a run store.

``regurgitate plugins --check`` runs them all; a plugin's own test suite runs the same with::

    import pytest
    from regurgitate.scan.conformance import cases, check

    @pytest.mark.parametrize("case", cases(), ids=str)
    def test_conformance(case, tmp_path):
        assert check(case, tmp_path) == []
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regurgitate import registry
from regurgitate.attacks.base import Attack
from regurgitate.detectors.base import Detector
from regurgitate.errors import RegurgitateError
from regurgitate.option_docs import describe, option_names
from regurgitate.options import option_spec
from regurgitate.targets.base import Target
from regurgitate.types import MODALITIES

__all__ = ["Case", "cases", "check", "check_all"]

#: entry-point groups as the cases name them
KINDS = ("target", "attack", "detector", "finding kind")


@dataclass(frozen=True)
class Case:
    """One registered component: its kind (one of :data:`KINDS`) and name."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.replace(' ', '-')}:{self.name}"


def cases() -> list[Case]:
    """Every registered component (installed distributions and ``REGURGITATE_PLUGINS``)."""
    return [*(Case("target", n) for n in registry.targets().names()),
            *(Case("attack", n) for n in registry.attacks().names()),
            *(Case("detector", n) for n in registry.detectors().names()),
            *(Case("finding kind", n) for n in registry.findings().names())]


def check(case: Case, workdir: Path) -> list[str]:
    """The problems of one component (empty: it conforms); ``workdir`` holds a scratch run."""
    try:
        if case.kind == "target":
            return _check_target(case.name)
        if case.kind == "attack":
            return _check_attack(case.name)
        if case.kind == "detector":
            return _check_detector(case.name)
        return _check_kind(case.name, workdir)
    except RegurgitateError as exc:
        return [exc.message + (f" ({exc.hint})" if exc.hint else "")]
    except Exception as exc:  # a plugin's bug is a finding of the check, not a crash
        return [f"raised {type(exc).__name__}: {exc}"]


def check_all(workdir: Path) -> dict[Case, list[str]]:
    """Every case with its problems (the ones that conform map to an empty list)."""
    out: dict[Case, list[str]] = {}
    for i, case in enumerate(cases()):
        scratch = workdir / f"case{i}"
        scratch.mkdir(parents=True, exist_ok=True)
        out[case] = check(case, scratch)
    return out


def _modality(cls: type[Target] | type[Attack] | type[Detector]) -> list[str]:
    declared = cls.modality
    if declared not in MODALITIES:
        return [f"modality {declared!r} is not one of {', '.join(MODALITIES)}"]
    return []


def _options(cls: type, *, skip: int = 0, code_filled: tuple[str, ...] = ()) -> list[str]:
    problems: list[str] = []
    documented = {d.name: d for d in describe(cls, skip=skip)}
    every = option_names(cls) if not skip else set(option_spec(cls, skip=skip).types)
    for name in sorted(every - set(code_filled)):
        doc = documented.get(name)
        if doc is None:
            problems.append(f"option {name!r} cannot be set from text: give it a settable "
                            "type (bool, int, float, str, a tuple of those, X | None) or list "
                            "it in options_exclude and fill it in create()")
        elif not doc.help:
            problems.append(f"option {name!r} has no help: add a '#:' comment above the "
                            "field or a ':param NAME:' / '``NAME``: ...' docstring clause")
    return problems


def _check_target(name: str) -> list[str]:
    cls = registry.targets().load(name)
    problems = _modality(cls)
    params = option_spec(cls).types
    skip = 1 if params else 0
    problems += _options(cls, skip=skip, code_filled=cls.options_exclude)
    for base_opt in Target.BASE_OPTIONS:
        if base_opt in params and params[base_opt] not in (Target.BASE_OPTIONS[base_opt],
                                                           typing.Any):
            problems.append(f"option {base_opt!r} of __init__ has type "
                            f"{params[base_opt]}, while every target's is "
                            f"{Target.BASE_OPTIONS[base_opt].__name__}")
    return problems


def _check_attack(name: str) -> list[str]:
    cls = registry.attacks().load(name)
    problems = _modality(cls) + _options(cls, code_filled=cls.options_exclude)
    if not option_spec(cls.options_callable(), exclude=cls.options_exclude).required:
        attack = registry.make_attack(name, {})
        if attack.name != name:
            problems.append(f"built from its defaults it calls itself {attack.name!r}")
    return problems


def _check_detector(name: str) -> list[str]:
    from regurgitate.detectors.base import DetectorContext

    cls = registry.detectors().load(name)
    problems = _modality(cls) + _options(cls, code_filled=cls.options_exclude)
    det = cls.create(DetectorContext(modality=cls.modality), {})
    if det is not None:
        if not isinstance(det, Detector):
            problems.append(f"create() returned {type(det).__name__}, not a Detector")
        elif det.name != name:
            problems.append(f"create() built a detector that calls itself {det.name!r}")
    return problems


def _check_kind(name: str, workdir: Path) -> list[str]:
    from regurgitate.findings import Finding, payload_type
    from regurgitate.store import RunStore
    from regurgitate.types import Generation, GenerationSettings, Prompt, RunSpec

    cls = payload_type(name)
    if cls is None:
        return [f"no payload class is registered for {name!r}"]
    params = getattr(cls, "__dataclass_params__", None)
    if not dataclasses.is_dataclass(cls) or params is None or not params.frozen:
        return ["the payload class is not a frozen dataclass (@dataclass(frozen=True))"]
    payload = cls(**{f.name: _sample(hint) for f, hint in _fields(cls)})
    db = workdir / "conformance.db"
    with RunStore.open(db) as store:
        store.init_run(RunSpec(target="conformance", attacks=("conformance",), index=None))
        prompt = Prompt(id="conformance:0", attack="conformance", text="x",
                        settings=GenerationSettings())
        store.add_prompts([prompt])
        (gid,) = store.add_generations([Generation(prompt_id=prompt.id, text="x")])
        finding = Finding(gid, "conformance", payload, start=0, end=1, score=0.5)
        store.add_findings([finding], detector="conformance", generation_ids=[gid])
    with RunStore.open(db, create=False) as store:
        (back,) = store.findings()
    if back != finding:
        return [f"a payload does not read back from the run store as it was written: wrote "
                f"{payload!r}, read {back.payload!r}"]
    return []


def _fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init]


def _sample(tp: Any) -> Any:
    """A value of type ``tp`` for the round trip (None where the type allows it)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return _sample(members[0]) if members else None
    if origin is tuple:
        args = typing.get_args(tp)
        return (_sample(args[0]),) if args and args[0] is not Ellipsis else ()
    if origin in (dict, typing.Mapping) or tp is dict:
        return {}
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp(**{f.name: _sample(h) for f, h in _fields(tp)})
    samples: dict[Any, Any] = {bool: True, int: 3, float: 0.25, str: "conformance"}
    return samples.get(tp)
