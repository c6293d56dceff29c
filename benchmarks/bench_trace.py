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

With ``--browser`` (needs /usr/bin/chromium; run from the repository root) the page itself,
in headless Chromium on a trace server in this process: 20 pastes of the 1000-token
``planted`` text one after another, each timed in the page from the click to the answer on
screen (request, server, rendering; the works step follows unawaited), then a click on a span
of the oldest answer with 20 on the page, timed to its sources on screen.
"""

from __future__ import annotations

import argparse
import json
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


def in_page(page: Any, action: str, done: str, watch: str) -> float:
    """Milliseconds, measured in the page, from ``action`` until ``done`` holds (checked on
    every DOM change under ``watch``)."""
    ms = page.js(f"""new Promise((resolve) => {{
        const t0 = performance.now();
        const obs = new MutationObserver(() => {{
            if ({done}) {{ obs.disconnect(); resolve(performance.now() - t0); }} }});
        obs.observe(document.querySelector({watch!r}), {{childList: true, subtree: true}});
        setTimeout(() => {{ obs.disconnect(); resolve(null); }}, 120000);
        {action};
    }})""")
    if ms is None:
        raise SystemExit(f"never held within 120 s: {done}")
    return float(ms)


def browser_figures(engine: Any, text: str) -> None:
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from regurgitate.trace.api import TraceApp
    from regurgitate.trace.server import bind_trace_server
    from tests.trace.cdp import Browser

    with tempfile.TemporaryDirectory() as tmp, \
            bind_trace_server(TraceApp(engine, Path(tmp) / "runs")) as server, \
            Browser(Path(tmp) / "profile") as browser:
        page = browser.page(server.base_url + "/")
        page.wait("document.body.dataset.ready === '1'")
        page.js(f"document.getElementById('tab-paste').click();"
                f"document.getElementById('paste-text').value = {json.dumps(text)}")
        shown = []
        for n in range(1, 21):
            shown.append(in_page(page, "document.getElementById('trace-btn').click()",
                                 f"document.querySelectorAll('.answer').length === {n}",
                                 "#answers"))
            page.wait(f"document.querySelectorAll('.answer[data-works]').length === {n}")
        page.js("document.getElementById('sources').replaceChildren()")
        click = [in_page(page, "document.querySelectorAll('.answer')[19]"
                               ".querySelectorAll('mark.span')[0].click()",
                         "document.querySelectorAll('#source-list .source').length > 0",
                         "#sources")]
        nodes = page.js("document.getElementsByTagName('*').length")
    print(f"browser: paste -> answer on screen, 20 answers in turn: median "
          f"{statistics.median(shown):.0f} ms, max {max(shown):.0f} ms (the 20th "
          f"{shown[-1]:.0f} ms); click on a span of the oldest of 20 answers -> its sources "
          f"on screen: {click[0]:.0f} ms; {nodes:,} elements on the page")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--browser", action="store_true",
                    help="also time the page in headless Chromium (20 answers)")
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
    if args.browser:
        browser_figures(engine, texts(index)["planted"])


if __name__ == "__main__":
    main()
