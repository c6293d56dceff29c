"""Server time of `regurgitate trace` for 1000-token answers on the bundled reference index.

    nice python benchmarks/bench_trace.py [--repeat 20]

Builds (or reuses) the reference index as ``scan`` does, opens it through the one index
opener, and times the engine's two steps for texts of exactly 1000 tokens (the index's
tokenizer) of three kinds:

* ``corpus``: 1000 tokens cut from the corpus (standard-library docstrings with planted
  passages): one long span, many works;
* ``planted``: the planted passages (each in 1, 10 or 100 documents) and PII records one
  after another: many spans, many works;
* ``novel``: held-out passages of the planting generator (never in the corpus): no span.

``trace`` is what one answer costs before the page shows it (the spans, their counts and
documents, PII with its corpus look-up, membership figures): what ``POST /api/trace`` does.
``works`` is the closeness figures the page adds afterwards (``POST /api/works``: works
compared, near-verbatim passages, verdict), and ``sources`` one click on the top span (its
documents with context). Median and max milliseconds of ``--repeat`` runs after one warm-up,
wall clock, one process, on whatever machine runs it. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any


def texts(index: Any) -> dict[str, str]:
    from regurgitate import reference

    tok = index.tokenizer
    m = reference.load_manifest()
    corpus = "\n".join(d.text for d, _ in zip(reference.iter_corpus(), range(60), strict=False))
    planted = "\n".join(it.text for it in m.by_kind("passage") + m.by_kind("pii"))
    novel = "\n".join(it.text for it in m.by_kind("heldout")) * 3
    out = {}
    for name, text in (("corpus", corpus), ("planted", planted), ("novel", novel)):
        ids = tok.encode(text)
        if len(ids) < 1000:
            raise SystemExit(f"{name}: only {len(ids)} tokens")
        out[name] = tok.decode(ids[:1000])
    return out


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ms.append(1000 * (time.perf_counter() - t0))
    return statistics.median(ms), max(ms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    from regurgitate.scan.request import cache_dir
    from regurgitate.targets.reference import reference_index
    from regurgitate.trace.engine import TraceEngine, TraceSettings, open_text_index

    path = reference_index(cache_dir(), print)
    engine = TraceEngine(path, None, TraceSettings(), open_index=open_text_index)
    engine.warm_up()
    index = engine.index()
    print(f"reference index: {index.info['num_tokens']:,} tokens, "
          f"{index.info['num_docs']:,} documents; {args.repeat} runs each, milliseconds "
          "(median / max), wall clock")
    print(f"{'text':<8} {'tokens':>6} {'spans':>5} {'trace':>15} {'works':>15} "
          f"{'sources':>15}")
    for name, text in texts(index).items():
        answer = engine.trace_text(text)
        n_tokens = answer.data["check"]["tokens"]
        spans = len(answer.data["ranked"])
        trace = timed(lambda t=text: engine.trace_text(t), args.repeat)
        works = timed(lambda a=answer: engine.works(a.id), args.repeat)
        if answer.data["ranked"]:
            top = answer.data["ranked"][0]
            src = timed(lambda a=answer, s=top: engine.sources(
                a.id, s["token_start"], s["token_end"]), args.repeat)
            src_s = f"{src[0]:6.1f} / {src[1]:6.1f}"
        else:
            src_s = "-"
        print(f"{name:<8} {n_tokens:>6} {spans:>5} {trace[0]:6.1f} / {trace[1]:6.1f} "
              f"{works[0]:6.1f} / {works[1]:6.1f} {src_s:>15}")


if __name__ == "__main__":
    main()
