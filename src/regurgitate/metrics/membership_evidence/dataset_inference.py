"""Dataset inference: is a suspect set of texts (or images) more member-like than a control set
the model cannot have seen?  A set-level test with a p-value (Maini et al. 2024, "LLM Dataset
Inference"; Dubinski et al. 2024, CDI, for diffusion models).

Every membership signal is a feature, oriented so that higher means "more member-like". One
split: each set's works are halved at random; on the first halves the features are
standardized and a linear combination with non-negative weights is fitted (logistic
regression, suspect = 1, control = 0); on the second halves the combined scores of suspect
and control are compared by a one-sided Welch t-test (suspect greater). The result is the
median p-value (and effect size, Cohen's d on the test half) over ``splits`` random splits.
Passages of one work stay on the same side of a split (``groups``), since they are alike, and
the t-test compares works (the mean score of each work's passages), not passages: passages of
one work are correlated, and counting them as independent makes the test too eager (on the
reference, 2 passages per work gave a single-split false-positive rate of 0.095 at alpha 0.05).

The non-negative weights make the one-sided test mean what it says: the suspect set scores
higher *by the signals' own orientation*. With free weights (Maini et al.'s linear model) a
control set that differs from the suspect set in any direction gives a small p-value, which
is why their method insists on i.i.d. controls; ``nonnegative=False`` restores that.

Calibration: with suspect and control drawn from one non-member pool, the share of trials
with p < alpha is the false-positive rate (:func:`null_false_positive_rate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.metrics.membership_evidence.blind import fit_logistic

DEFAULT_SPLITS = 20
MIN_PER_HALF = 2
#: label shuffles of the calibration at the sizes used, and the splits of each
NULL_TRIALS = 40
NULL_SPLITS = 5
#: inconclusive when the shuffled labels give p < alpha more often than this many times alpha
NULL_TOLERANCE = 2.0
#: works each set needs at least (two per half of a split)
MIN_WORKS = 2 * MIN_PER_HALF
#: fitted weights all at or below this: the fit found no member-like direction
NO_DIRECTION = 1e-9


@dataclass(frozen=True)
class SplitResult:
    p_value: float
    effect_size: float
    t_statistic: float
    weights: tuple[float, ...]


@dataclass(frozen=True)
class DatasetInferenceResult:
    """What a user can take to a reviewer: the median p-value over random splits, the
    effect size, the sets' sizes and the blind baseline on the same sets.

    With model-free features (:mod:`.model_free`), ``p_value`` and ``effect_size`` are those of
    the membership features once what the model-free features explain is removed (the
    headline), ``raw_p_value`` that of the features as measured, and ``model_free_p_value`` the
    same test on the model-free features alone (free weights: a difference in any direction):
    below ``alpha``, the sets differ in kind. ``null_*``: how often the test says p < alpha
    when the works' labels are shuffled at the sizes used (the false-positive rate at these
    sizes). The result is *conclusive* unless the sets differ in kind and the adjusted test
    finds nothing beyond it, or the test is not calibrated at these sizes; ``significant``
    needs a conclusive result."""

    p_value: float
    effect_size: float
    suspect: int
    control: int
    features: tuple[str, ...]
    splits: tuple[SplitResult, ...]
    alpha: float = 0.05
    blind_baseline_auc: float | None = None
    signal_aucs: dict[str, float] = field(default_factory=dict)
    unit: str = "texts"
    raw_p_value: float | None = None
    model_free_p_value: float | None = None
    null_trials: int = 0
    null_false_positives: int = 0
    suspect_works: int = 0
    control_works: int = 0
    #: controls (works, and their passages) that went to ReCaLL's prefix, not to the test
    prefix_works: int = 0
    prefix_controls: int = 0

    @property
    def differs_in_kind(self) -> bool:
        return self.model_free_p_value is not None and self.model_free_p_value < self.alpha

    @property
    def null_false_positive_rate(self) -> float | None:
        return self.null_false_positives / self.null_trials if self.null_trials else None

    def reasons(self) -> list[str]:
        """Why the result is inconclusive (empty when it is conclusive)."""
        out = []
        if self.differs_in_kind and self.p_value >= self.alpha:
            blind = (f"; a model-free n-gram classifier: AUC {self.blind_baseline_auc:.2f}"
                     if self.blind_baseline_auc is not None else "")
            raw = (f", against {self.raw_p_value:.3g} before" if self.raw_p_value is not None
                   else "")
            out.append(f"the sets differ in kind: features of the texts alone, without the "
                       f"model, separate them (p = {self.model_free_p_value:.3g}{blind}), "
                       f"and once what those features explain is removed the model's signals "
                       f"no longer do (p = {self.p_value:.3g}{raw}); use controls of the "
                       f"same kind as the suspect works")
        rate = self.null_false_positive_rate
        if rate is not None and rate > NULL_TOLERANCE * self.alpha:
            out.append(f"at these set sizes the test is not calibrated: "
                       f"{self.null_false_positives} of {self.null_trials} shuffles of the "
                       f"works' labels gave p < {self.alpha:g}; add works to both sets")
        return out

    @property
    def conclusive(self) -> bool:
        return not self.reasons()

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha and self.conclusive

    def sizes(self) -> str:
        """The sets' sizes, with the controls that went to ReCaLL's prefix."""
        def works(n: int) -> str:
            return f", {n} works" if n else ""

        prefix = (f"; {self.prefix_controls} more ({self.prefix_works} works) went to "
                  f"ReCaLL's prefix" if self.prefix_works else "")
        return (f"suspect set {self.suspect} {self.unit}{works(self.suspect_works)}, control "
                f"{self.control}{works(self.control_works)}{prefix}")

    def verdict(self) -> str:
        """One plain sentence."""
        adjusted = " after removing what model-free features explain" \
            if self.model_free_p_value is not None else ""
        base = (f"{self.sizes()}: median p = {self.p_value:.3g}{adjusted} over "
                f"{len(self.splits)} splits, effect size d = {self.effect_size:.2f}")
        rate = self.null_false_positive_rate
        if rate is not None:
            base += (f"; false-positive rate at these sizes {self.null_false_positives}/"
                     f"{self.null_trials} label shuffles")
        reasons = self.reasons()
        if reasons:
            return f"Inconclusive: {'; '.join(reasons)} ({base})."
        if self.significant:
            s = f"The model is more familiar with the suspect set than with the controls ({base})."
            if self.differs_in_kind:
                s += (f" The sets differ in kind (model-free test p = "
                      f"{self.model_free_p_value:.3g}), but the model's signals separate them "
                      f"beyond what that explains.")
            return s
        s = f"No evidence that the model was trained on the suspect set ({base})."
        if self.blind_baseline_auc is not None and self.blind_baseline_auc >= 0.6:
            s += (f" Caution: a model-free classifier tells the sets apart (AUC "
                  f"{self.blind_baseline_auc:.2f}), so the controls may not be of the same kind.")
        return s

    def to_json(self) -> dict[str, object]:
        return {
            "p_value": self.p_value, "effect_size": self.effect_size,
            "raw_p_value": self.raw_p_value, "model_free_p_value": self.model_free_p_value,
            "suspect": self.suspect, "control": self.control, "unit": self.unit,
            "suspect_works": self.suspect_works, "control_works": self.control_works,
            "prefix_works": self.prefix_works, "prefix_controls": self.prefix_controls,
            "alpha": self.alpha, "conclusive": self.conclusive,
            "differs_in_kind": self.differs_in_kind, "inconclusive_because": self.reasons(),
            "null_trials": self.null_trials,
            "null_false_positive_rate": self.null_false_positive_rate,
            "significant": self.significant, "features": list(self.features),
            "blind_baseline_auc": self.blind_baseline_auc, "signal_aucs": self.signal_aucs,
            "splits": [{"p_value": s.p_value, "effect_size": s.effect_size,
                        "t": s.t_statistic} for s in self.splits],
            "verdict": self.verdict(),
        }


def welch_one_sided(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(t, p) of Welch's t-test that mean(a) > mean(b)."""
    from scipy import stats

    if a.size < 2 or b.size < 2:
        raise ConfigError("the t-test needs at least two values on each side")
    if a.var() == 0 and b.var() == 0:  # no spread: the test is undefined unless means differ
        return (math.inf, 0.0) if a.mean() > b.mean() else (0.0, 1.0)
    res = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    t, p = float(res.statistic), float(res.pvalue)
    if not np.isfinite(p):  # both sides constant
        return 0.0, 1.0
    return t, p


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    va, vb = a.var(ddof=1), b.var(ddof=1)
    pooled = np.sqrt(((a.size - 1) * va + (b.size - 1) * vb) / (a.size + b.size - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def _halves(groups: Sequence[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A boolean mask per half; the works (groups) are split in two at random."""
    names = sorted(set(groups))
    if len(names) < 2:
        raise ConfigError("each set needs at least two works to be split in halves")
    perm = rng.permutation(len(names))
    first = {names[j] for j in perm[:len(names) // 2]}
    mask = np.array([g in first for g in groups])
    return mask, ~mask


def _work_means(scores: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """One score per work: the mean over its passages (they are not independent, so the
    t-test counts works, not passages)."""
    names, inverse = np.unique(np.asarray(groups), return_inverse=True)
    if names.size == len(groups):
        return scores
    return np.bincount(inverse, weights=scores) / np.bincount(inverse)


def one_split(suspect: np.ndarray, control: np.ndarray, s_groups: Sequence[str],
              c_groups: Sequence[str], rng: np.random.Generator,
              l2: float = 1.0, nonnegative: bool = True) -> SplitResult:
    """Fit on one half of each set, test on the other."""
    s_fit, s_test = _halves(s_groups, rng)
    c_fit, c_test = _halves(c_groups, rng)
    x_fit = np.vstack([suspect[s_fit], control[c_fit]])
    y_fit = np.r_[np.ones(int(s_fit.sum())), np.zeros(int(c_fit.sum()))]
    mu = x_fit.mean(axis=0)
    sd = x_fit.std(axis=0)
    sd[sd == 0] = 1.0
    w, b = fit_logistic((x_fit - mu) / sd, y_fit, l2=l2, nonnegative=nonnegative)
    if nonnegative and float(np.max(w, initial=0.0)) <= NO_DIRECTION:
        # no member-like combination fits the first halves: nothing to test, no evidence
        return SplitResult(1.0, 0.0, 0.0, tuple(float(v) for v in w))
    score_s = _work_means(((suspect[s_test] - mu) / sd) @ w + b,
                          [g for g, m in zip(s_groups, s_test, strict=True) if m])
    score_c = _work_means(((control[c_test] - mu) / sd) @ w + b,
                          [g for g, m in zip(c_groups, c_test, strict=True) if m])
    t, p = welch_one_sided(score_s, score_c)
    return SplitResult(p, cohens_d(score_s, score_c), t, tuple(float(v) for v in w))


def _check_sets(s: np.ndarray, c: np.ndarray, suspect_groups: Sequence[str] | None,
                control_groups: Sequence[str] | None) -> tuple[list[str], list[str]]:
    if s.ndim != 2 or c.ndim != 2 or s.shape[1] != c.shape[1] or s.shape[1] == 0:
        raise ConfigError(f"feature matrices must share their columns, got {s.shape} and "
                          f"{c.shape}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
        raise ConfigError("features must be finite")
    sg = list(suspect_groups) if suspect_groups is not None else [str(i) for i in range(len(s))]
    cg = list(control_groups) if control_groups is not None else [str(i) for i in range(len(c))]
    if len(sg) != len(s) or len(cg) != len(c):
        raise ConfigError("one group name per row")
    if min(len(set(sg)), len(set(cg))) < MIN_WORKS:
        raise ConfigError(f"dataset inference needs at least {MIN_WORKS} works in the suspect "
                          f"and in the control set (got {len(set(sg))} and {len(set(cg))})",
                          hint="cut the works into passages, or add works")
    return sg, cg


def _median_test(s: np.ndarray, c: np.ndarray, sg: Sequence[str], cg: Sequence[str],
                 splits: int, rng: np.random.Generator, nonnegative: bool
                 ) -> tuple[SplitResult, ...]:
    return tuple(one_split(s, c, sg, cg, rng, nonnegative=nonnegative) for _ in range(splits))


def _median_p(results: Sequence[SplitResult]) -> float:
    return float(np.median([r.p_value for r in results]))


def shuffled_false_positives(x: np.ndarray, groups: Sequence[str], suspect_works: int, *,
                             trials: int = NULL_TRIALS, splits: int = NULL_SPLITS,
                             alpha: float = 0.05, seed: int = 0) -> int:
    """How many of ``trials`` shuffles of the works' labels (``suspect_works`` works called
    suspect, the rest control: the sizes used) give a median p below ``alpha``."""
    names = sorted(set(groups))
    rng = np.random.default_rng(seed + 1)
    hits = 0
    for _ in range(trials):
        perm = rng.permutation(len(names))
        sus = {names[j] for j in perm[:suspect_works]}
        mask = np.array([g in sus for g in groups])
        res = _median_test(x[mask], x[~mask], [g for g, m in zip(groups, mask, strict=True) if m],
                           [g for g, m in zip(groups, mask, strict=True) if not m], splits, rng,
                           nonnegative=True)
        hits += _median_p(res) < alpha
    return hits


def dataset_inference(suspect: np.ndarray, control: np.ndarray, *,
                      features: Sequence[str] | None = None,
                      suspect_groups: Sequence[str] | None = None,
                      control_groups: Sequence[str] | None = None,
                      splits: int = DEFAULT_SPLITS, seed: int = 0, alpha: float = 0.05,
                      blind_baseline_auc: float | None = None,
                      nonnegative: bool = True, unit: str = "texts",
                      model_free: tuple[np.ndarray, np.ndarray] | None = None,
                      null_trials: int = 0) -> DatasetInferenceResult:
    """The test over feature matrices (rows: texts or images; columns: signals oriented
    higher = member). ``*_groups`` name each row's work (default: every row its own work).

    ``model_free``: the same rows' features computed without the model (suspect, control);
    the headline test then runs on the membership features less what these explain
    (:func:`.model_free.residualize`), and the same test on them alone says whether the sets
    differ in kind. ``null_trials``: shuffles of the works' labels at the sizes used, to
    measure the false-positive rate there (0: not measured)."""
    from regurgitate.metrics.membership_evidence.model_free import residualize

    s = np.asarray(suspect, dtype=np.float64)
    c = np.asarray(control, dtype=np.float64)
    sg, cg = _check_sets(s, c, suspect_groups, control_groups)
    if splits < 1:
        raise ConfigError("splits must be at least 1")
    rng = np.random.default_rng(seed)
    raw_p = model_free_p = None
    if model_free is not None:
        zs, zc = (np.asarray(m, dtype=np.float64) for m in model_free)
        _check_sets(zs, zc, sg, cg)
        raw_p = _median_p(_median_test(s, c, sg, cg, splits, rng, nonnegative))
        model_free_p = _median_p(_median_test(zs, zc, sg, cg, splits, rng, nonnegative=False))
        adjusted = residualize(np.r_[s, c], np.r_[zs, zc])
        s, c = adjusted[:len(s)], adjusted[len(s):]
    results = _median_test(s, c, sg, cg, splits, rng, nonnegative)
    false_positives = 0
    if null_trials > 0:
        false_positives = shuffled_false_positives(
            np.r_[s, c], [*(f"s:{g}" for g in sg), *(f"c:{g}" for g in cg)], len(set(sg)),
            trials=null_trials, alpha=alpha, seed=seed)
    names = tuple(features) if features is not None else tuple(
        f"f{i}" for i in range(s.shape[1]))
    return DatasetInferenceResult(
        p_value=_median_p(results),
        effect_size=float(np.median([r.effect_size for r in results])),
        suspect=len(s), control=len(c), features=names, splits=results, alpha=alpha,
        blind_baseline_auc=blind_baseline_auc, unit=unit, raw_p_value=raw_p,
        model_free_p_value=model_free_p, null_trials=null_trials,
        null_false_positives=false_positives, suspect_works=len(set(sg)),
        control_works=len(set(cg)))


@dataclass(frozen=True)
class NullCalibration:
    trials: int
    alpha: float
    false_positive_rate: float
    p_values: np.ndarray


def null_false_positive_rate(pool: np.ndarray, groups: Sequence[str] | None = None, *,
                             trials: int = 100, splits: int = DEFAULT_SPLITS,
                             alpha: float = 0.05, seed: int = 0) -> NullCalibration:
    """Split one non-member pool's works at random into a suspect and a control set,
    ``trials`` times, and count how often the test says p < ``alpha``."""
    x = np.asarray(pool, dtype=np.float64)
    g = list(groups) if groups is not None else [str(i) for i in range(len(x))]
    names = sorted(set(g))
    rng = np.random.default_rng(seed)
    ps = np.empty(trials)
    for t in range(trials):
        perm = rng.permutation(len(names))
        sus = {names[j] for j in perm[:len(names) // 2]}
        mask = np.array([n in sus for n in g])
        res = dataset_inference(x[mask], x[~mask],
                                suspect_groups=[n for n, m in zip(g, mask, strict=True) if m],
                                control_groups=[n for n, m in zip(g, mask, strict=True)
                                                if not m],
                                splits=splits, seed=int(rng.integers(2**31)), alpha=alpha)
        ps[t] = res.p_value
    return NullCalibration(trials, alpha, float(np.mean(ps < alpha)), ps)
