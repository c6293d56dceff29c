"""One causal-LM core: loading, dtype, the BOS rule, context length and batched log-probs.

Used by the Hugging Face target (:mod:`regurgitate.targets.hf`) and the scorer of texts and
true suffixes (:class:`regurgitate.runtimes.scoring.HFScorer`), so they agree on how a text
becomes token ids and how those ids are scored.

The BOS rule, in two cases:

* a **standalone text** (membership scoring) is encoded without the tokenizer's special tokens
  and gets the BOS token first when the tokenizer has one, so every token of the text has a
  context and is scored; without a BOS the first token has none and is not scored;
* a **prompt** (generation, suffix scoring) is encoded exactly as the tokenizer encodes it by
  default, i.e. as the target feeds it to the model.

Sequences longer than the model's context are cut: standalone texts keep their start, a
prompt + continuation keeps the end of the prompt (see :meth:`CausalLM.fit`).

torch and transformers are imported when a model is loaded (extra ``hf``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from regurgitate.errors import (
    ConfigError,
    RegurgitateError,
    TargetError,
    optional_import,
)
from regurgitate.runtimes.devices import compute_dtype, module_runtime


def import_torch_transformers(feature: str = "the Hugging Face target") -> tuple[Any, Any]:
    torch = optional_import("torch", extra="hf", purpose=feature)
    return torch, optional_import("transformers", extra="hf", purpose=feature)


def context_length(model: Any, default: int = 1024) -> int:
    """The number of positions the model attends over."""
    config = getattr(model, "config", None)
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


class CausalLM:
    """A loaded causal LM with its tokenizer, on one device, in one dtype.

    ``model`` and ``tokenizer`` are the transformers objects (public, so a target and its
    scorers share one copy). ``batch_size`` bounds a forward pass.
    """

    def __init__(self, model: Any, tokenizer: Any, *, device: str = "cpu",
                 batch_size: int = 8, max_length: int | None = None) -> None:
        import torch

        self._torch: Any = torch
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.max_length = int(max_length or context_length(model))
        bos = tokenizer.bos_token_id
        self.bos_id: int | None = int(bos) if bos is not None else None
        #: whether the tokenizer's default encoding starts with the BOS token itself
        self.adds_bos = self.bos_id is not None and \
            list(tokenizer("x")["input_ids"][:1]) == [self.bos_id]

    @classmethod
    def load(cls, location: str | Path, *, device: str = "cpu", dtype: str | None = None,
             batch_size: int = 8, trust_remote_code: bool = False,
             local_files_only: bool | None = None,
             error: type[RegurgitateError] = TargetError) -> CausalLM:
        """Load ``AutoModelForCausalLM`` + ``AutoTokenizer`` from a directory (or a hub id),
        in the dtype of :func:`regurgitate.runtimes.devices.compute_dtype`, moved to ``device``."""
        torch, transformers = import_torch_transformers()
        where = str(location)
        if local_files_only is None:
            local_files_only = Path(where).exists()
        load_kw: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if local_files_only:
            load_kw["local_files_only"] = True
        torch_dtype = compute_dtype(torch, dtype, device)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(where, **load_kw)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                where, dtype=torch_dtype, **load_kw)
        except (OSError, ValueError, AttributeError) as exc:
            detail = " ".join(str(exc).split())  # libraries' messages span lines
            raise error(f"cannot load model {where!r}: {detail}",
                        hint="pass a directory written by save_pretrained, or a hub id you "
                        "can reach") from exc
        try:
            model = model.to(device).eval()
        except (RuntimeError, AssertionError, ValueError) as exc:
            raise error(f"cannot move the model to device {device!r}: {exc}") from exc
        return cls(model, tokenizer, device=device, batch_size=batch_size)

    @property
    def runtime(self) -> dict[str, str]:
        """The device and dtype the model actually computes in."""
        return module_runtime(self.model)

    # ------------------------------------------------------------------ the BOS rule

    def encode_text(self, text: str) -> list[int]:
        """A standalone text: BOS (when the tokenizer has one) + the text's tokens, cut to
        the context."""
        ids = [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]
        if self.bos_id is not None:
            ids = [self.bos_id, *ids]
        return ids[:self.max_length]

    def encode_prompt(self, text: str) -> list[int]:
        """A prompt, as the target feeds it (the tokenizer's default encoding)."""
        return [int(i) for i in self.tokenizer(text)["input_ids"]]

    def encode_continuation(self, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
        """Prompt ids and the ids that follow them in the encoding of prompt + continuation
        (the continuation encoded alone when the prompt's ids are not a prefix of that)."""
        p_ids = self.encode_prompt(prompt)
        both = self.encode_prompt(prompt + continuation)
        if both[:len(p_ids)] == p_ids and len(both) > len(p_ids):
            return p_ids, both[len(p_ids):]
        return p_ids, [int(i) for i in
                       self.tokenizer(continuation, add_special_tokens=False)["input_ids"]]

    def fit(self, prompt: Sequence[int], continuation: Sequence[int]
            ) -> tuple[list[int], list[int]]:
        """Cut prompt + continuation to the context: the continuation keeps its start and
        leaves at least one prompt token; the prompt keeps its end."""
        keep_prompt = max(1, min(len(prompt), self.max_length - len(continuation)))
        return list(prompt[-keep_prompt:]), list(continuation[:self.max_length - keep_prompt])

    # ------------------------------------------------------------------ scoring

    def logits(self, sequences: Sequence[Sequence[int]]) -> Iterator[tuple[int, Any]]:
        """``(i, logits)`` for each sequence ``i``: a float32 ``(len, vocab)`` tensor whose
        row ``t`` is the next-token distribution after ``sequences[i][:t + 1]``. Batched by
        ``batch_size`` with right padding; sequences must fit the context."""
        torch = self._torch
        pad = self.tokenizer.pad_token_id
        pad = int(pad) if pad is not None else 0
        for b in range(0, len(sequences), self.batch_size):
            chunk = [list(s) for s in sequences[b:b + self.batch_size]]
            width = max((len(s) for s in chunk), default=0)
            if width == 0:
                for i in range(len(chunk)):
                    yield b + i, torch.zeros((0, 0))
                continue
            if width > self.max_length:
                raise ConfigError(f"a sequence of {width} tokens exceeds the model's context "
                                  f"of {self.max_length}")
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for i, s in enumerate(chunk):
                if s:
                    ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
                    mask[i, :len(s)] = 1
            with torch.inference_mode():
                out = self.model(input_ids=ids.to(self.device),
                                 attention_mask=mask.to(self.device)).logits
            for i, s in enumerate(chunk):
                yield b + i, out[i, :len(s)].float()

    @staticmethod
    def step_stats(torch: Any, logits: Any, chosen: Any) -> tuple[Any, Any, Any]:
        """From ``(..., vocab)`` raw logits and the ids chosen after them: the chosen ids'
        log-probs and the mean and variance of log p under each distribution (what min-k%++
        needs), all float32 tensors of the leading shape."""
        logp = torch.log_softmax(logits.float(), dim=-1)
        p = logp.exp()
        mean = (p * logp).sum(-1)
        var = ((p * logp * logp).sum(-1) - mean * mean).clamp_min(0.0)
        picked = logp.gather(-1, chosen.unsqueeze(-1).to(logp.device)).squeeze(-1)
        return picked, mean, var
