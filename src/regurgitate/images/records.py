"""Typed records of the image side: training images as read, and nearest-neighbour answers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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


class PlantedRecord(Protocol):
    """What a bundled reference set records of each image (its manifest row): ``duplicates``
    is its count in the training stream (0: held out), ``split`` "train" or "heldout"."""

    @property
    def id(self) -> str: ...
    @property
    def caption(self) -> str: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def split(self) -> str: ...


def planted_images(pixels: Iterable[np.ndarray], records: Iterable[PlantedRecord],
                   include_heldout: bool = True) -> Iterator[SourceImage]:
    """A bundled reference set as index input: ``count`` is each image's duplicate count in the
    training stream, and held-out images are indexed too (``count`` 0, ``meta.split =
    "heldout"``), so that a scan can show that no generation ever lands on one of them."""
    for px, rec in zip(pixels, records, strict=True):
        if rec.split == "heldout" and not include_heldout:
            continue
        yield SourceImage(id=rec.id, caption=rec.caption, pixels=px, count=rec.duplicates,
                          meta={"split": rec.split, "duplicates": rec.duplicates})


#: the prompt meta key of an image-to-image prompt's starting image (base64 PNG)
INIT_IMAGE = "init_image"


def starts_from_image(meta: dict[str, Any]) -> bool:
    """Whether a prompt asks for image-to-image from a given image (the img2img attack).

    Such an output starts from a training (or user) image, so being close to it is by
    construction: the copy, clique and similarity detectors leave it to the img2img
    reconstruction detector, and extraction figures count generations from noise only."""
    return bool(meta.get(INIT_IMAGE))


def generated_images(items: Sequence[Any]) -> list[Any]:
    """The items whose generation is an image the model made from text: ok, with an image,
    not an img2img prompt (which starts from a training image, so its likeness to one says
    nothing by itself)."""
    return [it for it in items if it.generation.ok and it.generation.image
            and not starts_from_image(it.prompt.meta)]
