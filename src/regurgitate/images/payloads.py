"""Typed finding payloads of the image detectors (stored with their ``kind`` and ``version``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regurgitate.findings import Payload


@dataclass(frozen=True)
class NearImage:
    """A training image near a generation: its id, caption and distances."""

    train_id: str
    caption: str
    distance: float  # Carlini's tiled L2
    whole_distance: float  # normalised L2 of the whole image
    phash_bits: int  # Hamming distance of the perceptual hashes (of 64)
    count: int  # times the image occurs in the training data (0: indexed but not trained on)
    caption_count: int
    split: str = "train"
    similarity: float | None = None  # copy-detection cosine, when the index has embeddings


@dataclass(frozen=True)
class ImageCopy(Payload):
    """A generation measured against the training-image index.

    ``extracted`` is true when some training image lies within ``threshold`` (tiled L2), which
    is Carlini et al.'s extraction verdict; ``matches`` lists all of those, ``nearest`` the
    closest training images (for the report), closest first. ``image_sha256`` names the
    generated PNG in the run store.
    """

    kind: ClassVar[str] = "image_copy"
    version: ClassVar[int] = 1
    extracted: bool
    distance: float
    threshold: float
    image_sha256: str
    matches: tuple[NearImage, ...] = ()
    nearest: tuple[NearImage, ...] = ()


@dataclass(frozen=True)
class ImageClique(Payload):
    """A generation in a clique: at least ``k`` generations of one prompt within ``threshold``
    of each other (tiled L2), a sign of memorization that needs no training data."""

    kind: ClassVar[str] = "image_clique"
    version: ClassVar[int] = 1
    prompt: str
    size: int
    k: int
    of: int  # generations of this prompt
    threshold: float
    members: tuple[int, ...]  # generation ids of the clique
    image_sha256: str


@dataclass(frozen=True)
class ImageSimilarity(Payload):
    """Copy-detection similarity (SSCD or CLIP cosine) of a generation to its most similar
    training image; ``loose`` (> 0.5) and ``strict`` (> 0.75) as in Somepalli et al."""

    kind: ClassVar[str] = "image_similarity"
    version: ClassVar[int] = 1
    similarity: float
    train_id: str
    caption: str
    loose: bool
    strict: bool
    model: str
