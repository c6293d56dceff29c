"""Benchmark maximal-span search (and the near-verbatim and PII detectors) on periodic text.

    nice -n 15 python benchmarks/bench_periodic.py --mb 4 --work /tmp/bench_periodic

Divergence attacks make models repeat a word or a paragraph for thousands of tokens, and real
corpora hold long repeated runs, so this is the worst case of the span search. Two byte-level
indexes are built from ``--mb`` MB of ``.py`` files of this Python installation: one as is
("plain"), one with long periodic runs added ("runs": ``"poem " * 3000``, ``"A" * 20000``, a
paragraph looped 100 times, ``"company " * 2000``). For every text size (10 KB to 1 MB) the
script times ``find_spans(min_tokens=50)`` (what ``regurgitate check`` runs) on periodic texts
(a word repeated, one character repeated, a paragraph looped) and on ordinary text of the
same length (held-out files with every other 2 KB chunk copied from the corpus), measured in
the same run, and prints the ratio periodic / ordinary (target: <= 3). Then it times the
near-verbatim and PII detectors on 1 MB outputs. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench_check_repeated import collect  # the same corpus and held-out texts

PARAGRAPH = ("The committee met again on Thursday to review the harbour accounts, and once "
             "more the figures for the winter quarter did not agree with the ledger. ")


def ordinary_text(corpus: list[str], held: list[str], n: int) -> str:
    """``n`` characters: held-out code with every other 2 KB chunk taken from the corpus."""
    parts: list[str] = []
    total = 0
    k = 0
    pool_h = "\n".join(held)
    pool_c = "\n".join(corpus)
    while total < n:
        pool = pool_c if k % 2 else pool_h
        start = (k * 7919 * 2048) % max(1, len(pool) - 2048)
        chunk = pool[start:start + 2048]
        parts.append(chunk)
        total += len(chunk)
        k += 1
    return "".join(parts)[:n]


def periodic_texts(n: int) -> dict[str, str]:
    return {
        "word 'poem '": ("poem " * (n // 5 + 1))[:n],
        "char 'A'": "A" * n,
        "paragraph": (PARAGRAPH * (n // len(PARAGRAPH) + 1))[:n],
    }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls, and the last call's result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=4.0, help="corpus size in MB")
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="text sizes in characters, comma-separated")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_periodic"))
    args = ap.parse_args()

    from regurgitate.corpus.tokenizer import ByteTokenizer
    from regurgitate.detectors.base import Item
    from regurgitate.detectors.near_verbatim import NearVerbatimDetector
    from regurgitate.detectors.pii import PIIDetector
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.types import Document, Generation, GenerationSettings, Prompt

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    corpus, held = collect(args.mb)
    runs = ["poem " * 3000, "A" * 20000, PARAGRAPH * 100, "company " * 2000]
    tok = ByteTokenizer()
    indexes = {}
    for name, docs in (("plain", corpus), ("runs", corpus + runs)):
        t0 = time.perf_counter()
        build_index([Document(t) for t in docs], args.work / name, tok)
        indexes[name] = CorpusIndex.open(args.work / name)
        print(f"index {name}: {len(docs)} docs, {indexes[name].num_tokens:,} tokens, "
              f"built in {time.perf_counter() - t0:.1f} s", flush=True)

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"\nmaximal spans (find_spans, min_tokens=50), median of "
          f"{'3 runs (1 for >= 1 MB)'}; ratio = periodic / ordinary of the same length")
    print(f"{'index':6} {'chars':>9} {'text':14} {'seconds':>9} {'spans':>6} {'ratio':>6}")
    worst = 0.0
    for name, ix in indexes.items():
        for n in sizes:
            rep = 1 if n >= 1_000_000 else 3
            base_text = ordinary_text(corpus, held, n)
            base, found = timed(partial(ix.find_spans, [base_text]), rep)
            print(f"{name:6} {n:>9,} {'ordinary':14} {base:9.3f} {len(found[0]):>6}",
                  flush=True)
            for label, text in periodic_texts(n).items():
                t, found = timed(partial(ix.find_spans, [text]), rep)
                ratio = t / max(base, 1e-9)
                worst = max(worst, ratio)
                print(f"{name:6} {n:>9,} {label:14} {t:9.3f} {len(found[0]):>6} "
                      f"{ratio:6.2f}", flush=True)
    print(f"worst ratio: {worst:.2f} (target <= 3)")

    print("\ndetectors on one 1 MB output (index 'runs'), seconds")
    ix = indexes["runs"]
    n = 1_000_000
    outputs = dict(periodic_texts(n))
    outputs["ordinary"] = ordinary_text(corpus, held, n)
    outputs["e-mails looped"] = ("write to jane.doe@example.com or call +1 415 555 0100. "
                                 * (n // 55 + 1))[:n]
    nv = NearVerbatimDetector(ix)  # type: ignore[arg-type]
    for label, text in outputs.items():
        item = Item(1, Prompt(id="p", attack="bench", text="", settings=GenerationSettings()),
                    Generation("p", text))
        t_nv, _ = timed(partial(nv.detect, [item]), 1)
        spans = ix.find_spans([text])[0]
        pii = PIIDetector(spans_for=partial(_ranges, [(s.start, s.end) for s in spans]))
        t_pii, found = timed(partial(pii.detect, [item]), 1)
        print(f"  {label:16} near-verbatim {t_nv:7.2f}   pii {t_pii:7.2f} "
              f"({len(found)} matches, {len(spans)} spans)", flush=True)


def _ranges(ranges: list[tuple[int, int]], _generation_id: int) -> list[tuple[int, int]]:
    return ranges


if __name__ == "__main__":
    main()
