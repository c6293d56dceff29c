from __future__ import annotations

import numpy as np
import pytest

from regurgitate.errors import ConfigError
from regurgitate.metrics.extrapolation import (
    chao1,
    chao1_interval,
    extrapolate,
    frequency_counts,
    good_toulmin,
    good_turing_coverage,
    rarefaction_curve,
    smoothed_good_toulmin,
)

UNIFORM = np.full(2000, 1 / 2000)
ZIPF = 1 / np.arange(1, 1001) ** 0.5
ZIPF = ZIPF / ZIPF.sum()


def test_hand_computed_values():
    freqs = {1: 4, 2: 2, 3: 1}  # 7 sequences, 4 + 4 + 3 = 11 observations
    assert good_turing_coverage(freqs) == pytest.approx(1 - 4 / 11)
    est, var = chao1(freqs)
    assert est == pytest.approx(7 + (10 / 11) * 4 * 3 / (2 * 3))
    assert var > 0
    lo, hi = chao1_interval(freqs)
    assert 7 <= lo < est < hi
    assert good_toulmin(freqs, 1.0) == pytest.approx(4 - 2 + 1)
    assert good_toulmin(freqs, 0.5) == pytest.approx(4 * 0.5 - 2 * 0.25 + 0.125)
    assert smoothed_good_toulmin(freqs, 11, 0.5) == good_toulmin(freqs, 0.5)
    assert frequency_counts([1, 1, 3, 0, 2, 1]) == {1: 3, 2: 1, 3: 1}


def test_no_singletons_means_full_coverage_and_no_unseen():
    e = extrapolate({3: 5}, sample_count=15)
    assert e.coverage == 1.0 and e.chao1 == 5.0 and e.chao1_ci == (5.0, 5.0)
    # plain Good-Toulmin at t = 1 is f1 - f2 + f3 - ...: unbiased, but not zero here
    assert e.new_at[1.0] == pytest.approx(5.0) and all(v >= 0 for v in e.new_at.values())
    assert extrapolate({}, 10).observed == 0


def test_bad_input():
    with pytest.raises(ConfigError):
        extrapolate({0: 3}, 10)
    with pytest.raises(ConfigError):
        extrapolate({5: 1}, 4)
    with pytest.raises(ConfigError):
        extrapolate({1: 1}, 0)


@pytest.mark.parametrize("probs,n", [(UNIFORM, 1000), (ZIPF, 3000)], ids=["uniform", "zipf"])
def test_estimates_close_to_truth_on_known_population(probs, n):
    rng = np.random.default_rng(7)
    size = probs.size
    chao, cov_err, inside = [], [], 0
    new_pred: dict[int, list[float]] = {1: [], 2: [], 5: []}
    new_true: dict[int, list[int]] = {1: [], 2: [], 5: []}
    reps = 25
    for _ in range(reps):
        draw = rng.choice(size, size=n, p=probs)
        seen = np.unique(draw)
        e = extrapolate(frequency_counts(np.bincount(draw)), n, factors=[1, 2, 5])
        chao.append(e.chao1)
        cov_err.append(abs(e.coverage - probs[seen].sum()))
        inside += e.chao1_ci[0] <= size <= e.chao1_ci[1]
        for t in new_pred:
            more = rng.choice(size, size=t * n, p=probs)
            new_true[t].append(np.setdiff1d(more, seen).size)
            new_pred[t].append(e.new_at[float(t)])
    assert abs(np.mean(chao) - size) / size < 0.05
    assert np.mean(cov_err) < 0.03
    assert inside / reps >= 0.7
    # smoothed Good-Toulmin's error grows with t (NMSE ~ n^(-1/t)): loose at t = 5
    for t, tol in ((1, 0.1), (2, 0.1), (5, 0.5)):
        assert abs(np.mean(new_pred[t]) - np.mean(new_true[t])) / np.mean(new_true[t]) < tol


def test_chao1_lower_bound_with_unseen_mass_has_caveats():
    rng = np.random.default_rng(3)
    draw = rng.choice(UNIFORM.size, size=200, p=UNIFORM)
    e = extrapolate(frequency_counts(np.bincount(draw)), 200, factors=[1, 10])
    assert e.observed < e.chao1
    assert any("coverage is low" in c for c in e.caveats)
    assert any("ln(samples)" in c for c in e.caveats)


def test_rarefaction_curve_is_monotone_and_counts_unique():
    rng = np.random.default_rng(0)
    obs = list(rng.choice(ZIPF.size, size=500, p=ZIPF))
    x, y = rarefaction_curve(obs)
    assert x.tolist() == list(range(1, 501))
    assert np.all(np.diff(y) >= 0) and y[-1] == len(set(obs)) and y[0] == 1
    x, y = rarefaction_curve([["a", "b"], [], ["b"], "abc", ("c", "a"), 7])
    assert y.tolist() == [2, 2, 2, 3, 4, 5]


def test_chao_extrapolation_rises_towards_chao1_and_never_above():
    from regurgitate.metrics.extrapolation import chao_extrapolation

    rng = np.random.default_rng(5)
    for n in (40, 200, 1000):
        draw = rng.choice(ZIPF.size, size=n, p=ZIPF)
        e = extrapolate(frequency_counts(np.bincount(draw)), n, factors=[0, 1, 2, 5, 10, 100])
        values = [e.chao_total_at[float(t)] for t in (0, 1, 2, 5, 10, 100)]
        assert values[0] == pytest.approx(e.observed)
        assert all(b >= a for a, b in zip(values, values[1:], strict=False))
        assert all(v <= e.chao1 + 1e-9 for v in values)
        assert values[-1] == pytest.approx(e.chao1, rel=0.02)
    assert chao_extrapolation({3: 5}, 15, 10) == 5.0
