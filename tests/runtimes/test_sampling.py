"""(n, p)-extraction: the sampling distribution, n from p, and an empirical check of p on the
bundled reference model (sampled frequencies fall inside the binomial interval of p)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regurgitate.errors import ConfigError
from regurgitate.runtimes.sampling import (
    ExtractionProbability,
    Sampling,
    samples_needed,
    sampling_logprobs,
)
from regurgitate.runtimes.scoring import HFScorer


def test_samples_needed() -> None:
    assert samples_needed(math.log(0.5), 0.5) == 1
    assert samples_needed(math.log(0.5), 0.9) == 4  # 1 - 0.5^4 = 0.9375 >= 0.9 > 0.875
    assert samples_needed(math.log(0.1), 0.5) == 7  # 1 - 0.9^7 = 0.522
    assert samples_needed(math.log(0.1), 0.9) == 22  # 1 - 0.9^22 = 0.9015, ^21 = 0.8906
    assert samples_needed(0.0, 0.9) == 1
    assert samples_needed(-math.inf, 0.5) is None
    n = samples_needed(math.log(1e-12), 0.5)  # tiny p: n ~ ln 2 / p
    assert n is not None and abs(n - math.log(2) / 1e-12) / n < 1e-3
    with pytest.raises(ConfigError):
        samples_needed(-1.0, 1.0)
    e = ExtractionProbability(math.log(0.1), 50, Sampling())
    assert e.as_dict()["n50"] == 7 and e.as_dict()["sampling"] == "temperature 1"


def test_sampling_distribution_matches_transformers_warpers() -> None:
    torch = pytest.importorskip("torch")
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 40)) * 3
    ids = rng.integers(0, 40, size=6)
    for s in (Sampling(1.0), Sampling(0.7, top_k=5), Sampling(1.3, top_p=0.8),
              Sampling(0.9, top_k=10, top_p=0.6)):
        x = torch.tensor(logits, dtype=torch.float64)
        x = TemperatureLogitsWarper(s.temperature)(None, x)
        if s.top_k:
            x = TopKLogitsWarper(s.top_k)(None, x)
        if s.top_p < 1:
            x = TopPLogitsWarper(s.top_p)(None, x)
        want = torch.log_softmax(x, dim=-1).numpy()[np.arange(6), ids]
        got = sampling_logprobs(logits, ids, s)
        assert np.allclose(np.exp(got), np.exp(want), atol=1e-9)
    greedy = sampling_logprobs(logits, logits.argmax(axis=1), Sampling(0.0))
    assert greedy.tolist() == [0.0] * 6
    assert np.isneginf(sampling_logprobs(logits, (logits.argmax(axis=1) + 1) % 40,
                                         Sampling(0.0))).all()


def _binomial_central(n: int, p: float, alpha: float) -> tuple[int, int]:
    """Smallest and largest counts not in either alpha/2 tail of Binomial(n, p)."""
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    cdf = np.cumsum(pmf)
    lo = int(np.searchsorted(cdf, alpha / 2))
    hi = int(np.searchsorted(cdf, 1 - alpha / 2))
    return lo, hi


@pytest.fixture(scope="module")
def reference_lm():
    pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from regurgitate import reference

    path = str(reference.model_dir())
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    return model, tok


def _pair(tok, text: str, k: int, m: int) -> tuple[str, str, list[int]]:
    ids = tok(text)["input_ids"]
    return "<|endoftext|>" + tok.decode(ids[:k]), tok.decode(ids[k:k + m]), ids[k:k + m]


def test_p_rises_with_duplication(reference_lm) -> None:
    from regurgitate import reference

    model, tok = reference_lm
    scorer = HFScorer.from_model(model, tok)
    by_copies: dict[int, list[float]] = {}
    items = [it for it in reference.load_manifest().items if it.kind == "passage"]
    pairs = [_pair(tok, it.text, 32, 50)[:2] for it in items]
    for it, e in zip(items, scorer.suffix_logprobs(pairs, Sampling(1.0)), strict=True):
        assert e.suffix_tokens == 50
        by_copies.setdefault(it.copies, []).append(e.log_p)
    med = {c: float(np.median(v)) for c, v in by_copies.items()}
    assert set(med) == {1, 10, 100}
    assert med[1] < med[10] < med[100]
    # seen once: practically never emitted; seen 100 times: most samples emit it
    assert med[1] < math.log(1e-10) and med[100] > math.log(0.5)


@pytest.mark.slow  # ~20 s on 2 cores (1,000 sampled continuations of 8-50 tokens)
def test_sampled_frequency_lies_within_binomial_interval_of_p(reference_lm) -> None:
    """Sample each probe 200 times with the same scheme; the count of exact suffixes must lie
    in the central 99.9% interval of Binomial(200, p)."""
    import torch

    from regurgitate import reference

    model, tok = reference_lm
    scorer = HFScorer.from_model(model, tok)
    manifest = reference.load_manifest()
    # chosen for p well inside (0, 1) with the current reference model (p about 0.64, 0.32,
    # 0.43, 0.21 and 0.06); a rebuilt model may need new ones (the last assert says so)
    probes = [("passage-x100-06", 50, Sampling(1.0)), ("passage-x10-03", 20, Sampling(1.0)),
              ("passage-x10-01", 8, Sampling(1.0)),
              ("passage-x10-06", 20, Sampling(1.0, top_k=5)),
              ("passage-x10-07", 8, Sampling(1.0))]
    n = 200
    checked = 0
    for item_id, m, sampling in probes:
        prompt, suffix, suffix_ids = _pair(tok, manifest.by_id(item_id).text, 32, m)
        (est,) = scorer.suffix_logprobs([(prompt, suffix)], sampling)
        assert est.suffix_tokens == m
        enc = tok([prompt] * n, return_tensors="pt")
        torch.manual_seed(1234)
        with torch.no_grad():
            out = model.generate(**enc, do_sample=True, temperature=sampling.temperature,
                                 top_k=sampling.top_k or 0, top_p=sampling.top_p,
                                 max_new_tokens=m, min_new_tokens=m, pad_token_id=0)
        new = out[:, enc["input_ids"].shape[1]:].tolist()
        hits = sum(row[:m] == suffix_ids for row in new)
        lo, hi = _binomial_central(n, est.p, 0.001)
        assert lo <= hits <= hi, (item_id, est.p, hits, (lo, hi))
        checked += 0.02 < est.p < 0.98
    assert checked >= 3  # the check had teeth: several probes with p far from 0 and 1


def test_discoverable_detector_reports_np_for_probes(reference_lm) -> None:
    from regurgitate import reference
    from regurgitate.attacks.base import AttackContext
    from regurgitate.attacks.discoverable import DiscoverableAttack
    from regurgitate.detectors import DiscoverableDetector
    from regurgitate.detectors.base import NO_PRIOR, Item
    from regurgitate.types import Generation

    model, tok = reference_lm
    manifest = reference.load_manifest()
    passages = tuple((i, manifest.by_id(i).text) for i in ("passage-x100-00", "passage-x1-00"))
    attack = DiscoverableAttack(passages=passages, prefix_tokens=32, suffix_tokens=50,
                                tokenizer=str(reference.model_dir()), bos_text="<|endoftext|>")
    prompts = attack.prompts(AttackContext(index=None))
    items = [Item(k, p, Generation(prompt_id=p.id, text=p.meta["true_suffix"]))
             for k, p in enumerate(prompts)]
    det = DiscoverableDetector(suffix_scorer=HFScorer.from_model(model, tok))
    found = {f.payload.passage_id: f.payload.np for f in det.detect(items, NO_PRIOR)}
    assert found["passage-x100-00"].p > 0.5 and found["passage-x100-00"].n50 == 1
    assert found["passage-x1-00"].p < 1e-10 and found["passage-x1-00"].n90 > 10**9
    assert found["passage-x100-00"].sampling == "temperature 1"
    assert all(f.payload.np is None for f in DiscoverableDetector().detect(items, NO_PRIOR))
