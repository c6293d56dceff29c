"""Sampling from a bare diffusers ``UNet2DModel`` + scheduler, one seed per image.

Each image's starting noise is drawn from its own ``torch.Generator(seed)`` and the DDIM update is
deterministic (eta = 0), so an image depends on (class, seed, steps) and not on which other images
share its batch: a resumed scan regenerates exactly what a finished one would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def initial_noise(seeds: Sequence[int], shape: tuple[int, int, int], device: str) -> Any:
    """A batch of N(0, 1) noise, row i drawn from ``torch.Generator().manual_seed(seeds[i])``."""
    import torch

    rows = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.stack(rows).to(device)


def sample_unet(unet: Any, scheduler_config: dict[str, Any], seeds: Sequence[int],
                class_ids: Sequence[int] | None, steps: int = 50,
                device: str = "cpu") -> np.ndarray:
    """Generate one image per seed (uint8, N x H x W x C) with DDIM (eta = 0)."""
    import torch
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler.from_config(scheduler_config)
    scheduler.set_timesteps(steps)
    cfg = unet.config
    size = cfg.sample_size if isinstance(cfg.sample_size, int) else cfg.sample_size[0]
    x = initial_noise(seeds, (cfg.in_channels, size, size), device)
    labels = None if class_ids is None else torch.tensor(list(class_ids), device=device)
    dtype = next(unet.parameters()).dtype
    with torch.inference_mode():
        for t in scheduler.timesteps:
            eps = unet(x.to(dtype), t, class_labels=labels).sample.float()
            x = scheduler.step(eps, t, x, eta=0.0).prev_sample
    out = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return np.ascontiguousarray(out.permute(0, 2, 3, 1).cpu().numpy())
