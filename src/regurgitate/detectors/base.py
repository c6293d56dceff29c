"""The detector contract: a batch of stored generations in, typed findings out.

A detector names the detectors whose findings it needs (``requires``); the pipeline runs
those first and hands their findings for the same generations in as ``prior``. It declares the
``modality`` of the generations it judges (``"text"`` or ``"image"``), and whether it judges a
batch of generations (the default) or, with ``groups = True``, all generations of one prompt at
once (the pipeline calls it when that prompt's generations are complete). It is built
for a scan by :meth:`Detector.create` from the scan's :class:`DetectorContext` and the
user's options (``--set NAME.OPTION=VALUE``), and registered as an entry point in the group
``regurgitate.detectors`` (``name = "module:Class"``), built-ins and plugins alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from regurgitate.findings import Finding
from regurgitate.options import Configurable, convert_options
from regurgitate.types import Document, Item, Modality, Span

if TYPE_CHECKING:
    from regurgitate.images.index import ImageIndex
    from regurgitate.targets.base import Target

__all__ = ["NO_PRIOR", "Detector", "DetectorContext", "IndexLike", "Item", "Prior"]


#: What the detectors need from a corpus index (``regurgitate.index.CorpusIndex`` provides it),
#: declared as a protocol so the detectors depend on the interface, not on the index package.
class IndexLike(Protocol):
    @property
    def tokenizer(self) -> Any:  # a regurgitate.corpus.tokenizer.Tokenizer
        ...

    def find_spans(
        self, texts: Sequence[str], min_tokens: int = 50, max_docs: int = 10, *,
        window_tokens: int | None = None, windows: bool = True,
    ) -> list[list[Span]]:
        """Maximal spans, each with its most repeated window of ``window_tokens`` tokens
        (default ``min_tokens``) unless ``windows`` is False."""
        ...

    def count(self, ids: Sequence[int]) -> int:
        """Occurrences of the token sequence in the corpus."""
        ...

    def occurrences(self, ids: Sequence[int], limit: int) -> list[Any]:
        """Objects with ``doc_id`` and ``token_offset`` attributes."""
        ...

    def first_occurrences(self, seqs: Sequence[Sequence[int]]) -> list[Any]:
        """``occurrences(ids, limit=1)[0]`` (or None) of many sequences at once."""
        ...

    def occurrences_batch(self, seqs: Sequence[Sequence[int]], limit: int) -> list[list[Any]]:
        """``occurrences(ids, limit)`` of many sequences at once."""
        ...

    def context(
        self, doc_id: int, token_offset: int, length: int, margin: int = 30
    ) -> tuple[str, str, str]: ...

    def doc_name(self, doc_id: int) -> str: ...

    def document(self, doc_id: int) -> Document: ...


@dataclass(frozen=True)
class Prior:
    """Findings of the detectors a detector requires, for the items of its batch.

    ``Prior.of(items_findings)`` builds one from a flat list (as tests and other callers
    that ran the required detectors themselves do)."""

    by_detector: Mapping[str, Mapping[int, tuple[Finding, ...]]] = field(default_factory=dict)

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Prior:
        grouped: dict[str, dict[int, list[Finding]]] = {}
        for f in findings:
            grouped.setdefault(f.detector, {}).setdefault(f.generation_id, []).append(f)
        return cls({d: {g: tuple(fs) for g, fs in by_gen.items()}
                    for d, by_gen in grouped.items()})

    def findings(self, detector: str, generation_id: int) -> tuple[Finding, ...]:
        """``detector``'s findings for one generation (empty when it found nothing)."""
        return tuple(self.by_detector.get(detector, {}).get(generation_id, ()))

    def all(self, detector: str) -> list[Finding]:
        return [f for fs in self.by_detector.get(detector, {}).values() for f in fs]


NO_PRIOR = Prior()


@dataclass(frozen=True)
class DetectorContext:
    """What a scan offers detectors when it builds them.

    ``modality`` is what the scan's target makes; ``index`` the reference-corpus index of a
    text scan and ``image_index`` the training-image index of an image scan (None without
    one); ``min_tokens``/``max_docs`` the scan's verbatim threshold and sources per span;
    ``target`` the model under audit (may offer a scorer of its own model)."""

    index: IndexLike | None = None
    min_tokens: int = 50
    max_docs: int = 10
    target: Target | None = None
    image_index: ImageIndex | None = None
    modality: Modality = "text"

    @property
    def tokenizer(self) -> Any:
        return self.index.tokenizer if self.index is not None else None


class Detector(Configurable, ABC):
    """Turns a batch of (prompt, generation) items into findings.

    ``name`` is the stored ``detector`` of its findings and its registry name; ``requires``
    the names of detectors whose findings ``detect`` reads from ``prior``. Every hook a
    detector may provide is declared here with its default (its options through
    :class:`~regurgitate.options.Configurable`); scan setup reads them only through this class.
    """

    #: its registry name (equal to its entry point's name) and the stored ``detector``
    name: str = "detector"
    #: detectors that must run first; their findings for the same generations arrive in
    #: ``prior`` (a scan that leaves one out with ``--no-detector`` is refused, naming both)
    requires: tuple[str, ...] = ()
    #: what ``create`` needs to build it, in words, for the error when a user names it
    #: (``--detector``) in a scan where ``create`` returns None (empty: "an index")
    needs: ClassVar[str] = ""
    #: the generations it judges: ``"text"`` or ``"image"``
    modality: ClassVar[Modality] = "text"
    #: True: ``detect`` receives every generation of one prompt at once (a group stage)
    groups: ClassVar[bool] = False

    @abstractmethod
    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        """Findings for a batch of generations (any number per item, possibly none)."""

    def not_computed(self) -> list[tuple[str, str]]:
        """``(figure, reason)`` for each figure this detector computes in some scans but
        cannot in this one (e.g. (n, p) without a model to score with); the scan names them
        in the terminal and the report instead of leaving them silently absent."""
        return []

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> Detector | None:
        """This detector for a scan, or None when it does not apply there (e.g. it needs an
        index and the scan has none). The default builds ``cls(**options)``, options
        converted by the annotations of ``__init__`` (a detector that overrides
        ``options_callable`` or ``options_exclude`` overrides ``create`` too)."""
        return cls(**convert_options(cls, options, owner=f"detector {cls.name!r}"))


def order_detectors(detectors: Sequence[Detector]) -> list[Detector]:
    """``detectors`` in an order where each runs after the detectors it requires (otherwise
    the given order). ConfigError on duplicate names, a missing requirement or a cycle."""
    from regurgitate.errors import ConfigError

    by_name: dict[str, Detector] = {}
    for det in detectors:
        if det.name in by_name:
            raise ConfigError(f"two detectors are named {det.name!r}")
        by_name[det.name] = det
    for det in detectors:
        missing = [r for r in det.requires if r not in by_name]
        if missing:
            raise ConfigError(
                f"detector {det.name!r} requires {', '.join(map(repr, missing))}, which is not "
                "in this scan", hint=f"detectors here: {', '.join(by_name) or 'none'}")
    ordered: list[Detector] = []
    placed: set[str] = set()
    visiting: list[str] = []

    def place(det: Detector) -> None:
        if det.name in placed:
            return
        if det.name in visiting:
            cycle = visiting[visiting.index(det.name):] + [det.name]
            raise ConfigError(f"detectors require each other in a cycle: {' -> '.join(cycle)}")
        visiting.append(det.name)
        for req in det.requires:
            place(by_name[req])
        visiting.pop()
        placed.add(det.name)
        ordered.append(det)

    for det in detectors:
        place(det)
    return ordered
