"""Evaluation of membership scores against known labels (numpy only).

Scores are oriented "higher means member"; labels are 1 for members, 0 for non-members.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from regurgitate.errors import ConfigError


def _check(scores: Sequence[float], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ConfigError(f"{s.size} scores for {y.size} labels")
    if not np.all(np.isfinite(s)):
        raise ConfigError("scores must be finite")
    if y.all() or not y.any():
        raise ConfigError("need at least one member and one non-member")
    return s, y


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve: the probability that a random member outscores a random
    non-member, ties counting one half (Mann-Whitney U with average ranks)."""
    s, y = _check(scores, labels)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < s.size:  # average ranks over ties
        j = i
        while j + 1 < s.size and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def roc_curve(scores: Sequence[float], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) at every distinct threshold "score >= t", from (0, 0) to (1, 1)."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (~y).sum()]
    return fpr, tpr


def tpr_at_fpr(scores: Sequence[float], labels: Sequence[int], fpr: float = 0.01) -> float:
    """The best true-positive rate among thresholds whose false-positive rate is <= ``fpr``."""
    if not 0.0 <= fpr <= 1.0:
        raise ConfigError(f"fpr must be within [0, 1], got {fpr}")
    f, t = roc_curve(scores, labels)
    return float(t[f <= fpr + 1e-12].max())
