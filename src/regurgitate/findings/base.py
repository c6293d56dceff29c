"""The generic finding machinery: :class:`Finding`, :class:`Payload` (and the hooks a payload
class may declare for reports), :class:`UnknownPayload`, the one lookup of finding kinds
(:func:`payload_registry`, :func:`payload_type`) and the JSON codec of the store.

The kinds themselves live beside it: the text detectors' in :mod:`.text`, the image
detectors' in :mod:`.images`, the audit's in :mod:`.audit`.

A :class:`Finding` is an envelope (generation, detector, character range, score) around a
*payload*: one frozen dataclass per finding kind. A payload class is a subclass of
:class:`Payload` with two class variables::

    @dataclass(frozen=True)
    class ImageCopy(Payload):
        kind: ClassVar[str] = "image_copy"   # the tag stored with every finding
        version: ClassVar[int] = 1           # bump when the fields change; see upgrade()
        distance: float
        train_image: str

No central list names the kinds: the store finds a payload class by its ``kind`` among the
subclasses of :class:`Payload` that are imported, and otherwise through the entry-point group
``regurgitate.findings`` (``image_copy = "mypkg.findings:ImageCopy"``), so a database written
with a plugin's findings reads back typed wherever the plugin is installed, and as an
:class:`UnknownPayload` (raw data kept) where it is not.

Payloads are stored as JSON objects (nested dataclasses as objects, tuples as lists) together
with their ``kind`` and ``version``; :meth:`Payload.upgrade` turns the data of an older version
into the current one (version 0 is the free-form dict that regurgitate 0.1.0 wrote, whose keys
the built-in payloads kept).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from regurgitate.entrypoints import Registry
from regurgitate.errors import StoreError

#: entry-point group naming payload classes of third-party finding kinds
PAYLOAD_GROUP = "regurgitate.findings"

P = TypeVar("P", bound="Payload")


@dataclass(frozen=True)
class Payload:
    """Base of every finding payload (subclasses are frozen dataclasses)."""

    kind: ClassVar[str] = ""
    version: ClassVar[int] = 1
    #: how reports name this kind in headings and tables (empty: the ``kind`` itself)
    report_label: ClassVar[str] = ""

    @classmethod
    def label(cls) -> str:
        """The kind's name in reports: ``report_label``, else ``kind``."""
        return cls.report_label or cls.kind

    @classmethod
    def headline(cls, payloads: Sequence[Payload]) -> str | None:
        """One figure that sums up ``payloads`` (every finding of this kind in a run, or in one
        attack's generations), with its unit, e.g. ``"mean brightness 112.3 of 255"``; None (the
        default): reports show the number of findings only. Reports call it with payloads of
        this class only (never with :class:`UnknownPayload`)."""
        return None

    def report_fields(self) -> dict[str, Any]:
        """The fields reports show for one finding of this kind, name -> JSON value (the
        default: every stored field; nested dataclasses as objects). Shown escaped."""
        return self.to_json()

    @classmethod
    def upgrade(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """The stored ``data`` of an older payload ``from_version`` in the current shape.

        The default keeps it as it is (fields added later need defaults)."""
        return data

    def kind_name(self) -> str:
        return type(self).kind

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields (nested dataclasses as dicts, tuples as lists)."""
        return typing.cast(dict[str, Any], _to_json(self))


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector verdict about one generation (or a span of it).

    ``start``/``end`` are character offsets into the generation text when the finding is
    local; ``payload`` holds the kind-specific fields (``kind`` is the payload's tag).
    """

    generation_id: int
    detector: str
    payload: Payload
    start: int | None = None
    end: int | None = None
    score: float | None = None

    @property
    def kind(self) -> str:
        return self.payload.kind_name()

    def payload_as(self, cls: type[P]) -> P | None:
        """The payload when it is a ``cls``, else None (typed access for reports)."""
        return self.payload if isinstance(self.payload, cls) else None


@dataclass(frozen=True)
class UnknownPayload(Payload):
    """A stored finding whose kind no installed code knows (its data kept as stored)."""

    kind: ClassVar[str] = ""
    stored_kind: str = ""
    stored_version: int = 0
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def kind_name(self) -> str:
        return self.stored_kind

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)


# ------------------------------------------------------------------------- kinds lookup


def payload_registry() -> Registry[Payload]:
    """The finding kinds, read from the ``regurgitate.findings`` entry-point group: the one
    lookup of kinds (:func:`regurgitate.registry.findings` returns this same registry)."""
    return Registry[Payload]("finding kind", PAYLOAD_GROUP, Payload,
                             lambda cls: str(getattr(cls, "kind", "")))


def payload_type(kind: str) -> type[Payload] | None:
    """The payload class of a finding kind, as registered in the ``regurgitate.findings``
    entry-point group (through :class:`regurgitate.entrypoints.Registry`, like every other
    component); None when no installed distribution registers it (the finding then reads
    back as an :class:`UnknownPayload` with its data)."""
    from regurgitate.errors import ConfigError

    registry = payload_registry()
    if kind not in registry.entries():
        return None
    try:
        cls: type[Payload] = registry.load(kind)
    except ConfigError as exc:  # a broken plugin: say so instead of misreading the run
        raise StoreError(f"cannot load the payload class of finding kind {kind!r}: "
                         f"{exc.message}") from exc
    if cls.kind != kind:
        raise StoreError(f"the payload class registered for finding kind {kind!r} "
                         f"({cls.__module__}.{cls.__qualname__}) has kind {cls.kind!r}")
    return cls


def payload_kinds() -> dict[str, type[Payload]]:
    """Every registered finding kind, for listings."""
    out: dict[str, type[Payload]] = {}
    for name in payload_registry().names():
        cls = payload_type(name)
        if cls is not None:
            out[name] = cls
    return out


# --------------------------------------------------------------------- JSON conversion


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, UnknownPayload):
            return dict(value.data)
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


def _from_json(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise StoreError(f"{where}: missing value")
        for arg in args:  # a value already of one of the types stays as it is
            if isinstance(arg, type) and not dataclasses.is_dataclass(arg) and \
                    isinstance(value, arg) and not (arg is int and isinstance(value, bool)):
                return value
        others = [a for a in args if a is not type(None)]
        return _from_json(others[0], value, where)
    if origin is tuple:
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_from_json(inner, v, where) for v in value)
    if origin in (dict, Mapping) or tp is dict:
        args = typing.get_args(tp)
        inner = args[1] if len(args) == 2 else Any
        return {str(k): _from_json(inner, v, where) for k, v in dict(value).items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise StoreError(f"{where}: expected an object for {tp.__name__}")
        return _build(tp, dict(value), where)
    try:
        if tp is bool:
            return bool(value)
        if tp is int:
            return int(value)
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{where}: {exc}") from exc
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a payload dataclass (resolving them costs far more than
    decoding a row, and every stored finding is decoded through here)."""
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in data:
            kwargs[f.name] = _from_json(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise StoreError(f"{where}: the stored data has no {f.name!r}")
    return cls(**kwargs)


def payload_from_json(kind: str, version: int, data: Any) -> Payload:
    """The payload of a stored finding (an :class:`UnknownPayload` when its kind or version
    is not known here)."""
    cls = payload_type(kind)
    if cls is None or version > cls.version or not isinstance(data, dict):
        return UnknownPayload(stored_kind=kind, stored_version=version,
                              data=data if isinstance(data, dict) else {"value": data})
    if version < cls.version:
        data = cls.upgrade(dict(data), version)
    return typing.cast(Payload, _build(cls, data, f"{kind} finding"))
