"""Time the closeness report (``regurgitate check``) on a book-sized text.

    python benchmarks/bench_closeness.py --kb 500 --work /tmp/bench_closeness

The text is ``--kb`` KB: a ``--copied`` share of passages copied from the bundled reference
corpus (each 400-2,000 characters, from random documents), the rest shuffled words of other
documents (text made of corpus vocabulary that is not itself in the corpus). The index is the
bundled reference corpus (~2 MB) with the reference model's BPE. Prints the wall time of
:func:`regurgitate.check.closeness.closeness` (median of ``--repeat`` runs, after one warm-up) and
of
the same text through ``find_spans`` alone, as a baseline measured in the same run. Figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path


def _text(docs: list[str], kb: int, copied: float, seed: int) -> tuple[str, int]:
    rng = random.Random(seed)
    words = [w for d in docs for w in d.split()]
    parts: list[str] = []
    size = copied_chars = 0
    while size < kb * 1000:
        if rng.random() < copied:
            doc = rng.choice([d for d in docs if len(d) > 2_000] or docs)
            n = rng.randrange(400, 2_000)
            a = rng.randrange(0, max(1, len(doc) - n))
            chunk = doc[a:a + n]
            copied_chars += len(chunk)
        else:
            chunk = " ".join(rng.choice(words) for _ in range(rng.randrange(80, 300)))
        parts.append(chunk)
        size += len(chunk) + 1
    return "\n".join(parts), copied_chars


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kb", type=int, default=500)
    ap.add_argument("--copied", type=float, default=0.3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_closeness"))
    args = ap.parse_args()

    from regurgitate import reference
    from regurgitate.check.closeness import closeness
    from regurgitate.index import CorpusIndex
    from regurgitate.targets.reference import reference_index

    args.work.mkdir(parents=True, exist_ok=True)
    path = reference_index(args.work, print)
    ix = CorpusIndex.open(path)
    docs = [d.text for d in reference.iter_corpus()]
    text, copied_chars = _text(docs, args.kb, args.copied, seed=1)
    print(f"index: {ix.num_docs:,} documents, {ix.num_tokens:,} tokens ({ix.tokenizer.name})")
    print(f"text: {len(text):,} characters, {len(ix.tokenizer.encode(text)):,} tokens, "
          f"{copied_chars:,} characters copied from the corpus")

    closeness(ix, text)  # warm-up: page cache, tokenizer
    times, spans_times = [], []
    rep = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        rep = closeness(ix, text)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ix.find_spans([text], min_tokens=50)
        spans_times.append(time.perf_counter() - t0)
    assert rep is not None
    print(f"closeness report: median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}, {args.repeat} runs)")
    print(f"find_spans alone (baseline): median {statistics.median(spans_times):.2f} s")
    print(f"{len(rep.spans)} verbatim spans, {rep.covered_chars:,} characters covered "
          f"({100 * rep.covered_share:.1f}%), {len(rep.works)} works compared")
    print(f"verdict: {rep.verdict}")


if __name__ == "__main__":
    main()
