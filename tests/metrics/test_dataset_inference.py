"""The t-test path, dataset inference on separated and on same-source sets, null calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from regurgitate.errors import ConfigError
from regurgitate.metrics.membership_evidence.dataset_inference import (
    cohens_d,
    dataset_inference,
    null_false_positive_rate,
    welch_one_sided,
)


def test_welch_one_sided_by_hand():
    a = np.array([5.1, 4.9, 6.2, 5.8, 6.0])
    b = np.array([4.1, 4.5, 3.9, 5.0])
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    got_t, got_p = welch_one_sided(a, b)
    assert got_t == pytest.approx(t)
    assert got_p == pytest.approx(stats.t.sf(t, df))
    assert welch_one_sided(b, a)[1] == pytest.approx(1 - got_p)  # one-sided
    assert welch_one_sided(np.ones(3), np.ones(3)) == (0.0, 1.0)
    with pytest.raises(ConfigError):
        welch_one_sided(a[:1], b)


def test_cohens_d():
    assert cohens_d(np.array([1.0, 3.0]), np.array([0.0, 2.0])) == pytest.approx(1 / math.sqrt(2))


def _sets(shift: float, n: int = 80, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    suspect = rng.normal(size=(n, 4))
    suspect[:, 1] += shift
    return suspect, rng.normal(size=(n, 4))


def test_dataset_inference_finds_a_shift_and_reports_it():
    s, c = _sets(1.0)
    res = dataset_inference(s, c, features=("a", "b", "c", "d"), splits=10,
                            blind_baseline_auc=0.52)
    assert res.p_value < 0.01 and res.significant
    assert res.effect_size > 0.5
    assert (res.suspect, res.control, len(res.splits)) == (80, 80, 10)
    assert res.verdict().startswith("The model is more familiar with the suspect set")
    j = res.to_json()
    assert j["p_value"] == res.p_value and j["blind_baseline_auc"] == 0.52
    assert len(j["splits"]) == 10  # type: ignore[arg-type]
    # the other way round is not significant: the test is one-sided
    assert dataset_inference(c, s, splits=5).p_value > 0.05


def test_groups_stay_together_and_small_sets_are_refused():
    s, c = _sets(0.0, n=12)
    with pytest.raises(ConfigError, match="at least 4 works"):
        dataset_inference(s, c, suspect_groups=["w1"] * 6 + ["w2"] * 6)
    with pytest.raises(ConfigError, match="share their columns"):
        dataset_inference(s, c[:, :2])


def test_null_calibration_cheap():
    """Suspect and control drawn from one pool: p < 0.05 in about 5% of 100 trials."""
    pool = np.random.default_rng(7).normal(size=(120, 5))
    single = null_false_positive_rate(pool, trials=100, splits=1, seed=3)
    assert single.trials == 100 and single.p_values.shape == (100,)
    assert 0.0 <= single.false_positive_rate <= 0.10
    median = null_false_positive_rate(pool, trials=100, splits=5, seed=3)
    assert median.false_positive_rate <= 0.10


def test_verdict_warns_when_a_blind_classifier_separates_the_sets():
    s, c = _sets(0.0)
    res = dataset_inference(s, c, splits=3, blind_baseline_auc=0.8)
    assert "No evidence" in res.verdict()
    assert "model-free classifier tells the sets apart" in res.verdict()


def test_null_calibration_with_correlated_passages_of_each_work():
    """Five passages per work sharing the work's offset: the test counts works, so the null
    false-positive rate stays near alpha (counting passages would double it or worse)."""
    rng = np.random.default_rng(11)
    works = 60
    offsets = rng.normal(size=(works, 3))
    pool = np.repeat(offsets, 5, axis=0) + 0.3 * rng.normal(size=(works * 5, 3))
    groups = [f"w{i // 5}" for i in range(works * 5)]
    single = null_false_positive_rate(pool, groups, trials=100, splits=1, seed=5)
    assert single.false_positive_rate <= 0.10


def _kind_sets(membership: float, kind: float, n: int = 40, seed: int = 2
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Membership features that follow a model-free feature (the kind of text) and, for the
    suspects, an extra ``membership`` shift the model-free feature does not explain."""
    rng = np.random.default_rng(seed)
    zs = rng.normal(size=(n, 2))
    zc = rng.normal(size=(n, 2))
    zs[:, 0] += kind
    xs = np.c_[zs[:, 0] + membership, zs[:, 0]] + 0.3 * rng.normal(size=(n, 2))
    xc = np.c_[zc[:, 0], zc[:, 0]] + 0.3 * rng.normal(size=(n, 2))
    return xs, xc, zs, zc


def test_a_change_of_kind_alone_is_inconclusive_not_trained_on():
    """The suspects differ only in kind: the raw test says p < 0.05 (today's verdict was
    'more familiar'), the adjusted one does not, and the result says why."""
    xs, xc, zs, zc = _kind_sets(membership=0.0, kind=1.5)
    plain = dataset_inference(xs, xc, splits=5)
    assert plain.p_value < 0.05  # what the verdict used to rest on
    res = dataset_inference(xs, xc, splits=5, model_free=(zs, zc), blind_baseline_auc=0.8)
    assert res.raw_p_value is not None and res.raw_p_value < 0.05
    assert res.differs_in_kind and not res.conclusive and not res.significant
    assert res.verdict().startswith("Inconclusive: the sets differ in kind")
    j = res.to_json()
    assert j["significant"] is False and j["conclusive"] is False
    assert j["inconclusive_because"]


def test_membership_beyond_a_change_of_kind_stays_significant():
    xs, xc, zs, zc = _kind_sets(membership=1.5, kind=1.5)
    res = dataset_inference(xs, xc, splits=5, model_free=(zs, zc))
    assert res.significant and res.conclusive and res.differs_in_kind
    assert "beyond what that explains" in res.verdict()
    same = dataset_inference(*_kind_sets(membership=1.0, kind=0.0)[:2], splits=5,
                             model_free=_kind_sets(membership=1.0, kind=0.0)[2:])
    assert same.significant and not same.differs_in_kind


def test_false_positive_rate_measured_at_the_sizes_used():
    xs, xc, zs, zc = _kind_sets(membership=1.5, kind=0.0, n=8)
    res = dataset_inference(xs, xc, splits=5, model_free=(zs, zc), null_trials=10)
    assert res.null_trials == 10 and 0 <= res.null_false_positives <= 10
    assert "label shuffles" in res.verdict()
    assert res.to_json()["null_false_positive_rate"] == res.null_false_positives / 10
