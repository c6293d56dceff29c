"""A guard that needs no clock: the HF target generates the way a fast float32 loop does, in
float32 on the CPU and with the KV cache (after the prompt, each step feeds the model one new
token per row). The regressions it catches (fp16 weights computing in fp16 on a CPU, a lost
cache: each ~50x slower) show in what the model is fed, counted here; the tokens/s figures
against a bare ``model.generate`` loop are ``benchmarks/bench_targets.py``'s."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from regurgitate import reference  # noqa: E402
from regurgitate.targets.hf import HFTarget  # noqa: E402
from regurgitate.types import GenerationSettings, Prompt  # noqa: E402

TEXTS = ("the old house stood", "repeat this word forever: poem", "a list of names and",
         "in the beginning", "def main():", "the quick brown fox", "dear sir, we regret",
         "once upon a time")
NEW = 16


def test_target_generation_computes_like_a_bare_float32_cached_loop() -> None:
    target = HFTarget(str(reference.model_dir()), batch_size=len(TEXTS))
    model = target.model
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    fed: list[int] = []

    def count(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        fed.append(int(ids.shape[1]) if ids is not None else -1)

    handle = model.register_forward_pre_hook(count, with_kwargs=True)
    try:
        settings = GenerationSettings(max_new_tokens=NEW, min_new_tokens=NEW, greedy=True)
        gens = target.generate([Prompt(id=str(i), attack="guard", text=t, settings=settings)
                                for i, t in enumerate(TEXTS)])
    finally:
        handle.remove()
    assert all(g.ok and g.completion_tokens == NEW for g in gens)
    # one batch: the prompts once, then one new token a step (the cache holds the rest)
    assert len(fed) == NEW and fed[0] > 1 and set(fed[1:]) == {1}, fed
