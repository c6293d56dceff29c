"""The FM-index's compiled loops alone, on one shard of a built index: backward searches of
50-token windows and locating random rows, the two kinds of work whose reads miss the
cache once the index outgrows it.

    nice python benchmarks/bench_fm_kernels.py /work/bench-data/fm100/index-fm \\
        --heldout /work/bench-data/heldout.jsonl

Windows start every 7th token of 10 held-out texts of 1,000 tokens (so consecutive
searches share little); all are searched, then those that occur are searched again in full
and as span windows are (``once``: stop at one row, which holds for windows known to
occur). Rows to locate are drawn uniformly.
Microseconds per window and per row are printed as JSON; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", type=Path)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    from regurgitate.index import CorpusIndex
    from regurgitate.index import fm_kernels as fk

    ix = CorpusIndex.open(args.index)
    shard = ix._shards[0]
    kargs = shard._args()
    seqs = []
    with args.heldout.open(encoding="utf-8") as f:
        for line in f:
            toks = ix.tokenizer.encode(json.loads(line)["text"])
            if toks.size >= 1000:
                seqs.append(np.asarray(toks[:1000]))
            if len(seqs) == 10:
                break
    buf = np.concatenate(seqs).astype(shard.dtype).view(np.uint8)
    dense = shard._dense(buf)
    starts = np.arange(0, dense.size - 50, 7, dtype=np.int64)
    lens = np.full(starts.size, 50, dtype=np.int64)
    fk.ranges(*kargs, dense, starts[:4], lens[:4], False)  # compile
    out: dict = {"index": str(args.index), "windows": int(starts.size)}
    t = time.perf_counter()
    lo, hi, _ = fk.ranges(*kargs, dense, starts, lens, False)
    out["window_us"] = round((time.perf_counter() - t) / starts.size * 1e6, 2)
    hit = hi > lo  # ``once`` holds only for windows that occur (as in spans)
    out["windows_occurring"] = int(hit.sum())
    out["occurring_found_once"] = round(float(np.mean(hi[hit] - lo[hit] == 1)), 3)
    for once in (False, True):
        t = time.perf_counter()
        fk.ranges(*kargs, dense, starts[hit], lens[hit], once)
        out[f"occurring_window_us{'_once' if once else ''}"] = round(
            (time.perf_counter() - t) / max(int(hit.sum()), 1) * 1e6, 2)
    rng = np.random.default_rng(0)
    fk.locate(*kargs, shard.sa, shard.every, rng.integers(0, shard.n, 8))
    rows = rng.integers(0, shard.n, args.rows)
    t = time.perf_counter()
    fk.locate(*kargs, shard.sa, shard.every, rows)
    out["locate_random_row_us"] = round((time.perf_counter() - t) / rows.size * 1e6, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
