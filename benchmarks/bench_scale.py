"""Per-shard figures for the scale plan (docs/scale.md): a 1 GB bytes index next to a 100 MB one.

    nice -n 15 python benchmarks/bench_scale.py --mb 1000 --small-mb 100 --work /tmp/bench_scale

1. Collects ``--mb`` MB of text files (.py .txt .md .rst .c .h .html ...) found on this machine,
   in a seeded random order, keeping 200 other files apart as held-out query text; the first
   ``--small-mb`` MB of the same order make the small corpus (same kind of text).
2. Builds a bytes (u8) index of each with ``build_index`` in a child process: wall time, peak
   RSS (``getrusage`` of the child tree), bytes on disk and bytes on disk per token.
3. On each index (after warming the page cache with a few queries): ``maximal_spans``
   (min 50 tokens) of 1000-byte texts, half cut from corpus documents, half from held-out
   files (median, p90), twice: the first pass pays a fault on every page of the memory maps
   it touches first, the second shows a process that has been answering for a while;
   and ``count`` of 50-byte strings (median).
4. On the small index, the remote path: the same span queries through ``RemoteIndex`` and
   ``regurgitate index serve``'s server on 127.0.0.1, one text per request and all texts in
   one batch (per-text cost), which is what a scan pays per generation on top of the search.

Figures are printed (and written to ``WORK/figures.json``), never asserted; WORK is deleted
at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_index import query_texts, split_heldout  # the same sampling as bench_index
from make_corpus import text_files  # the same pool of text files

HERE = Path(__file__).resolve()
#: queries run before the timed ones (compiled kernels, the top of the search)
WARMUP = 10
BENCH_INDEX = HERE.with_name("bench_index.py")


def collect(mb: float, heldout_n: int) -> tuple[list[Path], list[Path]]:
    """This machine's text files (make_corpus.py's pool, sorted), split into the indexed
    part and the held-out files queried."""
    return split_heldout(text_files(float("inf")), mb, heldout_n)


def write_jsonl(files: list[Path], out: Path, limit_bytes: float) -> int:
    total = 0
    with out.open("w", encoding="utf-8") as f:
        for p in files:
            if total >= limit_bytes:
                break
            try:
                text = p.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            total += len(text.encode("utf-8"))
            f.write(json.dumps({"text": text, "path": str(p)}) + "\n")
    return total


def measure_build(jsonl: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, str(BENCH_INDEX), "_measure", "--", sys.executable,
                           str(BENCH_INDEX), "_build", str(jsonl), "bytes", str(out)],
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"build failed:\n{res['tail']}")
    manifest = json.loads((out / "manifest.json").read_text())
    disk = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    tokens = int(manifest["num_tokens"])
    return {"wall_s": res["wall_s"], "peak_mib": res["peak_mib"], "disk_bytes": disk,
            "tokens": tokens, "docs": int(manifest["num_docs"]),
            "disk_bytes_per_token": disk / tokens, "shards": len(manifest["shards"])}


def timed(fn, items) -> list[float]:
    out = []
    for x in items:
        t0 = time.perf_counter()
        fn(x)
        out.append(1000 * (time.perf_counter() - t0))
    return out


def summary(ms: list[float]) -> dict:
    return {"median_ms": statistics.median(ms), "p90_ms": float(np.percentile(ms, 90)),
            "n": len(ms)}


def bench_queries(index_dir: Path, texts: list[np.ndarray] | None, heldout: list[Path],
                  n: int, sample: bool = True) -> tuple[dict, list[np.ndarray]]:
    from regurgitate.index import CorpusIndex

    ix = CorpusIndex.open(index_dir)
    if not sample:  # searches as before sample.s existed (the same answers, more pages)
        for shard in ix._shards:
            shard.sample = np.zeros(0, dtype=np.uint64)
    qs = texts if texts is not None else query_texts(ix, heldout, n, 1000)
    for q in qs[:WARMUP]:
        ix.maximal_spans(q, min_tokens=50)
    spans = timed(lambda q: ix.maximal_spans(q, min_tokens=50, max_docs=10), qs)
    # the same texts again: the pages the first pass touched are now mapped into this
    # process (a first touch of a page of a fresh memory map costs a fault even when the
    # file is in the page cache, and a larger index has more pages to touch)
    again = timed(lambda q: ix.maximal_spans(q, min_tokens=50, max_docs=10), qs)
    grams = [q[100:150] for q in qs]
    counts = timed(ix.count, grams)
    half = len(qs) // 2
    return {"spans": summary(spans), "spans_seen": summary(spans[:half]),
            "spans_unseen": summary(spans[half:]), "spans_again": summary(again),
            "count50": summary(counts)}, qs


def bench_remote(index_dir: Path, qs: list[np.ndarray]) -> dict:
    from regurgitate.index import CorpusIndex
    from regurgitate.index.remote import RemoteIndex
    from regurgitate.index.server import BackgroundServer, IndexService

    local = CorpusIndex.open(index_dir)
    with BackgroundServer(IndexService({"bench": local})) as url, \
            RemoteIndex.open(f"{url}?index=bench") as remote:
        for q in qs[:5]:
            remote.maximal_spans(q, min_tokens=50)
        one = timed(lambda q: remote.maximal_spans(q, min_tokens=50, max_docs=10), qs)
        t0 = time.perf_counter()
        remote.maximal_spans_batch(qs, min_tokens=50, max_docs=10)
        batch_ms = 1000 * (time.perf_counter() - t0) / len(qs)
        empty = timed(lambda q: remote.maximal_spans(q[:60], min_tokens=50), qs)
    return {"spans_per_request": summary(one), "spans_batched_per_text_ms": batch_ms,
            "short_query_round_trip": summary(empty)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=1000.0, help="large corpus, MB")
    ap.add_argument("--small-mb", type=float, default=100.0, help="small corpus, MB")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_scale"))
    ap.add_argument("--keep", action="store_true",
                    help="keep WORK (indexes, query texts) afterwards, for --reuse")
    ap.add_argument("--only-small", action="store_true",
                    help="build and query only the small index (and the remote path)")
    ap.add_argument("--reuse", action="store_true",
                    help="query the indexes and query texts a --keep run left in WORK "
                         "(no collecting, no building; build figures are those of that run)")
    args = ap.parse_args()
    work = args.work
    figures: dict = {"conditions": {"mb": args.mb, "small_mb": args.small_mb,
                                    "queries": args.queries, "tokenizer": "bytes (u8)"}}
    if args.reuse:
        if not (work / "builds.json").is_file():
            raise SystemExit(f"{work}: no --keep run to reuse")
        figures.update(json.loads((work / "builds.json").read_text()))
        saved = np.load(work / "queries.npz")
        qs = [saved[f"q{i}"] for i in range(len(saved.files))]
        # each index is queried in a fresh process (its first pass pays first touches),
        # without the sampled keys too (as before sample.s), in the same run
        for name in ("small", "big")[:1 if args.only_small else 2]:
            for mode, key in (("nosample", f"queries_{name}_nosample"),
                              ("sample", f"queries_{name}")):
                proc = subprocess.run([sys.executable, str(HERE), "_query", str(work), name,
                                       mode], capture_output=True, text=True, check=True)
                figures[key] = json.loads(proc.stdout.strip().splitlines()[-1])
        figures["remote_small"] = bench_remote(work / "index_small", qs)
        report(figures, args.only_small)
        return
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        t0 = time.perf_counter()
        files, heldout = collect(args.mb, heldout_n=200)
        big, small = work / "big.jsonl", work / "small.jsonl"
        size_big = write_jsonl(files, big, args.mb * 1e6)
        size_small = write_jsonl(files, small, args.small_mb * 1e6)
        print(f"corpora: {size_small / 1e6:.0f} MB and {size_big / 1e6:.0f} MB of text from "
              f"{len(files)} files ({time.perf_counter() - t0:.0f} s to collect)", flush=True)
        for name, jsonl in (("small", small), ("big", big))[:1 if args.only_small else 2]:
            b = measure_build(jsonl, work / f"index_{name}")
            figures[f"build_{name}"] = b
            print(name, json.dumps(b), flush=True)
        (work / "builds.json").write_text(json.dumps(
            {k: v for k, v in figures.items() if k.startswith("build_")}))
        q_small, qs = bench_queries(work / "index_small", None, heldout, args.queries)
        np.savez(work / "queries.npz", **{f"q{i}": q for i, q in enumerate(qs)})
        figures["queries_small"] = q_small
        if not args.only_small:
            figures["queries_big"], _ = bench_queries(work / "index_big", qs, heldout,
                                                      args.queries)
        figures["remote_small"] = bench_remote(work / "index_small", qs)
    finally:
        (Path(args.work.parent) / f"{args.work.name}_figures.json").write_text(
            json.dumps(figures, indent=1))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(figures, args.only_small)


def report(figures: dict, only_small: bool) -> None:
    print(json.dumps(figures, indent=1))
    q_small = figures["queries_small"]
    r = figures["remote_small"]
    print(f"remote (127.0.0.1, small index): spans per request median "
          f"{r['spans_per_request']['median_ms']:.2f} ms (local "
          f"{q_small['spans']['median_ms']:.2f}); batched {r['spans_batched_per_text_ms']:.2f} "
          f"ms per text; short-query round trip {r['short_query_round_trip']['median_ms']:.2f}"
          " ms")
    if only_small:
        return
    s, b, q_big = figures["build_small"], figures["build_big"], figures["queries_big"]
    print("\n| index | MB text | tokens | build s | peak MiB | disk B/token | spans median / p90 "
          "ms, first pass | second pass | count(50) median ms |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for name, bb, qq in (("small", s, q_small), ("big", b, q_big)):
        print(f"| {name} | {bb['tokens'] / 1e6:.0f} | {bb['tokens']:,} | {bb['wall_s']:.1f} | "
              f"{bb['peak_mib']:.0f} | {bb['disk_bytes_per_token']:.2f} | "
              f"{qq['spans']['median_ms']:.2f} / {qq['spans']['p90_ms']:.2f} | "
              f"{qq['spans_again']['median_ms']:.2f} / {qq['spans_again']['p90_ms']:.2f} | "
              f"{qq['count50']['median_ms']:.3f} |")
    for key, label in (("spans", "first pass"), ("spans_again", "second pass")):
        med = q_big[key]["median_ms"] / q_small[key]["median_ms"]
        p90 = q_big[key]["p90_ms"] / q_small[key]["p90_ms"]
        print(f"growth big/small, spans {label}: median {med:.1f}x, p90 {p90:.1f}x")
    if "queries_big_nosample" in figures:
        for name in ("small", "big"):
            off, on = figures[f"queries_{name}_nosample"], figures[f"queries_{name}"]
            print(f"{name}, spans first pass (fresh process, {WARMUP} warm-up queries): "
                  f"without sample.s median {off['spans']['median_ms']:.2f} / p90 "
                  f"{off['spans']['p90_ms']:.2f} ms; with it {on['spans']['median_ms']:.2f} / "
                  f"{on['spans']['p90_ms']:.2f} ms")
    print(f"build {b['wall_s'] / s['wall_s']:.1f}x for {b['tokens'] / s['tokens']:.1f}x the "
          "tokens")


def query_child(work: Path, name: str, mode: str) -> None:
    """``_query WORK NAME sample|nosample``: the query figures of one kept index, printed
    as JSON."""
    saved = np.load(work / "queries.npz")
    qs = [saved[f"q{i}"] for i in range(len(saved.files))]
    figures, _ = bench_queries(work / f"index_{name}", qs, [], len(qs),
                               sample=mode == "sample")
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_query":
        query_child(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main()
