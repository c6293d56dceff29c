"""Scores of texts under a model: the one scorer family.

Two capabilities, each a protocol a backend may give (``Target.scorer()`` and
``Target.suffix_scorer()`` are how callers get them):

- a :class:`Scorer` scores standalone texts (membership signals);
- a :class:`SuffixScorer` gives ``log p`` that a sample emits a true suffix after a prompt
  under a sampling scheme (the (n, p) figures, :mod:`regurgitate.runtimes.sampling`).

:class:`HFScorer` is both, over a local Hugging Face causal LM (torch and transformers are
imported when it is built; extra ``hf``); an executor's replica gives its own remote copies.

A :class:`Scorer` returns, per text, the log-probability of each token given the tokens
before it and, when it sees the whole next-token distribution, that distribution's mean and
variance of log-probabilities (``mean[t] = sum_z p(z) log p(z)``, ``var[t] = sum_z p(z)
log p(z)^2 - mean[t]^2``), which min-k%++ needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.runtimes.sampling import ExtractionProbability, Sampling, sampling_logprobs

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
    """Scores standalone texts, token by token."""

    def score(self, texts: Sequence[str]) -> list[TokenScores]: ...


class SuffixScorer(Protocol):
    """What the discoverable and audit detectors need for (n, p): the text a target is fed
    for a prompt, and ``log p`` of true suffixes after such texts (:class:`HFScorer` in this
    process, or a model copy on an executor's replica)."""

    def prompt_text(self, prompt: Any) -> str: ...

    def suffix_logprobs(self, pairs: Sequence[tuple[str, str]],
                        sampling: Sampling) -> list[ExtractionProbability]: ...


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
    """Scores texts and true suffixes with a local causal LM
    (:class:`~regurgitate.runtimes.causal_lm.CausalLM`): a :class:`Scorer` and a
    :class:`SuffixScorer`.

    Built from a model directory, over a model already loaded (:meth:`from_lm`, the HF
    target's own: no second copy) or over a transformers ``model``/``tokenizer`` pair
    (:meth:`from_model`).

    Standalone texts (:meth:`score`) follow the core's BOS rule for standalone texts: with a
    BOS token every token of the text is scored; without one the first token has no context
    and is left out. A prompt (:meth:`suffix_logprobs`) is encoded as the target encodes it
    (the core's BOS rule for prompts: a BOS written at its start as text becomes the BOS
    token); the suffix tokens are those that follow the prompt's tokens in the encoding of
    prompt + suffix. Texts and pairs are cut to the model's context.
    """

    lm: CausalLM
    _render: Any = None

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
    def from_lm(cls, lm: CausalLM, *, render: Any | None = None) -> HFScorer:
        """A scorer over a model already loaded (e.g. by the HF target: no second copy);
        ``render`` is the target's own prompt rendering, when it has one."""
        scorer = cls.__new__(cls)
        scorer.lm = lm
        scorer._render = render
        return scorer

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, device: str = "cpu",
                   batch_size: int = 16, render: Any | None = None) -> HFScorer:
        """A scorer over a loaded transformers ``model`` and ``tokenizer``."""
        from regurgitate.runtimes.causal_lm import CausalLM, import_torch_transformers

        import_torch_transformers("scoring texts with a model")
        return cls.from_lm(CausalLM(model, tokenizer, device=device, batch_size=batch_size),
                           render=render)

    @classmethod
    def from_target(cls, target: Any) -> HFScorer | None:
        """A scorer sharing a target's model, or None when the target has no local model."""
        lm = getattr(target, "lm", None)
        if lm is None:
            return None
        return cls.from_lm(lm, render=getattr(target, "render", None))

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

    def prompt_text(self, prompt: Any) -> str:
        """The exact text the target is fed for ``prompt`` (its own rendering when known)."""
        if self._render is not None:
            return str(self._render(prompt))
        return str(prompt.as_text())

    def suffix_logprobs(self, pairs: Sequence[tuple[str, str]],
                        sampling: Sampling) -> list[ExtractionProbability]:
        """One :class:`ExtractionProbability` per (prompt text, true suffix text), by teacher
        forcing, batched."""
        lm = self.lm
        seqs = [lm.fit(*lm.encode_continuation(p, s)) for p, s in pairs]
        out: list[ExtractionProbability] = []
        for i, logits in lm.logits([p + s for p, s in seqs]):
            p, s = seqs[i]
            if not s:
                out.append(ExtractionProbability(-math.inf, 0, sampling))
                continue
            rows = logits[len(p) - 1:len(p) - 1 + len(s)].cpu().numpy()
            lp = sampling_logprobs(rows, s, sampling)
            out.append(ExtractionProbability(float(lp.sum()), len(s), sampling))
        return out
