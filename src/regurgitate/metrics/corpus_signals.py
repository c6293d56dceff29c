"""Membership signals calibrated by a reference corpus or a non-member prefix.

* ``dc_pdd`` (Zhang et al. 2024, "Pretraining Data Detection for Large Language Models: A
  Divergence-based Calibration Method"): for the first occurrence of each distinct token of
  the text, ``c = p(x_i | x_<i) * log(1 / f(x_i))``, clipped at ``a`` (default 0.01, the
  authors' default); the score is ``mean(c)``, higher meaning member. ``f`` is the token's
  frequency in a reference corpus with add-one smoothing, ``(count + 1) / (total + V)``.
  regurgitate takes the counts from the corpus index (the exact training corpus when the
  index is the training corpus's) or from a frequency file.
* ``recall`` (Xie et al. 2024, ReCaLL): ``LL(x | P) / LL(x)`` with ``LL`` the mean
  log-likelihood per token of the text and ``P`` a prefix of non-member text; members lose
  more likelihood under a non-member prefix, so higher means member.

Both take token-level figures a scorer produced (:mod:`regurgitate.runtimes.scoring`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from regurgitate.errors import ConfigError

if TYPE_CHECKING:
    from regurgitate.index.query import CorpusIndex

DC_PDD_CLIP = 0.01
FREQUENCY_FORMAT = "regurgitate-token-frequencies/1"


def smoothed_frequencies(counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """Add-one smoothed token frequencies ``(count + 1) / (total + V)``."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size == 0 or np.any(c < 0):
        raise ConfigError("token counts must be a non-empty vector of non-negative numbers")
    out: np.ndarray = (c + 1.0) / (c.sum() + c.size)
    return out


def first_occurrences(token_ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct token, in text order."""
    ids = np.asarray(token_ids, dtype=np.int64)
    _, first = np.unique(ids, return_index=True)
    return np.sort(first)


def dc_pdd(token_ids: Sequence[int] | np.ndarray, logprobs: Sequence[float] | np.ndarray,
           frequencies: np.ndarray, a: float = DC_PDD_CLIP) -> float:
    """DC-PDD score of one text (higher means member); ``logprobs[i]`` is log p of
    ``token_ids[i]`` given the tokens before it, ``frequencies`` smoothed (sums to 1)."""
    ids = np.asarray(token_ids, dtype=np.int64)
    lp = np.asarray(logprobs, dtype=np.float64)
    if ids.shape != lp.shape or ids.size == 0:
        raise ConfigError(f"{ids.size} token ids for {lp.size} log-probabilities")
    if a <= 0:
        raise ConfigError(f"the DC-PDD clip a must be positive, got {a}")
    if ids.max() >= frequencies.size or ids.min() < 0:
        raise ConfigError(f"token id {int(ids.max())} is outside the frequency table "
                          f"({frequencies.size} entries)",
                          hint="the frequencies must come from the model's tokenizer")
    first = first_occurrences(ids)
    c = np.exp(lp[first]) * -np.log(frequencies[ids[first]])
    return float(np.minimum(c, a).mean())


def mean_log_likelihood(logprobs: Sequence[float] | np.ndarray) -> float:
    lp = np.asarray(logprobs, dtype=np.float64)
    if lp.size == 0:
        raise ConfigError("no token scores")
    return float(lp.mean())


def recall_score(conditional_logprobs: Sequence[float] | np.ndarray,
                 logprobs: Sequence[float] | np.ndarray) -> float:
    """ReCaLL: ``LL(x | non-member prefix) / LL(x)`` (higher means member)."""
    ll = mean_log_likelihood(logprobs)
    if ll == 0.0:
        raise ConfigError("the text's log-likelihood is 0; ReCaLL is undefined")
    return mean_log_likelihood(conditional_logprobs) / ll


def index_token_counts(index: CorpusIndex, vocab_size: int | None = None) -> np.ndarray:
    """How often each token id occurs in a local corpus index (all documents, all shards)."""
    size = int(vocab_size or index.tokenizer.vocab_size)
    counts = np.zeros(size, dtype=np.int64)
    for doc in range(index.num_docs):
        toks = np.asarray(index.document_tokens(doc), dtype=np.int64)
        if toks.size and int(toks.max()) >= size:
            raise ConfigError(f"the index holds token id {int(toks.max())} beyond the "
                              f"vocabulary of {size}")
        counts += np.bincount(toks, minlength=size)
    return counts


def write_frequency_file(path: Path, counts: np.ndarray, source: str) -> None:
    """Token counts as JSON (``format``, ``source``, ``total``, ``counts``)."""
    body = {"format": FREQUENCY_FORMAT, "source": source, "total": int(counts.sum()),
            "counts": [int(c) for c in counts]}
    path.write_text(json.dumps(body), encoding="utf-8")


def read_frequency_file(path: Path) -> np.ndarray:
    """Token counts from :func:`write_frequency_file`'s JSON, or a plain JSON list."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read token frequencies from {path}: {exc}") from exc
    counts = raw.get("counts") if isinstance(raw, dict) else raw
    if not isinstance(counts, list) or not all(isinstance(c, int) and c >= 0 for c in counts):
        raise ConfigError(f"{path} holds no list of token counts",
                          hint="write one with regurgitate.metrics.corpus_signals."
                          "write_frequency_file")
    return np.asarray(counts, dtype=np.int64)


def index_frequencies(index: object, scorer: object, *,
                      max_tokens: int = 200_000_000) -> np.ndarray | None:
    """Smoothed token frequencies of a local corpus index for DC-PDD, when the index tokenizes
    as ``scorer``'s model does (its ``plain_ids``, checked on a probe text; a scorer run by a
    Ray replica asks the replica) and holds at most ``max_tokens``;
    None otherwise (a remote index, another tokenizer, a corpus too large to count here)."""
    from regurgitate.index.query import CorpusIndex

    if not isinstance(index, CorpusIndex) or index.num_tokens > max_tokens:
        return None
    plain_ids = getattr(scorer, "plain_ids", None)  # the model's ids, no special tokens
    probe = "Membership probe: def f(x): return x ** 2  # naïve"
    try:
        same = plain_ids is not None and \
            [int(i) for i in index.tokenizer.encode(probe)] == [int(i) for i in plain_ids(probe)]
    except (TypeError, ValueError, KeyError):
        same = False
    return smoothed_frequencies(index_token_counts(index)) if same else None
