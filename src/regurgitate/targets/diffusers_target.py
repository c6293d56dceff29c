"""A diffusion model as a target (diffusers + torch): one image per prompt, one seed per image.

``diffusers:DIR_OR_HUB_ID?device=cpu&dtype=float32&batch_size=16&steps=50&guidance_scale=7.5
&threads=N`` loads (``dtype`` by :mod:`regurgitate.runtimes.devices`: float32 on a CPU unless
given, the
UNet weights' own dtype on an accelerator), in this order of preference:

* a pipeline folder (``model_index.json``) or hub id with ``DiffusionPipeline.from_pretrained``:
  text-to-image pipelines get the prompt text; class-conditional ones (``class_labels``, e.g.
  DiT) get the label named by the prompt through the pipeline's ``get_label_ids``; unconditional
  ones (DDPM/DDIM) ignore the prompt;
* a bare ``UNet2DModel`` folder (``unet/`` + ``scheduler/``), as the bundled image reference
  ships: class-conditional when the UNet has class embeddings, its captions listed in
  ``class_labels.json``; sampled with DDIM (eta = 0).

Each image starts from noise drawn with ``torch.Generator().manual_seed(prompt.settings.seed)``,
so an image depends only on its prompt, seed and step count, never on its batch companions;
and every call runs at the target's ``batch_size`` (a short batch is padded with copies of its
last prompt), because CPU kernels round differently at some batch sizes: a scan that was
stopped and resumed gives byte-identical images. (So ``scan --batch-size`` below the target's
``batch_size`` computes padding; set the target's own option, ``?batch_size=8``, instead.)
The number of denoising steps and the guidance scale come from ``prompt.meta`` (``steps``,
``guidance_scale``) or the target's defaults. The PNG of each image travels on
``Generation.image``.

A prompt whose ``meta`` carries an ``init_image`` (base64 PNG, as the img2img attack writes)
is answered image-to-image by a text-to-image pipeline: ``StableDiffusionImg2ImgPipeline``
built once from the pipeline's own components, the init image resized to the model's size,
noised to ``meta["strength"]`` (0.5 unless given) with the prompt's seed.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from regurgitate.errors import ConfigError, TargetError
from regurgitate.images.imageio import encode_png
from regurgitate.runtimes.devices import compute_dtype, module_runtime
from regurgitate.runtimes.torch_deps import diffusion_torch
from regurgitate.targets.base import Target
from regurgitate.targets.model_failure import ModelCalls
from regurgitate.types import Generation, Modality, Prompt

DEFAULT_STEPS = 50


def _torch() -> Any:
    return diffusion_torch("the diffusers target")


def _as_uint8(images: Any) -> np.ndarray:
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


_SAFETENSORS_DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}


def _checkpoint_dtype(torch: Any, path: Path) -> Any:
    """The dtype of a local pipeline's UNet weights, from the safetensors header (None:
    unknown, which leaves the library's default)."""
    for folder in (path / "unet", path):
        for file in sorted(folder.glob("*.safetensors")) if folder.is_dir() else ():
            try:
                with file.open("rb") as f:
                    size = int.from_bytes(f.read(8), "little")
                    header = json.loads(f.read(min(size, 1 << 24)))
            except (OSError, ValueError):
                return None
            for key, entry in header.items():
                if key != "__metadata__" and isinstance(entry, dict):
                    name = _SAFETENSORS_DTYPES.get(str(entry.get("dtype")))
                    return getattr(torch, name) if name else None
    return None


class DiffusersTarget(Target):
    """An image generator loaded with diffusers. ``mode`` is text, class or unconditional.

    :param device: where the pipeline runs (cpu, cuda or cuda with a device number)
    :param dtype: the weights' dtype (none for the checkpoint's own)
    :param batch_size: images generated per call
    :param steps: denoising steps per image
    :param guidance_scale: classifier-free guidance scale (none for the pipeline's default)
    :param threads: CPU threads torch computes with (none for torch's default)
    """

    modality: ClassVar[Modality] = "image"
    default_attacks: ClassVar[tuple[str, ...]] = ("carlini",)

    def __init__(self, location: str, device: str = "cpu", dtype: str | None = None,
                 batch_size: int = 16, steps: int = DEFAULT_STEPS,
                 guidance_scale: float | None = None, threads: int | None = None) -> None:
        torch = _torch()
        if threads is not None:  # torch's intra-op threads, for CPUs shared with other work
            torch.set_num_threads(max(1, int(threads)))
        self.location = location
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.steps = int(steps)
        self.guidance_scale = guidance_scale
        self.name = f"diffusers:{location}"
        # the dtype rule of regurgitate.runtimes.devices; diffusers has no "checkpoint's own dtype"
        # loader option, so "auto" reads it from the local UNet's safetensors (library default
        # float32 for a hub id)
        chosen = compute_dtype(torch, dtype, device)
        if chosen == "auto":
            chosen = _checkpoint_dtype(torch, Path(location))
        self.torch_dtype = chosen
        path = Path(location)
        self.captions: list[str] = []
        self.pipe: Any = None
        self._calls = ModelCalls(location)
        self.unet: Any = None
        self.scheduler_config: dict[str, Any] = {}
        self._img2img: Any = None
        if (path / "unet" / "config.json").exists() and not (path / "model_index.json").exists():
            self._load_unet(path)
        else:
            if not path.exists() and (location.startswith((".", "/")) or path.suffix):
                raise ConfigError(f"no diffusion model at {location}",
                                  hint="give a pipeline folder, a UNet folder or a hub id")
            from regurgitate.runtimes.hub import resolve_model

            self._load_pipeline(resolve_model(location))  # cached, or fail fast offline

    # ------------------------------------------------------------------------- loading

    def _load_unet(self, path: Path) -> None:
        from diffusers import DDPMScheduler, UNet2DModel

        try:
            self.unet = UNet2DModel.from_pretrained(path / "unet", torch_dtype=self.torch_dtype,
                                                    low_cpu_mem_usage=False)
            self.scheduler_config = dict(DDPMScheduler.from_pretrained(path / "scheduler").config)
        except (OSError, ValueError) as exc:
            raise TargetError(f"cannot load the UNet at {path}: {exc}") from exc
        self.unet = self.unet.to(self.device).eval()
        labels = path / "class_labels.json"
        if self.unet.config.num_class_embeds:
            if not labels.exists():
                raise ConfigError(f"{path} is class-conditional but has no class_labels.json",
                                  hint='write {"captions": ["caption of class 0", ...]}')
            self.captions = list(json.loads(labels.read_text())["captions"])
            self.mode = "class"
        else:
            self.mode = "unconditional"

    def _load_pipeline(self, location: str) -> None:
        from diffusers import DiffusionPipeline

        try:
            with warnings.catch_warnings():  # diffusers 0.42 renames it ``dtype``
                warnings.filterwarnings("ignore", message=".*torch_dtype.*deprecated",
                                        category=FutureWarning)
                # without accelerate, low_cpu_mem_usage=True only warns and falls back
                pipe = DiffusionPipeline.from_pretrained(location, torch_dtype=self.torch_dtype,
                                                         low_cpu_mem_usage=False)
        except (OSError, ValueError) as exc:
            raise TargetError(f"cannot load the diffusion pipeline {location!r}: {exc}") from exc
        self.pipe = pipe.to(self.device)
        if hasattr(self.pipe, "set_progress_bar_config"):
            self.pipe.set_progress_bar_config(disable=True)
        params = inspect.signature(self.pipe.__call__).parameters
        if "prompt" in params:
            self.mode = "text"
        elif "class_labels" in params:
            self.mode = "class"
        else:
            self.mode = "unconditional"

    # ------------------------------------------------------------------------- generation

    def _class_id(self, caption: str) -> int:
        if self.unet is not None:
            try:
                return self.captions.index(caption)
            except ValueError:
                raise ConfigError(f"the model has no class captioned {caption!r}",
                                  hint=f"its captions: {', '.join(self.captions[:5])}...") from None
        return int(self.pipe.get_label_ids([caption])[0])

    def _image_to_image(self, prompts: Sequence[Prompt], steps: int, guidance: float | None,
                        strength: float) -> np.ndarray:
        """Image-to-image for prompts that carry an init image (text-to-image pipelines)."""
        torch = _torch()
        from regurgitate.images.imageio import from_base64_png, resize

        if self.mode != "text" or self.pipe is None or getattr(self.pipe, "vae", None) is None:
            raise ConfigError(f"{self.name} cannot run image-to-image prompts",
                              hint="the img2img attack needs a latent text-to-image pipeline")
        if self._img2img is None:
            from diffusers import StableDiffusionImg2ImgPipeline

            self._img2img = StableDiffusionImg2ImgPipeline(**self.pipe.components)
            self._img2img.set_progress_bar_config(disable=True)
        from PIL import Image

        sample = self.pipe.unet.config.sample_size
        sample = sample[0] if isinstance(sample, (tuple, list)) else sample
        size = int(sample) * int(self.pipe.vae_scale_factor)
        try:
            images = [Image.fromarray(resize(from_base64_png(str(p.meta["init_image"])), size))
                      for p in prompts]
        except (OSError, ValueError) as exc:  # a stored init image that is not an image
            raise ValueError(f"unreadable init image: {exc}") from exc
        seeds = [int(p.settings.seed if p.settings.seed is not None else 0) for p in prompts]
        kwargs: dict[str, Any] = {
            "prompt": [p.as_text() for p in prompts], "image": images, "strength": strength,
            "generator": [torch.Generator(device="cpu").manual_seed(s) for s in seeds],
            "num_inference_steps": steps, "output_type": "np"}
        if guidance is not None:
            kwargs["guidance_scale"] = guidance
        return _as_uint8(self._img2img(**kwargs).images)

    def _run(self, prompts: Sequence[Prompt], steps: int, guidance: float | None,
             strength: float | None = None) -> np.ndarray:
        torch = _torch()
        if strength is not None:
            return self._image_to_image(prompts, steps, guidance, strength)
        seeds = [int(p.settings.seed if p.settings.seed is not None else 0) for p in prompts]
        if self.unet is not None:
            from regurgitate.runtimes.unet_sampling import sample_unet

            labels = ([self._class_id(p.as_text()) for p in prompts]
                      if self.mode == "class" else None)
            return sample_unet(self.unet, self.scheduler_config, seeds, labels, steps=steps,
                               device=self.device)
        gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        kwargs: dict[str, Any] = {"generator": gens, "num_inference_steps": steps,
                                  "output_type": "np"}
        if self.mode == "text":
            kwargs["prompt"] = [p.as_text() for p in prompts]
            if guidance is not None:
                kwargs["guidance_scale"] = guidance
        elif self.mode == "class":
            kwargs["class_labels"] = [self._class_id(p.as_text()) for p in prompts]
            if guidance is not None:
                kwargs["guidance_scale"] = guidance
        else:
            kwargs["batch_size"] = len(prompts)
        out = self.pipe(**kwargs)
        return _as_uint8(out.images)

    def runtime(self) -> dict[str, str]:
        return module_runtime(self.unet if self.unet is not None else
                              getattr(self.pipe, "unet", None) or getattr(self.pipe, "transformer",
                                                                           None))

    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        results: dict[str, Generation] = {}
        groups: dict[tuple[int, float | None, float | None], list[Prompt]] = {}
        for p in prompts:
            steps = int(p.meta.get("steps", self.steps))
            guidance = p.meta.get("guidance_scale", self.guidance_scale)
            # image-to-image prompts (an init image) batch by strength too
            strength = float(p.meta.get("strength", 0.5)) if p.meta.get("init_image") else None
            groups.setdefault((steps, guidance, strength), []).append(p)
        for (steps, guidance, strength), group in groups.items():
            for start in range(0, len(group), self.batch_size):
                batch = group[start:start + self.batch_size]
                # always the same batch shape: CPU kernels round differently at some batch
                # sizes (8 and 17 differ from 32 by one level in a pixel here), and a padded
                # batch makes an image independent of how a scan was cut into batches
                padded = batch + [batch[-1]] * (self.batch_size - len(batch))
                t0 = time.perf_counter()
                try:
                    images = self._run(padded, steps, guidance, strength)[:len(batch)]
                except Exception as exc:
                    error = self._calls.failed(exc)
                    for p in batch:
                        results[p.id] = Generation(prompt_id=p.id, text="", error=error)
                    continue
                self._calls.ok()
                each = (time.perf_counter() - t0) / len(batch)
                for p, img in zip(batch, images, strict=True):
                    results[p.id] = Generation(prompt_id=p.id, text="", finish_reason="image",
                                               elapsed_s=each, image=encode_png(img))
        return [results[p.id] for p in prompts]
