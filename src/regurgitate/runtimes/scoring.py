"""Token-level scores of texts under a model, for membership signals.

A :class:`Scorer` returns, per text, the log-probability of each token given the tokens
before it and, when it sees the whole next-token distribution, that distribution's mean and
variance of log-probabilities (``mean[t] = sum_z p(z) log p(z)``, ``var[t] = sum_z p(z)
log p(z)^2 - mean[t]^2``), which min-k%++ needs. :class:`HFScorer` is the Hugging Face
implementation (torch and transformers are imported when it is built; extra ``hf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from regurgitate.errors import ConfigError

if TYPE_CHECKING:
    from regurgitate.runtimes.causal_lm import CausalLM


@dataclass(frozen=True)
class TokenScores:
    """Scores of one text: ``logprobs[i]`` is log p(token_ids[i] | earlier tokens)."""

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    mean: tuple[float, ...] | None = None
    var: tuple[float, ...] | None = None


class Scorer(Protocol):
    def score(self, texts: Sequence[str]) -> list[TokenScores]: ...


def distribution_stats(logits: np.ndarray, token_ids: Sequence[int] | np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From ``(T, V)`` next-token logits and the ``T`` tokens that followed: the tokens'
    log-probabilities and the mean and variance of log p under each distribution."""
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"logits must be a (tokens, vocab) array, got shape {x.shape}")
    ids = np.asarray(token_ids, dtype=np.int64)
    if ids.shape != (x.shape[0],):
        raise ConfigError(f"{ids.size} token ids for {x.shape[0]} rows of logits")
    shifted = x - x.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    mean = (p * logp).sum(axis=1)
    var = np.maximum((p * logp**2).sum(axis=1) - mean**2, 0.0)
    return logp[np.arange(ids.size), ids], mean, var


class HFScorer:
    """Scores standalone texts with a local causal LM
    (:class:`~regurgitate.runtimes.causal_lm.CausalLM`).

    Texts follow the core's BOS rule for standalone texts: with a BOS token every token of
    the text is scored; without one the first token has no context and is left out. Texts are
    cut to the model's context.
    """

    def __init__(self, model_dir: str | Path, *, device: str = "cpu", dtype: str | None = None,
                 batch_size: int = 8) -> None:
        from regurgitate.runtimes.causal_lm import CausalLM, import_torch_transformers

        import_torch_transformers("scoring texts with a model")
        path = Path(model_dir)
        if not path.is_dir():
            raise ConfigError(f"no model directory at {path}")
        self.lm = CausalLM.load(path, device=device, dtype=dtype, batch_size=batch_size,
                                local_files_only=True, error=ConfigError)

    @classmethod
    def from_lm(cls, lm: CausalLM) -> HFScorer:
        """A scorer over a model already loaded (e.g. by the HF target: no second copy)."""
        scorer = cls.__new__(cls)
        scorer.lm = lm
        return scorer

    @property
    def tokenizer(self) -> Any:
        return self.lm.tokenizer

    def plain_ids(self, text: str) -> list[int]:
        """``text``'s token ids under the model's tokenizer, no special tokens added."""
        return [int(i) for i in self.lm.tokenizer(text, add_special_tokens=False)["input_ids"]]

    @property
    def model(self) -> Any:
        return self.lm.model

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        lm = self.lm
        torch = lm._torch
        encoded = [lm.encode_text(t) for t in texts]
        out: list[TokenScores] = [TokenScores((), ()) for _ in encoded]
        scorable = [i for i, e in enumerate(encoded) if len(e) >= 2]
        for j, logits in lm.logits([encoded[i] for i in scorable]):
            e = encoded[scorable[j]]
            target = torch.tensor(e[1:], dtype=torch.long)
            chosen, mean, var = lm.step_stats(torch, logits[:-1], target)
            out[scorable[j]] = TokenScores(
                token_ids=tuple(e[1:]),
                logprobs=tuple(float(v) for v in chosen.cpu()),
                mean=tuple(float(v) for v in mean.cpu()),
                var=tuple(float(v) for v in var.cpu()),
            )
        return out
