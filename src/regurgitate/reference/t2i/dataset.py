"""The bundled text-to-image reference set: procedurally drawn 32x32 RGB pictures, one caption each.

Every image has its own compositional caption ("a small red circle on a blue background at the
top left"): the caption fixes the shape, its colour and size, the background colour and the
position; a seeded rng draws the rest (exact place and size, colour jitter, a background
gradient and a smooth colour field), so two images with the same caption words still differ.
A few images are planted 100 and 10 times in the training stream, most appear once, and
held-out images (captions never trained on) come from the same distribution. All captions are
distinct. The set is fully determined by ``T2ISetSpec.seed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring", "diamond")


COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.1), "green": (0.15, 0.7, 0.2), "blue": (0.12, 0.25, 0.85),
    "yellow": (0.92, 0.85, 0.15), "purple": (0.55, 0.2, 0.7), "orange": (0.95, 0.55, 0.1),
    "white": (0.93, 0.93, 0.93), "black": (0.08, 0.08, 0.08),
}


SIZES: dict[str, float] = {"small": 0.14, "large": 0.26}


POSITIONS: dict[str, tuple[float, float]] = {  # (y, x) of the shape's centre, 0..1
    "top left": (0.3, 0.3), "top right": (0.3, 0.7), "bottom left": (0.7, 0.3),
    "bottom right": (0.7, 0.7), "centre": (0.5, 0.5),
}


@dataclass(frozen=True)
class CaptionParts:
    size: str
    colour: str
    shape: str
    background: str
    position: str

    def text(self) -> str:
        return (f"a {self.size} {self.colour} {self.shape} on a {self.background} background "
                f"at the {self.position}")


@dataclass(frozen=True)
class T2ISetSpec:
    """How many images of each kind the set holds."""

    seed: int = 20261
    size: int = 32
    hundreds: int = 8
    tens: int = 16
    singles: int = 600
    heldout: int = 64


@dataclass(frozen=True)
class T2IRecord:
    """One image of the set, as listed in the manifest."""

    id: str
    caption: str
    duplicates: int  # times it appears in the training stream; 0 = held out
    split: str  # "train" or "heldout"


@dataclass(frozen=True)
class T2ISet:
    """The images (uint8, N x H x W x 3) and their records, in the same order."""

    pixels: np.ndarray
    records: tuple[T2IRecord, ...]
    spec: T2ISetSpec = field(default_factory=T2ISetSpec)

    def training_stream(self) -> np.ndarray:
        """Indices into ``pixels`` repeated by their duplicate counts (held-out: never)."""
        return np.asarray([i for i, r in enumerate(self.records) for _ in range(r.duplicates)],
                          dtype=np.int64)

    def rows(self, duplicates: int) -> list[int]:
        return [i for i, r in enumerate(self.records) if r.duplicates == duplicates]


def all_captions() -> list[CaptionParts]:
    """Every caption the vocabulary can say (shape colour differs from the background)."""
    return [CaptionParts(s, c, sh, b, p) for s in SIZES for c in COLOURS for sh in SHAPES
            for b in COLOURS if b != c for p in POSITIONS]


def caption_words() -> list[str]:
    """The words captions are made of (for the tokenizer)."""
    words = {"a", "on", "background", "at", "the", *SHAPES, *COLOURS, *SIZES}
    for pos in POSITIONS:
        words.update(pos.split())
    return sorted(words)


def load_t2i_set(folder: Path) -> T2ISet:
    """Read back what :func:`save_t2i_set` wrote."""
    with np.load(folder / "images.npz") as data:
        pixels = np.asarray(data["pixels"])
    manifest = json.loads((folder / "manifest.json").read_text())
    records = tuple(T2IRecord(**r) for r in manifest["images"])
    return T2ISet(pixels=pixels, records=records, spec=T2ISetSpec(**manifest["spec"]))
