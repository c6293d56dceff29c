"""The same scans against `regurgitate serve` and llama-cpp-python's server (issue 40).

Both serve the bundled chat model (llama-cpp-python: converted to GGUF by tools/gguf_gpt2.py,
float32). Prints, per server:

- greedy discoverable probes (``--attack discoverable``, completions, 20 prompts): how many
  continuations equal `regurgitate serve`'s, text for text;
- the default divergence attack (chat) over ``--seeds`` seeds: generations, failures,
  generations with a verbatim span, tokens memorized (% of generated tokens) and diverged
  outputs (%), with the spread over seeds;
- what the endpoint note recorded (family, neutral samplers, control states, cuts).

Needs ``make llama``. Run from the repository root::

    .venv/bin/python benchmarks/bench_server_families.py [--seeds 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import llama_server  # noqa: E402

REGURGITATE = ROOT / ".venv" / "bin" / "regurgitate"


@contextmanager
def regurgitate_serve(log: Path) -> Iterator[str]:
    """`regurgitate serve` over the bundled model on a free port; its base URL."""
    from regurgitate.model_server import make_server
    from regurgitate.reference.text.paths import model_dir
    from regurgitate.targets.hf import HFTarget

    srv = make_server(target=HFTarget(str(model_dir()), dtype="float32"),
                      model_name="reference", batch_size=8, any_model=True).start()
    try:
        yield srv.url
    finally:
        srv.stop()


def scan(target: str, run: Path, attack: str, seed: int, *extra: str) -> int:
    cmd = [str(REGURGITATE), "scan", "--target", target, "--attack", attack, "--index",
           "reference", "--seed", str(seed), "--run", str(run), "--no-html", "-q", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        print(f"  scan failed ({done.returncode}): {done.stderr[-800:]}", file=sys.stderr)
    return done.returncode


def texts(run: Path) -> dict[str, str | None]:
    with sqlite3.connect(run) as con:
        return {pid: (text if ok else None) for pid, text, ok in
                con.execute("SELECT prompt_id, text, ok FROM generations")}


def figures(run: Path) -> dict[str, float]:
    from regurgitate.reports.text_data import load_run
    from regurgitate.reports.text_summary import compute_summary
    from regurgitate.store.runstore import RunStore

    with RunStore.open(run, create=False) as store:
        summary = compute_summary(load_run(store))
    o = summary.overall
    div = next((d for d in summary.divergences if d.attack_name == "divergence"), None)
    return {"generations": o.generations, "failed": o.failed, "with_span": o.with_verbatim,
            "memorized_pct": 100 * (o.memorized_token_rate or 0.0),
            "diverged_pct": 100 * ((div.divergence_rate if div else None) or 0.0)}


def notes(run: Path) -> dict:  # type: ignore[type-arg]
    with sqlite3.connect(run) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'endpoint'").fetchone()
    return json.loads(row[0]) if row else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--skip-discoverable", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--before", action="store_true",
                        help="also probe llama-cpp-python as the target did before issue 40 "
                        "(OpenAI's fields only: family=openai) and skip the divergence runs")
    args = parser.parse_args()
    missing = llama_server.available()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-servers-"))
    out.mkdir(parents=True, exist_ok=True)
    from regurgitate.reference.text.paths import model_dir

    tok = f"tokenizer={model_dir()}"
    with regurgitate_serve(out / "serve.log") as ours, \
            llama_server.serve(log=out / "llama.log") as llama:
        targets = {"regurgitate serve": f"openai:{ours}?model=reference&{tok}",
                   "llama-cpp-python": f"openai:{llama}?model={llama_server.GGUF}&{tok}"}
        if args.before:
            targets = {**targets, "llama-cpp-python, OpenAI fields only":
                       f"openai:{llama}?model={llama_server.GGUF}&{tok}&family=openai"}
        print(f"runs in {out}")
        greedy: dict[str, dict[str, str | None]] = {}
        for name, spec in targets.items():
            if args.skip_discoverable:
                break
            run = out / f"discoverable-{name.replace(' ', '-')}.db"
            scan(spec, run, "discoverable", 0, "--set", f"discoverable.num_prompts={args.probes}")
            greedy[name] = texts(run)
            print(f"{name}: discoverable endpoint note: {json.dumps(notes(run))}")
        base = greedy.get("regurgitate serve", {})
        for name, got in greedy.items():
            same = sum(1 for pid, t in base.items() if t is not None and got.get(pid) == t)
            print(f"greedy discoverable probes equal to regurgitate serve's, {name}: "
                  f"{same} of {len(base)}")
        # llama-cpp-python first: `regurgitate serve` (torch on CPU) is the slow one
        for name, spec in reversed(targets.items()):
            if args.before:
                break
            rows = []
            for seed in range(args.seeds):
                run = out / f"divergence-{name.replace(' ', '-')}-{seed}.db"
                scan(spec + "&chat=1", run, "divergence", seed)
                rows.append(figures(run))
                print(f"  {name} seed {seed}: {json.dumps(rows[-1])}", flush=True)
            total = {k: sum(r[k] for r in rows) for k in ("generations", "failed", "with_span")}
            mem = [r["memorized_pct"] for r in rows]
            div = [r["diverged_pct"] for r in rows]
            print(f"divergence, {name}, {args.seeds} seeds: {total['generations']} generations, "
                  f"{total['failed']} failed, {total['with_span']} with a verbatim span; "
                  f"tokens memorized {statistics.mean(mem):.2f}% (per seed "
                  f"{', '.join(f'{m:.2f}' for m in mem)}); diverged "
                  f"{statistics.mean(div):.1f}% (per seed {', '.join(f'{d:.1f}' for d in div)})")
            print(f"  endpoint note (last seed): {json.dumps(notes(run))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
