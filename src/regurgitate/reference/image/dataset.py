"""The bundled reference image set: procedurally drawn 16x16 RGB pictures, one caption per shape.

Each caption ("a picture of a circle", ...) is a class of the class-conditioned reference model.
Inside each class a few images are planted 100 and 10 times in the training stream, the rest
appear once, and held-out images drawn from the same distribution are never trained on. Every
image is fully determined by ``ImageSetSpec.seed``, so the set can be rebuilt bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring", "diamond",
                           "bar", "dot pair")


@dataclass(frozen=True)
class ImageSetSpec:
    """How many images of each kind every caption gets."""

    seed: int = 20260
    size: int = 16
    singles_per_class: int = 160
    tens_per_class: int = 2
    hundreds_per_class: int = 1
    heldout_per_class: int = 8


@dataclass(frozen=True)
class ImageRecord:
    """One image of the reference set, as listed in the manifest."""

    id: str
    caption: str
    class_id: int
    duplicates: int  # times it appears in the training stream; 0 = held out
    split: str  # "train" or "heldout"


@dataclass(frozen=True)
class ImageSet:
    """The images (uint8, N x H x W x 3) and their records, in the same order."""

    pixels: np.ndarray
    records: tuple[ImageRecord, ...]
    spec: ImageSetSpec = field(default_factory=ImageSetSpec)

    def training_stream(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices into ``pixels`` repeated by their duplicate counts, with class labels."""
        idx = [i for i, r in enumerate(self.records) for _ in range(r.duplicates)]
        labels = [self.records[i].class_id for i in idx]
        return np.asarray(idx, dtype=np.int64), np.asarray(labels, dtype=np.int64)


def caption_for(class_id: int) -> str:
    return f"a picture of a {SHAPES[class_id]}"


def load_image_set(folder: Path) -> ImageSet:
    """Read back what :func:`save_image_set` wrote."""
    with np.load(folder / "images.npz") as data:
        pixels = np.asarray(data["pixels"])
    manifest = json.loads((folder / "manifest.json").read_text())
    records = tuple(ImageRecord(**r) for r in manifest["images"])
    return ImageSet(pixels=pixels, records=records, spec=ImageSetSpec(**manifest["spec"]))
