from __future__ import annotations

import json

import pytest

from regurgitate.findings import Finding, VerbatimSpan
from regurgitate.reports import compute_summary, summary_to_dict
from regurgitate.reports.text_memorized import memorized_tokens
from regurgitate.reports.text_summary import OVERALL

from .runs import SEQ_A, SEQ_B, SEQ_D, demo_run


@pytest.fixture(scope="module")
def summary():
    return compute_summary(demo_run())


def by_name(summary, name):
    return next(a for a in summary.attacks if a.attack == name)


def test_attacks_in_spec_order(summary):
    assert [a.attack for a in summary.attacks] == ["corpus_prompts", "divergence",
                                                   "discoverable"]
    assert summary.overall.attack == OVERALL


def test_corpus_prompts_figures(summary):
    a = by_name(summary, "corpus_prompts")
    assert (a.generations, a.ok, a.failed, a.generated_tokens) == (2, 2, 0, 300)
    assert a.with_verbatim == 2 and a.verbatim_rate == 1.0
    # gen 1: 60 + 55 disjoint; gen 2: token union of [0,60) and [40,100) = 100
    assert a.memorized_tokens == 215
    assert a.memorized_token_rate == pytest.approx(215 / 300)
    assert a.verbatim_spans == 4
    assert a.unique_sequences == 3  # gen 1's first span and gen 2's first span are one text
    assert a.longest_span_tokens == 60
    assert a.pii_leaked == {"EMAIL_ADDRESS": 1}
    assert a.pii_elsewhere == {"PHONE_NUMBER": 1}
    assert a.discoverable_exact_rate is None and a.divergence_rate == 0.0


def test_divergence_figures(summary):
    a = by_name(summary, "divergence")
    assert (a.generations, a.ok, a.failed, a.generated_tokens) == (3, 2, 1, 450)
    assert a.with_verbatim == 1 and a.verbatim_rate == 0.5
    assert a.memorized_tokens == 70 and a.memorized_token_rate == pytest.approx(70 / 450)
    assert a.diverged_generations == 1 and a.divergence_rate == 0.5
    assert a.diverged_chars == 120
    assert a.unique_sequences == 1 and a.longest_span_tokens == 70
    assert a.pii_leaked == {} and a.pii_elsewhere == {"EMAIL_ADDRESS": 1}


def test_discoverable_figures(summary):
    a = by_name(summary, "discoverable")
    assert (a.discoverable_probes, a.discoverable_exact) == (2, 1)
    assert a.discoverable_exact_rate == 0.5
    assert a.near_verbatim == 1  # the finding with near_verbatim False is not counted
    assert a.with_verbatim == 0 and a.verbatim_rate == 0.0 and a.unique_sequences == 0


def test_overall_figures(summary):
    o = summary.overall
    assert (o.generations, o.ok, o.failed, o.generated_tokens) == (7, 6, 1, 850)
    assert o.with_verbatim == 3 and o.verbatim_rate == 0.5
    assert o.memorized_tokens == 285
    assert o.memorized_token_rate == pytest.approx(285 / 850)
    assert o.unique_sequences == 4 and o.longest_span_tokens == 70
    assert o.pii_leaked == {"EMAIL_ADDRESS": 1}
    assert o.pii_elsewhere == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    assert o.near_verbatim == 1 and o.diverged_chars == 120


def test_sequences_merged_and_sorted(summary):
    seqs = summary.sequences
    assert [s.tokens for s in seqs] == [70, 60, 60, 55]
    assert seqs[0].text == SEQ_D and seqs[0].sources == ("books/hobbit.txt",)
    assert seqs[-1].text == SEQ_B and seqs[-1].corpus_count == 12
    merged = next(s for s in seqs if s.generations == 2)
    assert merged.generation_ids == (1, 2)  # gen 2's SEQ_A is contained in gen 1's span
    assert merged.text.startswith(SEQ_A) and merged.text.endswith("alice@example.org")
    assert sorted(s.generations for s in seqs) == [1, 1, 1, 2]


def test_discovery_curve_and_extrapolation(summary):
    # ok generations in id order: 1, 2, 3, 4, 6, 7
    assert summary.curve == ((1, 2), (2, 3), (3, 4), (4, 4), (5, 4), (6, 4))
    ex = summary.extrapolation
    assert ex is not None and ex.observed == 4 and ex.sample_count == 6


def test_extrapolation_numbers(summary):
    # incidence counts 2, 1, 1, 1 over 6 generations: f1 = 3, f2 = 1
    ex = summary.extrapolation
    assert ex.coverage == pytest.approx(1 - 3 / 5)  # Good-Turing, 5 sightings
    assert ex.estimated_total == pytest.approx(4 + 5 / 6 * 3 * 2 / (2 * 2))  # Chao1 = 5.25
    assert ex.interval is not None and ex.interval[0] <= 5.25 <= ex.interval[1]
    assert set(ex.projections) == {1, 2, 5, 10}
    assert all(v >= 4 for v in ex.projections.values())
    assert any("lower-bound" in c for c in ex.caveats)


def test_memorized_tokens_scales_overlaps_by_characters():
    a = Finding(1, "verbatim", VerbatimSpan(tokens=50, count=1, text=""), 0, 100, 50.0)
    b = Finding(1, "verbatim", VerbatimSpan(tokens=50, count=1, text=""), 50, 150, 50.0)
    assert memorized_tokens([a, b]) == 75
    assert memorized_tokens([a]) == 50 and memorized_tokens([]) == 0


def test_summary_to_dict_is_json(summary):
    d = summary_to_dict(summary)
    back = json.loads(json.dumps(d))
    assert back["overall"]["memorized_tokens"] == 285
    assert back["attacks"][1]["pii_elsewhere"] == {"EMAIL_ADDRESS": 1}
    assert set(back["extrapolation"]["projections"]) == {"1", "2", "5", "10"}
    assert back["sequences"][0]["generation_ids"] == [3]


def test_empty_run_has_no_rates():
    from regurgitate.reports import RunData
    from regurgitate.types import RunSpec

    s = compute_summary(RunData(RunSpec("t", ("a",), None), [], []))
    assert s.overall.generations == 0 and s.overall.verbatim_rate is None
    assert s.extrapolation is None and s.sequences == () and s.curve == ()
