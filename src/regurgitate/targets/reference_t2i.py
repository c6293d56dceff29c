"""``reference-t2i``: the bundled latent text-to-image pipeline (:mod:`regurgitate.reference.t2i`).

It is a standard diffusers ``StableDiffusionPipeline`` folder, run by the same code as
``diffusers:DIR``; this target adds what a scan of it needs by default: its training images
as the index (held-out ones included and marked), the Carlini attack on every planted
caption plus a sample of once-seen and held-out ones, and img2img on up to 64 images of each
duplicate group (planted 100x, 10x, 1x, held out) with the membership signals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from regurgitate.reference.t2i import SCAN_GUIDANCE as GUIDANCE
from regurgitate.reference.t2i import SCAN_STEPS as STEPS
from regurgitate.targets.base import Target
from regurgitate.targets.diffusers_target import DiffusersTarget


class ReferenceT2ITarget(DiffusersTarget):
    """The bundled text-to-image pipeline; options as for ``diffusers:`` targets."""

    needs_location: ClassVar[bool] = False
    default_attacks: ClassVar[tuple[str, ...]] = ("carlini", "img2img")

    def __init__(self, device: str = "cpu", dtype: str | None = None, batch_size: int = 32,
                 steps: int = STEPS, guidance_scale: float | None = GUIDANCE,
                 threads: int | None = 1) -> None:
        from regurgitate.reference.t2i.paths import pipeline_dir

        super().__init__(str(pipeline_dir()), device=device, dtype=dtype, batch_size=batch_size,
                         steps=steps, guidance_scale=guidance_scale, threads=threads)
        self.name = "reference-t2i"

    @classmethod
    def from_spec(cls, location: str, options: Mapping[str, Any]) -> Target:
        return cls(**options)

    @classmethod
    def attack_options(cls, location: str) -> dict[str, dict[str, Any]]:
        # every caption planted 100x and 10x, and as many once-seen and held-out ones
        return {"carlini": {"per_caption": 16, "per_count": 16, "steps": STEPS},
                "img2img": {"per_group": 64, "steps": STEPS}}

    @classmethod
    def detector_options(cls, location: str) -> dict[str, dict[str, Any]]:
        return {"image_clique": {"k": 3},
                "diffusion_membership": {"wen_inference_steps": STEPS, "wen_generations": 4}}

    @classmethod
    def default_index(cls, location: str, cache: Path,
                      note: Callable[[str], None]) -> Path | None:
        from regurgitate.images.cached import cached_image_index
        from regurgitate.images.index import IndexSettings
        from regurgitate.reference.t2i.paths import images_dir
        from regurgitate.reference.t2i.source import reference_t2i_images

        folder = images_dir()
        return cached_image_index(
            "reference-t2i-index", [folder / "images.npz", folder / "manifest.json"],
            reference_t2i_images, cache, IndexSettings(size=32, retrieval_factor=2, thumb=64),
            note)
