"""The membership detector: the signals of :mod:`regurgitate.metrics.membership_signals` for
every generation (under its prompt, from the distributions the target produced while
generating, or each text alone with ``standalone=1``), and DC-PDD with the scan's corpus index.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from regurgitate.detectors.base import Detector, DetectorContext, Item, Prior
from regurgitate.errors import ConfigError
from regurgitate.findings import Finding, MembershipSignals
from regurgitate.metrics.membership_signals import LOGPROB_FLOOR, signals
from regurgitate.options import convert_options
from regurgitate.runtimes.scoring import Scorer, TokenScores
from regurgitate.types import Generation

#: a local index larger than this is not counted for DC-PDD (pass a frequency file instead)
DC_PDD_MAX_INDEX_TOKENS = 200_000_000


class MembershipDetector(Detector):
    """A ``membership`` finding per generation with token scores (``score`` None, the signals
    in a :class:`~regurgitate.findings.MembershipSignals` payload).

    Token scores come from the generation when the target recorded them while generating
    (``token_ids`` and ``logprobs``, and ``dist_mean``/``dist_var`` of the raw distributions,
    which give min-k%++ with no second forward pass); otherwise from ``scorer``, which scores
    the text alone (also for min-k%++). ``rescore=True`` sends a generation with log-probs but
    no distribution statistics to the scorer too. With ``lowercase=True`` the scorer scores the
    lowercased text (one forward pass); ``reference`` scores it under a reference model.
    Generations with no scores available are skipped.
    """

    name = "membership"

    def __init__(self, *, scorer: Scorer | None = None, reference: Scorer | None = None,
                 lowercase: bool = False, k: float = 0.2, rescore: bool = False,
                 standalone: bool = False, frequencies: np.ndarray | None = None) -> None:
        if lowercase and scorer is None:
            raise ConfigError("the lowercase signal needs a scorer for the target model")
        if not 0.0 < k <= 1.0:
            raise ConfigError(f"k must be within (0, 1], got {k}")
        self.scorer = scorer
        self.reference = reference
        self.lowercase = lowercase
        self.k = k
        #: score with ``scorer`` every text whose generation lacks distribution statistics
        #: (its full distributions give min-k%++), not only those without log-probs
        self.rescore = rescore and scorer is not None
        #: score every text alone (BOS + text) with ``scorer``, ignoring what the target
        #: recorded: the signals then describe the text, not the generation under its prompt
        self.standalone = standalone and scorer is not None
        #: add-one smoothed token frequencies of a reference corpus (DC-PDD), or None
        self.frequencies = frequencies

    @classmethod
    def options_callable(cls) -> Callable[..., None]:
        """The function whose parameters are this detector's ``--set`` options (read by
        create() and listed by ``regurgitate plugins --options membership``)."""
        return _membership_options

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> MembershipDetector:
        """For a scan: the target's own scorer when it has one (lowercase ratio, min-k%++),
        and ``reference=hf:DIR`` for the reference-model ratio."""
        opts = convert_options(cls.options_callable(), options, owner="detector 'membership'")
        use_target = bool(opts.get("target_scorer", True))
        scorer = ctx.target.scorer() if use_target and ctx.target is not None else None
        reference: Scorer | None = None
        ref = opts.get("reference")
        if ref:
            scheme, _, location = str(ref).partition(":")
            if scheme != "hf" or not location:
                raise ConfigError(f"membership.reference must be hf:DIR, got {ref!r}",
                                  hint="a local model directory written by save_pretrained")
            from regurgitate.runtimes.scoring import HFScorer

            reference = HFScorer(location)
        return cls(scorer=scorer, reference=reference, lowercase=scorer is not None,
                   k=float(opts.get("k", 0.2)), rescore=scorer is not None,
                   standalone=bool(opts.get("standalone", False)),
                   frequencies=_dc_pdd_frequencies(ctx, scorer, opts))

    def not_computed(self) -> list[tuple[str, str]]:
        if self.scorer is None:
            return [("membership lowercase ratio (and signals of generations without "
                     "log-probs)", "the target offers no scorer of its own model")]
        return []

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        live = [it for it in items if it.generation.ok and it.generation.text]
        texts = [it.generation.text for it in live]
        own: list[TokenScores | None] = []
        missing: list[int] = []
        for i, it in enumerate(live):
            own.append(self._own_scores(it.generation))
            if own[-1] is None:
                missing.append(i)
        if missing and self.scorer is not None:
            for i, sc in zip(missing, self.scorer.score([texts[i] for i in missing]),
                             strict=True):
                own[i] = sc
        lower = self._maybe(self.scorer if self.lowercase else None, [t.lower() for t in texts])
        ref = self._maybe(self.reference, texts)
        out: list[Finding] = []
        for i, it in enumerate(live):
            scores = own[i]
            if scores is None or not scores.logprobs:
                continue
            sig = signals(texts[i], scores, k=self.k, lowercase=lower[i], reference=ref[i])
            payload = MembershipSignals(
                loss=sig["loss"], perplexity=sig["perplexity"], zlib=sig["zlib"],
                min_k=sig["min_k"],
                lowercase_ratio=sig["lowercase_ratio"], reference_ratio=sig["reference_ratio"],
                min_k_plus_plus=sig["min_k_plus_plus"], tokens=len(scores.logprobs),
                dc_pdd=self._dc_pdd(scores))
            out.append(Finding(generation_id=it.generation_id, detector=self.name,
                               score=None, payload=payload))
        return out

    def _own_scores(self, g: Generation) -> TokenScores | None:
        """The scores the target recorded while generating, when they suffice: its chosen
        tokens' log-probs, with the distributions' mean and variance (min-k%++) when it saw
        them. None means "score the text with the scorer"."""
        n = len(g.token_ids or ())
        if self.standalone or not g.logprobs or not n or len(g.logprobs) != n:
            return None
        ids, lps = tuple(g.token_ids or ()), tuple(g.logprobs)
        if g.dist_mean is not None and g.dist_var is not None \
                and len(g.dist_mean) == len(g.dist_var) == n:
            return TokenScores(ids, lps, tuple(g.dist_mean), tuple(g.dist_var))
        return None if self.rescore else TokenScores(ids, lps)

    def _dc_pdd(self, scores: TokenScores) -> float | None:
        if self.frequencies is None or len(scores.token_ids) != len(scores.logprobs):
            return None
        from regurgitate.metrics.corpus_signals import dc_pdd

        ids = np.asarray(scores.token_ids, dtype=np.int64)
        lp = np.asarray(scores.logprobs, dtype=np.float64)
        keep = ~np.isnan(lp)
        if not keep.any() or ids.max(initial=0) >= self.frequencies.size:
            return None
        return dc_pdd(ids[keep], np.maximum(lp[keep], LOGPROB_FLOOR), self.frequencies)

    @staticmethod
    def _maybe(scorer: Scorer | None, texts: list[str]) -> list[TokenScores | None]:
        if scorer is None:
            return [None] * len(texts)
        return list(scorer.score(texts))


def _dc_pdd_frequencies(ctx: DetectorContext, scorer: Scorer | None,
                        opts: Mapping[str, Any]) -> np.ndarray | None:
    """Smoothed token frequencies for DC-PDD: from ``frequencies=FILE``, else from the scan's
    local corpus index when it tokenizes as the target's model does; None otherwise."""
    from pathlib import Path

    from regurgitate.metrics import corpus_signals as cs

    if opts.get("frequencies"):
        return cs.smoothed_frequencies(cs.read_frequency_file(Path(str(opts["frequencies"]))))
    if not opts.get("dc_pdd", True) or scorer is None or ctx.index is None:
        return None
    return cs.index_frequencies(ctx.index, scorer, max_tokens=DC_PDD_MAX_INDEX_TOKENS)


def _membership_options(*, k: float = 0.2, reference: str | None = None,
                        target_scorer: bool = True, standalone: bool = False,
                        dc_pdd: bool = True, frequencies: str | None = None) -> None:
    """The options of the ``membership`` detector: ``k``, the fraction of lowest-scored
    tokens min-k% averages; ``reference``, ``hf:DIR`` of a reference model for the
    reference-model ratio; ``target_scorer``, score texts with the target's own model when
    it offers that (the lowercase ratio: one forward pass per generation over its lowercased text;
    min-k%++ comes from the distributions the target kept while generating, or from the scorer
    when a target kept none); ``standalone``, score each text alone (BOS + text) with the
    target's model instead of using what it recorded while generating under the prompt, as
    regurgitate 0.2 did (one more forward pass per generation); ``dc_pdd``, compute DC-PDD
    with the token frequencies of the scan's local corpus index when it tokenizes as the
    target's model does; ``frequencies``, a JSON file of token counts to use instead
    (written by regurgitate.metrics.corpus_signals.write_frequency_file)."""
