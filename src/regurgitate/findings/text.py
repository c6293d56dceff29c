"""The finding kinds of the text detectors (verbatim, near-verbatim, discoverable, divergence,
PII, membership): one frozen :class:`~regurgitate.findings.base.Payload` dataclass each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regurgitate.findings.base import Payload


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


