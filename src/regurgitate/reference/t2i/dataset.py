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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tools.reference_build.drawing import bilinear

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
SUPERSAMPLE = 4
TEXTURE = 0.5  # amplitude of the smooth random colour field
GRADIENT = 0.6  # how far the background's far side may drift from its colour
JITTER = 0.15  # colour jitter of the background and the shape


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


def _shape_mask(kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float,
                r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
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
    return np.asarray(np.abs(dy) + np.abs(dx) <= r * 1.1)  # diamond


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


def load_t2i_set(folder: Path) -> T2ISet:
    """Read back what :func:`save_t2i_set` wrote."""
    with np.load(folder / "images.npz") as data:
        pixels = np.asarray(data["pixels"])
    manifest = json.loads((folder / "manifest.json").read_text())
    records = tuple(T2IRecord(**r) for r in manifest["images"])
    return T2ISet(pixels=pixels, records=records, spec=T2ISetSpec(**manifest["spec"]))
