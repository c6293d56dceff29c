"""The divergence figures of one stored run, including the split by repeats before the point.

    python benchmarks/divergence_run_figures.py RUN.db

Reads the run (``regurgitate scan ... --run RUN.db``) and prints, for its ``divergence``
prompts: the share that diverged; the share of diverged outputs with a >= 50-token verbatim
span after the point, overall and for outputs that repeated the word 1-2 times vs 3 or more
times before the point; memorized tokens per 1,000 generated for the attack and the baseline
and their ratio; unique memorized sequences; and one line per diverged output. Printed, never
asserted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from regurgitate.reports.text_data import load_run
from regurgitate.reports.text_divergence import divergence_figures
from regurgitate.store import RunStore


def _share(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}% ({k}/{n})" if n else "– (0/0)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    args = p.parse_args()
    with RunStore.open(args.run, create=False) as store:
        fig = divergence_figures(load_run(store))
    if fig is None:
        print("no divergence prompts in this run")
        return 1
    a, b = fig.attack, fig.baseline
    few = [d for d in fig.diverged if d.repeats < 3]
    many = [d for d in fig.diverged if d.repeats >= 3]
    print(f"repeat-a-word outputs: {a.outputs}; diverged {_share(len(fig.diverged), a.outputs)}")
    print("diverged with a >= 50-token span after the point: "
          f"{_share(fig.diverged_with_span_after, len(fig.diverged))}")
    for label, group in (("1-2", few), (">=3", many)):
        k = sum(d.longest_after >= 50 for d in group)
        print(f"  after {label} repeats before the point: {_share(k, len(group))}")
    print(f"memorized tokens per 1,000 generated: attack {a.per_1000 or 0:.1f} "
          f"({a.memorized_tokens:,} of {a.generated_tokens:,})", end="")
    if b is not None:
        print(f", baseline {b.per_1000 or 0:.1f} ({b.memorized_tokens:,} of "
              f"{b.generated_tokens:,}, {b.outputs} outputs)")
    else:
        print(", no baseline")
    print("ratio: " + (f"{fig.ratio:.1f}x" if fig.ratio is not None else
                       "undefined (the baseline emitted no memorized token)"))
    print(f"unique memorized sequences: attack {a.unique_sequences}, "
          f"baseline {b.unique_sequences if b else '–'}")
    print(f"outputs with a verbatim span anywhere: attack {_share(a.with_span, a.outputs)}"
          + (f", baseline {_share(b.with_span, b.outputs)}" if b else ""))
    for d in sorted(fig.diverged, key=lambda d: d.generation_id):
        spans = "; ".join(f"{s.tokens} tok {s.count}x {','.join(s.sources[:2])}"
                          for s in d.spans_after) or "no span after the point"
        print(f"  {d.prompt_id}: x{d.repeats} before the point, at character {d.point}: "
              f"{spans}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
