"""Closeness at the level of the text: four graded texts rank strictly in order on every
text-level figure, on the bundled reference corpus and on a corpus the test makes; a text
sharing one short sentence is never reported as a whole copy."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from regurgitate import reference
from regurgitate.check.closeness import ClosenessReport, closeness, report_to_dict
from regurgitate.corpus.tokenizer import load_tokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.reports.check_html import render_closeness_html
from regurgitate.targets.reference import reference_index
from regurgitate.types import Document

RunCli = Callable[[list[str]], tuple[int, str, str]]  # the run_cli fixture of tests/conftest.py

#: the figures that describe the whole text, per work
TEXT_LEVEL = ("aligned_share", "text_rouge_l")

UNRELATED = ("Quantum computing promises to change cryptography, but engineers still struggle "
             "with noise, error correction and the cost of cooling qubits to near absolute "
             "zero. Meanwhile, classical processors keep getting cheaper every single year, and "
             "most software never needs anything more exotic than a fast laptop.")


def _every_fifth_changed(text: str) -> str:
    return " ".join("zq" + w[::-1] if i % 5 == 4 else w for i, w in enumerate(text.split()))


def _essay(sentence: str) -> str:
    """About 280 characters of the test's own words around one shared sentence."""
    return ("My grandmother always said that small towns keep their memories in odd places. "
            f"{sentence} I think about that line often, because it says more about care than "
            "any textbook on history ever did for me.")


def _graded(index: CorpusIndex, source: str, sentence: str) -> list[ClosenessReport]:
    texts = [source, _every_fifth_changed(source), _essay(sentence), UNRELATED]
    return [closeness(index, t) for t in texts]


def _figures(rep: ClosenessReport) -> dict[str, float]:
    top = rep.works[0] if rep.works else None
    return {f: float(getattr(top, f)) if top else 0.0 for f in TEXT_LEVEL}


def _assert_strictly_graded(reports: list[ClosenessReport], sentence_tokens: int) -> None:
    figs = [_figures(r) for r in reports]
    for f in TEXT_LEVEL:
        values = [fg[f] for fg in figs]
        assert all(a > b for a, b in zip(values, values[1:], strict=False)), (f, values)
    copy, edited, essay, _ = reports
    assert copy.works[0].aligned_share == 1.0 and copy.works[0].text_rouge_l == 1.0
    assert 0.7 < edited.works[0].text_rouge_l < 0.9  # four words of five kept
    # verbatim spans are a threshold figure: never more for a weaker text, but no span at all
    # for the edited copy and the essay
    shares = [r.works[0].verbatim_share if r.works else 0.0 for r in reports]
    assert shares == sorted(shares, reverse=True) and shares[1] == shares[2] == 0.0
    # the essay: its passage is the shared sentence, short, and said to be short
    top = essay.works[0]
    assert top.passage_tokens == pytest.approx(sentence_tokens, abs=2) and not top.near_verbatim
    assert top.edit_similarity == pytest.approx(1.0) and top.aligned_share < 0.4
    assert f"{top.passage_tokens}-token passage" in essay.verdict
    assert f"matching {100 * top.aligned_share:.0f}% of the text" in essay.verdict
    assert "no span reaches 50 tokens" in essay.verdict and top.name in essay.verdict


@pytest.fixture(scope="module")
def ref_index(tmp_path_factory: pytest.TempPathFactory) -> CorpusIndex:
    return CorpusIndex.open(reference_index(tmp_path_factory.mktemp("ref"), lambda _: None))


def _reference_passage() -> tuple[str, str]:
    item = next(i for i in reference.load_manifest().items if i.id == "passage-x100-01")
    sentence = next(s for s in item.text.split(". ") if s.startswith("When the river rose"))
    return item.text, sentence + "."


def test_graded_texts_on_the_reference_corpus(ref_index: CorpusIndex) -> None:
    source, sentence = _reference_passage()
    reports = _graded(ref_index, source, sentence)
    _assert_strictly_graded(reports, len(ref_index.tokenizer.encode(" " + sentence)))
    essay = reports[2]
    # the passage is in 100 works: those compared have the same figures and collapse
    assert essay.candidate_works == 100 and len(essay.works) == 10
    assert [w.same_as for w in essay.works[1:]] == [essay.works[0].name] * 9
    assert "and 9 other works with the same figures" in essay.verdict


def _made_corpus(tmp: Path) -> tuple[CorpusIndex, str, str]:
    rng = random.Random(4)
    people = ["Ada Quillfeather", "Bram Ostwick", "Cora Vellum", "Dunstan Reeve"]
    things = ["lantern", "ledger", "bridge", "orchard", "loom", "ferry", "bell", "kiln"]
    places = ["Marrowby", "Stillwater", "Oakhollow", "Fenmarch"]
    verbs = ["repaired", "painted", "counted", "carried", "mended", "sold", "guarded"]

    def sentence() -> str:
        return (f"{rng.choice(people)} {rng.choice(verbs)} the {rng.choice(things)} of "
                f"{rng.choice(places)} before the {rng.choice(things)} was "
                f"{rng.choice(verbs)} again.")

    source = " ".join(sentence() for _ in range(12))
    shared = "The old ferryman of Stillwater kept seven brass keys under the third stone."
    source = source.replace(". ", f". {shared} ", 1)
    docs = [Document(f"Preface {i}. {source} Afterword {i}.", {"id": f"book-{i:02d}"})
            for i in range(10)]  # the passage in ten works
    docs += [Document(" ".join(sentence() for _ in range(40)), {"id": f"other-{i:02d}"})
             for i in range(30)]
    tok = load_tokenizer(reference.model_dir())
    build_index(docs, tmp / "made", tok)
    return CorpusIndex.open(tmp / "made"), source, shared


def test_graded_texts_on_a_corpus_the_test_makes(tmp_path: Path) -> None:
    index, source, shared = _made_corpus(tmp_path)
    reports = _graded(index, source, shared)
    _assert_strictly_graded(reports, len(index.tokenizer.encode(" " + shared)))
    assert reports[2].works[0].name.startswith("book-")


def test_check_shows_the_essay_as_one_short_passage_in_every_output(
        ref_index: CorpusIndex, tmp_path: Path, run_cli: RunCli) -> None:
    source, sentence = _reference_passage()
    text = _essay(sentence)
    path = tmp_path / "essay.txt"
    path.write_text(text, encoding="utf-8")
    html = tmp_path / "essay.html"
    code, out, _ = run_cli(["check", str(path), "--index", str(ref_index.path),
                            "--html", str(html)])
    assert code == 0
    table = out[out.index("Closest works"):out.index("verdict:")]
    rows = [ln for ln in table.splitlines() if ln.strip().startswith("ref-")]
    assert len(rows) == 1 and "+9, same" in rows[0]  # ten works, one row
    assert " tok " in rows[0]  # the passage's length beside its similarity
    assert "Shares one" in out and "matching 33% of the text" in out
    code, out, _ = run_cli(["check", str(path), "--index", str(ref_index.path), "--json"])
    data = json.loads(out)
    top = data["works"][0]
    assert top["passage_tokens"] < 50 and round(top["aligned_share"], 2) == 0.33
    assert {w["same_as"] for w in data["works"][1:]} == {top["name"]}
    assert data["candidate_works"] == 100 and data["seed_tokens"] == 4
    page = html.read_text(encoding="utf-8")
    assert "+9, same passage" in page and "Text ROUGE-L" in page
    assert all(w["name"] in page for w in data["works"])  # the collapsed ones named too


def test_json_keeps_every_work_and_the_page_collapses_them(ref_index: CorpusIndex) -> None:
    source, _ = _reference_passage()
    rep = closeness(ref_index, source)
    data = report_to_dict(rep, ref_index, source)
    json.dumps(data)
    assert len(data["works"]) == 10 and all(w["text_rouge_l_exact"] for w in data["works"])
    page = render_closeness_html(data, source, index="ref")
    works_section = page[page.index("<h2>Closest works</h2>"):]
    works_section = works_section[:works_section.index("</table>")]
    assert works_section.count("<tr><td") == 1  # ten works, the same figures: one row
    assert "+9, same passage" in works_section and "795 chars" in works_section
