"""The blind baseline: it sees a distribution shift, sees nothing in a fair split, and the
warning appears exactly when it comes within reach of an attack."""

from __future__ import annotations

import random

import numpy as np
import pytest

from regurgitate.errors import ConfigError
from regurgitate.metrics.membership_evidence.blind import (
    WARN_MARGIN,
    blind_baseline,
    fit_logistic,
    shift_warning,
)

WORDS = ["river", "stone", "cloud", "marble", "lantern", "orchard", "copper", "violet",
         "meadow", "harbor", "signal", "thunder", "pocket", "willow", "canvas", "ember"]


def _texts(n: int, seed: int, extra: str = "") -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(30)) + extra for _ in range(n)]


def test_logistic_regression_separates_separable_points():
    x = np.array([[0.0, 1.0], [0.2, 0.9], [1.0, 0.0], [0.9, 0.1]])
    w, b = fit_logistic(x, np.array([1, 1, 0, 0]), l2=0.01)
    assert (x @ w + b > 0).tolist() == [True, True, False, False]


def test_blind_baseline_sees_a_shifted_split_and_not_a_fair_one():
    shifted = blind_baseline(_texts(40, 1, " (2024 edition)"), _texts(40, 2), seed=0)
    assert shifted.auc > 0.95
    fair = blind_baseline(_texts(40, 3), _texts(40, 4), seed=0)
    assert 0.3 < fair.auc < 0.7
    with pytest.raises(ConfigError):
        blind_baseline(_texts(2, 5), _texts(40, 6))


def test_shift_warning_only_within_reach_of_a_separating_blind_baseline():
    assert shift_warning("loss", 0.90, 0.70) is None  # clearly above
    assert shift_warning("loss", 0.55, 0.50) is None  # blind at chance: a fair split
    msg = shift_warning("min_k", 0.74, 0.72)
    assert msg is not None and "not evidence of membership" in msg and "min_k" in msg
    assert shift_warning("loss", 0.70, 0.80) is not None  # beaten by the blind classifier
    assert shift_warning("x", 0.6 + WARN_MARGIN, 0.6) is None
