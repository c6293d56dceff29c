"""Drawing and saving the bundled text-to-image reference set (the build side of
:mod:`regurgitate.reference.t2i.dataset`); the set is fully determined by ``T2ISetSpec.seed``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from regurgitate.reference.t2i.dataset import (
    COLOURS,
    POSITIONS,
    SIZES,
    CaptionParts,
    T2IRecord,
    T2ISet,
    T2ISetSpec,
    all_captions,
)
from tools.reference_build.drawing import bilinear, plain_shape

SUPERSAMPLE = 4


TEXTURE = 0.5  # amplitude of the smooth random colour field


GRADIENT = 0.6  # how far the background's far side may drift from its colour


JITTER = 0.15  # colour jitter of the background and the shape


def _shape_mask(kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float,
                r: float) -> np.ndarray:
    mask = plain_shape(kind, yy - cy, xx - cx, r)
    if mask is None:
        raise ValueError(f"unknown shape {kind!r}")
    return mask


def draw_image(parts: CaptionParts, size: int, rng: np.random.Generator) -> np.ndarray:
    """One picture of what ``parts`` says, details from ``rng`` (uint8, H x W x 3)."""
    n = size * SUPERSAMPLE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) / n
    base = np.asarray(COLOURS[parts.background]) + rng.uniform(-JITTER, JITTER, size=3)
    far = base + rng.uniform(-GRADIENT, GRADIENT, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) / np.sqrt(2) + 0.5
    img = base[None, None, :] * (1 - t[..., None]) + far[None, None, :] * t[..., None]
    img = img + bilinear(rng.uniform(-TEXTURE, TEXTURE, size=(4, 4, 3)), n)
    cy, cx = np.asarray(POSITIONS[parts.position]) + rng.uniform(-0.06, 0.06, size=2)
    r = SIZES[parts.size] * rng.uniform(0.85, 1.15)
    colour = np.asarray(COLOURS[parts.colour]) + rng.uniform(-JITTER, JITTER, size=3)
    img[_shape_mask(parts.shape, yy, xx, cy, cx, r)] = colour
    img = np.clip(img, 0.0, 1.0)
    small = img.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.asarray(np.clip(np.round(small * 255), 0, 255), dtype=np.uint8)


def build_t2i_set(spec: T2ISetSpec | None = None) -> T2ISet:
    """Draw every image of the set (deterministic for a given spec)."""
    spec = spec or T2ISetSpec()
    rng = np.random.default_rng(spec.seed)
    pool = all_captions()
    kinds = (("x100", spec.hundreds, 100, "train"), ("x10", spec.tens, 10, "train"),
             ("x1", spec.singles, 1, "train"), ("heldout", spec.heldout, 0, "heldout"))
    total = sum(k[1] for k in kinds)
    if total > len(pool):
        raise ValueError(f"{total} images need more than the {len(pool)} distinct captions")
    order = rng.permutation(len(pool))[:total]
    pixels: list[np.ndarray] = []
    records: list[T2IRecord] = []
    pos = 0
    for tag, count, dups, split in kinds:
        for j in range(count):
            parts = pool[int(order[pos])]
            pos += 1
            pixels.append(draw_image(parts, spec.size, rng))
            records.append(T2IRecord(id=f"t2i-{tag}-{j:03d}", caption=parts.text(),
                                     duplicates=dups, split=split))
    return T2ISet(pixels=np.stack(pixels), records=tuple(records), spec=spec)


def extra_images(count: int, size: int, seed: int) -> np.ndarray:
    """Fresh draws from the same distribution, in no manifest (to train the autoencoder)."""
    rng = np.random.default_rng(seed)
    pool = all_captions()
    picks = rng.integers(0, len(pool), size=count)
    return np.stack([draw_image(pool[int(i)], size, rng) for i in picks])


def save_t2i_set(images: T2ISet, out: Path) -> Path:
    """Write ``images.npz`` (pixels) and ``manifest.json`` (records + spec) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "images.npz", pixels=images.pixels)
    manifest = {"spec": asdict(images.spec), "images": [asdict(r) for r in images.records]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return out
