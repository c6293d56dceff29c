"""Typed records of the image side: training images as read, and nearest-neighbour answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SourceImage:
    """One training image as a reader yields it (pixels uint8, H x W x 3).

    ``count`` is how many times the image occurs in the training data when the source says so
    (default 1); caption duplicate counts are summed from it.
    """

    id: str
    caption: str
    pixels: np.ndarray
    count: int = 1
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Neighbor:
    """A training image near a generation.

    ``distance`` is Carlini's tiled L2 (lower is closer), ``whole`` the whole-image normalised
    L2, ``phash_bits`` the Hamming distance of the perceptual hashes, ``similarity`` the
    copy-detection cosine when the index has embeddings.
    """

    row: int
    id: str
    caption: str
    distance: float
    whole: float
    phash_bits: int
    similarity: float | None = None
    within: bool = False
