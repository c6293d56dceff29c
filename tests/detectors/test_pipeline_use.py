"""Detectors used together as a pipeline would: verbatim first, PII with its spans, then the
unique sequences feeding the extrapolation; plus robustness on arbitrary text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from regurgitate.detectors import (
    NO_PRIOR,
    DivergenceDetector,
    Item,
    PIIDetector,
    Prior,
    VerbatimDetector,
    divergence_point,
    find_pii,
    unique_sequences,
)
from regurgitate.metrics.extrapolation import extrapolate, frequency_counts
from regurgitate.types import Document, Generation, GenerationSettings, Prompt

RECORD = ("Customer record: Jane Roe, e-mail jane.roe@example.com, phone +1 415 555 0132, "
          "card 4111 1111 1111 1111, shipped to 12 Harbor Road, Springfield.")


def mk(gid: int, text: str, meta: dict | None = None) -> Item:
    p = Prompt(id=f"p{gid}", attack="t", text="x", settings=GenerationSettings(),
               meta=meta or {})
    return Item(gid, p, Generation(prompt_id=p.id, text=text))


def test_verbatim_then_pii_then_unique_sequences(index_factory, words):
    docs = [Document(words(120, s)) for s in range(3)] + [Document(RECORD)]
    index = index_factory(docs)
    other = docs[0].text[100:260]
    items = [
        mk(1, "Sure!\n" + RECORD + "\nAnything else? Mail me at me@mine.org"),
        mk(2, "Here:\n" + RECORD[17:] + "\n"),
        mk(3, "text\n" + other + "\n"),
        mk(4, "nothing memorized here, call (555) 201-3344"),
    ]
    verbatim = VerbatimDetector(index, min_tokens=50).detect(items, NO_PRIOR)
    assert sorted(f.generation_id for f in verbatim) == [1, 2, 3]
    pii = PIIDetector().detect(items, Prior.of(verbatim))
    by = {(f.generation_id, f.payload.value): f.payload.in_verbatim for f in pii}
    assert by[(1, "jane.roe@example.com")] is True
    assert by[(1, "4111 1111 1111 1111")] is True
    assert by[(1, "me@mine.org")] is False
    assert by[(2, "+1 415 555 0132")] is True
    assert by[(4, "(555) 201-3344")] is False
    seqs = unique_sequences(verbatim)
    assert len(seqs) == 2
    record = next(s for s in seqs if s.text == RECORD)
    assert record.generations == 2 and record.documents == (3,)
    est = extrapolate(frequency_counts(s.generations for s in seqs), sample_count=len(items))
    assert est.observed == 2 and est.singletons == 1 and est.doubletons == 1


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(["poem", "a", "company", "Ω"]))
def test_divergence_point_total_and_in_range(text, word):
    point = divergence_point(text, word)
    assert point is None or 0 <= point < len(text)
    out = DivergenceDetector().detect([mk(1, text, {"word": word})], NO_PRIOR)
    assert len(out) == (point is not None)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_find_pii_total_and_consistent(text):
    last_end = 0
    for m in find_pii(text):
        assert text[m.start:m.end] == m.value and m.start >= last_end
        last_end = m.end
