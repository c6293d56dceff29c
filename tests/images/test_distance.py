"""Carlini's tiled L2 against a plain loop over tiles, and the lower bound the index relies on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regurgitate.errors import ConfigError
from regurgitate.images.distance import tiled_l2, whole_l2
from regurgitate.images.index import retrieval_vectors


def brute_tiled(a: np.ndarray, b: np.ndarray, grid: int) -> float:
    """max over tiles of sqrt(mean squared difference), pixels scaled to [0, 1]."""
    x, y = a.astype(np.float64) / 255, b.astype(np.float64) / 255
    h, w = x.shape[0] // grid, x.shape[1] // grid
    worst = 0.0
    for i in range(grid):
        for j in range(grid):
            d = x[i * h:(i + 1) * h, j * w:(j + 1) * w] - y[i * h:(i + 1) * h, j * w:(j + 1) * w]
            worst = max(worst, float(np.sqrt(np.mean(d ** 2))))
    return worst


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), grid=st.sampled_from([1, 2, 4]),
       size=st.sampled_from([8, 16]), n=st.integers(1, 4), m=st.integers(1, 4))
def test_tiled_l2_matches_brute_force(seed: int, grid: int, size: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(m, size, size, 3), dtype=np.uint8)
    b[0] = a[0]  # one exact copy: distance 0
    got = tiled_l2(a, b, grid)
    assert got.shape == (n, m)
    for i in range(n):
        for j in range(m):
            assert got[i, j] == pytest.approx(brute_tiled(a[i], b[j], grid), abs=1e-5)
    assert got[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_one_bad_tile_decides() -> None:
    a = np.zeros((1, 16, 16, 3), dtype=np.uint8)
    b = a.copy()
    b[0, :4, :4] = 255  # one of 16 tiles entirely different
    assert tiled_l2(a, b, 4)[0, 0] == pytest.approx(1.0)
    assert whole_l2(a, b)[0, 0] == pytest.approx(0.25)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), factor=st.sampled_from([1, 2, 4]))
def test_block_average_distance_is_a_lower_bound(seed: int, factor: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(5, 16, 16, 3), dtype=np.uint8)
    va, vb = retrieval_vectors(a, factor), retrieval_vectors(b, factor)
    low = np.sqrt(((va[:, None, :] - vb[None, :, :]) ** 2).sum(-1))
    assert np.all(low <= tiled_l2(a, b, 4) + 1e-5)


def test_grid_must_divide_the_image() -> None:
    a = np.zeros((1, 10, 10, 3), dtype=np.uint8)
    with pytest.raises(ConfigError):
        tiled_l2(a, a, 4)
