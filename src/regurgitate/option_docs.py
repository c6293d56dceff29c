"""What each ``--set`` option of a component is: name, type, default, one line of help.

Read from the same callable :func:`regurgitate.options.convert_options` fills (a component's
class, or the function its ``options_callable()`` names, as the membership detector's
``_membership_options``), never from a second list: the names, types and defaults are the
callable's parameters; the help is the ``#:`` comment above a field, or the docstring's
``:param NAME:`` / ````NAME``: ...`` / ````NAME``, ...`` clause for it.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from typing import Any

from regurgitate.options import Configurable, _convert, option_spec, type_name


@dataclasses.dataclass(frozen=True)
class OptionDoc:
    """One option as ``--set COMPONENT.NAME=VALUE`` (or ``?NAME=VALUE`` of a target) takes
    it; ``default`` is its text, or None when the option is required."""

    name: str
    type: str
    default: str | None
    help: str


def options_callable(cls: type) -> Callable[..., Any]:
    """The callable whose keyword parameters are ``cls``'s options: its
    :meth:`~regurgitate.options.Configurable.options_callable` for a component, else the
    class itself."""
    return cls.options_callable() if issubclass(cls, Configurable) else cls


def _exclude(cls: type) -> tuple[str, ...]:
    return cls.options_exclude if issubclass(cls, Configurable) else ()


def settable(tp: Any) -> bool:
    """Whether an option of type ``tp`` can be given as text (``index``, a scorer object or a
    tokenizer passed by code cannot)."""
    try:
        _convert(tp, "1")
    except (TypeError, ValueError) as exc:
        return "cannot be set from text" not in str(exc)
    return True


def describe(cls: type, *, skip: int = 0) -> list[OptionDoc]:
    """The text-settable options of a component class, in declaration order, less the
    first ``skip`` positional parameters and the class's ``options_exclude`` (parameters
    that its ``create()`` fills itself)."""
    func = options_callable(cls)
    spec = option_spec(func, skip=skip, exclude=_exclude(cls))
    defaults = _defaults(func)
    helps = _helps(func)
    out: list[OptionDoc] = []
    for name, tp in spec.types.items():
        if not settable(tp):
            continue
        out.append(OptionDoc(name=name, type=type_name(tp), default=defaults.get(name),
                             help=helps.get(name, "")))
    return out


def option_names(cls: type) -> set[str]:
    """The names ``create()`` accepts for a component class (``describe``'s, unfiltered)."""
    spec = option_spec(options_callable(cls), exclude=_exclude(cls))
    return set(spec.types)


def _defaults(func: Callable[..., Any]) -> dict[str, str | None]:
    target: Any = func.__init__ if isinstance(func, type) else func  # type: ignore[misc]
    out: dict[str, str | None] = {}
    for p in inspect.signature(target).parameters.values():
        if p.default is p.empty:
            out[p.name] = None
        else:
            out[p.name] = _show(p.default)
    if isinstance(func, type) and dataclasses.is_dataclass(func):
        for f in dataclasses.fields(func):
            if f.default_factory is not dataclasses.MISSING:
                out[f.name] = _show(f.default_factory())
    return out


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value) if value else "(empty)"
    return str(value) if value != "" else "(empty)"


_COMMENT = re.compile(r"^\s*#:\s?(.*)$")
_FIELD = re.compile(r"^\s*(\w+)\s*[:=]")


def _helps(func: Callable[..., Any]) -> dict[str, str]:
    """Option name -> its one line of help, from ``#:`` comments and docstrings."""
    out: dict[str, str] = {}
    owners: list[Any] = [func]
    if isinstance(func, type):
        owners = [k for k in func.__mro__ if k is not object]
        owners.append(func.__init__)  # type: ignore[misc]
    for owner in owners:
        for name, text in {**_comments(owner), **_docstring(owner)}.items():
            out.setdefault(name, text)
    return out


def _comments(owner: Any) -> dict[str, str]:
    try:
        lines = inspect.getsource(owner).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        comment = _COMMENT.match(line)
        if comment:
            pending.append(comment.group(1).strip())
            continue
        field = _FIELD.match(line)
        if field and pending:
            out.setdefault(field.group(1), _first_clause(" ".join(pending)))
        pending = []
    return out


def _docstring(owner: Any) -> dict[str, str]:
    doc = inspect.getdoc(owner) or ""
    flat = " ".join(doc.split())
    out: dict[str, str] = {}
    for match in re.finditer(r":param (\w+):\s*([^:]+?)(?=:param |:return|$)", flat):
        out.setdefault(match.group(1), _first_clause(match.group(2)))
    for match in re.finditer(r"``(\w+)``\s*[:,]\s*(.+?)(?=[;.](?:\s|$)|$)", flat):
        out.setdefault(match.group(1), _first_clause(match.group(2)))
    return out


def _first_clause(text: str, limit: int = 100) -> str:
    text = re.split(r"(?<=[.;])\s", text.strip(), maxsplit=1)[0].rstrip(".;")
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
