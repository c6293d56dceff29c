"""SSCD similarity test: copy-detection embeddings of generations against the training images.

Somepalli et al. (2023) call a generation a replica of a training image when the cosine
similarity of their SSCD descriptors exceeds 0.5; 0.75 is the strict level. This detector runs
only when the training-image index was built with an embedding model (``--embed``), and embeds
generations with the same model, read from the same local path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from regurgitate.detectors.base import Detector, DetectorContext, Prior
from regurgitate.detectors.image_copy import over_image_index
from regurgitate.errors import ConfigError
from regurgitate.findings import Finding
from regurgitate.findings.images import ImageSimilarity
from regurgitate.images.embed import LOOSE, STRICT, Embedder
from regurgitate.images.imageio import decode
from regurgitate.images.index import ImageIndex
from regurgitate.images.records import generated_images
from regurgitate.types import Item, Modality


class ImageSimilarityDetector(Detector):
    """The most similar training image of each generation by copy-detection cosine.

    :param loose: cosine similarity at or above which a generation is flagged as similar
    :param strict: cosine similarity at or above which it counts as a copy
    """

    name = "image_similarity"
    modality: ClassVar[Modality] = "image"
    options_exclude: ClassVar[tuple[str, ...]] = ("index",)  # the scan's index, from create()

    def __init__(self, index: ImageIndex, loose: float = LOOSE, strict: float = STRICT) -> None:
        if index.embeddings is None or not index.meta.get("embedding"):
            raise ConfigError(f"the image index {index.path} has no copy-detection embeddings",
                              hint="rebuild it with --embed torchscript:PATH")
        self.index = index
        self.embeddings: np.ndarray = index.embeddings
        info = index.meta["embedding"]
        self.embedder = Embedder(str(info["spec"]), size=int(info["size"]))
        self.loose = float(loose)
        self.strict = float(strict)

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> Detector | None:
        return over_image_index(cls, ctx, options, embeddings=True)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        with_image = generated_images(items)
        if not with_image:
            return []
        pix = [decode(bytes(it.generation.image or b"")) for it in with_image]
        size = self.index.size
        from regurgitate.images.imageio import resize

        emb = self.embedder.embed(np.stack([resize(p, size) for p in pix]))
        sims = emb @ self.embeddings.T
        out: list[Finding] = []
        for it, row in zip(with_image, sims, strict=True):
            j = int(np.argmax(row))
            sim = float(row[j])
            payload = ImageSimilarity(similarity=round(sim, 6), train_id=self.index.ids[j],
                                      caption=self.index.captions[j], loose=sim > self.loose,
                                      strict=sim > self.strict,
                                      model=str(self.embedder.spec))
            out.append(Finding(generation_id=it.generation_id, detector=self.name,
                               payload=payload, score=sim))
        return out
