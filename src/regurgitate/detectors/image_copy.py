"""Extracted-copy detector: is a generated image a near-copy of a training image?

Carlini et al. (2023): a generation is an extracted copy of a training image when their tiled L2
distance is at most delta (0.15 by default; see :mod:`regurgitate.images.distance`). Each
generated image gets one :class:`ImageCopy` finding: the verdict, every training image within
the threshold (id, caption, distances, duplicate counts) and the nearest ``k`` for the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from regurgitate.detectors.base import Detector, DetectorContext, Prior
from regurgitate.findings import Finding
from regurgitate.findings.images import ImageCopy, NearImage
from regurgitate.images.imageio import decode, sha256
from regurgitate.images.index import ImageIndex
from regurgitate.images.records import Neighbor, generated_images
from regurgitate.options import convert_options
from regurgitate.types import Item, Modality


def near_image(index: ImageIndex, n: Neighbor) -> NearImage:
    meta = index.metas[n.row]
    return NearImage(train_id=n.id, caption=n.caption, distance=round(n.distance, 6),
                     whole_distance=round(n.whole, 6), phash_bits=n.phash_bits,
                     count=int(index.counts[n.row]),
                     caption_count=int(index.caption_counts[n.row]),
                     split=str(meta.get("split", "train")),
                     similarity=None if n.similarity is None else round(n.similarity, 6))



def over_image_index(cls: Any, ctx: DetectorContext, options: Mapping[str, Any], *,
                     embeddings: bool = False) -> Detector | None:
    """``cls(index, **options)`` over the scan's training-image index, or None without one
    (or, with ``embeddings``, without its embeddings): the ``create`` of the detectors that
    compare each generated image with the training images."""
    index = ctx.image_index
    if index is None or (embeddings and index.embeddings is None):
        return None
    detector: Detector = cls(index, **convert_options(cls, options,
                                                       owner=f"the {cls.name} detector", skip=1))
    return detector


class ImageCopyDetector(Detector):
    """Compares each generated image with the training-image index.

    :param threshold: tiled-L2 distance within which a training image counts as copied
        (none for the index's own)
    :param k: nearest training images kept per generation for the report
    """

    name = "image_copy"
    modality: ClassVar[Modality] = "image"
    options_exclude: ClassVar[tuple[str, ...]] = ("index",)  # the scan's index, from create()

    def __init__(self, index: ImageIndex, threshold: float | None = None, k: int = 3) -> None:
        self.index = index
        self.threshold = index.threshold if threshold is None else float(threshold)
        self.k = int(k)

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> Detector | None:
        return over_image_index(cls, ctx, options)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        with_image = generated_images(items)
        if not with_image:
            return []
        blobs = [bytes(it.generation.image or b"") for it in with_image]
        answers = self.index.query([decode(b) for b in blobs], k=self.k,
                                   threshold=self.threshold)
        out: list[Finding] = []
        for it, blob, found in zip(with_image, blobs, answers, strict=True):
            near = tuple(near_image(self.index, n) for n in found)
            matches = tuple(n for n, f in zip(near, found, strict=True) if f.within)
            best = near[0].distance if near else float("inf")
            payload = ImageCopy(extracted=bool(matches), distance=best,
                                threshold=self.threshold, image_sha256=sha256(blob),
                                matches=matches, nearest=near[:self.k])
            out.append(Finding(generation_id=it.generation_id, detector=self.name,
                               payload=payload, score=best))
        return out
