"""Suffix array against FM-index on one corpus: size, build time, peak memory, query latency.

    nice python benchmarks/make_corpus.py --mb 100 --out /work/bench-data/c100m.jsonl
    nice python benchmarks/make_corpus.py --mb 5 --seed 99 --out /work/bench-data/heldout.jsonl
    nice python benchmarks/bench_fm.py /work/bench-data/c100m.jsonl \\
        --heldout /work/bench-data/heldout.jsonl --work /work/bench-data/fm100 \\
        [--tokenizer PATH] [--memory 8GB] [--formats sa,fm] [--reuse]

1. Builds the corpus with ``regurgitate index build --format F --memory M`` in a child
   process for each format: wall time, peak RSS of the child (``getrusage``), bytes on disk
   and their ratio to the corpus's UTF-8 text bytes.
2. Opens each index and times ``maximal_spans`` (min 50 tokens, with windows and 10
   documents) of 1000-token texts: half cut from corpus documents (they match in full),
   half from the held-out corpus (another seed: near-duplicates and unseen text), after a
   warm-up; median and p90 in milliseconds, for matching and held-out texts apart and
   together; and as many texts that match little (the held-out corpus's words in a random
   order: ``shuffled``, with the number of spans found in them). Both formats get the same
   texts, and their spans are compared (they must be equal).

Figures are printed as JSON lines (and written to WORK/figures.json); nothing is asserted.
Each format's spans are also written to WORK/spans-F.json, so that formats measured in
separate runs (one at a time, for disk space at 10 GB) are compared too. Where the formats'
shards differ (a memory budget gives them other shard sizes), the documents of a span or
window occurring more often than the occurrences read per shard to list them may differ:
``same_but_capped_documents`` compares all but those.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REGURGITATE = [sys.executable, "-m", "regurgitate.cli.main"]


def build(corpus: Path, out: Path, fmt: str, tokenizer: str, memory: str | None) -> dict:
    cmd = [*REGURGITATE, "index", "build", str(corpus), "-o", str(out), "--format", fmt,
           "--tokenizer", tokenizer, "--force", "-q"]
    if memory:
        cmd += ["--memory", memory]
    start = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.time() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode:
        raise SystemExit(proc.stderr)
    m = json.loads((out / "manifest.json").read_text())
    disk = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    return {"format": fmt, "build_s": round(wall, 1), "peak_rss_mib": round(peak / 1024),
            "peak_rss_note": "max over children so far" if peak == before else "this build",
            "disk_mib": round(disk / 2**20, 1), "text_mib": round(m["text_bytes"] / 2**20, 1),
            "ratio": round(disk / max(m["text_bytes"], 1), 3), "shards": len(m["shards"]),
            "line": proc.stdout.strip()}


def texts(index, heldout: Path, n: int, length: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(1)
    seen: list[np.ndarray] = []
    tries = 0
    while len(seen) < n and tries < 100 * n:
        tries += 1
        toks = index.document_tokens(int(rng.integers(index.num_docs)))
        if toks.size >= length:
            a = int(rng.integers(toks.size - length + 1))
            seen.append(np.array(toks[a:a + length]))
    unseen: list[np.ndarray] = []
    with heldout.open(encoding="utf-8") as f:
        for line in f:
            toks = index.tokenizer.encode(json.loads(line)["text"])
            if toks.size >= length:
                unseen.append(toks[:length])
            if len(unseen) >= n:
                break
    return seen, unseen


def timed(index, qs: list[np.ndarray]) -> tuple[dict, list]:
    ms, out = [], []
    for q in qs:
        t = time.perf_counter()
        out.append(index.maximal_spans(q, min_tokens=50, max_docs=10))
        ms.append((time.perf_counter() - t) * 1000)
    return _stats(ms), out


def _stats(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"median_ms": round(statistics.median(ms), 2),
            "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 2), "n": len(ms), "ms": ms}


def random_texts(index, n: int, length: int) -> list[np.ndarray]:
    """Texts that match nothing of 50 tokens: seeded random lowercase letters and spaces."""
    rng = np.random.default_rng(3)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ", dtype=np.uint8)
    return [np.asarray(index.tokenizer.encode(rng.choice(letters, 4 * length).tobytes()
                                              .decode("ascii")))[:length] for _ in range(n)]


def shuffled_texts(index, heldout: Path, n: int, length: int) -> list[np.ndarray]:
    """Texts that match little: the held-out corpus's words in a seeded random order (real
    words, no real sentence; a long word or a run of symbols may still match 50 tokens)."""
    rng = np.random.default_rng(2)
    words: list[str] = []
    with heldout.open(encoding="utf-8") as f:
        for line in f:
            words.extend(json.loads(line)["text"].split())
            if len(words) > 200 * n:
                break
    out = []
    for _ in range(n):
        pick = rng.choice(len(words), size=400)
        toks = index.tokenizer.encode(" ".join(words[k] for k in pick))
        out.append(np.asarray(toks[:length]))
    return out


def _capped(spans: list) -> list:
    """Spans as saved, without the documents of spans and windows occurring more often than
    the occurrences read per shard to list them."""
    from regurgitate.index.query import DOC_SCAN_LIMIT, WINDOW_DOC_SCAN_LIMIT

    out = []
    for s in spans:
        s = list(s)
        if s[2] > DOC_SCAN_LIMIT:
            s[3] = None
        if s[6] is not None and s[6][2] > WINDOW_DOC_SCAN_LIMIT:
            s[6] = [*s[6][:3], None, *s[6][4:]]
        out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--tokenizer", default="bytes")
    ap.add_argument("--memory", default=None)
    ap.add_argument("--formats", default="sa,fm")
    ap.add_argument("--queries", type=int, default=40, help="texts of each kind")
    ap.add_argument("--reuse", action="store_true", help="use indexes already built")
    args = ap.parse_args()
    from regurgitate.index import CorpusIndex

    args.work.mkdir(parents=True, exist_ok=True)
    figures: dict = {}
    answers: dict = {}
    qs = None
    none = None
    for fmt in args.formats.split(","):
        out = args.work / f"index-{fmt}"
        if not args.reuse or not (out / "manifest.json").is_file():
            figures[f"build_{fmt}"] = build(args.corpus, out, fmt, args.tokenizer, args.memory)
            print(json.dumps(figures[f"build_{fmt}"]), flush=True)
        ix = CorpusIndex.open(out)
        if qs is None:
            qs = texts(ix, args.heldout, args.queries, 1000)
        for q in qs[0][:3] + qs[1][:3]:  # compile, warm the page cache
            ix.maximal_spans(q, min_tokens=50)
        if none is None:
            none = shuffled_texts(ix, args.heldout, args.queries, 1000)
        seen, a1 = timed(ix, qs[0])
        unseen, a2 = timed(ix, qs[1])
        nothing, a3 = timed(ix, none)
        both = _stats(seen["ms"] + unseen["ms"])  # the matching and held-out texts together
        answers[fmt] = [[dataclasses.astuple(s) for s in spans] for spans in a1 + a2]
        (args.work / f"spans-{fmt}.json").write_text(json.dumps(answers[fmt]))
        figures[f"query_{fmt}"] = {k: {f: v for f, v in d.items() if f != "ms"} for k, d in
                                   (("matching", seen), ("heldout", unseen),
                                    ("matching_and_heldout", both), ("shuffled", nothing))}
        figures[f"query_{fmt}"]["shuffled"]["spans_found"] = sum(len(x) for x in a3)
        print(json.dumps({"format": fmt, **figures[f"query_{fmt}"]}), flush=True)
    saved = {f: json.loads((args.work / f"spans-{f}.json").read_text())
             for f in ("sa", "fm") if (args.work / f"spans-{f}.json").is_file()}
    if len(saved) == 2:  # this run's, or one of them from an earlier run on the same texts
        figures["same_spans"] = saved["sa"] == saved["fm"]
        # documents are listed from the first occurrences of each shard (DOC_SCAN_LIMIT,
        # WINDOW_DOC_SCAN_LIMIT): where the formats' shards differ (another memory budget
        # per byte), so may the documents of a span or window occurring more often
        figures["same_but_capped_documents"] = [_capped(s) for s in saved["sa"]] == \
            [_capped(s) for s in saved["fm"]]
        print(json.dumps({k: figures[k] for k in ("same_spans", "same_but_capped_documents")}))
    (args.work / "figures.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
