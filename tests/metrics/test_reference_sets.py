"""The shipped held-out background (never trained on) and the member background, and the
signals of both under the bundled reference model."""

from __future__ import annotations

import numpy as np
import pytest

from regurgitate import reference
from regurgitate.metrics.membership_evidence.passages import cut_passages, reference_sets
from regurgitate.reference.text.heldout_background import heldout_background, member_background


def test_heldout_background_is_shipped_and_not_in_the_corpus():
    held = heldout_background()
    assert len(held) >= 140
    corpus = "\x00".join(d.text for d in reference.iter_corpus())
    for d in held:  # the exact check (no shared 50-token span) is the build script's
        mid = len(d.text) // 2
        assert d.text[mid:mid + 200] not in corpus
    members = member_background()
    assert len(members) == 453
    planted = {it.text for it in reference.load_manifest().items}
    assert not any(p in m.text for m in members[:50] for p in planted)


def test_passages_keep_their_work_and_cut_at_paragraphs():
    text = "\n\n".join(f"para {i} " + "x" * 300 for i in range(10))
    ps = cut_passages("w", text, chars=1000)
    assert all(p.group == "w" for p in ps)
    assert "\n\n".join(p.text for p in ps) == text
    members, held = reference_sets()
    assert len(members) > 1000 and len(held) > 300


@pytest.mark.slow
def test_features_of_reference_passages_with_every_signal():
    from regurgitate.metrics.corpus_signals import smoothed_frequencies
    from regurgitate.metrics.membership_evidence.features import build_prefix, text_features
    from regurgitate.runtimes.scoring import HFScorer

    scorer = HFScorer(reference.model_dir(), dtype="float32")
    members, held = reference_sets()
    prefix = build_prefix(scorer, [p.text for p in held[:2]], max_tokens=64)
    assert 0 < len(prefix) <= 64
    fm = text_features(scorer, [members[0].text, held[-1].text],
                       frequencies=smoothed_frequencies(np.ones(4096)), prefix=prefix)
    assert fm.names == ("loss", "zlib", "min_k", "min_k_plus_plus", "lowercase_ratio",
                        "dc_pdd", "recall")
    assert np.all(np.isfinite(fm.values))
    assert np.allclose(fm.column("loss"), -fm.raw[:, 0])  # oriented: higher = member


@pytest.mark.slow
def test_text_dataset_inference_end_to_end_on_reference_passages():
    """Once-seen background passages against held-out ones, every signal, one call."""
    from regurgitate.metrics.membership_evidence.text_inference import text_dataset_inference
    from regurgitate.runtimes.scoring import HFScorer

    scorer = HFScorer(reference.model_dir(), dtype="float32", batch_size=16)
    members, held = reference_sets()
    suspect = list({p.group: p for p in reversed(members[:60])}.values())[:8]
    control = list({p.group: p for p in reversed(held[:60])}.values())[:8]
    assert len({p.group for p in suspect}) == len({p.group for p in control}) == 8
    res = text_dataset_inference(scorer, suspect, control, splits=3)
    assert 0.0 <= res.p_value <= 1.0 and res.unit == "passages"
    assert "recall" in res.features and set(res.signal_aucs) == set(res.features)
    assert res.blind_baseline_auc is not None
    assert res.to_json()["suspect"] == len(suspect)
