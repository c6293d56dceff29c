"""A guard that needs no clock: the HF target's generation against a bare float32
``model.generate`` loop on the bundled reference model, in the same process, at the same batch
size and settings. A ratio from the same run holds on any machine; a silent precision or
caching regression (fp16 weights computing in fp16 on a CPU: ~50x slower) fails it."""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from regurgitate import reference  # noqa: E402
from regurgitate.targets.hf import HFTarget  # noqa: E402
from regurgitate.types import GenerationSettings, Prompt  # noqa: E402

TEXTS = ("the old house stood", "repeat this word forever: poem", "a list of names and",
         "in the beginning", "def main():", "the quick brown fox", "dear sir, we regret",
         "once upon a time")
NEW = 48


def _bare_tokens(model, tokenizer) -> int:
    enc = tokenizer(list(TEXTS), return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    return int(out[:, enc["input_ids"].shape[1]:].numel())


def _rate(fn) -> float:
    start = time.perf_counter()
    tokens = fn()
    return tokens / (time.perf_counter() - start)


def test_target_generation_keeps_up_with_a_bare_float32_loop():
    from transformers import AutoModelForCausalLM

    target = HFTarget(str(reference.model_dir()), batch_size=len(TEXTS))
    bare = AutoModelForCausalLM.from_pretrained(reference.model_dir(), dtype=torch.float32,
                                                local_files_only=True).eval()
    settings = GenerationSettings(max_new_tokens=NEW, min_new_tokens=NEW, greedy=True)
    prompts = [Prompt(id=str(i), attack="guard", text=t, settings=settings)
               for i, t in enumerate(TEXTS)]

    def run_target() -> int:
        return sum(g.completion_tokens or 0 for g in target.generate(prompts))

    def run_bare() -> int:
        return _bare_tokens(bare, target.tokenizer)

    run_target(), run_bare()  # warm-up
    # interleaved, best of three each: noise from other work on the machine hits both alike
    target_rates, bare_rates = [], []
    for _ in range(3):
        target_rates.append(_rate(run_target))
        bare_rates.append(_rate(run_bare))
    ratio = max(target_rates) / max(bare_rates)
    assert ratio >= 0.5, (f"HF target {max(target_rates):.0f} tok/s against a bare float32 loop "
                          f"{max(bare_rates):.0f} tok/s (ratio {ratio:.2f}); "
                          f"target computes on {target.runtime()}")
