"""Typed findings: what a detector says about one generation, and how it is stored.

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from regurgitate.errors import StoreError

#: entry-point group naming payload classes of third-party finding kinds
PAYLOAD_GROUP = "regurgitate.findings"

P = TypeVar("P", bound="Payload")


@dataclass(frozen=True)
class Payload:
    """Base of every finding payload (subclasses are frozen dataclasses)."""

    kind: ClassVar[str] = ""
    version: ClassVar[int] = 1

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


# ----------------------------------------------------------------------- built-in kinds


@dataclass(frozen=True)
class SourcePassage:
    """Where a verbatim span occurs in the corpus: a document and the text around it."""

    doc_id: int
    name: str | None = None
    before: str = ""
    match: str = ""
    after: str = ""
    #: the document's title and URL when the corpus kept them (``index build --meta-fields``)
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class RepeatedWindow:
    """A verbatim span's most repeated window: of its windows of ``tokens`` tokens (the
    span threshold), the first with the highest corpus count.

    ``offset``: where it starts, in tokens from the span's start; ``count``: its corpus
    occurrences (at least the span's); ``documents``: ids of up to K documents holding it and
    ``sources`` their names in the corpus (as the span's sources are named); ``text`` its
    text in the generation."""

    offset: int
    tokens: int
    count: int
    text: str = ""
    documents: tuple[int, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerbatimRun:
    """A verbatim finding standing for a periodic run of maximal spans (a word repeated
    thousands of times against a corpus holding a long run of it): ``spans`` spans with the
    finding's text, count and documents, one every ``period_chars`` characters
    (``period_tokens`` tokens) from the finding's start; the last ends at the finding's end
    (``token_end`` in tokens). The generation repeats ``unit`` over that stretch, and the
    finding's text is ``unit`` repeated to its length (see
    :mod:`regurgitate.index.periodic_runs`)."""

    spans: int
    period_chars: int
    period_tokens: int
    unit: str
    token_end: int


@dataclass(frozen=True)
class VerbatimSpan(Payload):
    """A maximal span of >= min_tokens tokens found exactly in the reference corpus.

    ``count`` is its number of corpus occurrences, ``documents`` the ids of (up to K)
    documents holding it, ``sources`` passages of some of them; ``token_start``/``token_end``
    are its token positions in the generation (None in runs written by 0.1.0). ``window``:
    its most repeated window (:class:`RepeatedWindow`); None in runs written before it
    existed, and where the index could not count windows.

    ``run``: set when the finding stands for a periodic run of equal spans
    (:class:`VerbatimRun`); then ``text``, ``tokens``, ``token_start``/``token_end``,
    ``count``, ``documents``, ``sources`` and ``window`` are those of the first span (every
    span of the run has the same), and the finding's ``start``/``end`` cover the whole run.
    Version 2 added ``run`` (None for findings stored as version 1: one span each).

    ``token_ids``: the span's tokens in the index's tokenization (``token_end - token_start``
    of them; the first span's for a run), from which reports count unique memorized
    ``min_tokens``-grams (:mod:`regurgitate.metrics.ngrams`); empty in runs written before it
    existed.
    """

    kind: ClassVar[str] = "verbatim"
    version: ClassVar[int] = 2
    tokens: int
    count: int
    text: str
    documents: tuple[int, ...] = ()
    sources: tuple[SourcePassage, ...] = ()
    token_start: int | None = None
    token_end: int | None = None
    window: RepeatedWindow | None = None
    run: VerbatimRun | None = None
    token_ids: tuple[int, ...] = ()

    @property
    def run_token_end(self) -> int | None:
        """Token end of the whole finding: the run's last span's, else ``token_end``."""
        return self.run.token_end if self.run is not None else self.token_end


@dataclass(frozen=True)
class NearVerbatimMatch(Payload):
    """A generated passage measured against its best-matching corpus passage."""

    kind: ClassVar[str] = "near_verbatim"
    version: ClassVar[int] = 1
    doc_id: int
    name: str | None
    source_text: str
    generated_text: str
    edit_similarity: float
    lcs_chars: int
    rouge_l: float
    tokens: int
    near_verbatim: bool


@dataclass(frozen=True)
class DiscoverableProbe(Payload):
    """How much of a true suffix the continuation of its true prefix reproduced."""

    kind: ClassVar[str] = "discoverable"
    version: ClassVar[int] = 1
    exact: bool
    matched_prefix_tokens: int
    suffix_tokens: int
    edit_similarity: float
    approximate: bool
    passage_id: str | int | None = None
    #: whether the prompt began with the target's BOS token (see attacks.discoverable)
    bos: bool = False
    #: (n, p)-extraction of the true suffix, when the target's model could score it
    np: ExtractionEstimate | None = None


@dataclass(frozen=True)
class ExtractionEstimate:
    """(n, p)-extraction of one probe (see :mod:`regurgitate.runtimes.sampling`): ``p`` that one
    sample under ``sampling`` emits the true suffix; ``n50``/``n90`` samples for a 50% / 90%
    chance (None: never)."""

    p: float
    log_p: float | None
    n50: int | None
    n90: int | None
    suffix_tokens: int
    sampling: str


@dataclass(frozen=True)
class DivergedOutput(Payload):
    """A repeat-a-word output that stopped repeating; the finding's range is the tail."""

    kind: ClassVar[str] = "divergence"
    version: ClassVar[int] = 1
    word: str
    repeats: int
    diverged_chars: int


@dataclass(frozen=True)
class PIIHit(Payload):
    """A personal-data item in a generation.

    ``in_corpus``: found in the reference corpus (leaked), with ``corpus_count``,
    ``documents`` (internal ids) and ``sources`` (the corpus's names); None when no corpus was
    searched. ``in_verbatim``: inside a verbatim span (the separate, stronger flag).
    ``luhn_valid``: for card numbers, whether they pass the Luhn check.
    """

    kind: ClassVar[str] = "pii"
    version: ClassVar[int] = 1
    type: str
    value: str
    in_verbatim: bool = False
    in_corpus: bool | None = None
    corpus_count: int | None = None
    documents: tuple[int, ...] = ()
    sources: tuple[str, ...] = ()
    luhn_valid: bool | None = None

    @property
    def leaked(self) -> bool:
        """Found in the corpus; runs without a corpus lookup fall back to ``in_verbatim``."""
        return bool(self.in_corpus) if self.in_corpus is not None else self.in_verbatim


@dataclass(frozen=True)
class MembershipSignals(Payload):
    """Membership-inference signals of one generation (see detectors.membership)."""

    kind: ClassVar[str] = "membership"
    version: ClassVar[int] = 1
    loss: float | None = None
    perplexity: float | None = None
    zlib: float | None = None
    min_k: float | None = None
    lowercase_ratio: float | None = None
    reference_ratio: float | None = None
    min_k_plus_plus: float | None = None
    tokens: int = 0
    #: DC-PDD with the reference corpus's token frequencies (added in 0.4; absent before)
    dc_pdd: float | None = None

    #: the signal fields (``tokens`` is a count, not a signal)
    SIGNALS: ClassVar[tuple[str, ...]] = (
        "loss", "perplexity", "zlib", "lowercase_ratio", "reference_ratio", "min_k",
        "min_k_plus_plus", "dc_pdd",
    )

    def signals(self) -> dict[str, float]:
        """The signals that were computed (``None`` ones left out)."""
        out: dict[str, float] = {}
        for name in self.SIGNALS:
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value)
        return out


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


def _payload_registry() -> Any:
    from regurgitate.entrypoints import Registry

    return Registry[Payload]("finding kind", PAYLOAD_GROUP, Payload)


def payload_type(kind: str) -> type[Payload] | None:
    """The payload class of a finding kind, as registered in the ``regurgitate.findings``
    entry-point group (through :class:`regurgitate.entrypoints.Registry`, like every other
    component); None when no installed distribution registers it (the finding then reads
    back as an :class:`UnknownPayload` with its data)."""
    from regurgitate.errors import ConfigError

    registry = _payload_registry()
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
    for name in _payload_registry().names():
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
