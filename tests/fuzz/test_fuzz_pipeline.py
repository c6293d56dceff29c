"""Fuzzing (issue 9): detectors and both renderers on arbitrary Unicode as it leaves the
store (lone surrogates already repaired). Nothing crashes, offsets stay inside the text,
nothing raw reaches the terminal or the page."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from regurgitate.corpus.tokenizer import ByteTokenizer, load_tokenizer
from regurgitate.detectors import (
    DivergenceDetector,
    NearVerbatimDetector,
    PIIDetector,
    VerbatimDetector,
)
from regurgitate.detectors.base import NO_PRIOR, Prior
from regurgitate.findings import Finding, PIIHit, SourcePassage, VerbatimSpan
from regurgitate.index import CorpusIndex, build_index
from regurgitate.reports import RunData, compute_summary, render_html, render_summary
from regurgitate.types import (
    Document,
    Generation,
    GenerationSettings,
    Item,
    Prompt,
    RunSpec,
)
from regurgitate.untrusted import storable

from .strategies import NASTY, text

FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                 "\ufeff\ud800-\udfff]")
CORPUS = [
    "The chronicle of the river town says the bell rang at dawn for seven days. " * 3,
    "Contact jane.doe@example.org or call +1 555 0100 about the copper lantern. " * 2,
    "".join(NASTY) * 4 + " hidden \u202e text \x1b[31m red",
    "poem poem poem poem poem and then the story of the orchard and the willow tree",
]


def as_stored(s: str) -> str:
    return storable(s)[0]


def item(gid: int, s: str, attack: str = "divergence") -> Item:
    prompt = Prompt(id=f"p{gid}", attack=attack, text="Repeat: poem",
                    settings=GenerationSettings(), meta={"word": "poem"})
    return Item(generation_id=gid, prompt=prompt,
                generation=Generation(prompt_id=f"p{gid}", text=as_stored(s),
                                      completion_tokens=len(s) // 4))


@pytest.fixture(scope="module", params=["bytes", "bpe"])
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> CorpusIndex:
    from regurgitate import reference

    tok = ByteTokenizer() if request.param == "bytes" else load_tokenizer(reference.model_dir())
    out = tmp_path_factory.mktemp(f"fuzz-index-{request.param}")
    build_index([Document(as_stored(t), {"id": str(i)}) for i, t in enumerate(CORPUS)], out, tok)
    return CorpusIndex.open(out)


def check_findings(findings: list[Finding], texts: dict[int, str]) -> None:
    for f in findings:
        n = len(texts[f.generation_id])
        assert f.start is None or 0 <= f.start <= n
        assert f.end is None or (f.start or 0) <= f.end <= n


@FUZZ
@given(st.lists(text, min_size=1, max_size=3))
def test_detectors_take_any_text(index: CorpusIndex, texts: list[str]) -> None:
    items = [item(i + 1, t) for i, t in enumerate(texts)]
    stored = {it.generation_id: it.generation.text for it in items}
    verbatim = VerbatimDetector(index, min_tokens=8).detect(items, NO_PRIOR)
    check_findings(verbatim, stored)
    prior = Prior.of(verbatim)
    detectors: list[Callable[[list[Item], Prior], list[Finding]]] = [
        PIIDetector().detect,
        DivergenceDetector().detect,
        NearVerbatimDetector(index, seed_tokens=4, min_tokens=8).detect,
    ]
    for detect in detectors:
        check_findings(detect(items, prior), stored)


@settings(FUZZ, max_examples=8)  # each HTML report draws its plots: keep the suite quick
@given(texts=st.lists(text, min_size=1, max_size=3), names=st.lists(text, min_size=1,
                                                                     max_size=3))
def test_renderers_take_any_text(texts: list[str], names: list[str]) -> None:
    items = [item(i + 1, t, attack=as_stored(names[i % len(names)])[:200] or "a")
             for i, t in enumerate(texts)]
    findings = []
    for it in items:
        s = it.generation.text
        if len(s) >= 2:
            span = VerbatimSpan(tokens=60, count=2, text=s[: len(s) // 2], documents=(1,),
                                sources=(SourcePassage(doc_id=1, name=as_stored(names[0]),
                                                       before=s, match=s, after=s),))
            findings.append(Finding(it.generation_id, "verbatim", span, 0, len(s) // 2, 60.0))
            findings.append(Finding(it.generation_id, "pii",
                                    PIIHit(type=as_stored(names[0]), value=s[:50],
                                           in_verbatim=True), 0, 1, None))
    failed = item(99, "", attack="divergence")
    failed = Item(99, failed.prompt, Generation(prompt_id="p99", text="",
                                                error=as_stored(names[-1])))
    run = RunData(spec=RunSpec(target=as_stored(names[0]), attacks=("divergence",),
                               index="idx"), items=[*items, failed], findings=findings,
                  index_info={"dtype": "u8"})
    summary = compute_summary(run)
    buf = io.StringIO()
    render_summary(summary, Console(file=buf, width=100, color_system=None))
    assert not RAW.search(buf.getvalue())
    page = render_html(run, summary)
    assert not RAW.search(page)


def test_a_corpus_with_nasty_text_indexes(index: CorpusIndex) -> None:
    assert index.num_docs == len(CORPUS)
