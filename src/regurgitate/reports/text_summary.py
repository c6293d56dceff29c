"""The figures of a run: per attack and overall, as frozen dataclasses (and plain dicts)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from statistics import median
from typing import TYPE_CHECKING

from regurgitate.findings import (
    DiscoverableProbe,
    DivergedOutput,
    Finding,
    NearVerbatimMatch,
    PIIHit,
)
from regurgitate.metrics.ngrams import ngram_incidence
from regurgitate.metrics.projections import SHOWN
from regurgitate.reports.text_data import RunData
from regurgitate.reports.text_endpoint import endpoint_lines, endpoint_not_computed
from regurgitate.reports.text_membership import MembershipView, membership_view
from regurgitate.reports.text_memorized import (
    Extrapolation,
    MemorizedSequence,
    discovery_curve,
    extrapolate_unique,
    memorized_ngrams,
    memorized_tokens,
    ngram_discovery_curve,
    span_tokens,
    unique_memorized,
)
from regurgitate.reports.units import in_unit, index_unit
from regurgitate.types import Item

if TYPE_CHECKING:
    from regurgitate.reports.text_divergence import DivergenceFigures

OVERALL = "all attacks"
#: the sample budget the (n, p) summary counts against
NP_SAMPLES = 100


@dataclass(frozen=True)
class AttackSummary:
    """Figures for one attack (or for all of them, ``attack == OVERALL``).

    Rates are ``None`` when their denominator is zero. Generation rates are over successful
    generations; ``memorized_token_rate`` is over generated (completion) tokens.
    """

    attack: str
    generations: int
    ok: int
    failed: int
    #: None: unknown (a successful generation carries no token count; see Generation)
    generated_tokens: int | None
    with_verbatim: int
    verbatim_rate: float | None
    memorized_tokens: int
    memorized_token_rate: float | None
    verbatim_spans: int
    unique_sequences: int
    longest_span_tokens: int
    discoverable_probes: int
    discoverable_exact: int
    discoverable_exact_rate: float | None
    diverged_generations: int
    divergence_rate: float | None
    diverged_chars: int
    near_verbatim: int  # generations with at least one near-verbatim passage
    pii_leaked: dict[str, int]  # found in the reference corpus (or, without a lookup,
    #                            inside a verbatim span)
    pii_elsewhere: dict[str, int]  # not found in the corpus: possibly invented
    pii_in_span: dict[str, int] = field(default_factory=dict)  # leaked and inside a span
    near_verbatim_passages: int = 0  # near-verbatim findings (aligned passages)
    #: (n, p)-extraction over discoverable probes with a p: how many, the median p, how many
    #: have a 90% chance of being emitted within ``NP_SAMPLES`` samples, the sampling scheme
    np_probes: int = 0
    np_median_p: float | None = None
    np_likely: int = 0
    np_sampling: str | None = None


#: distinct memorized sequences an extrapolation needs before it is shown as an estimate
MIN_SEQUENCES = 5
#: sample coverage below which the estimated total is kept out of the key figures
MIN_KEY_COVERAGE = 0.5


@dataclass(frozen=True)
class Summary:
    overall: AttackSummary
    attacks: tuple[AttackSummary, ...]
    sequences: tuple[MemorizedSequence, ...]  # longest first
    extrapolation: Extrapolation | None
    #: (generations seen, unique items seen) in the extrapolation's unit (n-grams when the
    #: run's spans keep their token ids, else sequences)
    curve: tuple[tuple[int, int], ...]
    membership: MembershipView | None = None
    #: what verbatim figures count (``tokens`` or ``bytes``, see reports/units.py) and
    #: whether a reference corpus was checked at all (no --index: nothing was)
    unit: str = "tokens"
    corpus_checked: bool = True
    #: repeat prompts vs. baseline figures, one per divergence attack (``divergence`` first)
    divergences: tuple[DivergenceFigures, ...] = ()
    #: (figure, reason) of figures the scan could not compute where it ran (never silent)
    not_computed: tuple[tuple[str, str], ...] = ()
    #: unique memorized ``ngram_length``-grams (the stable unit, see regurgitate.metrics.ngrams);
    #: None for runs whose spans predate token ids
    unique_ngrams: int | None = None
    ngram_length: int = 50
    #: what a remote target learned about its endpoint, as (line, warning) (reports/endpoint)
    endpoint: tuple[tuple[str, bool], ...] = ()
    #: what the attacks stated about how they built their prompts (e.g. the units a
    #: discoverable prefix was cut in), from the run's ``attack_notes`` meta
    attack_notes: tuple[str, ...] = ()

    def extrapolation_too_few(self) -> str | None:
        """Why the extrapolation is not shown as an estimate (fewer than
        :data:`MIN_SEQUENCES` distinct memorized sequences: an estimate from one or two is
        noise), or None when it is."""
        n = len(self.sequences)
        if self.extrapolation is None or n >= MIN_SEQUENCES:
            return None
        return (f"too few to estimate: {n} distinct memorized sequence(s), at least "
                f"{MIN_SEQUENCES} needed")

    @property
    def extrapolation_key_figure(self) -> bool:
        """The estimated total belongs among the key figures: enough sequences, and sample
        coverage of at least :data:`MIN_KEY_COVERAGE` (below, most of it is unseen and the
        figure is mostly noise)."""
        ex = self.extrapolation
        return ex is not None and self.extrapolation_too_few() is None and \
            ex.coverage is not None and ex.coverage >= MIN_KEY_COVERAGE

    @property
    def divergence(self) -> DivergenceFigures | None:
        """The first divergence attack's figures (``divergence`` when the run has it)."""
        return self.divergences[0] if self.divergences else None


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _attack_summary(
    name: str, items: Sequence[Item], by_gen: dict[int, list[Finding]],
    sequences: Sequence[MemorizedSequence],
) -> AttackSummary:
    gen_ids = {it.generation_id for it in items}
    ok = sum(1 for it in items if it.generation.ok)
    known = all(it.generation.tokens_known for it in items if it.generation.ok)
    tokens = sum(it.generation.generated_tokens for it in items) if known else None
    with_verbatim = mem_tokens = spans = longest = 0
    probes = exact = diverged = diverged_chars = near = near_passages = 0
    leaked: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    in_span: Counter[str] = Counter()
    np_ps: list[float] = []
    np_likely = 0
    np_schemes: set[str] = set()
    for it in items:
        fs = by_gen.get(it.generation_id, [])
        verb = [f for f in fs if f.kind == "verbatim"]
        if verb:
            with_verbatim += 1
            spans += len(verb)
            longest = max(longest, *(span_tokens(f) for f in verb))
            mem_tokens += memorized_tokens(verb)
        div = [d for f in fs if (d := f.payload_as(DivergedOutput))]
        if div:
            diverged += 1
            diverged_chars += sum(d.diverged_chars for d in div)
        near_here = sum(1 for f in fs
                        if (nm := f.payload_as(NearVerbatimMatch)) and nm.near_verbatim)
        near += near_here > 0
        near_passages += near_here
        for f in fs:
            if probe := f.payload_as(DiscoverableProbe):
                probes += 1
                exact += probe.exact
                est = probe.np
                if est is not None:
                    np_ps.append(float(est.p))
                    np_likely += est.n90 is not None and est.n90 <= NP_SAMPLES
                    np_schemes.add(est.sampling)
            elif pii := f.payload_as(PIIHit):
                kind = pii.type or "unknown"
                (leaked if pii.leaked else elsewhere)[kind] += 1
                if pii.leaked and pii.in_verbatim:
                    in_span[kind] += 1
    unique = sum(1 for s in sequences if gen_ids.intersection(s.generation_ids))
    return AttackSummary(
        attack=name, generations=len(items), ok=ok, failed=len(items) - ok,
        generated_tokens=tokens, with_verbatim=with_verbatim,
        verbatim_rate=_rate(with_verbatim, ok), memorized_tokens=mem_tokens,
        memorized_token_rate=_rate(mem_tokens, tokens or 0), verbatim_spans=spans,
        unique_sequences=unique, longest_span_tokens=longest, discoverable_probes=probes,
        discoverable_exact=exact, discoverable_exact_rate=_rate(exact, probes),
        diverged_generations=diverged, divergence_rate=_rate(diverged, ok),
        diverged_chars=diverged_chars, near_verbatim=near,
        pii_leaked=dict(sorted(leaked.items())), pii_elsewhere=dict(sorted(elsewhere.items())),
        pii_in_span=dict(sorted(in_span.items())), near_verbatim_passages=near_passages,
        np_probes=len(np_ps), np_median_p=float(median(np_ps)) if np_ps else None,
        np_likely=np_likely, np_sampling=", ".join(sorted(np_schemes)) or None,
    )


def compute_summary(run: RunData) -> Summary:
    """All figures of ``run``. Attacks are listed in spec order, then any others seen."""
    items = sorted(run.items, key=lambda it: it.generation_id)
    by_gen: dict[int, list[Finding]] = defaultdict(list)
    for f in run.findings:
        by_gen[f.generation_id].append(f)
    texts = {it.generation_id: it.generation.text for it in items}
    sequences = unique_memorized(run.findings, texts)
    names = list(run.spec.attacks)
    names += sorted({it.prompt.attack for it in items} - set(names))
    unit = index_unit(run.index_info)
    per_attack = tuple(
        in_unit(_attack_summary(n, group, by_gen, sequences), group, unit)
        for n in names for group in ([it for it in items if it.prompt.attack == n],)
    )
    ok_order = [it.generation_id for it in items if it.generation.ok]
    k = int(run.spec.settings.get("min_tokens", 50))
    grams = memorized_ngrams(run.findings, k)
    curve: tuple[tuple[int, int], ...]
    extrapolation: Extrapolation | None = None
    if grams is not None:
        curve = tuple(ngram_discovery_curve(ok_order, grams))
        incidence = ngram_incidence(grams.get(g, set()) for g in ok_order)
        if ok_order:
            extrapolation = extrapolate_unique(list(incidence.values()), len(ok_order),
                                               unit=f"{k}-grams", projection=SHOWN)
    else:
        curve = tuple(discovery_curve(ok_order, sequences))
        if ok_order:
            extrapolation = extrapolate_unique([s.generations for s in sequences],
                                               len(ok_order))
    return Summary(
        overall=in_unit(_attack_summary(OVERALL, items, by_gen, sequences), items, unit),
        attacks=per_attack, sequences=tuple(sequences), extrapolation=extrapolation,
        curve=curve, membership=membership_view(run), unit=unit,
        corpus_checked=run.spec.index is not None or bool(run.index_info),
        divergences=_divergences(run), not_computed=_not_computed(run),
        unique_ngrams=len(set().union(*grams.values())) if grams is not None else None,
        ngram_length=k,
        endpoint=tuple(endpoint_lines(run.extra.get("endpoint"))),
        attack_notes=tuple(str(n) for n in run.extra.get("attack_notes") or ()
                           if isinstance(n, str)),
    )


def _not_computed(run: RunData) -> tuple[tuple[str, str], ...]:
    raw = run.extra.get("not_computed") or []
    out = []
    for rec in raw if isinstance(raw, list) else []:
        if isinstance(rec, dict) and rec.get("figure"):
            where = f" (executor {rec['executor']})" if rec.get("executor") else ""
            out.append((str(rec["figure"]), f"{rec.get('reason', '')}{where}"))
    out.extend(endpoint_not_computed(run.extra.get("endpoint")))
    return tuple(dict.fromkeys(out))


def _divergences(run: RunData) -> tuple[DivergenceFigures, ...]:
    from regurgitate.reports.text_divergence import all_divergence_figures  # imports this module

    return all_divergence_figures(run, int(run.spec.settings.get("min_tokens", 50)))


def summary_to_dict(summary: Summary) -> dict:
    """JSON-ready dict (projection keys become strings; the curve is left out)."""
    out = asdict(summary)
    out.pop("curve")
    out.pop("divergences")
    if out["extrapolation"] is not None:
        for key in ("projections", "lower_projections"):
            out["extrapolation"][key] = {
                str(k): v for k, v in out["extrapolation"][key].items()
            }
    out["sequences"] = [dict(s, generation_ids=list(s["generation_ids"]),
                             documents=list(s["documents"]), sources=list(s["sources"]))
                        for s in out["sequences"]]
    return out
