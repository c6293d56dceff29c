"""Locating rank ranges of an FM-index: one block while the predecessors agree
(``fm_kernels.locate_range``) against blocks that split (``fm_locate.locate_blocks``).

    nice python benchmarks/bench_fm_locate.py /work/bench-data/b1g/index-fm \\
        --heldout /work/bench-data/heldout.jsonl [--queries 40] [--repeat 3]

The rank ranges are those ``maximal_spans`` really locates (min 50 tokens, 10 documents):
``FMShard.pointers`` is wrapped to record every contiguous range it is asked for while
1000-token texts run, half cut from corpus documents and half from the held-out corpus
(``bench_fm.texts``). Then each kernel locates every recorded range, after a warm-up, and
the best of ``--repeat`` passes is kept; also the lane walker alone (``fm_kernels.locate``
on the same rows) for reference, and the worst case for blocks: ``--queries`` ranges of
1000 rows from random ranks, whose rows share what follows them, not what precedes them.
Printed as one JSON line per kind of range: rows located,
ranges, microseconds per row for each kernel, the ratio old / new, and whether every
answer was identical to the lane walker's. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fm import texts


def record_ranges(ix, qs: list[np.ndarray]) -> list[tuple[object, int, int]]:
    """(shard, lo, hi) of every rank range ``FMShard.pointers`` is asked for."""
    from regurgitate.index.fm_shard import FMShard

    seen: list[tuple[object, int, int]] = []
    original = FMShard.pointers

    def spy(self: FMShard, ranks: np.ndarray) -> np.ndarray:
        r = np.asarray(ranks, dtype=np.int64)
        if r.size > 1 and bool((np.diff(r) == 1).all()):
            seen.append((self, int(r[0]), int(r[-1]) + 1))
        return original(self, ranks)

    FMShard.pointers = spy  # type: ignore[method-assign]
    try:
        for q in qs:
            ix.maximal_spans(q, min_tokens=50, max_docs=10)
    finally:
        FMShard.pointers = original  # type: ignore[method-assign]
    return seen


def best_of(fn, ranges, repeat: int) -> tuple[float, list[np.ndarray]]:
    best = float("inf")
    out: list[np.ndarray] = []
    for _ in range(repeat):
        out = []
        t = time.perf_counter()
        for r in ranges:
            out.append(fn(*r))
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", type=Path)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=40, help="texts of each kind")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from regurgitate.index import CorpusIndex
    from regurgitate.index import fm_kernels as fk
    from regurgitate.index import fm_locate as fl

    ix = CorpusIndex.open(args.index)
    seen, unseen = texts(ix, args.heldout, args.queries, 1000)

    def old(shard, lo: int, hi: int) -> np.ndarray:
        pos, err = fk.locate_range(*shard._args(), shard.sa, shard.every, lo, hi)
        assert err == fk.OK
        return pos

    def new(shard, lo: int, hi: int) -> np.ndarray:
        pos, err = fl.locate_blocks(*shard._args(), shard.sa, shard.every, lo, hi,
                                    fl.HANDOFF)
        assert err == fk.OK
        return pos

    def lanes(shard, lo: int, hi: int) -> np.ndarray:
        pos, err = fk.locate(*shard._args(), shard.sa, shard.every,
                             np.arange(lo, hi, dtype=np.int64))
        assert err == fk.OK
        return pos

    rng = np.random.default_rng(2)
    shard0 = ix._shards[0]
    arbitrary = [(shard0, lo, lo + 1000) for lo in
                 rng.integers(0, shard0.n - 1000, args.queries).tolist()]
    for kind, qs in (("matching", seen), ("heldout", unseen), ("arbitrary", None)):
        # arbitrary: ranges of 1000 rows from random ranks (rows sharing what follows
        # them, not what precedes them: the blocks split at once, the worst case)
        ranges = arbitrary if qs is None else record_ranges(ix, qs)
        rows = sum(hi - lo for _, lo, hi in ranges)
        for fn in (old, new, lanes):  # compile, warm the page cache
            best_of(fn, ranges, 1)
        t_old, a_old = best_of(old, ranges, args.repeat)
        t_new, a_new = best_of(new, ranges, args.repeat)
        t_lanes, a_lanes = best_of(lanes, ranges, args.repeat)
        same = all(np.array_equal(x, y) and np.array_equal(x, z)
                   for x, y, z in zip(a_lanes, a_old, a_new, strict=True))
        per = 1e6 / max(rows, 1)
        print(json.dumps({
            "texts": kind, "n_texts": len(qs or ()), "ranges": len(ranges), "rows": rows,
            "largest_range": max((hi - lo for _, lo, hi in ranges), default=0),
            "us_per_row_locate_range": round(t_old * per, 3),
            "us_per_row_locate_blocks": round(t_new * per, 3),
            "us_per_row_lanes": round(t_lanes * per, 3),
            "ratio_old_over_new": round(t_old / max(t_new, 1e-12), 2),
            "identical": same, "best_of": args.repeat}), flush=True)


if __name__ == "__main__":
    main()
