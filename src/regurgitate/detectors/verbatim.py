"""Verbatim memorization: maximal spans of a generation found exactly in the indexed corpus.

One :class:`~regurgitate.findings.Finding` per exact maximal span: its text occurs exactly
``count`` times in the corpus; a periodic run of equal spans (repetitive output against a
corpus holding a long run of it, one span per period) is one finding with ``run`` set
(:class:`~regurgitate.findings.VerbatimRun`), so findings stay proportional to the output.
Overlapping matches (a text spliced from two training passages) are separate findings, each
with its own count and sources; coverage figures take their union.
``score`` is the span length in tokens; the payload (:class:`~regurgitate.findings.VerbatimSpan`)
holds the token count and token range, the corpus count, the document ids and, for up to
``max_docs`` documents, the matching corpus passage with about ``context_chars`` characters of
context on each side (with the document's title and URL when the corpus kept them), and the
span's most repeated ``min_tokens``-token window with its count and its documents' names (a
span's own count is that of its rarest stretch: a span reaching a few tokens past a passage
repeated 100 times has count 1, its window 100).

:func:`unique_sequences` merges the spans of many generations into unique memorized sequences.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from regurgitate.detectors.base import Detector, DetectorContext, IndexLike, Item, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import (
    Finding,
    RepeatedWindow,
    SourcePassage,
    VerbatimRun,
    VerbatimSpan,
)
from regurgitate.index.periodic_runs import PeriodicRun, periodic_runs
from regurgitate.options import convert_options
from regurgitate.types import Span, SpanWindow


class VerbatimDetector(Detector):
    """Findings of kind ``verbatim`` for spans of >= ``min_tokens`` tokens found in the index.

    :param min_tokens: the shortest span reported, in the index's units (--min-tokens)
    :param max_docs: source documents kept per span (--max-docs)
    :param context_chars: characters of corpus text kept each side of a source passage
    """

    name = "verbatim"
    options_exclude: ClassVar[tuple[str, ...]] = ("index",)  # the scan's index, from create()

    def __init__(
        self, index: IndexLike, *, min_tokens: int = 50, max_docs: int = 10,
        context_chars: int = 200,
    ) -> None:
        if min_tokens < 1:
            raise ConfigError(f"min_tokens must be >= 1, got {min_tokens}")
        if max_docs < 0 or context_chars < 0:
            raise ConfigError("max_docs and context_chars must be >= 0")
        self.index = index
        self.min_tokens = min_tokens
        self.max_docs = max_docs
        self.context_chars = context_chars

    def spans(self, items: Sequence[Item]) -> list[list[Span]]:
        """The raw maximal spans of every item (empty for failed generations)."""
        texts = [it.generation.text if it.generation.ok else "" for it in items]
        return self.index.find_spans(texts, min_tokens=self.min_tokens, max_docs=self.max_docs)

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> VerbatimDetector | None:
        if ctx.index is None:
            return None
        opts = convert_options(cls, options, owner="detector 'verbatim'", skip=1)
        opts.setdefault("min_tokens", ctx.min_tokens)
        opts.setdefault("max_docs", ctx.max_docs)
        return cls(ctx.index, **opts)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        return self.findings_from_spans(items, self.spans(items))

    def findings_from_spans(
        self, items: Sequence[Item], spans: Sequence[Sequence[Span]]
    ) -> list[Finding]:
        """Findings for spans already computed (lets a pipeline share one index query)."""
        work: list[tuple[Item, Span, list[int], PeriodicRun | None]] = []
        for item, item_spans in zip(items, spans, strict=True):
            if not item_spans:
                continue
            ids = [int(t) for t in self.index.tokenizer.encode(item.generation.text)]
            # a periodic run of equal spans is one finding (not one per period)
            single, runs = periodic_runs(item_spans, item.generation.text)
            found = [(span, None) for span in single] + [(r.span, r) for r in runs]
            for span, run in sorted(found, key=lambda p: (p[0].start, p[0].end)):
                work.append((item, span, ids[span.token_start:span.token_end], run))
        # several occurrences may sit in one document: ask for more, keep one per document
        occs = self.index.occurrences_batch([piece for _, _, piece, _ in work],
                                            limit=self.max_docs * 4) if self.max_docs else []
        out: list[Finding] = []
        for k, (item, span, piece, run) in enumerate(work):
            text = item.generation.text
            out.append(Finding(
                generation_id=item.generation_id, detector=self.name,
                start=span.start, end=span.end if run is None else run.end,
                score=float(span.tokens),
                payload=VerbatimSpan(
                    tokens=span.tokens,
                    count=span.count,
                    documents=tuple(int(d) for d in span.documents),
                    text=text[span.start:span.end],
                    sources=self._sources(occs[k], len(piece)) if self.max_docs else (),
                    token_start=span.token_start,
                    token_end=span.token_end,
                    window=self._window(span.window, text),
                    run=None if run is None else VerbatimRun(
                        spans=run.spans, period_chars=run.period_chars,
                        period_tokens=run.period_tokens, unit=run.unit(text),
                        token_end=run.token_end),
                    token_ids=tuple(piece),
                ),
            ))
        return out

    def _window(self, win: SpanWindow | None, text: str) -> RepeatedWindow | None:
        if win is None:
            return None
        docs = tuple(int(d) for d in win.documents)
        part = text[win.start:win.end] if win.start is not None and win.end is not None \
            else ""
        return RepeatedWindow(offset=win.offset, tokens=win.tokens, count=win.count,
                              text=part, documents=docs,
                              sources=tuple(self.index.doc_name(d)
                                            for d in docs[:self.max_docs]))

    def _meta(self, doc_id: int) -> dict[str, Any]:
        """The document's metadata (the corpus's chosen fields), {} when the index keeps
        none or cannot give it."""
        get = getattr(self.index, "document_meta", None)
        if get is None:
            return {}
        meta = get(doc_id)
        return meta if isinstance(meta, dict) else {}

    def _sources(self, occs: Sequence[Any], length: int) -> tuple[SourcePassage, ...]:
        sources: list[SourcePassage] = []
        seen: set[int] = set()
        c = self.context_chars
        for occ in occs:
            doc_id = int(occ.doc_id)
            if doc_id in seen:
                continue
            seen.add(doc_id)
            # every token covers >= 1 character (bytes: <= 1), so `c` tokens give >= c chars
            before, match, after = self.index.context(
                doc_id, int(occ.token_offset), length, margin=c)
            meta = self._meta(doc_id)
            title, url = meta.get("title"), meta.get("url")
            sources.append(SourcePassage(
                doc_id=doc_id, name=self.index.doc_name(doc_id),
                before=before[-c:] if c else "", match=match, after=after[:c],
                title=title if isinstance(title, str) and title.strip() else None,
                url=url if isinstance(url, str) and url.strip() else None,
            ))
            if len(sources) >= self.max_docs:
                break
        return tuple(sources)


@dataclass(frozen=True)
class MemorizedSequence:
    """A memorized corpus sequence seen in one or more generations (what reports list and the
    extrapolation counts).

    ``text`` is the longest form seen; ``occurrences`` counts the verbatim findings merged into
    it, ``generations`` the distinct generations that contained it (the incidence frequency the
    estimators of :mod:`regurgitate.metrics.extrapolation` consume); ``documents`` is the union of
    document
    ids, ``corpus_count`` the largest corpus count reported for the longest form; ``sources``
    the names of the corpus documents its findings quoted (``"doc <id>"`` when unnamed).
    ``window_count``/``window_tokens``/``window_sources``: the most repeated window of the
    longest form (the highest count among its findings' windows), None when none was found.
    """

    text: str
    tokens: int
    occurrences: int
    generations: int
    generation_ids: tuple[int, ...]
    documents: tuple[int, ...]
    corpus_count: int
    sources: tuple[str, ...] = ()
    window_count: int | None = None
    window_tokens: int | None = None
    window_sources: tuple[str, ...] = ()


_GRAM = 16


def _source_names(span: VerbatimSpan) -> list[str]:
    names = [src.name if src.name is not None else f"doc {src.doc_id}" for src in span.sources]
    return names or [f"doc {d}" for d in span.documents]


def unique_sequences(findings: Iterable[Finding]) -> list[MemorizedSequence]:
    """Merge verbatim findings repeated across generations into unique sequences.

    Rule: two findings are the same sequence when their span texts are equal, or when one text
    is contained in the other (a shorter extraction of a longer memorized passage); a text is
    attached to the longest already-kept text that contains it. Spans that merely overlap
    (neither contains the other) stay separate sequences. Other detectors' findings are ignored.
    Result: longest first (ties by first appearance).
    """
    by_text: dict[str, list[tuple[Finding, VerbatimSpan]]] = {}
    for f in findings:
        span = f.payload_as(VerbatimSpan)
        if span is not None and span.text:
            by_text.setdefault(span.text, []).append((f, span))
    reps: list[str] = []
    members: dict[str, list[str]] = {}
    # every kept text is indexed by its character k-grams, so a shorter text is only tested
    # against the kept texts that contain its first k-gram (not against all of them)
    grams: dict[str, list[int]] = {}
    for text in sorted(by_text, key=len, reverse=True):
        candidates: Iterator[str]
        if len(text) >= _GRAM:
            candidates = (reps[i] for i in grams.get(text[:_GRAM], ()))
        else:
            candidates = iter(reps)
        home = next((r for r in candidates if text in r), None)
        if home is None:
            for g in {text[i:i + _GRAM] for i in range(len(text) - _GRAM + 1)}:
                grams.setdefault(g, []).append(len(reps))
            reps.append(text)
            members[text] = [text]
        else:
            members[home].append(text)
    order = {id(f): k for k, f in enumerate(f for pairs in by_text.values() for f, _ in pairs)}
    out: list[MemorizedSequence] = []
    for rep in reps:
        group = [pair for t in members[rep] for pair in by_text[t]]
        # count, documents and sources are the representative text's own (an exact span);
        # shorter spans merged into it occur elsewhere too, and are not its sources
        own = by_text[rep]
        names: list[str] = []
        for _, span in sorted(own, key=lambda p: (p[0].generation_id, order[id(p[0])])):
            names += [n for n in _source_names(span) if n not in names]
        gens = sorted({f.generation_id for f, _ in group})
        docs = sorted({int(d) for _, span in own for d in span.documents})
        rep_spans = [span for _, span in own]
        windows = [span.window for span in rep_spans if span.window is not None]
        top = max(windows, key=lambda w: w.count, default=None)
        out.append(MemorizedSequence(
            text=rep,
            tokens=max(span.tokens for span in rep_spans),
            occurrences=len(group), generations=len(gens), generation_ids=tuple(gens),
            documents=tuple(docs),
            corpus_count=max(span.count for span in rep_spans), sources=tuple(names),
            window_count=top.count if top is not None else None,
            window_tokens=top.tokens if top is not None else None,
            window_sources=top.sources if top is not None else (),
        ))
    return out
