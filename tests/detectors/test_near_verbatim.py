from __future__ import annotations

import pytest

from regurgitate.detectors.base import NO_PRIOR, Item
from regurgitate.detectors.near_verbatim import NearVerbatimDetector
from regurgitate.errors import ConfigError
from regurgitate.metrics.similarity import edit_similarity, longest_common_substring, rouge_l
from regurgitate.types import Document, Generation, GenerationSettings, Prompt

NOISE = "zq\n" * 20


def item(gid: int, text: str) -> Item:
    p = Prompt(id=f"p{gid}", attack="t", text="x", settings=GenerationSettings())
    return Item(gid, p, Generation(prompt_id=p.id, text=text))


def edit_every(text: str, step: int) -> str:
    chars = list(text)
    for i in range(step, len(chars), step):
        chars[i] = "#"
    return "".join(chars)


def test_similarity_measures():
    assert edit_similarity("abcd", "abcx") == pytest.approx(0.75)
    assert edit_similarity("", "") == 1.0
    assert longest_common_substring("xxhello worldyy", "hello world!") == 11
    assert longest_common_substring("abc", "") == 0
    assert rouge_l("the cat sat", "the cat sat") == 1.0
    # LCS 2 of 3 candidate words and of 4 reference words: P=2/3, R=1/2
    expected = 2 * (2 / 3 * 0.5) / (2 / 3 + 0.5)
    assert rouge_l("the dog sat", "the cat sat down") == pytest.approx(expected)


@pytest.fixture
def setup(index_factory, words):
    docs = [Document(words(150, s), {"path": f"d{s}"}) for s in range(3)]
    return docs, index_factory(docs)


def test_near_verbatim_passage_is_flagged(setup):
    docs, index = setup
    passage = docs[2].text[200:500]
    edited = edit_every(passage, 30)
    gen = NOISE + edited + NOISE
    det = NearVerbatimDetector(index, seed_tokens=16, min_tokens=50, margin_tokens=32)
    found = det.detect([item(1, gen)], NO_PRIOR)
    assert len(found) == 1
    f = found[0]
    d = f.payload.to_json()
    assert f.kind == f.detector == "near_verbatim" and f.generation_id == 1
    assert d["near_verbatim"] is True and d["doc_id"] == 2 and d["name"] == "d2"
    assert gen[f.start:f.end] == d["generated_text"]
    # the aligned core is the edited passage, unrelated noise trimmed
    assert abs(len(d["generated_text"]) - len(edited)) <= 8
    assert d["source_text"] in docs[2].text
    assert d["edit_similarity"] == pytest.approx(1 - 9 / 300, abs=0.02)
    assert f.score == d["edit_similarity"]
    assert d["lcs_chars"] == 29
    assert 0.5 < d["rouge_l"] < 1.0
    assert d["tokens"] >= 250


def test_short_partial_match_is_not_near_verbatim(setup):
    docs, index = setup
    gen = NOISE + docs[0].text[100:125] + NOISE
    assert NearVerbatimDetector(index).detect([item(2, gen)], NO_PRIOR) == []
    found = NearVerbatimDetector(index, report_min_tokens=0).detect([item(2, gen)], NO_PRIOR)
    assert len(found) == 1 and found[0].payload.near_verbatim is False
    assert 20 <= found[0].payload.tokens < 50
    assert NearVerbatimDetector(index, flagged_only=True, report_min_tokens=0).detect(
        [item(2, gen)], NO_PRIOR) == []


def test_verbatim_region_is_left_to_verbatim(setup):
    docs, index = setup
    gen = NOISE + docs[1].text[50:200] + NOISE
    assert NearVerbatimDetector(index).detect([item(3, gen), item(4, NOISE)], NO_PRIOR) == []


def test_bad_config():
    with pytest.raises(ConfigError):
        NearVerbatimDetector(None, seed_tokens=60, min_tokens=50)  # type: ignore[arg-type]


def test_core_excludes_similar_looking_unrelated_text(setup, words):
    """Flanks drawn from the same vocabulary share many short runs with the corpus; the core
    must still be the edited passage alone."""
    docs, index = setup
    passage = docs[1].text[100:500]
    edited = edit_every(passage, 40)
    gen = words(40, 99) + "\n" + edited + "\n" + words(40, 98)
    found = NearVerbatimDetector(index).detect([item(5, gen)], NO_PRIOR)
    flagged = [f for f in found if f.payload.near_verbatim]
    assert len(flagged) == 1
    f = flagged[0]
    assert abs(f.start - gen.index(edited)) <= 3 and abs(f.end - (gen.index(edited) + 400)) <= 3
    assert f.payload.edit_similarity == pytest.approx(1 - 9 / 400, abs=0.01)


def test_one_finding_per_aligned_passage(tmp_path) -> None:
    """A long edited copy reached from many seeds is still one passage, and the summary
    counts what the findings say."""
    import random

    from regurgitate.corpus.tokenizer import ByteTokenizer
    from regurgitate.detectors import NearVerbatimDetector
    from regurgitate.detectors.base import NO_PRIOR, Item
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.reports.text_data import RunData
    from regurgitate.reports.text_summary import compute_summary
    from regurgitate.types import Document, Generation, GenerationSettings, Prompt, RunSpec

    rng = random.Random(0)  # three edited passages from three works, back to back
    srcs = ["".join(rng.choice("abcdefghij ") for _ in range(800)) for _ in range(3)]
    build_index([Document(s) for s in srcs], tmp_path / "ix", ByteTokenizer())
    ix = CorpusIndex.open(tmp_path / "ix")
    parts = []
    for _ in range(3):
        s = rng.choice(srcs)
        a = rng.randrange(0, 500)
        piece = list(s[a:a + rng.randrange(100, 300)])
        for i in range(len(piece)):
            if rng.random() < rng.choice([0.02, 0.05, 0.1]):
                piece[i] = "#"
        parts.append("".join(piece))
    text = rng.choice(["", "xyz "]).join(parts)
    p = Prompt("p", "a", "x", GenerationSettings())
    items = [Item(1, p, Generation("p", text)), Item(2, p, Generation("p", "nothing here"))]
    found = NearVerbatimDetector(ix, margin_tokens=rng.choice([8, 16, 64])).detect(items,
                                                                                  NO_PRIOR)
    spans = sorted((f.start, f.end) for f in found)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlap
    flagged = [f for f in found if f.payload.near_verbatim]
    assert flagged
    s = compute_summary(RunData(spec=RunSpec("t", ("a",), None), items=items, findings=found))
    assert s.overall.near_verbatim == len({f.generation_id for f in flagged}) == 1
    assert s.overall.near_verbatim_passages == len(flagged)
