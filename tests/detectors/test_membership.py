from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from regurgitate.detectors.base import NO_PRIOR, Item
from regurgitate.detectors.membership import MembershipDetector
from regurgitate.errors import ConfigError
from regurgitate.metrics.membership_signals import (
    MEMBER_IF_HIGHER,
    min_k,
    min_k_plus_plus,
    oriented,
    signals,
)
from regurgitate.metrics.roc import roc_auc, roc_curve, tpr_at_fpr
from regurgitate.runtimes.scoring import TokenScores, distribution_stats
from regurgitate.types import Generation, GenerationSettings, Prompt


def test_min_k_by_hand():
    lp = [-0.1, -5.0, -0.2, -3.0, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8]
    assert min_k(lp, 0.2) == pytest.approx((-5.0 - 3.0) / 2)
    assert min_k(lp, 0.05) == pytest.approx(-5.0)  # at least one token
    assert min_k(lp, 1.0) == pytest.approx(np.mean(lp))
    with pytest.raises(ConfigError):
        min_k(lp, 0.0)


def test_distribution_stats_and_min_k_plus_plus():
    logits = np.array([[0.0, 0.0], [math.log(3.0), 0.0]])
    lp, mean, var = distribution_stats(logits, [1, 0])
    assert lp == pytest.approx([math.log(0.5), math.log(0.75)])
    m2 = 0.75 * math.log(0.75) + 0.25 * math.log(0.25)
    v2 = 0.75 * math.log(0.75) ** 2 + 0.25 * math.log(0.25) ** 2 - m2**2
    assert mean == pytest.approx([math.log(0.5), m2])
    assert var == pytest.approx([0.0, v2], abs=1e-12)
    z2 = (math.log(0.75) - m2) / math.sqrt(v2)
    assert min_k_plus_plus(lp, mean, var, k=1.0) == pytest.approx(z2 / 2)  # z1 = 0 / eps = 0
    assert min_k_plus_plus(lp, mean, var, k=0.5) == pytest.approx(min(0.0, z2))


def test_signals_by_hand():
    text = "hello hello hello"
    sc = TokenScores((1, 2, 3, 4), (-1.0, -2.0, -3.0, -2.0))
    s = signals(text, sc, k=0.25, lowercase=TokenScores((1,), (-4.0,)),
                reference=TokenScores((1, 2), (-1.0, -1.0)))
    assert s["loss"] == pytest.approx(2.0)
    assert s["perplexity"] == pytest.approx(math.e**2)
    assert s["zlib"] == pytest.approx(2.0 / len(zlib.compress(text.encode())))
    assert s["lowercase_ratio"] == pytest.approx(0.5)
    assert s["reference_ratio"] == pytest.approx(2.0)
    assert s["min_k"] == pytest.approx(-3.0)
    assert s["min_k_plus_plus"] is None


def test_infinite_and_nan_logprobs_are_floored_or_dropped():
    s = signals("ab", TokenScores((1, 2, 3), (-float("inf"), float("nan"), -2.0)), k=1.0)
    assert s["loss"] == pytest.approx(51.0) and s["min_k"] == pytest.approx(-51.0)
    assert all(v is None or math.isfinite(v) for v in s.values())


def test_auc_and_tpr_on_known_orderings():
    labels = [1, 1, 1, 0, 0, 0]
    assert roc_auc([6, 5, 4, 3, 2, 1], labels) == 1.0
    assert roc_auc([1, 2, 3, 4, 5, 6], labels) == 0.0
    assert roc_auc([1, 1, 1, 1, 1, 1], labels) == 0.5
    # one swapped pair out of 9: 8/9
    assert roc_auc([6, 5, 3, 4, 2, 1], labels) == pytest.approx(8 / 9)
    fpr, tpr = roc_curve([6, 5, 3, 4, 2, 1], labels)
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
    assert tpr_at_fpr([6, 5, 3, 4, 2, 1], labels, fpr=0.0) == pytest.approx(2 / 3)
    assert tpr_at_fpr([6, 5, 3, 4, 2, 1], labels, fpr=0.34) == 1.0
    rng = np.random.default_rng(0)
    s = rng.normal(size=4000)
    y = rng.integers(0, 2, size=4000)
    assert abs(roc_auc(s, y) - 0.5) < 0.03
    with pytest.raises(ConfigError):
        roc_auc([1, 2], [1, 1])


def test_oriented():
    assert oriented("loss", 2.0) == -2.0 and oriented("min_k", -2.0) == -2.0
    with pytest.raises(ConfigError):
        oriented("nope", 1.0)


class UnigramScorer:
    """A real (tiny) model: per-character log-probabilities from counts, with the full
    distribution, so min-k%++ can be computed."""

    def __init__(self, corpus: str) -> None:
        chars = sorted(set(corpus) | set(corpus.lower()) | {"?"})
        counts = np.array([corpus.count(c) + 1 for c in chars], dtype=np.float64)
        self.index = {c: i for i, c in enumerate(chars)}
        self.logits = np.log(counts / counts.sum())

    def score(self, texts: Sequence[str]) -> list[TokenScores]:
        out = []
        for t in texts:
            ids = [self.index.get(c, self.index["?"]) for c in t]
            lp, mean, var = distribution_stats(np.tile(self.logits, (len(ids), 1)), ids)
            out.append(TokenScores(tuple(ids), tuple(lp), tuple(mean), tuple(var)))
        return out


def test_detector_uses_target_logprobs_else_scorer():
    s = GenerationSettings()
    p = Prompt(id="p", attack="a", text="x", settings=s)
    items = [
        Item(1, p, Generation("p", "aaab", token_ids=(1, 2), logprobs=(-1.0, -3.0))),
        Item(2, p, Generation("p", "aaab")),
        Item(3, p, Generation("p", "", error="failed")),
    ]
    assert [f.generation_id for f in MembershipDetector().detect(items, NO_PRIOR)] == [1]
    scorer = UnigramScorer("aaaaaaab")
    detector = MembershipDetector(scorer=scorer, reference=scorer, lowercase=True)
    found = detector.detect(items, NO_PRIOR)
    assert [f.generation_id for f in found] == [1, 2]
    f1, f2 = found
    assert f1.kind == "membership" and f1.score is None
    assert f1.payload.loss == pytest.approx(2.0) and f1.payload.min_k_plus_plus is None
    assert f1.payload.tokens == 2
    assert f2.payload.min_k_plus_plus is not None
    assert f2.payload.reference_ratio == pytest.approx(1.0)
    assert f2.payload.lowercase_ratio == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        MembershipDetector(lowercase=True)


def test_scan_membership_uses_the_target_model_and_a_reference_model(tmp_path) -> None:
    """Built for a scan of an HF target, the detector scores with the target's own model
    (lowercase ratio, min-k%++) and with ``membership.reference=hf:DIR``."""
    from regurgitate import reference
    from regurgitate.detectors import DetectorContext
    from regurgitate.targets import make_target

    model_dir = reference.model_dir()
    target = make_target(f"hf:{model_dir}")
    det = MembershipDetector.create(DetectorContext(target=target),
                                    {"reference": f"hf:{model_dir}"})
    text = "The keeper of the lighthouse wrote in his ledger every evening."
    p = Prompt(id="p", attack="a", text="x", settings=GenerationSettings())
    items = [Item(1, p, Generation("p", text, token_ids=(1, 2), logprobs=(-1.0, -3.0)))]
    (f,) = det.detect(items, NO_PRIOR)
    signals = f.payload.signals()
    assert set(signals) == set(MEMBER_IF_HIGHER) - {"dc_pdd"}  # no index, no frequencies
    assert signals["reference_ratio"] == pytest.approx(1.0, rel=1e-3)  # the same model
    from regurgitate.metrics.corpus_signals import write_frequency_file

    write_frequency_file(tmp_path / "f.json", np.full(4096, 3), "test")
    with_freq = MembershipDetector.create(DetectorContext(target=target),
                                          {"frequencies": str(tmp_path / "f.json")})
    (g,) = with_freq.detect(items, NO_PRIOR)
    # the text is rescored by the model (no distribution statistics were recorded); with
    # uniform frequencies log(1/f) = log(4096) at each distinct token's first occurrence
    (sc,) = with_freq.scorer.score([text])
    _, first = np.unique(sc.token_ids, return_index=True)
    expect = np.mean(np.minimum(np.exp(np.asarray(sc.logprobs)[first]) * np.log(4096), 0.01))
    assert g.payload.dc_pdd == pytest.approx(expect)
    with pytest.raises(ConfigError, match="must be hf:DIR"):
        MembershipDetector.create(DetectorContext(), {"reference": "/some/dir"})
    plain = MembershipDetector.create(DetectorContext(target=target), {"target_scorer": "off"})
    assert plain.scorer is None
