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
    effect size, the sets' sizes and the blind baseline on the same sets."""

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

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    def verdict(self) -> str:
        """One plain sentence."""
        base = (f"suspect set ({self.suspect} {self.unit}) against control ({self.control}): "
                f"median p = {self.p_value:.3g} over {len(self.splits)} splits, "
                f"effect size d = {self.effect_size:.2f}")
        if self.significant:
            s = f"The model is more familiar with the suspect set than with the controls ({base})."
        else:
            s = f"No evidence that the model was trained on the suspect set ({base})."
        if self.blind_baseline_auc is not None and self.blind_baseline_auc >= 0.6:
            s += (f" Caution: a model-free classifier tells the sets apart (AUC "
                  f"{self.blind_baseline_auc:.2f}), so the controls may not be of the same kind.")
        return s

    def to_json(self) -> dict[str, object]:
        return {
            "p_value": self.p_value, "effect_size": self.effect_size,
            "suspect": self.suspect, "control": self.control, "unit": self.unit,
            "alpha": self.alpha,
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


def dataset_inference(suspect: np.ndarray, control: np.ndarray, *,
                      features: Sequence[str] | None = None,
                      suspect_groups: Sequence[str] | None = None,
                      control_groups: Sequence[str] | None = None,
                      splits: int = DEFAULT_SPLITS, seed: int = 0, alpha: float = 0.05,
                      blind_baseline_auc: float | None = None,
                      nonnegative: bool = True, unit: str = "texts") -> DatasetInferenceResult:
    """The test over feature matrices (rows: texts or images; columns: signals oriented
    higher = member). ``*_groups`` name each row's work (default: every row its own work)."""
    s = np.asarray(suspect, dtype=np.float64)
    c = np.asarray(control, dtype=np.float64)
    if s.ndim != 2 or c.ndim != 2 or s.shape[1] != c.shape[1] or s.shape[1] == 0:
        raise ConfigError(f"feature matrices must share their columns, got {s.shape} and "
                          f"{c.shape}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
        raise ConfigError("features must be finite")
    sg = list(suspect_groups) if suspect_groups is not None else [str(i) for i in range(len(s))]
    cg = list(control_groups) if control_groups is not None else [str(i) for i in range(len(c))]
    if len(sg) != len(s) or len(cg) != len(c):
        raise ConfigError("one group name per row")
    if min(len(set(sg)), len(set(cg))) < 2 * MIN_PER_HALF:
        raise ConfigError(f"dataset inference needs at least {2 * MIN_PER_HALF} works in "
                          f"the suspect and in the control set",
                          hint="cut the works into passages, or add works")
    if splits < 1:
        raise ConfigError("splits must be at least 1")
    rng = np.random.default_rng(seed)
    results = tuple(one_split(s, c, sg, cg, rng, nonnegative=nonnegative)
                    for _ in range(splits))
    names = tuple(features) if features is not None else tuple(
        f"f{i}" for i in range(s.shape[1]))
    return DatasetInferenceResult(
        p_value=float(np.median([r.p_value for r in results])),
        effect_size=float(np.median([r.effect_size for r in results])),
        suspect=len(s), control=len(c), features=names, splits=results, alpha=alpha,
        blind_baseline_auc=blind_baseline_auc, unit=unit)


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
