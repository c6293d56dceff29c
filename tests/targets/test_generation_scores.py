"""Scores kept while generating equal a teacher-forced rescoring of the same token ids, so the
membership detector needs no second forward pass for them."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from regurgitate.detectors.membership import MembershipDetector  # noqa: E402
from regurgitate.runtimes.scoring import HFScorer  # noqa: E402
from regurgitate.types import GenerationSettings, Item, Prompt  # noqa: E402

PROMPTS = ("The quick brown fox", "Pack my box with five dozen liquor jugs. How vexingly",
           "def add(a, b):")


def _prompts(settings: GenerationSettings) -> list[Prompt]:
    return [Prompt(id=f"p{i}", attack="t", text=t, settings=settings)
            for i, t in enumerate(PROMPTS)]


@pytest.mark.parametrize("settings", [
    GenerationSettings(max_new_tokens=24, greedy=True, min_new_tokens=24),
    # sampled, with a penalty: the kept scores are those of the raw model distribution
    GenerationSettings(max_new_tokens=24, temperature=0.7, top_k=20, seed=3,
                       repetition_penalty=1.3, min_new_tokens=24),
], ids=["greedy", "sampled-penalised"])
def test_kept_scores_equal_teacher_forced_rescoring(hf_target, settings):
    lm = hf_target.lm
    gens = hf_target.generate(_prompts(settings))  # one left-padded batch of three lengths
    for prompt, gen in zip(_prompts(settings), gens, strict=True):
        assert gen.ok and gen.token_ids and gen.dist_mean and gen.dist_var
        assert len(gen.logprobs) == len(gen.dist_mean) == len(gen.dist_var) == len(gen.token_ids)
        p_ids = lm.encode_prompt(hf_target.render(prompt))
        seq = p_ids + list(gen.token_ids)
        (_, logits), = lm.logits([seq])
        rows = logits[len(p_ids) - 1:len(seq) - 1]
        lp, mean, var = lm.step_stats(torch, rows, torch.tensor(gen.token_ids))
        for kept, forced in ((gen.logprobs, lp), (gen.dist_mean, mean), (gen.dist_var, var)):
            assert max(abs(a - float(b)) for a, b in zip(kept, forced, strict=True)) < 1e-4


def _greedy_items(target, tokens: int) -> tuple[list, list[Item]]:
    """The target's greedy generations for PROMPTS, and the items a detector receives."""
    settings = GenerationSettings(max_new_tokens=tokens, greedy=True, min_new_tokens=tokens)
    prompts = _prompts(settings)
    gens = target.generate(prompts)
    return gens, [Item(i + 1, p, g) for i, (p, g) in enumerate(zip(prompts, gens, strict=True))]


class _Counting:
    """The target's real scorer, counting the texts it is asked to score."""

    def __init__(self, inner: HFScorer) -> None:
        self.inner, self.texts = inner, []

    def score(self, texts):
        self.texts.extend(texts)
        return self.inner.score(texts)


def test_membership_reuses_generation_scores_and_scores_only_the_lowercase(hf_target):
    gens, items = _greedy_items(hf_target, 16)
    scorer = _Counting(hf_target.scorer())
    det = MembershipDetector(scorer=scorer, lowercase=True, rescore=True)
    findings = det.detect(items, {})
    assert len(findings) == 3
    # one forward per text, for the lowercase ratio only
    assert scorer.texts == [g.text.lower() for g in gens]
    for f, g in zip(findings, gens, strict=True):
        assert f.payload.min_k_plus_plus is not None and math.isfinite(f.payload.min_k_plus_plus)
        assert f.payload.loss == pytest.approx(-sum(g.logprobs) / len(g.logprobs))
        assert f.payload.tokens == len(g.token_ids)


def test_kept_scores_survive_the_run_store(hf_target, tmp_path):
    from regurgitate.store import RunStore
    from regurgitate.types import RunSpec

    settings = GenerationSettings(max_new_tokens=8, greedy=True)
    prompts = _prompts(settings)
    gens = hf_target.generate(prompts)
    with RunStore.open(tmp_path / "run.db") as store:
        store.init_run(RunSpec(target="t", attacks=("t",), index=None))
        store.add_prompts(prompts)
        store.add_generations(gens)
        back = {it.prompt.id: it.generation for it in store.generations()}
    for p, g in zip(prompts, gens, strict=True):
        assert back[p.id].dist_mean == pytest.approx(g.dist_mean)
        assert back[p.id].dist_var == pytest.approx(g.dist_var)


def test_seeded_rows_share_a_batch_and_sample_as_transformers_does_alone(hf_target):
    """Prompts differing only in their seeds run in one batch; each row's tokens are those
    transformers' own sampling gives that prompt alone under torch.manual_seed(seed)."""
    base = dict(max_new_tokens=20, min_new_tokens=20, temperature=0.8, top_k=30, top_p=0.9)
    prompts = [Prompt(id=f"s{i}", attack="t", text=t,
                      settings=GenerationSettings(seed=10 + i, **base))
               for i, t in enumerate(PROMPTS)]
    batched = hf_target.generate(prompts)
    lm = hf_target.lm
    for prompt, gen in zip(prompts, batched, strict=True):
        ids = torch.tensor([lm.encode_prompt(prompt.text)])
        torch.manual_seed(prompt.settings.seed)
        with torch.inference_mode():
            alone = hf_target.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                max_new_tokens=20, min_new_tokens=20, temperature=0.8, top_k=30, top_p=0.9,
                pad_token_id=hf_target.tokenizer.pad_token_id)
        assert list(gen.token_ids) == alone[0, ids.shape[1]:].tolist()
    # and a row's output does not depend on its companions
    again = hf_target.generate([prompts[1]])[0]
    assert again.token_ids == batched[1].token_ids


def test_standalone_membership_scores_each_text_alone(hf_target):
    gens, items = _greedy_items(hf_target, 12)
    scorer = _Counting(hf_target.scorer())
    found = MembershipDetector(scorer=scorer, rescore=True, standalone=True).detect(items, {})
    assert scorer.texts == [g.text for g in gens]  # every text, alone
    alone = hf_target.scorer().score([g.text for g in gens])
    for f, sc in zip(found, alone, strict=True):
        assert f.payload.loss == pytest.approx(-sum(sc.logprobs) / len(sc.logprobs))
