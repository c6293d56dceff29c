"""Small numpy helpers for drawing the bundled reference pictures."""

from __future__ import annotations

import numpy as np


def bilinear(knots: np.ndarray, n: int) -> np.ndarray:
    """Upsample a k x k x C grid of knots to n x n x C by bilinear interpolation."""
    k = knots.shape[0]
    pos = np.linspace(0, k - 1, n)
    lo = np.minimum(np.floor(pos).astype(int), k - 2)
    frac = pos - lo
    rows = knots[lo] * (1 - frac)[:, None, None] + knots[lo + 1] * frac[:, None, None]
    cols = rows[:, lo] * (1 - frac)[None, :, None] + rows[:, lo + 1] * frac[None, :, None]
    return np.asarray(cols)
