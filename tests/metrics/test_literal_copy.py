"""CopyBench's literal-copy measure: the best same-length window, scored exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rapidfuzz.distance import LCSseq

from regurgitate.metrics.literal_copy import _window_lcs, best_window_rouge_l
from regurgitate.metrics.similarity import rouge_l


def _brute(text: str, source: str) -> float:
    n, sw = len(text.split()), source.split()
    if len(sw) <= n:
        return rouge_l(text, source)
    return max(rouge_l(text, " ".join(sw[i:i + n])) for i in range(len(sw) - n + 1))


def test_every_window_is_scored_exactly_as_rouge_l_would() -> None:
    rng = random.Random(5)
    for _ in range(400):
        vocab = [f"w{i}" for i in range(rng.randrange(2, 7))]
        text = " ".join(rng.choice(vocab) for _ in range(rng.randrange(1, 9)))
        source = " ".join(rng.choice(vocab) for _ in range(rng.randrange(1, 25)))
        got = best_window_rouge_l(text, source)
        assert got.exact and got.rouge_l == pytest.approx(_brute(text, source), abs=1e-12)
        window = source.split()[got.window_start:got.window_start + got.window_words]
        assert rouge_l(text, " ".join(window)) == pytest.approx(got.rouge_l, abs=1e-12)


def test_the_compiled_seaweed_scores_every_window_as_lcs_does() -> None:
    """The numba kernel (texts of over SMALL_TEXT_WORDS words) on small random cases."""
    rng = random.Random(8)
    for _ in range(300):
        a = np.array([rng.randrange(4) for _ in range(rng.randrange(1, 9))], dtype=np.int64)
        b = np.array([rng.randrange(4) for _ in range(rng.randrange(a.size, 25))],
                     dtype=np.int64)
        want = [LCSseq.similarity(a.tolist(), b[i:i + a.size].tolist())
                for i in range(b.size - a.size + 1)]
        assert _window_lcs(a, b, a.size).tolist() == want


def test_the_copied_window_is_found_inside_a_long_work() -> None:
    rng = random.Random(9)
    work = [f"word{rng.randrange(5000)}" for _ in range(6000)]
    text = work[4100:4400]
    text[::5] = ["changed"] * len(text[::5])  # every 5th word edited
    got = best_window_rouge_l(" ".join(text), " ".join(work))
    assert got.exact and got.window_start == 4100 and got.window_words == 300
    assert got.rouge_l == pytest.approx(0.8)


def test_past_the_cell_budget_the_figure_is_a_labelled_lower_bound() -> None:
    rng = random.Random(3)
    source = " ".join(f"v{rng.randrange(50)}" for _ in range(3000))
    text = " ".join(f"v{rng.randrange(50)}" for _ in range(200))
    exact = best_window_rouge_l(text, source)
    sampled = best_window_rouge_l(text, source, cell_budget=1000)
    assert exact.exact and not sampled.exact
    assert 0 < sampled.rouge_l <= exact.rouge_l


def test_empty_sides() -> None:
    assert best_window_rouge_l("", "").rouge_l == 1.0
    assert best_window_rouge_l("a b", "").rouge_l == 0.0
    assert best_window_rouge_l("a b c d", "b c").rouge_l == pytest.approx(2 / 3)
