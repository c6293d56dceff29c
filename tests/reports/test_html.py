from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from regurgitate import __version__
from regurgitate.errors import ConfigError
from regurgitate.reports import ReportLimits, render_html, write_html_report
from regurgitate.reports.segments import Annotation, segment

from .payloads import EVIL, MARKER, PAYLOADS, evil_run
from .runs import SEQ_D, demo_run

VOID = {"meta", "br", "hr", "img", "input", "link", "source", "wbr", "col", "area", "base",
        "embed", "param", "track"}


class Structure(HTMLParser):
    """Records every tag and attribute and checks that elements nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):  # <path ... /> in SVG
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self._in_script:
            self.script_bodies.append(data)
        else:
            self.text.append(data)


def parse(html: str) -> Structure:
    p = Structure()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def evil_html() -> str:
    return render_html(evil_run())


@pytest.fixture(scope="module")
def demo_html() -> str:
    return render_html(demo_run())


def test_segments_split_at_every_boundary():
    segs = segment("abcdefghij", [Annotation(0, 6, "a"), Annotation(3, 9, "b")], [(7, "p")])
    assert [s.text for s in segs] == ["abc", "def", "g", "hi", "j"]
    assert [[m.kind for m in s.marks] for s in segs] == [["a"], ["a", "b"], ["b"], ["b"], []]
    assert [s.point for s in segs] == ["", "", "", "p", ""]
    assert [[m.kind for m in s.closing] for s in segs] == [[], ["a"], [], ["b"], []]


def test_segments_clamp_and_drop_empty():
    segs = segment("abc", [Annotation(2, 99, "x"), Annotation(5, 9, "gone"),
                           Annotation(1, 1, "empty")])
    assert [(s.text, [m.kind for m in s.marks]) for s in segs] == [("ab", []), ("c", ["x"])]
    assert [s.text for s in segment("", [])] == [""]


def test_report_is_well_formed_and_self_contained(demo_html):
    p = parse(demo_html)
    assert p.errors == [] and p.stack == []
    for tag, attrs in p.tags:
        for name in ("src", "href", "action", "xlink:href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("#"), (tag, name, value)
    assert "http://" not in demo_html and "https://" not in demo_html
    assert "@import" not in demo_html


def test_report_content(demo_html):
    p = parse(demo_html)
    text = "".join(p.text)
    assert "hf:tiny-gpt2" in text and "corpus_prompts, divergence, discoverable" in text
    assert "2026-11-22 10:00:00 UTC" in text and f"regurgitate {__version__}" in text
    assert "(run made with 0.1.0)" in text  # the demo run was written by 0.1.0
    # every timestamp in one format, none in ISO's T/Z form
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)
    assert "<details" in demo_html and "<summary>" in demo_html
    assert demo_html.count('<figure><svg role="img" class="plot"') == 4
    # verbatim span of generation 3 highlighted and linked to its source
    assert re.search(r'<mark class="verbatim" title="verbatim: 70 tokens, 1× in corpus">'
                     + re.escape(SEQ_D) + "</mark>", demo_html)
    assert '<a href="#s3-1">1</a>' in demo_html and 'id="s3-1"' in demo_html
    assert "books/hobbit.txt" in text
    assert '<span class="point" title="diverged">' in demo_html
    assert '<mark class="pii-leaked" title="PII: EMAIL_ADDRESS">' in demo_html
    assert "EMAIL_ADDRESS" in text and "PHONE_NUMBER" in text
    # near-verbatim side by side with the source
    assert "the lazy dog once and once" in text
    assert "1 failed generations" in text


def test_overlapping_highlights_nest(demo_html):
    # generation 2 has two overlapping verbatim spans: the overlap is a mark inside a mark
    assert re.search(r'<mark class="verbatim" [^>]*><mark class="verbatim" [^>]*>'
                     r"the age of wisdom</mark></mark>", demo_html)


def test_csp_and_script_hash(demo_html):
    metas = [a for t, a in parse(demo_html).tags
             if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    csp = metas[0]["content"] or ""
    assert "default-src 'none'" in csp and "img-src data:" in csp
    import base64
    import hashlib

    p = parse(demo_html)
    assert len(p.script_bodies) == 1
    digest = base64.b64encode(hashlib.sha256(p.script_bodies[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp


def test_untrusted_text_is_escaped(evil_html):
    p = parse(evil_html)
    assert p.errors == [] and p.stack == []
    tags = [t for t, _ in p.tags]
    assert tags.count("script") == 1
    for bad in ("img", "iframe", "textarea", "base", "object", "embed", "pwned"):
        assert bad not in tags, bad
    # the only <style> elements: the page's own and one per matplotlib plot
    assert tags.count("style") == 1 + tags.count("svg")
    for tag, attrs in p.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action", "formaction", "xlink:href", "srcdoc"):
                assert (value or "").startswith("#"), (tag, name, value)
    svg_tags = [t for t in tags if t == "svg"]
    assert len(svg_tags) == sum(1 for t, a in p.tags if t == "svg" and a.get("class") == "plot")
    text = "".join(p.text)
    for payload in PAYLOADS:
        assert payload in text, payload  # shown as text, intact
    assert MARKER in text and "{{ 7*7 }}" in text  # no template evaluation of data
    assert "<script>document" not in evil_html and "<img src" not in evil_html


def test_untrusted_strings_in_attributes_stay_inside(evil_html):
    p = parse(evil_html)
    attacks = {a["data-attack"] for t, a in p.tags if t == "article"}
    assert attacks == {"corpus_prompts", f"divergence{PAYLOADS[5]}"}
    options = [a.get("value") for t, a in p.tags if t == "option"]
    assert f"divergence{PAYLOADS[5]}" in options


def test_limits_cap_generations_and_say_so():
    html = render_html(demo_run(), limits=ReportLimits(max_flagged=2, max_unflagged=0,
                                                        max_chars=30))
    assert html.count('<article class="gen"') == 2
    text = "".join(parse(html).text)
    assert "2 flagged generations beyond the first 2" in text
    assert "2 generations without findings (showing 0)" in text
    assert "texts cut at 30 characters" in text


def test_limits_validated():
    with pytest.raises(ConfigError):
        ReportLimits(max_flagged=-1)


def test_write_html_report(tmp_path: Path):
    out = write_html_report(demo_run(), tmp_path / "sub" / "report.html")
    assert out == tmp_path / "sub" / "report.html"
    body = out.read_text(encoding="utf-8")
    assert body.startswith("<!DOCTYPE html>") and body.rstrip().endswith("</html>")


def test_write_html_report_unwritable(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError):
        write_html_report(demo_run(), blocker / "report.html")


def test_evil_text_not_in_plots(evil_html):
    for svg in re.findall(r"<svg role=\"img\".*?</svg>", evil_html, flags=re.S):
        assert "PWNED" not in svg and "<script" not in svg
    assert EVIL not in evil_html


def test_empty_run_renders():
    from regurgitate.reports import RunData
    from regurgitate.types import RunSpec

    html = render_html(RunData(RunSpec("hf:x", (), None), [], []))
    p = parse(html)
    assert p.errors == [] and p.stack == []
    text = "".join(p.text)
    assert "No generation has a finding." in text and "No verbatim spans" in text


def test_index_is_described_as_a_table() -> None:
    from regurgitate.reports.polish import index_rows, timestamp

    rows = dict(index_rows({
        "path": "/x/ix", "format": "regurgitate-index v1",
        "tokenizer": {"name": "model", "fingerprint": "sha256:ab", "vocab_size": 4096},
        "dtype": "u16", "num_docs": 453, "num_tokens": 552647, "num_shards": 1,
        "bytes": 3_300_000, "build_seconds": 3.54, "created": "2026-11-29T10:18:27Z"}))
    assert rows["Tokenizer"] == "model (4,096 ids)" and rows["Tokens"] == "552,647"
    assert rows["Size on disk"] == "3.1 MiB" and rows["Built"] == "2026-11-29 10:18:27 UTC"
    assert rows["Build time"] == "3.5 s"
    assert timestamp("2026-11-29 10:18:27.123") == "2026-11-29 10:18:27 UTC"
    assert timestamp("2026-11-29T12:18:27+02:00") == "2026-11-29 10:18:27 UTC"
    assert timestamp("not a date") == "not a date"
    assert index_rows(None) == []


def test_sources_show_title_and_only_safe_links() -> None:
    from regurgitate.findings import Finding, SourcePassage, VerbatimSpan
    from regurgitate.reports.text_data import RunData
    from regurgitate.reports.text_html import render_html
    from regurgitate.types import Generation, GenerationSettings, Item, Prompt, RunSpec

    text = "x" * 60
    p = Prompt("p", "a", "q", GenerationSettings())
    srcs = (SourcePassage(1, "t007109", match=text, title="The <Hobbit>",
                          url='https://ex.org/b?x=1&y="2"'),
            SourcePassage(2, "t2", match=text, url="javascript:alert(1)"))
    f = Finding(1, "verbatim", VerbatimSpan(tokens=60, count=2, text=text, documents=(1, 2),
                                            sources=srcs), start=0, end=60, score=60.0)
    run = RunData(spec=RunSpec("t", ("a",), None), items=[Item(1, p, Generation("p", text))],
                  findings=[f])
    page = render_html(run)
    assert ('<a class="mono" href="https://ex.org/b?x=1&amp;y=&#34;2&#34;" '
            'rel="noopener noreferrer" target="_blank">t007109</a>') in page
    assert "<em>The &lt;Hobbit&gt;</em>" in page
    assert "javascript:" not in page and '<span class="mono">t2</span>' in page


def test_html_names_where_the_run_computed_and_what_it_could_not():
    from dataclasses import replace

    run = demo_run()
    run = replace(run, extra={**run.extra, "execution": [
        {"executor": "local", "threads": 2, "replicas": 1, "batch_size": 8},
        {"executor": "ray", "threads": 2, "replicas": 2, "batch_size": 16}],
        "not_computed": [{"figure": "(n,p) extraction", "reason": "no model <b>",
                          "executor": "ray"}]})
    html = render_html(run)
    assert "local, 2 thread(s), batch 8; then ray, 2 thread(s), 2 replicas, batch 16" in html
    assert "(n,p) extraction: no model &lt;b&gt; (executor ray)" in html
