"""OpenAI-style frequency and presence penalties as a ``transformers`` logits processor.

transformers ships the multiplicative ``repetition_penalty`` (CTRL / Hugging Face semantics,
over prompt and output) but nothing with OpenAI's additive semantics, which count only the
tokens generated so far::

    logit[t] -= frequency_penalty * count(t) + presence_penalty * (count(t) > 0)

This module is imported only by the HF target (torch is imported lazily there).
"""

from __future__ import annotations

from typing import Any


def openai_penalty_processor(prompt_len: int, frequency: float, presence: float) -> Any:
    """A ``LogitsProcessor`` applying both penalties to tokens after ``prompt_len``."""
    import torch
    from transformers import LogitsProcessor

    class _OpenAIPenalties(LogitsProcessor):  # type: ignore[misc]
        def __call__(self, input_ids: torch.LongTensor,
                     scores: torch.FloatTensor) -> torch.FloatTensor:
            generated = input_ids[:, prompt_len:]
            if generated.shape[1] == 0:
                return scores
            counts = torch.zeros(scores.shape, dtype=scores.dtype, device=scores.device)
            counts.scatter_add_(1, generated, torch.ones_like(generated, dtype=scores.dtype))
            penalty = frequency * counts + presence * (counts > 0).to(scores.dtype)
            return scores - penalty  # type: ignore[return-value]

    return _OpenAIPenalties()
