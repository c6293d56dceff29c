"""The projections of unique memorized items a report can show, by name, and how far each
missed on the bundled reference.

Every projector takes incidence counts (one per unique item: how many of the samples
contained it), the number of samples ``n`` and a factor ``t``, and returns the number of
unique items expected after ``t * n`` further samples (``n + t n`` in all).
``benchmarks/bench_extrapolation.py`` compares each with what longer runs then observed;
:data:`SHOWN` is the one that came closest there and :data:`MEASURED_ERROR` its errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from regurgitate.metrics.accumulation import michaelis_menten_projection, power_law_projection
from regurgitate.metrics.extrapolation import (
    chao_extrapolation,
    frequency_counts,
    ichao1,
    smoothed_good_toulmin,
)

__all__ = ["MEASURED", "MEASURED_ERROR", "MEASURED_ON", "PROJECTORS", "SHOWN", "MeasuredError",
           "Projector", "project"]

Projector = Callable[[Sequence[int], int, float], float]


def chao1_anchored(incidence: Sequence[int], n: int, t: float) -> float:
    """Chao et al. (2014): rises towards Chao1 and never above it."""
    return chao_extrapolation(frequency_counts(incidence), n, t)


def ichao1_anchored(incidence: Sequence[int], n: int, t: float) -> float:
    """The same curve rising towards iChao1 instead of Chao1."""
    fr = frequency_counts(incidence)
    return chao_extrapolation(fr, n, t, total=ichao1(fr, n))


def good_toulmin_total(incidence: Sequence[int], n: int, t: float) -> float:
    """Observed plus the smoothed Good-Toulmin count of new items (Orlitsky et al. 2016)."""
    new = smoothed_good_toulmin(frequency_counts(incidence), n, t)
    return sum(1 for y in incidence if y > 0) + max(0.0, new)


PROJECTORS: dict[str, Projector] = {
    "Chao1-anchored": chao1_anchored,
    "iChao1-anchored": ichao1_anchored,
    "smoothed Good-Toulmin": good_toulmin_total,
    "Michaelis-Menten fit": michaelis_menten_projection,
    "power-law fit": power_law_projection,
}


def project(name: str, incidence: Sequence[int], n: int, t: float) -> float:
    return PROJECTORS[name](incidence, n, t)


@dataclass(frozen=True)
class MeasuredError:
    """Relative error (projected / observed - 1) of a projection at factor ``t``, over
    ``cases`` (run, n) pairs of the benchmark: mean, smallest and largest."""

    t: int
    mean: float
    low: float
    high: float
    cases: int


#: the projection reports show (the closest at 2x and 5x on the reference)
SHOWN = "iChao1-anchored"
#: errors on the reference by projection, from benchmarks/bench_extrapolation.py (see
#: docs/evidence.md, "Extrapolation")
MEASURED: dict[str, tuple[MeasuredError, ...]] = {
    "iChao1-anchored": (
        MeasuredError(t=1, mean=0.017, low=-0.029, high=0.097, cases=8),
        MeasuredError(t=2, mean=0.017, low=-0.037, high=0.101, cases=7),
        MeasuredError(t=5, mean=-0.054, low=-0.181, high=0.037, cases=4),
        MeasuredError(t=10, mean=-0.230, low=-0.338, high=-0.122, cases=2),
    ),
    "Chao1-anchored": (
        MeasuredError(t=1, mean=0.013, low=-0.039, high=0.094, cases=8),
        MeasuredError(t=2, mean=0.005, low=-0.055, high=0.094, cases=7),
        MeasuredError(t=5, mean=-0.087, low=-0.200, high=-0.005, cases=4),
        MeasuredError(t=10, mean=-0.263, low=-0.354, high=-0.171, cases=2),
    ),
}
#: the shown projection's errors
MEASURED_ERROR: tuple[MeasuredError, ...] = MEASURED[SHOWN]
#: what they were measured on, as the report's note says it
MEASURED_ON = "sample-rank, seeds 0 and 1, unique 50-grams"
