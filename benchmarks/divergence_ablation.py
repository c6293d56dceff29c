"""Ablation of the divergence protocol on the bundled reference chat model.

    python benchmarks/divergence_ablation.py [--words the,one --samples 1 --rows 0,1,2]

Each row runs the nasr2023 preset with one knob changed, in this process: the reference model
(HF target, chat template), the divergence and verbatim detectors against the reference index
(built and cached as ``regurgitate scan`` does), and
:func:`regurgitate.reports.text_divergence.divergence_figures` on the result. Printed as a Markdown
table, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from regurgitate.attacks.base import AttackContext
from regurgitate.attacks.divergence import DivergenceAttack
from regurgitate.detectors.base import Item, Prior
from regurgitate.detectors.divergence import DivergenceDetector
from regurgitate.detectors.verbatim import VerbatimDetector
from regurgitate.reports.text_data import RunData
from regurgitate.reports.text_divergence import divergence_figures
from regurgitate.types import RunSpec

#: (label, target options, attack options) ; the preset supplies everything else
ROWS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("preset (freq. penalty 0.5, ignore EOS, T=0.5, ctx 512)", "", {}),
    ("no penalty", "", {"frequency_penalty": 0.0}),
    ("frequency penalty 1.0", "", {"frequency_penalty": 1.0}),
    ("presence penalty 0.5 instead", "", {"frequency_penalty": 0.0, "presence_penalty": 0.5}),
    ("repetition penalty 1.3 instead", "", {"frequency_penalty": 0.0,
                                            "repetition_penalty": 1.3}),
    ("EOS allowed (no min_new_tokens)", "", {"ignore_eos": False}),
    ("repeats in prompt: 1 only", "", {"repeats": (1,)}),
    ("repeats in prompt: 40 only", "", {"repeats": (40,)}),
    ("temperature 1.0", "", {"temperature": 1.0}),
    ("greedy (temperature 0)", "", {"temperature": 0.0}),
    ("output capped at 96 tokens", "", {"max_new_tokens": 96}),
)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _split(fig: Any) -> str:
    """Diverged outputs with a >= 50-token span after the point, of those that repeated the
    word 1-2 times before it / 3 or more times ("with span/diverged")."""
    few = [d for d in fig.diverged if d.repeats < 3]
    many = [d for d in fig.diverged if d.repeats >= 3]
    k1, k3 = (sum(d.longest_after >= 50 for d in g) for g in (few, many))
    return f"{k1}/{len(few)} / {k3}/{len(many)}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--words", default="", help="comma-separated words (default: the preset's)")
    p.add_argument("--samples", type=int, default=0, help="samples per word (0: preset's)")
    p.add_argument("--rows", default="", help="comma-separated row numbers (default all)")
    args = p.parse_args()
    from regurgitate import reference
    from regurgitate.index import CorpusIndex
    from regurgitate.scan.request import cache_dir
    from regurgitate.targets.hf import HFTarget
    from regurgitate.targets.reference import reference_index

    index = CorpusIndex.open(reference_index(cache_dir(), lambda m: print(m, file=sys.stderr)))
    target = HFTarget(str(reference.model_dir()), chat=True, batch_size=8)
    detectors = [DivergenceDetector(), VerbatimDetector(index)]  # type: ignore[arg-type]
    common: dict[str, Any] = {"preset": "nasr2023"}
    if args.words:
        common["words"] = tuple(w for w in args.words.split(",") if w)
    if args.samples:
        common["samples"] = args.samples
    wanted = {int(x) for x in args.rows.split(",") if x} or set(range(len(ROWS)))
    print("| # | setting | diverged | diverged w/ >=50-tok span after point | "
          "same, after 1-2 / >=3 repeats | "
          "mem. tok / 1k (attack) | mem. tok / 1k (baseline) | ratio | unique seq. |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for i, (label, _, opts) in enumerate(ROWS):
        if i not in wanted:
            continue
        t0 = time.perf_counter()
        attack = DivergenceAttack(**{**common, **opts})
        prompts = attack.prompts(AttackContext(index=None, seed=0, chat=True))
        gens = target.generate(prompts)
        items = [Item(generation_id=n + 1, prompt=pr, generation=g)
                 for n, (pr, g) in enumerate(zip(prompts, gens, strict=True))]
        findings = [f for d in detectors for f in d.detect(items, Prior())]
        run = RunData(spec=RunSpec(target="reference", attacks=("divergence",), index=None),
                      items=items, findings=findings)
        fig = divergence_figures(run)
        if fig is None:
            continue
        b = fig.baseline
        print(f"| {i} | {label} | {_pct(fig.divergence_rate)} ({len(fig.diverged)}/"
              f"{fig.attack.outputs}) | {_pct(fig.span_after_rate)} "
              f"({fig.diverged_with_span_after}) | {_split(fig)} | {_num(fig.attack.per_1000)} | "
              f"{_num(b.per_1000 if b else None)} | "
              f"{'–' if fig.ratio is None else f'{fig.ratio:.1f}x'} | "
              f"{fig.attack.unique_sequences} / {b.unique_sequences if b else '–'} |",
              flush=True)
        print(f"  (row {i}: {time.perf_counter() - t0:.0f}s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
