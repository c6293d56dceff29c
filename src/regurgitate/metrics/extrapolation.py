"""How much memorized text is there beyond what a run happened to see?

Input: frequency counts of the unique memorized sequences seen (``freqs[r]`` = how many
sequences were seen exactly ``r`` times) and the number of samples (generations) drawn.
Two readings of "seen r times" both fit the formulas below:

* abundance: r = number of times the sequence was extracted, ``sample_count`` = total number of
  extractions (then ``sample_count == sum(r * f_r)``);
* incidence: r = number of generations that contained it (``UniqueSequence.generations``),
  ``sample_count`` = number of generations drawn (Chao2 / Bernoulli-product model).

Estimators:

* Good-Turing sample coverage ``1 - f1 / N`` (N = ``sum(r * f_r)``): the estimated probability
  that the next extracted sequence is one already seen.
* Chao1, bias-corrected: ``S_obs + (n-1)/n * f1 (f1-1) / (2 (f2+1))`` with its variance and a
  95% log-normal confidence interval (Chao 1987). It is a *lower bound* of the total: with
  many rare sequences never seen, the truth can be far above it.
* Good-Toulmin ``U(t) = -sum_r (-t)^r f_r``: expected number of new sequences in ``t * n``
  further samples. Unbiased but it explodes for t > 1, so :func:`extrapolate` uses the smoothed
  Good-Toulmin estimator of Orlitsky, Suresh & Wu (PNAS 2016) with Poisson smoothing,
  ``U_L(t) = -sum_r (-t)^r P(L >= r) f_r``, ``L ~ Poisson(1/(2t) ln(n (t+1)^2 / (t-1)))``,
  whose error stays small up to t ~ ln n and grows past that.
* Chao1-anchored extrapolation (Shen, Chao & Lin 2003; Chao et al. 2014):
  ``S(n + m) = S_obs + f0 (1 - (1 - f1 / (n f0 + f1))^m)`` with ``f0 = Chao1 - S_obs``, the
  expected number of sequences seen after ``m`` further samples under the same model that
  gives Chao1. It rises towards Chao1 and never above it, so a report can draw both on one
  chart without contradiction (:attr:`Estimate.chao_total_at`). Smoothed Good-Toulmin is a
  different model: its projection is not bounded by Chao1 (which is a lower bound) and can
  cross it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from regurgitate.errors import ConfigError

Freqs = Mapping[int, int]


def frequency_counts(counts: Iterable[int]) -> dict[int, int]:
    """``{r: number of sequences seen r times}`` from one count per sequence (zeros ignored)."""
    out: Counter[int] = Counter(int(c) for c in counts if int(c) > 0)
    return dict(sorted(out.items()))


def _check(freqs: Freqs) -> dict[int, int]:
    clean: dict[int, int] = {}
    for r, f in freqs.items():
        if int(r) < 1 or int(f) < 0:
            raise ConfigError(f"bad frequency count {r}: {f} (need r >= 1, count >= 0)")
        if int(f):
            clean[int(r)] = clean.get(int(r), 0) + int(f)
    return clean


def observations(freqs: Freqs) -> int:
    return sum(r * f for r, f in _check(freqs).items())


def good_turing_coverage(freqs: Freqs) -> float:
    """Estimated probability mass of the sequences already seen, ``1 - f1 / N``."""
    fr = _check(freqs)
    n = sum(r * f for r, f in fr.items())
    return 1.0 if n == 0 else 1.0 - fr.get(1, 0) / n


def chao1(freqs: Freqs, sample_count: int | None = None) -> tuple[float, float]:
    """Bias-corrected Chao1 estimate of the total number of sequences and its variance.

    ``sample_count`` is n in the (n-1)/n factor (default: the number of observations).
    """
    fr = _check(freqs)
    s_obs = sum(fr.values())
    n = sample_count if sample_count is not None else sum(r * f for r, f in fr.items())
    if n <= 0:
        return float(s_obs), 0.0
    a = (n - 1) / n
    f1, f2 = fr.get(1, 0), fr.get(2, 0)
    est = s_obs + a * f1 * (f1 - 1) / (2 * (f2 + 1))
    var = (a * f1 * (f1 - 1) / (2 * (f2 + 1))
           + a**2 * f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2)
           + a**2 * f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4))
    return float(est), float(max(var, 0.0))


def chao1_interval(freqs: Freqs, sample_count: int | None = None,
                   z: float = 1.96) -> tuple[float, float]:
    """Log-normal confidence interval of Chao1 (never below the number observed)."""
    fr = _check(freqs)
    s_obs = sum(fr.values())
    est, var = chao1(fr, sample_count)
    t = est - s_obs
    if t <= 0 or var <= 0:
        return float(s_obs), float(est)
    k = math.exp(z * math.sqrt(math.log(1 + var / t**2)))
    return s_obs + t / k, s_obs + t * k


def good_toulmin(freqs: Freqs, t: float) -> float:
    """Plain Good-Toulmin: expected new sequences in ``t * n`` further samples."""
    if t < 0:
        raise ConfigError(f"t must be >= 0, got {t}")
    return float(-sum(((-t) ** r) * f for r, f in _check(freqs).items()))


def _poisson_tail(lam: float, r: int) -> float:
    """P(L >= r) for L ~ Poisson(lam)."""
    if r <= 0:
        return 1.0
    term, cdf = math.exp(-lam), 0.0
    for i in range(r):
        if i:
            term *= lam / i
        cdf += term
    return max(0.0, 1.0 - cdf)


def smoothed_good_toulmin(freqs: Freqs, sample_count: int, t: float) -> float:
    """Orlitsky-Suresh-Wu smoothed Good-Toulmin (Poisson smoothing); plain GT for t <= 1."""
    if sample_count < 1:
        raise ConfigError(f"sample_count must be >= 1, got {sample_count}")
    if t <= 1:
        return good_toulmin(freqs, t)
    lam = math.log(sample_count * (t + 1) ** 2 / (t - 1)) / (2 * t)
    return float(-sum(((-t) ** r) * _poisson_tail(lam, r) * f
                      for r, f in _check(freqs).items()))


def rarefaction_curve(observations_in_order: Sequence[Hashable | Iterable[Hashable]]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(samples so far, unique sequences so far) after each sample, in the order drawn.

    An element is one sample: a single sequence key, or a collection of the keys found in that
    sample (strings and bytes count as single keys).
    """
    seen: set[Hashable] = set()
    unique = np.zeros(len(observations_in_order), dtype=np.int64)
    for i, obs in enumerate(observations_in_order):
        if isinstance(obs, str | bytes) or not isinstance(obs, Iterable):
            seen.add(obs)
        else:
            seen.update(obs)
        unique[i] = len(seen)
    return np.arange(1, len(unique) + 1, dtype=np.int64), unique


@dataclass(frozen=True)
class Estimate:
    """What the frequency counts say about the memorized sequences not yet seen.

    observed: unique sequences seen. samples: samples drawn (``sample_count``).
    observations: total sightings, ``sum(r * f_r)``. singletons / doubletons: f1, f2.
    coverage: Good-Turing sample coverage (0..1). chao1, chao1_sd, chao1_ci: bias-corrected
    Chao1 total, its standard deviation and 95% log-normal interval (a lower-bound estimator).
    new_at / total_at: for each factor t, the expected number of new sequences in ``t * samples``
    further samples (smoothed Good-Toulmin) and ``observed + new``.
    chao_total_at: for each factor t, the expected number of unique sequences seen after
    ``t * samples`` further samples by the Chao1-anchored extrapolation (at most ``chao1``).
    caveats: plain-language warnings about how far to trust the figures.
    """

    observed: int
    samples: int
    observations: int
    singletons: int
    doubletons: int
    coverage: float
    chao1: float
    chao1_sd: float
    chao1_ci: tuple[float, float]
    new_at: dict[float, float] = field(default_factory=dict)
    total_at: dict[float, float] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()
    chao_total_at: dict[float, float] = field(default_factory=dict)


def ichao1(freqs: Freqs, sample_count: int) -> float:
    """Improved Chao1 (Chiu, Wang, Walther & Chao 2014), incidence form (iChao2): Chao1 plus
    what the items seen 3 and 4 times say about those seen 0 times,
    ``(T-3)/(4T) f3/f4 max(f1 - (T-3)/(2(T-1)) f2 f3 / f4, 0)`` (f4 taken as 1 when 0).
    Still a lower bound, never below Chao1."""
    fr = _check(freqs)
    est, _ = chao1(fr, sample_count)
    t = sample_count
    if t <= 3:
        return est
    f1, f2, f3, f4 = (fr.get(r, 0) for r in (1, 2, 3, 4))
    f4 = max(f4, 1)
    extra = (t - 3) / (4 * t) * f3 / f4 * max(f1 - (t - 3) / (2 * (t - 1)) * f2 * f3 / f4, 0.0)
    return float(est + extra)


def chao_extrapolation(freqs: Freqs, sample_count: int, t: float,
                       total: float | None = None) -> float:
    """Expected unique sequences after ``t * sample_count`` further samples, anchored on
    Chao1: ``S_obs + f0 (1 - (1 - f1 / (n f0 + f1))^(t n))``; never above Chao1.

    ``total`` anchors it on another estimate of the total instead (e.g. :func:`ichao1`)."""
    if t < 0:
        raise ConfigError(f"t must be >= 0, got {t}")
    fr = _check(freqs)
    s_obs = sum(fr.values())
    est = total if total is not None else chao1(fr, sample_count)[0]
    f0 = est - s_obs
    f1 = fr.get(1, 0)
    if f0 <= 0 or f1 == 0 or sample_count < 1:
        return float(s_obs)
    n = sample_count
    return float(s_obs + f0 * (1.0 - (1.0 - f1 / (n * f0 + f1)) ** (t * n)))


def extrapolate(freqs: Freqs, sample_count: int,
                factors: Sequence[float] = (1, 2, 5, 10), *,
                generic_caveats: bool = True) -> Estimate:
    """All estimates at once (see the module docstring for the formulas).

    ``generic_caveats=False`` leaves out the warnings that hold for any data (far factors,
    Chao1 being a lower bound), for a caller that states measured errors instead."""
    fr = _check(freqs)
    if sample_count < 1:
        raise ConfigError(f"sample_count must be >= 1, got {sample_count}")
    if fr and max(fr) > sample_count:
        raise ConfigError(f"a sequence seen {max(fr)} times in only {sample_count} samples")
    s_obs = sum(fr.values())
    n_obs = sum(r * f for r, f in fr.items())
    f1, f2 = fr.get(1, 0), fr.get(2, 0)
    est, var = chao1(fr, sample_count)
    new_at = {float(t): max(0.0, smoothed_good_toulmin(fr, sample_count, float(t)))
              for t in factors}
    caveats: list[str] = []
    if s_obs == 0:
        caveats.append("no memorized sequence seen: nothing to extrapolate from")
    else:
        if f2 == 0 and f1 > 1:
            caveats.append("no sequence seen exactly twice: Chao1 is unstable")
        cov = good_turing_coverage(fr)
        if cov < 0.5:
            caveats.append(f"sample coverage is low ({cov:.2f}): most memorized text is "
                           "probably unseen and every estimate here is a rough lower bound")
        if s_obs < 20:
            caveats.append(f"only {s_obs} unique sequences seen: wide uncertainty")
    limit = math.log(max(sample_count, 2))
    far = [t for t in factors if t > limit]
    if far and generic_caveats:
        caveats.append(f"factors {far} exceed ln(samples) = {limit:.1f}: extrapolating "
                       "that far is unreliable")
    if generic_caveats:
        caveats.append("Chao1 is a lower-bound estimator; sequences too rare to have been "
                       "seen leave no trace in the counts")
    return Estimate(
        observed=s_obs, samples=sample_count, observations=n_obs, singletons=f1,
        doubletons=f2, coverage=good_turing_coverage(fr), chao1=est,
        chao1_sd=math.sqrt(var), chao1_ci=chao1_interval(fr, sample_count),
        new_at=new_at, total_at={t: s_obs + u for t, u in new_at.items()},
        caveats=tuple(caveats),
        chao_total_at={float(t): chao_extrapolation(fr, sample_count, float(t))
                       for t in factors},
    )
