"""Carlini et al.'s extraction attack on diffusion models: many seeds for duplicated captions.

"Extracting Training Data from Diffusion Models" (2023) generated hundreds of images for each of
the training captions whose images were most duplicated, then looked for generations that are
near-copies of a training image (or, without the training set, for cliques of near-identical
generations). This attack asks ``per_caption`` images, each with its own seed, for each of the
``captions`` most duplicated captions of the training-image index (all of them with 0).
``per_count`` keeps at most that many captions of each duplicate count (in caption order), so
that a few once-seen and held-out captions can be probed next to the duplicated ones.
Prompt ids and seeds depend only on the caption and the position, so a scan resumes exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Modality, Prompt


def caption_key(caption: str) -> str:
    return hashlib.sha256(caption.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class CarliniAttack(Attack):
    """N generations per caption, most duplicated captions first."""

    #: the attack name stored with its prompts
    name: str = "carlini"
    modality: ClassVar[Modality] = "image"
    default_order: ClassVar[int | None] = 10
    needs_index: ClassVar[bool] = True

    #: generations per caption
    per_caption: int = 16
    #: how many captions, most duplicated first (0: all)
    captions: int = 0
    #: at most this many captions of each duplicate count, before ``captions`` (0: no limit)
    per_count: int = 0
    #: denoising steps per image
    steps: int = 50
    #: classifier-free guidance scale (none: the target's own)
    guidance_scale: float | None = None
    #: added to the scan's seed for the per-image seeds
    seed: int = 0

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        index = ctx.require_image_index(self.name)
        if self.per_caption < 1:
            raise ConfigError("carlini.per_caption must be at least 1")
        ranking = index.caption_ranking()
        if self.per_count > 0:
            taken: dict[int, int] = {}
            kept = []
            for caption, count in ranking:
                taken[count] = taken.get(count, 0) + 1
                if taken[count] <= self.per_count:
                    kept.append((caption, count))
            ranking = kept
        if self.captions > 0:
            ranking = ranking[:self.captions]
        meta_base: dict[str, Any] = {"steps": self.steps}
        if self.guidance_scale is not None:
            meta_base["guidance_scale"] = self.guidance_scale
        out: list[Prompt] = []
        for rank, (caption, count) in enumerate(ranking):
            key = caption_key(caption)
            base = int(key[:8], 16)
            for i in range(self.per_caption):
                seed = (base + 7919 * i + 104729 * (self.seed + ctx.seed)) % (2**31 - 1)
                settings = GenerationSettings(max_new_tokens=0, seed=seed, logprobs=False)
                out.append(Prompt(id=f"{self.name}:{key}:{i}", attack=self.name, text=caption,
                                  settings=settings,
                                  meta={**meta_base, "caption_count": count,
                                        "caption_rank": rank, "sample": i}))
        return out
