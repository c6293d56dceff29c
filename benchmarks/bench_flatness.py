"""How query time grows with the corpus: the same texts against a small and a large index.

    python benchmarks/bench_flatness.py /work/bench-data/b100/index-sa \\
        /work/bench-data/b1g/index-sa --heldout /work/bench-data/heldout.jsonl [--rounds 5]

The texts (as ``bench_fm.py`` makes them: 1,000 tokens cut from documents of the *small*
index, which must be a prefix of the large corpus, so both indexes hold them; held-out
near-duplicates; shuffled real words that match little; random letters that match
nothing) are timed with ``maximal_spans``
(min 50 tokens, windows, 10 documents) on both indexes in alternating rounds, in one
process. For each index and kind of text the median per text is kept from each round, and
the least of those medians is printed (the round least disturbed by other work on the
machine), with the ratio large / small. The index's memo of documents per rank range is
cleared before every round, so no round reuses what an earlier one located.
``bench_fm.py`` cuts its texts from the index it measures, so its figures at two sizes are
of different texts; this script compares like with like. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fm import random_texts, shuffled_texts, texts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("small", type=Path)
    ap.add_argument("large", type=Path)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--queries", type=int, default=40, help="texts of each kind")
    args = ap.parse_args()
    from regurgitate.index import CorpusIndex

    ixs = {"small": CorpusIndex.open(args.small), "large": CorpusIndex.open(args.large)}
    seen, unseen = texts(ixs["small"], args.heldout, args.queries, 1000)
    groups = {"matching": seen, "heldout": unseen,
              "shuffled": shuffled_texts(ixs["small"], args.heldout, args.queries, 1000),
              "random": random_texts(ixs["small"], args.queries, 1000)}
    for ix in ixs.values():  # compile, warm the page cache
        for q in seen[:3] + unseen[:3]:
            ix.maximal_spans(q, min_tokens=50)
    best: dict[tuple[str, str], float] = {}
    spans: dict[tuple[str, str], int] = {}
    for _ in range(args.rounds):
        for name, ix in ixs.items():
            for kind, qs in groups.items():
                ix._doc_memo.clear()  # each round reads its documents afresh
                ms, found = [], 0
                for q in qs:
                    t = time.perf_counter()
                    found += len(ix.maximal_spans(q, min_tokens=50, max_docs=10))
                    ms.append((time.perf_counter() - t) * 1000)
                key = (name, kind)
                best[key] = min(best.get(key, float("inf")), statistics.median(ms))
                spans[key] = found
    for kind in groups:
        small, large = best[("small", kind)], best[("large", kind)]
        print(json.dumps({"texts": kind, "n": len(groups[kind]), "rounds": args.rounds,
                          "small": str(args.small), "large": str(args.large),
                          "small_median_ms": round(small, 2),
                          "large_median_ms": round(large, 2),
                          "ratio": round(large / small, 2),
                          "spans_small": spans[("small", kind)],
                          "spans_large": spans[("large", kind)]}), flush=True)


if __name__ == "__main__":
    main()
