"""Membership-inference signals per generation (or any text) from token log-probabilities.

Signals (``logprobs`` are natural-log probabilities of the generated tokens):

* ``loss``: mean negative log-likelihood, ``-mean(logprobs)`` (nats per token);
* ``perplexity``: ``exp(loss)``;
* ``zlib``: ``loss / zlib_bytes``, where ``zlib_bytes`` is the length in bytes of the
  zlib-compressed UTF-8 text -- the extraction paper's "log-perplexity over zlib entropy"
  (Carlini et al. 2021), as mimir computes it;
* ``lowercase_ratio``: ``loss / loss(lowercased text)`` under the same model (needs a scorer);
* ``reference_ratio``: ``loss / loss under a reference model`` (needs a reference scorer);
  the extraction paper's log-perplexity ratio of target and reference model;
* ``min_k``: mean of the lowest ``k`` fraction (default 20%) of the token log-probabilities
  (Shi et al., Min-K% Prob);
* ``min_k_plus_plus``: the same over ``(logprob - mean) / std`` with the mean and standard
  deviation of log p under each position's next-token distribution (Zhang et al., Min-K%++).
  Only available when a scorer saw the whole distribution; ``None`` otherwise.
* ``dc_pdd``: DC-PDD (:mod:`regurgitate.metrics.corpus_signals`) with token frequencies of
  the scan's corpus index (when its tokenizer is the model's) or of a frequency file.

Log-probabilities below :data:`LOGPROB_FLOOR` (-100, including ``-inf``) are raised to it and
NaNs dropped, so every signal is finite (and storable as JSON).

Orientation: for ``min_k`` and ``min_k_plus_plus`` higher means "more likely a member"; for the
others lower does (:data:`MEMBER_IF_HIGHER`, :func:`oriented`).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.runtimes.scoring import TokenScores

LOGPROB_FLOOR = -100.0

MEMBER_IF_HIGHER: dict[str, bool] = {
    "loss": False, "perplexity": False, "zlib": False, "lowercase_ratio": False,
    "reference_ratio": False, "min_k": True, "min_k_plus_plus": True, "dc_pdd": True,
}


def _lowest_mean(values: np.ndarray, k: float) -> float:
    if not 0.0 < k <= 1.0:
        raise ConfigError(f"k must be within (0, 1], got {k}")
    if values.size == 0:
        raise ConfigError("no token scores")
    n = max(1, int(values.size * k))
    return float(np.sort(values)[:n].mean())


def loss(logprobs: Sequence[float] | np.ndarray) -> float:
    lp = np.asarray(logprobs, dtype=np.float64)
    if lp.size == 0:
        raise ConfigError("no token scores")
    return float(-lp.mean())


def zlib_bytes(text: str) -> int:
    return len(zlib.compress(text.encode("utf-8", "surrogatepass")))


def min_k(logprobs: Sequence[float] | np.ndarray, k: float = 0.2) -> float:
    """Mean of the lowest ``max(1, floor(k * n))`` token log-probabilities."""
    return _lowest_mean(np.asarray(logprobs, dtype=np.float64), k)


def min_k_plus_plus(logprobs: Sequence[float] | np.ndarray, mean: Sequence[float] | np.ndarray,
                    var: Sequence[float] | np.ndarray, k: float = 0.2) -> float:
    """Min-K%++: mean of the lowest k fraction of ``(logprob - mean) / sqrt(var)``."""
    lp = np.asarray(logprobs, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    sd = np.sqrt(np.asarray(var, dtype=np.float64))
    if not lp.shape == mu.shape == sd.shape:
        raise ConfigError("logprobs, mean and var must have the same length")
    z = (lp - mu) / np.maximum(sd, 1e-12)
    return _lowest_mean(z, k)


def signals(text: str, scores: TokenScores, *, k: float = 0.2,
            lowercase: TokenScores | None = None,
            reference: TokenScores | None = None) -> dict[str, float | None]:
    """All signals of one text from its token scores (optional ones ``None`` when missing)."""
    lp = np.asarray(scores.logprobs, dtype=np.float64)
    keep = ~np.isnan(lp)
    lp = np.maximum(lp[keep], LOGPROB_FLOOR)
    nll = loss(lp)
    out: dict[str, float | None] = {
        "loss": nll,
        "perplexity": math.exp(min(nll, 700.0)),
        "zlib": nll / max(1, zlib_bytes(text)),
        "lowercase_ratio": None,
        "reference_ratio": None,
        "min_k": min_k(lp, k),
        "min_k_plus_plus": None,
    }
    if lowercase is not None and lowercase.logprobs:
        out["lowercase_ratio"] = _ratio(nll, _clean_loss(lowercase.logprobs))
    if reference is not None and reference.logprobs:
        out["reference_ratio"] = _ratio(nll, _clean_loss(reference.logprobs))
    if scores.mean is not None and scores.var is not None:
        mean = np.asarray(scores.mean, dtype=np.float64)[keep]
        var = np.asarray(scores.var, dtype=np.float64)[keep]
        out["min_k_plus_plus"] = min_k_plus_plus(lp, mean, var, k)
    return out


def _clean_loss(logprobs: Sequence[float]) -> float:
    lp = np.asarray(logprobs, dtype=np.float64)
    return loss(np.maximum(lp[~np.isnan(lp)], LOGPROB_FLOOR))


def _ratio(a: float, b: float) -> float | None:
    return a / b if b != 0 else None


def oriented(name: str, value: float) -> float:
    """A signal turned into a "higher means member" score (for AUC / TPR@FPR)."""
    if name not in MEMBER_IF_HIGHER:
        raise ConfigError(f"unknown membership signal '{name}'")
    return value if MEMBER_IF_HIGHER[name] else -value
