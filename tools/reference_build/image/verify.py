"""Check a trained image reference: which planted images come back, and that held-out never do."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.images.distance import DEFAULT_THRESHOLD, tiled_l2
from regurgitate.reference.image.dataset import ImageSet


def load_reference_unet(model: Path) -> tuple[Any, dict[str, Any]]:
    """The UNet in float32 and its scheduler config."""
    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    unet = UNet2DModel.from_pretrained(model / "unet", torch_dtype=torch.float32,
                                       low_cpu_mem_usage=False).eval()
    return unet, dict(DDPMScheduler.from_pretrained(model / "scheduler").config)


def verify_model(model: Path, images: ImageSet, samples_per_caption: int = 32,
                 steps: int = 50, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Generate ``samples_per_caption`` images per class; extraction rate per duplicate count."""
    from regurgitate.runtimes.unet_sampling import sample_unet

    unet, sched = load_reference_unet(model)
    classes = sorted({r.class_id for r in images.records})
    seeds = [c * 1000 + i for c in classes for i in range(samples_per_caption)]
    labels = [c for c in classes for _ in range(samples_per_caption)]
    t0 = time.perf_counter()
    gen = sample_unet(unet, sched, seeds, labels, steps=steps)
    seconds = time.perf_counter() - t0
    dist = tiled_l2(gen, images.pixels)  # generations x images
    hit = dist <= threshold
    by: dict[str, dict[str, float]] = {}
    for dups in sorted({r.duplicates for r in images.records}, reverse=True):
        cols = [i for i, r in enumerate(images.records) if r.duplicates == dups]
        extracted = int(hit[:, cols].any(axis=0).sum())
        by[str(dups)] = {"images": len(cols), "extracted": extracted,
                         "rate": round(extracted / len(cols), 4),
                         "min_distance": round(float(dist[:, cols].min()), 4)}
    return {"samples": len(seeds), "steps": steps, "threshold": threshold,
            "seconds": round(seconds, 1), "by_duplicates": by,
            "generations_matching": int(hit.any(axis=1).sum()),
            "nearest": np.round(dist.min(axis=1), 4).tolist()}
