"""Projections read off the accumulation (rarefaction) curve of a run's own samples.

Input: incidence counts, one per unique item (``incidence[k]`` = how many of the
``sample_count`` samples contained item k). The *rarefaction curve* ``S(m)`` is the expected
number of unique items in m of those samples drawn without replacement (Heck, van Belle &
Simberloff 1975; the incidence form of Colwell et al. 2012):

    S(m) = sum_k 1 - C(T - Y_k, m) / C(T, m)

It needs no ordering of the samples and ends at ``S(T) = S_obs``. Two curves are fitted to
it over ``m`` in ``[T / 4, T]`` and read at ``(1 + t) T``, for t times as many further samples:

* power law ``S(m) = c m^z`` (least squares on logarithms). It never levels off, so it
  over-estimates a curve that is about to saturate;
* Michaelis-Menten ``S(m) = a m / (b + m)`` (least squares, b by a one-dimensional search).
  It levels off at ``a``, and like Chao1 it under-estimates a curve that keeps rising.

``benchmarks/bench_extrapolation.py`` measures them against longer runs of the reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from regurgitate.errors import ConfigError

__all__ = ["fit_grid", "michaelis_menten_projection", "power_law_projection", "rarefied"]

#: where the curve is fitted, as fractions of the samples drawn
FIT_FROM = 0.25
FIT_POINTS = 12


def _incidence(incidence: Sequence[int], sample_count: int) -> np.ndarray:
    if sample_count < 1:
        raise ConfigError(f"sample_count must be >= 1, got {sample_count}")
    ys = np.asarray([int(y) for y in incidence if int(y) > 0], dtype=np.float64)
    if ys.size and ys.max() > sample_count:
        raise ConfigError(f"an item seen in {int(ys.max())} of only {sample_count} samples")
    return ys


def rarefied(incidence: Sequence[int], sample_count: int, m: float) -> float:
    """Expected unique items in ``m`` of the ``sample_count`` samples (0 <= m <= T)."""
    ys = _incidence(incidence, sample_count)
    t = sample_count
    if not 0 <= m <= t:
        raise ConfigError(f"m must be within 0..{t}, got {m}")
    if ys.size == 0 or m == 0:
        return 0.0
    # C(T - Y, m) / C(T, m) = prod_{i < Y} (T - m - i) / (T - i), via log-gamma; 0 if Y > T - m
    lg = np.vectorize(math.lgamma)
    missing = np.zeros_like(ys)
    ok = ys <= t - m
    if ok.any():
        y = ys[ok]
        missing[ok] = np.exp(lg(t - y + 1) - lg(t - y - m + 1) - lg(t + 1) + lg(t - m + 1))
    return float(np.sum(1.0 - missing))


def fit_grid(incidence: Sequence[int], sample_count: int) -> tuple[np.ndarray, np.ndarray]:
    """(m, S(m)) at ``FIT_POINTS`` geometrically spaced points of ``[T / 4, T]``."""
    t = sample_count
    ms = np.unique(np.round(np.geomspace(max(1.0, FIT_FROM * t), t, FIT_POINTS)))
    return ms, np.array([rarefied(incidence, t, float(m)) for m in ms])


def power_law_projection(incidence: Sequence[int], sample_count: int, t: float) -> float:
    """Unique items expected after ``t * sample_count`` further samples, by a power law
    ``c m^z`` fitted to the rarefaction curve (never below the number observed)."""
    if t < 0:
        raise ConfigError(f"t must be >= 0, got {t}")
    ms, ss = fit_grid(incidence, sample_count)
    s_obs = float(len(_incidence(incidence, sample_count)))
    keep = ss > 0
    if keep.sum() < 2:
        return s_obs
    z, logc = np.polyfit(np.log(ms[keep]), np.log(ss[keep]), 1)
    return float(max(s_obs, math.exp(logc) * ((1 + t) * sample_count) ** z))


def michaelis_menten_projection(incidence: Sequence[int], sample_count: int,
                                t: float) -> float:
    """Unique items expected after ``t * sample_count`` further samples, by a
    Michaelis-Menten curve ``a m / (b + m)`` fitted to the rarefaction curve."""
    if t < 0:
        raise ConfigError(f"t must be >= 0, got {t}")
    ms, ss = fit_grid(incidence, sample_count)
    s_obs = float(len(_incidence(incidence, sample_count)))
    if s_obs == 0 or len(ms) < 2:
        return s_obs
    best: tuple[float, float, float] | None = None
    for b in np.geomspace(1e-3 * sample_count, 1e4 * sample_count, 400):
        x = ms / (b + ms)
        a = float(np.dot(x, ss) / np.dot(x, x))
        err = float(np.sum((a * x - ss) ** 2))
        if best is None or err < best[0]:
            best = (err, a, float(b))
    assert best is not None
    _, a, b = best
    m = (1 + t) * sample_count
    return float(max(s_obs, a * m / (b + m)))
