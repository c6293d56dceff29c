"""The FM-index's compiled loops alone, on one shard of a built index: backward searches of
50-token windows and locating random rows, the two kinds of work whose reads miss the
cache once the index outgrows it.

    nice python benchmarks/bench_fm_kernels.py /work/bench-data/fm100/index-fm \\
        --heldout /work/bench-data/heldout.jsonl

With ``--copies``, instead: a synthetic index of 3,000 documents sharing one passage
(built in a temporary folder), whose occurrences are located row by row and as one block
(:func:`regurgitate.index.fm_kernels.locate_range`), in milliseconds.

Windows start every 7th token of 10 held-out texts of 1,000 tokens (so consecutive
searches share little); all are searched, then those that occur are searched again in full
and as span windows are (``once``: a floor of 1, stop at one row, which holds for windows
known to occur). Rows to locate are drawn uniformly.
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
    ap.add_argument("index", type=Path, nargs="?")
    ap.add_argument("--heldout", type=Path)
    ap.add_argument("--copies", action="store_true")
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    if args.copies:
        copies()
        return
    if args.index is None or args.heldout is None:
        ap.error("give INDEX and --heldout, or --copies")
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
    none = np.zeros(starts.size, dtype=np.int64)
    free = np.full(starts.size, -1, dtype=np.int64)  # no ceiling
    fk.ranges(*kargs, dense, starts[:4], lens[:4], none[:4], free[:4])  # compile
    out: dict = {"index": str(args.index), "windows": int(starts.size)}
    t = time.perf_counter()
    lo, hi, _, _ = fk.ranges(*kargs, dense, starts, lens, none, free)
    out["window_us"] = round((time.perf_counter() - t) / starts.size * 1e6, 2)
    hit = hi > lo  # ``once`` holds only for windows that occur (as in spans)
    out["windows_occurring"] = int(hit.sum())
    out["occurring_found_once"] = round(float(np.mean(hi[hit] - lo[hit] == 1)), 3)
    for once in (False, True):
        floor = np.full(int(hit.sum()), 1 if once else 0, dtype=np.int64)
        t = time.perf_counter()
        fk.ranges(*kargs, dense, starts[hit], lens[hit], floor, free[hit])
        out[f"occurring_window_us{'_once' if once else ''}"] = round(
            (time.perf_counter() - t) / max(int(hit.sum()), 1) * 1e6, 2)
    rng = np.random.default_rng(0)
    fk.locate(*kargs, shard.sa, shard.every, rng.integers(0, shard.n, 8))
    rows = rng.integers(0, shard.n, args.rows)
    t = time.perf_counter()
    fk.locate(*kargs, shard.sa, shard.every, rows)
    out["locate_random_row_us"] = round((time.perf_counter() - t) / rows.size * 1e6, 2)
    print(json.dumps(out))


def copies() -> None:
    import random
    import tempfile

    from regurgitate.corpus.tokenizer import ByteTokenizer
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.index import fm_kernels as fk
    from regurgitate.index.shard import Queries
    from regurgitate.types import Document

    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]

    def some(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k))

    passage = some(400)
    docs = [Document(text=f"{some(300)} {passage} {some(300)}") for _ in range(3000)]
    with tempfile.TemporaryDirectory() as tmp:
        build_index(docs, Path(tmp) / "fm", ByteTokenizer(), index_format="fm")
        shard = CorpusIndex.open(Path(tmp) / "fm", tokenizer=ByteTokenizer())._shards[0]
        kargs = shard._args()
        ids = np.frombuffer(passage[1000:1100].encode(), dtype=np.uint8)
        lo, hi = shard.ranges(Queries(ids, np.zeros(1, np.int64),
                                      np.array([ids.size], np.int64)))
        a, b = int(lo[0]), int(hi[0])
        rows = np.arange(a, b, dtype=np.int64)
        fk.locate(*kargs, shard.sa, shard.every, rows[:3])
        fk.locate_range(*kargs, shard.sa, shard.every, a, a + 3)
        t = time.perf_counter()
        one, _ = fk.locate(*kargs, shard.sa, shard.every, rows)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        block, _ = fk.locate_range(*kargs, shard.sa, shard.every, a, b)
        t2 = time.perf_counter() - t
        print(json.dumps({"tokens": shard.n, "occurrences": b - a,
                          "locate_rows_ms": round(t1 * 1e3, 2),
                          "locate_block_ms": round(t2 * 1e3, 2),
                          "equal": bool(np.array_equal(one, block))}))


if __name__ == "__main__":
    main()
