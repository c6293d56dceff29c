"""Discoverable memorization: does the continuation of a true prefix reproduce the true suffix?

For prompts whose ``meta`` carries ``true_suffix_ids`` (token ids) and/or ``true_suffix``
(text). Comparison, in order of preference:

1. token ids: when the prompt names the tokenizer of its ids (``meta["tokenizer"]``, a
   fingerprint) and the detector has that tokenizer (the index's ``tokenizer``, or the
   target's own ``target_tokenizer`` for prompts cut in the target's tokens over an index
   counting other units, see :mod:`regurgitate.attacks.discoverable`), the generation text
   encoded with it; when the prompt names none, ``generation.token_ids`` (or the text
   encoded with the detector's ``tokenizer``);
2. text only: whitespace-separated words of ``true_suffix`` against those of the generation
   (a prompt that names a tokenizer the detector lacks; never for one cut in the target's
   tokens, whose units would then silently change: that is a TokenizerMismatchError).

``matched_prefix_tokens`` is how many leading units agree; ``exact`` means all ``suffix_tokens``
of the suffix were reproduced from the start. ``edit_similarity`` compares the suffix with the
same-length beginning of the generation (characters when the suffix text is known, else token
ids); ``approximate`` is ``edit_similarity >= approx_threshold`` (0.9, i.e. within ~10% edit
distance, the usual "approximate memorization" rule).

(n, p)-extraction: with a ``suffix_scorer`` (:class:`regurgitate.runtimes.scoring.HFScorer`
over the target's own model), every probe also gets ``np``: the probability ``p`` that one
sample under the prompt's ``np_sampling`` scheme (default temperature 1) emits the true suffix
exactly, and the samples ``n50``/``n90`` needed for a 50% / 90% chance (Hayes et al. 2024).
The scorer is the target's own (:meth:`regurgitate.targets.base.Target.suffix_scorer`): in this
process for a local model, on a replica for one on Ray. Targets without a model the tool can
score with (HTTP APIs) get no ``np``; the scan names that figure as not computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from regurgitate.detectors.base import Detector, DetectorContext, Item, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import DiscoverableProbe, ExtractionEstimate, Finding
from regurgitate.metrics.similarity import edit_similarity
from regurgitate.options import convert_options


def matched_prefix(truth: Sequence[Any], generated: Sequence[Any]) -> int:
    """Number of leading elements of ``truth`` reproduced in order by ``generated``."""
    n = 0
    for a, b in zip(truth, generated, strict=False):
        if a != b:
            break
        n += 1
    return n


class DiscoverableDetector(Detector):
    name = "discoverable"
    #: parameters create() fills from the scan, not ``--set`` options
    options_exclude: ClassVar[tuple[str, ...]] = ("tokenizer", "suffix_scorer",
                                                  "target_tokenizer")

    def __init__(self, *, tokenizer: Any | None = None,
                 #: a probe within this normalized edit similarity counts as approximate
                 approx_threshold: float = 0.9,
                 suffix_scorer: Any | None = None,
                 target_tokenizer: Any | None = None) -> None:
        self.tokenizer = tokenizer
        self.approx_threshold = approx_threshold
        self.suffix_scorer = suffix_scorer
        self.target_tokenizer = target_tokenizer

    def _named(self, fingerprint: Any) -> Any | None:
        """The detector's tokenizer (the index's, then the target's) that a prompt's
        ``tokenizer`` fingerprint names, by its fingerprint or its definition."""
        for tok in (self.tokenizer, self.target_tokenizer):
            if tok is not None and fingerprint in (getattr(tok, "fingerprint", None),
                                                   getattr(tok, "definition", None)):
                return tok
        return None

    def _np(self, items: Sequence[Item]) -> dict[int, ExtractionEstimate]:
        """(n, p) of every probe with a known suffix text, batched per sampling scheme."""
        from regurgitate.runtimes.sampling import Sampling

        if self.suffix_scorer is None:
            return {}
        groups: dict[Sampling, list[Item]] = {}
        for it in items:
            if it.generation.ok and isinstance(it.prompt.meta.get("true_suffix"), str):
                raw = it.prompt.meta.get("np_sampling") or {}
                try:
                    scheme = Sampling(float(raw.get("temperature", 1.0)),
                                      int(raw.get("top_k", 0)), float(raw.get("top_p", 1.0)))
                except (ConfigError, TypeError, ValueError, AttributeError):
                    scheme = Sampling()
                groups.setdefault(scheme, []).append(it)
        out: dict[int, ExtractionEstimate] = {}
        for scheme, group in groups.items():
            pairs = [(self.suffix_scorer.prompt_text(it.prompt), str(it.prompt.meta["true_suffix"]))
                     for it in group]
            for it, est in zip(group, self.suffix_scorer.suffix_logprobs(pairs, scheme),
                               strict=True):
                out[it.generation_id] = ExtractionEstimate(**est.as_dict())
        return out

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> DiscoverableDetector:
        opts = convert_options(cls, options, owner="detector 'discoverable'",
                             exclude=cls.options_exclude)
        from regurgitate.targets.profile import target_tokenizer

        target = ctx.target
        return cls(tokenizer=ctx.tokenizer, suffix_scorer=target.suffix_scorer()
                   if target is not None else None,
                   target_tokenizer=target_tokenizer(target) if target is not None else None,
                   **opts)

    def not_computed(self) -> list[tuple[str, str]]:
        if self.suffix_scorer is None:
            return [("(n,p) extraction", "the target has no model this tool can score true "
                     "suffixes with (an HTTP API, or a backend without log-probs of given text)")]
        return []

    def _finding(self, it: Item) -> Finding | None:
        meta = it.prompt.meta
        ids = meta.get("true_suffix_ids")
        text = meta.get("true_suffix")
        if ids is None and text is None:
            return None
        gen = it.generation
        if ids is not None:
            truth: list[Any] = [int(i) for i in ids]
            named = self._named(meta["tokenizer"]) if meta.get("tokenizer") is not None \
                else None
            if named is None and meta.get("tokenizer") is not None and \
                    meta.get("unit") == "target tokens":
                from regurgitate.errors import TokenizerMismatchError

                raise TokenizerMismatchError(
                    f"prompt {it.prompt.id}'s true suffix is {len(truth)} of the target's "
                    f"tokens (tokenizer {meta['tokenizer']}), but the discoverable detector "
                    "has no tokenizer with that fingerprint: comparing in other units would "
                    "be wrong",
                    hint="judge it in a scan of the same target (its tokenizer comes from "
                    "the target's profile)")
            if named is not None:
                # the suffix ids are in a named vocabulary (the index's, or the target's for
                # prompts cut in its tokens): compare like with like by encoding the
                # generated text the same way
                produced: list[Any] = [int(i) for i in named.encode(gen.text)]
            elif gen.token_ids is not None and meta.get("tokenizer") is None:
                produced = [int(i) for i in gen.token_ids]
            elif self.tokenizer is not None and meta.get("tokenizer") is None:
                produced = [int(i) for i in self.tokenizer.encode(gen.text)]
            elif text is not None:
                truth, produced = str(text).split(), gen.text.split()
            else:
                produced = []
        else:
            truth, produced = str(text).split(), gen.text.split()
        m = len(truth)
        matched = matched_prefix(truth, produced)
        if text is not None:
            sim = edit_similarity(str(text), gen.text[:len(str(text))])
        else:
            sim = edit_similarity(truth, produced[:m])
        passage = meta.get("passage_id")
        return Finding(
            generation_id=it.generation_id, detector=self.name,
            start=None, end=None, score=(matched / m) if m else 0.0,
            payload=DiscoverableProbe(
                exact=m > 0 and matched == m,
                matched_prefix_tokens=matched,
                suffix_tokens=m,
                edit_similarity=sim,
                approximate=sim >= self.approx_threshold,
                passage_id=passage if isinstance(passage, str | int) or passage is None
                else str(passage),
                bos=bool(meta.get("bos", False)),
            ),
        )

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        out = []
        np_of = self._np(items)
        for it in items:
            if not it.generation.ok:
                continue
            f = self._finding(it)
            if f is not None:
                probe = f.payload_as(DiscoverableProbe)
                if probe is not None and it.generation_id in np_of:
                    f = replace(f, payload=replace(probe, np=np_of[it.generation_id]))
                out.append(f)
        return out
