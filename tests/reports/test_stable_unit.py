"""The extrapolation's unit, unique memorized n-grams, counts a run's first k generations the
same whether the run stopped at k or went on (unique sequences do not)."""

from __future__ import annotations

import pytest

from regurgitate.findings import Finding, VerbatimSpan
from regurgitate.reports import RunData, compute_summary
from regurgitate.reports.text_memorized import memorized_ngrams
from regurgitate.types import RunSpec

from .runs import item

#: a corpus passage of 200 tokens, token i spelled " w<i>"
WORDS = [f" w{i}" for i in range(200)]


def _span(gid: int, text: str, a: int, b: int, ids: bool = True) -> Finding:
    piece = "".join(WORDS[a:b])
    start = text.index(piece)
    return Finding(gid, "verbatim", VerbatimSpan(
        tokens=b - a, count=1, documents=(1,), text=piece, token_start=a, token_end=b,
        token_ids=tuple(range(a, b)) if ids else ()), start, start + len(piece), float(b - a))


def _run(spans: list[tuple[int, int]], ids: bool = True) -> RunData:
    """One generation per (a, b): the passage's tokens a..b, then some new text."""
    items, findings = [], []
    for gid, (a, b) in enumerate(spans, 1):
        text = "Sure:" + "".join(WORDS[a:b]) + " and nothing else"
        items.append(item(gid, "sample-rank", text, 256))
        findings.append(_span(gid, text, a, b, ids))
    items.append(item(len(spans) + 1, "sample-rank", "no memorized text here", 256))
    spec = RunSpec(target="reference", attacks=("sample-rank",), index="idx",
                   settings={"min_tokens": 50}, tool_version="test")
    return RunData(spec=spec, items=items, findings=findings)


def _first(run: RunData, k: int) -> RunData:
    """The run as it stood had it stopped after its first k generations."""
    keep = {it.generation_id for it in run.items[:k]}
    return RunData(spec=run.spec, items=run.items[:k],
                   findings=[f for f in run.findings if f.generation_id in keep])


SPANS = [(0, 60), (100, 160), (0, 160), (120, 200)]


def test_ngram_count_at_k_is_the_same_whether_the_run_stops_or_goes_on():
    full = compute_summary(_run(SPANS))
    # windows of 50 starting at 0..110 (span 0-160) and 120..150 (span 120-200)
    assert full.unique_ngrams == 111 + 31
    assert full.extrapolation is not None and full.extrapolation.unit == "50-grams"
    for k in range(1, len(SPANS) + 2):
        stopped = compute_summary(_first(_run(SPANS), k))
        assert stopped.unique_ngrams == full.curve[k - 1][1]
        assert stopped.extrapolation is not None
        assert stopped.extrapolation.observed == stopped.unique_ngrams
        assert stopped.curve == full.curve[:k]
    assert [y for _, y in full.curve] == [11, 22, 111, 142, 142]


def test_unique_sequences_at_k_move_with_what_follows():
    """Why the unit changed: generation 3 holds both earlier spans, so a run stopped after 2
    generations counts 2 sequences where the longer run counts 1 among the same outputs."""
    stopped = compute_summary(_first(_run(SPANS), 2))
    full = compute_summary(_run(SPANS))
    assert stopped.overall.unique_sequences == 2
    first_two = {1, 2}
    assert sum(1 for s in full.sequences if first_two & set(s.generation_ids)) == 1


def test_runs_whose_spans_lack_token_ids_keep_counting_sequences():
    s = compute_summary(_run(SPANS, ids=False))
    assert s.unique_ngrams is None
    assert s.extrapolation is not None and s.extrapolation.unit == "sequences"
    assert s.extrapolation.projection == "Chao1-anchored"
    assert s.extrapolation.projections == s.extrapolation.lower_projections


def test_ngrams_from_a_generations_tokens_and_span_offsets():
    """Spans without their own ids are cut from the generation's tokens (index tokenization)."""
    run = _run(SPANS, ids=False)
    tokens = {f.generation_id: list(range(200)) for f in run.findings}
    grams = memorized_ngrams(run.findings, 50, tokens_of=tokens.__getitem__)
    with_ids = memorized_ngrams(_run(SPANS).findings, 50)
    assert grams == with_ids and grams is not None
    assert len(grams[1]) == 11 and (0, *range(1, 50)) in grams[1]
    assert memorized_ngrams(run.findings, 50) is None


def test_shown_projection_and_lower_bound():
    ex = compute_summary(_run(SPANS)).extrapolation
    assert ex is not None
    assert ex.projection != "Chao1-anchored"
    assert set(ex.projections) == set(ex.lower_projections) == {1, 2, 5, 10}
    for t, v in ex.lower_projections.items():
        assert ex.observed <= v <= ex.estimated_total + 1e-9
        assert ex.projections[t] >= ex.observed
    assert ex.lower_projections[10] == pytest.approx(
        max(ex.lower_projections.values()))


def test_evidence_packets_count_their_ngrams():
    from regurgitate.reports.text_evidence import build_packets

    packets = build_packets(_run(SPANS), None)
    by_text = {p["text"]: p for p in packets}
    assert len(packets) == 2  # tokens 0-160 (holding 0-60 and 100-160) and 120-200
    assert by_text["".join(WORDS[0:160])]["ngrams"] == 111
    assert by_text["".join(WORDS[120:200])]["ngrams"] == 31
    assert all(p["ngram_length"] == 50 for p in packets)
    assert all(p["ngrams"] is None for p in build_packets(_run(SPANS, ids=False), None))
