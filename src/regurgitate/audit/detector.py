"""The audit's per-window measure for local models: one teacher-forced forward pass per
window gives both figures Cooper et al. 2025 use.

- ``p``: the probability that one sample under the sampling scheme (default top-k 40 at
  temperature 1) emits the window's suffix exactly after its prefix
  (:func:`regurgitate.runtimes.sampling.sampling_logprobs`, summed over the suffix);
- ``greedy``: whether greedy decoding reproduces the suffix, i.e. every suffix token is the
  model's argmax given the true tokens before it (greedy decoding follows the true path as
  long as it agrees with it, so this equals generating; a tie counts for the true token).
  ``greedy_tokens`` is how many leading suffix tokens greedy decoding reproduces.

No continuation needs generating for these: a window's stored generation is one token (the
pipeline's record that the window was sent); ``--generate`` stores the full greedy
continuation as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from regurgitate.detectors.base import Detector, DetectorContext, Item, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import AuditWindow, Finding
from regurgitate.runtimes.sampling import Sampling, samples_needed, sampling_logprobs
from regurgitate.runtimes.scoring import HFScorer, SuffixScorer

DETECTOR = "audit_window"
GREEDY = Sampling(temperature=0.0)


def scheme_of(meta: Mapping[str, Any]) -> Sampling:
    raw = meta.get("np_sampling") or {}
    try:
        return Sampling(float(raw.get("temperature", 1.0)), int(raw.get("top_k", 0)),
                        float(raw.get("top_p", 1.0)))
    except (ConfigError, TypeError, ValueError, AttributeError):
        return Sampling()


def window_payload(meta: Mapping[str, Any], log_p: float, greedy_tokens: int | None,
                   suffix_tokens: int, sampling: Sampling, *,
                   greedy: bool | None = None) -> AuditWindow:
    return AuditWindow(
        work_id=str(meta.get("work_id")), window=int(meta.get("window", 0)),
        suffix_start=int(meta.get("suffix_start", 0)), suffix_end=int(meta.get("suffix_end", 0)),
        suffix_tokens=suffix_tokens, p=math.exp(log_p) if log_p > -math.inf else 0.0,
        log_p=log_p if math.isfinite(log_p) else None,
        greedy=greedy if greedy is not None else
        suffix_tokens > 0 and greedy_tokens == suffix_tokens,
        greedy_tokens=greedy_tokens, sampling=sampling.describe(),
        n50=samples_needed(log_p, 0.5), n90=samples_needed(log_p, 0.9))


class AuditWindowDetector(Detector):
    """p and the greedy match of each audit window, from the target's own model."""

    name = DETECTOR

    def __init__(self, scorer: SuffixScorer) -> None:
        self.scorer = scorer

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> AuditWindowDetector | None:
        scorer = ctx.target.suffix_scorer() if ctx.target is not None else None
        return cls(scorer) if scorer is not None else None

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        todo = [it for it in items if it.generation.ok
                and isinstance(it.prompt.meta.get("true_suffix"), str)]
        if not isinstance(self.scorer, HFScorer):
            return self._detect_by_suffix_scorer(todo)
        lm = self.scorer.lm
        seqs = [lm.fit(*lm.encode_continuation(self.scorer.prompt_text(it.prompt),
                                               str(it.prompt.meta["true_suffix"])))
                for it in todo]
        out: list[Finding] = []
        for i, logits in lm.logits([p + s for p, s in seqs]):
            prompt_ids, suffix = seqs[i]
            it = todo[i]
            scheme = scheme_of(it.prompt.meta)
            if suffix:
                rows = logits[len(prompt_ids) - 1:len(prompt_ids) - 1 + len(suffix)].cpu().numpy()
                log_p = float(sampling_logprobs(rows, suffix, scheme).sum())
                hit = sampling_logprobs(rows, suffix, GREEDY) == 0.0
                greedy_tokens = int(hit.argmin()) if not hit.all() else len(suffix)
            else:
                log_p, greedy_tokens = -math.inf, 0
            payload = window_payload(it.prompt.meta, log_p, greedy_tokens, len(suffix), scheme)
            out.append(Finding(generation_id=it.generation_id, detector=self.name, start=None,
                               end=None, score=payload.p, payload=payload))
        return out

    def _detect_by_suffix_scorer(self, todo: Sequence[Item]) -> list[Finding]:
        """p and the greedy match from a scorer that gives whole-suffix log-probabilities only
        (:class:`~regurgitate.runtimes.scoring.SuffixScorer`): greedy is ``log p == 0`` under
        greedy decoding; how many leading tokens greedy reproduces stays unknown (None)."""
        pairs = [(self.scorer.prompt_text(it.prompt), str(it.prompt.meta["true_suffix"]))
                 for it in todo]
        out: list[Finding] = []
        for i, it in enumerate(todo):
            scheme = scheme_of(it.prompt.meta)
            (sampled,) = self.scorer.suffix_logprobs([pairs[i]], scheme)
            (greedy,) = self.scorer.suffix_logprobs([pairs[i]], GREEDY)
            payload = window_payload(it.prompt.meta, sampled.log_p, None, sampled.suffix_tokens,
                                     scheme, greedy=sampled.suffix_tokens > 0
                                     and greedy.log_p == 0.0)
            out.append(Finding(generation_id=it.generation_id, detector=self.name, start=None,
                               end=None, score=payload.p, payload=payload))
        return out
