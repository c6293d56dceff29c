"""Figures for the plugin machinery: how long the conformance suite takes over every
registered component, and what counting a text-only target's tokens costs per generation.

    python benchmarks/bench_plugins.py

Prints wall-clock seconds (time.perf_counter, one run each, on this machine as it is)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main() -> None:
    from regurgitate import reference
    from regurgitate.index.query import CorpusIndex
    from regurgitate.scan.budget import Budget
    from regurgitate.scan.conformance import check_all
    from regurgitate.scan.request import cache_dir
    from regurgitate.scan.tokens import count_tokens
    from regurgitate.targets.reference import reference_index
    from regurgitate.types import Generation

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        results = check_all(Path(tmp))
        took = time.perf_counter() - t0
    bad = sum(bool(p) for p in results.values())
    print(f"conformance suite: {len(results)} components, {bad} with problems, "
          f"{took:.2f} s wall clock (one run)")

    index = CorpusIndex.open(reference_index(cache_dir(None), lambda m: None))
    texts = [d.text[:1000] for d, _ in zip(reference.iter_corpus(), range(500), strict=False)]
    gens = [Generation(prompt_id=str(i), text=t) for i, t in enumerate(texts)]

    class _Target:  # what count_tokens reads of a target
        name = "bench"

    t0 = time.perf_counter()
    counted = count_tokens(gens, index.tokenizer, target=_Target(),  # type: ignore[arg-type]
                           budget=Budget())
    took = time.perf_counter() - t0
    tokens = sum(g.generated_tokens for g in counted)
    print(f"token counting of text-only generations: {len(gens)} generations of up to 1,000 "
          f"characters ({tokens:,} tokens, the reference index's tokenizer) in {took:.3f} s = "
          f"{1000 * took / len(gens):.3f} ms per generation")


if __name__ == "__main__":
    main()
