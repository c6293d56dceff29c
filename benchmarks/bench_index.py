"""Benchmark the suffix-array index against infini-gram's own indexer and engine.

    python benchmarks/bench_index.py --mb 100 --work /tmp/bench_index

1. Assembles ``--mb`` MB of ``.py`` files from this Python installation (held-out files are
   kept apart as "unseen" query text) and writes them as JSONL.
2. Trains a byte-level BPE (``--vocab``, default 32k) locally with ``tokenizers``.
3. Builds, each in a child process whose peak RSS is measured:
   regurgitate (BPE, u16), its tokenizing alone, regurgitate (bytes, u8), infini-gram's
   indexer on the same JSONL (bytes, u8) and infini-gram's suffix-array step on our
   pre-tokenized u16 files.
4. Times ``maximal_spans(min_tokens=50)`` on 1000-token texts (half from the corpus, half from
   held-out files) against infini-gram's ``attribute`` on the same u16 index.

``--spans-only`` builds only the BPE u16 index and times ``maximal_spans`` on the same texts
twice, interleaved: without the spans' most repeated windows (``windows=False``, the span
search alone) and with them (the default), so both figures come from one run:

    python benchmarks/bench_index.py --mb 20 --spans-only

Figures are printed, never asserted. Needs infini-gram (the ``dev`` extra), except with
``--spans-only``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


# -- child-process entry points -----------------------------------------------------------

def _documents(corpus: str):
    from regurgitate.types import Document

    with open(corpus, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            yield Document(rec["text"], {"path": rec["path"], "line": 1})


def _child_build(corpus: str, tokenizer: str, out: str) -> None:
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import build_index

    info = build_index(_documents(corpus), Path(out), load_tokenizer(tokenizer),
                       overwrite=True)
    print(json.dumps({"docs": info.num_docs, "tokens": info.num_tokens}))


def _child_tokenize(corpus: str, tokenizer: str) -> None:
    """Only the tokenizing part of a build, in the batches ``build_index`` makes, so that a
    build's time splits into tokenizing and the rest."""
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index.build import _batches

    tok = load_tokenizer(tokenizer)
    tokens = sum(int(ids.size) for batch in _batches(_documents(corpus), 1000)
                 for ids in tok.encode_batch([d.text for d in batch]))
    print(json.dumps({"tokens": tokens}))


def _child_measure(cmd: list[str]) -> None:
    """Run ``cmd``; print wall time and peak RSS over all its (waited-for) descendants."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rc": proc.returncode, "wall_s": wall, "peak_mib": peak_kib / 1024,
                      "tail": proc.stdout[-1500:]}))


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, str(HERE), "_measure", "--", *cmd],
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{res['tail']}")
    return res


# -- corpus and tokenizer -----------------------------------------------------------------

def collect_files(mb: float, heldout_n: int) -> tuple[list[Path], list[Path]]:
    roots = sorted({Path(p) for p in (sys.prefix, sys.base_prefix) if Path(p).is_dir()})
    seen, files = set(), []
    for root in roots:
        for p in sorted(root.rglob("*.py")):
            try:
                real = p.resolve()
                size = real.stat().st_size
            except OSError:
                continue
            if real in seen or not 200 <= size <= 2_000_000:
                continue
            seen.add(real)
            files.append(real)
    return split_heldout(files, mb, heldout_n)


def split_heldout(files: list[Path], mb: float, heldout_n: int) -> tuple[list[Path], list[Path]]:
    """In a seeded random order: ``heldout_n`` files kept apart as unseen query text, then
    files for the corpus until they hold ``mb`` MB."""
    order = np.random.default_rng(0).permutation(len(files))
    heldout = [files[i] for i in order[:heldout_n]]
    corpus, total = [], 0
    for i in order[heldout_n:]:
        if total >= mb * 1e6:
            break
        corpus.append(files[i])
        total += files[i].stat().st_size
    return corpus, heldout


def write_jsonl(files: list[Path], out: Path) -> int:
    total = 0
    with out.open("w", encoding="utf-8") as f:
        for p in files:
            text = p.read_text(encoding="utf-8", errors="replace")
            total += len(text.encode("utf-8"))
            f.write(json.dumps({"text": text, "path": str(p)}) + "\n")
    return total


def train_bpe(jsonl: Path, vocab: int, sample_mb: float, out: Path) -> float:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    def texts():
        used = 0
        with jsonl.open(encoding="utf-8") as f:
            for line in f:
                t = json.loads(line)["text"]
                used += len(t)
                yield t
                if used > sample_mb * 1e6:
                    return

    t0 = time.perf_counter()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts(), trainer=trainer)
    tok.save(str(out))
    return time.perf_counter() - t0


# -- queries ------------------------------------------------------------------------------

def query_texts(index, heldout: list[Path], n: int, length: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    seen: list[np.ndarray] = []
    tries = 0
    while len(seen) < n // 2 and tries < 100 * n:
        tries += 1
        toks = index.document_tokens(int(rng.integers(index.num_docs)))
        if toks.size >= length:
            a = int(rng.integers(toks.size - length + 1))
            seen.append(toks[a:a + length])
    unseen: list[np.ndarray] = []
    for p in heldout:
        toks = index.tokenizer.encode(p.read_text(encoding="utf-8", errors="replace"))
        if toks.size >= length:
            unseen.append(toks[:length])
        if len(unseen) >= n - len(seen):
            break
    return seen + unseen


def bench_queries(index_dir: Path, heldout: list[Path], n: int, vocab: int) -> dict:
    from infini_gram.engine import InfiniGramEngine

    from regurgitate.index import CorpusIndex

    ix = CorpusIndex.open(index_dir)
    qs = query_texts(ix, heldout, n, 1000)
    eng = InfiniGramEngine(index_dir=str(index_dir), eos_token_id=0, vocab_size=vocab,
                           token_dtype="u16", version=4, ds_prefetch_depth=0,
                           sa_prefetch_depth=0, od_prefetch_depth=0)
    for q in qs[:3]:  # warm the page cache for both
        ix.maximal_spans(q)
        eng.attribute([int(x) for x in q], [], 50, 10, False)
    ours, theirs, spans_ours, spans_theirs = [], [], 0, 0
    for q in qs:
        t0 = time.perf_counter()
        spans_ours += len(ix.maximal_spans(q, min_tokens=50, max_docs=10))
        ours.append(time.perf_counter() - t0)
        ql = [int(x) for x in q]
        t0 = time.perf_counter()
        res = eng.attribute(ql, [], 50, 10, False)
        theirs.append(time.perf_counter() - t0)
        spans_theirs += len(res["spans"])
    half = len(qs) // 2

    def ms(xs):
        return 1000 * statistics.median(xs)

    return {"n": len(qs), "ours_ms": ms(ours), "theirs_ms": ms(theirs),
            "ours_seen_ms": ms(ours[:half]), "ours_unseen_ms": ms(ours[half:]),
            "theirs_seen_ms": ms(theirs[:half]), "theirs_unseen_ms": ms(theirs[half:]),
            "ours_p90_ms": 1000 * float(np.percentile(ours, 90)),
            "theirs_p90_ms": 1000 * float(np.percentile(theirs, 90)),
            "spans_ours": spans_ours, "spans_theirs": spans_theirs}


def bench_windows(index_dir: Path, heldout: list[Path], n: int) -> dict:
    """Median and p90 ms of ``maximal_spans`` with and without the most repeated windows,
    each text timed both ways in turn (the order alternating), after a warm-up."""
    from regurgitate.index import CorpusIndex

    ix = CorpusIndex.open(index_dir)
    qs = query_texts(ix, heldout, n, 1000)
    for q in qs[:3]:
        ix.maximal_spans(q, windows=False)
        ix.maximal_spans(q)
    times: dict[bool, list[float]] = {False: [], True: []}
    spans = windows = 0
    for k, q in enumerate(qs):
        for on in ((False, True) if k % 2 == 0 else (True, False)):
            t0 = time.perf_counter()
            found = ix.maximal_spans(q, min_tokens=50, max_docs=10, windows=on)
            times[on].append(time.perf_counter() - t0)
            if on:
                spans += len(found)
                windows += sum(s.tokens - 49 for s in found)
    half = len(qs) // 2

    def stats(xs: list[float]) -> dict:
        return {"median_ms": 1000 * statistics.median(xs),
                "p90_ms": 1000 * float(np.percentile(xs, 90)),
                "seen_ms": 1000 * statistics.median(xs[:half]),
                "unseen_ms": 1000 * statistics.median(xs[half:])}

    return {"n": len(qs), "off": stats(times[False]), "on": stats(times[True]),
            "spans": spans, "windows": windows}


def prepare_corpus(args: argparse.Namespace) -> tuple[Path, list[Path], list[Path], Path, int]:
    """A fresh work folder with the corpus as JSON lines: (work, corpus files, held-out
    files, the JSONL path, its size in bytes)."""
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "data").mkdir(parents=True)
    corpus_files, heldout = collect_files(args.mb, heldout_n=400)
    jsonl = work / "data" / "corpus.jsonl"
    size = write_jsonl(corpus_files, jsonl)
    print(f"corpus: {len(corpus_files)} files, {size / 1e6:.1f} MB; "
          f"{len(heldout)} held-out files", flush=True)
    return work, corpus_files, heldout, jsonl, size


def spans_only(args: argparse.Namespace) -> None:
    work, corpus_files, heldout, jsonl, size = prepare_corpus(args)
    tok_path = work / "tokenizer.json"
    train_bpe(jsonl, args.vocab, min(args.bpe_sample_mb, args.mb), tok_path)
    ours16 = work / "ours_u16"
    r = measure([sys.executable, str(HERE), "_build", str(jsonl), str(tok_path), str(ours16)])
    print(f"BPE u16 build: {r['wall_s']:.1f} s", flush=True)
    q = bench_windows(ours16, heldout, args.queries)
    print(f"\nmaximal spans (min 50 tokens) of {q['n']} texts of 1000 tokens (half from the "
          f"corpus, half held out): {q['spans']} spans, {q['windows']} windows of 50 tokens")
    print("| maximal_spans | median ms | p90 ms | median seen | median unseen |")
    print("|---|---|---|---|---|")
    for key, label in (("off", "without windows (windows=False)"),
                       ("on", "with the most repeated windows")):
        st = q[key]
        print(f"| {label} | {st['median_ms']:.2f} | {st['p90_ms']:.2f} | "
              f"{st['seen_ms']:.2f} | {st['unseen_ms']:.2f} |")
    print(f"\nwith / without: median {q['on']['median_ms'] / q['off']['median_ms']:.2f}x, "
          f"seen {q['on']['seen_ms'] / q['off']['seen_ms']:.2f}x, p90 "
          f"{q['on']['p90_ms'] / q['off']['p90_ms']:.2f}x (target <= 2)")


def compare_tables(ours: Path, theirs: Path) -> str:
    """Whether both table.0 files are identical; if not, how long the common prefix of the
    suffixes at differing ranks is (infini-gram's indexer compares at most 100,000 bytes,
    so suffixes agreeing further may be ordered differently without changing any query)."""
    a = np.fromfile(ours / "table.0", dtype=np.uint8)
    b = np.fromfile(theirs / "table.0", dtype=np.uint8)
    if a.size == b.size and np.array_equal(a, b):
        return "table.0 byte-identical to infini-gram's: True"
    ds = np.memmap(ours / "tokenized.0", dtype=np.uint8, mode="r")
    ps = int(np.ceil(np.log2(ds.size) / 8))
    pa = (a.reshape(-1, ps).astype(np.int64) << (8 * np.arange(ps))).sum(1)
    pb = (b.reshape(-1, ps).astype(np.int64) << (8 * np.arange(ps))).sum(1)
    diff = np.flatnonzero(pa != pb)
    shortest = None
    for i in diff[:: max(1, diff.size // 200)]:
        x, y = int(pa[i]), int(pb[i])
        n = min(ds.size - x, ds.size - y, 200_000)
        neq = np.flatnonzero(ds[x:x + n] != ds[y:y + n])
        lcp = int(neq[0]) if neq.size else n
        shortest = lcp if shortest is None else min(shortest, lcp)
    return (f"table.0 differs from infini-gram's at {diff.size} of {pa.size} ranks; the "
            f"suffixes there share at least {shortest} bytes (sampled)")


# -- main ---------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size in MB")
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--bpe-sample-mb", type=float, default=10.0,
                    help="MB of the corpus used to train the BPE")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_index"))
    ap.add_argument("--skip-bytes", action="store_true", help="skip the u8 (bytes) builds")
    ap.add_argument("--spans-only", action="store_true",
                    help="only time maximal spans with and without their windows")
    args = ap.parse_args()
    if args.spans_only:
        spans_only(args)
        return

    work, corpus_files, heldout, jsonl, size = prepare_corpus(args)
    tok_path = work / "tokenizer.json"
    train_s = train_bpe(jsonl, args.vocab, args.bpe_sample_mb, tok_path)
    print(f"BPE {args.vocab} trained on {args.bpe_sample_mb} MB in {train_s:.1f} s", flush=True)

    rows: list[tuple[str, dict]] = []
    me = [sys.executable, str(HERE)]
    ours16 = work / "ours_u16"
    r = measure([*me, "_build", str(jsonl), str(tok_path), str(ours16)])
    rows.append(("regurgitate build, BPE u16 (tokenize + sort)", r))
    print(rows[-1], flush=True)
    r = measure([*me, "_tokenize", str(jsonl), str(tok_path)])
    rows.append(("of which tokenizing alone (HF tokenizers, all cores)", r))
    print(rows[-1], flush=True)

    ig16 = work / "ig_u16"
    ig16.mkdir()
    shutil.copy(ours16 / "tokenized.0", ig16 / "tokenized.0")
    shutil.copy(ours16 / "offset.0", ig16 / "offset.0")
    ig_cmd = [sys.executable, "-m", "infini_gram.indexing", "--mem", "4", "--cpus",
              str(os.cpu_count() or 1), "--ulimit", "20000"]
    r = measure([*ig_cmd, "--data_dir", str(work / "data"), "--save_dir", str(ig16),
                 "--token_dtype", "u16"])
    rows.append(("infini-gram suffix array only, u16 pre-tokenized", r))
    print(rows[-1], flush=True)
    print(compare_tables(ours16, ig16), flush=True)
    shutil.rmtree(ig16)

    if not args.skip_bytes:
        r = measure([*me, "_build", str(jsonl), "bytes", str(work / "ours_u8")])
        rows.append(("regurgitate build, bytes u8", r))
        print(rows[-1], flush=True)
        shutil.rmtree(work / "ours_u8")
        r = measure([*ig_cmd, "--data_dir", str(work / "data"), "--save_dir",
                     str(work / "ig_u8"), "--token_dtype", "u8"])
        rows.append(("infini-gram full indexing, bytes u8", r))
        print(rows[-1], flush=True)
        shutil.rmtree(work / "ig_u8")

    q = bench_queries(ours16, heldout, args.queries, args.vocab + 1)

    print("\n| build | wall s | peak RSS MiB |\n|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['wall_s']:.1f} | {r['peak_mib']:.0f} |")
    print(f"\nmaximal spans (min 50 tokens) of {q['n']} texts of 1000 tokens "
          f"(half from the corpus, half held out):")
    print("| engine | median ms | p90 ms | median seen | median unseen | spans |")
    print("|---|---|---|---|---|---|")
    print(f"| regurgitate maximal_spans | {q['ours_ms']:.2f} | {q['ours_p90_ms']:.2f} | "
          f"{q['ours_seen_ms']:.2f} | {q['ours_unseen_ms']:.2f} | {q['spans_ours']} |")
    print(f"| infini-gram attribute | {q['theirs_ms']:.2f} | {q['theirs_p90_ms']:.2f} | "
          f"{q['theirs_seen_ms']:.2f} | {q['theirs_unseen_ms']:.2f} | {q['spans_theirs']} |")
    print(f"\nratios (infini-gram / regurgitate): query median "
          f"{q['theirs_ms'] / q['ours_ms']:.1f}x")
    build, tok, sa = rows[0][1]["wall_s"], rows[1][1]["wall_s"], rows[2][1]["wall_s"]
    print(f"BPE build incl. tokenizing / infini-gram's suffix-array step: {build / sa:.2f}x "
          f"(target <= 1); without the tokenizing: {(build - tok) / sa:.2f}x")
    if not args.skip_bytes:
        a, b = rows[3][1], rows[4][1]
        print(f"bytes build: time {b['wall_s'] / a['wall_s']:.2f}x, "
              f"peak memory {b['peak_mib'] / a['peak_mib']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        _child_build(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "_tokenize":
        _child_tokenize(*sys.argv[2:4])
    elif len(sys.argv) > 1 and sys.argv[1] == "_measure":
        _child_measure(sys.argv[3:])
    else:
        main()
