"""Carlini et al.'s tiled L2 distance between images, vectorised with numpy.

"Extracting Training Data from Diffusion Models" (Carlini et al., 2023) calls a generation an
extracted copy of a training image when their distance is at most delta. The distance is the
normalised L2 distance, ``sqrt(mean((a - b) ** 2))`` on pixels scaled to [0, 1], computed on each of
the tiles of a ``grid x grid`` partition of the (resized) images, of which the *largest* counts:
a copy must match everywhere, not just on average. For Stable Diffusion they split 512x512 images
into 16 tiles of 128x128 (``grid=4``) and use delta = 0.15, the defaults here.

Because the mean of the squared tile distances is the squared whole-image distance, the
whole-image normalised L2 is a lower bound of the tiled one; the index uses that to fetch all
candidates within the threshold exactly with one range search, then re-ranks them with this module.
"""

from __future__ import annotations

import numpy as np

from regurgitate.errors import ConfigError

DEFAULT_THRESHOLD = 0.15
DEFAULT_GRID = 4


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0, 1]) N x H x W x C pixels as float32 in [0, 1]."""
    arr = np.asarray(pixels)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return arr.astype(np.float32)


def tile_sq_means(images: np.ndarray, grid: int = DEFAULT_GRID) -> np.ndarray:
    """Split N x H x W x C images into grid x grid tiles; returns N x T x D tile vectors."""
    n, h, w, c = images.shape
    if h % grid or w % grid:
        raise ConfigError(f"images of {h}x{w} do not split into {grid}x{grid} equal tiles",
                          hint="resize them to a multiple of the grid first")
    th, tw = h // grid, w // grid
    tiles = images.reshape(n, grid, th, grid, tw, c).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(tiles.reshape(n, grid * grid, th * tw * c))


def tiled_l2(a: np.ndarray, b: np.ndarray, grid: int = DEFAULT_GRID) -> np.ndarray:
    """Tiled L2 distance of each row of ``a`` to each row of ``b``: an len(a) x len(b) matrix.

    ``a`` and ``b`` are N x H x W x C arrays of the same H, W, C (uint8 or floats in [0, 1]).
    """
    ta = tile_sq_means(to_unit(a), grid).astype(np.float64)
    tb = tile_sq_means(to_unit(b), grid).astype(np.float64)
    d = ta.shape[2]
    # per tile: |x|^2 + |y|^2 - 2 x.y, batched over tiles (T x Na x Nb)
    na = np.einsum("ntd,ntd->tn", ta, ta)
    nb = np.einsum("ntd,ntd->tn", tb, tb)
    cross = np.einsum("atd,btd->tab", ta, tb)
    sq = np.maximum(na[:, :, None] + nb[:, None, :] - 2 * cross, 0.0) / d
    return np.asarray(np.sqrt(sq.max(axis=0)), dtype=np.float32)


def whole_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Normalised L2 of the whole images (a lower bound of :func:`tiled_l2`)."""
    return tiled_l2(a, b, grid=1)
