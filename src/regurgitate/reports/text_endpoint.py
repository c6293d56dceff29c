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


#: figures that need the endpoint's own log-probs of what it generated
LOGPROB_FIGURES = ("membership signals of the endpoint's own log-probs (loss, zlib, min-k%, "
                   "min-k%++, DC-PDD)")


def _fields(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in values.items())


def _controls(notes: dict[str, Any]) -> list[tuple[str, bool]]:
    """Three states: honoured (effect shown), accepted but unverified, refused."""
    controls = notes.get("controls")
    if not isinstance(controls, dict):  # runs recorded before controls were verified
        lines = []
        if notes.get("refused"):
            lines.append((f"controls refused by the endpoint and dropped for the run: "
                          f"{', '.join(notes['refused'])}", True))
        if notes.get("honoured"):
            lines.append((f"controls the endpoint accepted (not verified): "
                          f"{', '.join(notes['honoured'])}", False))
        return lines
    lines = []
    by_state: dict[str, list[str]] = {"honoured": [], "unverified": [], "refused": []}
    for name, rec in controls.items():
        if isinstance(rec, dict) and rec.get("state") in by_state:
            by_state[rec["state"]].append(name)
    if by_state["honoured"]:
        lines.append(("controls honoured (effect shown): " + "; ".join(
            f"{n} ({controls[n].get('evidence', '')})" for n in by_state["honoured"]), False))
    if by_state["unverified"]:
        parts = []
        for n in by_state["unverified"]:
            attacks = controls[n].get("attacks") or []
            rests = f"; figures of {', '.join(attacks)} rest on it" if attacks else ""
            parts.append(f"{n} ({controls[n].get('evidence', '')}{rests})")
        lines.append(("controls accepted but UNVERIFIED (no effect shown): " + "; ".join(parts),
                      True))
    refused = list(dict.fromkeys([*by_state["refused"], *(notes.get("refused") or [])]))
    if refused:
        lines.append((f"controls refused by the endpoint and dropped for the run: "
                      f"{', '.join(refused)}", True))
    return lines


def endpoint_not_computed(notes: Any) -> list[tuple[str, str]]:
    """``(figure, reason)`` of figures an endpoint left without their input (no log-probs)."""
    if not isinstance(notes, dict):
        return []
    lp = notes.get("logprobs")
    if isinstance(lp, dict) and lp.get("asked") and not lp.get("received"):
        return [(LOGPROB_FIGURES, f"the endpoint returned no log-probs in {lp.get('asked')} "
                 "answers that asked for them")]
    return []


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
    if notes.get("family"):
        text = f"server family {notes['family']} (from {notes.get('family_source')})"
        if isinstance(notes.get("neutral"), dict) and notes["neutral"]:
            text += f"; neutral samplers sent on every request: {_fields(notes['neutral'])}"
        lines.append((text, False))
    elif isinstance(notes.get("neutral"), dict) and notes["neutral"]:
        lines.append((f"neutral samplers sent on every request: {_fields(notes['neutral'])}",
                      False))
    eos = notes.get("ignore_eos")
    if eos in _EOS:
        lines.append(_EOS[eos])
    lines.extend(_controls(notes))
    for figure, reason in endpoint_not_computed(notes):
        lines.append((f"not computed: {figure}: {reason}", True))
    cut = notes.get("max_tokens_cut")
    if notes.get("context"):
        text = f"context window {notes['context']} tokens (from {notes.get('context_source')})"
        if cut:
            text += (f"; max_tokens cut to fit it in {cut.get('requests')} requests "
                     f"(smallest {cut.get('smallest')})")
        lines.append((text, False))
    server_cut = notes.get("server_cut")
    if server_cut:
        lines.append((f"the server cut max_tokens silently in {server_cut.get('requests')} "
                      f"requests (answers ended for length after as few as "
                      f"{server_cut.get('smallest')} tokens); the max_tokens stored is what it "
                      "used", True))
    return lines
