"""The one option parser of every component (targets, attacks, detectors).

Options arrive as strings (``--set divergence.words=poem,book``, ``hf:DIR?batch_size=8``) and
are converted by the annotations of the parameters they fill: ``bool`` (1/0, true/false,
yes/no, on/off, any case), ``int``, ``float``, ``str``, ``X | None`` (``none``, ``null`` or an
empty value give None), and sequences/tuples of ``int``/``float``/``str`` (comma-separated).
Values that are not strings (set by code) pass through unchanged.
"""

from __future__ import annotations

import builtins
import collections.abc
import dataclasses
import difflib
import inspect
import types
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from regurgitate.errors import ConfigError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_bool(raw: str) -> bool:
    """1/0, true/false, yes/no, on/off (any case); ValueError otherwise."""
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def suggest(word: str, choices: Collection[str]) -> str:
    """``"did you mean 'x'? "`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("collections.abc.", "")


_SEQUENCES = (tuple, list, collections.abc.Sequence)


def convert(name: str, tp: Any, raw: str) -> Any:
    """``raw`` converted to the type ``tp`` (ConfigError naming the option otherwise)."""
    try:
        return _convert(tp, raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"bad value {raw!r} for option {name!r}: expects {type_name(tp)}"
                          + (f" ({exc})" if str(exc) else "")) from None


def _convert(tp: Any, raw: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any or tp is inspect.Parameter.empty:
        return raw
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(members) < len(typing.get_args(tp)) and raw.strip().lower() in ("", "none",
                                                                               "null"):
            return None
        errors: list[str] = []
        for arg in members:
            try:
                return _convert(arg, raw)
            except (ValueError, TypeError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(e for e in errors if e))
    if origin in _SEQUENCES:
        args = typing.get_args(tp)
        inner = args[0] if args else str
        items = [s.strip() for s in raw.split(",") if s.strip() != ""]
        return tuple(_convert(inner, s) for s in items)
    if tp is bool:
        return parse_bool(raw)
    if tp is int:
        return int(raw)
    if tp is float:
        return float(raw)
    if tp is str:
        return raw
    raise TypeError(f"cannot be set from text (type {type_name(tp)})")


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations of ``func``; ones that cannot be resolved become Any."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # an annotation naming a TYPE_CHECKING-only import
        pass
    namespace = dict(vars(builtins))
    namespace.update(getattr(func, "__globals__", {}))
    out: dict[str, Any] = {}
    for key, ann in getattr(func, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, namespace)  # annotation text of the component's own module
            except Exception:
                ann = Any
        out[key] = ann
    return out


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    """The options a callable accepts: name -> type, and which ones are required."""

    types: Mapping[str, Any]
    required: tuple[str, ...]


def option_spec(func: Callable[..., Any], *, skip: int = 0,
                exclude: Collection[str] = ()) -> OptionSpec:
    """The options of ``func`` (a function or a class, by its ``__init__``): its named
    parameters, minus the first ``skip`` positional ones and those in ``exclude``."""
    target: Callable[..., Any] = func
    if isinstance(func, type):
        target = getattr(func, "__init__")  # noqa: B009 - mypy refuses func.__init__ on a type
    sig = inspect.signature(target)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    hints = _hints(func if dataclasses.is_dataclass(func) else target)
    types_: dict[str, Any] = {}
    required: list[str] = []
    positional = 0
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and positional < skip:
            positional += 1
            continue
        if p.name in exclude or p.name.startswith("_"):
            continue
        types_[p.name] = hints.get(p.name, Any)
        if p.default is p.empty:
            required.append(p.name)
    if dataclasses.is_dataclass(func):
        init = {f.name for f in dataclasses.fields(func) if f.init}
        types_ = {k: v for k, v in types_.items() if k in init}
    return OptionSpec(types_, tuple(required))


class Configurable:
    """The option hooks every component base class (``Target``, ``Attack``, ``Detector``)
    inherits; :func:`convert_options` callers and :mod:`regurgitate.option_docs` read a
    component's options through them only."""

    #: parameters of the options callable that ``create()``/``from_spec`` fill themselves (an
    #: index, a scorer object): neither settable nor listed
    options_exclude: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def options_callable(cls) -> Callable[..., Any]:
        """The callable whose keyword parameters are this component's options (names, types,
        defaults and help): the class itself (its ``__init__``) unless overridden, e.g. by a
        detector whose ``create`` takes options that are not constructor arguments."""
        return cls


def convert_options(func: Callable[..., Any], options: Mapping[str, Any], *, owner: str,
                  skip: int = 0, exclude: Collection[str] = (),
                  check_required: bool = True,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``func`` from ``options`` (strings converted by annotation).

    ``owner`` names the component in messages (e.g. ``"openai targets"``). Unknown options
    raise ConfigError with a "did you mean" hint, and so do missing required ones. ``extra``:
    more accepted options (name -> type) that ``func`` need not take (a target's base-class
    options); they are converted and returned like the others."""
    spec = option_spec(func, skip=skip, exclude=exclude)
    accepted = {**(extra or {}), **spec.types}
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in accepted:
            valid = sorted(accepted)
            raise ConfigError(f"unknown option {key!r} for {owner}",
                              hint=f"{suggest(key, valid)}valid: {', '.join(valid) or 'none'}")
        out[key] = convert(key, accepted[key], value) if isinstance(value, str) else value
    if check_required:
        for key in spec.required:
            if key not in out:
                raise ConfigError(f"{owner} need the option {key!r}",
                                  hint=f"add {key}=VALUE")
    return out
