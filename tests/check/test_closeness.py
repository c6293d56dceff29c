"""The closeness report: per-work verbatim shares, near-verbatim similarity, verdict, HTML."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from regurgitate.check.closeness import closeness, report_to_dict
from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.reports.check_html import render_closeness_html, safe_link, write_closeness_html
from regurgitate.types import Document


def _words(rng: random.Random, n: int) -> str:
    vocab = ["river", "stone", "lantern", "orchard", "copper", "winter", "harbor", "meadow",
             "quiet", "signal", "ember", "willow", "marble", "thread", "cinder", "hollow"]
    return " ".join(rng.choice(vocab) + str(rng.randrange(100)) for _ in range(n))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusIndex, list[str]]:
    rng = random.Random(11)
    works = [_words(rng, 200) for _ in range(4)]
    docs = [Document(w, {"id": f"work-{i}", "title": f"Title <{i}>",
                         "url": "javascript:alert(1)" if i == 1 else f"https://ex.org/{i}?a=1&b"})
            for i, w in enumerate(works)]
    docs += [Document(_words(rng, 100), {"id": f"bg-{i}"}) for i in range(10)]
    path = tmp_path_factory.mktemp("close") / "ix"
    build_index(docs, path, ByteTokenizer())
    return CorpusIndex.open(path), works


def test_per_work_shares_and_longest_spans(world) -> None:
    ix, works = world
    a, b = works[0][:600], works[2][100:400]
    text = "Opening words of my own. " + a + " then some glue here " + b + " and the end."
    rep = closeness(ix, text, min_tokens=50)
    by_name = {w.name: w for w in rep.works}
    assert set(by_name) >= {"work-0", "work-2"}
    w0, w2 = by_name["work-0"], by_name["work-2"]
    # each work's share counts exactly the characters copied from it
    assert w0.verbatim_chars >= len(a) - 2 and w0.verbatim_chars <= len(a) + 2
    assert abs(w2.verbatim_chars - len(b)) <= 2
    assert w0.verbatim_share == pytest.approx(w0.verbatim_chars / len(text))
    assert w0.longest_span_tokens == w0.verbatim_chars  # bytes: one token per character
    assert w0.edit_similarity == pytest.approx(1.0) and w0.lcs_chars >= len(a) - 2
    assert rep.works[0].name == "work-0"  # the larger share first
    assert rep.covered_chars == sum(e - s for s, e in rep.coverage)
    for s in rep.spans:  # every span occurs exactly `count` times
        assert ix.count(ix.tokenizer.encode(text[s.start:s.end])) == s.count
    assert "verbatim" in rep.verdict.lower() and "work-0" in rep.verdict
    data = report_to_dict(rep, ix, text)
    json.dumps(data)
    assert all(sp["documents"] == sp["sources"] for sp in data["spans"])


def test_edited_copy_is_near_verbatim_without_exact_span(world) -> None:
    ix, works = world
    src = works[3][:900]
    edited = list(src)
    for i in range(30, len(edited), 40):  # one character changed every 40
        edited[i] = "#"
    text = "".join(edited)
    rep = closeness(ix, text, min_tokens=50, seed_tokens=16)
    assert not rep.spans
    top = rep.works[0]
    assert top.name == "work-3" and top.near_verbatim
    assert 0.95 <= top.edit_similarity < 1.0 and top.rouge_l is not None
    assert rep.verdict.startswith("Near-verbatim copy")


def test_unrelated_text_has_no_work(world) -> None:
    ix, _ = world
    rep = closeness(ix, "zzzz qqqq " * 40, min_tokens=50)
    assert rep.works == () and rep.spans == () and "nothing" in rep.verdict


def test_html_is_escaped_and_links_are_safe(world, tmp_path: Path) -> None:
    ix, works = world
    text = "<script>alert('x')</script> " + works[1][:400] + " " + works[0][:300]
    rep = closeness(ix, text, min_tokens=50)
    page = render_closeness_html(report_to_dict(rep, ix, text), text, index="<ix>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page  # the unsafe URL is shown as a plain label
    assert 'href="https://ex.org/0?a=1&amp;b" rel="noopener noreferrer"' in page
    assert "Title &lt;0&gt;" in page and "<mark>" in page
    assert safe_link("data:text/html,x", "l") == "l"
    out = write_closeness_html(report_to_dict(rep, ix, text), text, tmp_path / "c.html",
                               index="ix")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["c.html"]


def test_two_passages_of_one_work_are_both_aligned_and_counted(world) -> None:
    ix, works = world
    src = works[2]
    first, second = src[:300], src[700:1000]
    glue = " and here my own words zzqx yyqv wwqk in between them all "
    text = first + glue + second
    rep = closeness(ix, text, min_tokens=1000, seed_tokens=16)  # no verbatim span at all
    top = rep.works[0]
    assert top.name == "work-2" and top.passages == 2 and not rep.spans
    # both copies matched, the glue not: the share is of the whole text
    assert abs(top.aligned_chars - len(first) - len(second)) <= 8
    assert top.aligned_share == pytest.approx(top.aligned_chars / len(text))
    assert top.passage_chars == pytest.approx(300, abs=4) and top.edit_similarity == 1.0
    assert "2 passages (the longest" in rep.verdict


class _CountingBytes(ByteTokenizer):
    """The byte tokenizer, counting the texts it tokenizes with offsets."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode_offsets(self, text: str):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().encode_offsets(text)


def test_check_tokenizes_the_text_once(world: tuple[CorpusIndex, list[str]]) -> None:
    ix, works = world
    tok = _CountingBytes()
    counted = CorpusIndex.open(ix.path, tokenizer=tok)
    text = works[0][:400] + " and then something else entirely " + works[1][:300]
    rep = closeness(counted, text, min_tokens=50)
    assert tok.calls == 1
    assert rep.spans == closeness(ix, text, min_tokens=50).spans and rep.spans
