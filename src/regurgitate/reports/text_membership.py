"""How well membership signals point at memorized output, and the top-ranked candidates.

The verbatim detector gives ground truth for every generation (does it contain a span found
in the corpus?), so each signal's ROC-AUC and TPR at 1% FPR *for finding memorized
generations* can be measured on the run itself; sample-and-rank's ranking is then judged by
its precision among the top-ranked generations. Beside every AUC sits the blind baseline's
(:mod:`regurgitate.metrics.membership_evidence.blind`): a classifier of the generation texts alone,
on the same memorized/other split; a signal it comes within reach of gets a warning.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from regurgitate.errors import ConfigError
from regurgitate.findings import MembershipSignals, VerbatimSpan
from regurgitate.metrics.membership_signals import MEMBER_IF_HIGHER, oriented
from regurgitate.metrics.roc import roc_auc, tpr_at_fpr
from regurgitate.reports.text_data import RunData

#: generations the blind baseline is trained and tested on at most (a seeded sample beyond)
BLIND_MAX_TEXTS = 2000
#: an AUC needs at least this many memorized and this many other generations; below, it is
#: "too few to estimate" (one memorized output of 20 gives an AUC of 0 or 1 by chance)
MIN_PER_CLASS = 5


def auc_interval(auc: float, pos: int, neg: int, z: float = 1.959964) -> tuple[float, float]:
    """Hanley & McNeil's (1982) 95% interval of an AUC from ``pos`` positives and ``neg``
    negatives."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (pos - 1) * (q1 - auc * auc) + (neg - 1) * (q2 - auc * auc)) \
        / (pos * neg)
    half = z * max(var, 0.0) ** 0.5
    return max(0.0, auc - half), min(1.0, auc + half)


@dataclass(frozen=True)
class SignalQuality:
    signal: str
    auc: float
    tpr_at_1pct_fpr: float
    generations: int
    memorized: int

    @property
    def enough(self) -> bool:
        """Enough memorized and other generations for the AUC to mean something."""
        return min(self.memorized, self.generations - self.memorized) >= MIN_PER_CLASS

    @property
    def ci(self) -> tuple[float, float] | None:
        if not self.enough:
            return None
        return auc_interval(self.auc, self.memorized, self.generations - self.memorized)

    def auc_text(self) -> str:
        """'0.912 (0.85-0.97)', or 'too few (1 memorized)' below :data:`MIN_PER_CLASS`."""
        if not self.enough:
            small = min(self.memorized, self.generations - self.memorized)
            what = "memorized" if self.memorized <= self.generations - self.memorized \
                else "other"
            return f"too few ({small} {what})"
        lo, hi = self.ci or (0.0, 1.0)
        return f"{self.auc:.3f} ({lo:.2f}-{hi:.2f})"


@dataclass(frozen=True)
class Candidate:
    generation_id: int
    attack: str
    value: float
    memorized: bool
    preview: str


@dataclass(frozen=True)
class MembershipView:
    signals: tuple[SignalQuality, ...]
    rank_by: str
    candidates: tuple[Candidate, ...]  # best first
    precision_at_top: float | None
    #: cross-validated AUC of a model-free n-gram classifier on the same split (None when
    #: there are too few memorized or other generations)
    blind_auc: float | None = None
    warnings: tuple[str, ...] = ()


def _blind_auc(texts: dict[int, str], memorized: set[int]) -> float | None:
    from regurgitate.metrics.membership_evidence.blind import blind_baseline

    ids = sorted(texts)
    if len(ids) > BLIND_MAX_TEXTS:
        import numpy as np

        pick = np.random.default_rng(0).choice(len(ids), BLIND_MAX_TEXTS, replace=False)
        ids = [ids[i] for i in sorted(pick)]
    pos = [texts[g] for g in ids if g in memorized]
    neg = [texts[g] for g in ids if g not in memorized]
    try:
        return blind_baseline(pos, neg).auc
    except ConfigError:  # fewer than 5 on a side
        return None


def membership_view(run: RunData, *, top: int = 10) -> MembershipView | None:
    """None when no generation has membership signals."""
    values: dict[int, dict[str, float]] = {}
    memorized: set[int] = set()
    for f in run.findings:
        if signals := f.payload_as(MembershipSignals):
            values[f.generation_id] = {k: v for k, v in signals.signals().items()
                                       if k in MEMBER_IF_HIGHER}
        elif f.payload_as(VerbatimSpan):
            memorized.add(f.generation_id)
    if not values:
        return None
    by_signal: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for gid, sig in values.items():
        for name, v in sig.items():
            by_signal[name].append((oriented(name, v), int(gid in memorized)))
    quality = []
    for name in MEMBER_IF_HIGHER:
        pairs = by_signal.get(name, [])
        labels = [y for _, y in pairs]
        if not pairs or sum(labels) in (0, len(labels)):
            continue  # AUC needs both memorized and other generations
        scores = [s for s, _ in pairs]
        quality.append(SignalQuality(name, roc_auc(scores, labels),
                                     tpr_at_fpr(scores, labels, fpr=0.01), len(pairs),
                                     sum(labels)))
    items = {it.generation_id: it for it in run.items}
    ranked_attack = [it for it in run.items if it.prompt.meta.get("rank_by")
                     and it.generation_id in values]
    pool = ranked_attack or [items[g] for g in values if g in items]
    rank_by = str(pool[0].prompt.meta.get("rank_by", "zlib")) if pool else "zlib"
    if rank_by not in MEMBER_IF_HIGHER:
        rank_by = "zlib"
    scored = [(oriented(rank_by, values[it.generation_id][rank_by]), it) for it in pool
              if rank_by in values[it.generation_id]]
    scored.sort(key=lambda p: -p[0])
    best = tuple(
        Candidate(it.generation_id, it.prompt.attack, values[it.generation_id][rank_by],
                  it.generation_id in memorized, " ".join(it.generation.text.split())[:120])
        for _, it in scored[:top]
    )
    precision = sum(c.memorized for c in best) / len(best) if best else None
    blind = _blind_auc({g: items[g].generation.text for g in values if g in items},
                       memorized & set(values)) if quality else None
    warnings: tuple[str, ...] = ()
    if blind is not None:
        from regurgitate.metrics.membership_evidence.blind import shift_warning

        warnings = tuple(w for q in quality
                         if (w := shift_warning(q.signal, q.auc, blind)) is not None)
    return MembershipView(tuple(quality), rank_by, best, precision, blind, warnings)
