"""The trace page in headless Chromium (driven over the DevTools protocol): highlighted spans
equal `check --json`'s, a click shows the span's documents, `/?text=` links trace, hostile
text from the model and the corpus is shown and never run, and failures are said on the
page while the server goes on. Every wait is a condition checked in the page."""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from regurgitate import reference
from regurgitate.targets.base import Target
from regurgitate.types import Generation, Prompt

from .cdp import CHROMIUM, Browser, Page
from .conftest import PAYLOADS, PLANTED, check_json, make_engine

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="SKIPPED LOUDLY: /usr/bin/chromium is "
                       "missing; install it with `apt-get install -y chromium` (make browser)"),
]
TITLE = "regurgitate trace"
ANSWER_DONE = "document.querySelectorAll('.answer[data-works]').length"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with Browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b


def _text() -> str:
    m = reference.load_manifest()
    x10 = [it for it in m.by_kind("passage") if it.copies == 10][0]
    x1 = m.by_kind("passage")[0]
    return (f"Of course. {x10.text}\nMoreover, {x1.text}\nFinally: "
            f"{m.by_kind('heldout')[0].text}")


def paste(page: Page, text: str, answers: int = 1) -> None:
    page.js(f"""(() => {{
        document.getElementById('tab-paste').click();
        document.getElementById('paste-text').value = {json.dumps(text)};
        document.getElementById('trace-btn').click(); }})()""")
    page.wait(f"{ANSWER_DONE} >= {answers}")


def rows(page: Page) -> list[dict[str, Any]]:
    return list(page.js("""Array.from(document.querySelectorAll('.answer')[0]
        .querySelectorAll('tr.span-item')).map((r) => ({start: +r.dataset.start,
        end: +r.dataset.end, tokens: +r.dataset.tokens, count: +r.dataset.count,
        docs: r.querySelector('.doc-list').textContent}))"""))


def highlighted(page: Page) -> list[tuple[int, int]]:
    """The union of the highlighted stretches of the newest answer, in characters."""
    segs = page.js("""Array.from(document.querySelectorAll('.answer')[0]
        .querySelectorAll('mark.span')).map((m) => [+m.dataset.start, +m.dataset.end])""")
    out: list[tuple[int, int]] = []
    for a, b in sorted(segs):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def assert_nothing_ran(page: Page) -> None:
    assert page.js("document.title") == TITLE
    assert page.js("document.body.getAttribute('data-pwned')") is None
    for sel in ("#answers img", "#answers svg", "#answers script", "#sources img",
                "#sources svg", "#sources script", "a[href^='javascript']"):
        assert page.js(f"document.querySelectorAll({json.dumps(sel)}).length") == 0, sel


def test_pasted_text_spans_equal_check_json_and_a_click_shows_documents(
        browser: Browser, reference_idx: Path, tmp_path: Path, serve, run_cli) -> None:
    text = _text()
    expected = check_json(run_cli, tmp_path, reference_idx, text)
    with serve(make_engine(reference_idx)) as base:
        page = browser.page(base + "/")
        page.wait("document.body.dataset.ready === '1'")
        paste(page, text)
        got = rows(page)
        want = sorted(expected["spans"] + [r["span"] | {"start": r["start"], "end": r["end"]}
                                          for r in expected["runs"]],
                      key=lambda s: (-s["tokens"], s["count"], s["start"]))
        assert [(r["start"], r["end"], r["tokens"], r["count"]) for r in got] == [
            (s["start"], s["end"], s["tokens"], s["count"]) for s in want]
        assert len(got) >= 2
        assert highlighted(page) == [(c["start"], c["end"]) for c in expected["coverage"]]
        assert page.js("document.querySelector('.answer .verdict').textContent") == \
            expected["verdict"]
        # the first row is the longest span; its documents are check's
        page.click(".answer tr.span-item")
        page.wait("document.querySelectorAll('#source-list .source').length > 0")
        docs = page.js("Array.from(document.querySelectorAll('#source-list .source'))"
                       ".map((s) => s.dataset.doc)")
        assert docs == want[0]["documents"]
        # clicking the highlight itself shows the same
        page.js("document.getElementById('sources').replaceChildren()")
        page.click(".answer mark.span")
        page.wait("document.querySelectorAll('#source-list .source').length > 0")
        ctx = page.js("document.querySelector('#source-list .source .ctx mark').textContent")
        assert ctx.strip() and ctx.strip() in text


def test_a_text_link_opens_the_page_with_it_traced(browser: Browser, reference_idx: Path,
                                                   serve) -> None:
    item = [it for it in reference.load_manifest().by_kind("passage") if it.copies == 100][0]
    text = "As requested: " + item.text
    with serve(make_engine(reference_idx)) as base:
        page = browser.page(base + "/?text=" + urllib.parse.quote(text))
        page.wait(f"{ANSWER_DONE} === 1")
        assert page.js("document.getElementById('paste-text').value") == text
        got = rows(page)
        assert got and got[0]["count"] == 100


class HostileTarget(Target):
    """A model whose every answer carries HTML and script around the planted passage."""

    name = "hostile"

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        text = f"{PAYLOADS[0]} Sure! {PAYLOADS[1]} {PLANTED} {PAYLOADS[2]}"
        return [Generation(prompt_id=p.id, text=text) for p in prompts]


def test_hostile_answers_and_documents_are_shown_not_run(browser: Browser, hostile_idx: Path,
                                                         serve) -> None:
    engine = make_engine(hostile_idx, "hostile", make_target=lambda spec: HostileTarget())
    with serve(engine) as base:
        page = browser.page(base + "/?prompt=" + urllib.parse.quote(PAYLOADS[1]))
        page.wait(f"{ANSWER_DONE} === 1")
        page.click(".answer mark.span")
        page.wait("document.querySelectorAll('#source-list .source').length > 0")
        shown = page.js("document.getElementById('answers').textContent")
        for payload in PAYLOADS:
            assert payload in shown  # as text: the answer and the prompt
        sources = page.js("document.getElementById('sources').textContent")
        names = page.js("Array.from(document.querySelectorAll('#source-list .doc-id'))"
                        ".map((d) => d.textContent)")
        assert names and all(n.startswith("evil-") and n.endswith(PAYLOADS[1]) for n in names)
        assert PAYLOADS[0] in sources  # the documents' text around the match, as text
        # a javascript: URL in the corpus metadata is not made a link
        assert page.js("document.querySelectorAll('#sources a').length") == 0
        paste(page, "\u202egnp.exe " + PAYLOADS[0] + PLANTED, answers=2)
        assert "\u27e8U+202E\u27e9" in page.js("document.querySelector('.answer').textContent")
        assert_nothing_ran(page)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_failures_are_said_on_the_page_and_the_server_goes_on(
        browser: Browser, reference_idx: Path, tmp_path: Path, serve) -> None:
    dead = f"openai:http://127.0.0.1:{_closed_port()}/v1?model=m&max_retries=0&timeout=5"
    with serve(make_engine(tmp_path / "no-index", dead)) as base:
        page = browser.page(base + "/")
        page.wait("document.body.dataset.ready === '1'")
        assert "cannot be opened" in page.js("document.getElementById('banner').textContent")
        page.js("document.getElementById('prompt').value = 'Hello';"
                "document.getElementById('ask-btn').click()")
        page.wait("!document.getElementById('error').hidden && "
                  "document.getElementById('error').textContent.includes('cannot connect')")
    with serve(make_engine(reference_idx, max_chars=2_000)) as base:
        page = browser.page(base + "/")
        page.wait("document.body.dataset.ready === '1'")
        page.js("""document.getElementById('tab-paste').click();
            document.getElementById('paste-text').value = 'z'.repeat(2001);
            document.getElementById('trace-btn').click()""")
        page.wait("document.getElementById('error').textContent.includes("
                  "'2,001 characters long; this page traces at most 2,000')")
        paste(page, _text()[:1500])  # and it goes on


def test_beyond_loopback_the_page_asks_for_its_key(browser: Browser, reference_idx: Path,
                                                   serve) -> None:
    """With a key (as beyond loopback), the page loads, asks for the key, then traces."""
    item = reference.load_manifest().by_kind("passage")[0]
    with serve(make_engine(reference_idx), api_key="k3y") as base:
        page = browser.page(base + "/?text=" + urllib.parse.quote(item.text))
        page.wait("!document.getElementById('key-form').hidden")
        assert page.js("document.querySelectorAll('.answer').length") == 0
        page.js("document.getElementById('key').value = 'k3y';"
                "document.getElementById('key-form').requestSubmit()")
        page.wait(f"{ANSWER_DONE} === 1")
        assert rows(page)[0]["count"] == 1


def test_twenty_answers_stay_usable(browser: Browser, reference_idx: Path, serve) -> None:
    text = _text()
    with serve(make_engine(reference_idx)) as base:
        page = browser.page(base + "/")
        page.wait("document.body.dataset.ready === '1'")
        for n in range(1, 21):
            paste(page, text, answers=n)
        assert page.js("document.querySelectorAll('.answer').length") == 20
        page.js("document.querySelectorAll('.answer')[19].querySelector('mark.span').click()")
        page.wait("document.querySelectorAll('#source-list .source').length > 0")
        assert page.js("document.getElementById('source-list').dataset.answer") == "trace-1"
