"""Periodic runs: many equal maximal spans of repetitive text stand as one, exactly."""

from __future__ import annotations

import random
from pathlib import Path

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.index import CorpusIndex, build_index
from regurgitate.index.periodic_runs import periodic_runs
from regurgitate.types import Document, Span


def _index(tmp_path: Path, docs: list[str]) -> CorpusIndex:
    build_index([Document(t) for t in docs], tmp_path / "ix", ByteTokenizer())
    return CorpusIndex.open(tmp_path / "ix")


def test_a_repeated_word_is_one_run_standing_exactly_for_every_span(tmp_path: Path) -> None:
    rng = random.Random(1)
    filler = "".join(rng.choice("abcdefgh ") for _ in range(3000))
    ix = _index(tmp_path, [filler, "poem " * 200, "x " + "poem " * 200 + "y"])
    text = "intro text " + "poem " * 1000 + " the end"
    spans = ix.find_spans([text], min_tokens=50)[0]
    single, runs = periodic_runs(spans, text)
    assert len(runs) == 1 and len(spans) > 700
    run = runs[0]
    members = run.members()
    # the run stands for exactly the spans that are not listed on their own
    assert sorted(members + [(s.start, s.end) for s in single]) == \
        sorted((s.start, s.end) for s in spans)
    listed = {(s.start, s.end): s for s in spans}
    body = text[members[0][0]:members[0][1]]
    for a, b in members:
        s = listed[(a, b)]
        assert text[a:b] == body and (s.count, s.documents) == (run.span.count,
                                                               run.span.documents)
    assert run.unit(text) * (len(body) // run.period_chars) == body[:len(body) //
                                                                   run.period_chars
                                                                   * run.period_chars]
    assert ix.count(ix.tokenizer.encode(body)) == run.span.count == 1  # " poem" * 200
    assert (run.start, run.end) == (members[0][0], members[-1][1])


def test_spans_of_plain_text_and_short_repeats_stay_separate() -> None:
    text = "ab" * 10 + "0123456789" * 3
    spans = [Span(0, 6, 0, 6, 2, (1,)), Span(2, 8, 2, 8, 2, (1,)),  # two equal: too few
             Span(20, 30, 20, 30, 1, (2,)), Span(25, 35, 25, 35, 1, (2,))]  # unequal text
    single, runs = periodic_runs(spans, text)
    assert runs == [] and single == spans
    # three equal spans one period apart make a run; a fourth of another count does not
    more = [Span(0, 6, 0, 6, 2, (1,)), Span(2, 8, 2, 8, 2, (1,)), Span(4, 10, 4, 10, 2, (1,)),
            Span(6, 12, 6, 12, 3, (1,))]
    single, runs = periodic_runs(more, text)
    assert [(r.start, r.end, r.spans, r.unit(text)) for r in runs] == [(0, 10, 3, "ab")]
    assert single == [more[3]]
