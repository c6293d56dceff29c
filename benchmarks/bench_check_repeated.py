"""`check` of repeated text against plain text of the same size: same index, same run.

    nice -n 15 python benchmarks/bench_check_repeated.py --mb 2 --kb 100 --work /tmp/bcr

The case of issue 27: a model told to repeat a word writes ``"poem " * 20,000`` (100 KB); the
corpus holds a 15 KB run of it, so a maximal span starts at every period of the text. The
script builds one byte-level index from ``--mb`` MB of this Python installation's ``.py``
files plus that run, then does what ``regurgitate check --json`` does (closeness report, JSON
dump) for ``--kb`` KB of the repeated word and for ``--kb`` KB of plain text (held-out files
with every other 2 KB piece copied from the corpus), alternating the two ``--repeat`` times.
It prints the median CPU and wall seconds of each, the ratio repeated / plain (target:
<= 2x; the default test suite guards <= 5x at 30 KB in ``tests/cli/test_check_cost.py``) and
both JSON sizes (target: the repeated text's under 10x its size). Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sysconfig
import time
from pathlib import Path

RUN = "poem " * 3000


def collect(mb: float) -> tuple[list[str], list[str]]:
    """Corpus texts (about ``mb`` MB) and held-out texts, from the stdlib's .py files."""
    root = Path(sysconfig.get_paths()["stdlib"])
    corpus: list[str] = []
    held: list[str] = []
    size = 0
    for k, p in enumerate(sorted(root.rglob("*.py"))):
        if "test" in p.parts:
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if k % 10 == 0:
            held.append(text)
        elif size < mb * 1e6:
            corpus.append(text)
            size += len(text.encode())
    return corpus, held


def plain_text(corpus: list[str], held: list[str], n: int) -> str:
    """``n`` characters: held-out code with every other 2 KB piece taken from the corpus."""
    pools = ("\n".join(held), "\n".join(corpus))
    parts: list[str] = []
    k = 0
    while sum(map(len, parts)) < n:
        pool = pools[k % 2]
        start = (k * 7919 * 2048) % max(1, len(pool) - 2048)
        parts.append(pool[start:start + 2048])
        k += 1
    return "".join(parts)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=2.0, help="corpus size in MB")
    ap.add_argument("--kb", type=int, default=100, help="text size in KB (1000 characters)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_check_repeated"))
    args = ap.parse_args()

    from regurgitate.check.closeness import closeness, report_to_dict
    from regurgitate.corpus.tokenizer import ByteTokenizer
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.types import Document

    shutil.rmtree(args.work, ignore_errors=True)
    corpus, held = collect(args.mb)
    build_index([Document(t) for t in corpus + [RUN]], args.work, ByteTokenizer())
    index = CorpusIndex.open(args.work)
    n = args.kb * 1000
    texts = {"plain": plain_text(corpus, held, n), "repeated": ("poem " * (n // 5 + 1))[:n]}
    print(f"index: {len(corpus) + 1} docs, {index.num_tokens:,} bytes (with a {len(RUN):,}-"
          f"byte run of 'poem '); texts of {n:,} characters; min_tokens 50", flush=True)

    def check(text: str) -> tuple[float, float, int, int]:
        t0, c0 = time.perf_counter(), time.process_time()
        report = closeness(index, text, min_tokens=50, max_docs=100)
        out = json.dumps(report_to_dict(report, index, text), ensure_ascii=False)
        return (time.process_time() - c0, time.perf_counter() - t0, len(out.encode()),
                len(report.spans))

    check(texts["plain"][:5000])  # warm-up: compiled kernels, page cache
    runs: dict[str, list[tuple[float, float, int, int]]] = {k: [] for k in texts}
    for _ in range(args.repeat):
        for name, text in texts.items():
            runs[name].append(check(text))
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
           for k, v in runs.items()}
    print(f"{'text':9} {'cpu s':>7} {'wall s':>7} {'spans':>7} {'json bytes':>11}")
    for name, v in runs.items():
        print(f"{name:9} {med[name][0]:7.2f} {med[name][1]:7.2f} {v[-1][3]:7,} {v[-1][2]:11,}")
    print(f"ratio repeated / plain: cpu {med['repeated'][0] / med['plain'][0]:.2f}x, wall "
          f"{med['repeated'][1] / med['plain'][1]:.2f}x (target <= 2x); repeated JSON "
          f"{runs['repeated'][-1][2] / n:.3f}x its input (target < 10x)")


if __name__ == "__main__":
    main()
