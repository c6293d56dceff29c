"""Projections of unique memorized items: iChao1, the rarefaction curve and its fits, on
small cases worked by hand and on a known population."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regurgitate.errors import ConfigError
from regurgitate.metrics.accumulation import (
    michaelis_menten_projection,
    power_law_projection,
    rarefied,
)
from regurgitate.metrics.extrapolation import chao1, chao_extrapolation, extrapolate, ichao1
from regurgitate.metrics.projections import MEASURED_ERROR, PROJECTORS, SHOWN, project


def test_ichao1_by_hand():
    freqs = {1: 10, 2: 4, 3: 3, 4: 2}
    t = 50
    base, _ = chao1(freqs, t)
    extra = (t - 3) / (4 * t) * 3 / 2 * (10 - (t - 3) / (2 * (t - 1)) * 4 * 3 / 2)
    assert ichao1(freqs, t) == pytest.approx(base + extra)
    # no item seen three times: nothing to add; f4 = 0 counts as 1
    assert ichao1({1: 5, 2: 2}, 20) == pytest.approx(chao1({1: 5, 2: 2}, 20)[0])
    assert ichao1({1: 5, 3: 2}, 20) > chao1({1: 5, 3: 2}, 20)[0]


def test_chao_extrapolation_on_another_total():
    fr = {1: 6, 2: 3}
    assert chao_extrapolation(fr, 30, 5, total=ichao1(fr, 30)) == pytest.approx(
        chao_extrapolation(fr, 30, 5))  # no f3: iChao1 = Chao1
    higher = chao_extrapolation(fr, 30, 5, total=40.0)
    assert chao_extrapolation(fr, 30, 5) < higher < 40.0


def test_rarefied_by_hand():
    # item A in 1 of 2 samples, B in both: one sample holds B and half the time A
    assert rarefied([1, 2], 2, 1) == pytest.approx(1.5)
    assert rarefied([1, 2], 2, 2) == pytest.approx(2.0)
    assert rarefied([1, 2], 2, 0) == 0.0
    # A in 1 of 4 samples: in 2 drawn, P(A missing) = C(3,2)/C(4,2) = 1/2
    assert rarefied([1], 4, 2) == pytest.approx(0.5)
    assert rarefied([2, 3], 4, 2) == pytest.approx((1 - 1 / 6) + 1.0)
    with pytest.raises(ConfigError):
        rarefied([5], 4, 2)
    with pytest.raises(ConfigError):
        rarefied([1], 4, 5)


def test_rarefied_matches_random_subsamples():
    rng = np.random.default_rng(1)
    samples = [set(rng.choice(300, size=3, p=np.full(300, 1 / 300))) for _ in range(120)]
    counts: dict[int, int] = {}
    for s in samples:
        for k in s:
            counts[int(k)] = counts.get(int(k), 0) + 1
    sub = [len(set().union(*(samples[i] for i in rng.choice(120, 40, replace=False))))
           for _ in range(400)]
    assert rarefied(list(counts.values()), 120, 40) == pytest.approx(np.mean(sub), rel=0.02)


def test_curve_fits_on_a_saturated_and_a_growing_population():
    # every item seen in most samples: nothing left to find
    assert power_law_projection([90, 95, 100], 100, 2) == pytest.approx(3, abs=0.05)
    assert michaelis_menten_projection([90, 95, 100], 100, 2) == pytest.approx(3, abs=0.05)
    # only singletons: the curve is a straight line, the power law continues it
    assert power_law_projection([1] * 50, 100, 2) == pytest.approx(150, rel=0.01)
    assert michaelis_menten_projection([1] * 50, 100, 2) <= 150 + 1e-6
    for fn in (power_law_projection, michaelis_menten_projection):
        assert fn([], 10, 2) == 0.0
        assert fn([1, 1, 2], 10, 0) >= 3


@pytest.mark.parametrize("name", list(PROJECTORS))
def test_projectors_on_a_known_population(name):
    """On a Zipf population of 1000 items, drawn 3 per sample, each projection from 300
    samples lands near the truth at 600 (the loose ones within 35%)."""
    rng = np.random.default_rng(11)
    p = 1 / np.arange(1, 1001) ** 0.8
    p /= p.sum()
    errs = []
    for _ in range(5):
        samples = [set(rng.choice(1000, size=3, p=p).tolist()) for _ in range(600)]
        inc: dict[int, int] = {}
        for s in samples[:300]:
            for k in s:
                inc[k] = inc.get(k, 0) + 1
        truth = len(set().union(*samples))
        got = project(name, list(inc.values()), 300, 1.0)
        assert got >= len(inc)
        errs.append(got / truth - 1)
    assert abs(float(np.mean(errs))) < 0.35


def test_shown_projection_is_measured():
    assert SHOWN in PROJECTORS
    assert {e.t for e in MEASURED_ERROR} >= {2, 5}
    assert all(e.low <= e.mean <= e.high and e.cases > 0 for e in MEASURED_ERROR)


def test_generic_caveats_can_be_left_out():
    e = extrapolate({1: 5, 2: 1}, 10, factors=[1, 10], generic_caveats=False)
    assert not any("ln(samples)" in c or "lower-bound estimator" in c for c in e.caveats)
    assert math.isfinite(e.chao1)
