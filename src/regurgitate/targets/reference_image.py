"""``reference-image``: the bundled tiny diffusion model (:mod:`regurgitate.reference.image`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from regurgitate.targets.base import Target
from regurgitate.targets.diffusers_target import DEFAULT_STEPS, DiffusersTarget


class ReferenceImageTarget(DiffusersTarget):
    """The bundled class-conditioned UNet; options as for ``diffusers:`` targets.

    One torch thread by default: the 16x16 model gains little from more, and on a CPU shared
    with other work extra threads mostly wait on each other."""

    needs_location: ClassVar[bool] = False

    def __init__(self, device: str = "cpu", dtype: str | None = None, batch_size: int = 64,
                 steps: int = DEFAULT_STEPS, guidance_scale: float | None = None,
                 threads: int | None = 1) -> None:
        from regurgitate.reference.image.paths import model_dir

        super().__init__(str(model_dir()), device=device, dtype=dtype, batch_size=batch_size,
                         steps=steps, guidance_scale=guidance_scale, threads=threads)
        self.name = "reference-image"

    @classmethod
    def from_spec(cls, location: str, options: Mapping[str, Any]) -> Target:
        return cls(**options)

    @classmethod
    def attack_options(cls, location: str) -> dict[str, dict[str, Any]]:
        return {"carlini": {"per_caption": 32}}  # 32 seeds per caption: tuned to the model

    @classmethod
    def detector_options(cls, location: str) -> dict[str, dict[str, Any]]:
        return {"image_clique": {"k": 3}}

    @classmethod
    def default_index(cls, location: str, cache: Path,
                      note: Callable[[str], None]) -> Path | None:
        """The bundled training images (held-out included), indexed once and cached."""
        from regurgitate.images.cached import cached_image_index
        from regurgitate.images.index import IndexSettings
        from regurgitate.reference.image.paths import images_dir
        from regurgitate.reference.image.source import reference_images

        folder = images_dir()
        return cached_image_index(
            "reference-image-index", [folder / "images.npz", folder / "manifest.json"],
            reference_images, cache, IndexSettings(size=16, retrieval_factor=2, thumb=48), note)
