"""Drawing and saving the bundled reference image set (the build side of
:mod:`regurgitate.reference.image.dataset`): every image is fully determined by
``ImageSetSpec.seed``, so the set can be rebuilt bit for bit."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from regurgitate.reference.image.dataset import (
    SHAPES,
    ImageRecord,
    ImageSet,
    ImageSetSpec,
    caption_for,
)
from tools.reference_build.drawing import bilinear, plain_shape

SUPERSAMPLE = 4


TEXTURE = 0.4


def _shape_mask(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of one shape at a random place and size, on an n x n supersampled grid."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) / n
    cy, cx = rng.uniform(0.3, 0.7, size=2)
    r = rng.uniform(0.16, 0.32)
    dy, dx = yy - cy, xx - cx
    plain = plain_shape(kind, dy, dx, r)
    if plain is not None:
        return plain
    if kind == "bar":
        angle = rng.uniform(0, np.pi)
        along = dx * np.cos(angle) + dy * np.sin(angle)
        across = -dx * np.sin(angle) + dy * np.cos(angle)
        return np.asarray((np.abs(along) <= r * 1.3) & (np.abs(across) <= r * 0.3))
    # "dot pair": two small discs at a random offset
    oy, ox = rng.uniform(-0.25, 0.25, size=2)
    rr = r * 0.5
    return np.asarray((dy**2 + dx**2 <= rr**2) | ((dy - oy) ** 2 + (dx - ox) ** 2 <= rr**2))


def draw_image(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One picture: a two-colour gradient background and a coloured shape (uint8, H x W x 3)."""
    n = size * SUPERSAMPLE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) / n
    c0, c1 = rng.uniform(0.0, 1.0, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) / np.sqrt(2) + 0.5
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    # a smooth random colour field (4x4 knots, bilinear) makes chance look-alikes rare
    knots = rng.uniform(-TEXTURE, TEXTURE, size=(4, 4, 3))
    img = np.clip(img + bilinear(knots, n), 0.0, 1.0)
    colour = rng.uniform(0.0, 1.0, size=3)
    # keep the shape visible: push its colour away from the mean background colour
    bg = (c0 + c1) / 2
    colour = np.where(np.abs(colour - bg) < 0.35, (bg + 0.5) % 1.0, colour)
    mask = _shape_mask(kind, n, rng)
    img[mask] = colour
    small = img.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.asarray(np.clip(np.round(small * 255), 0, 255), dtype=np.uint8)


def build_image_set(spec: ImageSetSpec | None = None) -> ImageSet:
    """Draw every image of the reference set (deterministic for a given spec)."""
    spec = spec or ImageSetSpec()
    rng = np.random.default_rng(spec.seed)
    pixels: list[np.ndarray] = []
    records: list[ImageRecord] = []
    kinds = (("x100", spec.hundreds_per_class, 100, "train"),
             ("x10", spec.tens_per_class, 10, "train"),
             ("x1", spec.singles_per_class, 1, "train"),
             ("heldout", spec.heldout_per_class, 0, "heldout"))
    for class_id, shape in enumerate(SHAPES):
        for tag, count, dups, split in kinds:
            for j in range(count):
                pixels.append(draw_image(shape, spec.size, rng))
                records.append(ImageRecord(id=f"{shape.replace(' ', '-')}-{tag}-{j:03d}",
                                           caption=caption_for(class_id), class_id=class_id,
                                           duplicates=dups, split=split))
    return ImageSet(pixels=np.stack(pixels), records=tuple(records), spec=spec)


def save_image_set(images: ImageSet, out: Path) -> Path:
    """Write ``images.npz`` (pixels) and ``manifest.json`` (records + spec) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "images.npz", pixels=images.pixels)
    manifest = {"spec": asdict(images.spec), "shapes": list(SHAPES),
                "captions": [caption_for(i) for i in range(len(SHAPES))],
                "images": [asdict(r) for r in images.records]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return out
