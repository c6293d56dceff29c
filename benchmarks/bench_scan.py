"""The default scan's phase breakdown: prints figures, asserts nothing.

Runs what ``regurgitate scan`` runs with no arguments (the bundled reference model, its corpus
index, the reference attacks and every default detector) into a fresh run database, with a
timer around each phase:

* load: building the target and attacks (``prepare_scan`` less the index);
* index: opening the cached reference index (``--cold`` builds it anew first);
* generation: ``target.generate``, all batches;
* each detector: its ``detect`` calls, all batches;
* report: the terminal summary and the HTML report;
* other: the rest of the scan loop (store writes, prompt planning).

The target's budget for the whole scan is 45 s on 2 idle cores from a fresh clone.

    python benchmarks/bench_scan.py [--cold] [--rounds 1]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(phases: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] += time.perf_counter() - start
    return wrapper


def one_scan(work: Path, cache: Path, cold: bool) -> tuple[dict[str, float], float, str]:
    from rich.console import Console

    from regurgitate.reports.writer import write_outputs
    from regurgitate.scan.pipeline import run_scan
    from regurgitate.scan.request import ScanRequest
    from regurgitate.scan.setup import prepare_scan
    from regurgitate.store import RunStore
    from regurgitate.targets.reference import reference_index

    phases: dict[str, float] = defaultdict(float)
    wall = time.perf_counter()
    if cold:
        import shutil

        shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    reference_index(cache, note=lambda m: None)
    phases["index"] += time.perf_counter() - start
    start = time.perf_counter()
    prepared = prepare_scan(ScanRequest(run=work / "scan.db", html=work / "scan.html",
                                        cache_dir=cache))
    phases["load"] += time.perf_counter() - start - 0.0
    target = prepared.target
    target.generate = _timed(phases, "generation", target.generate)  # type: ignore[method-assign]
    for det in prepared.detectors:
        det.detect = _timed(phases, f"detector {det.name}", det.detect)  # type: ignore[method-assign]
    start = time.perf_counter()
    with RunStore.open(prepared.run_path) as store:
        outcome = run_scan(store=store, spec=prepared.spec, target=target,
                           attacks=prepared.attacks, detectors=prepared.detectors,
                           index=prepared.index, seed=0)
        loop = time.perf_counter() - start
        start = time.perf_counter()
        write_outputs(store, Console(file=io.StringIO(), width=100), html=prepared.html_path)
        phases["report"] += time.perf_counter() - start
    inner = sum(v for k, v in phases.items() if k == "generation" or k.startswith("detector"))
    phases["other (store, planning)"] += loop - inner
    total = time.perf_counter() - wall
    summary = (f"{outcome.generated} generations, {outcome.tokens} tokens, "
               f"{outcome.spans} spans; model on {target.runtime()}")
    return dict(phases), total, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="rebuild the reference index")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    import torch  # noqa: F401  (imported once, as the CLI does)

    import regurgitate.targets.hf  # noqa: F401
    print(f"imports: {time.perf_counter() - start:.1f} s")
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache" if args.cold else Path(tmp).parent / "regurgitate-bench"
            phases, total, summary = one_scan(Path(tmp), cache, args.cold)
        print(f"round {r + 1}: {total:.1f} s in all ({summary})")
        for name, seconds in sorted(phases.items(), key=lambda kv: -kv[1]):
            print(f"  {name:28s} {seconds:6.1f} s  {seconds / total:5.1%}")


if __name__ == "__main__":
    main()
