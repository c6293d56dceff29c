"""Unique memorized sequences across generations, and the estimate of how many exist in total.

The only module of ``reports`` that depends on the detectors' merging rule
(``detectors.verbatim.unique_sequences``, whose :class:`MemorizedSequence` it re-exports) and
on ``regurgitate.metrics.extrapolation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from regurgitate.detectors.verbatim import MemorizedSequence, unique_sequences
from regurgitate.findings import Finding, VerbatimSpan
from regurgitate.metrics.ngrams import NGram, span_ngrams
from regurgitate.metrics.projections import MEASURED, MEASURED_ON, MeasuredError

__all__ = ["DEFAULT_FACTORS", "Extrapolation", "MemorizedSequence", "discovery_curve",
           "extrapolate_unique", "memorized_tokens", "span_tokens", "unique_memorized"]

DEFAULT_FACTORS: tuple[int, ...] = (1, 2, 5, 10)


@dataclass(frozen=True)
class Extrapolation:
    """How many unique memorized items (``unit``: ``sequences``, or ``50-grams`` for the
    stable unit of :mod:`regurgitate.metrics.ngrams`) exist, judged from how often each was
    seen.

    ``estimated_total`` is Chao1 (a lower bound) with its 95% interval ``interval``;
    ``projections[t]`` the expected number of unique items *seen* after ``t`` times as many
    further generations, by ``projection`` (a name in
    :data:`regurgitate.metrics.projections.PROJECTORS`). ``lower_projections[t]``: the
    Chao1-anchored extrapolation, which rises towards ``estimated_total`` and never above it
    (see :func:`regurgitate.metrics.extrapolation.chao_extrapolation`); it is also
    ``projections`` when ``projection`` is ``Chao1-anchored``. ``measured``: how far
    ``projection`` missed on the bundled reference
    (:data:`regurgitate.metrics.projections.MEASURED_ERROR`), empty when not measured.
    """

    observed: int
    estimated_total: float | None
    interval: tuple[float, float] | None
    coverage: float | None
    sample_count: int
    projections: dict[int, float]
    caveats: tuple[str, ...]
    method: str = "Chao1 + Chao1-anchored extrapolation"
    unit: str = "sequences"
    projection: str = "Chao1-anchored"
    lower_projections: dict[int, float] = field(default_factory=dict)
    measured: tuple[MeasuredError, ...] = ()


def _span_text(finding: Finding, span: VerbatimSpan, texts: dict[int, str]) -> str:
    if span.text:
        return span.text
    gen = texts.get(finding.generation_id, "")
    if finding.start is not None and finding.end is not None:
        return gen[finding.start : finding.end]
    return ""


def unique_memorized(
    findings: Iterable[Finding], texts: dict[int, str]
) -> list[MemorizedSequence]:
    """Merge verbatim findings across generations with the detectors' rule (equal texts, or
    one contained in the other); see ``detectors.verbatim.unique_sequences``.

    ``texts`` maps generation ids to generation text (used when a finding lacks ``text``).
    Sorted longest first, then most frequent.
    """
    verbatim: list[Finding] = []
    for f in findings:
        span = f.payload_as(VerbatimSpan)
        if span is None:
            continue
        text = _span_text(f, span, texts)
        if text and span.text != text:
            f = replace(f, payload=replace(span, text=text))
        if text:
            verbatim.append(f)
    seqs = unique_sequences(verbatim)
    seqs.sort(key=lambda s: (-s.tokens, -s.generations, s.text))
    return seqs


def memorized_ngrams(
    findings: Iterable[Finding], n: int,
    tokens_of: Callable[[int], Sequence[int]] | None = None,
) -> dict[int, set[NGram]] | None:
    """Each generation's memorized ``n``-grams (token-id tuples): the windows of its verbatim
    spans, the stable counting unit of :mod:`regurgitate.metrics.ngrams`.

    A span's tokens come from its payload (``token_ids``); for runs written before spans kept
    them, ``tokens_of(generation_id)`` may give the generation's tokens in the index's
    tokenization, cut at the span's token range. None when some span has neither (the unit
    cannot be counted for this run). Generations without a span are absent.
    """
    out: dict[int, set[NGram]] = {}
    for f in findings:
        span = f.payload_as(VerbatimSpan)
        if span is None:
            continue
        grams = out.setdefault(f.generation_id, set())
        if span.token_ids:
            grams |= span_ngrams(span.token_ids, 0, len(span.token_ids), n)
        elif tokens_of is not None and span.token_start is not None \
                and span.token_end is not None:
            grams |= span_ngrams(tokens_of(f.generation_id), span.token_start,
                                 span.token_end, n)
        else:
            return None
    return out


def ngram_discovery_curve(
    generation_order: Sequence[int], grams: dict[int, set[NGram]]
) -> list[tuple[int, int]]:
    """(generations seen, unique memorized n-grams seen) after each generation."""
    from regurgitate.metrics.extrapolation import rarefaction_curve

    xs, ys = rarefaction_curve([grams.get(g, set()) for g in generation_order])
    return [(int(x), int(y)) for x, y in zip(xs, ys, strict=True)]


def discovery_curve(
    generation_order: Sequence[int], sequences: Sequence[MemorizedSequence]
) -> list[tuple[int, int]]:
    """(generations seen, unique sequences seen) after each generation, in ``generation_order``."""
    from regurgitate.metrics.extrapolation import rarefaction_curve

    by_gen: dict[int, list[int]] = {}
    for i, s in enumerate(sequences):
        for g in s.generation_ids:
            by_gen.setdefault(g, []).append(i)
    xs, ys = rarefaction_curve([by_gen.get(g, []) for g in generation_order])
    return [(int(x), int(y)) for x, y in zip(xs, ys, strict=True)]


def extrapolate_unique(
    freqs: Sequence[int], sample_count: int, factors: Sequence[int] = DEFAULT_FACTORS,
    *, unit: str = "sequences", projection: str = "Chao1-anchored",
) -> Extrapolation:
    """Estimate the total of unique memorized items from each item's number of generations
    (incidence counts) over ``sample_count`` generations, and project what further
    generations would show with ``projection``.

    With a measured ``projection`` (:data:`regurgitate.metrics.projections.MEASURED_ERROR`), the
    caveats state its measured error instead of generic warnings about far factors."""
    from regurgitate.metrics.extrapolation import extrapolate, frequency_counts
    from regurgitate.metrics.projections import MEASURED_ERROR, SHOWN, project

    measured = MEASURED_ERROR if projection == SHOWN else ()
    est = extrapolate(frequency_counts(freqs), sample_count, factors=tuple(factors),
                      generic_caveats=not measured)
    lower = {int(t): float(v) for t, v in est.chao_total_at.items()}
    if projection == "Chao1-anchored":
        projections, method = lower, "Chao1 + Chao1-anchored extrapolation"
    else:
        projections = {int(t): float(project(projection, freqs, sample_count, float(t)))
                       for t in factors}
        method = f"Chao1 (lower bound) + {projection} projection"
    caveats = list(est.caveats)
    if measured:
        caveats.append(measured_error_note(projection, measured))
    return Extrapolation(
        observed=est.observed, estimated_total=float(est.chao1),
        interval=(float(est.chao1_ci[0]), float(est.chao1_ci[1])),
        coverage=float(est.coverage) if est.observed else None, sample_count=sample_count,
        projections=projections, caveats=tuple(caveats), method=method, unit=unit,
        projection=projection, lower_projections=lower, measured=measured,
    )


def measured_error_note(projection: str, measured: Sequence[MeasuredError]) -> str:
    """One line: how far ``projection`` missed on the reference at each factor measured, and
    the Chao1-anchored curve's mean error beside it."""
    parts = [f"{e.mean:+.0%} at {e.t}x ({e.low:+.0%} to {e.high:+.0%} over {e.cases} "
             f"case{'s' if e.cases != 1 else ''})" for e in measured]
    chao = MEASURED.get("Chao1-anchored", ()) if projection != "Chao1-anchored" else ()
    beside = (" (the Chao1-anchored curve: " + ", ".join(f"{e.mean:+.0%} at {e.t}x"
                                                         for e in chao) + ")") if chao else ""
    return (f"measured on the bundled reference ({MEASURED_ON}; docs/evidence.md), the "
            f"{projection} projection from n generations was off by {'; '.join(parts)} "
            f"against what the run then saw{beside}; negative means it fell short. Chao1 is "
            "the lower bound of the total")


def span_tokens(f: Finding) -> int:
    span = f.payload_as(VerbatimSpan)
    return span.tokens if span is not None else int(f.score or 0)


def memorized_tokens(verbatim: Sequence[Finding]) -> int:
    """Tokens of one generation inside the union of its verbatim spans.

    When every span knows its token range (``token_start``/``token_end``, written since
    0.2) the union is exact; otherwise (runs written by 0.1.0) each span adds its tokens
    scaled by the share of its characters not already covered by an earlier span (exact when
    spans do not overlap, which maximal spans normally do not).
    """
    if not verbatim:
        return 0
    spans = [f.payload_as(VerbatimSpan) for f in verbatim]
    ivs = [(s.token_start, s.run_token_end) for s in spans  # a periodic run: all of it
           if s is not None and s.token_start is not None and s.run_token_end is not None]
    if len(ivs) == len(verbatim):
        return _union_length(sorted((int(a), int(b)) for a, b in ivs))
    total = 0.0
    covered: list[tuple[int, int]] = []
    for f in sorted(verbatim, key=lambda f: (f.start or 0, -(f.end or 0))):
        tokens = span_tokens(f)
        if f.start is None or f.end is None or f.end <= f.start:
            total += tokens
            continue
        width = f.end - f.start
        overlap = sum(max(0, min(e, f.end) - max(s, f.start)) for s, e in _merge(covered))
        total += tokens * (width - overlap) / width
        covered.append((f.start, f.end))
    return round(total)


def _merge(ivs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(ivs):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _union_length(ivs: list[tuple[int, int]]) -> int:
    return sum(e - s for s, e in _merge(ivs))
