"""Clique detector: many generations of one prompt collapsing onto the same image.

Carlini et al. flag a prompt as memorized, without any training data, when at least ``k`` of its
``N`` generations are within the tiled-L2 threshold of *each other* (they generated 500 images
per prompt and asked for cliques of 10). The largest such clique per prompt is found greedily:
start from the generation with the most close neighbours and keep adding the closest one that is
close to every member. Every member gets an :class:`ImageClique` finding.

This detector needs all generations of a prompt at once (``groups = True``): the pipeline
(:mod:`regurgitate.scan.pipeline`) runs it on each prompt's full set once that set is complete, in
the run
that completes it (a resumed one included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from regurgitate.detectors.base import Detector, DetectorContext, Prior
from regurgitate.findings import Finding
from regurgitate.findings.images import ImageClique
from regurgitate.images.distance import DEFAULT_THRESHOLD, tiled_l2
from regurgitate.images.imageio import decode, resize, sha256
from regurgitate.images.records import starts_from_image
from regurgitate.options import convert_options
from regurgitate.types import Item, Modality


def greedy_clique(close: np.ndarray) -> list[int]:
    """A large clique of the boolean adjacency matrix ``close`` (diagonal ignored)."""
    n = close.shape[0]
    if n == 0:
        return []
    adj = close.copy()
    np.fill_diagonal(adj, False)
    degree = adj.sum(axis=1)
    best: list[int] = []
    for start in np.argsort(-degree, kind="stable")[: min(n, 8)]:
        members = [int(start)]
        cand = set(np.flatnonzero(adj[start]).tolist())
        while cand:
            nxt = max(cand, key=lambda j: (int(adj[j, list(cand)].sum()), -j))
            members.append(nxt)
            cand &= set(np.flatnonzero(adj[nxt]).tolist())
        if len(members) > len(best):
            best = members
    return sorted(best)


class ImageCliqueDetector(Detector):
    """Finds cliques of near-identical generations among the generations of each prompt.

    :param k: the smallest clique of one prompt's generations that is reported
    :param threshold: tiled-L2 distance within which two generations count as near-identical
    :param size: side in pixels the images are resized to before comparing
    :param grid: tiles per side of the tiled-L2 distance
    """

    name = "image_clique"
    modality: ClassVar[Modality] = "image"
    groups: ClassVar[bool] = True

    def __init__(self, k: int = 10, threshold: float = DEFAULT_THRESHOLD, size: int = 64,
                 grid: int = 4) -> None:
        self.k = int(k)
        self.threshold = float(threshold)
        self.size = int(size)
        self.grid = int(grid)

    @classmethod
    def create(cls, ctx: DetectorContext, options: Mapping[str, Any]) -> Detector | None:
        """Only with a training-image index (its threshold, size and grid are the defaults)."""
        index = ctx.image_index
        if index is None:
            return None
        opts: dict[str, Any] = {"threshold": index.threshold, "size": index.size,
                                "grid": int(index.meta["grid"])}
        opts.update(convert_options(cls, options, owner=f"the {cls.name} detector"))
        return cls(**opts)

    def detect(self, items: Sequence[Item], prior: Prior) -> list[Finding]:
        groups: dict[str, list[Item]] = {}
        for it in items:
            if it.generation.ok and it.generation.image and \
                    not starts_from_image(it.prompt.meta):
                groups.setdefault(it.prompt.as_text(), []).append(it)
        out: list[Finding] = []
        for prompt, members in groups.items():
            if len(members) < self.k:
                continue
            blobs = [bytes(it.generation.image or b"") for it in members]
            pix = np.stack([resize(decode(b), self.size) for b in blobs])
            close = tiled_l2(pix, pix, self.grid) <= self.threshold
            clique = greedy_clique(close)
            if len(clique) < self.k:
                continue
            ids = tuple(members[i].generation_id for i in clique)
            for i in clique:
                payload = ImageClique(prompt=prompt, size=len(clique), k=self.k,
                                      of=len(members), threshold=self.threshold, members=ids,
                                      image_sha256=sha256(blobs[i]))
                out.append(Finding(generation_id=members[i].generation_id, detector=self.name,
                                   payload=payload, score=float(len(clique))))
        return out
