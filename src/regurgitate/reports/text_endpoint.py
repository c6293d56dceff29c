"""What a remote target learned about its endpoint (run meta ``endpoint``), as report lines.

Each line is ``(text, warning)``; a warning says a figure cannot be trusted (the endpoint
does not sample) or a protocol ran degraded (``ignore_eos`` without ``min_tokens``).
"""

from __future__ import annotations

from typing import Any

#: figures that need independent samples of one prompt
SAMPLED_FIGURES = ("sample-rank", "(n,p)-extraction on sampled targets", "divergence samples")

_EOS = {
    "min_tokens": ("ignore_eos: sent as min_tokens (vLLM's extension), accepted", False),
    "logit_bias": ("ignore_eos: the endpoint refused min_tokens; end-of-text was suppressed "
                   "with logit_bias -100 on the tokenizer's end-of-text token", True),
    "none": ("ignore_eos: NOT applied (the endpoint refused min_tokens and no tokenizer or "
             "logit_bias was available): generations may stop early", True),
}


def endpoint_lines(notes: Any) -> list[tuple[str, bool]]:
    """Report lines for an ``endpoint`` meta record (empty for local targets)."""
    if not isinstance(notes, dict) or not notes:
        return []
    lines: list[tuple[str, bool]] = []
    sampling = notes.get("sampling") or {}
    if sampling.get("not_sampling"):
        lines.append((
            f"the endpoint is NOT sampling: {sampling.get('identical_pairs')} pairs of samples "
            "of one prompt drawn with different seeds at temperature > 0 came back identical "
            f"(none differed). This invalidates {', '.join(SAMPLED_FIGURES)}.", True))
    eos = notes.get("ignore_eos")
    if eos in _EOS:
        lines.append(_EOS[eos])
    if notes.get("refused"):
        lines.append((f"controls refused by the endpoint and dropped for the run: "
                      f"{', '.join(notes['refused'])}", True))
    if notes.get("honoured"):
        lines.append((f"controls the endpoint accepted: {', '.join(notes['honoured'])}", False))
    cut = notes.get("max_tokens_cut")
    if notes.get("context"):
        text = f"context window {notes['context']} tokens (from {notes.get('context_source')})"
        if cut:
            text += (f"; max_tokens cut to fit it in {cut.get('requests')} requests "
                     f"(smallest {cut.get('smallest')})")
        lines.append((text, False))
    return lines
