"""How far do the extrapolations of unique memorized text miss? Checked against longer runs.

    python benchmarks/bench_extrapolation.py RUN.db [RUN.db ...] [--n 250,500,750,1000,1500]
    python benchmarks/bench_extrapolation.py --make /tmp/est --seeds 0,1 --samples 4500

A sample-rank run's prompts and seeds depend only on their position (``seed * 1000003 + i``),
so the first k generations of a run of N are those of a run of k: one long run per seed gives
every shorter run as a prefix. For each run, each n in ``--n`` and each factor t in
``--factors`` (with ``(1 + t) n`` generations available), every estimator projects, from the
first n generations alone, how many unique memorized ``--min-tokens``-grams the first
``(1 + t) n`` generations hold; the run itself says how many they do. Printed: one row per
(estimator, t) with the mean, smallest and largest relative error (negative: the projection
fell short) and the mean absolute error over the runs and n; the estimator with the smallest
mean absolute error at 2x and 5x; then every case.

The same for unique memorized *sequences* (clusters of overlapping spans) follows, counted as
a run stopped at n would count them; that unit moves as later generations merge clusters,
which the "n in long run" column shows.

``--make DIR`` first runs (or resumes) ``regurgitate scan --attack sample-rank`` on the
bundled reference for each seed, into ``DIR/sample-rank-seed{S}-{N}.db``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from regurgitate.metrics.ngrams import NGram, ngram_incidence
from regurgitate.metrics.projections import PROJECTORS as ESTIMATORS
from regurgitate.metrics.projections import SHOWN
from regurgitate.reports.text_data import RunData, load_run
from regurgitate.reports.text_memorized import memorized_ngrams, unique_memorized
from regurgitate.store import RunStore


@dataclass(frozen=True)
class Case:
    unit: str
    estimator: str
    run: str
    n: int
    t: float
    projected: float
    observed: int

    @property
    def error(self) -> float:
        return (self.projected - self.observed) / self.observed if self.observed else 0.0


def _tokens_of(run: RunData) -> Callable[[int], Sequence[int]] | None:
    """The generations' tokens in the index's tokenization, for runs whose spans predate
    ``VerbatimSpan.token_ids`` (needs the index the run was scanned against)."""
    path = (run.index_info or {}).get("path")
    if not path or not Path(path).is_dir():
        return None
    from regurgitate.index.open import open_index

    tok = open_index(path).tokenizer
    texts = {it.generation_id: it.generation.text for it in run.items}
    return lambda gid: [int(t) for t in tok.encode(texts[gid])]


def ngram_cases(name: str, run: RunData, ns: Sequence[int], factors: Sequence[float],
                min_tokens: int) -> list[Case]:
    order = [it.generation_id for it in run.items if it.generation.ok]
    grams = memorized_ngrams(run.findings, min_tokens, _tokens_of(run))
    if grams is None:
        raise SystemExit(f"{name}: spans without token ids and no index to tokenize with")
    cases = []
    for n in ns:
        inc = list(ngram_incidence(grams.get(g, set()) for g in order[:n]).values())
        for t in factors:
            end = round((1 + t) * n)
            if end > len(order):
                continue
            seen: set[NGram] = set()
            for g in order[:end]:
                seen |= grams.get(g, set())
            for est, fn in ESTIMATORS.items():
                cases.append(Case("n-grams", est, name, n, t, fn(inc, n, t), len(seen)))
    return cases


def sequence_cases(name: str, run: RunData, ns: Sequence[int], factors: Sequence[float],
                   ) -> tuple[list[Case], dict[int, tuple[int, int]]]:
    """Cases for unique sequences as a run stopped at k counts them, and for each n the
    count at n of a run stopped there against the long run's own count of its first n."""
    order = [it.generation_id for it in run.items if it.generation.ok]
    texts = {it.generation_id: it.generation.text for it in run.items}
    full = unique_memorized(run.findings, texts)

    def stopped_at(k: int) -> list[int]:
        keep = set(order[:k])
        fs = [f for f in run.findings if f.generation_id in keep]
        return [s.generations for s in unique_memorized(fs, texts)]

    moved = {}
    cases = []
    for n in ns:
        if n > len(order):
            continue
        inc = stopped_at(n)
        keep = set(order[:n])
        moved[n] = (len(inc), sum(1 for s in full if keep.intersection(s.generation_ids)))
        for t in factors:
            end = round((1 + t) * n)
            if end > len(order):
                continue
            observed = len(stopped_at(end))
            for est, fn in ESTIMATORS.items():
                cases.append(Case("sequences", est, name, n, t, fn(inc, n, t), observed))
    return cases, moved


def summary_rows(cases: Sequence[Case]) -> list[str]:
    rows = [f"{'estimator':<22} {'t':>3} {'cases':>5} {'mean err':>9} {'min':>8} {'max':>8} "
            f"{'mean |err|':>10}"]
    keys = sorted({(c.estimator, c.t) for c in cases},
                  key=lambda k: (k[1], list(ESTIMATORS).index(k[0])))
    for est, t in keys:
        errs = [c.error for c in cases if c.estimator == est and c.t == t]
        rows.append(f"{est:<22} {t:>3g} {len(errs):>5} {100 * mean(errs):>+8.1f}% "
                    f"{100 * min(errs):>+7.1f}% {100 * max(errs):>+7.1f}% "
                    f"{100 * mean(abs(e) for e in errs):>9.1f}%")
    return rows


def make_runs(folder: Path, seeds: Sequence[int], samples: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in seeds:
        db = folder / f"sample-rank-seed{seed}-{samples}.db"
        subprocess.run([sys.executable, "-m", "regurgitate.cli.main", "scan",
                        "--attack", "sample-rank", "--set",
                        f"sample-rank.num_samples={samples}", "--seed", str(seed), "--run", str(db),
                        "--no-html", "-q"], check=True)
        out.append(db)
    return out


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, nargs="*")
    p.add_argument("--n", default="250,400,500,750,1000,1500",
                   help="prefix sizes projected from")
    p.add_argument("--factors", default="1,2,5,10", help="t: project to (1 + t) n generations")
    p.add_argument("--min-tokens", type=int, default=None, help="n-gram length (default: the "
                   "run's own --min-tokens)")
    p.add_argument("--shown", default=SHOWN, choices=list(ESTIMATORS),
                   help="the projection whose errors are printed for projections.py")
    p.add_argument("--make", type=Path, help="make (or resume) the runs in this folder first")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--samples", type=int, default=4500)
    p.add_argument("--sequences", action="store_true",
                   help="also the old unit, unique sequences (slow: re-clusters each prefix)")
    args = p.parse_args()
    runs = list(args.runs)
    if args.make:
        runs += make_runs(args.make, _ints(args.seeds), args.samples)
    if not runs:
        p.error("give run databases, or --make DIR")
    ns, factors = _ints(args.n), [float(x) for x in args.factors.split(",")]
    cases: list[Case] = []
    seq_cases: list[Case] = []
    for path in runs:
        with RunStore.open(path, create=False) as store:
            run = load_run(store)
        k = args.min_tokens or int(run.spec.settings.get("min_tokens", 50))
        ok = sum(1 for it in run.items if it.generation.ok)
        print(f"{path.name}: {ok} generations, {k}-grams")
        cases += ngram_cases(path.name, run, ns, factors, k)
        if args.sequences:
            more, moved = sequence_cases(path.name, run, ns, factors)
            seq_cases += more
            for n, (stopped, inside) in moved.items():
                print(f"  unique sequences at {n}: run stopped there {stopped}, "
                      f"n in long run {inside}")
    if cases:
        far = [c for c in cases if c.t in (2, 5)]
        if far:
            best = min(ESTIMATORS, key=lambda e: mean(
                abs(c.error) for c in far if c.estimator == e))
            print(f"\nclosest at 2x and 5x (smallest mean |error|): {best}")
        print(f"\nfor projections.py, {args.shown}:")
        for t in factors:
            errs = [c.error for c in cases if c.estimator == args.shown and c.t == t]
            if errs:
                print(f"    MeasuredError(t={t:g}, mean={mean(errs):.3f}, low={min(errs):.3f}, "
                      f"high={max(errs):.3f}, cases={len(errs)}),")
    for label, group in (("unique memorized n-grams", cases), ("unique sequences", seq_cases)):
        if not group:
            continue
        print(f"\n{label}: projection from n vs observed at (1 + t) n, relative error")
        print("\n".join(summary_rows(group)))
        print(f"\n{'run':<34} {'n':>5} {'t':>3} {'estimator':<22} {'projected':>10} "
              f"{'observed':>9} {'error':>8}")
        for c in group:
            print(f"{c.run:<34} {c.n:>5} {c.t:>3g} {c.estimator:<22} {c.projected:>10.1f} "
                  f"{c.observed:>9} {100 * c.error:>+7.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
