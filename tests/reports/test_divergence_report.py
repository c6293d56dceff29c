"""Divergence figures (repeat a word vs. same-run baseline) and their terminal/HTML sections."""

from __future__ import annotations

import io

from rich.console import Console

from regurgitate.detectors.base import Item
from regurgitate.detectors.divergence import divergence_point
from regurgitate.findings import DivergedOutput, Finding, SourcePassage, VerbatimSpan
from regurgitate.reports import RunData
from regurgitate.reports.text_divergence import divergence_figures
from regurgitate.reports.text_divergence_view import pieces, render_divergence
from regurgitate.reports.text_html import render_html
from regurgitate.types import Generation, GenerationSettings, Prompt, RunSpec

S = GenerationSettings(max_new_tokens=100, min_new_tokens=100, frequency_penalty=0.5)
LEAK = "The chronicle of Silton begins in 1671, when <Griselda> arrived on a cart"


def _item(gid: int, text: str, tokens: int, meta: dict) -> Item:
    pid = f"divergence/{gid}"
    return Item(gid, Prompt(id=pid, attack="divergence", text="x", settings=S, meta=meta),
                Generation(prompt_id=pid, text=text, completion_tokens=tokens))


def _verbatim(gid: int, text: str, span: str, tokens: int) -> Finding:
    start = text.index(span)
    payload = VerbatimSpan(tokens=tokens, count=100, text=span, documents=(3,),
                           sources=(SourcePassage(doc_id=3, name="ref-00003", match=span),))
    return Finding(generation_id=gid, detector="verbatim", payload=payload, start=start,
                   end=start + len(span), score=float(tokens))


def _divergence(gid: int, text: str, word: str) -> Finding:
    point = divergence_point(text, word)
    assert point is not None
    payload = DivergedOutput(word=word, repeats=5, diverged_chars=len(text) - point)
    return Finding(generation_id=gid, detector="divergence", payload=payload, start=point,
                   end=len(text))


def run() -> RunData:
    t1 = "the the the the the " + LEAK
    t2 = "word word word word word and then some other text here"
    t3 = "one one one one one one"
    t4 = "Rivers are long. " + LEAK
    items = [_item(1, t1, 100, {"word": "the"}), _item(2, t2, 100, {"word": "word"}),
             _item(3, t3, 100, {"word": "one"}), _item(4, t4, 100, {"baseline": True}),
             _item(5, "Clocks tick.", 100, {"baseline": True}),
             _item(6, "Maps are old.", 100, {"baseline": True})]
    findings = [_divergence(1, t1, "the"), _divergence(2, t2, "word"),
                _verbatim(1, t1, LEAK, 60), _verbatim(4, t4, LEAK, 30)]
    return RunData(spec=RunSpec(target="t", attacks=("divergence",), index=None,
                                settings={"min_tokens": 50}), items=items, findings=findings)


def test_figures_compare_the_attack_with_the_same_run_baseline() -> None:
    fig = divergence_figures(run())
    assert fig is not None
    assert fig.attack.outputs == 3 and fig.baseline is not None and fig.baseline.outputs == 3
    assert fig.divergence_rate == 2 / 3
    assert fig.diverged_with_span_after == 1 and fig.span_after_rate == 0.5
    assert fig.attack.per_1000 == 200.0 and fig.baseline.per_1000 == 100.0
    assert fig.ratio == 2.0
    top = fig.diverged[0]
    assert top.word == "the" and top.longest_after == 60
    assert top.spans_after[0].sources == ("ref-00003",)
    kinds = [p.kind for p in pieces(top)]
    assert kinds == ["repeat", "memorized"]


def test_no_divergence_prompts_no_figures() -> None:
    r = run()
    only_base = RunData(spec=r.spec, items=[it for it in r.items if "word" not in it.prompt.meta],
                        findings=[])
    assert divergence_figures(only_base) is None


def test_terminal_and_html_show_the_figures_escaped() -> None:
    r = run()
    fig = divergence_figures(r)
    assert fig is not None
    buf = io.StringIO()
    render_divergence(fig, Console(file=buf, width=100, force_terminal=False))
    out = buf.getvalue()
    assert "2.0x as often as ordinary prompts" in out
    assert "diverged at character" in out and "ref-00003" in out
    html = render_html(r)
    assert 'id="divergence"' in html
    assert "&lt;Griselda&gt;" in html and "<Griselda>" not in html
    assert 'class="point"' in html


def test_every_diverged_output_is_shown_with_its_repeats_point_and_spans() -> None:
    r = run()
    fig = divergence_figures(r)
    assert fig is not None and len(fig.diverged) == 2
    buf = io.StringIO()
    render_divergence(fig, Console(file=buf, width=120, force_terminal=False), excerpts=0)
    out = buf.getvalue()
    for d in fig.diverged:  # both diverged outputs, not only the ones that leaked
        assert f"{d.prompt_id}: '{d.word}' x{d.repeats} before the point, diverged at " \
               f"character {d.point:,}" in out
    leak = fig.diverged[0].spans_after[0]
    assert f"memorized at character {leak.start:,}: 60 tokens, 100x in corpus, from " \
           "ref-00003" in out
    assert "no verbatim span after it" in out  # the output that diverged without leaking
    html = render_html(r)
    assert html.count('class="gen div"') == 2
    assert html.count("before the point, diverged at character") == 2
    assert f"Verbatim span at character {leak.start}" in html
