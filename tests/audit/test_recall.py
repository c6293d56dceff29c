"""Near-verbatim recall on crafted cases whose blocks are known."""

from __future__ import annotations

import pytest

from regurgitate.audit.recall import Words, near_verbatim_recall

WORK_WORDS = [f"w{i:03d}" for i in range(200)]
WORK = " ".join(WORK_WORDS)


def span(a: int, b: int) -> tuple[int, int]:
    """Characters of work words [a, b)."""
    w = Words.of(WORK)
    return w.spans[a][0], w.spans[b - 1][1]


def test_two_exact_blocks_and_noise_give_their_share() -> None:
    out1 = "noise words here " + " ".join(WORK_WORDS[10:60]) + " more invented text"
    out2 = "Intro. " + " ".join(WORK_WORDS[100:130]).upper() + "!"  # case and punctuation
    r = near_verbatim_recall(WORK, [out1, out2], min_words=20, gap=3)
    assert r.merged == (span(10, 60), span(100, 130))
    expected = (span(10, 60)[1] - span(10, 60)[0] + span(100, 130)[1] - span(100, 130)[0])
    assert r.recall == pytest.approx(expected / len(WORK))
    assert len(r.blocks) == 2 and {b.words for b in r.blocks} == {50, 30}


def test_an_edited_word_inside_a_copy_is_merged_across_the_gap() -> None:
    words = WORK_WORDS[20:90].copy()
    words[35] = "CHANGED"  # two exact blocks of 35 and 34 words, one word apart
    r = near_verbatim_recall(WORK, [" ".join(words)], min_words=20, gap=3)
    assert len(r.blocks) == 2
    assert r.merged == (span(20, 90),)
    assert near_verbatim_recall(WORK, [" ".join(words)], min_words=20, gap=0).merged == (
        span(20, 55), span(56, 90))


def test_short_overlaps_count_nothing_and_repeats_count_once() -> None:
    short = " ".join(WORK_WORDS[0:19])  # 19 < 20 words
    assert near_verbatim_recall(WORK, [short], min_words=20).recall == 0.0
    block = " ".join(WORK_WORDS[50:80])
    once = near_verbatim_recall(WORK, [block], min_words=20).recall
    assert near_verbatim_recall(WORK, [block, block + " " + block], min_words=20).recall == once


def test_greedy_longest_first_within_one_output() -> None:
    # the output holds work[0:40] then work[30:60]: the longer block is kept whole, the
    # overlapping shorter one only where it does not overlap it in the output
    out = " ".join(WORK_WORDS[0:40] + WORK_WORDS[30:60])
    r = near_verbatim_recall(WORK, [out], min_words=20)
    assert [b.words for b in r.blocks] == [40, 30]
    assert r.merged == (span(0, 60),)


def test_the_given_seed_is_not_recall() -> None:
    seed_end = span(0, 10)[1]
    out = " ".join(WORK_WORDS[0:50])
    r = near_verbatim_recall(WORK, [out], min_words=20, given=seed_end)
    assert r.recall == pytest.approx((span(0, 50)[1] - seed_end) / (len(WORK) - seed_end))
