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


def plain_shape(kind: str, dy: np.ndarray, dx: np.ndarray, r: float) -> np.ndarray | None:
    """The mask of a shape drawn without randomness (circle, square, triangle, cross, ring,
    diamond) of size ``r`` at offsets ``dy``/``dx`` from its centre; None for other kinds."""
    if kind == "circle":
        return np.asarray(dy**2 + dx**2 <= r**2)
    if kind == "square":
        return np.asarray((np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85))
    if kind == "triangle":
        return np.asarray((dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6))
    if kind == "cross":
        w = r * 0.35
        return np.asarray(((np.abs(dy) <= w) & (np.abs(dx) <= r))
                          | ((np.abs(dx) <= w) & (np.abs(dy) <= r)))
    if kind == "ring":
        d = dy**2 + dx**2
        return np.asarray((d <= r**2) & (d >= (r * 0.55) ** 2))
    if kind == "diamond":
        return np.asarray(np.abs(dy) + np.abs(dx) <= r * 1.1)
    return None
