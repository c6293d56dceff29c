"""Model-free features of texts, and membership features with what they explain removed.

A change of kind between a suspect and a control set (licence text against prose, code against
stories) moves every per-text membership signal without the model having seen anything: a
model's loss depends on how predictable a kind of text is. Dataset inference accounts for it in
the verdict itself: each membership feature is regressed (ridge, on both sets pooled, labels
unseen) on features computed from the texts alone, and the test runs on the residuals, the
part of the model's familiarity that the texts' own statistics do not explain. The same test
on the model-free features alone says whether the sets differ in kind.

The model-free features: log length in characters, zlib compressibility (compressed / raw
bytes), the lowercase share of letters, the punctuation share of characters, the mean word
length, the newline share of characters, and (when given) the out-of-fold score of the blind
n-gram classifier of :mod:`.blind`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

#: names of the columns :func:`text_statistics` returns
STATISTICS = ("log_chars", "zlib_ratio", "lowercase_share", "punctuation_share",
              "mean_word_length", "newline_share")
_WORD = re.compile(r"\w+")
#: ridge penalty of the residualizing regression (features standardized)
RIDGE = 1.0


def _row(text: str) -> list[float]:
    data = text.encode("utf-8", "surrogatepass")
    n = max(len(text), 1)
    letters = [c for c in text if c.isalpha()]
    words = _WORD.findall(text)
    return [
        float(np.log(n)),
        len(zlib.compress(data, 9)) / max(len(data), 1),
        sum(c.islower() for c in letters) / max(len(letters), 1),
        sum(not c.isalnum() and not c.isspace() for c in text) / n,
        float(np.mean([len(w) for w in words])) if words else 0.0,
        text.count("\n") / n,
    ]


def text_statistics(texts: Sequence[str]) -> np.ndarray:
    """One row per text, the columns :data:`STATISTICS`."""
    return np.array([_row(t) for t in texts], dtype=np.float64).reshape(len(texts),
                                                                        len(STATISTICS))


def residualize(x: np.ndarray, z: np.ndarray, l2: float = RIDGE) -> np.ndarray:
    """``x`` (rows: texts, columns: membership features) less its ridge regression on ``z``
    (the same rows' model-free features, standardized, with an unpenalized intercept)."""
    xx = np.asarray(x, dtype=np.float64)
    zz = np.asarray(z, dtype=np.float64)
    sd = zz.std(axis=0)
    keep = sd > 0
    zs = (zz[:, keep] - zz[:, keep].mean(axis=0)) / sd[keep]
    a = np.c_[np.ones(len(zs)), zs]
    penalty = l2 * np.eye(a.shape[1])
    penalty[0, 0] = 0.0
    beta = np.linalg.solve(a.T @ a + penalty, a.T @ xx)
    out: np.ndarray = xx - a @ beta
    return out
