"""Reconstruction detector: did an image-to-image generation give its own source image back?

For each generation of a prompt that carries an init image (the img2img attack), the tiled L2
distance (Carlini et al.; :mod:`regurgitate.images.distance`) between the output and the
source, both at the source's stored size; ``same_image`` when it is within the copy
threshold (0.15, or the index's own). With a copy-detection embedding model in the scan's
index, also their cosine. One :class:`Img2ImgReconstruction` finding per generation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from regurgitate.detectors.base import Detector, DetectorContext, Prior
from regurgitate.findings import Finding
from regurgitate.findings.images import Img2ImgReconstruction
from regurgitate.images.distance import DEFAULT_THRESHOLD, tiled_l2, whole_l2
from regurgitate.images.imageio import decode, from_base64_png, resize
from regurgitate.options import convert_options
from regurgitate.types import Item, Modality


def _grid(size: int) -> int:
    """Carlini's 4 x 4 tiles, or fewer for images too small or odd-sized to split in 4."""
    for g in (4, 2, 1):
        if size % g == 0:
            return g
    return 1


class Img2ImgReconstructionDetector(Detector):
    """Distance of each image-to-image output to its own source image."""

    name = "img2img_reconstruction"
    modality: ClassVar[Modality] = "image"
    #: the embedding model comes from the scan's index, not from --set
    options_exclude: ClassVar[tuple[str, ...]] = ("embedder",)

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, embedder: Any = None) -> None:
        """``threshold``: tiled L2 at most which an output is its source given back (the
        index's own, 0.15 by default)."""
        self.threshold = float(threshold)
        self.embedder = embedder

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> Detector | None:
        opts = convert_options(cls, options, owner=f"the {cls.name} detector",
                             exclude=cls.options_exclude)
        index = ctx.image_index
        if index is not None:
            opts.setdefault("threshold", index.threshold)
            info = index.meta.get("embedding")
            if info and index.embeddings is not None:
                from regurgitate.images.embed import Embedder

                opts["embedder"] = Embedder(str(info["spec"]), size=int(info["size"]))
        return cls(**opts)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        pairs = []
        for it in items:
            if not (it.generation.ok and it.generation.image):
                continue
            init = it.prompt.meta.get("init_image")
            if not init:
                continue
            try:
                source = from_base64_png(str(init))
                out = resize(decode(bytes(it.generation.image)), source.shape[0])
            except (OSError, ValueError):  # not an image: nothing to measure
                continue
            pairs.append((it, source, out))
        if not pairs:
            return []
        sims: list[float | None] = [None] * len(pairs)
        if self.embedder is not None:
            a = self.embedder.embed(np.stack([p[1] for p in pairs]))
            b = self.embedder.embed(np.stack([p[2] for p in pairs]))
            sims = [float(x) for x in (a * b).sum(axis=1)]
        found: list[Finding] = []
        for (it, source, out), sim in zip(pairs, sims, strict=True):
            grid = _grid(source.shape[0])
            dist = float(tiled_l2(out[None], source[None], grid)[0, 0])
            whole = float(whole_l2(out[None], source[None])[0, 0])
            meta = it.prompt.meta
            payload = Img2ImgReconstruction(
                source_id=str(meta.get("source_id", "")), caption=it.prompt.as_text(),
                duplicates=int(meta.get("duplicates", 0)), split=str(meta.get("split", "")),
                strength=float(meta.get("strength", 0.0)), distance=round(dist, 6),
                whole_distance=round(whole, 6), threshold=self.threshold,
                same_image=dist <= self.threshold,
                similarity=None if sim is None else round(sim, 6),
                model=str(self.embedder.spec) if self.embedder is not None else "")
            found.append(Finding(generation_id=it.generation_id, detector=self.name,
                                 payload=payload, score=dist))
        return found
