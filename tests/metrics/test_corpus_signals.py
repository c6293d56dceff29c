"""DC-PDD and ReCaLL formulas, token counts from a real index, frequency files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from regurgitate.corpus.tokenizer import ByteTokenizer
from regurgitate.errors import ConfigError
from regurgitate.index import CorpusIndex, build_index
from regurgitate.metrics.corpus_signals import (
    dc_pdd,
    first_occurrences,
    index_token_counts,
    read_frequency_file,
    recall_score,
    smoothed_frequencies,
    write_frequency_file,
)
from regurgitate.types import Document


def test_smoothed_frequencies_add_one():
    f = smoothed_frequencies([3, 0, 1])
    assert f == pytest.approx([4 / 7, 1 / 7, 2 / 7])
    assert f.sum() == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        smoothed_frequencies([-1, 2])


def test_dc_pdd_by_hand_first_occurrences_and_clip():
    freqs = np.array([0.5, 0.25, 0.125, 0.125])
    ids = [1, 2, 1, 3, 2]
    lp = np.log([0.001, 0.002, 0.9, 0.5, 0.9])
    assert first_occurrences(ids).tolist() == [0, 1, 3]
    # first occurrences: token 1 (p .001), token 2 (p .002), token 3 (p .5, clipped)
    c = [0.001 * math.log(4), 0.002 * math.log(8), min(0.5 * math.log(8), 0.01)]
    assert dc_pdd(ids, lp, freqs, a=0.01) == pytest.approx(np.mean(c))
    assert dc_pdd(ids, lp, freqs, a=10.0) == pytest.approx(
        np.mean([0.001 * math.log(4), 0.002 * math.log(8), 0.5 * math.log(8)]))
    with pytest.raises(ConfigError, match="outside the frequency table"):
        dc_pdd([9], [-1.0], freqs)
    with pytest.raises(ConfigError):
        dc_pdd([1, 2], [-1.0], freqs)


def test_recall_is_the_ratio_of_mean_log_likelihoods():
    assert recall_score([-3.0, -5.0], [-2.0, -2.0]) == pytest.approx(2.0)
    with pytest.raises(ConfigError):
        recall_score([-1.0], [])


def test_token_counts_from_a_real_index_and_a_frequency_file(tmp_path: Path):
    docs = ["abca", "bb", "c"]
    build_index([Document(d) for d in docs], tmp_path / "ix", ByteTokenizer())
    index = CorpusIndex.open(tmp_path / "ix")
    counts = index_token_counts(index)
    assert counts[ord("a")] == 2 and counts[ord("b")] == 3 and counts[ord("c")] == 2
    assert counts.sum() == index.num_tokens == 7
    path = tmp_path / "freq.json"
    write_frequency_file(path, counts, "test")
    assert read_frequency_file(path).tolist() == counts.tolist()
    path.write_text(json.dumps({"counts": ["x"]}))
    with pytest.raises(ConfigError, match="no list of token counts"):
        read_frequency_file(path)
