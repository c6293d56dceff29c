"""Per-prompt seeded sampling as a ``transformers`` logits processor.

``generate`` draws every row of a batch from torch's one global RNG, so a seeded prompt's
sample would depend on its batch companions, and prompts with different seeds could not share
a batch at all (batches of one are several times slower). This processor gives each row its
own ``torch.Generator`` seeded with the row's seed and does the sampling itself, as
transformers' own sampling does it: temperature, then top-k, then top-p (keeping at least one
token), then one ``torch.multinomial`` draw from the softmax. It returns scores that are 0 for
the drawn token and -inf elsewhere, so ``generate`` runs greedily (``do_sample=False``) and
picks exactly that token. Processors listed before it (penalties, ``min_new_tokens``) apply
first; the raw logits ``generate`` returns with ``output_logits`` are untouched.

A row drawn with seed ``s`` gets the tokens a batch of one would get under
``torch.manual_seed(s)`` with ``do_sample=True`` (same probabilities, same RNG stream).

This module is imported only by the HF target (torch is imported lazily there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def seeded_sampler(seeds: Sequence[int], temperature: float, top_k: int, top_p: float) -> Any:
    """A ``LogitsProcessor`` sampling row ``i`` with a generator seeded ``seeds[i]``."""
    import torch
    from transformers import LogitsProcessor

    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]

    class _SeededSampler(LogitsProcessor):  # type: ignore[misc]
        def __call__(self, input_ids: torch.LongTensor,
                     scores: torch.FloatTensor) -> torch.FloatTensor:
            x = scores.float()
            if temperature != 1.0:
                x = x / temperature
            if top_k and top_k < x.shape[-1]:
                kth = torch.topk(x, top_k, dim=-1).values[..., -1:]
                x = x.masked_fill(x < kth, float("-inf"))
            if top_p < 1.0:
                sorted_x, order = torch.sort(x, descending=False, dim=-1)
                cumulative = sorted_x.softmax(dim=-1).cumsum(dim=-1)
                drop = cumulative <= (1 - top_p)
                drop[..., -1:] = False  # keep at least the most likely token
                x = x.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
            probs = x.softmax(dim=-1).cpu()
            chosen = torch.cat([torch.multinomial(probs[i:i + 1], 1, generator=generators[i])
                                for i in range(probs.shape[0])]).to(scores.device)
            out = torch.full_like(scores, float("-inf"))
            return out.scatter_(1, chosen, 0.0)  # type: ignore[return-value]

    return _SeededSampler()
