"""(n, p)-discoverable extraction (Hayes et al. 2024; Cooper et al. 2025).

For a true (prefix, suffix) pair, ``p`` is the probability that one sample from the target,
decoded with a given sampling scheme (temperature, top-k, top-p), emits exactly the true
suffix after the prefix: the product over suffix tokens of each token's probability under
the *sampling* distribution (logits divided by the temperature, cut to the top-k tokens and
to the smallest set whose probability reaches top-p, renormalized), with teacher forcing on
the true tokens. Temperature 0 is greedy decoding: each factor is 1 when the true token is
the argmax and 0 otherwise.

``n`` is the number of independent samples needed for at least one to emit the suffix with
probability ``q``: the least n with ``1 - (1 - p)^n >= q`` (reported for q = 0.5 and 0.9).

A scorer computes ``log p`` under a model (for a local Hugging Face model:
:meth:`regurgitate.runtimes.scoring.HFScorer.suffix_logprobs`); this module is the arithmetic,
free of any model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regurgitate.errors import ConfigError


@dataclass(frozen=True)
class Sampling:
    """A sampling scheme: ``temperature`` 0 means greedy; ``top_k`` 0 and ``top_p`` 1 mean
    no cut."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ConfigError(f"bad sampling scheme {self}: need temperature >= 0, "
                              "top_k >= 0, 0 < top_p <= 1")

    def describe(self) -> str:
        if self.temperature == 0:
            return "greedy"
        parts = [f"temperature {self.temperature:g}"]
        if self.top_k:
            parts.append(f"top-k {self.top_k}")
        if self.top_p < 1:
            parts.append(f"top-p {self.top_p:g}")
        return ", ".join(parts)


def sampling_logprobs(logits: np.ndarray, token_ids: Sequence[int] | np.ndarray,
                      sampling: Sampling) -> np.ndarray:
    """Log-probability of each ``token_ids[t]`` under the sampling distribution built from
    row ``t`` of ``logits`` (shape ``(T, V)``); ``-inf`` where sampling cannot emit it."""
    x = np.asarray(logits, dtype=np.float64)
    ids = np.asarray(token_ids, dtype=np.int64)
    if x.ndim != 2 or ids.shape != (x.shape[0],):
        raise ConfigError(f"need (T, V) logits and T ids, got {x.shape} and {ids.shape}")
    rows = np.arange(ids.size)
    if sampling.temperature == 0:
        best = x.max(axis=1)
        return np.where(x[rows, ids] >= best, 0.0, -np.inf)  # ties: the true token counts
    z = x / sampling.temperature
    keep = np.ones_like(z, dtype=bool)
    if sampling.top_k and sampling.top_k < z.shape[1]:
        kth = np.partition(z, -sampling.top_k, axis=1)[:, -sampling.top_k][:, None]
        keep &= z >= kth
    z = np.where(keep, z, -np.inf)
    logp = z - z.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    if sampling.top_p < 1:
        # keep the most probable tokens up to and including the one whose cumulative
        # probability reaches top_p (as transformers' TopPLogitsWarper does)
        order = np.argsort(-logp, axis=1, kind="stable")
        sorted_p = np.exp(np.take_along_axis(logp, order, axis=1))
        before = np.cumsum(sorted_p, axis=1) - sorted_p
        drop_sorted = before >= sampling.top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=1)
        z = np.where(drop, -np.inf, logp)
        logp = z - z.max(axis=1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    chosen: np.ndarray = logp[rows, ids]
    return chosen


def samples_needed(log_p: float, q: float) -> int | None:
    """Least n with ``1 - (1 - p)^n >= q``; None when p is 0 (no number of samples does)."""
    if not 0 < q < 1:
        raise ConfigError(f"q must be within (0, 1), got {q}")
    if log_p == -math.inf or math.isnan(log_p):
        return None
    if log_p >= 0:
        return 1
    # log(1 - p), stable for p near 0 and near 1
    log1m = math.log(-math.expm1(log_p)) if log_p > -0.693 else math.log1p(-math.exp(log_p))
    if log1m == 0:
        return None  # p below float resolution
    return max(1, math.ceil(math.log1p(-q) / log1m - 1e-12))


@dataclass(frozen=True)
class ExtractionProbability:
    """``log_p``: log-probability that one sample emits the true suffix; ``n50``/``n90``:
    samples for a 50% / 90% chance of at least one exact emission (None: never)."""

    log_p: float
    suffix_tokens: int
    sampling: Sampling

    @property
    def p(self) -> float:
        return math.exp(self.log_p) if self.log_p > -math.inf else 0.0

    @property
    def n50(self) -> int | None:
        return samples_needed(self.log_p, 0.5)

    @property
    def n90(self) -> int | None:
        return samples_needed(self.log_p, 0.9)

    def as_dict(self) -> dict[str, Any]:
        lp = self.log_p
        return {"p": self.p, "log_p": lp if math.isfinite(lp) else None,
                "n50": self.n50, "n90": self.n90, "suffix_tokens": self.suffix_tokens,
                "sampling": self.sampling.describe()}
