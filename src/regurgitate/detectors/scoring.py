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
from typing import Any, Protocol

import numpy as np

from regurgitate.errors import ConfigError, MissingDependencyError


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
    """Scores texts with a local causal language model (``save_pretrained`` directory).

    When the tokenizer has a BOS token it is prepended, so every token of the text is scored;
    otherwise the first token has no context and is left out. Texts are cut to ``max_length``
    tokens (default: the model's context size).
    """

    def __init__(self, model_dir: str | Path, *, device: str = "cpu", batch_size: int = 8,
                 max_length: int | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError("transformers", "hf", "scoring texts with a model") \
                from exc
        path = Path(model_dir)
        if not path.is_dir():
            raise ConfigError(f"no model directory at {path}")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load a causal LM from {path}: {exc}") from exc
        self._setup(model, tokenizer, torch, device, batch_size, max_length)

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, *, device: str = "cpu",
                    batch_size: int = 8, max_length: int | None = None) -> HFScorer:
        """A scorer over a model and tokenizer already loaded (e.g. by the HF target)."""
        import torch

        scorer = cls.__new__(cls)
        scorer._setup(model, tokenizer, torch, device, batch_size, max_length)
        return scorer

    def _setup(self, model: Any, tokenizer: Any, torch: Any, device: str, batch_size: int,
               max_length: int | None) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.model.to(device).eval()
        self._torch: Any = torch
        self.device = device
        self.batch_size = max(1, batch_size)
        ctx = getattr(self.model.config, "n_positions", None) or getattr(
            self.model.config, "max_position_embeddings", None) or 1024
        self.max_length = int(max_length or ctx)

    def _encode(self, text: str) -> list[int]:
        ids = [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]
        bos = self.tokenizer.bos_token_id
        if bos is not None:
            ids = [int(bos)] + ids
        return ids[:self.max_length]

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        torch = self._torch
        out: list[TokenScores] = []
        pad = self.tokenizer.pad_token_id
        pad = int(pad) if pad is not None else 0
        for b in range(0, len(texts), self.batch_size):
            encoded = [self._encode(t) for t in texts[b:b + self.batch_size]]
            width = max((len(e) for e in encoded), default=0)
            if width < 2:
                out.extend(TokenScores((), ()) for _ in encoded)
                continue
            ids = torch.full((len(encoded), width), pad, dtype=torch.long)
            mask = torch.zeros((len(encoded), width), dtype=torch.long)
            for i, e in enumerate(encoded):
                ids[i, :len(e)] = torch.tensor(e, dtype=torch.long)
                mask[i, :len(e)] = 1
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(self.device),
                                    attention_mask=mask.to(self.device)).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            p = logp.exp()
            mean = (p * logp).sum(-1)
            var = ((p * logp**2).sum(-1) - mean**2).clamp_min(0.0)
            target = ids[:, 1:].to(self.device)
            chosen = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            for i, e in enumerate(encoded):
                n = len(e) - 1
                out.append(TokenScores(
                    token_ids=tuple(int(t) for t in e[1:]),
                    logprobs=tuple(float(v) for v in chosen[i, :n].cpu()),
                    mean=tuple(float(v) for v in mean[i, :n].cpu()),
                    var=tuple(float(v) for v in var[i, :n].cpu()),
                ))
        return out
