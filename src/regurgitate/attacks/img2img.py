"""Image-to-image reconstruction: start the model from a noised training image, with its caption.

A model that memorized an image tends to give it back from a partly noised copy of it, and
does so from more noise (a higher ``strength``) than for an image it never saw. For each
chosen image of the training-image index and each strength, this attack asks one
image-to-image generation with the image's caption and a fixed seed. The prompt's ``meta``
carries the source (``source_id``, ``duplicates``, ``split``), the ``strength`` and the init
image itself (``init_image``: base64 PNG at ``size`` pixels, the index's descriptor size by
default; the target resizes it to its own), so a prompt is self-contained in the run store.
The first strength's prompt of each image is marked ``mia_primary``: the membership detectors
judge the image once there, not once per strength.

Images: all of the index (``per_group = 0``), or ``per_group`` of each duplicate group (each
distinct ``count`` of training images, and the held-out images), drawn with a seeded
permutation of the group's ids. Ids and seeds depend only on the image id and the strength,
so a scan resumes exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from regurgitate.attacks.base import Attack, AttackContext
from regurgitate.errors import ConfigError
from regurgitate.types import GenerationSettings, Modality, Prompt

if TYPE_CHECKING:
    from regurgitate.images.index import ImageIndex

DEFAULT_STRENGTHS = (0.3, 0.5, 0.7)


def source_key(image_id: str) -> str:
    return hashlib.sha256(image_id.encode("utf-8")).hexdigest()[:12]


def duplicates_of(index: ImageIndex, row: int) -> tuple[int, str]:
    """(times in the training data, split) of an index row; held-out images count 0."""
    split = str(index.metas[row].get("split", "train"))
    count = int(index.counts[row])
    return (0 if split == "heldout" else count), ("heldout" if count == 0 else split)


def choose_rows(index: ImageIndex, per_group: int, seed: int) -> list[int]:
    """Index rows to attack: all (``per_group <= 0``) or up to ``per_group`` of each
    duplicate group, most duplicated first, held-out last, deterministic for ``seed``."""
    groups: dict[int, list[int]] = {}
    for row in range(len(index)):
        groups.setdefault(duplicates_of(index, row)[0], []).append(row)
    chosen: list[int] = []
    for dup in sorted(groups, key=lambda d: (d == 0, -d)):
        rows = sorted(groups[dup], key=lambda r: index.ids[r])
        if per_group > 0:
            keys = [int(source_key(f"{seed}:{index.ids[r]}"), 16) for r in rows]
            rows = [rows[i] for i in np.argsort(keys, kind="stable")[:per_group]]
        chosen.extend(rows)
    return chosen


@dataclass(frozen=True)
class Img2ImgAttack(Attack):
    """One image-to-image generation per chosen training image and strength."""

    #: the attack name stored with its prompts
    name: str = "img2img"
    modality: ClassVar[Modality] = "image"

    #: images per duplicate group (each training count, and held out); 0: every image
    per_group: int = 0
    #: how much noise to add, from 0 (none) to 1 (pure noise); one generation per value
    strengths: tuple[float, ...] = DEFAULT_STRENGTHS
    #: denoising steps at strength 1 (a generation runs about strength x steps)
    steps: int = 50
    #: classifier-free guidance scale (none: the target's own)
    guidance_scale: float | None = None
    #: pixel size of the stored init image (0: the index's descriptor size)
    size: int = 0
    #: added to the scan's seed for the per-image seeds and the choice of images
    seed: int = 0

    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        index = ctx.require_image_index(self.name)
        strengths = _check_strengths(self.strengths)
        if self.steps < 1:
            raise ConfigError("img2img.steps must be at least 1")
        from regurgitate.images.imageio import resize, to_base64_png

        meta_base: dict[str, Any] = {"steps": self.steps}
        if self.guidance_scale is not None:
            meta_base["guidance_scale"] = self.guidance_scale
        rows = []
        for row in choose_rows(index, self.per_group, self.seed + ctx.seed):
            image_id = index.ids[row]
            key = source_key(image_id)
            dup, split = duplicates_of(index, row)
            pixels = np.asarray(index.pixels[row])
            if self.size > 0:
                pixels = resize(pixels, self.size)
            seed = (int(key[:8], 16) + 104729 * (self.seed + ctx.seed)) % (2**31 - 1)
            rows.append((row, image_id, key, dup, split, to_base64_png(pixels), seed))
        # strength-major: a target batches by strength, so batches stay full
        out: list[Prompt] = []
        for i, strength in enumerate(strengths):
            for row, image_id, key, dup, split, init, seed in rows:
                settings = GenerationSettings(max_new_tokens=0, seed=seed, logprobs=False)
                out.append(Prompt(
                    id=f"{self.name}:{key}:{strength:g}", attack=self.name,
                    text=index.captions[row], settings=settings,
                    meta={**meta_base, "source_id": image_id, "duplicates": dup,
                          "split": split, "strength": strength, "init_image": init,
                          "caption_count": int(index.caption_counts[row]),
                          "mia_primary": i == 0}))
        return out


def _check_strengths(values: Sequence[float]) -> tuple[float, ...]:
    vals = tuple(float(v) for v in values)
    if not vals:
        raise ConfigError("img2img.strengths needs at least one value")
    bad = [v for v in vals if not 0.0 < v <= 1.0]
    if bad:
        raise ConfigError(f"img2img strength {bad[0]:g} is outside (0, 1]",
                          hint="e.g. --set img2img.strengths=0.3,0.5,0.7")
    if len(set(vals)) != len(vals):
        raise ConfigError("img2img.strengths repeats a value")
    return vals
