"""Benchmark `regurgitate audit` on the bundled reference model: prints figures, asserts nothing.

Builds one work of ``--tokens`` tokens from the reference corpus's own text (documents joined
in order), audits it with the default protocol (50 + 50 tokens, top-k 40 at temperature 1,
exact p and greedy by teacher forcing) at ``--stride``, and prints windows, seconds, windows/s
and the time a 100,000-token work would take at the same rate. The machine's load matters:
quote medians of several runs and the load average printed with them.

    OMP_NUM_THREADS=1 nice python benchmarks/bench_audit.py --tokens 100000 --stride 10 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def build_work(tokens: int, path: Path) -> int:
    from regurgitate import reference
    from regurgitate.corpus.tokenizer import load_tokenizer

    tok = load_tokenizer(reference.model_dir())
    parts: list[str] = []
    total = 0
    for doc in reference.iter_corpus():
        parts.append(doc.text)
        total += len(tok.encode(doc.text)) + 1
        if total >= tokens:
            break
    text = "\n\n".join(parts)
    ids, offsets = tok.encode_offsets(text)
    text = text[:int(offsets[min(tokens, len(ids)) - 1][1])]
    path.write_text(json.dumps({"id": "bench", "text": text}) + "\n", encoding="utf-8")
    return len(tok.encode(text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=10_000)
    ap.add_argument("--stride", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=None,
                    help="target batch size (reference?batch_size=N)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from regurgitate.audit.runner import AuditRequest, prepare_audit
    from regurgitate.scan.pipeline import run_scan
    from regurgitate.store import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        works = Path(tmp) / "work.jsonl"
        n = build_work(args.tokens, works)
        target = f"reference?batch_size={args.batch_size}" if args.batch_size else None
        t0 = time.monotonic()
        prepared = prepare_audit(AuditRequest(works=works, target=target, stride=args.stride,
                                              run=Path(tmp) / "a.db"))
        t1 = time.monotonic()
        scan = prepared.scan
        with RunStore.open(scan.run_path) as store, scan.target as tgt:
            out = run_scan(store=store, spec=scan.spec, target=tgt, attacks=scan.attacks,
                           detectors=scan.detectors, index=scan.index)
        t2 = time.monotonic()
    rate = out.prompts / (t2 - t1)
    windows_100k = (100_000 - 100) // args.stride + 1
    print(f"work: {n:,} tokens, stride {args.stride}, threads {args.threads}, "
          f"batch {args.batch_size or 'default'}, load average {os.getloadavg()[0]:.1f}")
    print(f"setup (model, index, tokenizing): {t1 - t0:.1f} s")
    print(f"windows: {out.prompts:,} in {t2 - t1:.1f} s = {rate:.1f} windows/s")
    print(f"a 100,000-token work at stride {args.stride}: {windows_100k:,} windows, "
          f"~{windows_100k / rate / 60:.1f} min at this rate")


if __name__ == "__main__":
    main()
