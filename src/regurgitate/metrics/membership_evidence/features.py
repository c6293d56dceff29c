"""Every membership signal of a set of texts under a local causal LM, as a feature matrix.

Signals (all oriented "higher means member" in the matrix): ``loss``, ``zlib``, ``min_k``,
``min_k_plus_plus``, ``lowercase_ratio`` (from :mod:`regurgitate.detectors.membership`),
``dc_pdd`` when token frequencies are given and ``recall`` when a non-member prefix is given
(:mod:`regurgitate.metrics.corpus_signals`). Each text is scored standalone (BOS + text,
the core's rule); ReCaLL scores BOS + prefix + text and compares the same text tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.metrics.corpus_signals import DC_PDD_CLIP, dc_pdd, recall_score
from regurgitate.metrics.membership_signals import LOGPROB_FLOOR, signals
from regurgitate.runtimes.scoring import HFScorer

#: orientation of every signal a feature matrix may hold
MEMBER_IF_HIGHER: dict[str, bool] = {
    "loss": False, "zlib": False, "min_k": True, "min_k_plus_plus": True,
    "lowercase_ratio": False, "dc_pdd": True, "recall": True,
}
#: tokens of the ReCaLL prefix at most (the rest of the context is left to the text)
PREFIX_TOKENS = 192


@dataclass(frozen=True)
class FeatureMatrix:
    """``values[i, j]``: signal ``names[j]`` of text ``i``, oriented higher = member."""

    names: tuple[str, ...]
    values: np.ndarray
    raw: np.ndarray  # the same, as each signal is defined (not oriented)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def take(self, rows: Sequence[int] | np.ndarray) -> FeatureMatrix:
        idx = np.asarray(rows, dtype=np.int64)
        return FeatureMatrix(self.names, self.values[idx], self.raw[idx])


def build_prefix(scorer: HFScorer, texts: Sequence[str], max_tokens: int = PREFIX_TOKENS
                 ) -> list[int]:
    """Token ids (no BOS) of non-member texts joined by blank lines, cut to ``max_tokens``
    at the end of the last whole text that fits (at least the first text, cut)."""
    if not texts:
        raise ConfigError("ReCaLL needs at least one non-member text for its prefix")
    ids: list[int] = []
    for t in texts:
        more = _ids(scorer, t + "\n\n")
        if ids and len(ids) + len(more) > max_tokens:
            break
        ids.extend(more)
    return ids[:max_tokens]


def _ids(scorer: HFScorer, text: str) -> list[int]:
    return [int(i) for i in scorer.tokenizer(text, add_special_tokens=False)["input_ids"]]


def conditional_logprobs(scorer: HFScorer, prefix: Sequence[int], texts: Sequence[str]
                         ) -> list[tuple[list[int], np.ndarray]]:
    """Per text: its token ids (cut so BOS + prefix + text fits the context) and their
    log-probabilities after BOS + ``prefix``."""
    lm = scorer.lm
    torch = lm._torch
    head = ([lm.bos_id] if lm.bos_id is not None else []) + list(prefix)
    room = lm.max_length - len(head)
    if room < 2:
        raise ConfigError(f"a prefix of {len(prefix)} tokens leaves no room in the model's "
                          f"context of {lm.max_length}")
    bodies = [_ids(scorer, t)[:room] for t in texts]
    out: list[tuple[list[int], np.ndarray]] = [([], np.zeros(0)) for _ in texts]
    live = [i for i, b in enumerate(bodies) if b]
    for j, logits in lm.logits([head + bodies[i] for i in live]):
        body = bodies[live[j]]
        rows = logits[len(head) - 1:len(head) - 1 + len(body)]
        picked, _, _ = lm.step_stats(torch, rows, torch.tensor(body, dtype=torch.long))
        out[live[j]] = (body, picked.cpu().numpy().astype(np.float64))
    return out


def text_features(scorer: HFScorer, texts: Sequence[str], *,
                  frequencies: np.ndarray | None = None, prefix: Sequence[int] | None = None,
                  k: float = 0.2, a: float = DC_PDD_CLIP) -> FeatureMatrix:
    """The signals of every text (three forward passes per text with a prefix, else two)."""
    if not texts:
        raise ConfigError("no texts to score")
    own = scorer.score(list(texts))
    lower = scorer.score([t.lower() for t in texts])
    cond = conditional_logprobs(scorer, prefix, texts) if prefix is not None else None
    names = ["loss", "zlib", "min_k", "min_k_plus_plus", "lowercase_ratio"]
    if frequencies is not None:
        names.append("dc_pdd")
    if cond is not None:
        names.append("recall")
    raw = np.full((len(texts), len(names)), np.nan)
    for i, text in enumerate(texts):
        sc = own[i]
        if len(sc.logprobs) == 0:
            raise ConfigError(f"text {i} has no scorable tokens")
        sig = signals(text, sc, k=k, lowercase=lower[i])
        row: dict[str, float | None] = {n: sig.get(n) for n in names[:5]}
        lp = np.maximum(np.asarray(sc.logprobs, dtype=np.float64), LOGPROB_FLOOR)
        if frequencies is not None:
            row["dc_pdd"] = dc_pdd(sc.token_ids, lp, frequencies, a)
        if cond is not None:
            body, clp = cond[i]
            n = min(len(body), lp.size)
            row["recall"] = recall_score(np.maximum(clp[:n], LOGPROB_FLOOR), lp[:n])
        raw[i] = [np.nan if row[n] is None else float(row[n] or 0.0) for n in names]
    keep = [j for j in range(len(names)) if np.all(np.isfinite(raw[:, j]))]
    names = [names[j] for j in keep]
    raw = raw[:, keep]
    sign = np.array([1.0 if MEMBER_IF_HIGHER[n] else -1.0 for n in names])
    return FeatureMatrix(tuple(names), raw * sign, raw)
